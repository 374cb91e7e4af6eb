"""The notation grid: onsets and lengths where a score writes them (32nd notes and eighth-note triplets, or
32nd notes alone in a compound meter), so that the MusicXML of a piece has no tuplets nobody asked for.

Each quarter is written either in triplets or in duple values, never both: the first onset or note end inside a
quarter that lies on one grid only (a sixteenth's point, or a triplet eighth's) sets the quarter's grid for every
part (a tense quartet wrote a note on a sixteenth and the next a triplet eighth later, 1/12 of a quarter apart:
a 12-tuplet on every staff). A triplet begins with its beat: a part strikes a triplet eighth's point only after
an onset of its own at the quarter's start (or, for the third eighth, at the second), so a triplet is a figure
and not a lone syncopation (a sad chorale's tenor held a note into a triplet eighth after the beat: 6 1/3
quarters, engraved as a tuplet over a breve). A triplet value is an eighth or a quarter of the triplet, no
longer.

The grid is as fine as the tempo lets a player play: no value shorter than :data:`SHORTEST_NOTE_S` (32nd notes
up to 100 bpm, sixteenths up to 200, triplet eighths up to 266). A joyful lead sheet in 3/8 at 155 bpm ran its
tune in 32nd notes, twenty notes a second, and a joyful chorale's voices sang 32nds at 0.048 s a note."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from cadenza.score.model import TICKS_PER_QUARTER, TimeSignature
from cadenza.tokens.events import FIELD_SIZES, FINE, KIND, F

#: the finest notation grid, in steps of FINE ticks: 32nd notes (6 steps) and eighth-note triplets (16 steps);
#: in a compound meter (6/8, 9/8, 12/8), whose beat is already three eighths, no triplets (a quartet in 6/8 wrote
#: eighth-note triplets there, a duplet feel no classical quartet asks for: 16 tuplet marks on a page)
GRID_STEPS = (6, 16)
QUARTER_STEPS = TICKS_PER_QUARTER // FINE  # 48
TRIPLET_LENGTHS = (16, 32)  # the triplet values a note may have: a triplet eighth or quarter
#: the shortest value a line is written in at its tempo, in seconds (a sixteenth at 200 bpm): about the fastest
#: run a player keeps up
SHORTEST_NOTE_S = 0.075
#: ... and that a voice sings (the fastest melismas of Handel's choruses: sixteenths near 120 bpm); a choir's
#: joyful chorale at 155 bpm sang runs of sixteenths, 0.097 s a note
SUNG_SHORTEST_S = 0.12
SUNG_PROGRAMS = (52, 53, 54)  # General MIDI choir aahs, voice oohs, synth voice: parts that are sung
OFF_BEAT_HELD_NATS = 2.0  # a compound meter's off-beat note held past the next beat line (NotationGrid.bias)
DUPLE_UNITS = (6, 12, 24, 48)  # the duple values the grid may be made of: 32nds, 16ths, eighths, quarters
#: what a point inside a quarter (steps 0..47) says of the quarter's grid: 0 either (its start), DUPLE (on the
#: 32nd-note grid only), TRIPLET (on the triplet grid only), -1 neither
DUPLE, TRIPLET = 1, 2
_POINT_KIND = np.full(QUARTER_STEPS, -1)
_POINT_KIND[::6], _POINT_KIND[::16], _POINT_KIND[0] = DUPLE, TRIPLET, 0
_POINT_KIND.setflags(write=False)
#: ... repeated over the longest span asked about (a bar's positions, a note's lengths) from any point of a quarter
_TILED_KIND = np.tile(_POINT_KIND, max(FIELD_SIZES["position"], FIELD_SIZES["duration"]) // QUARTER_STEPS + 2)
_TILED_KIND.setflags(write=False)


@cache
def _grid(steps: tuple[int, ...]) -> dict[str, np.ndarray]:
    masks = {field: np.logical_or.reduce([np.arange(FIELD_SIZES[field]) % g == 0 for g in steps])
             for field in ("position", "duration")}
    masks["duration"][0] = False  # a note lasts
    for mask in masks.values():
        mask.setflags(write=False)
    return masks


@cache
def _note_values(unit: int) -> np.ndarray:
    """The note values of the simple grid of duple ``unit`` (steps): whole units, or a triplet eighth or quarter."""
    values = _grid((unit, 16))["duration"] & ((_LENGTHS % unit == 0) | np.isin(_LENGTHS, TRIPLET_LENGTHS))
    values.setflags(write=False)
    return values


def playable_grid(bpm: float | None, shortest_s: float = SHORTEST_NOTE_S) -> tuple[int, bool]:
    """The finest duple value (in steps, :data:`DUPLE_UNITS`) and whether triplet eighths are written, at a tempo
    of ``bpm`` quarters a minute (None: not known, the finest grid): no value under ``shortest_s`` seconds
    (:data:`SHORTEST_NOTE_S`, or :data:`SUNG_SHORTEST_S` for a voice)."""
    if bpm is None or bpm <= 0:
        return DUPLE_UNITS[0], True
    step_s = 60.0 / bpm / QUARTER_STEPS
    unit = next((u for u in DUPLE_UNITS if u * step_s >= shortest_s), DUPLE_UNITS[-1])
    return unit, TRIPLET_LENGTHS[0] * step_s >= shortest_s


def sung_parts(programs: list[int]) -> frozenset[int]:
    """The parts of an ensemble (by General MIDI program) that are sung (:data:`SUNG_PROGRAMS`)."""
    return frozenset(i for i, program in enumerate(programs) if program in SUNG_PROGRAMS)


def shortest_gap_ticks(bpm: float | None, parts: int, sung: frozenset[int]) -> int:
    """The shortest time between onsets any of ``parts`` parts may take at ``bpm``: a played part's finest value,
    a sung part's where every part is sung."""
    shortest_s = SUNG_SHORTEST_S if parts and len(sung) >= parts else SHORTEST_NOTE_S
    return playable_grid(bpm, shortest_s)[0] * FINE


