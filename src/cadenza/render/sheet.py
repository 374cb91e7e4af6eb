"""Sheet music: the Score as MusicXML (the project's own writer), engraved by Verovio into SVG pages, and the
pages drawn into one multi-page PDF by CairoSVG.

Needs ``pip install verovio`` (no system packages) for SVG, plus ``pip install cairosvg`` for PDF (it uses
the system's libcairo, which Debian's ``libcairo2`` provides). Verovio draws the music symbols as paths,
so no music font needs to be installed; text (title, part names) uses whatever serif font cairo finds, and
the note of a tempo mark, which Verovio writes as a music-font character, becomes the Unicode ♩ for the PDF.
"""

from __future__ import annotations

import io
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cadenza.errors import RenderError, UsageError
from cadenza.files import atomic_write_bytes
from cadenza.render.common import check_folder, require, require_all
from cadenza.score.model import Score
from cadenza.score.write import score_bytes

log = logging.getLogger(__name__)

MM_PER_INCH = 25.4
_VEROVIO_UNITS_PER_MM = 10  # Verovio's page sizes are in tenths of a millimetre at scale 100


@dataclass(frozen=True)
class PageLayout:
    """Paper and the size of the music on it. ``staff_scale`` is Verovio's scale in percent: smaller puts
    more music on a page."""

    width_mm: float = 210.0  # A4
    height_mm: float = 297.0
    staff_scale: int = 40

    def __post_init__(self) -> None:
        if not (50 <= self.width_mm <= 1000 and 50 <= self.height_mm <= 1000):
            raise UsageError(f"page size {self.width_mm} x {self.height_mm} mm out of range 50..1000 mm")
        if not 10 <= self.staff_scale <= 200:
            raise UsageError(f"staff scale {self.staff_scale} out of range 10..200")

    def verovio_options(self) -> dict[str, Any]:
        # Verovio lays out a page of pageWidth x pageHeight units, then scales all of it (page included) by
        # `scale`: to keep the paper size while changing the music's size, enlarge the page in inverse ratio
        factor = _VEROVIO_UNITS_PER_MM * 40 / self.staff_scale
        return {
            "pageWidth": round(self.width_mm * factor),
            "pageHeight": round(self.height_mm * factor),
            "scale": self.staff_scale,
            "adjustPageHeight": False,
            "breaks": "auto",
            "header": "auto",
            "footer": "none",
            "xmlIdSeed": 1,  # the same score engraves to the same SVG
        }


A4 = PageLayout()
LETTER = PageLayout(215.9, 279.4)


def engrave_svg_pages(score: Score, layout: PageLayout = A4) -> list[str]:
    """The score engraved as a list of SVG documents, one per page."""
    verovio = require("verovio", "sheet music")
    if hasattr(verovio, "enableLog") and hasattr(verovio, "LOG_OFF"):
        verovio.enableLog(verovio.LOG_OFF)  # it prints layout warnings to stderr otherwise
    xml = score_bytes(score, "musicxml").decode("utf-8")
    toolkit = verovio.toolkit()
    toolkit.setOptions(layout.verovio_options())
    if not toolkit.loadData(xml):
        raise RenderError("verovio could not read the score's MusicXML")
    pages = [toolkit.renderToSVG(number) for number in range(1, toolkit.getPageCount() + 1)]
    if not pages:
        raise RenderError("verovio engraved no page")
    return pages


def page_file_names(path: Path, page_count: int) -> list[Path]:
    """``score.svg`` for one page; ``score-1.svg``, ``score-2.svg`` … for several."""
    if page_count == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{number}{path.suffix}") for number in range(1, page_count + 1)]


def render_svg(score: Score, path: str | os.PathLike[str], layout: PageLayout = A4) -> list[Path]:
    """Write the score's pages as SVG (see :func:`page_file_names`); returns the paths written."""
    out = Path(path)
    check_folder(out)
    pages = engrave_svg_pages(score, layout)
    paths = page_file_names(out, len(pages))
    for page_path, svg in zip(paths, pages, strict=True):
        atomic_write_bytes(page_path, svg.encode("utf-8"))
    return paths


def _svg_size_px(svg: str) -> tuple[float, float]:
    head = svg[: svg.find(">", svg.find("<svg")) + 1]
    width = re.search(r'\bwidth="([0-9.]+)(?:px)?"', head)
    height = re.search(r'\bheight="([0-9.]+)(?:px)?"', head)
    if not width or not height:
        raise RenderError("verovio wrote an SVG page without a size")
    return float(width.group(1)), float(height.group(1))


