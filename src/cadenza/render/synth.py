"""A small additive synthesizer in NumPy: the fallback that makes audio work with no optional package.

Each General MIDI family (eight programs) has a timbre: the relative strengths of a few harmonics, an
ADSR envelope, and for plucked and struck instruments an exponential decay that is faster for higher
notes. A note reads one period of its waveform from a table (harmonics above the Nyquist frequency are
left out, so high notes do not alias), shaped by its envelope. Drum parts sound as short noise bursts
and pitch sweeps chosen by the General MIDI drum key. Parts are spread across the stereo field.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cadenza.render.common import note_times
from cadenza.score.model import Score

TABLE_SIZE = 4096
_NOTE_GAIN = 0.25  # one note at full velocity; the mix is normalised afterwards


@dataclass(frozen=True)
class Timbre:
    harmonics: tuple[float, ...]  # amplitude of harmonics 1, 2, 3, …
    attack_s: float
    decay_s: float
    sustain: float  # level held after attack and decay, 0..1
    release_s: float
    decay_tau_s: float | None = None  # exponential fade of struck/plucked sounds (at A4; shorter above)


_SINE_LIKE = (1.0, 0.08, 0.03)
_SAW = tuple(1.0 / n for n in range(1, 9))
_ODD = tuple((1.0 / n if n % 2 else 0.04) for n in range(1, 10))

#: one timbre per GM family: program // 8
FAMILY_TIMBRES: tuple[Timbre, ...] = (
    Timbre((1.0, 0.5, 0.3, 0.15, 0.08, 0.04), 0.005, 0.1, 0.7, 0.25, decay_tau_s=1.2),  # piano
    Timbre((1.0, 0.0, 0.4, 0.0, 0.2, 0.0, 0.1), 0.002, 0.05, 0.6, 0.4, decay_tau_s=0.8),  # chromatic percussion
    Timbre((1.0, 0.7, 0.5, 0.35, 0.25, 0.2, 0.12), 0.01, 0.02, 1.0, 0.08),  # organ
    Timbre((1.0, 0.6, 0.35, 0.2, 0.12, 0.06), 0.003, 0.1, 0.6, 0.2, decay_tau_s=0.7),  # guitar
    Timbre((1.0, 0.45, 0.2, 0.08), 0.005, 0.1, 0.7, 0.15, decay_tau_s=1.0),  # bass
    Timbre(_SAW[:7], 0.08, 0.1, 0.85, 0.25),  # strings
    Timbre(_SAW[:6], 0.12, 0.1, 0.85, 0.35),  # ensemble and choir
    Timbre((1.0, 0.8, 0.65, 0.5, 0.35, 0.25, 0.15, 0.1), 0.04, 0.08, 0.85, 0.12),  # brass
    Timbre(_ODD, 0.03, 0.05, 0.9, 0.1),  # reed
    Timbre(_SINE_LIKE, 0.04, 0.05, 0.9, 0.12),  # pipe
    Timbre(_SAW, 0.01, 0.05, 0.9, 0.1),  # synth lead
    Timbre(_SAW[:5], 0.3, 0.2, 0.8, 0.6),  # synth pad
    Timbre((1.0, 0.3, 0.2, 0.1), 0.1, 0.2, 0.7, 0.5),  # synth effects
    Timbre((1.0, 0.4, 0.25, 0.1, 0.05), 0.004, 0.1, 0.6, 0.2, decay_tau_s=0.8),  # ethnic
    Timbre((1.0, 0.2, 0.3, 0.1), 0.002, 0.05, 0.3, 0.1, decay_tau_s=0.3),  # percussive
    Timbre((1.0, 0.5, 0.5, 0.5), 0.05, 0.1, 0.7, 0.3),  # sound effects
)


def timbre_for(program: int) -> Timbre:
    return FAMILY_TIMBRES[program // 8]


@functools.lru_cache(maxsize=256)
def _wavetable(harmonics: tuple[float, ...], count: int) -> np.ndarray:
    """One period of the first ``count`` harmonics, peak 1."""
    phase = np.arange(TABLE_SIZE) * (2 * np.pi / TABLE_SIZE)
    table = np.zeros(TABLE_SIZE)
    for n, amp in enumerate(harmonics[:max(count, 1)], start=1):
        if amp:
            table += amp * np.sin(n * phase)
    peak = np.abs(table).max()
    return (table / peak if peak else table).astype(np.float32)


def _envelope(timbre: Timbre, held: int, total: int, sample_rate: int, freq_hz: float) -> np.ndarray:
    t = np.arange(total, dtype=np.float32) / sample_rate
    held_s = held / sample_rate
    corners = [0.0, timbre.attack_s, timbre.attack_s + timbre.decay_s]
    levels = [0.0, 1.0, timbre.sustain]
    env = np.interp(t, corners, levels).astype(np.float32)
    release_level = float(np.interp(held_s, corners, levels))
    tail = t[held:] - held_s
    env[held:] = release_level * np.clip(1.0 - tail / timbre.release_s, 0.0, 1.0)
    if timbre.decay_tau_s is not None:
        tau = timbre.decay_tau_s * (440.0 / freq_hz) ** 0.4
        env *= np.exp(-t / tau)
    return env


@functools.lru_cache(maxsize=4)
def _noise(sample_rate: int) -> np.ndarray:
    rng = np.random.default_rng(20240601)  # fixed: renders are reproducible
    white = rng.uniform(-1.0, 1.0, int(1.5 * sample_rate)).astype(np.float32)
    bright = np.diff(white, prepend=np.float32(0.0)) * 0.5  # a first difference tilts it toward the highs
    return np.stack([white, bright])


def _drum(key: int, sample_rate: int) -> np.ndarray:
    """A General MIDI drum sound: kick and toms as falling sine sweeps, the rest as decaying noise."""
    toms = {41: 80.0, 43: 95.0, 45: 110.0, 47: 130.0, 48: 150.0, 50: 175.0}
    if key in (35, 36) or key in toms:
        length_s, start_hz, end_hz = (0.3, 130.0, 45.0) if key in (35, 36) else (0.4, toms[key] * 1.5, toms[key])
        t = np.arange(int(length_s * sample_rate), dtype=np.float32) / sample_rate
        freq = end_hz + (start_hz - end_hz) * np.exp(-t / 0.04)
        phase = 2 * np.pi * np.cumsum(freq) / sample_rate
        return (np.sin(phase) * np.exp(-t / (length_s / 4))).astype(np.float32)
    white, bright = _noise(sample_rate)
    if key in (38, 40, 37, 39):  # snares, side stick, clap
        length_s, decay_s, src, body_hz = 0.25, 0.06, white, 185.0
    elif key in (42, 44):  # closed and pedal hi-hat
        length_s, decay_s, src, body_hz = 0.08, 0.02, bright, 0.0
    elif key in (46, 49, 51, 52, 53, 55, 57, 59):  # open hi-hat, cymbals
        length_s, decay_s, src, body_hz = 1.2, 0.35 if key != 46 else 0.12, bright, 0.0
    else:
        length_s, decay_s, src, body_hz = 0.15, 0.04, white, 0.0
    n = int(length_s * sample_rate)
    t = np.arange(n, dtype=np.float32) / sample_rate
    sound = src[:n] * np.exp(-t / decay_s)
    if body_hz:
        sound = 0.7 * sound + 0.5 * np.sin(2 * np.pi * body_hz * t) * np.exp(-t / 0.05)
    return sound.astype(np.float32)


def _pans(part_count: int, part_indices: Sequence[int]) -> dict[int, tuple[float, float]]:
    """Constant-power (left, right) gains spreading all the score's parts from left to right (by index in
    the score, so a part sits in the same place in a stem as in the mix)."""
    out = {}
    for index in part_indices:
        position = 0.5 if part_count == 1 else 0.2 + 0.6 * index / (part_count - 1)  # 0 left .. 1 right
        angle = position * np.pi / 2
        out[index] = (float(np.cos(angle)), float(np.sin(angle)))
    return out


def synthesize_builtin(score: Score, part_indices: Sequence[int], sample_rate: int, frames: int,
                       pan: bool = True) -> np.ndarray:
    """Stereo float32 audio, shape (frames, 2), of the given parts through the built-in synthesizer."""
    out = np.zeros((frames, 2), dtype=np.float32)
    timed = note_times(score, part_indices)
    gains = _pans(len(score.parts), part_indices) if pan else {i: (0.7071, 0.7071) for i in part_indices}
    nyquist_hz = sample_rate / 2
    for onset_s, end_s, pitch, velocity, part in zip(timed.onset_s.tolist(), timed.end_s.tolist(),
                                                     timed.pitch.tolist(), timed.velocity.tolist(),
                                                     timed.part.tolist(), strict=True):
        start = int(round(onset_s * sample_rate))
        if start >= frames:
            continue
        amp = _NOTE_GAIN * (velocity / 127.0) ** 1.5
        spec = score.parts[part]
        if spec.is_drum:
            sound = _drum(pitch, sample_rate)
        else:
            timbre = timbre_for(spec.program)
            freq_hz = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
            held = max(int(round((end_s - onset_s) * sample_rate)), 1)
            total = held + int(timbre.release_s * sample_rate)
            count = max(1, min(len(timbre.harmonics), int(nyquist_hz // freq_hz)))
            table = _wavetable(timbre.harmonics, count)
            step = freq_hz * TABLE_SIZE / sample_rate
            index = (np.arange(total, dtype=np.float64) * step).astype(np.int64) & (TABLE_SIZE - 1)
            sound = table[index] * _envelope(timbre, held, total, sample_rate, freq_hz)
        stop = min(frames, start + len(sound))
        piece = sound[:stop - start] * amp
        left, right = gains[part]
        out[start:stop, 0] += piece * left
        out[start:stop, 1] += piece * right
    return out
