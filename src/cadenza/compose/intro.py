"""An introduction: the accompaniment plays alone before the tune enters — a song's piano, as in most Lieder.

The form decides it (:func:`cadenza.compose.plan.intro_bars_for`: two bars in two songs of three, seeded) and
the plan carries it (``Plan.intro_bars``); the phrases, their cadences, the returns and the contrasting phrase
begin after it (:func:`cadenza.compose.plan.phrase_arrivals`, :func:`cadenza.compose.plan.returns`). While it
lasts, :class:`TuneWaits` keeps the tune's part out, and the rules' pull toward a silent tune
(:class:`cadenza.compose.rules.VoiceRules`) calls on the accompaniment's highest part (a song's right hand);
after it, the same pull, counted from the piece's start, brings the voice in at once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from cadenza.compose.plan import intro_bars_for
from cadenza.compose.request import Plan
from cadenza.tokens.events import FIELD_SIZES, KIND


def with_intro(plan: Plan, seed: int) -> Plan:
    """The plan with the introduction its ensemble's style writes (see :func:`intro_bars_for`), said in its
    notes; unchanged where there is none."""
    bars = intro_bars_for(plan.model_labels.get("ensemble"), plan.bars, seed)
    if not bars:
        return plan
    name = plan.ensemble.name if plan.ensemble else "the accompaniment"
    accompaniment = "piano" if name == "song" else "accompaniment"
    note = f"{name} -> a {accompaniment} introduction of {bars} bars before the tune enters"
    return replace(plan, intro_bars=bars, notes=[*plan.notes, note])


class TuneWaits:
    """Keeps the tune's part (``tune_part``) out of the first ``intro_bars`` bars (follows ``plan``, the
    piece's :class:`cadenza.compose.constraints.PlanConstraint`)."""

    def __init__(self, plan: Any, tune_part: int, intro_bars: int) -> None:
        self.plan, self.tune, self.intro_bars = plan, tune_part, intro_bars
        self.mask = np.ones(FIELD_SIZES["part"], dtype=bool)
        self.mask[tune_part] = False

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        if field != "part" or chosen.get("kind") != KIND["note"] or self.plan.bars_started > self.intro_bars:
            return None
        return self.mask

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        return None

    def advance(self, step: np.ndarray) -> None:
        return None
