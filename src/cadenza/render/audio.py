"""Audio: a Score as WAV (16-bit PCM, stdlib ``wave``) or FLAC (``soundfile``), mixed or one stem per part.

Engines, chosen with ``engine=``:

* ``"auto"`` (default): TinySoundFont with a General MIDI soundfont when both are installed, else the
  built-in NumPy synthesizer, so audio always works.
* ``"tinysoundfont"``: in-process soundfont synthesis; needs ``pip install --no-deps tinysoundfont``
  (``--no-deps``: its pyaudio dependency is only for live playback) and a soundfont: the one inside
  ``pip install pretty_midi`` is found by itself, or pass ``soundfont=``.
* ``"fluidsynth"``: the ``fluidsynth`` program (``apt-get install fluidsynth fluid-soundfont-gm``).
* ``"builtin"``: the additive synthesizer of :mod:`cadenza.render.synth`.

The output is peak-normalised to -1 dBFS, so it never clips; stems share one gain, so they add up to the
mix. A release tail (``tail_s``) follows the end of the score.
"""

from __future__ import annotations

import io
import logging
import os
import time
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cadenza.errors import OutputError, RenderError, UnsupportedFormatError, UsageError
from cadenza.files import atomic_write_bytes
from cadenza.render.common import available, check_folder, require, slug
from cadenza.render.soundfont import find_soundfont, synthesize_fluidsynth, synthesize_tinysoundfont
from cadenza.render.synth import synthesize_builtin
from cadenza.score.model import Score

log = logging.getLogger(__name__)

ENGINES = ("auto", "tinysoundfont", "fluidsynth", "builtin")
AUDIO_FORMATS = {".wav": "wav", ".flac": "flac"}
DEFAULT_SAMPLE_RATE = 44100
DEFAULT_TAIL_S = 1.0
PEAK_LEVEL = 10 ** (-1.0 / 20)  # -1 dBFS

SoundfontArg = str | os.PathLike[str] | None


