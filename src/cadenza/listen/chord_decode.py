"""The evidence behind :func:`cadenza.listen.harmony.beat_chords` and the decoding of a chord per beat.

Each beat's notes are weighed by how long they sound inside the beat and by how they enter it (attacked on the
beat, later in it, or held over from an earlier beat). The beat's bass is its lowest note that sounds for a
good part of it. Every (root, quality) is scored by a weighted template (chord tones add, other notes cost),
the bass (a chord with its root, third or fifth in the bass is likelier) and a prior by quality (rarer chords
need more evidence); a major triad may also be heard over its root under a six-four or a suspended fourth (a
cadential six-four belongs to the dominant, as annotators write V(64)). A Viterbi pass over the beats then
chooses the chord sequence with a cost for every change, so a beat of passing notes keeps the chord around it
and a chord is held through beats that sound too little to name one.

The weights were tuned on DCML movements outside the harmony benchmark's selection (see
:mod:`cadenza.lab.harmony`).
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

ROOT_WEIGHT = 1.2  # template weight of the root's share of the beat
THIRD_WEIGHT = 1.0  # ... of the third
FIFTH_WEIGHT = 1.0  # ... of the fifth
SEVENTH_WEIGHT = 0.7  # ... of the seventh of a seventh chord
OTHER_WEIGHT = -0.7  # ... of notes outside the chord
BASS_ROOT = 0.2  # score added when the bass is the chord's root (tuned: as much as for a third or fifth)
BASS_THIRD = 0.2  # ... when it is the third (first inversion)
BASS_FIFTH = 0.2  # ... when it is the fifth (second inversion)
BASS_SEVENTH = 0.05  # ... when it is the seventh (third inversion)
BASS_OTHER = 0.0  # ... when it is no note of the chord (a pedal)
QUALITY_PRIOR = {"maj": 0.0, "min": 0.0, "dim": 0.0, "aug": -0.45, "7": -0.05, "maj7": -0.3, "min7": -0.15,
                 "hdim7": -0.15, "dim7": -0.1}  # score added by quality: rarer chords need more evidence
# the bass's chord held under other notes: a six-four (C E G over G heard as V, as in a cadence) or a
# suspended fourth (G C D), heard as the major chord on the bass; the quality's score is its best variant's
SUSPENSIONS = ((0, 5, 9), (0, 5, 8), (0, 5, 7))
SUSPENSION_PRIOR = -0.15  # score added to a suspension variant (besides the template and the bass on the root)
CHANGE_COST = 0.25  # score a change of chord between beats costs the sequence
EVIDENCE_PCS = 3  # a beat sounding fewer pitch classes scores by (their count / this) squared: a lone note says little
SILENT_SCORE = 0.0  # every chord's score on a silent beat (the chord before is held)


@cache
def chord_names() -> list[tuple[int, str]]:
    """The states of the decoding in order: every root for the first quality, then the next quality."""
    return [(root, quality) for quality in QUALITIES for root in range(12)]


@cache
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(templates (chords, 12), bass scores (12 bass pitch classes, chords), prior (chords,), suspension
    templates (variants x 12 roots, 12)), built from the weights above."""
    names = chord_names()
    templates = np.full((len(names), 12), OTHER_WEIGHT)
    bass = np.full((12, len(names)), BASS_OTHER)
    for i, (root, quality) in enumerate(names):
        steps = QUALITIES[quality]
        for step, weight, bass_score in zip(steps, (ROOT_WEIGHT, THIRD_WEIGHT, FIFTH_WEIGHT, SEVENTH_WEIGHT),
                                            (BASS_ROOT, BASS_THIRD, BASS_FIFTH, BASS_SEVENTH), strict=False):
            templates[i, (root + step) % 12] = weight
            bass[(root + step) % 12, i] = bass_score
    prior = np.array([QUALITY_PRIOR[q] for _, q in names])
    suspended = np.full((12 * len(SUSPENSIONS), 12), OTHER_WEIGHT)
    for v, steps in enumerate(SUSPENSIONS):
        for root in range(12):
            for step, weight in zip(steps, (ROOT_WEIGHT, THIRD_WEIGHT, FIFTH_WEIGHT), strict=True):
                suspended[v * 12 + root, (root + step) % 12] = weight
    return templates, bass, prior, suspended


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


def chord_scores(chroma: np.ndarray, bass_pc: np.ndarray) -> np.ndarray:
    """(beats, chords) score of every chord on every beat from the weighted chroma and the bass (see
    :func:`beat_evidence`). Silent beats score SILENT_SCORE everywhere."""
    templates, bass, prior, suspended = _tables()
    total = chroma.sum(axis=1, keepdims=True)
    shares = chroma / np.where(total > 0, total, 1.0)
    scores = shares @ templates.T + prior
    scores += bass[np.maximum(bass_pc, 0)]
    # a suspension counts for the major chord on the bass only: the variant's best on the bass's root
    rows = np.arange(len(shares))
    over_bass = (shares @ suspended.T).reshape(len(shares), len(SUSPENSIONS), 12).max(axis=1)[rows, bass_pc]
    major = list(QUALITIES).index("maj") * 12 + np.maximum(bass_pc, 0)
    scores[rows, major] = np.maximum(scores[rows, major], over_bass + BASS_ROOT + SUSPENSION_PRIOR)
    scores *= (np.minimum((chroma > 0).sum(axis=1, keepdims=True), EVIDENCE_PCS) / EVIDENCE_PCS) ** 2
    scores[bass_pc < 0] = SILENT_SCORE
    return scores


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


def chord_path(view: View) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chord index per beat into :func:`chord_names`, bass pitch class per beat (-1 where silent), plain
    chroma (beats, 12)): the evidence scored and decoded."""
    chroma, bass, plain = beat_evidence(view)
    return decode(chord_scores(chroma, bass), CHANGE_COST), bass, plain
