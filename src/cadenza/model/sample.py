"""Sampling: steps one at a time with the KV cache, each field drawn from its head under the grammar's mask
(so whatever comes out is a valid sequence that decodes to a Score), with temperature and nucleus (top-p)
filtering, reproducible from a seed.

When the sequence outgrows the model's context, the cache is rebuilt from the header (bos, labels, parts)
and the most recent half context of music: a sliding window, so any length can be generated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from cadenza.errors import CadenzaError
from cadenza.model.transformer import EventTransformer
from cadenza.tokens.events import FIELDS, FINE, KIND
from cadenza.tokens.grammar import Grammar

F = {name: i for i, name in enumerate(FIELDS)}


@dataclass(frozen=True)
class SampleConfig:
    max_steps: int = 2000
    min_steps: int = 0  # no eos before this many new steps
    temperature: float = 1.0
    top_p: float = 0.95
    seed: int = 0


class Constraint(Protocol):
    """Limits on top of the grammar (see :mod:`cadenza.compose.constraints`)."""

    def allowed(self, field: str, chosen: dict[str, int], grammar: Grammar) -> np.ndarray | None: ...

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None: ...

    def advance(self, step: np.ndarray) -> None: ...


def _draw(logits: torch.Tensor, allowed: np.ndarray, config: SampleConfig, generator: torch.Generator,
          bias: np.ndarray | None = None) -> int:
    mask = torch.from_numpy(allowed)
    if not mask.any():
        raise RuntimeError("the grammar allows no value here (a bug)")
    scores = logits.float()
    if bias is not None:
        scores = scores + torch.from_numpy(bias)
    scores = scores.masked_fill(~mask, float("-inf"))
    if config.temperature <= 0:
        return int(scores.argmax())
    probs = torch.softmax(scores / config.temperature, dim=-1)
    if config.top_p < 1.0:
        ordered, index = probs.sort(descending=True)
        keep = ordered.cumsum(0) - ordered < config.top_p  # the smallest set holding top_p of the mass
        probs = torch.zeros_like(probs).scatter(0, index[keep], ordered[keep])
    return int(torch.multinomial(probs / probs.sum(), 1, generator=generator))


@contextmanager
def _one_thread() -> Iterator[None]:
    """Batch-1 decoding of a small model is fastest on one thread (measured: 3.3 against 74 ms per step with
    two threads while another process kept both cores busy): no spin-waiting on the other core."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _window(steps: list[np.ndarray], header: int, keep: int) -> list[np.ndarray]:
    """The header and at most ``keep`` of the latest steps, starting at a bar as training windows do."""
    recent = steps[max(header, len(steps) - keep):]
    bars = [i for i, s in enumerate(recent) if s[0] == KIND["bar"]]
    return steps[:header] + (recent[bars[0]:] if bars and bars[0] < len(recent) - 1 else recent)


def generate(model: EventTransformer, prompt: np.ndarray, config: SampleConfig, label_size: int,
             should_stop: Callable[[np.ndarray], bool] | None = None, constraint: Constraint | None = None,
             on_step: Callable[[np.ndarray], None] | None = None) -> np.ndarray:
    """Continue ``prompt`` (steps starting with bos) until eos, ``max_steps`` new steps, or ``should_stop``
    says so; returns the whole sequence, ending with eos. ``constraint`` narrows the grammar's choices;
    ``on_step`` sees every new step (progress, timing)."""
    with _one_thread(), torch.no_grad():
        return _generate(model, prompt, config, label_size, should_stop, constraint, on_step)


def _generate(model: EventTransformer, prompt: np.ndarray, config: SampleConfig, label_size: int,
              should_stop: Callable[[np.ndarray], bool] | None, constraint: Constraint | None,
              on_step: Callable[[np.ndarray], None] | None) -> np.ndarray:
    model.eval()
    generator = torch.Generator().manual_seed(config.seed)
    grammar = Grammar(label_size)
    steps = [np.asarray(s, dtype=np.int64) for s in prompt]
    for step in steps:
        grammar.advance(step)
        if constraint is not None:
            constraint.advance(step)
    header = sum(1 for s in steps if s[0] in (KIND["bos"], KIND["label"], KIND["part"]))
    window = steps if len(steps) < model.config.context else _window(steps, header, model.config.context // 2)
    h, cache = model.hidden(torch.tensor(np.array(window))[None], None)
    cached = len(window)
    state = h[0, -1]
    for made in range(config.max_steps):
        chosen: dict[str, int] = {}
        condition = state
        for i, field in enumerate(FIELDS):
            logits = model.heads[i](condition)
            allowed = grammar.allowed(field, chosen)
            if field == "kind" and made < config.min_steps:
                allowed = allowed.copy()
                allowed[KIND["eos"]] = False
            bias = None
            if constraint is not None:
                extra = constraint.allowed(field, chosen, grammar)
                if extra is not None and (allowed & extra).any():
                    allowed = allowed & extra
                bias = constraint.bias(field, chosen)
            chosen[field] = _draw(logits, allowed, config, generator, bias)
            if i < len(model.chosen):
                condition = condition + model.chosen[i](torch.tensor(chosen[field]))
        step = np.array([chosen[f] for f in FIELDS], dtype=np.int64)
        grammar.advance(step)
        if constraint is not None:
            constraint.advance(step)
        if on_step is not None:
            on_step(step)
        steps.append(step)
        if step[0] == KIND["eos"] or (should_stop and should_stop(np.array(steps))):
            break
        if cached >= model.config.context:  # slide: header + the latest half context
            window = _window(steps, header, model.config.context // 2)
            h, cache = model.hidden(torch.tensor(np.array(window))[None], None)
            cached = len(window)
        else:
            h, cache = model.hidden(torch.tensor(step)[None, None], cache)
            cached += 1
        state = h[0, -1]
    if steps[-1][0] != KIND["eos"]:  # out of budget: end with the bar in progress, whole
        if grammar.phase != "music":
            raise CadenzaError("the model wrote no music within its step budget")
        end = np.zeros(len(FIELDS), dtype=np.int64)
        end[F["kind"]] = KIND["eos"]
        end[F["position"]], end[F["position_fine"]] = grammar.bar_length // FINE, grammar.bar_length % FINE
        grammar.advance(end)
        steps.append(end)
    return np.array(steps)