def resolve_engine(engine: str = "auto", soundfont: SoundfontArg = None) -> tuple[str, Path | None]:
    """The engine that will run and its soundfont (None for the built-in synthesizer).

    Raises RenderError when an explicitly named engine cannot run, saying what to install."""
    if engine not in ENGINES:
        raise UsageError(f"unknown audio engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "builtin":
        return engine, None
    if engine == "fluidsynth":
        font = find_soundfont(soundfont, prefer_system=True)
        if font is None:
            raise RenderError("the fluidsynth engine needs a General MIDI soundfont: apt-get install "
                              "fluid-soundfont-gm, or pip install pretty_midi, or pass soundfont=")
        return engine, font
    font = find_soundfont(soundfont)
    has_tsf = available("tinysoundfont")
    if engine == "tinysoundfont":
        if not has_tsf:
            require("tinysoundfont", "the tinysoundfont engine")
        if font is None:
            raise RenderError("the tinysoundfont engine needs a General MIDI soundfont: pip install pretty_midi "
                              "(it ships one), or pass soundfont=")
        return engine, font
    if has_tsf and font is not None:
        return "tinysoundfont", font
    why = "tinysoundfont is not installed" if not has_tsf else "no soundfont was found (pip install pretty_midi)"
    log.info("audio: %s; using the built-in synthesizer", why)
    return "builtin", None


def frame_count(score: Score, sample_rate: int, tail_s: float = DEFAULT_TAIL_S) -> int:
    """Frames of audio for ``score``: its whole length plus the release tail."""
    return max(1, int(np.ceil((score.duration_s + tail_s) * sample_rate)))


def synthesize(score: Score, sample_rate: int = DEFAULT_SAMPLE_RATE, soundfont: SoundfontArg = None,
               engine: str = "auto", parts: Sequence[int] | None = None,
               tail_s: float = DEFAULT_TAIL_S) -> np.ndarray:
    """Raw stereo float32 audio of ``parts`` (all when None), shape (frames, 2), not normalised."""
    if not 8000 <= sample_rate <= 192000:
        raise UsageError(f"sample rate {sample_rate} Hz out of range 8000..192000")
    name, font = resolve_engine(engine, soundfont)
    indices = list(range(len(score.parts))) if parts is None else list(parts)
    frames = frame_count(score, sample_rate, tail_s)
    started = time.perf_counter()
    if name == "tinysoundfont" and font is not None:
        audio = synthesize_tinysoundfont(score, indices, sample_rate, frames, font)
    elif name == "fluidsynth" and font is not None:
        audio = synthesize_fluidsynth(score, indices, sample_rate, frames, font)
    else:
        audio = synthesize_builtin(score, indices, sample_rate, frames)
    elapsed_s = time.perf_counter() - started
    music_s = frames / sample_rate
    log.debug("audio: %.1f s of music by %s in %.2f s (%.0fx real time)", music_s, name, elapsed_s,
              music_s / max(elapsed_s, 1e-9))
    return audio


def peak(audio: np.ndarray) -> float:
    """The largest absolute sample value (0 for empty audio)."""
    return float(np.abs(audio).max(initial=0.0))


def normalise(audio: np.ndarray, reference_peak: float | None = None) -> np.ndarray:
    """``audio`` scaled so that ``reference_peak`` (default: its own peak) sits at -1 dBFS; silence stays
    silent."""
    top = peak(audio) if reference_peak is None else reference_peak
    if top <= 1e-9:
        return audio
    return (audio * (PEAK_LEVEL / top)).astype(np.float32)


def _pcm16(audio: np.ndarray) -> np.ndarray:
    return np.clip(np.round(audio * 32767.0), -32768, 32767).astype("<i2")


def audio_bytes(audio: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """Stereo float audio in [-1, 1] as the bytes of a 16-bit ``wav`` or ``flac`` file."""
    buf = io.BytesIO()
    if fmt == "wav":
        with wave.open(buf, "wb") as fh:
            fh.setnchannels(audio.shape[1])
            fh.setsampwidth(2)
            fh.setframerate(sample_rate)
            fh.writeframes(_pcm16(audio).tobytes())
    elif fmt == "flac":
        soundfile = require("soundfile", "writing FLAC")
        soundfile.write(buf, _pcm16(audio), sample_rate, format="FLAC", subtype="PCM_16")
    else:
        raise UnsupportedFormatError(f"unknown audio format {fmt!r}; use .wav or .flac")
    return buf.getvalue()


def _audio_format(path: Path) -> str:
    fmt = AUDIO_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UnsupportedFormatError(f"cannot write audio as {path.suffix or 'a file without an extension'}; "
                                     "use .wav or .flac")
    if fmt == "flac":
        require("soundfile", "writing FLAC")  # fail before the synthesis, not after
    return fmt


def render_audio(score: Score, path: str | os.PathLike[str], sample_rate: int = DEFAULT_SAMPLE_RATE,
                 soundfont: SoundfontArg = None, engine: str = "auto", tail_s: float = DEFAULT_TAIL_S) -> Path:
    """Write the score as a stereo 16-bit WAV or FLAC file (from the extension); returns the path."""
    out = Path(path)
    fmt = _audio_format(out)
    check_folder(out)
    audio = normalise(synthesize(score, sample_rate, soundfont, engine, tail_s=tail_s))
    atomic_write_bytes(out, audio_bytes(audio, sample_rate, fmt))
    return out


def stem_name(score: Score, part_index: int, extension: str = "wav") -> str:
    """``'02-Alto.wav'``: the file name of one part's stem."""
    return f"{part_index + 1:02d}-{slug(score.parts[part_index].name, f'part{part_index + 1}')}.{extension}"


def render_stems(score: Score, folder: str | os.PathLike[str], sample_rate: int = DEFAULT_SAMPLE_RATE,
                 soundfont: SoundfontArg = None, engine: str = "auto", audio_format: str = "wav",
                 tail_s: float = DEFAULT_TAIL_S) -> list[Path]:
    """Write one audio file per part into ``folder`` (created if needed), in part order; returns the paths.

    All stems share one gain, chosen so that the loudest of the stems and their sum peaks at -1 dBFS:
    played together they sound like the mix, and none clips."""
    out_dir = Path(folder)
    if audio_format not in AUDIO_FORMATS.values():
        raise UnsupportedFormatError(f"unknown audio format {audio_format!r}; use wav or flac")
    if audio_format == "flac":
        require("soundfile", "writing FLAC")
    stems = [synthesize(score, sample_rate, soundfont, engine, parts=[i], tail_s=tail_s)
             for i in range(len(score.parts))]
    if not stems:
        return []
    mix = stems[0].copy()
    for stem in stems[1:]:
        mix += stem
    loudest = max(peak(mix), *(peak(stem) for stem in stems))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder {out_dir}: {exc.strerror or exc}") from None
    paths = []
    for index, stem in enumerate(stems):
        path = out_dir / stem_name(score, index, audio_format)
        atomic_write_bytes(path, audio_bytes(normalise(stem, loudest), sample_rate, audio_format))
        paths.append(path)
    return paths