#: the positions in a bar where the finest notation grid lets a note start (in any meter, at any tempo)
ON_GRID_POSITIONS = _grid(GRID_STEPS)["position"]
_LENGTHS = np.arange(FIELD_SIZES["duration"])
_FIRST_ONLY = {field: np.arange(FIELD_SIZES[field]) == 0 for field in ("position_fine", "duration_fine", "tie")}
for _mask in _FIRST_ONLY.values():
    _mask.setflags(write=False)  # shared by every call: never changed in place


def grid_steps(meter: tuple[int, int] | None, bpm: float | None,
               shortest_s: float = SHORTEST_NOTE_S) -> tuple[int, ...]:
    """The grid a piece in ``meter`` at ``bpm`` is written on (steps of FINE ticks): its finest playable duple
    value, and triplet eighths where the meter is simple and they are playable (see :func:`playable_grid`)."""
    unit, triplets = playable_grid(bpm, shortest_s)
    compound = meter is not None and TimeSignature(0, *meter).is_compound
    return (unit, TRIPLET_LENGTHS[0]) if triplets and not compound else (unit,)


def on_grid_positions(plan: Any) -> np.ndarray:
    """The positions in a bar where a note may start on ``plan``'s grid (its meter and tempo so far)."""
    return _grid(grid_steps(getattr(plan, "meter", None), getattr(plan, "tempo_bpm", None)))["position"]


def later_on_grid(plan: Any, ticks: int) -> np.ndarray:
    """The positions of the bar after ``ticks`` into it where a note may start on ``plan``'s grid."""
    return (np.arange(FIELD_SIZES["position"]) * FINE > ticks) & on_grid_positions(plan)


