"""One entry point that writes a Score in several formats at once, each independently of the others.

    result = render(score, Path("out/song"), ["mid", "wav", "pdf", "png"])
    result["wav"]      # Path("out/song.wav")
    result.errors      # {"pdf": "PDF sheet music needs the cairosvg package: pip install cairosvg"}

A format whose renderer is missing or fails never stops the others: its error is recorded, logged, and
the rest are still written. ``raise_on_error=True`` raises one RenderError naming every failure, after
all formats have been tried.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

from cadenza.errors import CadenzaError, RenderError, UsageError
from cadenza.render.audio import DEFAULT_SAMPLE_RATE, SoundfontArg, render_audio, render_stems
from cadenza.render.common import with_extension
from cadenza.render.pianoroll import render_png
from cadenza.render.sheet import render_pdf, render_svg
from cadenza.score.model import Score
from cadenza.score.write import write_score

log = logging.getLogger(__name__)

#: every format :func:`render` knows, in the order it writes them (cheap and dependable ones first)
RENDER_FORMATS = ("mid", "musicxml", "png", "wav", "flac", "stems", "svg", "pdf")


class RenderResult(dict[str, Path]):
    """Format -> the path written (for ``svg``, the first page; for ``stems``, the folder).

    ``errors`` maps each format that failed to a one-line message; ``files`` lists every file written per
    format (all SVG pages, all stems); ``seconds`` is the time each format took."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: dict[str, str] = {}
        self.files: dict[str, list[Path]] = {}
        self.seconds: dict[str, float] = {}

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_formats(formats: Iterable[str] | str) -> list[str]:
    """Normalised, de-duplicated formats from a list or a comma-separated string ('.WAV, pdf' -> ['wav',
    'pdf']); 'midi' and 'xml' are accepted for 'mid' and 'musicxml'. Raises UsageError on an unknown one."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    aliases = {"midi": "mid", "xml": "musicxml"}
    out: list[str] = []
    for item in items:
        name = item.strip().lower().lstrip(".")
        name = aliases.get(name, name)
        if not name:
            continue
        if name not in RENDER_FORMATS:
            raise UsageError(f"unknown render format {item.strip()!r}; choose from {', '.join(RENDER_FORMATS)}")
        if name not in out:
            out.append(name)
    if not out:
        raise UsageError(f"no render format given; choose from {', '.join(RENDER_FORMATS)}")
    return out


def _render_one(score: Score, fmt: str, out_base: Path, sample_rate: int, soundfont: SoundfontArg,
                engine: str) -> tuple[Path, list[Path]]:
    """(the path to report, every file written) for one format."""
    target = with_extension(out_base, fmt)
    if fmt in ("mid", "musicxml"):
        return target, [write_score(score, target)]
    if fmt in ("wav", "flac"):
        return target, [render_audio(score, target, sample_rate, soundfont, engine=engine)]
    if fmt == "stems":
        folder = out_base.parent / f"{out_base.name}-stems"
        return folder, render_stems(score, folder, sample_rate, soundfont, engine=engine)
    if fmt == "png":
        return target, [render_png(score, target)]
    if fmt == "svg":
        pages = render_svg(score, target)
        return pages[0], pages
    if fmt == "pdf":
        return target, [render_pdf(score, target)]
    raise UsageError(f"unknown render format {fmt!r}")


def render(score: Score, out_base: str | os.PathLike[str], formats: Iterable[str] | str,
           sample_rate: int = DEFAULT_SAMPLE_RATE, soundfont: SoundfontArg = None, engine: str = "auto",
           raise_on_error: bool = False) -> RenderResult:
    """Write ``score`` as each of ``formats`` (any of :data:`RENDER_FORMATS`) next to ``out_base``, which
    names the files without extension: ``out/song`` gives ``out/song.mid``, ``out/song.pdf`` …, and
    ``out/song-stems/`` for stems. The folder of ``out_base`` is created when missing.

    Returns format -> path for every format written; the result's ``errors`` holds a one-line message for
    each format that failed. With ``raise_on_error`` a RenderError naming all failures is raised instead
    (after every format has been tried)."""
    wanted = parse_formats(formats)
    base = Path(out_base)
    if base.name in ("", ".", ".."):
        raise UsageError(f"output name {os.fspath(out_base)!r} has no file name")
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RenderError(f"cannot create folder {base.parent}: {exc.strerror or exc}") from None
    result = RenderResult()
    for fmt in sorted(wanted, key=RENDER_FORMATS.index):
        started = time.perf_counter()
        try:
            main_path, paths = _render_one(score, fmt, base, sample_rate, soundfont, engine)
        except CadenzaError as exc:
            result.errors[fmt] = str(exc)
            log.warning("render %s: %s", fmt, exc)
        except Exception as exc:  # a bug in one renderer must not cost the user the other formats
            result.errors[fmt] = f"{type(exc).__name__}: {exc}"
            log.warning("render %s failed unexpectedly", fmt, exc_info=True)
        else:
            result[fmt] = main_path
            result.files[fmt] = paths
        result.seconds[fmt] = time.perf_counter() - started
    if raise_on_error and result.errors:
        failed = "; ".join(f"{fmt}: {message}" for fmt, message in result.errors.items())
        raise RenderError(f"could not render {failed}")
    return result
