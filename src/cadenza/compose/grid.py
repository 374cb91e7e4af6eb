"""The notation grid: onsets and lengths where a score writes them (32nd notes and eighth-note triplets, or
32nd notes alone in a compound meter), so that the MusicXML of a piece has no tuplets nobody asked for."""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.listen.features import beat_ticks_of
from cadenza.score.model import TICKS_PER_QUARTER, TimeSignature
from cadenza.tokens.events import FIELD_SIZES, FINE, KIND

#: the notation grid, in steps of FINE ticks: 32nd notes (6 steps) and eighth-note triplets (16 steps)
GRID_STEPS = (6, 16)
#: ... in a compound meter (6/8, 9/8, 12/8), whose beat is already three eighths: 32nd notes only (a quartet in
#: 6/8 wrote eighth-note triplets there, a duplet feel no classical quartet asks for: 16 tuplet marks on a page)
COMPOUND_GRID_STEPS = (6,)


def _grid(steps: tuple[int, ...]) -> dict[str, np.ndarray]:
    masks = {field: np.logical_or.reduce([np.arange(FIELD_SIZES[field]) % g == 0 for g in steps])
             for field in ("position", "duration")}
    masks["duration"][0] = False  # a note lasts
    return masks


_ON_GRID, _ON_COMPOUND_GRID = _grid(GRID_STEPS), _grid(COMPOUND_GRID_STEPS)
_FIRST_ONLY = {field: np.arange(FIELD_SIZES[field]) == 0 for field in ("position_fine", "duration_fine", "tie")}
for _mask in (*_ON_GRID.values(), *_ON_COMPOUND_GRID.values(), *_FIRST_ONLY.values()):
    _mask.setflags(write=False)  # shared by every call: never changed in place


class NotationGrid:
    """Onsets and lengths on the grid a score is written in (32nd notes and eighth-note triplets; no triplets in a
    compound meter): an event
    model's odd offsets (a note 61 ticks before the bar line) otherwise become tuplets and 128th notes in the
    MusicXML that nobody asked for (sixteenth-note triplets too: 286 tuplet marks in one lively piano piece).
    ``plan`` (the piece's PlanConstraint) says whether the current instant is still open: if not, its coarse
    position is no grid point for the next note."""

    def __init__(self, plan: Any) -> None:
        self.plan = plan
        meter = plan.meter
        compound = meter is not None and beat_ticks_of(TimeSignature(0, *meter)) != TICKS_PER_QUARTER * 4 // meter[1]
        self.grid = _ON_COMPOUND_GRID if compound else _ON_GRID  # (the model's own meter: the simple grid)

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        if field == "kind":
            return self._kinds(grammar)
        if chosen.get("kind") != KIND["note"]:
            return None
        if field == "duration":
            return self.grid["duration"]
        if field == "position":
            on_grid = self.grid["position"]
            here = grammar.position // FINE
            if grammar.position % FINE == 0 and on_grid[here]:
                fine = self.plan.allowed("position_fine", {**chosen, "position": here}, grammar)
                if fine is not None and not fine[0]:  # the instant is closed: the next grid point
                    on_grid = on_grid.copy()
                    on_grid[here] = False
            return on_grid
        # fine offsets and lengths are 0; a tie only continues a note longer than the duration field, never on
        # the grid (a tied step would merge a later note into it)
        return _FIRST_ONLY.get(field)

    def _kinds(self, grammar: Any) -> np.ndarray | None:
        """No note where none could land on the grid: when the plan (its density, the instant being full)
        leaves only off-grid instants before the bar line (a note a cell before it, or a few ticks after the
        instant), the bar ends instead; the sampler would otherwise drop the grid and write those notes, in
        runs a tick apart."""
        if self.plan.meter is None or not self.plan.bar_ticks_now or not self.plan.bars_started:
            return None  # no bar yet: its length is not known
        note = {"kind": KIND["note"], "label": 0}
        reachable = grammar.allowed("position", note) & self.allowed("position", note, grammar)
        planned = self.plan.allowed("position", note, grammar)
        if planned is not None:
            reachable &= planned
        if np.count_nonzero(reachable):
            return None
        mask = np.zeros(FIELD_SIZES["kind"], dtype=bool)
        mask[KIND["eos"] if self.plan.bars_started >= self.plan.bars else KIND["bar"]] = True
        return mask

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        return None

    def advance(self, step: np.ndarray) -> None:
        return None
