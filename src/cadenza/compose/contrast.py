"""The contrasting phrase moves differently: the b of a a′ b a″ (:func:`cadenza.compose.plan.climax_phrase`)
is written at another pace than the first phrase — twice its motion where the first phrase moved in eighths
or slower, half of it where it ran in sixteenths — the way a composer sets a middle phrase apart by its
rhythm as well as its high point. Left alone the model went on in the first phrase's rhythm to the end (the
4-bar windows of its piano pieces matched each other's onset patterns at 0.90–0.98 cosine; Haydn's and
Mozart's sonatas at 0.75–0.95).

A bias on a new note's position (as the asked density's, :meth:`cadenza.compose.constraints.PlanConstraint.bias`),
in the styles of :data:`CONTRAST_STYLES` and only where no density is asked: an asked density holds throughout.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.compose.constraints import gap_bias
from cadenza.compose.plan import PHRASE_BARS, contrasting_phrases, phrase_starts
from cadenza.listen.features import beat_ticks_of
from cadenza.score.model import TimeSignature
from cadenza.tokens.events import FIELD_SIZES, FINE, KIND, F

CONTRAST_WEIGHT = 2.5  # nats per squared octave between a new note's gap and the contrasting pace (at 1.0 the
# model's own pace won: the piano's windows matched as before)
CONTRAST_FLOOR = 6.0  # at most this many nats against one position
#: the styles whose middle phrase contrasts in pace (a chorale's and a dance tune's pulse runs through)
CONTRAST_STYLES = ("classical", "romantic", "modern", "popular")
BUSY_BEATS = 0.5  # a first phrase whose median gap between onsets is shorter than this is busy: b is calmer


class RhythmContrast:
    """Measures the first phrase's pace (the median gap between the texture's onsets) and leans the notes of
    the contrasting phrase toward the other pace."""

    def __init__(self, plan: Any, bars: int, style: str | None = None, phrase_bars: int = PHRASE_BARS,
                 intro_bars: int = 0) -> None:
        self.plan, self.style = plan, style
        starts = phrase_starts(bars, phrase_bars, intro_bars)  # (an introduction's pace is the first phrase's)
        self.first_phrase_end = starts[1] if len(starts) > 1 else bars  # bars started by the first phrase's end
        self.contrasting = contrasting_phrases(bars, style, phrase_bars, intro_bars)  # the b phrases' bars
        self.first_gaps: list[int] = []
        self.previous_onset: int | None = None
        self.wanted_ticks: float | None = None  # the contrasting phrase's gap, once the first phrase is written

    def _in_contrast(self) -> bool:
        return self.plan.bars_started - 1 in self.contrasting

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        return None

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        plan = self.plan
        if (field != "position" or chosen.get("kind") != KIND["note"] or self.wanted_ticks is None
                or plan.last_onset_ticks is None or plan.density_asked or self.style not in CONTRAST_STYLES
                or not self._in_contrast()):
            return None
        gaps = plan.bar_start_ticks + np.arange(FIELD_SIZES["position"]) * FINE - plan.last_onset_ticks
        return gap_bias(gaps, self.wanted_ticks, CONTRAST_WEIGHT, CONTRAST_FLOOR)

    def advance(self, step: np.ndarray) -> None:
        plan = self.plan
        if int(step[F["kind"]]) != KIND["note"] or plan.last_onset_ticks is None:
            return
        onset = plan.last_onset_ticks
        if self.previous_onset is not None and onset > self.previous_onset \
                and plan.bars_started <= self.first_phrase_end:
            self.first_gaps.append(onset - self.previous_onset)
        self.previous_onset = onset
        if plan.bars_started > self.first_phrase_end and self.wanted_ticks is None and self.first_gaps and plan.meter:
            beat = beat_ticks_of(TimeSignature(0, *plan.meter))
            pace = float(np.median(self.first_gaps))
            self.wanted_ticks = pace * 2 if pace < BUSY_BEATS * beat else pace / 2
