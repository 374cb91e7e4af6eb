"""Chord symbols for a lead sheet: its chord part's block chords named as a player reads them (C, Am7, G7/B),
written above the tune in the MusicXML (``<harmony>``) and so on the engraved page.

A lead sheet is a tune over a part named for its chords ("Chords", as Cadenza's ``lead-sheet`` ensemble writes
it): :func:`chord_part`. Each half bar (a bar in meters of two or three beats) is named once: by the first
chord the chord part sounds in it where it spells one (:data:`KINDS`; its lowest note's first as the root, so C E G A is
C6 over C; another root over its bass: G7/B), else by the triad or seventh that holds the chord part's lowest
note and most of what sounds, the tune included (:func:`fit_chord`). A symbol is written where the name changes;
a span that names nothing keeps the symbol before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.score.model import Score

#: intervals above the root (sorted pitch classes) -> (MusicXML ``<kind>`` value, the symbol's suffix as printed)
KINDS: dict[tuple[int, ...], tuple[str, str]] = {
    (0, 4, 7): ("major", ""), (0, 3, 7): ("minor", "m"), (0, 3, 6): ("diminished", "dim"),
    (0, 4, 8): ("augmented", "aug"), (0, 5, 7): ("suspended-fourth", "sus4"), (0, 2, 7): ("suspended-second", "sus2"),
    (0, 4, 7, 10): ("dominant", "7"), (0, 4, 10): ("dominant", "7"), (0, 4, 7, 11): ("major-seventh", "maj7"),
    (0, 4, 11): ("major-seventh", "maj7"), (0, 3, 7, 10): ("minor-seventh", "m7"), (0, 3, 10): ("minor-seventh", "m7"),
    (0, 3, 6, 10): ("half-diminished", "m7b5"), (0, 3, 6, 9): ("diminished-seventh", "dim7"),
    (0, 4, 7, 9): ("major-sixth", "6"), (0, 3, 7, 9): ("minor-sixth", "m6"), (0, 5, 7, 10): ("dominant", "7sus4"),
}


@dataclass(frozen=True)
class ChordSymbol:
    """A chord symbol from ``onset_ticks`` on: its root and bass pitch classes and its :data:`KINDS` entry."""

    onset_ticks: int
    root_pc: int
    kind: str  # MusicXML <kind> value
    suffix: str  # as printed after the root: "", "m", "7", "maj7" …
    bass_pc: int  # the lowest note's pitch class (the root, or the bass of a slash chord)

    def text(self, spell: dict[int, str] | None = None) -> str:
        """The symbol as printed (``spell``: pitch class -> note name; sharps by default): "G7/B"."""
        names = spell or dict(enumerate(("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")))
        over = f"/{names[self.bass_pc]}" if self.bass_pc != self.root_pc else ""
        return f"{names[self.root_pc]}{self.suffix}{over}"


def chord_part(score: Score) -> int | None:
    """The part a lead sheet's chord symbols name: the last of two parts where it is named for its chords and the
    first is a single line (no two notes struck at once); None for any other score."""
    if len(score.parts) != 2 or "chord" not in (score.parts[1].name or "").lower() or score.parts[1].is_drum:
        return None
    tune = score.notes["onset_ticks"][score.notes["part"] == 0]
    return 1 if len(tune) and len(np.unique(tune)) == len(tune) else None


def name_chord(pitches: list[int]) -> tuple[int, str, str] | None:
    """(root pitch class, kind, suffix) of a sonority's MIDI ``pitches``: its lowest note as the root where
    :data:`KINDS` names it so, else another of its pitch classes; None where none does."""
    if not pitches:
        return None
    bass = min(pitches) % 12
    classes = sorted({p % 12 for p in pitches})
    for root in [bass, *(pc for pc in classes if pc != bass)]:
        kind = KINDS.get(tuple(sorted((pc - root) % 12 for pc in classes)))
        if kind is not None:
            return root, *kind
    return None


#: the kinds a chord is fitted to where the chord part alone does not name it (triads and sevenths; sixths,
#: suspensions and augmented triads only as the chord part spells them out)
FITTED = {intervals: kind for intervals, kind in KINDS.items()
          if len(intervals) >= 3 and kind[0] in ("major", "minor", "diminished", "dominant",
                                                  "major-seventh", "minor-seventh", "half-diminished",
                                                  "diminished-seventh")
          and (len(intervals) == 3 or 7 in intervals or 6 in intervals) and "sus" not in kind[1]}
SEVENTH_COST = 0.15  # a seventh's share of the sound it must add over its triad to be named
ROOT_IN_BASS = 0.1  # the chord whose root the chord part's lowest note is, by this share of the sound
LEAST_COVERED = 0.6  # share of the sound a fitted chord must hold, or none is named
#: a fitted chord whose every tone is in the key signature's scale, by this share of the sound: between chords that
#: hold the notes alike (D and A under a lone D2 in D minor) the key's (Dm, not D)
IN_THE_KEY = 0.05
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)


def fit_chord(held: set[int], weights: np.ndarray, bass: int,
              scale: frozenset[int] = frozenset()) -> tuple[int, str, str] | None:
    """(root, kind, suffix) of the triad or seventh (:data:`FITTED`) that holds every pitch class of ``held`` (the
    chord part's), stands on ``bass`` as its root, third or fifth and holds most of the sound ``weights`` (per
    pitch class: ticks the notes sound, the tune's included), the key's (``scale``: pitch classes) where alike; None
    where none holds :data:`LEAST_COVERED` of it."""
    total = float(weights.sum())
    if total <= 0:
        return None
    best: tuple[float, tuple[int, str, str]] | None = None
    for intervals, (kind, suffix) in FITTED.items():
        for root in range(12):
            pcs = [(root + i) % 12 for i in intervals]
            if not held <= set(pcs) or (bass - root) % 12 not in intervals or (bass - root) % 12 > 8:
                continue  # (a fitted chord stands on its root, third or fifth: no Bbmaj7/A)
            covered = float(weights[pcs].sum()) / total
            score = 2 * covered - SEVENTH_COST * (len(pcs) - 3) + ROOT_IN_BASS * (root == bass) \
                + IN_THE_KEY * bool(scale and set(pcs) <= scale)
            if covered >= LEAST_COVERED and (best is None or score > best[0]):
                best = (score, (root, kind, suffix))
    return best[1] if best else None


def _spans(score: Score, until_ticks: int) -> list[tuple[int, int]]:
    """(start, end) ticks of each span a symbol may name: half a bar in meters of four beats or more (4/4, 12/8),
    else a bar, as lead sheets change their chords."""
    starts = score.bar_starts().tolist()
    ends = [*starts[1:], max(until_ticks, starts[-1] + 1)]
    spans = []
    for start, end in zip(starts, ends, strict=True):
        signature = score.time_signature_at(start)
        beats = signature.numerator // 3 if signature.is_compound else signature.numerator
        if beats >= 4 and beats % 2 == 0 and end - start == signature.bar_ticks:
            spans += [(start, start + (end - start) // 2), (start + (end - start) // 2, end)]
        else:
            spans.append((start, end))
    return spans


def chord_symbols(score: Score) -> list[ChordSymbol]:
    """The chord symbols of a lead sheet (:func:`chord_part`; none for another score), one at each change. Each
    span (:func:`_spans`: half a bar or a bar) is named by the chord the chord part first sounds in it where
    :data:`KINDS` names it (three pitch classes or more), else by the chord that holds its lowest note and most of
    what sounds there, the tune's notes included and the chord part's twice (:func:`fit_chord`: a lone G2 under B,
    D and G in the tune is G). The symbol stands at the chord part's first onset in the span."""
    part = chord_part(score)
    if part is None:
        return []
    notes = score.notes
    ends = notes["onset_ticks"] + notes["duration_ticks"]
    in_part = notes["part"] == part
    out: list[ChordSymbol] = []
    for start, end in _spans(score, int(ends.max())):
        chords = in_part & (notes["onset_ticks"] < end) & (ends > start)
        struck = chords & (notes["onset_ticks"] >= start)
        if not struck.any():
            continue  # the chord before is held through the span: its symbol stands
        onset = int(notes["onset_ticks"][struck].min())
        first = in_part & (notes["onset_ticks"] == onset)  # (struck together: not a chord before, held into it)
        bass = int(notes["pitch"][first].min()) % 12
        sounding = notes["pitch"][first].tolist()
        named = name_chord(sounding) if len({p % 12 for p in sounding}) >= 3 else None
        if named is None:
            within = (notes["onset_ticks"] < end) & (ends > start)
            weights = np.zeros(12)
            overlap = (np.minimum(ends, end) - np.maximum(notes["onset_ticks"], start)) * (1 + in_part)
            np.add.at(weights, notes["pitch"][within] % 12, overlap[within])
            signature = score.key_signature_at(start)
            tonic = 7 * signature.sharps % 12 if signature is not None else 0
            named = fit_chord({bass}, weights, bass, frozenset((tonic + i) % 12 for i in MAJOR_SCALE))
        if named is None:
            continue
        symbol = ChordSymbol(onset, named[0], named[1], named[2], bass)
        if not out or (out[-1].root_pc, out[-1].suffix, out[-1].bass_pc) != (symbol.root_pc, symbol.suffix,
                                                                            symbol.bass_pc):
            out.append(symbol)
    return out
