"""The evidence of a chord per beat and the decoding of a sequence of states with a cost for every change.

Each beat's notes are weighed by how long they sound inside the beat and by how they enter it (attacked on the
beat, later in it, or held over from an earlier beat). The beat's bass is its lowest note that sounds for a
good part of it. The harmony networks (:mod:`cadenza.listen.harmony_net`) read this evidence, and the local keys
the key profiles hear from it (:mod:`cadenza.listen.key`); :func:`decode` is the Viterbi pass both use to choose a
chord (or a key) per beat, a change costing so much that a beat of passing notes keeps the chord around it.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from cadenza.listen.features import View

# quality -> intervals above the root (cadenza.listen.harmony.QUALITIES: the chords listen names)
QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
    "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10), "hdim7": (0, 3, 6, 10), "dim7": (0, 3, 6, 9),
}  # fmt: skip

ATTACK_WEIGHT = 1.1  # a note attacked on the beat, per beat it sounds inside this one
OFFBEAT_WEIGHT = 0.8  # a note attacked later inside the beat (passing and neighbour notes are such)
HELD_WEIGHT = 1.2  # a note held over from an earlier beat (a held chord is still the chord)
BASS_MIN_SHARE = 0.15  # a bass note must sound for this share of the beat (else the lowest of all notes)


@cache
def chord_names() -> list[tuple[int, str]]:
    """The states of the decoding in order: every root for the first quality, then the next quality."""
    return [(root, quality) for quality in QUALITIES for root in range(12)]


def beat_count(view: View) -> int:
    """How many beats the chord grid holds: as many as :attr:`View.beat_chroma` has rows."""
    steps = max(int(np.ceil((view.end_ticks + view.phase_ticks) / view.grid_ticks)), 1)
    return int(np.ceil(steps / max(view.beat_ticks // view.grid_ticks, 1)))


def beat_evidence(view: View) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weighted chroma (beats, 12), bass pitch class (beats,), -1 where silent, plain chroma (beats, 12): each
    pitch class's sounding time in beats) for the chord grid's beats."""
    beats = beat_count(view)
    notes = view.pitched
    bass_pc = np.full(beats, -1)
    if not len(notes):
        return np.zeros((beats, 12)), bass_pc, np.zeros((beats, 12))
    beat = view.beat_ticks
    start = notes["onset_ticks"] + view.phase_ticks
    end = np.maximum(start + notes["duration_ticks"], start + 1)
    first, last = start // beat, np.minimum((end - 1) // beat, beats - 1)
    keep = first < beats
    start, end, first, last, pitch = start[keep], end[keep], first[keep], last[keep], notes["pitch"][keep]
    span = last - first + 1
    note = np.repeat(np.arange(len(start)), span)  # one row per (note, beat it sounds in)
    b = first[note] + np.arange(len(note)) - np.repeat(np.cumsum(span) - span, span)
    lo = np.maximum(start[note], b * beat)
    share = (np.minimum(end[note], (b + 1) * beat) - lo) / beat
    weight = np.where(start[note] == b * beat, ATTACK_WEIGHT,
                      np.where(start[note] > b * beat, OFFBEAT_WEIGHT, HELD_WEIGHT)) * share
    cell = b * 12 + pitch[note] % 12
    chroma = np.bincount(cell, weights=weight, minlength=beats * 12).reshape(beats, 12)
    plain = np.bincount(cell, weights=share, minlength=beats * 12).reshape(beats, 12)
    # the bass: the lowest note sounding for BASS_MIN_SHARE of the beat, else the lowest note at all
    key = pitch[note].astype(np.int64) + np.where(share >= BASS_MIN_SHARE, 0, 128)
    order = np.lexsort((key, b))
    firsts = order[np.r_[True, b[order][1:] != b[order][:-1]]]
    bass_pc[b[firsts]] = pitch[note][firsts] % 12
    return chroma, bass_pc, plain


def decode(scores: np.ndarray, change_cost: float) -> np.ndarray:
    """The state sequence (beats,) maximising the summed scores less ``change_cost`` per change of state
    (Viterbi with one cost for every change, so each step needs only the best state before)."""
    beats, states = scores.shape
    if beats == 0:
        return np.zeros(0, dtype=np.int64)
    stay = np.zeros((beats, states), dtype=bool)  # stay[t, s]: the best way into s at t came from s
    came = np.zeros(beats, dtype=np.int64)  # the best state at t - 1, where a change into t comes from
    total = scores[0].copy()
    rows = list(scores)  # row views: indexing a list is cheaper than the array in the loop
    for t in range(1, beats):
        best = total.argmax()
        switch = total[best] - change_cost
        np.greater_equal(total, switch, out=stay[t])
        came[t] = best
        np.maximum(total, switch, out=total)
        total += rows[t]
    path = np.empty(beats, dtype=np.int64)
    path[-1] = int(total.argmax())
    for t in range(beats - 1, 0, -1):
        path[t - 1] = path[t] if stay[t, path[t]] else came[t]
    return path
