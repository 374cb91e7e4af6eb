"""Repetition and structure: repeated bars, self-similarity of 4-bar windows, typical phrase length."""

from __future__ import annotations

import numpy as np

from cadenza.listen.features import GRID_TICKS, View

MAX_WINDOWS = 1500


def _bar_slices(view: View) -> list[np.ndarray]:
    """The pitched notes of each bar (notes are sorted by onset, so one split does it)."""
    starts = view.score.bar_starts()
    notes = view.pitched
    return np.split(notes, np.searchsorted(notes["onset_ticks"], starts[1:], side="left"))


def repeated_bars(view: View) -> float:
    """Share of non-empty bars whose rhythm and intervals (relative to the bar's lowest note, so a
    transposed repeat counts) already appeared in an earlier bar."""
    starts = view.score.bar_starts()
    seen: set[tuple[tuple[int, int, int], ...]] = set()
    repeats = total = 0
    for b, bar in enumerate(_bar_slices(view)):
        if not len(bar):
            continue
        total += 1
        low = int(bar["pitch"].min())
        key = tuple(sorted(zip((bar["onset_ticks"] - starts[b]).tolist(), (bar["pitch"] - low).tolist(),
                               bar["duration_ticks"].tolist(), strict=True)))
        if key in seen:
            repeats += 1
        seen.add(key)
    return repeats / total if total else 0.0


def self_similarity(view: View, window_bars: int = 4) -> float:
    """Mean, over 4-bar windows, of the best cosine similarity with any non-overlapping window (features:
    per-bar chroma and onset pattern). 1 means every window recurs somewhere."""
    bars = _bar_slices(view)
    starts = view.score.bar_starts()
    if len(bars) < 2 * window_bars:
        return 0.0
    slots = 16
    feats = []
    for b, bar in enumerate(bars):
        chroma = np.bincount(bar["pitch"] % 12, weights=bar["duration_ticks"].astype(float), minlength=12)
        pos = ((bar["onset_ticks"] - starts[b]) // GRID_TICKS) % slots
        rhythm = np.bincount(pos, minlength=slots).astype(float)
        feats.append(np.concatenate([chroma / (chroma.sum() or 1), rhythm / (rhythm.sum() or 1)]))
    feats_arr = np.array(feats)
    stride = max(1, (len(bars) - window_bars + 1) // MAX_WINDOWS)  # bounds the windows x windows matrix
    windows = np.array([feats_arr[i:i + window_bars].ravel()
                        for i in range(0, len(bars) - window_bars + 1, stride)])
    norms = np.linalg.norm(windows, axis=1)
    norms[norms == 0] = 1
    unit = windows / norms[:, None]
    sims = unit @ unit.T
    n = len(windows)
    best = []
    for i in range(n):
        far = np.abs(np.arange(n) - i) * stride >= window_bars
        if far.any():
            best.append(sims[i, far].max())
    return float(np.mean(best)) if best else 0.0


def phrase_length(view: View, cadence_bars: list[int]) -> float:
    """Median bars between phrase ends: cadences when there are three or more, else long notes or rests in
    the top voice (a note held 1.5x the median duration, or followed by a gap of a beat or more)."""
    ends = sorted(set(cadence_bars))
    if len(ends) < 3:
        top = view.top_voice
        if len(top) < 4:
            return float(max(view.score.bar_count, 1))
        dur = top["duration_ticks"].astype(float)
        gaps = np.append(top["onset_ticks"][1:] - (top["onset_ticks"][:-1] + top["duration_ticks"][:-1]), 0)
        long_note = (dur >= 1.5 * np.median(dur)) | (gaps >= view.beat_ticks)
        starts = view.score.bar_starts()
        end_ticks = top["onset_ticks"][long_note] + top["duration_ticks"][long_note]
        ends = sorted(set((np.searchsorted(starts, end_ticks - 1, side="right")).tolist()))
    if len(ends) < 2:
        return float(max(view.score.bar_count, 1))
    spans = np.diff([0, *ends])
    spans = spans[spans >= 2]  # a long note every bar is a rhythm, not a phrase
    return float(np.median(spans)) if len(spans) else 4.0
