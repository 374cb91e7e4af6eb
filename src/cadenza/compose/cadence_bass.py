"""An authentic cadence stands on the dominant in the bass: in the bar before an authentic arrival, from the strong
beat where the harmony plan puts the dominant (V, V7, or the cadential six-four over it) to the bar line, the
lowest part's notes are the dominant, a note it strikes earlier in the bar on another pitch ends by that beat, and
the bass is drawn to strike there. The dominant is taken in the bass's usual register where the part reaches one
(a song's left hand: from C2, :mod:`cadenza.compose.registers`).

The plan put V7 (or I6/4-V7) in those bars, and the part-writing rules favoured its root in the bass by 2 nats
(:data:`cadenza.compose.rules.BASS_ROOT_NATS`); yet in 16 pieces each with a key asked, the lowest note on the last
beat before an authentic arrival was the dominant in 78% of a chorale's cadences, 75% of a piano piece's, 81% of
a quartet's and 94% of an orchestra's; the others kept the predominant's bass (or the leading tone) under the
dominant, and were heard as IV-I or ii-I (a musician's review: "the final cadence has no dominant in the bass", 7
of 24 pieces). Bach's and the classical masters' authentic cadences stand on it (an absolute rule, so a mask);
with it, 100% of each (a song's 94%: its voice may dip below the piano's left hand).
Where what the mask leaves cannot be written the other rules' masks stand (:class:`cadenza.compose.constraints.
Stacked`); the pull to strike there is a bias, so a bass resting by plan stays silent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.compose.constraints import lasting_at_most, note_onset_ticks
from cadenza.listen.features import beat_ticks_of
from cadenza.score.model import TimeSignature
from cadenza.tokens.events import FIELD_SIZES, FINE, KIND, F

ENTRY_NATS = 3.0  # the bass's pull to strike at the dominant's beat, and the cost of passing it without the bass


class DominantBass:
    """See the module docstring; ``plan``: the piece's PlanConstraint, ``rules``: its VoiceRules (the cadence and
    harmony plans, the lowest part and what sounds)."""

    def __init__(self, plan: Any, rules: Any, usual_low: int | None = None) -> None:
        self.plan, self.rules = plan, rules
        self.usual_low = usual_low  # the bass's usual register starts here: its dominant is taken from there if it can
        self._bar: tuple[int, tuple[int, int, int] | None] | None = None  # (bar index, its target)
        self.struck_at = -1  # the tick where the bass last struck a dominant at or after the target's beat

    def target(self) -> tuple[int, int, int] | None:
        """(the dominant's first tick, the bar's end tick, the dominant's pitch class) in the bar before an
        authentic arrival, else None."""
        plan, rules = self.plan, self.rules
        bar = plan.bars_started - 1
        if self._bar is not None and self._bar[0] == bar:
            return self._bar[1]
        found = None
        cadences, harmony = rules.cadences, rules.harmony
        if cadences is not None and harmony is not None and plan.meter is not None and bar >= 0 \
                and dict(cadences.phrase_ends).get(bar + 1) == "authentic":
            dominant = (cadences.key.tonic_pc + 7) % 12
            bar_ticks = plan.bar_ticks_now or TimeSignature(0, *plan.meter).bar_ticks
            beat = beat_ticks_of(TimeSignature(0, *plan.meter))
            starts = harmony.slot_ticks(bar_ticks, beat)
            basses = [c.bass_pc if (c := harmony.chord_at(bar, slot)) is not None else -1
                      for slot in range(len(starts))]
            if bar in harmony.last_beat:
                starts.append(bar_ticks - beat)
                basses.append(harmony.last_beat[bar].bass_pc)
            first = len(basses)
            while first > 0 and basses[first - 1] == dominant:
                first -= 1
            if first < len(basses):
                found = (plan.bar_start_ticks + starts[first], plan.bar_start_ticks + bar_ticks, dominant)
        self._bar = (bar, found)
        return found

    def _first_at_instant(self, now: int) -> bool:
        latest = self.rules.latest.get(self.rules.lowest)
        return latest is None or latest[0] != now

    def _bass_there(self, start: int, dominant: int) -> bool:
        """Whether the bass strikes or holds the dominant at ``start`` already."""
        if self.struck_at >= start:
            return True
        held = self.rules.latest.get(self.rules.lowest)
        return held is not None and any(end > start and pitch % 12 == dominant for end, pitch in held[1])

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        if chosen.get("kind") != KIND["note"] or chosen.get("part") != self.rules.lowest \
                or field not in ("pitch", "duration", "duration_fine") or (target := self.target()) is None:
            return None
        start, end, dominant = target
        now = note_onset_ticks(self.plan, chosen)
        if field == "pitch":
            if start <= now < end and self._first_at_instant(now):  # the bass note: the dominant
                pitches = np.arange(FIELD_SIZES["pitch"])
                tones = pitches % 12 == dominant
                usual = tones & (pitches >= (self.usual_low or 0))
                low, high = self.plan._range(self.rules.lowest)
                return usual if np.count_nonzero(usual[low:high + 1]) else tones
            return None
        if now >= start or chosen["pitch"] % 12 == dominant:
            return None
        return lasting_at_most(field, chosen, start - now)  # another pitch struck before the dominant's beat ends by it

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        if field not in ("part", "position") or chosen.get("kind") != KIND["note"] \
                or (target := self.target()) is None or self._bass_there(target[0], target[2]):
            return None
        start = target[0]
        if field == "position":  # passing the dominant's beat without the bass costs
            later = np.arange(FIELD_SIZES["position"]) * FINE + self.plan.bar_start_ticks > start
            return np.where(later, -ENTRY_NATS, 0.0).astype(np.float32)
        if note_onset_ticks(self.plan, chosen) != start:
            return None
        out = np.zeros(FIELD_SIZES["part"], dtype=np.float32)
        out[self.rules.lowest] = ENTRY_NATS  # at the beat: the bass strikes
        return out

    def advance(self, step: np.ndarray) -> None:
        """Notes where the bass struck the dominant at or after the target's beat (the plan advances first)."""
        if int(step[F["kind"]]) != KIND["note"] or int(step[F["part"]]) != self.rules.lowest \
                or (target := self.target()) is None:
            return
        now = self.plan.last_onset_ticks
        if now is not None and now >= target[0] and int(step[F["pitch"]]) % 12 == target[2]:
            self.struck_at = now
