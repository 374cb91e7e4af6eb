"""Lines that do not hammer one pitch: a voice that has struck the same pitch three times running pays
:data:`REPEAT_NATS` for a fourth (a choir's voices; a song's voice declaims its words on repeated notes), and a
solo keyboard's lower hand that has struck one bass note twice running pays :data:`BASS_REPEAT_NATS` for a third.

In the first 16 bars of 24 Bach chorales (the craft pool), the notes that are the fourth or later strike of one
pitch in a row are 1.2% of a voice's notes (median; p90 3.4%). Ours were 9.0% (p90 15.3%; 16 pieces, seeds
1-16, five moods): tenors and basses repeating eight E-flats a bar, an alto on one pitch for bars (a musician's
review of 31 pieces); with this bias at 3 nats, 1.6% (p90 3.4%), and at 5 with the learned harmony tables,
1.2%. An instrument's repeated notes (a cello's pedal, a horn's call) are left alone.

A piano's left hand drummed its bass: in 16 classical pieces (the craft benchmark's seeds 1-16), 13.3% of its
bass notes (its lowest at each onset) were the third or later strike of one pitch in a row (p90 30.5%), whole
bars of sixteenths on G2; in the first 16 bars of 15 sonata movements of Haydn, Mozart and Beethoven that the
model did not learn from, 0.5% (p90 22.4%: a drum bass is the exception). With the bias, 2.1% (p90 12.6%). A
song's piano is left as it was (its Lieder were not measured; with the bias its hands crossed more often).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from cadenza.score.model import TICKS_PER_QUARTER
from cadenza.tokens.events import FIELD_SIZES, FINE, KIND, F

REPEAT_NATS = 5.0  # a sung part's fourth strike of one pitch in a row (at 2 nats, with the harmony plans'
#: freer chords, joyful chorales of seeds 1-8 struck 7.0% of their notes so, and 16 chorales 3.1% (p90 7.5%); with
#: the harmony tables learned from the chords annotators hear, which last longer, joyful chorales of seeds 1-16
#: 4.2% at 3 nats, 2.7% at 4, 1.2% at 5 (p90 2.1%; Bach 1.2%, p90 3.4%))
RUN_BEFORE_COST = 3  # strikes of one pitch in a row a voice sings freely
BASS_REPEAT_NATS = 2.0  # a keyboard's lower hand's third strike of one bass note in a row (see BassRepeats)
BASS_RUN_BEFORE_COST = 2  # strikes of one bass note in a row a lower hand plays freely


class Restrikes:
    """A bias of ``nats`` against a part's strike of the pitch it has struck ``run_before_cost`` times running
    (``parts``: the parts it binds). A part's line is its first note at each instant: a sung voice's only one, a
    keyboard hand's lowest (a step's notes at one instant come lowest first). ``plan`` is the piece's
    PlanConstraint (where the current bar starts); the last bar past the plan is free."""

    def __init__(self, plan: Any, parts: frozenset[int], run_before_cost: int, nats: float) -> None:
        self.plan, self.parts = plan, parts
        self.run_before_cost, self.nats = run_before_cost, nats
        self.runs: dict[int, tuple[int, int, int]] = {}  # part -> (its latest onset, its pitch, strikes in a row)

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        return None

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        if field != "pitch" or chosen.get("kind") != KIND["note"] or (part := chosen.get("part")) not in self.parts:
            return None
        onset, pitch, run = self.runs.get(part, (-1, -1, 0))
        now = self.plan.bar_start_ticks + int(chosen.get("position", 0)) * FINE + int(chosen.get("position_fine", 0))
        if run < self.run_before_cost or now == onset or self.plan.bars_started >= self.plan.bars:
            return None
        out = np.zeros(FIELD_SIZES["pitch"], dtype=np.float32)
        out[pitch] = -self.nats
        return out

    def advance(self, step: np.ndarray) -> None:
        """Each bound part's latest onset, its line's pitch there and how many strikes of it in a row (the plan
        constraint advances first: its bar start is the step's)."""
        if int(step[F["kind"]]) != KIND["note"] or (part := int(step[F["part"]])) not in self.parts:
            return
        now = self.plan.last_onset_ticks
        pitch = int(step[F["pitch"]])
        onset, last, run = self.runs.get(part, (-1, -1, 0))
        if now != onset:  # the instant's first note is the line's (another at the same instant lies above it)
            self.runs[part] = (now, pitch, run + 1 if pitch == last else 1)


class SungRepeats(Restrikes):
    """The bias against a choir voice's long runs of one pitch (the module docstring); ``sung``: the sung parts."""

    def __init__(self, plan: Any, sung: frozenset[int]) -> None:
        super().__init__(plan, sung, RUN_BEFORE_COST, REPEAT_NATS)


class BassRepeats(Restrikes):
    """The bias against a keyboard's lower hand striking one bass note a third time running (``hand``: that
    part); see the module docstring."""

    def __init__(self, plan: Any, hand: int) -> None:
        super().__init__(plan, frozenset({hand}), BASS_RUN_BEFORE_COST, BASS_REPEAT_NATS)


#: a song's voice: the onsets in a row that may come sooner than an eighth after the one before (a pair of
#: sixteenths after an eighth, a dotted figure) before the next such one pays :data:`SUNG_RUN_NATS`
SHORT_GAPS_FREE = 2
SUNG_RUN_NATS = 8.0
SHORT_GAP_TICKS = TICKS_PER_QUARTER // 2  # an eighth


class SungRuns:
    """A song's voice does not run in sixteenths like an instrument: it pays :data:`SUNG_RUN_NATS` to strike
    sooner than an eighth after its latest onset when its last :data:`SHORT_GAPS_FREE` onsets came so too (the
    part field: the onset goes to the piano, or the voice holds). In the first 16 bars of 35 Lieder (the craft
    pool: Schubert, Schumann, Brahms, Franz, Hensel, Wolf), 4.6% of the voice's onsets come sooner than an eighth
    after the one before (median; p90 25.7%), and none of the songs has four such notes running (p90 0); ours,
    12.6% (p90 33.6%), a run of four in a third of the songs (12 songs, seeds 1-12): a D-minor song's voice sang
    bars of sixteenths. ``voice``: the sung part; ``plan``: the piece's PlanConstraint."""

    def __init__(self, plan: Any, voice: int) -> None:
        self.plan, self.voice = plan, voice
        self.onsets: list[int] = []  # the voice's latest onsets (ticks), oldest first

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        return None

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        if field != "part" or chosen.get("kind") != KIND["note"] or len(self.onsets) <= SHORT_GAPS_FREE:
            return None
        now = self.plan.bar_start_ticks + int(chosen.get("position", 0)) * FINE + int(chosen.get("position_fine", 0))
        recent = [*self.onsets[-SHORT_GAPS_FREE - 1:], now]
        if now == recent[-2] or any(b - a >= SHORT_GAP_TICKS for a, b in pairwise(recent)):
            return None
        out = np.zeros(FIELD_SIZES["part"], dtype=np.float32)
        out[self.voice] = -SUNG_RUN_NATS
        return out

    def advance(self, step: np.ndarray) -> None:
        """The voice's onsets (the plan constraint advances first: its latest onset is the step's)."""
        if int(step[F["kind"]]) != KIND["note"] or int(step[F["part"]]) != self.voice:
            return
        now = self.plan.last_onset_ticks
        if now is not None and (not self.onsets or self.onsets[-1] != now):
            self.onsets.append(now)
            del self.onsets[:-SHORT_GAPS_FREE - 1]
