"""The event grammar: which step may follow which, field by field, for constrained sampling.

A sequence is ``bos``, labels, parts (numbered 0, 1, … in order), then the music: a ``bar`` first, then
bars, meter/key/tempo changes and notes in time order within each bar, then ``eos``. Within a bar positions
never go back and stay inside the bar; a time signature only at a bar's start; at one instant the steps
come in the encoder's order (meter, key, tempo, notes by part and pitch); notes only in declared parts,
with a duration and a velocity. A bar's chords come in its header, after the meter, key and tempo at its start
and before anything else, in the order of their positions inside the bar. Fields a kind does not use are 0.

``Grammar`` tracks a sequence as it grows: ``allowed(field, chosen)`` gives the values the field may take
given the fields already chosen for this step (the kind first, as the model's heads go), and ``advance``
checks and appends a finished step. Everything :func:`cadenza.tokens.events.encode` writes is allowed
(tested on corpus files).
"""

from __future__ import annotations

import copy
from functools import lru_cache

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.tokens.events import (
    CADENCES,
    CHORD_VALUES,
    FIELD_SIZES,
    FIELDS,
    FIELDS_OF_KIND,
    FINE,
    KIND,
    KINDS,
    ORDER_AT_INSTANT,
    VALUE_SIZE,
)

_ORDER_AT_INSTANT = ORDER_AT_INSTANT  # the encoder's order of kinds at one instant
NOTE_ORDER = _ORDER_AT_INSTANT[KIND["note"]]  # ``Grammar.last_order[0]`` after a note
CHORD_ORDER = _ORDER_AT_INSTANT[KIND["chord"]]


class GrammarError(CadenzaError):
    """A step the grammar does not allow (a bug in a sampler or a corrupt sequence)."""


@lru_cache(maxsize=4096)
def _range(size: int, low: int = 0, high: int | None = None) -> np.ndarray:
    """True from ``low`` to ``high`` (exclusive); one shared read-only array per range (the sampler asks for
    the same few ranges thousands of times)."""
    mask = np.zeros(size, dtype=bool)
    mask[low:size if high is None else min(high, size)] = True
    mask.setflags(write=False)
    return mask


_VALUES = {"part": (0, 128), "time_signature": (1, 257), "key_signature": (0, 15), "tempo": (1, VALUE_SIZE),
           "chord": (1, CHORD_VALUES)}
_VALUE_FINES = {"part": (0, 2), "time_signature": (0, 8), "key_signature": (0, 3), "tempo": (0, 100),
                "chord": (0, 1 + len(CADENCES))}


