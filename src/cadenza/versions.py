"""The versions of Cadenza and of the libraries that shape its output, recorded in every report (a piece, a
checkpoint, a benchmark) so that a result can be traced to the code that made it."""

from __future__ import annotations

from functools import cache
from importlib import metadata

#: the distributions whose versions a report records (those installed)
RECORDED = ("cadenza", "torch", "numpy", "music21")


@cache
def software_versions() -> dict[str, str]:
    """Distribution name -> installed version, for those of :data:`RECORDED` that are installed."""
    out = {}
    for name in RECORDED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out
