"""Chords a player can play. Double stops as string players write them: now and then, not as a texture. A bowed
part of a chamber ensemble (a quartet's violins, viola and cello may play two notes at once) pays
:data:`DOUBLE_STOP_NATS` for adding a second note to an instant it has already struck, except in the last bar,
where the final chord is filled. A keyboard hand pays :data:`FAST_CHORD_NATS` for a chord struck less than
:data:`FAST_CHORD_S` after its previous onset (:func:`hand_parts`).

The first 16 bars of 24 real quartet movements (the craft benchmark's pool) strike two notes at once at a mean
0.8% of the first violin's onsets, 4.1% of the second's, 1.4% of the viola's and 0.3% of the cello's (median 0 in
every part). Ours, free to: 1.7%, 5.4%, 21.6% and 17.8% (18 pieces of 16 bars, seeds 1-6, no mood, calm and sad):
a viola and cello in thirds and sixths on most beats, and seconds a player can hardly stop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.compose.ensembles import Voice
from cadenza.compose.grid import later_on_grid
from cadenza.compose.orchestration import MIN_PARTS
from cadenza.score.instruments import KEYBOARD_PROGRAMS
from cadenza.score.model import TICKS_PER_QUARTER
from cadenza.tokens.events import FIELD_SIZES, FINE, KIND, F

#: nats a bowed part pays for a second note at one instant (about a twentieth as likely)
DOUBLE_STOP_NATS = 3.0
#: General MIDI's bowed strings: violin, viola, cello, contrabass
BOWED_PROGRAMS = (40, 41, 42, 43)
#: the shortest time after a hand's previous onset at which it strikes a chord freely, in seconds. In the first 16
#: bars of 15 sonata movements of the craft benchmark's pool (Haydn, Mozart, Beethoven; kern), 1.6% of the left
#: hand's onsets are chords struck sooner (34% of its onsets are chords); in 20 of our piano pieces (seeds 1-4;
#: joyful, tense, calm, sad, no mood) 11.0% (62% chords): a left hand repeating three- and four-note chords in
#: sixteenths at 155 bpm, 0.1 s apart
FAST_CHORD_S = 0.15
#: nats a keyboard hand pays for a chord's second note struck sooner than that. At 3 nats (a bowed double stop's
#: cost) the left hands of six joyful, dense pieces (8 bars at 155 bpm, seeds 21-26) struck 5.4% of their onsets as
#: such chords; at 6, 2.1% (the sonatas' 1.6%)
FAST_CHORD_NATS = 6.0


def hand_parts(voices: tuple[Voice, ...]) -> frozenset[int]:
    """The keyboard parts that strike chords (a piano's hands, a song's accompaniment, an organ's): they pay for
    fast ones."""
    return frozenset(i for i, v in enumerate(voices) if v.program in KEYBOARD_PROGRAMS and v.polyphony > 1
                     and not v.is_drum)


def bowed_parts(voices: tuple[Voice, ...]) -> frozenset[int]:
    """The parts that may double-stop: bowed strings with a polyphony above one, in a chamber ensemble (an
    orchestra's string sections are left as they were: their double stops, divisi, lifted the first violins' line,
    whose median fell from 68 to 67 over six D-minor pieces when they paid, against the real openings' 74)."""
    if len(voices) >= MIN_PARTS:  # (an orchestra: cadenza.compose.orchestration)
        return frozenset()
    return frozenset(i for i, v in enumerate(voices) if v.program in BOWED_PROGRAMS and v.polyphony > 1
                     and not v.is_drum)


def _cost(field: str, values: list[int], nats: float | list[float]) -> np.ndarray:
    """A bias of ``field`` that costs ``nats`` at ``values`` (one figure, or one for each)."""
    out = np.zeros(FIELD_SIZES[field], dtype=np.float32)
    out[values] = -np.asarray(nats, dtype=np.float32)
    return out


class DoubleStops:
    """A bias against a bowed part's second note at an instant, and a keyboard hand's (``hands``) where its
    previous onset is under :data:`FAST_CHORD_S` before (see the module docstring); ``plan`` is the piece's
    PlanConstraint (its current instant, tempo and the parts that struck there). The notes of an instant come
    part by part, so where the part that struck last is the last part that plays (``last_part``), staying at the
    instant is its double stop: the cost falls on the instant's position; else on the part."""

    def __init__(self, plan: Any, parts: frozenset[int], last_part: int, hands: frozenset[int] = frozenset()) -> None:
        self.plan, self.bowed, self.hands, self.last_part = plan, parts, hands, last_part
        self.parts = parts | hands
        self.onsets: dict[int, tuple[int, int]] = {}  # part -> (its latest onset, the one before), in ticks

    def _costly(self, part: int) -> bool:
        """Whether ``part`` pays for another note at the current instant."""
        if part in self.bowed:
            return True
        if part not in self.hands or part not in self.onsets or not self.plan.tempo_bpm:
            return False
        latest, before = self.onsets[part]
        return (latest - before) / TICKS_PER_QUARTER * 60.0 / self.plan.tempo_bpm < FAST_CHORD_S

    def _nats(self, part: int) -> float:
        """What ``part`` pays for another note at the instant: a keyboard hand's fast chord, or a double stop."""
        return FAST_CHORD_NATS if part in self.hands else DOUBLE_STOP_NATS

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        return None

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        if field not in ("kind", "position", "part") or (field != "kind" and chosen.get("kind") != KIND["note"]) \
                or self.plan.bars_started >= self.plan.bars or not self.plan.at_instant:
            return None
        bar, at = self.plan.instant
        if bar != self.plan.bars_started:
            return None
        staying = max(self.plan.at_instant) == self.last_part and self._costly(self.last_part) and not at % FINE
        nats = self._nats(self.last_part)
        if field == "kind":  # where the density leaves no later onset in the bar, a note is the double stop
            return _cost("kind", [KIND["note"]], nats) if staying \
                and self.plan.onsets_left(later_on_grid(self.plan, at)) is False else None
        if field == "position":
            return _cost("position", [at // FINE], nats) if staying else None
        if int(chosen.get("position", 0)) * FINE + int(chosen.get("position_fine", 0)) != at:
            return None
        struck = sorted(p for p in self.plan.at_instant if p in self.parts and self._costly(p))
        return _cost("part", struck, [self._nats(p) for p in struck]) if struck else None

    def advance(self, step: np.ndarray) -> None:
        """Each hand's latest onset and the one before (the plan constraint advances first: its instant is the
        step's)."""
        if int(step[F["kind"]]) != KIND["note"] or int(step[F["part"]]) not in self.hands:
            return
        part, now = int(step[F["part"]]), self.plan.last_onset_ticks
        latest, _ = self.onsets.get(part, (-(1 << 40), 0))
        if now != latest:
            self.onsets[part] = (now, latest)
