"""The render stage on a real chorale: audio (WAV/FLAC, stems), piano-roll PNG, sheet music (PDF/SVG) and the
all-formats entry point, including what happens when an optional package is missing."""

from __future__ import annotations

import importlib.abc
import re
import shutil
import struct
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from cadenza.errors import RenderError, UsageError
from cadenza.render import (
    PageLayout,
    parse_formats,
    render,
    render_audio,
    render_pdf,
    render_png,
    render_stems,
    render_svg,
    synthesize,
)
from cadenza.render.audio import PEAK_LEVEL, resolve_engine
from cadenza.render.soundfont import find_soundfont
from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import Metadata, Part, Score, Tempo, read_score
from cadenza.score.ops import slice_bars

TAIL_S = 1.0  # the release tail render_audio adds by default


@pytest.fixture(scope="module")
def chorale() -> Score:
    """The first four bars (pickup included) of Bach's BWV 66.6: four voices, 2.5 s or so of music."""
    return slice_bars(read_score("music21:bach/bwv66.6"), 0, 4)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as fh:
        assert fh.getsampwidth() == 2
        rate, channels = fh.getframerate(), fh.getnchannels()
        data = np.frombuffer(fh.readframes(fh.getnframes()), dtype="<i2").reshape(-1, channels)
    return data.astype(np.float64) / 32768.0, rate


def one_note(pitch: int = 69, program: int = 0, is_drum: bool = False, beats: int = 2) -> Score:
    return Score.build([Part("Solo", program, is_drum)], [(0, beats * Q, pitch, 100, 0)], tempos=[Tempo(0, 120.0)])


def strongest_hz(audio: np.ndarray, rate: int) -> float:
    mono = audio.mean(axis=1)[: rate // 2]  # the first half second
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.argmax(spectrum) * rate / len(mono))


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", data))


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


# ---------------------------------------------------------------- audio
def test_wav_is_audible_stereo_and_as_long_as_the_score(chorale: Score, tmp_path: Path) -> None:
    path = render_audio(chorale, tmp_path / "chorale.wav", sample_rate=22050)
    audio, rate = read_wav(path)
    assert rate == 22050 and audio.shape[1] == 2
    assert len(audio) / rate == pytest.approx(chorale.duration_s + TAIL_S, abs=2 / rate)
    assert chorale.duration_s > 2.0
    peak = np.abs(audio).max()
    assert 0.8 * PEAK_LEVEL < peak <= PEAK_LEVEL + 1e-3  # normalised to -1 dBFS: loud, never clipped
    music = audio[: int(chorale.duration_s * rate)]
    assert np.sqrt((music**2).mean()) > 0.03  # sound throughout, not one click
    quarter = len(music) // 4
    assert all(np.abs(music[i * quarter:(i + 1) * quarter]).max() > 0.05 for i in range(4))
    assert no_temp_files(tmp_path)


