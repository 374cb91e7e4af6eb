"""The sampler as it was before it was made fast (issue 19), kept as the reference the fast one must equal
draw for draw: module calls, ``hidden`` with a growing cache, masks built afresh by the grammar's old rules
(:func:`reference_allowed`), ``torch.multinomial``. Slow on purpose; used by tests only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from cadenza.model.sample import SampleConfig
from cadenza.tokens.events import CADENCES, CHORD_VALUES, FIELDS, FIELDS_OF_KIND, FINE, KIND, KINDS, VALUE_SIZE
from cadenza.tokens.grammar import Grammar

F = {name: i for i, name in enumerate(FIELDS)}
_ORDER_AT_INSTANT = {KIND["time_signature"]: 0, KIND["key_signature"]: 1, KIND["tempo"]: 2, KIND["chord"]: 3,
                     KIND["note"]: 4}


def _range(size: int, low: int = 0, high: int | None = None) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    mask[low:size if high is None else min(high, size)] = True
    return mask


def reference_allowed(grammar: Grammar, field: str, chosen: dict[str, int]) -> np.ndarray:
    """``Grammar.allowed`` as it was written before (masks built from the grammar's state)."""
    size = grammar.sizes[field]
    if field == "kind":
        return grammar.allowed_kinds()
    kind = KINDS[chosen["kind"]]
    if field not in FIELDS_OF_KIND[kind]:
        return _range(size, 0, 1)
    same_instant = field in ("part", "pitch") and chosen["position"] * FINE + chosen["position_fine"] == \
        grammar.position and grammar.last_order[0] == _ORDER_AT_INSTANT[KIND["note"]]
    if field == "label":
        return _range(size, 1)
    if field == "part":
        if kind == "part":
            return _range(size, len(grammar.parts), len(grammar.parts) + 1)
        mask = _range(size, 0, len(grammar.parts))
        if same_instant:
            mask[: grammar.last_order[1]] = False
        return mask
    if field in ("position", "position_fine"):
        if kind == "bar":
            return _range(size, 1 if field == "position_fine" and chosen.get("position") == 0 else 0)
        if kind == "time_signature":
            return _range(size, 0, 1)
        if kind == "chord":  # in the bar's header, after its chord before
            start, end = grammar.chord_at + 1, grammar.bar_length
            ticks = np.arange(size) * FINE if field == "position" else chosen["position"] * FINE + np.arange(size)
            return ((ticks + FINE - 1 >= start) if field == "position" else (ticks >= start)) & (ticks < end)
        start = grammar.position
        if kind in _ORDER_AT_INSTANT:  # as it was written: a kind's name against kind numbers, never true
            same_instant_ok = _ORDER_AT_INSTANT[KIND[kind]] >= grammar.last_order[0]
            if kind == "note" and grammar.last_order[0] == _ORDER_AT_INSTANT[KIND["note"]]:
                same_instant_ok = True
            if not same_instant_ok:
                start += 1
        end = grammar.bar_length + (1 if kind == "eos" else 0)
        ticks = np.arange(size) * FINE if field == "position" else chosen["position"] * FINE + np.arange(size)
        if field == "position":
            return (ticks + FINE - 1 >= start) & (ticks < end)
        return (ticks >= start) & (ticks < end)
    if field == "duration_fine" and chosen.get("duration", 1) == 0:
        return _range(size, 1)
    if field == "velocity":
        return _range(size, 1)
    if field == "pitch" and kind == "note":
        mask = _range(size)
        if same_instant and chosen["part"] == grammar.last_order[1]:
            mask[: grammar.last_order[2]] = False
        return mask
    if field == "value":
        return {"part": _range(size, 0, 128), "time_signature": _range(size, 1, 257),
                "key_signature": _range(size, 0, 15), "tempo": _range(size, 1, VALUE_SIZE),
                "chord": _range(size, 1, CHORD_VALUES)}[kind]
    if field == "value_fine":
        return {"part": _range(size, 0, 2), "time_signature": _range(size, 0, 8),
                "key_signature": _range(size, 0, 3), "tempo": _range(size, 0, 100),
                "chord": _range(size, 0, 1 + len(CADENCES))}[kind]
    return _range(size)


def _draw(logits: torch.Tensor, allowed: np.ndarray, config: SampleConfig, generator: torch.Generator,
          bias: np.ndarray | None = None) -> int:
    mask = torch.from_numpy(allowed.copy())
    if not mask.any():
        raise RuntimeError("the grammar allows no value here (a bug)")
    scores = logits.float()
    if bias is not None:
        scores = scores + torch.from_numpy(bias.copy())
    scores = scores.masked_fill(~mask, float("-inf"))
    if config.temperature <= 0:
        return int(scores.argmax())
    probs = torch.softmax(scores / config.temperature, dim=-1)
    if config.top_p < 1.0:
        ordered, index = probs.sort(descending=True)
        keep = ordered.cumsum(0) - ordered < config.top_p
        probs = torch.zeros_like(probs).scatter(0, index[keep], ordered[keep])
    return int(torch.multinomial(probs / probs.sum(), 1, generator=generator))


def _window(steps: list[np.ndarray], header: int, keep: int) -> list[np.ndarray]:
    recent = steps[max(header, len(steps) - keep):]
    bars = [i for i, s in enumerate(recent) if s[0] == KIND["bar"]]
    return steps[:header] + (recent[bars[0]:] if bars and bars[0] < len(recent) - 1 else recent)


def _with_note_reachability(model: Any, kind_logits: torch.Tensor, condition: torch.Tensor, grammar: Grammar,
                            constraint: Any) -> torch.Tensor:
    note = KIND["note"]
    chosen = {"kind": note, "label": 0}
    state = condition + model.chosen[0](torch.tensor(note)) + model.chosen[1](torch.tensor(0))
    allowed = reference_allowed(grammar, "position", chosen)
    if constraint is not None:
        extra = constraint.allowed("position", chosen, grammar)
        if extra is not None and (allowed & extra).any():
            allowed = allowed & extra
    position = torch.log_softmax(model.heads[F["position"]](state).float(), dim=-1)
    reachable = torch.logsumexp(position[torch.from_numpy(allowed.copy())], dim=0)
    out = kind_logits.float().clone()
    out[note] = out[note] + reachable
    return out


class _Context:
    def __init__(self, model: Any, steps: list[np.ndarray]) -> None:
        self.model, self.steps = model, steps
        self.header = sum(1 for s in steps if s[0] in (KIND["bos"], KIND["label"], KIND["part"]))
        self._read(steps if len(steps) < model.config.context else self._window())

    def _window(self) -> list[np.ndarray]:
        return _window(self.steps, self.header, self.model.config.context // 2)

    def _read(self, window: list[np.ndarray]) -> None:
        h, self.cache = self.model.hidden(torch.tensor(np.array(window))[None], None)
        self.cached = len(window)
        self.state = h[0, -1]

    def push(self, step: np.ndarray) -> None:
        self.steps.append(step)
        if self.cached >= self.model.config.context:
            self._read(self._window())
        else:
            h, self.cache = self.model.hidden(torch.tensor(step)[None, None], self.cache)
            self.cached += 1
            self.state = h[0, -1]


def reference_generate(model: Any, prompt: np.ndarray, config: SampleConfig, label_size: int,
                       should_stop: Callable[[np.ndarray], bool] | None = None, constraint: Any = None) -> np.ndarray:
    """``cadenza.model.sample.generate`` as it was (see the module's notes)."""
    with torch.no_grad():
        model.eval()
        generator = torch.Generator().manual_seed(config.seed)
        grammar = Grammar(label_size)
        steps = [np.asarray(s, dtype=np.int64) for s in prompt]
        for step in steps:
            grammar.advance(step)
            if constraint is not None:
                constraint.advance(step)
        main = _Context(model, steps)
        guided = config.guidance != 1.0 and any(s[0] == KIND["label"] for s in steps)
        free = _Context(model, [s for s in steps if s[0] != KIND["label"]]) if guided else None
        for made in range(config.max_steps):
            chosen: dict[str, int] = {}
            condition = main.state
            unconditioned = free.state if free is not None else None
            for i, field in enumerate(FIELDS):
                allowed = reference_allowed(grammar, field, chosen)
                if field == "kind" and made < config.min_steps:
                    allowed = allowed.copy()
                    allowed[KIND["eos"]] = False
                if constraint is not None:
                    extra = constraint.allowed(field, chosen, grammar)
                    if extra is not None and (allowed & extra).any():
                        allowed = allowed & extra
                if field == "kind":  # a first-vocabulary model is never offered a chord
                    allowed = allowed[:model.config.field_sizes["kind"]]
                only = np.flatnonzero(allowed)
                if len(only) == 1:
                    chosen[field] = int(only[0])
                else:
                    logits = model.heads[i](condition)
                    if unconditioned is not None:
                        plain = model.heads[i](unconditioned)
                        logits = plain + config.guidance * (logits - plain)
                    bias = None
                    if constraint is not None:
                        moved = constraint.redirect(field, chosen) if hasattr(constraint, "redirect") else None
                        if moved is not None:
                            logits = logits.clone()
                            logits[moved[1]] = torch.logaddexp(logits[moved[1]], logits[moved[0]])
                        bias = constraint.bias(field, chosen)
                        if bias is not None:
                            bias = bias[:len(logits)]
                    if field == "kind" and allowed[KIND["note"]]:
                        logits = _with_note_reachability(model, logits, condition, grammar, constraint)
                    chosen[field] = _draw(logits, allowed, config, generator, bias)
                if i < len(model.chosen):
                    embedded = model.chosen[i](torch.tensor(chosen[field]))
                    condition = condition + embedded
                    if unconditioned is not None:
                        unconditioned = unconditioned + embedded
            step = np.array([chosen[f] for f in FIELDS], dtype=np.int64)
            grammar.advance(step)
            if constraint is not None:
                constraint.advance(step)
            if step[0] == KIND["eos"]:
                steps.append(step)
                break
            main.push(step)
            if free is not None:
                free.push(step)
            if should_stop and should_stop(np.array(steps)):
                break
        if steps[-1][0] != KIND["eos"]:
            end = np.zeros(len(FIELDS), dtype=np.int64)
            end[F["kind"]] = KIND["eos"]
            end[F["position"]], end[F["position_fine"]] = grammar.bar_length // FINE, grammar.bar_length % FINE
            grammar.advance(end)
            steps.append(end)
        return np.array(steps)
