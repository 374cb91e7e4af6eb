"""Key: tonic and mode from the duration-weighted pitch-class profile, correlated with key profiles; the
key signature (when the file has one) and the final bass note add evidence. Also key clarity and a count
of modulations from a sliding window of bars."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.listen.features import View
from cadenza.listen.labels import TONICS

# Krumhansl & Kessler probe-tone profiles (1982), tonic first
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

SIGNATURE_WEIGHT = 0.15  # added to the correlation of the two keys the signature names
FINAL_BASS_WEIGHT = 0.10  # added to keys whose tonic is the last bass note


@dataclass(frozen=True)
class KeyEstimate:
    tonic: int  # pitch class 0..11
    mode: str  # major | minor
    clarity: float  # correlation of the profile with the best key, -1..1
    confidence: float  # margin over the runner-up, 0..1
    scores: np.ndarray  # (24,) score of every key: majors on C..B, then minors

    @property
    def name(self) -> str:
        return f"{TONICS[self.tonic]} {self.mode}"


def _profiles() -> np.ndarray:
    rows = [np.roll(MAJOR_PROFILE, t) for t in range(12)] + [np.roll(MINOR_PROFILE, t) for t in range(12)]
    return np.array(rows)


_PROFILES = _profiles()


def key_correlations(histogram: np.ndarray) -> np.ndarray:
    """Pearson correlation of a 12-bin histogram with each of the 24 key profiles (majors, then minors)."""
    if not histogram.any():
        return np.zeros(24)
    h = histogram - histogram.mean()
    p = _PROFILES - _PROFILES.mean(axis=1, keepdims=True)
    denom = np.sqrt((h**2).sum() * (p**2).sum(axis=1))
    return (p @ h) / np.where(denom == 0, 1, denom)


def estimate_key(view: View) -> KeyEstimate:
    corr = key_correlations(view.pc_histogram)
    scores = corr.copy()
    score = view.score
    if score.key_signatures:
        sharps = score.key_signatures[0].sharps
        major_tonic = (7 * sharps) % 12
        scores[major_tonic] += SIGNATURE_WEIGHT
        scores[12 + (major_tonic + 9) % 12] += SIGNATURE_WEIGHT
        mode = score.key_signatures[0].mode
        if mode == "major":
            scores[major_tonic] += SIGNATURE_WEIGHT / 2
        elif mode == "minor":
            scores[12 + (major_tonic + 9) % 12] += SIGNATURE_WEIGHT / 2
    notes = view.pitched
    if len(notes):
        last_onset = notes["onset_ticks"].max()
        final = notes[notes["onset_ticks"] + notes["duration_ticks"] >= last_onset]
        bass_pc = int(final["pitch"].min()) % 12
        scores[bass_pc] += FINAL_BASS_WEIGHT
        scores[12 + bass_pc] += FINAL_BASS_WEIGHT
    order = np.argsort(scores)[::-1]
    best = int(order[0])
    margin = float(scores[order[0]] - scores[order[1]])
    return KeyEstimate(
        tonic=best % 12,
        mode="major" if best < 12 else "minor",
        clarity=float(corr[best]),
        confidence=float(min(max(margin / 0.2, 0.0), 1.0)),
        scores=scores,
    )


def count_modulations(view: View, window_bars: int = 4, min_run_windows: int = 2) -> int:
    """Key changes in a sliding window of ``window_bars`` bars (hop 1 bar); a new key counts when it holds
    for ``min_run_windows`` windows in a row."""
    starts = view.score.bar_starts()
    if len(starts) < window_bars + 1:
        return 0
    n = view.pitched
    keys = []
    for i in range(len(starts) - window_bars + 1):
        lo = starts[i]
        hi = starts[i + window_bars] if i + window_bars < len(starts) else view.score.length_ticks
        sel = n[(n["onset_ticks"] >= lo) & (n["onset_ticks"] < hi)]
        if not len(sel):
            keys.append(-1)
            continue
        hist = np.bincount(sel["pitch"] % 12, weights=sel["duration_ticks"].astype(float), minlength=12)
        keys.append(int(np.argmax(key_correlations(hist))))
    changes = 0
    current = None
    run_key, run = None, 0
    for k in keys:
        if k < 0:
            continue
        if k == run_key:
            run += 1
        else:
            run_key, run = k, 1
        if run >= min_run_windows and k != current:
            if current is not None:
                changes += 1
            current = k
    return changes
