"""Audio primers: a recording (WAV, FLAC, MP3, Ogg, AIFF) transcribed into a Score with basic-pitch.

An optional extra: ``pip install 'cadenza[audio]' && pip install --no-deps basic-pitch``. basic-pitch's own
metadata pulls TensorFlow; its ONNX model ships inside the wheel and runs on onnxruntime alone, so the
extra lists its real needs (onnxruntime, librosa, mir_eval, resampy) and basic-pitch goes in without its
dependencies.

1. Checks before decoding: file size, the header (soundfile), length, sample rate and channel count; the
   length is checked again while decoding, so a header that lies is caught too.
2. Decoding in blocks to mono at 22,050 Hz (soxr), peak-normalised.
3. basic-pitch's ONNX model, window by window, then its note decoding: note events (onset s, offset s,
   MIDI pitch, amplitude 0..1).
4. Notation: one constant tempo (librosa's beat tracker for the tempo's order of magnitude, folded into
   60..180 bpm, then a least-squares fit of the onsets to a sixteenth grid); onsets and ends quantised
   beat by beat to sixteenths or eighth triplets (a triplet feel throughout makes a compound meter:
   6/8, 9/8 or 12/8); the meter from accents on the beats (3 beats to the bar against 4, with a pickup
   when the accents say so, else 4/4 from the first note); one piano part, or right and left hand split
   at middle C when the music spans both; velocities from amplitudes. No key signature: which key the pitches
   are in is a listener's judgement (:func:`cadenza.listen.key.key_signature_of`), added by the public reader
   :func:`cadenza.api.read_score_result` to every result marked ``transcribed``; this layer, beneath
   listening, writes only what the signal's timing and loudness say.

The result is an estimate: the report says so, with the tempo and meter chosen.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.errors import CorruptFileError, InputError
from cadenza.score.limits import ReadLimits, file_size, over_limit
from cadenza.score.model import TICKS_PER_QUARTER, Metadata, Part, Score, Tempo, TimeSignature

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = {".wav": "WAV", ".wave": "WAV", ".flac": "FLAC", ".mp3": "MP3", ".ogg": "Ogg",
                    ".oga": "Ogg", ".opus": "Ogg", ".aif": "AIFF", ".aiff": "AIFF", ".aifc": "AIFF"}
AUDIO_INSTALL = "pip install 'cadenza[audio]' && pip install --no-deps basic-pitch"
_NEEDED = ("soundfile", "soxr", "librosa", "onnxruntime", "mir_eval", "resampy", "basic_pitch")

SAMPLE_RATE = 22050  # basic-pitch's
MIN_SAMPLE_RATE = 4000
MAX_SAMPLE_RATE = 384000
MAX_CHANNELS = 64
MIN_AUDIO_S = 0.25
BLOCK_FRAMES = 1 << 16
BATCH_WINDOWS = 8
MIN_BPM, MAX_BPM = 60.0, 180.0  # the tempo's octave is folded into this range

# basic-pitch's defaults (its predict()): thresholds, shortest note 127.7 ms = 11 frames
ONSET_THRESHOLD = 0.5
FRAME_THRESHOLD = 0.3
MIN_NOTE_FRAMES = 11
OVERTONES = (12, 19, 24, 28)
CLEAR_ACCENT = 1.4  # downbeats this much above the mean beat make a meter or a pickup evident
OVERTONE_RATIO = 0.6
TAIL_RATIO = 0.75
TAIL_S = 0.3
END_BIAS_BEATS = 0.12  # notes ring on after their end (release, room): ends are read this much earlier
SPLIT_PITCH = 60  # middle C: right hand from here up, left hand below


# ------------------------------------------------------------------ recognising audio
def sniff_audio(head: bytes) -> bool:
    """Whether the first bytes of a file look like an audio container."""
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return True
    if head[:4] in (b"fLaC", b"OggS") or head[:3] == b"ID3":
        return True
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return True
    # an MPEG audio frame: 11 sync bits, a known version and layer
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and (head[1] >> 1) & 3 != 0


def is_audio(path: Path, other_formats: Any = ()) -> bool:
    """An audio file by its extension; by its first bytes when the extension is none of ``other_formats``."""
    suffix = path.suffix.lower()
    if suffix in AUDIO_EXTENSIONS:
        return True
    if suffix in other_formats:
        return False
    try:
        with Path(path).open("rb") as fh:
            return sniff_audio(fh.read(16))
    except OSError:
        return False  # the caller's own reading reports a missing or unreadable file


def missing_packages() -> list[str]:
    """The audio extra's packages that are not installed."""
    missing = []
    for name in _NEEDED:
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except (ImportError, ValueError):
            missing.append(name)
    return missing


