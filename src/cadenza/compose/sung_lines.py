"""A choir's line does not chant one pitch: a voice that has struck the same pitch three times running pays
:data:`REPEAT_NATS` for a fourth (a choir's voices; a song's voice declaims its words on repeated notes).

In the first 16 bars of 24 Bach chorales (the craft pool), the notes that are the fourth or later strike of one
pitch in a row are 1.2% of a voice's notes (median; p90 3.4%). Ours were 9.0% (p90 15.3%; 16 pieces, seeds
1-16, five moods): tenors and basses repeating eight E-flats a bar, an alto on one pitch for bars (a musician's
review of 31 pieces); with this bias at 3 nats, 1.6% (p90 3.4%). An instrument's repeated notes (a cello's
pedal, a horn's call) are left alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.tokens.events import FIELD_SIZES, FINE, KIND, F

REPEAT_NATS = 3.0  # a sung part's fourth strike of one pitch in a row (at 2 nats, with the harmony plans'
#: freer chords, joyful chorales of seeds 1-8 struck 7.0% of their notes so, and 16 chorales 3.1% (p90 7.5%))
RUN_BEFORE_COST = 3  # strikes of one pitch in a row a voice sings freely


class SungRepeats:
    """The bias against a voice's long runs of one pitch (see the module docstring); ``plan`` is the piece's
    PlanConstraint (where the current bar starts), ``sung`` the parts that are sung."""

    def __init__(self, plan: Any, sung: frozenset[int]) -> None:
        self.plan, self.sung = plan, sung
        self.runs: dict[int, tuple[int, int, int]] = {}  # part -> (its latest onset, its pitch, strikes in a row)

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        return None

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        if field != "pitch" or chosen.get("kind") != KIND["note"] or (part := chosen.get("part")) not in self.sung:
            return None
        onset, pitch, run = self.runs.get(part, (-1, -1, 0))
        now = self.plan.bar_start_ticks + int(chosen.get("position", 0)) * FINE + int(chosen.get("position_fine", 0))
        if run < RUN_BEFORE_COST or now == onset or self.plan.bars_started >= self.plan.bars:
            return None
        out = np.zeros(FIELD_SIZES["pitch"], dtype=np.float32)
        out[pitch] = -REPEAT_NATS
        return out

    def advance(self, step: np.ndarray) -> None:
        """Each sung part's latest onset, its (highest) pitch and how many strikes of it in a row (the plan
        constraint advances first: its bar start is the step's)."""
        if int(step[F["kind"]]) != KIND["note"] or (part := int(step[F["part"]])) not in self.sung:
            return
        now = self.plan.last_onset_ticks
        pitch = int(step[F["pitch"]])
        onset, last, run = self.runs.get(part, (-1, -1, 0))
        if now == onset:  # another note of the same instant: the higher is the line's
            self.runs[part] = (onset, max(last, pitch), run)
        else:
            self.runs[part] = (now, pitch, run + 1 if pitch == last else 1)