class NotationGrid:
    """Onsets and lengths on the grid a score is written in (32nd notes and eighth-note triplets; no triplets in a
    compound meter): an event
    model's odd offsets (a note 61 ticks before the bar line) otherwise become tuplets and 128th notes in the
    MusicXML that nobody asked for (sixteenth-note triplets too: 286 tuplet marks in one lively piano piece).
    ``plan`` (the piece's PlanConstraint) says whether the current instant is still open: if not, its coarse
    position is no grid point for the next note."""

    def __init__(self, plan: Any) -> None:
        self.plan = plan
        self.sung: frozenset[int] = getattr(plan, "sung", frozenset())  # parts sung (SUNG_SHORTEST_S)
        self.tempo(getattr(plan, "tempo_bpm", None))
        self.quarters: dict[int, int] = {}  # quarter (from the piece's start) -> DUPLE or TRIPLET, once set
        # the latest quarter with onsets: (quarter, {triplet point 0 or 16: parts with an onset there})
        self.struck: tuple[int, dict[int, set[int]]] = (-1, {})

    def tempo(self, bpm: float | None) -> None:
        """Make the grid as fine as a player plays at ``bpm`` (see :func:`playable_grid`)."""
        self.bpm = bpm
        steps, sung = grid_steps(self.plan.meter, bpm), grid_steps(self.plan.meter, bpm, SUNG_SHORTEST_S)
        if self.sung and len(self.sung) >= len(getattr(self.plan, "ranges", ())):  # a choir: the voices' grid
            steps = sung
        self.unit, self.triplets = steps[0], len(steps) > 1
        self.grid = _grid(steps)
        self.sung_unit, self.sung_triplets = sung[0], len(sung) > 1  # (a voice's grid is never the finer)
        self.sung_differs = bool(self.sung) and sung != steps
        self.sung_lengths = _grid(sung)["duration"]

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        if field == "kind":
            return self._kinds(grammar)
        if chosen.get("kind") != KIND["note"]:
            return None
        if field == "duration" and self.sung_differs and int(chosen.get("part", -1)) in self.sung:
            lengths = self._lengths(chosen) if self.triplets else self.grid["duration"]
            return lengths & self.sung_lengths  # (a sung part's onset lies on its grid: so does its end)
        if field == "duration":
            return self._lengths(chosen) if self.triplets else self.grid["duration"]
        if field == "position":
            on_grid = self.grid["position"]
            here = grammar.position // FINE
            if grammar.position % FINE == 0 and on_grid[here]:
                fine = self.plan.allowed("position_fine", {**chosen, "position": here}, grammar)
                if fine is not None and not fine[0]:  # the instant is closed: the next grid point
                    on_grid = on_grid.copy()
                    on_grid[here] = False
            if self.triplets:
                first = self._bar_start_steps()
                on_grid = on_grid & self._triplet_figures(first, len(on_grid))
                if self.quarters:
                    on_grid = on_grid & self._fits_quarters(first, len(on_grid))
            return on_grid
        if field == "part":
            point = self._bar_start_steps() + int(chosen.get("position", 0))
            parts = self._triplet_parts(point) if self.triplets else None
            return self._unsung(point, parts)
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

    def _starters(self, point: int) -> set[int]:
        """The parts that may strike at ``point`` if it is a triplet eighth's (16 or 32 steps into its quarter):
        those with an onset at an earlier point of the triplet in the quarter."""
        quarter, offset = divmod(point, QUARTER_STEPS)
        onsets = self.struck[1] if self.struck[0] == quarter else {}
        return {part for at, parts in onsets.items() if at < offset for part in parts}

    def _triplet_figures(self, start: int, count: int) -> np.ndarray:
        """Which of the ``count`` points from ``start`` (steps from the piece's start) a note may start at:
        every one but a triplet eighth's that no part's figure leads to (see :meth:`_starters`)."""
        fits = _TILED_KIND[start % QUARTER_STEPS:start % QUARTER_STEPS + count] != TRIPLET
        quarter = self.struck[0]  # (a later quarter has nothing struck yet)
        for offset in (16, 32):
            index = quarter * QUARTER_STEPS + offset - start
            if 0 <= index < count:
                fits[index] = bool(self._starters(start + index))
        return fits

    def _unsung(self, point: int, parts: np.ndarray | None) -> np.ndarray | None:
        """``parts`` (None: any) without the sung ones where ``point`` is too fast a value for a voice."""
        if not self.sung_differs:
            return parts
        offset = point % QUARTER_STEPS
        too_fast = not self.sung_triplets if _POINT_KIND[offset] == TRIPLET else offset % self.sung_unit != 0
        if not too_fast:
            return parts
        mask = np.ones(FIELD_SIZES["part"], dtype=bool) if parts is None else parts.copy()
        mask[sorted(self.sung)] = False
        return mask

    def _triplet_parts(self, point: int) -> np.ndarray | None:
        if _POINT_KIND[point % QUARTER_STEPS] != TRIPLET:
            return None
        mask = np.zeros(FIELD_SIZES["part"], dtype=bool)
        mask[sorted(self._starters(point))] = True
        return mask

    def _bar_start_steps(self) -> int:
        return int(getattr(self.plan, "bar_start_ticks", 0)) // FINE

    def _fits_quarters(self, start: int, count: int, onset: int | None = None) -> np.ndarray:
        """Which of the ``count`` points from ``start`` (steps from the piece's start) agree with their
        quarter's grid, as set so far (and by a note's ``onset``, for its end)."""
        first, skip = divmod(start, QUARTER_STEPS)
        spanned = (skip + count + QUARTER_STEPS - 1) // QUARTER_STEPS
        table = np.array([self.quarters.get(q, 0) for q in range(first, first + spanned)], dtype=_POINT_KIND.dtype)
        if onset is not None and _POINT_KIND[onset % QUARTER_STEPS] > 0 \
                and 0 <= onset // QUARTER_STEPS - first < spanned and not table[onset // QUARTER_STEPS - first]:
            table[onset // QUARTER_STEPS - first] = _POINT_KIND[onset % QUARTER_STEPS]
        wanted = np.repeat(table, QUARTER_STEPS)[skip:skip + count]  # each point's quarter's grid (0: not set)
        kinds = _TILED_KIND[skip:skip + count]
        return (kinds == 0) | (wanted == 0) | (kinds == wanted)

    def _lengths(self, chosen: dict[str, int]) -> np.ndarray:
        """Note lengths on the grid whose end is a grid point agreeing with its quarter's grid: a duple value
        (whole 32nds), or a triplet eighth or quarter."""
        onset = self._bar_start_steps() + int(chosen.get("position", 0))
        size = FIELD_SIZES["duration"]
        ends_on_grid = _TILED_KIND[onset % QUARTER_STEPS:onset % QUARTER_STEPS + size] >= 0
        return _note_values(self.unit) & ends_on_grid & self._fits_quarters(onset, size, onset)

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        """In a compound meter, a note struck off its beat pays :data:`OFF_BEAT_HELD_NATS` for sounding past the
        next beat line: the model held a jig's off-beat eighths into the next beat as quarters, three to a 6/8
        bar (in 40 Nottingham jigs 0.07% of the tune's notes do, in 12 of our folk tunes in 6/8 1.9%)."""
        meter = self.plan.meter
        if field != "duration" or chosen.get("kind") != KIND["note"] or meter is None:
            return None
        signature = TimeSignature(0, *meter)
        if not signature.is_compound:
            return None
        beat = signature.beat_ticks // FINE
        bar_now = getattr(self.plan, "bar_ticks_now", 0) // FINE
        shift = signature.bar_ticks // FINE - bar_now if 0 < bar_now < signature.bar_ticks // FINE \
            and getattr(self.plan, "bars_started", 0) == 1 else 0  # a pickup's beats count back from its end
        into = (int(chosen.get("position", 0)) + shift) % beat
        if into == 0:
            return None
        out = np.zeros(FIELD_SIZES["duration"], dtype=np.float32)
        out[beat - into + 1:] = -OFF_BEAT_HELD_NATS
        return out

    def advance(self, step: np.ndarray) -> None:
        """A note's onset and end set the grid of their quarters, where they lie on one grid only; a tempo the
        model writes sets how fine the grid is."""
        if getattr(self.plan, "tempo_bpm", None) != self.bpm:  # (the plan, advanced first, has read the tempo,
            self.tempo(getattr(self.plan, "tempo_bpm", None))  # or set the default one at the first note)
        if not self.triplets or int(step[F["kind"]]) != KIND["note"] or step[F["position_fine"]]:
            return
        onset = self._bar_start_steps() + int(step[F["position"]])
        quarter, offset = divmod(onset, QUARTER_STEPS)
        if offset in (0, 16):
            if self.struck[0] != quarter:
                self.struck = (quarter, {})
            self.struck[1].setdefault(offset, set()).add(int(step[F["part"]]))
        for point in (onset, onset + int(step[F["duration"]])):
            kind = int(_POINT_KIND[point % QUARTER_STEPS])
            if kind > 0:
                self.quarters.setdefault(point // QUARTER_STEPS, kind)
