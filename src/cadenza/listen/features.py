"""Low-level views of a Score that several analysers share: the meter's beat, a sounding grid, per-beat
chroma, pitch-class histograms and the top voice. Pure NumPy; computed once per analysis in ``View``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from cadenza.score.model import TICKS_PER_QUARTER, Score, TimeSignature

#: the sounding grid's step: a sixteenth note (coarser for extremely long pieces, see View.grid_ticks)
GRID_TICKS = TICKS_PER_QUARTER // 4
MAX_GRID_STEPS = 250_000  # bounds the grid at 128 x 250k int16 = 64 MB


def beat_ticks_of(sig: TimeSignature) -> int:
    """The felt beat: a dotted quarter in 6/8, 9/8, 12/8 (compound meters), else the denominator's unit
    (:attr:`TimeSignature.beat_ticks`)."""
    return sig.beat_ticks


def beat_quarters_of_meter(meter: str) -> float:
    """The felt beat of a meter label ('6/8') in quarter notes; a quarter for 'other'."""
    try:
        numerator, denominator = (int(v) for v in str(meter).split("/"))
        return beat_ticks_of(TimeSignature(0, numerator, denominator)) / TICKS_PER_QUARTER
    except ValueError:
        return 1.0


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
    def phase_ticks(self) -> int:
        """Ticks to add so that beats fall on multiples of ``beat_ticks``: a pickup shorter than a beat (an
        eighth-note upbeat) would otherwise put every downbeat off the grid."""
        return (-self.score.pickup_ticks) % self.beat_ticks

    @cached_property
    def grid_ticks(self) -> int:
        """The sounding grid's step: a sixteenth, doubled until the piece fits in MAX_GRID_STEPS steps."""
        span = self.end_ticks + self.phase_ticks
        step = GRID_TICKS
        while span / step > MAX_GRID_STEPS:
            step *= 2
        return step

    @cached_property
    def end_ticks(self) -> int:
        """Where the last pitched note ends (trailing silence needs no grid)."""
        n = self.pitched
        return int((n["onset_ticks"] + n["duration_ticks"]).max()) if len(n) else 0

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
        step, phase = self.grid_ticks, self.phase_ticks
        steps = max(int(np.ceil((self.end_ticks + phase) / step)), 1)
        grid = np.zeros((steps + 1, 128), dtype=np.int16)
        n = self.pitched
        if len(n):
            onsets = n["onset_ticks"] + phase
            start = onsets // step
            end = np.maximum((onsets + n["duration_ticks"] + step - 1) // step, start + 1)
            np.add.at(grid, (start, n["pitch"]), 1)
            np.add.at(grid, (np.minimum(end, steps), n["pitch"]), -1)
            grid = np.cumsum(grid, axis=0, dtype=np.int16)
        return grid[:steps]

    @cached_property
    def beat_chroma(self) -> np.ndarray:
        """(beats, 12) duration-weighted pitch classes sounding in each beat (the bass doubled in weight)."""
        steps_per_beat = max(self.beat_ticks // self.grid_ticks, 1)
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
        return skyline(n)


def skyline(notes: np.ndarray) -> np.ndarray:
    """The highest of ``notes`` (NOTE_DTYPE) at each onset, in onset order."""
    notes = notes[np.lexsort((-notes["pitch"].astype(int), notes["onset_ticks"]))]
    first = np.ones(len(notes), dtype=bool)
    first[1:] = notes["onset_ticks"][1:] != notes["onset_ticks"][:-1]
    return notes[first]


def _lowest(per_beat: np.ndarray) -> np.ndarray:
    """Index of the lowest sounding pitch in each row (0 where none sounds)."""
    return np.argmax(per_beat > 0, axis=1)