def test_builtin_synth_plays_the_right_pitch_and_drums(tmp_path: Path) -> None:
    audio = synthesize(one_note(69, program=73), 22050, engine="builtin")  # flute A4
    assert strongest_hz(audio, 22050) == pytest.approx(440.0, abs=4.0)
    audio = synthesize(one_note(57, program=0), 22050, engine="builtin")  # piano A3
    assert strongest_hz(audio, 22050) == pytest.approx(220.0, abs=4.0)
    drums = Score.build([Part("Kit", 0, True)], [(i * Q, Q, key, 100, 0) for i, key in enumerate((36, 38, 42, 49))])
    path = render_audio(drums, tmp_path / "drums.wav", sample_rate=22050, engine="builtin")
    data, rate = read_wav(path)
    for beat in range(4):  # a hit on every beat
        start = int(beat * 0.5 * rate)
        assert np.abs(data[start:start + rate // 20]).max() > 0.05


def test_tinysoundfont_engine_renders_melody_and_drums(tmp_path: Path) -> None:
    pytest.importorskip("tinysoundfont")
    if find_soundfont() is None:
        pytest.skip("no General MIDI soundfont (pip install pretty_midi)")
    assert resolve_engine("auto")[0] == "tinysoundfont"
    audio = synthesize(one_note(69, program=73), 22050, engine="tinysoundfont")
    hz = strongest_hz(audio, 22050)
    assert abs(hz / 440.0 - round(hz / 440.0)) < 0.02 and round(hz / 440.0) >= 1  # A4 or one of its harmonics
    drums = Score.build([Part("Kit", 0, True)], [(i * Q, Q, key, 100, 0) for i, key in enumerate((36, 38, 42, 49))])
    path = render_audio(drums, tmp_path / "drums.wav", sample_rate=22050, engine="tinysoundfont")
    data, rate = read_wav(path)
    assert np.abs(data[: int(2.0 * rate)]).max() > 0.5


def test_audio_without_tinysoundfont_falls_back_or_says_what_to_install(
        chorale: Score, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tinysoundfont", None)  # makes `import tinysoundfont` fail
    assert resolve_engine("auto") == ("builtin", None)
    path = render_audio(chorale, tmp_path / "fallback.wav", sample_rate=16000)
    audio, _ = read_wav(path)
    assert np.abs(audio).max() > 0.5
    with pytest.raises(RenderError, match=r"pip install --no-deps tinysoundfont"):
        render_audio(chorale, tmp_path / "explicit.wav", engine="tinysoundfont")
    with pytest.raises(UsageError, match="unknown audio engine"):
        render_audio(chorale, tmp_path / "bad.wav", engine="moog")


def test_fluidsynth_engine_when_installed(chorale: Score) -> None:
    if shutil.which("fluidsynth") is None or find_soundfont(prefer_system=True) is None:
        pytest.skip("fluidsynth or a General MIDI soundfont is not installed")
    audio = synthesize(chorale, 22050, engine="fluidsynth")
    assert audio.shape == (int(np.ceil((chorale.duration_s + TAIL_S) * 22050)), 2)
    assert np.abs(audio[: int(0.05 * 22050)]).max() > 0.01  # starts on time (the MIDI pickup pad is not heard)
    assert np.sqrt((audio**2).mean()) > 0.01


def test_missing_soundfont_file_is_a_render_error(chorale: Score, tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"soundfont .*nothing.sf2 does not exist"):
        render_audio(chorale, tmp_path / "x.wav", soundfont=tmp_path / "nothing.sf2")


@pytest.mark.parametrize("engine", ["builtin", "auto"])
def test_audio_renders_faster_than_real_time(chorale: Score, engine: str) -> None:
    started = time.perf_counter()
    synthesize(chorale, 44100, engine=engine)
    elapsed_s = time.perf_counter() - started
    assert elapsed_s < chorale.duration_s / 4  # measured: several hundred times real time on one core


def test_empty_score_gives_a_short_silent_file(tmp_path: Path) -> None:
    empty = Score.build([Part("Piano", 0)], [])
    audio, rate = read_wav(render_audio(empty, tmp_path / "empty.wav", sample_rate=8000))
    assert len(audio) == pytest.approx(TAIL_S * rate, abs=1) and not audio.any()


def test_stems_one_per_part_and_they_add_up_to_the_mix(chorale: Score, tmp_path: Path) -> None:
    paths = render_stems(chorale, tmp_path / "stems", sample_rate=16000)
    assert [p.name for p in paths] == ["01-Soprano.wav", "02-Alto.wav", "03-Tenor.wav", "04-Bass.wav"]
    stems = [read_wav(p)[0] for p in paths]
    assert all(np.abs(s).max() > 0.05 for s in stems)  # every voice sings
    assert max(np.abs(s).max() for s in stems) <= PEAK_LEVEL + 1e-3
    total = np.sum(stems, axis=0)
    mix = synthesize(chorale, 16000)
    assert total.shape == mix.shape
    assert np.corrcoef(total.ravel(), mix.ravel())[0, 1] > 0.98


def test_flac_round_trips_through_soundfile(chorale: Score, tmp_path: Path) -> None:
    soundfile = pytest.importorskip("soundfile")
    path = render_audio(chorale, tmp_path / "chorale.flac", sample_rate=22050)
    assert path.read_bytes()[:4] == b"fLaC"
    data, rate = soundfile.read(str(path))
    assert rate == 22050 and data.shape[1] == 2
    assert len(data) / rate == pytest.approx(chorale.duration_s + TAIL_S, abs=2 / rate)
    assert np.abs(data).max() > 0.5


def test_flac_without_soundfile_says_what_to_install(
        chorale: Score, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "soundfile", None)
    with pytest.raises(RenderError, match=r"pip install soundfile"):
        render_audio(chorale, tmp_path / "chorale.flac")
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- picture
def test_piano_roll_png_has_the_size_asked_and_shows_every_part(chorale: Score, tmp_path: Path) -> None:
    image = pytest.importorskip("matplotlib.image")
    path = render_png(chorale.with_metadata(title="Chorale"), tmp_path / "roll.png", width_px=900, height_px=450)
    assert png_size(path) == (900, 450)
    pixels = image.imread(str(path))[..., :3]
    not_white = (pixels < 0.95).any(axis=2)
    assert not_white.mean() > 0.03  # notes, axes, bar lines and legend, not a blank canvas
    saturated = (pixels.max(axis=2) - pixels.min(axis=2)) > 0.3
    hues = {tuple(np.round(c, 1)) for c in pixels[saturated].reshape(-1, 3)[::7]}
    assert len(hues) >= 4  # one colour per voice
    assert no_temp_files(tmp_path)


def test_piano_roll_without_matplotlib_says_what_to_install(
        chorale: Score, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(RenderError, match=r"pip install matplotlib"):
        render_png(chorale, tmp_path / "roll.png")


# ---------------------------------------------------------------- sheet music
def test_pdf_is_a_real_pdf_with_pages(chorale: Score, tmp_path: Path) -> None:
    pytest.importorskip("verovio")
    pytest.importorskip("cairosvg")
    data = render_pdf(chorale, tmp_path / "chorale.pdf").read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert pdf_pages(data) == 1
    big = render_pdf(chorale, tmp_path / "big.pdf", PageLayout(staff_scale=150)).read_bytes()
    assert pdf_pages(big) >= 2  # large staves spill onto more pages: one PDF, several pages
    assert no_temp_files(tmp_path)


def test_svg_pages(chorale: Score, tmp_path: Path) -> None:
    pytest.importorskip("verovio")
    [one] = render_svg(chorale, tmp_path / "chorale.svg")
    assert one.name == "chorale.svg" and "<svg" in one.read_text()[:500]
    pages = render_svg(chorale, tmp_path / "big.svg", PageLayout(staff_scale=150))
    assert len(pages) >= 2 and [p.name for p in pages[:2]] == ["big-1.svg", "big-2.svg"]


def test_tempo_mark_note_is_drawable_in_the_pdf(chorale: Score) -> None:
    pytest.importorskip("verovio")
    from cadenza.render.sheet import _smufl_text_as_unicode, engrave_svg_pages

    [page] = engrave_svg_pages(chorale.replace(tempos=[Tempo(0, 84.0)]))
    assert "\uECA5" in page  # Verovio's music-font quarter note, which cairo cannot draw
    swapped = _smufl_text_as_unicode(page)
    assert "\u2669" in swapped and "\uECA5" not in swapped


def test_an_engraved_page_as_png_draws_the_tempo_marks_note(chorale: Score, tmp_path: Path) -> None:
    pytest.importorskip("verovio")
    pytest.importorskip("cairosvg")
    import struct

    from cadenza.render.sheet import engrave_svg_pages, svg_page_to_png

    [page] = engrave_svg_pages(chorale.replace(tempos=[Tempo(0, 84.0)]))
    png = svg_page_to_png(page, tmp_path / "page" / "one.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">I", png[16:20])[0] == 1240
    plain = tmp_path / "plain.png"
    import cairosvg

    cairosvg.svg2png(bytestring=page.encode("utf-8"), write_to=str(plain), output_width=1240,
                     background_color="white")
    assert plain.read_bytes() != png  # the note drawn in a text font, not the music font's missing glyph


@pytest.mark.parametrize("module", ["verovio", "cairosvg"])
def test_pdf_without_its_packages_says_what_to_install(
        chorale: Score, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(RenderError, match=rf"pip install [^;]*\b{module}\b") as caught:
        render_pdf(chorale, tmp_path / "chorale.pdf")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "chorale.pdf").exists()


def test_pdf_with_cairo_library_missing_says_what_to_install(
        chorale: Score, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("verovio")

    class BrokenLibrary(importlib.abc.MetaPathFinder):  # cairocffi's failure when libcairo is absent
        def find_spec(self, name: str, path: object, target: object = None) -> None:
            if name == "cairosvg":
                raise OSError('no library called "cairo-2" was found\ncannot load library ...')
            return None

    monkeypatch.delitem(sys.modules, "cairosvg", raising=False)
    monkeypatch.setattr(sys, "meta_path", [BrokenLibrary(), *sys.meta_path])
    with pytest.raises(RenderError, match=r'cannot load its system library \(no library called "cairo-2" was '
                                          r"found\); install libcairo2 \(apt-get install libcairo2\)$"):
        render_pdf(chorale, tmp_path / "chorale.pdf")


# ---------------------------------------------------------------- all formats at once
def test_pdf_names_every_missing_package_at_once(
        chorale: Score, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "verovio", None)
    monkeypatch.setitem(sys.modules, "cairosvg", None)
    with pytest.raises(RenderError, match=r"needs the verovio and cairosvg packages: pip install verovio cairosvg$"):
        render_pdf(chorale, tmp_path / "chorale.pdf")


def test_render_writes_each_format_and_reports_the_missing_one(
        chorale: Score, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.setitem(sys.modules, "verovio", None)
    base = tmp_path / "out" / "chorale"
    result = render(chorale, base, ["mid", "musicxml", "wav", "png", "pdf", "svg"], sample_rate=16000)
    assert set(result) == {"mid", "musicxml", "wav", "png"}
    assert set(result.errors) == {"pdf", "svg"} and not result.ok
    assert "pip install verovio" in result.errors["pdf"]
    assert result["mid"] == tmp_path / "out" / "chorale.mid" and result["mid"].read_bytes()[:4] == b"MThd"
    assert b"<score-partwise" in result["musicxml"].read_bytes()[:2000]
    assert read_wav(result["wav"])[0].any() and png_size(result["png"]) == (1600, 800)
    with pytest.raises(RenderError, match=r"pdf: .*pip install verovio"):
        render(chorale, base, ["pdf", "mid"], raise_on_error=True)


def test_render_everything(chorale: Score, tmp_path: Path) -> None:
    for module in ("verovio", "cairosvg", "soundfile"):
        pytest.importorskip(module)
    score = chorale.replace(metadata=Metadata(title="Chorale", composer="J. S. Bach"))
    result = render(score, tmp_path / "take.v2", "mid,musicxml,wav,flac,pdf,svg,png,stems", sample_rate=16000)
    assert result.ok, result.errors
    assert result["flac"].name == "take.v2.flac"  # dots in the base name are kept
    assert result["stems"].is_dir() and len(result.files["stems"]) == 4
    assert all(p.is_file() and p.stat().st_size > 0 for paths in result.files.values() for p in paths)


def test_parse_formats() -> None:
    assert parse_formats(".WAV, midi,pdf,wav") == ["wav", "mid", "pdf"]
    with pytest.raises(UsageError, match="unknown render format 'mp3'"):
        parse_formats(["wav", "mp3"])
    with pytest.raises(UsageError):
        parse_formats("")
