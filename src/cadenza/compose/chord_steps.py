"""The harmony plan written into the music as chord steps, for a model that reads them.

A model of today's event vocabulary (:mod:`cadenza.tokens.events`) learned every work with the chords
``listen`` hears in it: each bar's header holds a chord step wherever the chord changes (with the cadence it
completes), and then the bar's notes follow. So the composer tells it the plan the same way: after each bar
line, :class:`PlannedChords` writes the harmony plan's chords for that bar (:mod:`cadenza.compose.harmony`)
as the bar's chord steps, where the planned chord changes, the arrival of each planned cadence marked with its
kind, and the model then writes notes that the plan would be heard in — the way a composer realises a figured
plan, not a sampler pushed note by note.

The plan's chords are written where the form needs them (:data:`ARRIVALS_ONLY`): in the first bar, which
states the key, and in each phrase's arrival bar and the bar that leads into it, the cadence; in the bars
between, the model writes chord steps of its own (the part-writing rules still lean the notes on the beats to
the plan's chords). Where the plan leaves the weak beats to the model
(:data:`cadenza.compose.rules.WEAK_BEATS_FREE`), the model may put chords of its own between the planned ones;
elsewhere a planned bar holds the plan's chords alone. Before the plan is made (a key left to the model is
heard in the first bars) the model writes its own. A model of the first vocabulary never gets chord steps
(``EventTransformer.chord_events``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.compose.constraints import only_value
from cadenza.compose.harmony import quality_of
from cadenza.compose.plan import Chord
from cadenza.listen.features import beat_ticks_of
from cadenza.score.model import TimeSignature
from cadenza.tokens.events import CADENCES, FIELD_SIZES, FINE, KIND, F, chord_value
from cadenza.tokens.grammar import Grammar

#: the plan's chords only in the first bar and around each arrival, the model's own between. Measured with the
#: first model that reads chords (1,000 steps on one CPU core from the shipped model; issue 18), 32 classical
#: quartets against the held-out ones: 90% of the craft measures inside (every bar planned: 85%; the shipped
#: model: 85%), planned cadences heard 95.3% (96.9%; 87.5%); and the README's quartet request (seeds 1-3) wrote
#: 147, 241 and 315 notes in 16 bars, where with every bar planned it wrote 128, 137 and 309 (held notes)
ARRIVALS_ONLY = True


def chord_step_value(chord: Chord) -> int:
    """A planned chord's value in a chord step (:func:`cadenza.tokens.events.chord_value`): its root and the
    quality its pitch classes make (a triad where they match none)."""
    third = 3 in {(pc - chord.root) % 12 for pc in chord.pcs}
    return chord_value(chord.root, quality_of(chord) or ("min" if third else "maj"))


class PlannedChords:
    """A constraint (see :class:`cadenza.model.sample.Constraint`) that writes the harmony plan of ``rules``
    (:class:`cadenza.compose.rules.VoiceRules`) into each bar's header; ``free_weak_beats``: the model may add
    chords of its own between the planned ones."""

    def __init__(self, rules: Any, free_weak_beats: bool = False, arrivals_only: bool | None = None) -> None:
        self.rules = rules
        self.free_weak_beats = free_weak_beats
        self.arrivals_only = ARRIVALS_ONLY if arrivals_only is None else arrivals_only
        self.last_value = 0  # the chord step written last (0: none yet)
        self._bar: tuple[int, list[tuple[int, int, int]]] | None = None  # (bar index, its planned chords)

    def _planned(self) -> list[tuple[int, int, int]] | None:
        """The current bar's planned chords as (ticks into the bar, value, cadence), None before the plan."""
        rules = self.rules
        harmony, meter = rules.harmony, rules.plan.meter
        bar = rules.plan.bars_started - 1
        if harmony is None or meter is None or bar < 0 or bar >= rules.bars:
            return None
        if self.arrivals_only and not self._at_an_arrival(bar):
            return None  # the model's own harmony
        if self._bar is not None and self._bar[0] == bar:
            return self._bar[1]
        signature = TimeSignature(0, *meter)
        bar_ticks = rules.plan.bar_ticks_now or signature.bar_ticks
        beat = beat_ticks_of(signature)
        arrivals = dict(rules.cadences.phrase_ends) if rules.cadences is not None else {}
        chords: list[tuple[int, int, int]] = []
        for slot, at in enumerate(harmony.slot_ticks(bar_ticks, beat)):  # each slot's first beat (as the rules)
            planned = harmony.chord_at(bar, slot)
            if planned is not None and (not chords or chords[-1][0] < at):
                cadence = arrivals.get(bar) if slot == 0 else None
                chords.append((at, chord_step_value(planned), CADENCES.index(cadence) + 1 if cadence else 0))
        if bar in harmony.last_beat and bar_ticks - beat > (chords[-1][0] if chords else -1):
            chords.append((bar_ticks - beat, chord_step_value(harmony.last_beat[bar]), 0))
        self._bar = (bar, chords)
        return chords

    def _at_an_arrival(self, bar: int) -> bool:
        """Whether ``bar`` (0-based) is the first bar, a phrase's arrival bar or the bar that leads into one."""
        cadences = self.rules.cadences
        ends = {last for last, _ in cadences.phrase_ends} if cadences is not None else set()
        return bar == 0 or bar in ends or bar + 1 in ends

    def _next(self, grammar: Grammar) -> tuple[int, int, int] | None:
        """The next planned chord this bar's header must still hold: the first after the header's last chord
        that changes the harmony (a chord held from before needs no step)."""
        planned = self._planned()
        if not planned:
            return None
        last = self.last_value
        for at, value, cadence in planned:
            if at <= grammar.chord_at:
                last = value if at == grammar.chord_at else last
                continue
            if value != last:
                return at, value, cadence
            last = value
        return None

    def allowed(self, field: str, chosen: dict[str, int], grammar: Grammar) -> np.ndarray | None:
        if grammar.phase != "music" or not grammar.in_bar_header():
            return None
        if field == "kind":
            if self._planned() is None:
                return None  # no plan yet: the model writes its own harmony
            size = FIELD_SIZES["kind"]
            if self._next(grammar) is not None:
                return only_value(size, KIND["chord"])
            if self.free_weak_beats:
                return None
            mask = np.ones(size, dtype=bool)
            mask[KIND["chord"]] = False
            return mask
        if chosen.get("kind") != KIND["chord"]:
            return None
        nxt = self._next(grammar)
        if nxt is None:
            return None
        at, value, cadence = nxt
        if field == "position":
            if not self.free_weak_beats:
                return only_value(FIELD_SIZES["position"], at // FINE)
            mask = np.zeros(FIELD_SIZES["position"], dtype=bool)
            mask[:at // FINE + 1] = True
            return mask
        if field == "position_fine":
            if chosen["position"] != at // FINE:
                return None
            if not self.free_weak_beats:
                return only_value(FINE, at % FINE)
            mask = np.zeros(FINE, dtype=bool)
            mask[:at % FINE + 1] = True
            return mask
        if chosen["position"] * FINE + chosen["position_fine"] != at:
            return None  # a chord of the model's own, before the planned one
        if field == "value":
            return only_value(FIELD_SIZES["value"], value)
        if field == "value_fine":
            return only_value(FIELD_SIZES["value_fine"], cadence)
        return None

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        return None

    def advance(self, step: np.ndarray) -> None:
        if int(step[F["kind"]]) == KIND["chord"]:
            self.last_value = int(step[F["value"]])
