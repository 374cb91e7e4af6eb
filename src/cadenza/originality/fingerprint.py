"""Transposition- and tempo-invariant fingerprints of a Score: melodic symbols per voice, a harmony/texture
code per bar.

**Voices.** Every pitched part gives its *top line*: at each onset its highest note, leaving out a note
that starts under a higher top-line note still sounding (the melody held over an accompaniment). A part
that plays chords also gives its *bass line* (the mirror image: lowest notes) when more than a quarter of
the bass line's notes are not in the top line. Drum parts give nothing, and nor does pitched percussion that
plays no line (:data:`NO_LINE_PROGRAMS`: timpani, tuned drums): a symphony's timpani, read as a pitched part,
gave a "top line" of tonic-dominant strokes and rolls whose repeated notes matched unrelated training works
(91 notes in a Grieg quartet), and the shipped index was built with them read as drums. A monophonic part (a
chorale voice, a folk tune) is its own top line. The same rule serves the index, the check and the calibration,
so the thresholds compare like with like.

**Symbols.** Note *i* of a line (after the first) is the pair (interval in semitones from note *i−1*,
its duration relative to note *i−1*'s), the duration of a note being the time to the next onset in its
line (rests are folded into the note before them; the last note keeps its written duration), the ratio
quantised to twelfths of an octave (±3 %, so jitter in a performance does not break a match while 3:2,
4:3 and 5:4 stay apart). Transposing a piece or scaling all its durations leaves the symbols unchanged. A
run of *n* shared symbols is reported as *n* notes: *n* consecutive notes that each match in interval and
relative duration, the convention of the originality baselines in ``shared/datasets/README.md``. The first
note of a line has no symbol: it is written as :data:`START`, which matches nothing.

**Bars.** A bar's code packs the pitch classes sounding in it, relative to its lowest note (12 bits), with
its onset pattern on a 16-step grid of the bar (16 bits), over the parts that give lines: transposition-
invariant, and invariant to tempo when the meter scales with the durations (a piece re-timed ×2 in the same
meter moves its bar lines, so only the melodic symbols see through that).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.score.model import Part, Score

#: the symbol of a line's first note (interval and ratio bytes both -128, which real notes never use)
START = 0x0000
RATIO_STEPS = 12  # quantisation of log2(duration ratio): steps per octave
BASS_LINE_SHARE = 0.25  # a part gives a bass line when this share of its bass notes are not top-line notes
GRID = 16  # onset-pattern steps per bar
KINDS = ("top", "bass")
#: General MIDI programs (0-based) of pitched percussion that plays no line, left out of the fingerprint like a
#: drum kit: timpani (47: the key's tonic and dominant, struck and rolled) and the tuned drums and effects of the
#: percussive family (113 agogo, 115 woodblock, 116 taiko, 117 melodic tom, 118 synth drum, 119 reverse cymbal:
#: a rhythm on two or three pitches). The chromatic percussion that plays tunes keeps its lines: celesta,
#: glockenspiel, music box, vibraphone, marimba, xylophone, tubular bells, dulcimer (8-15), tinkle bell (112) and
#: steel drums (114); a tune copied onto a xylophone is still copied.
NO_LINE_PROGRAMS = frozenset({47, 113, 115, 116, 117, 118, 119})


@dataclass(frozen=True)
class Line:
    """One monophonic line of a part: its notes' onsets, durations, pitches and bar numbers."""

    part: int
    kind: str  # "top" | "bass"
    onsets: np.ndarray  # int64 ticks
    durations: np.ndarray  # int64 ticks (time to the next onset in the line; the last note's own)
    pitches: np.ndarray  # int16
    bars: np.ndarray  # int32, the bar numbers a musician reads (a pickup is bar 0)

    def __len__(self) -> int:
        return len(self.onsets)


def gives_lines(part: Part) -> bool:
    """Whether a part's notes enter the fingerprint (its lines and the bar codes): not a drum kit, nor pitched
    percussion that plays no line (:data:`NO_LINE_PROGRAMS`)."""
    return not part.is_drum and part.program not in NO_LINE_PROGRAMS


def _pick(onsets: np.ndarray, ends: np.ndarray, pitches: np.ndarray, top: bool) -> np.ndarray:
    """Indices (into the part's notes) of its top or bass line."""
    order = np.lexsort((-pitches if top else pitches, onsets))
    first = np.ones(len(order), dtype=bool)
    first[1:] = onsets[order][1:] != onsets[order][:-1]
    candidates = order[first]
    if len(candidates) < 2:
        return candidates
    sign = 1 if top else -1
    keep: list[int] = []
    held_end, held_pitch = -1, 0
    for i in candidates.tolist():
        if onsets[i] < held_end and sign * pitches[i] < sign * held_pitch:
            continue  # under (over) a line note that still sounds
        keep.append(i)
        held_end, held_pitch = int(ends[i]), int(pitches[i])
    return np.asarray(keep, dtype=np.int64)