class Grammar:
    def __init__(self, label_size: int) -> None:
        self.sizes = {**FIELD_SIZES, "label": label_size}
        self.phase = "start"  # start | header | music | done
        self.parts: list[bool] = []  # drum flag of each declared part
        self.labels_done = False
        self.bar_length = 0  # ticks
        self.position = 0  # ticks into the current bar of the last timed step
        self.last_order: tuple[int, int, int] = (-1, -1, -1)  # (kind order, part, pitch) at ``position``
        self.chord_at = -1  # ticks into the bar of its last chord (-1: none yet)

    def copy(self) -> Grammar:
        """An independent copy of the grammar in its current state."""
        out = copy.copy(self)
        out.parts = list(self.parts)
        return out

    # ------------------------------------------------------------------ what may come next
    def allowed_kinds(self) -> np.ndarray:
        mask = np.zeros(len(KINDS), dtype=bool)
        if self.phase == "start":
            mask[KIND["bos"]] = True
        elif self.phase == "header":
            if not self.parts and not self.labels_done:
                mask[KIND["label"]] = True
            if len(self.parts) < self.sizes["part"]:
                mask[KIND["part"]] = True
            if self.parts:
                mask[KIND["bar"]] = True
        elif self.phase == "music":
            for kind in ("bar", "key_signature", "tempo", "eos"):
                mask[KIND[kind]] = True
            mask[KIND["note"]] = True
            mask[KIND["time_signature"]] = self.position == 0 and self.last_order[0] < 0
            mask[KIND["chord"]] = self.in_bar_header() and self.chord_at < self.bar_length - 1
        return mask

    def in_bar_header(self) -> bool:
        """Whether the bar's chords may still come: nothing but its start's meter, key, tempo and chords yet."""
        return self.position == 0 and self.last_order[0] <= CHORD_ORDER

    def allowed(self, field: str, chosen: dict[str, int]) -> np.ndarray:
        """Values ``field`` may take, given the fields already chosen for this step (``kind`` first). Every
        field but the kind allows one run of values (:meth:`bounds`); the array is shared: do not change it."""
        if field == "kind":
            return self.allowed_kinds()
        return _range(self.sizes[field], *self.bounds(field, chosen))

    def bounds(self, field: str, chosen: dict[str, int]) -> tuple[int, int]:
        """The values ``field`` (not the kind) may take: ``low`` to ``high`` (exclusive; empty when not above
        ``low``), given the fields already chosen for this step."""
        size = self.sizes[field]
        kind = KINDS[chosen["kind"]]
        if field not in FIELDS_OF_KIND[kind]:
            return 0, 1
        if field == "label":
            return 1, size
        if field == "part":
            if kind == "part":
                return len(self.parts), len(self.parts) + 1
            if self._same_instant_as_last_note(chosen):  # at one instant, parts go in order
                return self.last_order[1], len(self.parts)
            return 0, len(self.parts)
        if field in ("position", "position_fine"):
            return self._positions(kind, field, chosen)
        if field == "duration_fine" and chosen.get("duration", 1) == 0:
            return 1, size
        if field == "velocity":
            return 1, size
        if field == "pitch" and kind == "note":
            if self._same_instant_as_last_note(chosen) and chosen["part"] == self.last_order[1]:
                return self.last_order[2], size  # same part at the same instant: pitches go up
            return 0, size
        if field == "value":
            return _VALUES[kind]
        if field == "value_fine":
            return _VALUE_FINES[kind]
        return 0, size

    def _same_instant_as_last_note(self, chosen: dict[str, int]) -> bool:
        at = chosen["position"] * FINE + chosen["position_fine"]
        return at == self.position and self.last_order[0] == _ORDER_AT_INSTANT[KIND["note"]]

    def _positions(self, kind: str, field: str, chosen: dict[str, int]) -> tuple[int, int]:
        size = self.sizes[field]
        if kind == "bar":  # the new bar's length: anything above zero
            return (1 if field == "position_fine" and chosen.get("position") == 0 else 0), size
        if kind == "time_signature":  # only at the bar's start
            return 0, 1
        if kind == "chord":  # in the bar's header, after the chord before it
            start, end = self.chord_at + 1, self.bar_length
        else:
            start = self.position  # timed steps never go back within the bar...
            if kind in _ORDER_AT_INSTANT:
                same_instant_ok = _ORDER_AT_INSTANT[KIND[kind]] >= self.last_order[0]
                if kind == "note" and self.last_order[0] == _ORDER_AT_INSTANT[KIND["note"]]:
                    same_instant_ok = True  # the part/pitch order is checked on those fields
                if not same_instant_ok:
                    start += 1
            end = self.bar_length + (1 if kind == "eos" else 0)  # ...and stay inside it (eos may end it)
        if field == "position":  # a coarse value is allowed if some fine value under it (ticks..ticks+FINE-1) is
            return max(-(-(start - FINE + 1) // FINE), 0), min(-(-end // FINE), size)
        offset = chosen["position"] * FINE
        return max(start - offset, 0), min(max(end - offset, 0), size)

    # ------------------------------------------------------------------ growing the sequence
    def check(self, step: np.ndarray) -> str | None:
        """Why ``step`` is not allowed next, or None."""
        chosen: dict[str, int] = {}
        for i, field in enumerate(FIELDS):
            value = int(step[i])
            if field == "kind":
                kinds = self.allowed_kinds()
                ok = 0 <= value < len(kinds) and bool(kinds[value])
            else:
                low, high = self.bounds(field, chosen)
                ok = low <= value < high and value < self.sizes[field]
            if not ok:
                kind = KINDS[chosen["kind"]] if "kind" in chosen else "?"
                return f"{field}={value} not allowed in a {kind} step ({self.phase})"
            chosen[field] = value
        return None

    def advance(self, step: np.ndarray, drawn: bool = False) -> None:
        """Append ``step``, checked first unless ``drawn``: each of its values was drawn from this grammar's
        masks (the sampler's steps; a prompt is checked)."""
        problem = None if drawn else self.check(step)
        if problem:
            raise GrammarError(problem)
        kind = KINDS[int(step[0])]
        f = {name: int(step[i]) for i, name in enumerate(FIELDS)}
        if kind == "bos":
            self.phase = "header"
        elif kind == "label":
            pass
        elif kind == "part":
            self.labels_done = True
            self.parts.append(bool(f["value_fine"]))
        elif kind == "bar":
            self.phase = "music"
            self.bar_length = f["position"] * FINE + f["position_fine"]
            self.position, self.last_order, self.chord_at = 0, (-1, -1, -1), -1
        elif kind == "eos":
            self.phase = "done"
        elif kind == "chord":  # the header stays at the bar's start
            self.chord_at = f["position"] * FINE + f["position_fine"]
            self.last_order = (CHORD_ORDER, -1, -1)
        else:
            at = f["position"] * FINE + f["position_fine"]
            if at != self.position:
                self.position, self.last_order = at, (-1, -1, -1)
            self.last_order = (_ORDER_AT_INSTANT[int(step[0])], f["part"], f["pitch"])


def check_sequence(steps: np.ndarray, label_size: int) -> None:
    """Raise GrammarError at the first step the grammar does not allow."""
    grammar = Grammar(label_size)
    for index, step in enumerate(np.asarray(steps)):
        try:
            grammar.advance(step)
        except GrammarError as exc:
            raise GrammarError(f"step {index}: {exc}") from None


__all__ = ["Grammar", "GrammarError", "check_sequence"]
