"""A lead sheet's chord part, played as a player reads chord symbols: block chords struck on the beats only,
one at every change of the harmony plan (no note and no bar line past a change before its chord is there),
each held to the next by :func:`cadenza.compose.finish.block_chords`. Where the melody cannot come (it has
struck this instant, or holds a phrase's arrival) and no beat falls, no note comes: the next beat, or the bar
line. (Chords struck only where the harmony changes made the model put its chord-part onsets into the tune
instead, which then leapt: a lead sheet's step share 0.55 -> 0.39; on every beat it is 0.57.)

A mixin of :class:`cadenza.compose.rules.VoiceRules`, which calls it before its part-writing limits; it reads
the rules' state (the plan constraint, the harmony plan, the parts' latest notes and windows).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.listen.features import beat_ticks_of
from cadenza.score.model import TICKS_PER_QUARTER, TimeSignature
from cadenza.tokens.events import FIELD_SIZES, FINE, KIND


class ChordPartRules:
    """The chord part's limits (see the module docstring); ``chord_part`` None: no lead sheet, no limits."""

    chord_part: int | None
    plan: Any
    harmony: Any
    latest: dict[int, tuple[int, list[tuple[int, int]]]]
    polyphony: list[int]
    cadences: Any
    group_of: dict[int, Any]
    arrival_beats: int
    theme: Any = None  # the returning theme (cadenza.compose.returns.ThemeReturn), where the piece has one

    def _bar_index(self) -> int:
        raise NotImplementedError

    def _window(self, part: int, now: int) -> tuple[int, int]:
        raise NotImplementedError

    def _changes(self) -> list[int]:
        """Ticks into the current bar where the harmony plan's chords change: its downbeat, and with two
        chords a bar the first beat at or after its middle."""
        harmony, meter, length = self.harmony, self.plan.meter, self.plan.bar_ticks_now
        if harmony is None or meter is None or not length or harmony.strong_per_bar == 1:
            return [0]
        beat = beat_ticks_of(TimeSignature(0, *meter))
        return [0, -(-length // 2 // beat) * beat]

    def _pulse(self) -> int:
        """Ticks between the beats a lead sheet's chords may be struck on (a beat; a quarter before the meter)."""
        meter = self.plan.meter
        return beat_ticks_of(TimeSignature(0, *meter)) if meter is not None else TICKS_PER_QUARTER

    def _chord_changes_kept(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        """A lead sheet's chord part strikes a chord at every change of the harmony (and, if it likes, on other
        beats, never between them): no note after a change (and no bar line) before its chord is there; where
        the melody cannot come (it has struck this instant, or holds a phrase's arrival) and no beat falls, no
        note comes: the next beat, or the bar line."""
        if chosen.get("kind", KIND["note"]) != KIND["note"] and field != "kind":
            return None
        start, here, length = self.plan.bar_start_ticks, grammar.position, self.plan.bar_ticks_now
        if not length or self.chord_part is None:
            return None
        struck = self.latest.get(self.chord_part, (-1, []))[0]
        changes = self._changes()
        pending = [c for c in changes if c >= here and start + c > struck]
        cells = np.arange(FIELD_SIZES["position"]) * FINE
        others = [p for p in range(len(self.polyphony)) if p != self.chord_part and p not in self.plan.drums]
        busy = np.zeros(len(cells), dtype=bool)
        if all(self.latest.get(p, (-1, []))[0] == start + here for p in others):
            busy |= cells == here
        if self.theme is not None and (fixed := self.theme.melody_onsets()) is not None:
            busy |= ~np.isin(cells, list(fixed))  # a returning bar's melody strikes the theme's onsets only
        if self.cadences is not None and self.cadences.arrival_at(self._bar_index()) is not None:
            meter = TimeSignature(0, *(self.plan.meter or (4, 4)))
            busy |= (cells > 0) & (cells < self.arrival_beats * beat_ticks_of(meter))
        open_cells = ~busy | (cells % self._pulse() == 0)
        if field == "kind":
            mask = np.ones(FIELD_SIZES["kind"], dtype=bool)
            if pending:
                mask[[KIND["bar"], KIND["eos"]]] = False
            elif not (open_cells & (cells > here) & (cells < length)).any() and not (
                    here % self._pulse() == 0 and self._chord_has_room(start + here)) and busy[here // FINE]:
                mask[KIND["note"]] = False  # nothing can come before the bar line
            return mask
        if field == "position":
            return open_cells & (cells <= pending[0]) if pending else open_cells
        if not pending or chosen["position"] < pending[0] // FINE:
            return None
        return np.arange(FIELD_SIZES["position_fine"]) <= pending[0] % FINE

    def _chord_has_room(self, now: int) -> bool:
        """Whether the chord part may add a note to its chord at ``now`` (as the plan and the windows allow)."""
        part = self.chord_part
        if part is None or self.plan._full(part):
            return False
        onset, notes = self.latest.get(part, (-1, []))
        return onset != now or not notes or part not in self.group_of or max(p for _, p in notes) < self._window(
            part, now)[1]