def lines(score: Score) -> list[Line]:
    """The monophonic lines of a score (see the module docstring), in part order, top before bass."""
    notes = score.notes
    starts = score.bar_starts()
    first_number = 0 if score.pickup_ticks else 1
    out: list[Line] = []
    for index, part in enumerate(score.parts):
        if not gives_lines(part):
            continue
        mine = notes[notes["part"] == index]
        if not len(mine):
            continue
        onsets = mine["onset_ticks"].astype(np.int64)
        ends = onsets + mine["duration_ticks"]
        pitches = mine["pitch"].astype(np.int16)
        top = _pick(onsets, ends, pitches, True)
        chosen = [("top", top)]
        if len(top) != len(mine):
            bass = _pick(onsets, ends, pitches, False)
            if np.isin(bass, top, invert=True).mean() > BASS_LINE_SHARE:
                chosen.append(("bass", bass))
        for kind, idx in chosen:
            on = onsets[idx]
            dur = np.empty(len(idx), dtype=np.int64)
            dur[:-1] = np.diff(on)
            dur[-1] = mine["duration_ticks"][idx[-1]]
            bars = np.searchsorted(starts, on, side="right").astype(np.int32) - 1 + first_number
            out.append(Line(index, kind, on, dur, pitches[idx], bars))
    return out


def line_symbols(line: Line) -> np.ndarray:
    """The line's symbols as uint16: (interval + 128) << 8 | (ratio code + 128); :data:`START` first."""
    n = len(line)
    sym = np.full(n, START, dtype=np.uint16)
    if n < 2:
        return sym
    interval: np.ndarray = np.clip(np.diff(line.pitches.astype(np.int32)), -127, 127)
    dur = np.maximum(line.durations, 1).astype(np.float64)
    ratio = np.clip(np.rint(RATIO_STEPS * np.log2(dur[1:] / dur[:-1])), -127, 127).astype(np.int32)
    sym[1:] = ((interval + 128) << 8 | (ratio + 128)).astype(np.uint16)
    return sym


def bar_codes(score: Score) -> np.ndarray:
    """One uint32 per bar: relative pitch-class set (bits 0-11) and onset pattern (bits 12-27) of the parts that
    give lines (:func:`gives_lines`); 0 for a bar where none sounds."""
    starts = score.bar_starts()
    nbars = len(starts)
    kept = np.array([gives_lines(p) for p in score.parts], dtype=bool)
    n = score.notes[kept[score.notes["part"]]] if len(score.notes) else score.notes
    codes = np.zeros(nbars, dtype=np.uint32)
    if not len(n):
        return codes
    ends_bar = np.append(starts[1:], max(score.length_ticks, int(starts[-1]) + 1))
    on = n["onset_ticks"].astype(np.int64)
    off = on + n["duration_ticks"]
    first = np.searchsorted(starts, on, side="right") - 1
    last = np.searchsorted(starts, off - 1, side="right") - 1
    # each note sounds in bars first..last: counted per pitch and bar (a note held over hundreds of bars costs
    # two entries, not one per bar: memory stays ~ notes + 128 x bars)
    pitch = n["pitch"].astype(np.int64)
    held = np.zeros((128, nbars + 1), dtype=np.int32)
    np.add.at(held, (pitch, first), 1)
    np.add.at(held, (pitch, last + 1), -1)
    sounding = np.cumsum(held[:, :nbars], axis=1, dtype=np.int32) > 0
    del held
    low = np.where(sounding.any(axis=0), sounding.argmax(axis=0), 128).astype(np.int64)
    pcs = np.zeros(nbars, dtype=np.int64)
    for p in np.unique(pitch).tolist():
        pcs |= np.where(sounding[p], 1 << ((p - low) % 12), 0)
    length = np.maximum(ends_bar - starts, 1)
    slot = np.clip((on - starts[first]) * GRID // length[first], 0, GRID - 1)
    pattern = np.zeros(nbars, dtype=np.int64)
    np.bitwise_or.at(pattern, first, 1 << slot)
    codes[:] = (pcs | (pattern << 12)).astype(np.uint32)
    return codes
