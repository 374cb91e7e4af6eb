"""Writing a Score: the format comes from the extension; every write is atomic (temporary file in the
same folder, then rename), so a crash never leaves half a file where a good one was."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from cadenza.errors import UnsupportedFormatError, UsageError
from cadenza.files import atomic_write_bytes
from cadenza.score.json_io import json_bytes
from cadenza.score.midi_write import midi_bytes
from cadenza.score.model import Score

WRITE_FORMATS = {".mid": "midi", ".midi": "midi", ".musicxml": "musicxml", ".xml": "musicxml",
                 ".mxl": "mxl", ".json": "json"}

_CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container>
  <rootfiles>
    <rootfile full-path="{name}" media-type="application/vnd.recordare.musicxml+xml"/>
  </rootfiles>
</container>
"""


def score_bytes(score: Score, fmt: str, name: str = "score") -> bytes:
    """The Score serialised as ``fmt`` (midi, musicxml, mxl, json)."""
    if fmt == "midi":
        return midi_bytes(score)
    if fmt == "json":
        return json_bytes(score)
    from cadenza.score.musicxml_write import musicxml_bytes

    xml = musicxml_bytes(score)
    if fmt == "musicxml":
        return xml
    if fmt == "mxl":
        import io

        buf = io.BytesIO()
        inner = f"{Path(name).stem or 'score'}.musicxml"
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("mimetype", "application/vnd.recordare.musicxml", compress_type=zipfile.ZIP_STORED)
            zf.writestr("META-INF/container.xml", _CONTAINER.format(name=inner))
            zf.writestr(inner, xml)
        return buf.getvalue()
    raise UnsupportedFormatError(f"unknown output format {fmt!r}")


def write_score(score: Score, path: str | os.PathLike[str]) -> Path:
    """Write ``score`` to ``path`` in the format its extension names; returns the path."""
    if not isinstance(score, Score):
        raise UsageError(f"write_score: give a Score to write (read_score reads one), not {type(score).__name__}")
    if not isinstance(path, str | os.PathLike):
        raise UsageError(f"write_score: give the path to write (str or Path), not {type(path).__name__}")
    out = Path(path)
    fmt = WRITE_FORMATS.get(out.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(WRITE_FORMATS))
        raise UnsupportedFormatError(f"cannot write {out.suffix or 'files without an extension'}; "
                                     f"writable extensions: {known}")
    atomic_write_bytes(out, score_bytes(score, fmt, out.name))
    return out
