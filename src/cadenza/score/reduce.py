"""A score's parts reduced the way a printed short score reduces them: doubled instruments share a staff.

An orchestral score may hold more parts than a consumer takes (the event vocabulary holds 16; a Beethoven
symphony has 20 to 30: Flute 1, Flute 2, Oboe 1, … Horn 1–4, Timpani, the strings). :func:`reduce_parts`
merges adjacent parts, in two stages, only as far as it must:

1. parts of the same instrument (the same GM program and drum flag, and the same name once numbers and
   roman numerals are set aside: Flute 1 + Flute 2 -> Flutes, Horn 1–4 -> Horns, Violin I + II -> Violins),
   a whole run of them at a time, in score order: winds, brass, percussion, voices and the rest first,
   strings (the lines a short score keeps apart longest) last;
2. if that is not enough, adjacent parts of the same family (woodwinds, brass, percussion, strings, voices,
   keyboards, plucked …), the pair with the fewest original parts between them first, strings again
   last. A string part is never merged into a wind part, nor a drum kit into a pitched part.

A merged part sits where its first part sat (score order is kept). Same-instrument merges take the shared
name in the plural and the shared program; a family merge takes the name and program of its highest-sounding
member (by mean pitch). A merged part sounds each pitch once at a time, as one staff does: notes at the same
onset and pitch become one (the longer, then the louder, kept), and a note still sounding when another of
its pitch starts ends there, the later note lasting to the later end (every other onset stays, and the pitch
sounds as long; without this a note long enough to be written as tied steps could not be decoded exactly).
Parts that merge with none, and everything else of the Score, stay as they were. If no two adjacent parts
share a family the result can still hold more than ``max_parts`` parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from cadenza.score.model import Part, Score

# a token of a part name that numbers it: 1, 2., I, II, IV, 1/2, 1.2, I-II, 1st
_NUMBER = re.compile(r"^(?:\d+(?:st|nd|rd|th)?|[ivx]{1,4})(?:[./&+-](?:\d+|[ivx]{1,4}))*\.?$", re.IGNORECASE)
_SEPARATORS = {"&", "+", "/", "-", "and", "und", "e", "et"}
_ITALIAN_PLURALS = {"tromba": "trombe", "corno": "corni", "flauto": "flauti", "traverso": "traversi",
                    "violino": "violini", "fagotto": "fagotti", "clarinetto": "clarinetti"}
_LATE = "strings"  # the family whose parts are merged last


def family(part: Part) -> str:
    """The instrument family of a part, from its GM program: a drum kit is 'drums'."""
    if part.is_drum:
        return "drums"
    p = part.program
    if 40 <= p <= 45 or 48 <= p <= 51 or p == 110:
        return "strings"
    if 52 <= p <= 54:
        return "voices"
    if 56 <= p <= 63:
        return "brass"
    if 64 <= p <= 79 or p in (109, 111):
        return "woodwinds"
    if 8 <= p <= 15 or p == 47 or 112 <= p <= 119:
        return "percussion"
    if p <= 7 or 16 <= p <= 23:
        return "keyboards"
    if 24 <= p <= 39 or p == 46 or 104 <= p <= 108:
        return "plucked"
    if 80 <= p <= 103:
        return "synths"
    return "other"


def base_name(name: str) -> str:
    """A part's name without the numbers that tell doubled instruments apart ('Violin II' -> 'Violin')."""
    words = [w for w in name.replace(",", " ").split() if not _NUMBER.match(w)]
    while words and words[-1].lower() in _SEPARATORS:
        words.pop()
    return " ".join(words) or name.strip()


