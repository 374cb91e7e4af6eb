"""Rendering a Score for people: audio (WAV/FLAC, mixed or stems), a piano-roll PNG, sheet music (PDF/SVG),
plus MIDI and MusicXML through :mod:`cadenza.score.write`.

    from cadenza.render import render
    result = render(score, Path("out/song"), ["mid", "musicxml", "wav", "pdf", "png"])
    result.errors   # format -> one-line message for each format that could not be made

Every renderer beyond MIDI/MusicXML uses optional packages, imported only when needed; a missing one
raises :class:`cadenza.errors.RenderError` whose message is the install command. Install them all with
``pip install "cadenza[render]"`` plus ``pip install --no-deps tinysoundfont`` (``--no-deps`` because its
pyaudio dependency is only for live playback and needs PortAudio to build). Without tinysoundfont, audio
comes from a small built-in NumPy synthesizer, so WAV output always works.
"""

from cadenza.render.audio import ENGINES, render_audio, render_stems, synthesize
from cadenza.render.pianoroll import render_png
from cadenza.render.pipeline import RENDER_FORMATS, RenderResult, parse_formats, render
from cadenza.render.sheet import A4, LETTER, PageLayout, render_pdf, render_svg

__all__ = [
    "A4", "ENGINES", "LETTER", "RENDER_FORMATS", "PageLayout", "RenderResult", "parse_formats", "render",
    "render_audio", "render_pdf", "render_png", "render_stems", "render_svg", "synthesize",
]  # fmt: skip
