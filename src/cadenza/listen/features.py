"""Low-level views of a Score that several analysers share: the meter's beat, a sounding grid, per-beat
chroma, pitch-class histograms and the top voice. Pure NumPy; computed once per analysis in ``View``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from cadenza.score.model import TICKS_PER_QUARTER, Score, TimeSignature

#: the sounding grid's step: a sixteenth note
GRID_TICKS = TICKS_PER_QUARTER // 4


def beat_ticks_of(sig: TimeSignature) -> int:
    """The felt beat: a dotted quarter in 6/8, 9/8, 12/8 (compound meters), else the denominator's unit."""
    unit = TICKS_PER_QUARTER * 4 // sig.denominator
    if sig.denominator >= 8 and sig.numerator in (6, 9, 12, 15, 18, 24):
        return unit * 3
    return unit


@dataclass(frozen=True)
class View:
    """A Score with the arrays that analysers share, computed lazily and once."""

    score: Score

    @cached_property
    def pitched(self) -> np.ndarray:
        """Notes of non-drum parts."""
        drums = np.array([p.is_drum for p in self.score.parts] + [False], dtype=bool)
        notes = self.score.notes
        return notes[~drums[notes["part"]]] if len(notes) else notes

    @cached_property
    def main_signature(self) -> TimeSignature:
        """The time signature in force longest."""
        sigs = self.score.time_signatures
        bounds = [s.onset_ticks for s in sigs[1:]] + [max(self.score.length_ticks, sigs[-1].onset_ticks + 1)]
        spans = [end - s.onset_ticks for s, end in zip(sigs, bounds, strict=True)]
        return sigs[int(np.argmax(spans))]

    @cached_property
    def beat_ticks(self) -> int:
        return beat_ticks_of(self.main_signature)

    @cached_property
    def length_beats(self) -> float:
        return max(self.score.length_ticks / self.beat_ticks, 1e-9)

    @cached_property
    def pc_histogram(self) -> np.ndarray:
        """Duration-weighted pitch-class histogram (12), normalised to sum 1 (zeros when silent)."""
        n = self.pitched
        hist = np.bincount(n["pitch"] % 12, weights=n["duration_ticks"].astype(float), minlength=12)
        total = hist.sum()
        return hist / total if total else hist

    @cached_property
    def sounding(self) -> np.ndarray:
        """(steps, 128) counts of pitched notes sounding in each sixteenth-note step."""
        steps = max(int(np.ceil(self.score.length_ticks / GRID_TICKS)), 1)
        grid = np.zeros((steps + 1, 128), dtype=np.int16)
        n = self.pitched
        if len(n):
            start = n["onset_ticks"] // GRID_TICKS
            end = np.maximum((n["onset_ticks"] + n["duration_ticks"] + GRID_TICKS - 1) // GRID_TICKS, start + 1)
            np.add.at(grid, (start, n["pitch"]), 1)
            np.add.at(grid, (np.minimum(end, steps), n["pitch"]), -1)
            grid = np.cumsum(grid, axis=0)
        return grid[:steps]

    @cached_property
    def beat_chroma(self) -> np.ndarray:
        """(beats, 12) duration-weighted pitch classes sounding in each beat (the bass doubled in weight)."""
        steps_per_beat = max(self.beat_ticks // GRID_TICKS, 1)
        grid = self.sounding > 0
        beats = int(np.ceil(len(grid) / steps_per_beat))
        padded = np.zeros((beats * steps_per_beat, 128), dtype=bool)
        padded[: len(grid)] = grid
        per_beat = padded.reshape(beats, steps_per_beat, 128).sum(axis=1).astype(float)
        chroma = np.zeros((beats, 12))
        for pc in range(12):
            chroma[:, pc] = per_beat[:, pc::12].sum(axis=1)
        lowest = np.where(per_beat.any(axis=1), _lowest(per_beat), -1)
        rows = np.nonzero(lowest >= 0)[0]
        chroma[rows, lowest[rows] % 12] += per_beat[rows, lowest[rows]]
        return chroma

    @cached_property
    def top_voice(self) -> np.ndarray:
        """The melody: the pitched part with the highest mean pitch, or for a single part its skyline.
        Returns notes (NOTE_DTYPE) in onset order, one per onset."""
        n = self.pitched
        if not len(n):
            return n
        parts = np.unique(n["part"])
        if len(parts) > 1:
            means = [n["pitch"][n["part"] == p].mean() for p in parts]
            n = n[n["part"] == parts[int(np.argmax(means))]]
        order = np.lexsort((-n["pitch"].astype(int), n["onset_ticks"]))
        n = n[order]
        first = np.ones(len(n), dtype=bool)
        first[1:] = n["onset_ticks"][1:] != n["onset_ticks"][:-1]
        return n[first]


def _lowest(per_beat: np.ndarray) -> np.ndarray:
    """Index of the lowest sounding pitch in each row (0 where none sounds)."""
    return np.argmax(per_beat > 0, axis=1)