def _plural_word(word: str) -> str:
    low = word.lower()
    if low in _ITALIAN_PLURALS:
        plural = _ITALIAN_PLURALS[low]
        return plural.capitalize() if word[:1].isupper() else plural
    if not word[-1:].isalpha() or (low.endswith(("i", "s")) and not low.endswith(("ss", "us"))):
        return word  # 'Timpani', 'Drums', '8va'
    if low.endswith(("ss", "us", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def plural_name(name: str) -> str:
    """'Flute' -> 'Flutes', 'Horn in F' -> 'Horns in F', 'Bb Clarinet' -> 'Bb Clarinets', 'Tromba' -> 'Trombe'."""
    words = name.split()
    if not words:
        return name
    lowered = [w.lower() for w in words]
    at = lowered.index("in", 1) - 1 if "in" in lowered[1:] else len(words) - 1
    words[at] = _plural_word(words[at])
    return " ".join(words)


@dataclass
class _Group:
    members: list[int]  # original part indices, adjacent, in score order
    part: Part
    pitch_sum: float
    note_count: int

    @property
    def mean_pitch(self) -> float:
        return self.pitch_sum / self.note_count if self.note_count else float("-inf")

    @property
    def late(self) -> bool:
        return family(self.part) == _LATE


def _instrument(part: Part) -> tuple[int, bool, str]:
    return part.program, part.is_drum, base_name(part.name).lower()


def _merged(run: list[_Group], same_instrument: bool) -> _Group:
    members = [i for g in run for i in g.members]
    pitch_sum = sum(g.pitch_sum for g in run)
    count = sum(g.note_count for g in run)
    if same_instrument:
        first = run[0].part
        part = Part(plural_name(base_name(first.name)), first.program, first.is_drum)
    else:
        highest = max(run, key=lambda g: g.mean_pitch)  # max keeps the first of equals: deterministic
        part = highest.part
    return _Group(members, part, pitch_sum, count)


def _groups(score: Score, max_parts: int) -> list[_Group]:
    """The parts of the reduced score, each with the original parts it merges."""
    if max_parts < 1:
        raise ValueError("max_parts must be at least 1")
    notes = score.notes
    counts = np.bincount(notes["part"], minlength=len(score.parts))
    sums = np.bincount(notes["part"], weights=notes["pitch"].astype(np.float64), minlength=len(score.parts))
    groups = [_Group([i], part, float(sums[i]), int(counts[i])) for i, part in enumerate(score.parts)]

    # stage 1: whole runs of the same instrument, one run at a time
    while len(groups) > max_parts:
        runs = []  # (late, start, end) of each run of two or more groups of one instrument
        start = 0
        for i in range(1, len(groups) + 1):
            if i == len(groups) or _instrument(groups[i].part) != _instrument(groups[start].part):
                if i - start > 1:
                    runs.append((groups[start].late, start, i))
                start = i
        if not runs:
            break
        _, a, b = min(runs)
        groups[a:b] = [_merged(groups[a:b], same_instrument=True)]

    # stage 2: adjacent pairs of one family
    while len(groups) > max_parts:
        pairs = [(groups[i].late, len(groups[i].members) + len(groups[i + 1].members), i)
                 for i in range(len(groups) - 1)
                 if family(groups[i].part) == family(groups[i + 1].part)]
        if not pairs:
            break
        _, _, i = min(pairs)
        groups[i:i + 2] = [_merged(groups[i:i + 2], same_instrument=False)]
    return groups


def reduce_parts(score: Score, max_parts: int) -> Score:
    """``score`` with adjacent parts merged until it holds at most ``max_parts`` (see the module's notes);
    ``score`` itself when it already does."""
    if len(score.parts) <= max_parts:
        return score
    groups = _groups(score, max_parts)
    notes = score.notes
    new_index = np.empty(len(score.parts), dtype=np.int16)
    for g, group in enumerate(groups):
        new_index[group.members] = g
    merged = notes.copy()
    merged["part"] = new_index[notes["part"]]
    shared = np.array([len(g.members) > 1 for g in groups])[merged["part"]]
    return score.replace(parts=tuple(g.part for g in groups),
                         notes=np.concatenate([merged[~shared], _unisons_resolved(merged[shared])]))


def _unisons_resolved(notes: np.ndarray) -> np.ndarray:
    """One part's staff sounds a pitch once at a time: of notes of one part and pitch that start together
    the longest (then the loudest) is kept, and a note still sounding when the next of its pitch starts ends
    there, that next note lasting to the later of their ends. Every onset stays and the pitch sounds for the
    same time; the encoding's tied steps (a note longer than its duration field) are unambiguous again."""
    if not len(notes):
        return notes
    order = np.lexsort((notes["velocity"], notes["duration_ticks"], notes["onset_ticks"], notes["pitch"],
                        notes["part"]))
    n = notes[order].copy()
    onset = n["onset_ticks"]
    end = onset + n["duration_ticks"]
    voice = n["part"].astype(np.int64) * 128 + n["pitch"]
    group = np.cumsum(np.r_[True, voice[1:] != voice[:-1]])
    # the latest end so far within each (part, pitch): a running maximum lifted by the group, so it restarts
    lift = group * (int(end.max()) + 1)
    running = np.maximum.accumulate(end + lift) - lift
    next_onset = np.r_[onset[1:], np.iinfo(np.int64).max]
    last_of_group = np.r_[group[1:] != group[:-1], True]
    next_onset[last_of_group] = np.iinfo(np.int64).max
    new_end = np.minimum(running, next_onset)
    n["duration_ticks"] = new_end - onset
    return n[n["duration_ticks"] > 0]


def merged_parts(score: Score, max_parts: int) -> list[str]:
    """What :func:`reduce_parts` merges, one line per merged part: 'Flute 1 + Flute 2 -> Flutes'."""
    if len(score.parts) <= max_parts:
        return []
    return [" + ".join(score.parts[i].name for i in g.members) + f" -> {g.part.name}"
            for g in _groups(score, max_parts) if len(g.members) > 1]
