"""Musical quality metrics of a score, as the music-generation literature computes them (MusPy's
definitions), for comparing generated pieces with real ones of the same style:

- ``pitch_class_entropy``: entropy in bits of the pitch-class histogram (0 for one pitch class, log2 12 =
  3.58 for all twelve equally);
- ``scale_consistency``: the largest share of notes inside one major scale (its relative minor has the same
  notes), over the twelve;
- ``groove_consistency``: 1 − the mean Hamming distance between the onset patterns of neighbouring bars (on
  a grid of a 12th of a quarter), divided by the grid's size: 1 when every bar has the same rhythm;
- ``empty_beat_rate``: the share of quarter-note beats where no note sounds;
- ``polyphony``: the mean number of pitches sounding on the grid's points where any sounds.

Drum parts are left out (they have no pitch classes or lines).
"""

from __future__ import annotations

import numpy as np

from cadenza.score.model import TICKS_PER_QUARTER, Score

GRID_TICKS = TICKS_PER_QUARTER // 12
MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
METRICS = ("pitch_class_entropy", "scale_consistency", "groove_consistency", "empty_beat_rate", "polyphony")


def _pitched(score: Score) -> np.ndarray:
    drums = [i for i, p in enumerate(score.parts) if p.is_drum]
    return score.notes[~np.isin(score.notes["part"], drums)] if drums else score.notes


def pitch_class_entropy(score: Score) -> float:
    notes = _pitched(score)
    if not len(notes):
        return 0.0
    p = np.bincount(notes["pitch"] % 12, minlength=12) / len(notes)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def scale_consistency(score: Score) -> float:
    notes = _pitched(score)
    if not len(notes):
        return 0.0
    counts = np.bincount(notes["pitch"] % 12, minlength=12)
    return float(max(counts[(MAJOR + tonic) % 12].sum() for tonic in range(12)) / len(notes))


def groove_consistency(score: Score) -> float:
    notes = _pitched(score)
    starts = score.bar_starts()
    if len(starts) < 2 or not len(notes):
        return 1.0
    ends = np.append(starts[1:], score.length_ticks)
    size = int(max((ends - starts).max() // GRID_TICKS, 1))
    patterns = np.zeros((len(starts), size), dtype=bool)
    bar = np.searchsorted(starts, notes["onset_ticks"], side="right") - 1
    slot = np.minimum((notes["onset_ticks"] - starts[np.maximum(bar, 0)]) // GRID_TICKS, size - 1)
    keep = bar >= 0
    patterns[bar[keep], slot[keep]] = True
    distances = (patterns[1:] != patterns[:-1]).sum(axis=1) / size
    return float(1 - distances.mean())


def _sounding(score: Score) -> np.ndarray:
    """Pitches sounding at each grid point: a (points, 128) boolean roll."""
    notes = _pitched(score)
    points = int(max(score.length_ticks, 1) // GRID_TICKS) + 1
    roll = np.zeros((points, 128), dtype=bool)
    for onset, duration, pitch in zip(notes["onset_ticks"] // GRID_TICKS,
                                      np.maximum(notes["duration_ticks"] // GRID_TICKS, 1), notes["pitch"],
                                      strict=True):
        roll[onset:onset + duration, pitch] = True
    return roll


def empty_beat_rate(score: Score) -> float:
    roll = _sounding(score)
    beats = max(len(roll) // 12, 1)
    if len(roll) < 12:
        return 0.0 if roll.any() else 1.0
    sounding = np.asarray(roll[: beats * 12].reshape(beats, 12, 128).any(axis=(1, 2)))
    return float(1 - sounding.mean())


def polyphony(score: Score) -> float:
    counts = _sounding(score).sum(axis=1)
    counts = counts[counts > 0]
    return float(counts.mean()) if len(counts) else 0.0


def quality(score: Score) -> dict[str, float]:
    """Every metric of :data:`METRICS` for one score."""
    return {"pitch_class_entropy": round(pitch_class_entropy(score), 4),
            "scale_consistency": round(scale_consistency(score), 4),
            "groove_consistency": round(groove_consistency(score), 4),
            "empty_beat_rate": round(empty_beat_rate(score), 4), "polyphony": round(polyphony(score), 4)}