#: SMuFL glyphs of text (private-use code points) -> Unicode music symbols that system fonts have
_SMUFL_TEXT_GLYPHS = {
    "\uECA2": "\U0001D15D", "\uECA3": "\U0001D15E", "\uECA4": "\U0001D15E",  # whole, half notes
    "\uECA5": "\u2669", "\uECA6": "\u2669", "\uECA7": "\u266A", "\uECA8": "\u266A",  # quarter, eighth
    "\uECB7": ".",  # augmentation dot
    # a chord symbol's accidentals (verovio writes them as figured-bass glyphs): double flat, flat, natural, sharp,
    # double sharp
    "\uEA63": "\U0001D12B", "\uEA64": "\u266D", "\uEA65": "\u266E", "\uEA66": "\u266F", "\uEA67": "\U0001D12A",
}
_SMUFL_TSPAN = re.compile(r'<tspan font-family="(?:Leipzig|Bravura|Leland)" font-size="([0-9.]+)px">([^<]*)</tspan>')


def _smufl_text_as_unicode(svg: str) -> str:
    """Verovio writes the note in a tempo mark ('♩ = 96') and a chord symbol's flat (B♭7) as characters of the music
    font, embedded as a web font that cairo cannot load; swap them for the Unicode symbols in an ordinary font so
    the PDF shows them."""

    def swap(match: re.Match[str]) -> str:
        text = "".join(_SMUFL_TEXT_GLYPHS.get(ch, ch) for ch in match.group(2))
        size_px = float(match.group(1)) * 0.6  # music-font text is drawn at a larger nominal size
        return f'<tspan font-family="DejaVu Sans, FreeSerif, serif" font-size="{size_px:.0f}px">{text}</tspan>'

    return _SMUFL_TSPAN.sub(swap, svg)


def svg_page_to_png(svg: str, path: str | os.PathLike[str], width_px: int = 1240) -> Path:
    """One engraved SVG page as a PNG ``width_px`` wide on white (the tempo mark's note drawn as for the PDF)."""
    cairosvg = require("cairosvg", "PNG sheet music")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    cairosvg.svg2png(bytestring=_smufl_text_as_unicode(svg).encode("utf-8"), write_to=str(out), output_width=width_px,
                     background_color="white")
    return out


def svg_pages_to_pdf(pages: list[str], layout: PageLayout = A4) -> bytes:
    """One PDF with a page of ``layout``'s paper size for each SVG page."""
    require("cairosvg", "PDF sheet music")
    cairocffi = require("cairocffi", "PDF sheet music")
    from cairosvg.parser import Tree
    from cairosvg.surface import PDFSurface

    width_pt = layout.width_mm / MM_PER_INCH * 72
    height_pt = layout.height_mm / MM_PER_INCH * 72
    buffer = io.BytesIO()
    document = cairocffi.PDFSurface(buffer, width_pt, height_pt)

    class _PageOfDocument(PDFSurface):
        """Draws one SVG onto the next page of ``document`` instead of opening a PDF of its own (cairosvg's
        surface classes are made to be specialised through ``_create_surface``)."""

        def _create_surface(self, width: float, height: float) -> tuple[Any, float, float]:
            document.set_size(width, height)
            return document, width, height

    for svg in pages:
        width_px, _ = _svg_size_px(svg)
        dpi = width_px / (layout.width_mm / MM_PER_INCH)  # so that the page comes out at the paper's size
        _PageOfDocument(Tree(bytestring=_smufl_text_as_unicode(svg).encode("utf-8")), None, dpi)
        document.show_page()
    document.finish()
    return buffer.getvalue()


def render_pdf(score: Score, path: str | os.PathLike[str], layout: PageLayout = A4) -> Path:
    """Write the score as a sheet-music PDF, one page per engraved page; returns the path."""
    out = Path(path)
    check_folder(out)
    require_all(("verovio", "cairosvg"), "PDF sheet music")  # before engraving: name every missing package
    pages = engrave_svg_pages(score, layout)
    atomic_write_bytes(out, svg_pages_to_pdf(pages, layout))
    log.debug("sheet music: %d page(s) to %s", len(pages), out)
    return out
