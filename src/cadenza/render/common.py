"""Small helpers shared by the renderers: optional imports with a clear message, titles, file names.

Every renderer depends on optional packages. They are imported when a render is asked for, never when
:mod:`cadenza.render` is imported, and a missing one becomes a :class:`~cadenza.errors.RenderError`
whose message is the exact install command, so the CLI can print it on one line.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from cadenza.errors import OutputError, RenderError
from cadenza.score.model import Score

log = logging.getLogger(__name__)

#: pip install lines for the optional packages, keyed by import name
PIP_INSTALL = {
    "tinysoundfont": "pip install --no-deps tinysoundfont",
    "pretty_midi": "pip install pretty_midi",
    "verovio": "pip install verovio",
    "cairosvg": "pip install cairosvg",
    "soundfile": "pip install soundfile",
    "matplotlib": "pip install matplotlib",
}

#: the system package behind a Python package that loads a shared library
SYSTEM_LIBRARIES = {"cairosvg": "libcairo2 (apt-get install libcairo2)", "cairocffi": "libcairo2 (apt-get install "
                    "libcairo2)", "soundfile": "libsndfile1 (apt-get install libsndfile1)"}


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise a RenderError saying what ``purpose`` needs and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        hint = PIP_INSTALL.get(module, f"pip install {module}")
        raise RenderError(f"{purpose} needs the {module} package: {hint}") from exc
    except OSError as exc:  # a package whose system library is missing (cairosvg without libcairo)
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        hint = SYSTEM_LIBRARIES.get(module, "its system library")
        raise RenderError(f"{purpose}: the {module} package is installed but cannot load its system library "
                          f"({detail}); install {hint}") from exc


def require_all(modules: Sequence[str], purpose: str) -> None:
    """Check several packages at once, so that one message names every missing one and one install line."""
    missing = [m for m in modules if not available(m)]
    if len(missing) == 1:
        require(missing[0], purpose)
    if missing:
        names = " and ".join(missing)
        lines = [PIP_INSTALL.get(m, f"pip install {m}") for m in missing]
        plain = [line.removeprefix("pip install ") for line in lines if " --" not in line]
        special = [line for line in lines if " --" in line]
        hint = "; ".join(([f"pip install {' '.join(plain)}"] if plain else []) + special)
        raise RenderError(f"{purpose} needs the {names} packages: {hint}")


def available(module: str) -> bool:
    """Whether ``module`` can be imported (imports it: a package that is present but broken counts as absent)."""
    try:
        importlib.import_module(module)
    except (ImportError, OSError):
        return False
    return True


def package_folder(module: str) -> Path | None:
    """The installed folder of a package, found without importing it; None when it is not installed."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def display_title(score: Score) -> str:
    """The title, else the source's name without folder or extension ('music21:bach/bwv66.6' -> 'bwv66.6'),
    else 'Untitled'."""
    if score.metadata.title:
        return score.metadata.title
    source = score.metadata.source.split("#")[0]
    if source:
        name = re.split(r"[/\\:]", source)[-1]
        stem, dot, ext = name.rpartition(".")
        known = {"mid", "midi", "musicxml", "xml", "mxl", "abc", "krn", "json", "kar", "smf"}
        return stem if dot and ext.lower() in known else name
    return "Untitled"


def slug(text: str, fallback: str = "part") -> str:
    """A file-name-safe version of ``text``: letters, digits, '-' and '_' only."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
    return cleaned[:60] or fallback


def with_extension(out_base: str | os.PathLike[str], extension: str) -> Path:
    """``out_base`` plus ``.extension``, keeping any dots already in the name ('take.v2' -> 'take.v2.wav')."""
    base = Path(out_base)
    return base.parent / f"{base.name}.{extension.lstrip('.')}"


def check_folder(path: Path) -> None:
    """Raise OutputError early when the folder of ``path`` does not exist (before any slow rendering)."""
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: folder {folder} does not exist")


@dataclass(frozen=True)
class NoteTimes:
    """The notes of some parts of a score in seconds, as parallel arrays sorted by onset."""

    onset_s: np.ndarray  # float64
    end_s: np.ndarray  # float64
    pitch: np.ndarray  # int16, MIDI pitch (GM drum key for drum parts)
    velocity: np.ndarray  # int16, 1..127
    part: np.ndarray  # int16, index into score.parts

    def __len__(self) -> int:
        return len(self.onset_s)


def note_times(score: Score, parts: Sequence[int] | None = None) -> NoteTimes:
    """The notes of ``parts`` (all when None) timed in seconds through the score's tempo map."""
    notes = score.notes
    if parts is not None:
        notes = notes[np.isin(notes["part"], np.asarray(list(parts), dtype=np.int16))]
    onsets = notes["onset_ticks"]
    onset_s = np.asarray(score.seconds_at(onsets), dtype=np.float64).reshape(-1)
    end_s = np.asarray(score.seconds_at(onsets + notes["duration_ticks"]), dtype=np.float64).reshape(-1)
    return NoteTimes(onset_s, end_s, notes["pitch"].copy(), notes["velocity"].copy(), notes["part"].copy())
