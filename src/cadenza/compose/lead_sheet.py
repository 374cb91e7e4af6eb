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

from cadenza.compose.constraints import note_onset_ticks
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


#: the distinct pitch classes a lead sheet's chord is struck with (a triad's; a seventh chord may add its fourth).
#: Left to the model, 339 of 360 chord-part strikes of 12 lead sheets (seeds 1-12) held fewer: a bass note, an
#: octave, a fifth, so the chord symbols were named from the tune above them (a C7 bar read "Am7/C"); the real
#: Nottingham lead sheets of the craft benchmark strike none so thin
FULL_CHORD_PCS = 3


class FullChords:
    """A lead sheet's chord is struck whole, on its bass: its first note is the symbol's root (or planned bass), and
    once its chord part has struck at an instant, its next notes there are
    the planned chord's missing pitch classes, above, until :data:`FULL_CHORD_PCS` sound or the part is full (its
    polyphony, its range), each leaving room within the hand's reach for the ones still to come. ``plan``: the piece's
    PlanConstraint; ``rules``: its VoiceRules (the chord part, its
    latest notes and the chord symbol in force). Where the rules' window leaves no such pitch, their masks stand
    (:class:`cadenza.compose.constraints.Stacked`)."""

    def __init__(self, plan: Any, rules: Any) -> None:
        self.plan, self.rules = plan, rules

    def _missing(self, grammar: Any) -> list[int] | None:
        """The chord's pitch classes still missing at the current instant, where the chord part has struck there
        and may add a note; None elsewhere."""
        part = self.rules.chord_part
        if part is None or grammar is None or grammar.phase != "music":
            return None
        now = self.plan.bar_start_ticks + grammar.position
        onset, notes = self.rules.latest.get(part, (-1, []))
        if onset != now or not notes or self.plan._full(part):
            return None
        symbol = self.rules.chord_symbol(now)
        if symbol is None:
            return None
        sounding = {p % 12 for _, p in notes}
        if len(sounding) >= min(FULL_CHORD_PCS, len(set(symbol.pcs))):
            return None
        return [pc for pc in symbol.pcs if pc not in sounding]

    def _bass(self, chosen: dict[str, int]) -> np.ndarray | None:
        """A chord's first note (its lowest: a step's notes at one instant come lowest first) is its bass: the
        symbol's root, or the bass the plan gives it (a lead sheet's chords stand on their roots; with the chords
        struck whole the model had put a fifth under its first tonic, F/C)."""
        part = self.rules.chord_part
        if part is None or chosen.get("part") != part or "position_fine" not in chosen:
            return None
        now = note_onset_ticks(self.plan, chosen)
        if self.rules.latest.get(part, (-1, []))[0] == now or (symbol := self.rules.chord_symbol(now)) is None:
            return None
        return np.arange(FIELD_SIZES["pitch"]) % 12 == symbol.bass_pc

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        if field == "pitch" and chosen.get("kind") == KIND["note"] and (bass := self._bass(chosen)) is not None:
            return bass
        if field not in ("kind", "position", "position_fine", "part", "pitch") or (missing := self._missing(grammar)) \
                is None:
            return None
        if field == "kind":
            return np.arange(FIELD_SIZES["kind"]) == KIND["note"]
        if chosen.get("kind") != KIND["note"]:
            return None
        here = grammar.position
        if field == "position":
            return np.arange(FIELD_SIZES["position"]) == here // FINE
        if field == "position_fine":
            return np.arange(FIELD_SIZES["position_fine"]) == here % FINE
        if field == "part":
            return np.arange(FIELD_SIZES["part"]) == self.rules.chord_part
        notes = [p for _, p in self.rules.latest[self.rules.chord_part][1]]
        top, reach = max(notes), self.rules._reach(self.rules.chord_part, self.rules.latest[self.rules.chord_part][1])
        needed = FULL_CHORD_PCS - len({p % 12 for p in notes})  # pitch classes still to come, this one included
        pitches = np.arange(FIELD_SIZES["pitch"])
        fits = np.isin(pitches % 12, missing) & (pitches > top) & (pitches <= reach)
        if needed > 1:  # leave room within the hand's reach for the pitch classes after this one (A E A had none)
            for pitch in np.flatnonzero(fits).tolist():
                later = [q for q in range(pitch + 1, reach + 1) if q % 12 in missing and q % 12 != pitch % 12]
                fits[pitch] = len({q % 12 for q in later}) >= needed - 1
        return fits

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        return None

    def advance(self, step: np.ndarray) -> None:
        return None