def _require(path: Path) -> None:
    missing = missing_packages()
    if missing:
        raise InputError(f"reading audio ({path.name}) needs {', '.join(missing)}: {AUDIO_INSTALL}")


@contextmanager
def _quiet_imports() -> Iterator[None]:
    """basic-pitch logs a warning through the root logger for every runtime it does not find (TensorFlow,
    CoreML, TFLite) when imported; a root logger with no handler would also be configured by that call."""
    root = logging.getLogger()
    guard = logging.NullHandler()
    root.addHandler(guard)
    previous = root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)
        root.removeHandler(guard)


# ------------------------------------------------------------------ decoding
def _first_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
    text = re.sub(r"^Error opening .*?: (?=\S)", "", text)  # libsndfile repeats the path
    if text.startswith("File does not exist"):  # what libsndfile says of an MP3 with no valid frame
        text = "no valid audio stream found"
    return text[:200]


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """libsndfile's MP3 decoder (mpg123) prints its complaints about a damaged stream straight to file
    descriptor 2; they are replaced by one clear error."""
    try:
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def decode(path: Path, limits: ReadLimits) -> tuple[np.ndarray, dict[str, Any]]:
    """Mono float32 audio at :data:`SAMPLE_RATE`, peak-normalised, and what the header said."""
    with _quiet_stderr():
        return _decode(path, limits)


def _decode(path: Path, limits: ReadLimits) -> tuple[np.ndarray, dict[str, Any]]:
    import soundfile
    import soxr

    try:
        fh = soundfile.SoundFile(str(path))
    except Exception as exc:  # noqa: BLE001 - libsndfile's errors: unknown format, truncated header…
        raise CorruptFileError(f"cannot decode {path.name} as audio: {_first_line(exc)}") from None
    with fh:
        rate, channels, frames = int(fh.samplerate), int(fh.channels), int(fh.frames)
        info = {"format": fh.format_info, "sample_rate": rate, "channels": channels}
        if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            raise CorruptFileError(f"{path.name}: sample rate {rate} Hz; audio for transcription needs "
                                   f"{MIN_SAMPLE_RATE:,} to {MAX_SAMPLE_RATE:,} Hz")
        if not 1 <= channels <= MAX_CHANNELS:
            raise CorruptFileError(f"{path.name}: {channels} channels; at most {MAX_CHANNELS} are read")
        max_frames = int(limits.max_audio_s * rate)
        if 0 < frames < 2**62 and frames > max_frames:
            raise over_limit("audio length in seconds", frames / rate, "max_audio_s", limits)
        resampler = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32")
        chunks: list[np.ndarray] = []
        done = 0
        try:
            while True:
                block = fh.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
                if not len(block):
                    break
                done += len(block)
                if done > max_frames:
                    raise over_limit("audio length in seconds", done / rate, "max_audio_s", limits)
                chunks.append(resampler.resample_chunk(np.ascontiguousarray(block.mean(axis=1))))
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - a stream damaged after its header
            if not done:
                raise CorruptFileError(f"cannot decode {path.name} as audio: {_first_line(exc)}") from None
            log.debug("%s: decoding stopped after %d frames: %s", path, done, exc)
            info["truncated"] = True
        chunks.append(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
    audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32, copy=False)
    info["duration_s"] = round(len(audio) / SAMPLE_RATE, 3)
    if len(audio) < MIN_AUDIO_S * SAMPLE_RATE:
        raise InputError(f"{path.name} is too short to transcribe ({len(audio) / SAMPLE_RATE:.2f} s of audio; "
                         f"give at least {MIN_AUDIO_S:g} s)")
    top = float(np.abs(audio).max())
    if top < 1e-5:
        raise InputError(f"no notes heard in {path.name}: the audio is silent")
    return (audio * (0.9 / top)).astype(np.float32), info


