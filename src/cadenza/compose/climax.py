"""The tune's high point, planned: the contrasting phrase of a a′ b a″ (:func:`cadenza.compose.plan.climax_phrase`)
is where a tune reaches above everything before it, and the composer writes toward it rather than hoping.

The ear counts a contrasting phrase whose tune stays at or below its earlier highest note as a fault
(:func:`cadenza.compose.ear.melody_faults`) and writes the phrase again. Left to itself the model rose above it
in few of them (16-bar pieces, seeds 1-8: a quartet's b phrase missed 9 times in 14 tries, a piano's 14 in 19),
so the phrase's second tries went to its high point. :class:`ClimaxReach` leans the tune there instead: through
the contrasting phrase, until the tune has passed the highest note it had before the phrase, the notes just
above that note (up to :data:`CLIMAX_REACH` semitones: a step or a modest leap) earn up to
:data:`CLIMAX_NATS`, growing bar by bar toward the phrase's arrival, so the high point tends to come late in
the phrase (the same pieces: 3 misses in 12 and 7 in 15).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.compose.plan import PHRASE_BARS, contrasting_phrases
from cadenza.tokens.events import FIELD_SIZES, KIND, F

CLIMAX_NATS = 3.0  # toward a note above the tune's earlier high point, in the contrasting phrase's last bar
CLIMAX_REACH = 5  # semitones above the earlier high point that earn it


class ClimaxReach:
    """Leans the tune's part (``tune_part``) to a new high point in each contrasting phrase (see the module
    docstring); follows ``plan``, the piece's :class:`cadenza.compose.constraints.PlanConstraint`."""

    def __init__(self, plan: Any, tune_part: int, bars: int, style: str | None = None,
                 phrase_bars: int = PHRASE_BARS, intro_bars: int = 0) -> None:
        self.plan, self.tune = plan, tune_part
        self.phrase_of = contrasting_phrases(bars, style, phrase_bars, intro_bars)  # bar -> (first bar, bars)
        self.highest = -1  # the tune's highest note so far
        self.highest_before: dict[int, int] = {}  # a contrasting phrase's first bar -> the tune's highest before it
        self.reached: set[int] = set()  # the contrasting phrases (first bars) whose tune has passed it

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        if field != "pitch" or chosen.get("kind") != KIND["note"] or chosen.get("part") != self.tune:
            return None
        bar = self.plan.bars_started - 1
        start, length = self.phrase_of.get(bar, (-1, 0))
        if start not in self.highest_before or start in self.reached:
            return None
        above = self.highest_before[start] + 1
        out = np.zeros(FIELD_SIZES["pitch"], dtype=np.float32)
        out[above:min(above + CLIMAX_REACH, FIELD_SIZES["pitch"])] = CLIMAX_NATS * (bar - start + 1) / length
        return out

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        return None

    def advance(self, step: np.ndarray) -> None:
        kind = int(step[F["kind"]])
        bar = self.plan.bars_started - 1  # (the plan has counted a bar line already: the bar it opens)
        if kind == KIND["bar"] and self.phrase_of.get(bar, (-1, 0))[0] == bar and self.highest >= 0:
            self.highest_before[bar] = self.highest
        if kind != KIND["note"] or int(step[F["part"]]) != self.tune:
            return
        pitch = int(step[F["pitch"]])
        start = self.phrase_of.get(bar, (-1, 0))[0]
        if start in self.highest_before and pitch > self.highest_before[start]:
            self.reached.add(start)
        self.highest = max(self.highest, pitch)
