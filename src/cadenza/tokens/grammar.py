"""The event grammar: which step may follow which, field by field, for constrained sampling.

A sequence is ``bos``, labels, parts (numbered 0, 1, … in order), then the music: a ``bar`` first, then
bars, meter/key/tempo changes and notes in time order within each bar, then ``eos``. Within a bar positions
never go back and stay inside the bar; a time signature only at a bar's start; at one instant the steps
come in the encoder's order (meter, key, tempo, notes by part and pitch); notes only in declared parts,
with a duration and a velocity. Fields a kind does not use are 0.

``Grammar`` tracks a sequence as it grows: ``allowed(field, chosen)`` gives the values the field may take
given the fields already chosen for this step (the kind first, as the model's heads go), and ``advance``
checks and appends a finished step. Everything :func:`cadenza.tokens.events.encode` writes is allowed
(tested on corpus files).
"""

from __future__ import annotations

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.tokens.events import FIELD_SIZES, FIELDS, FIELDS_OF_KIND, FINE, KIND, KINDS, VALUE_SIZE

_ORDER_AT_INSTANT = {KIND["time_signature"]: 0, KIND["key_signature"]: 1, KIND["tempo"]: 2, KIND["note"]: 3}
NOTE_ORDER = _ORDER_AT_INSTANT[KIND["note"]]  # ``Grammar.last_order[0]`` after a note


class GrammarError(CadenzaError):
    """A step the grammar does not allow (a bug in a sampler or a corrupt sequence)."""


def _range(size: int, low: int = 0, high: int | None = None) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    mask[low:size if high is None else min(high, size)] = True
    return mask


class Grammar:
    def __init__(self, label_size: int) -> None:
        self.sizes = {**FIELD_SIZES, "label": label_size}
        self.phase = "start"  # start | header | music | done
        self.parts: list[bool] = []  # drum flag of each declared part
        self.labels_done = False
        self.bar_length = 0  # ticks
        self.position = 0  # ticks into the current bar of the last timed step
        self.last_order: tuple[int, int, int] = (-1, -1, -1)  # (kind order, part, pitch) at ``position``

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
        return mask

    def allowed(self, field: str, chosen: dict[str, int]) -> np.ndarray:
        """Values ``field`` may take, given the fields already chosen for this step (``kind`` first)."""
        size = self.sizes[field]
        if field == "kind":
            return self.allowed_kinds()
        kind = KINDS[chosen["kind"]]
        if field not in FIELDS_OF_KIND[kind]:
            return _range(size, 0, 1)
        if field == "label":
            return _range(size, 1)
        if field == "part":
            if kind == "part":
                return _range(size, len(self.parts), len(self.parts) + 1)
            mask = _range(size, 0, len(self.parts))
            if self._same_instant_as_last_note(chosen):
                mask[: self.last_order[1]] = False  # at one instant, parts go in order
            return mask
        if field in ("position", "position_fine"):
            return self._positions(kind, field, chosen)
        if field == "duration_fine" and chosen.get("duration", 1) == 0:
            return _range(size, 1)
        if field == "velocity":
            return _range(size, 1)
        if field == "pitch" and kind == "note":
            mask = _range(size)
            if self._same_instant_as_last_note(chosen) and chosen["part"] == self.last_order[1]:
                mask[: self.last_order[2]] = False  # same part at the same instant: pitches go up
            return mask
        if field == "value":
            return {"part": _range(size, 0, 128), "time_signature": _range(size, 1, 257),
                    "key_signature": _range(size, 0, 15), "tempo": _range(size, 1, VALUE_SIZE)}[kind]
        if field == "value_fine":
            return {"part": _range(size, 0, 2), "time_signature": _range(size, 0, 8),
                    "key_signature": _range(size, 0, 3), "tempo": _range(size, 0, 100)}[kind]
        return _range(size)

    def _same_instant_as_last_note(self, chosen: dict[str, int]) -> bool:
        at = chosen["position"] * FINE + chosen["position_fine"]
        return at == self.position and self.last_order[0] == _ORDER_AT_INSTANT[KIND["note"]]

    def _positions(self, kind: str, field: str, chosen: dict[str, int]) -> np.ndarray:
        size = self.sizes[field]
        if kind == "bar":  # the new bar's length: anything above zero
            return _range(size, 1 if field == "position_fine" and chosen.get("position") == 0 else 0)
        if kind == "time_signature":  # only at the bar's start
            return _range(size, 0, 1)
        start = self.position  # timed steps never go back within the bar...
        if kind in _ORDER_AT_INSTANT:
            same_instant_ok = _ORDER_AT_INSTANT[KIND[kind]] >= self.last_order[0]
            if kind == "note" and self.last_order[0] == _ORDER_AT_INSTANT[KIND["note"]]:
                same_instant_ok = True  # the part/pitch order is checked on those fields
            if not same_instant_ok:
                start += 1
        end = self.bar_length + (1 if kind == "eos" else 0)  # ...and stay inside it (eos may end it)
        ticks = np.arange(size) * FINE if field == "position" else chosen["position"] * FINE + np.arange(size)
        if field == "position":  # a coarse value is allowed if some fine value under it is
            return (ticks + FINE - 1 >= start) & (ticks < end)
        return (ticks >= start) & (ticks < end)

    # ------------------------------------------------------------------ growing the sequence
    def check(self, step: np.ndarray) -> str | None:
        """Why ``step`` is not allowed next, or None."""
        chosen: dict[str, int] = {}
        for i, field in enumerate(FIELDS):
            value = int(step[i])
            mask = self.allowed(field, chosen)
            if not 0 <= value < len(mask) or not mask[value]:
                kind = KINDS[chosen["kind"]] if "kind" in chosen else "?"
                return f"{field}={value} not allowed in a {kind} step ({self.phase})"
            chosen[field] = value
        return None

    def advance(self, step: np.ndarray) -> None:
        problem = self.check(step)
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
            self.position, self.last_order = 0, (-1, -1, -1)
        elif kind == "eos":
            self.phase = "done"
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