# ------------------------------------------------------------------ transcription (basic-pitch)
@lru_cache(maxsize=1)
def _session() -> Any:
    """basic-pitch's ONNX model on onnxruntime (loaded once per process)."""
    import onnxruntime

    with _quiet_imports():
        spec = importlib.util.find_spec("basic_pitch")
    if spec is None or spec.origin is None:
        raise InputError(f"reading audio needs basic-pitch: {AUDIO_INSTALL}")
    model = Path(spec.origin).parent / "saved_models" / "icassp_2022" / "nmp.onnx"
    if not model.is_file():
        raise InputError(f"basic-pitch's ONNX model is missing ({model}); reinstall it: {AUDIO_INSTALL}")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    # no busy-waiting between operators: on a shared machine spinning threads halve the speed (2 minutes of
    # audio: 5.1 s spinning, 2.8 s not, with another process on one of two cores)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])


def transcribe(audio: np.ndarray) -> np.ndarray:
    """Note events of mono 22,050 Hz audio: rows of (onset s, offset s, MIDI pitch, amplitude 0..1)."""
    with _quiet_imports():
        from basic_pitch import constants
        from basic_pitch import note_creation as notes
        from basic_pitch.inference import unwrap_output
    session = _session()
    overlap_frames = 30
    overlap = overlap_frames * constants.FFT_HOP
    size = constants.AUDIO_N_SAMPLES
    hop = size - overlap
    padded = np.concatenate([np.zeros(overlap // 2, np.float32), audio])
    starts = range(0, len(padded), hop)
    outputs: dict[str, list[np.ndarray]] = {"note": [], "onset": [], "contour": []}
    names = ["StatefulPartitionedCall:1", "StatefulPartitionedCall:2", "StatefulPartitionedCall:0"]
    batch: list[np.ndarray] = []
    for i, start in enumerate(starts):
        window = padded[start:start + size]
        batch.append(np.pad(window, (0, size - len(window))) if len(window) < size else window)
        if len(batch) == BATCH_WINDOWS or i == len(starts) - 1:
            x = np.stack(batch)[:, :, None].astype(np.float32)
            for key, value in zip(("note", "onset", "contour"), session.run(names, {"serving_default_input_2:0": x}),
                                  strict=True):
                outputs[key].append(value)
            batch = []
    model_out = {k: unwrap_output(np.concatenate(v), len(audio), overlap_frames) for k, v in outputs.items()}
    with _quiet_imports():
        found = notes.output_to_notes_polyphonic(
            model_out["note"], model_out["onset"], onset_thresh=ONSET_THRESHOLD, frame_thresh=FRAME_THRESHOLD,
            min_note_len=MIN_NOTE_FRAMES, infer_onsets=True, max_freq=None, min_freq=None, melodia_trick=True)
        times = notes.model_frames_to_time(model_out["contour"].shape[0])
    if not found:
        return np.zeros((0, 4))
    rows = np.array([(times[a], times[b], p, amp) for a, b, p, amp in found], dtype=np.float64)
    return rows[np.lexsort((rows[:, 2], rows[:, 0]))]


# ------------------------------------------------------------------ cleaning
def clean_events(events: np.ndarray, together_s: float = 0.05) -> np.ndarray:
    """Drop what a note's own sound makes the model hear besides it: overtones (an octave, twelfth, double
    octave or its major third above a louder note sounding when it starts, at under
    :data:`OVERTONE_RATIO` of its amplitude) and release tails (the same pitch again right where a note
    ended, clearly weaker, or a little weaker and short)."""
    if len(events) < 2:
        return events
    keep = np.ones(len(events), dtype=bool)
    onset, offset, pitch, amp = events[:, 0], events[:, 1], events[:, 2].astype(int), events[:, 3]
    for i in range(len(events)):
        sounding = (onset - together_s <= onset[i]) & (onset[i] < offset) & (amp * OVERTONE_RATIO > amp[i])
        if sounding.any() and np.isin(pitch[i] - pitch[sounding], OVERTONES).any():
            keep[i] = False
            continue
        before = (pitch == pitch[i]) & (onset < onset[i]) & (np.abs(onset[i] - offset) <= together_s)
        if before.any():
            ratio = amp[i] / amp[before].max()
            keep[i] = not (ratio < TAIL_RATIO or (ratio < 0.9 and offset[i] - onset[i] < TAIL_S))
    return events[keep]


# ------------------------------------------------------------------ notation
@dataclass(frozen=True)
class Grid:
    period_s: float  # seconds per beat
    origin_s: float  # time of beat 0


def _fold(bpm: float) -> float:
    if not math.isfinite(bpm) or bpm <= 0:
        return 120.0
    while bpm < MIN_BPM:
        bpm *= 2
    while bpm >= MAX_BPM:
        bpm /= 2
    return bpm


def _first_tempo(audio: np.ndarray, onsets: np.ndarray) -> float:
    """The tempo's order of magnitude: librosa's beat tracker, else the median gap between onsets."""
    bpm = float("nan")
    try:
        import librosa

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tempo, _ = librosa.beat.beat_track(y=audio, sr=SAMPLE_RATE)
        bpm = float(np.atleast_1d(tempo)[0])
    except Exception as exc:  # noqa: BLE001 - an estimate only; fall back to the onsets
        log.debug("beat tracking failed: %s", exc)
    if not (math.isfinite(bpm) and bpm > 0):
        gaps = np.diff(np.unique(np.round(onsets, 2)))
        gaps = gaps[gaps > 0.08]
        bpm = 60.0 / float(np.median(gaps)) if len(gaps) else 120.0
    return _fold(bpm)


def fit_grid(onsets: np.ndarray, weights: np.ndarray, bpm_guess: float) -> tuple[Grid, float]:
    """The constant beat that puts the onsets nearest a sixteenth grid, and the weighted RMS distance to it
    in beats (so grids of different tempi compare fairly: a finer grid is nearer by chance). Candidate
    tempi within 7% of the guess, each refined by weighted least squares (onset = origin + position *
    period)."""
    best: tuple[float, Grid] | None = None
    w = weights / weights.sum()
    for bpm in bpm_guess * np.linspace(0.93, 1.07, 57):
        period, origin = 60.0 / bpm, float(onsets[0])
        for _ in range(3):
            q = np.round((onsets - origin) / period * 4) / 4
            if np.ptp(q) == 0:
                break
            qm, tm = float(w @ q), float(w @ onsets)
            var = float(w @ (q - qm) ** 2)
            slope = float(w @ ((q - qm) * (onsets - tm))) / var
            if not 0.25 < slope < 2.0:
                break
            period, origin = slope, tm - slope * qm
        q = np.round((onsets - origin) / period * 4) / 4
        error = float(np.sqrt(w @ (((onsets - origin) / period - q) ** 2)))
        if best is None or error < best[0]:
            best = (error, Grid(period, origin))
    assert best is not None
    return best[1], best[0]


def choose_grid(onsets: np.ndarray, weights: np.ndarray, bpm_guess: float) -> Grid:
    """The beat tracker's tempo, unless 3/2 or 2/3 of it (a beat tracker often locks on to bars or
    half-bars of a triple meter) fits the onsets far better. Octaves are not compared: a grid twice as fine
    always fits as well; the tempo is folded into 60..180 bpm instead."""
    first, first_error = fit_grid(onsets, weights, bpm_guess)
    best, best_error = first, first_error
    for ratio in (1.5, 2 / 3):
        other, error = fit_grid(onsets, weights, _fold(bpm_guess * ratio))
        if error < 0.6 * first_error and error < best_error:
            best, best_error = other, error
    return best


def _quantise(x: np.ndarray, triplet_beats: set[int]) -> np.ndarray:
    """Positions in beats rounded to sixteenths, or to eighth triplets inside the beats listed."""
    beat = np.floor(x + 1 / 24)
    frac = x - beat
    steps = np.array([3 if int(b) in triplet_beats else 4 for b in beat]) if triplet_beats else np.full(len(x), 4)
    return beat + np.round(frac * steps) / steps


def _triplet_beats(x: np.ndarray) -> tuple[set[int], int]:
    """Beats whose onsets sit nearer an eighth-triplet grid than a sixteenth grid, and how many beats have
    onsets off the beat at all."""
    beat = np.floor(x + 1 / 24)
    frac = x - beat
    chosen: set[int] = set()
    divided = 0
    for b in np.unique(beat):
        f = frac[beat == b]
        err4 = np.abs(f - np.round(f * 4) / 4)
        err3 = np.abs(f - np.round(f * 3) / 3)
        if (np.minimum(err4, err3) > 1 / 24).all() or (np.abs(f) < 1 / 24).all():
            continue  # only notes on the beat (or noise)
        divided += 1
        off_beat = np.unique(np.round(f[np.abs(f) >= 1 / 24] * 3))
        # clearly off the sixteenths and on triplets, with the triplet figure's two inner notes (a lone note
        # a third of a beat late is more often a late onset than a triplet)
        if err4.max() > 1 / 16 and err3.sum() < 0.5 * err4.sum() and len(off_beat) >= 2:
            chosen.add(int(b))
    return chosen, divided


def choose_meter(position: np.ndarray, weight: np.ndarray, beats_per_bar_options: tuple[int, ...] = (4, 3)
                 ) -> tuple[int, int, float]:
    """(beats per bar, beat of the first downbeat, contrast): the bar length and phase whose downbeats carry
    the most accent (the summed weight of the notes starting exactly on each beat, against the mean beat);
    the first option, from the first note, unless another stands out clearly (:data:`CLEAR_ACCENT`)."""
    on_beat = np.abs(position - np.round(position)) < 1e-9
    if not on_beat.any():
        return beats_per_bar_options[0], 0, 1.0
    beats = np.round(position[on_beat]).astype(int)
    strength = np.bincount(beats, weights=weight[on_beat])
    if len(strength) < 6 or strength.mean() <= 0:
        return beats_per_bar_options[0], 0, 1.0
    scores: dict[int, tuple[float, int]] = {}
    for m in beats_per_bar_options:
        usable = strength[: len(strength) // m * m] if len(strength) >= 2 * m else strength
        by_phase = [float(usable[p::m].mean() / usable.mean()) if len(usable[p::m]) else 0.0 for p in range(m)]
        phase = int(np.argmax(by_phase))
        scores[m] = (by_phase[phase], phase)
    default = beats_per_bar_options[0]
    m = max(scores, key=lambda k: scores[k][0])
    if m != default and scores[m][0] < max(CLEAR_ACCENT, 1.15 * scores[default][0]):
        m = default
    contrast, phase = scores[m]
    if contrast < CLEAR_ACCENT:  # no clear accent: the first note starts bar 1
        phase = 0
    return m, phase, contrast


def notate(events: np.ndarray, audio: np.ndarray, limits: ReadLimits, metadata: Metadata
           ) -> tuple[Score, dict[str, Any]]:
    """A Score from note events (onset s, offset s, pitch, amplitude), and what was estimated."""
    onsets, offsets = events[:, 0], np.maximum(events[:, 1], events[:, 0] + 0.03)
    pitches, amps = events[:, 2].astype(int), np.clip(events[:, 3], 0.0, 1.0)
    weights = np.maximum(amps, 1e-3)
    grid = choose_grid(onsets, weights, _first_tempo(audio, onsets)) if len(np.unique(onsets)) > 1 else \
        Grid(0.5, float(onsets[0]))
    x = np.maximum((onsets - grid.origin_s) / grid.period_s, 0.0)
    y = np.maximum((offsets - grid.origin_s) / grid.period_s, 0.0)
    triplets, divided = _triplet_beats(x)
    compound = divided >= 4 and len(triplets) > 0.6 * divided
    if compound:
        triplets = set(np.unique(np.floor(x + 1 / 24)).astype(int).tolist()) | set(
            np.unique(np.floor(y + 1 / 24)).astype(int).tolist())
    start = _quantise(x, triplets)
    end = _quantise(y - END_BIAS_BEATS, triplets)
    step = np.where([int(b) in triplets for b in np.floor(start + 1e-9)], 1 / 3, 1 / 4) if triplets else 1 / 4
    end = np.maximum(end, start + step)
    # accents: louder, longer and lower notes (a bass under a downbeat), and chords
    accent = amps * np.sqrt(np.minimum(end - start, 4.0)) * (1.0 + (pitches < SPLIT_PITCH))
    beats_per_bar, phase, contrast = choose_meter(start, accent, (2, 3) if compound else (4, 3))
    beat_ticks = TICKS_PER_QUARTER * 3 // 2 if compound else TICKS_PER_QUARTER  # a dotted quarter or a quarter
    on = np.round(start * beat_ticks).astype(np.int64)
    off = np.round(end * beat_ticks).astype(np.int64)
    meter = TimeSignature(0, 3 * beats_per_bar, 8) if compound else TimeSignature(0, beats_per_bar, 4)
    pickup = phase * beat_ticks if phase else 0
    bpm = 60.0 / grid.period_s * (1.5 if compound else 1.0)
    # parts: one piano, or two hands when the music spans both sides of middle C
    high = pitches >= SPLIT_PITCH
    two_hands = 0.1 * len(pitches) <= int(high.sum()) <= 0.9 * len(pitches) and np.ptp(pitches) >= 19
    if two_hands:
        parts = [Part("Piano (right hand)", 0), Part("Piano (left hand)", 0)]
        part = np.where(high, 0, 1)
    else:
        parts, part = [Part("Piano", 0)], np.zeros(len(pitches), dtype=int)
    velocity = np.clip(np.round(amps * 127), 1, 127).astype(int)
    notes = _tidy(on, off, pitches, velocity, part)
    if len(notes) > limits.max_notes:
        raise over_limit("notes heard", len(notes), "max_notes", limits)
    score = Score.build(parts=parts, notes=notes, time_signatures=[meter],
                        tempos=[Tempo(0, round(min(max(bpm, 20.0), 400.0), 2))], metadata=metadata,
                        pickup_ticks=pickup)
    estimate = {"tempo_bpm": round(bpm, 1), "meter": str(meter), "pickup_beats": phase,
                "meter_contrast": round(contrast, 2), "triplet_beats": len(triplets), "parts": len(parts)}
    return score, estimate


def _tidy(on: np.ndarray, off: np.ndarray, pitch: np.ndarray, velocity: np.ndarray, part: np.ndarray
          ) -> list[tuple[int, int, int, int, int]]:
    """Notes with one onset per pitch and part (the loudest and longest kept), each cut where the next
    note of the same pitch starts."""
    merged: dict[tuple[int, int, int], list[int]] = {}
    for o, e, p, v, k in zip(on.tolist(), off.tolist(), pitch.tolist(), velocity.tolist(), part.tolist(),
                             strict=True):
        if not 0 <= p <= 127:
            continue
        key = (k, p, o)
        if key in merged:
            merged[key] = [max(merged[key][0], e), max(merged[key][1], v)]
        else:
            merged[key] = [e, v]
    out = []
    by_line: dict[tuple[int, int], list[int]] = {}
    for k, p, o in sorted(merged):
        by_line.setdefault((k, p), []).append(o)
    for (k, p), starts in by_line.items():
        for i, o in enumerate(starts):
            e, v = merged[(k, p, o)]
            if i + 1 < len(starts):
                e = min(e, starts[i + 1])
            if e > o:
                out.append((o, e - o, p, v, k))
    return out


# ------------------------------------------------------------------ the reader
def read_audio(path: Path, limits: ReadLimits, source: str = "") -> tuple[Score, list[str]]:
    """Transcribe an audio file into a Score; the warnings say that tempo, meter and notes are estimates."""
    size = file_size(path, "an audio file")
    if size == 0:
        raise InputError(f"{path.name} is empty (0 bytes)")
    if size > limits.max_audio_mb * 2**20:
        raise over_limit("audio file size in MB", size / 2**20, "max_audio_mb", limits)
    _require(path)
    started = time.perf_counter()
    try:
        audio, info = decode(path, limits)
        events = clean_events(transcribe(audio))
    except (ImportError, OSError) as exc:  # a package present but broken (or its shared library missing)
        raise InputError(f"reading audio ({path.name}) failed to load a package ({_first_line(exc)}); "
                         f"reinstall: {AUDIO_INSTALL}") from None
    if not len(events):
        raise InputError(f"no notes heard in {path.name} ({info['duration_s']:.1f} s of audio)")
    title = path.stem.replace("_", " ")
    score, estimate = notate(events, audio, limits, Metadata(title=title, source=source or str(path)))
    seconds = time.perf_counter() - started
    warn = [f"transcribed from audio by basic-pitch in {seconds:.1f} s: {score.note_count} notes; tempo "
            f"{estimate['tempo_bpm']:g} bpm and meter {estimate['meter']} are estimates"]
    if info.get("truncated"):
        warn.append("the audio stream is damaged; read up to the damage")
    log.debug("%s: audio %s, estimate %s", path, info, estimate)
    return score, warn
