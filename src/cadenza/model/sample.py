"""Sampling: steps one at a time with the KV cache, each field drawn from its head under the grammar's mask
(so whatever comes out is a valid sequence that decodes to a Score), with temperature and nucleus (top-p)
filtering, reproducible from a seed.

When the sequence outgrows the model's context, the cache is rebuilt from the header (bos, labels, parts)
and the most recent half context of music: a sliding window, so any length can be generated.

With ``guidance`` above 1 (classifier-free guidance), a second copy of the sequence without its label steps
is read alongside, and each field's logits move away from that unlabelled prediction: ``plain + g ×
(labelled − plain)``, so the labels weigh more (the model was trained with labels dropped at random, so it
knows both). It costs a second model pass per step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from cadenza.errors import CadenzaError
from cadenza.model.transformer import EventTransformer
from cadenza.threads import ensure_threads
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
    guidance: float = 1.0  # classifier-free guidance scale over the label steps; 1 = none (one model pass a step)


class Constraint(Protocol):
    """Limits on top of the grammar (see :mod:`cadenza.compose.constraints`)."""

    def allowed(self, field: str, chosen: dict[str, int], grammar: Grammar) -> np.ndarray | None: ...

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None: ...

    def advance(self, step: np.ndarray) -> None: ...

    # optional: ``redirect(field, chosen) -> (from_value, to_value) | None`` gives the model's probability of a
    # value it forbids to another (the last bar's "new bar" becomes "the end"), instead of spreading it


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
    ensure_threads()  # set once per process (cadenza.threads), not flipped per call
    with torch.no_grad():
        return _generate(model, prompt, config, label_size, should_stop, constraint, on_step)


def _with_note_reachability(model: EventTransformer, kind_logits: torch.Tensor, condition: torch.Tensor,
                            grammar: Grammar, constraint: Constraint | None) -> torch.Tensor:
    """The kind logits with a note's weighed by the model's chance that the note's position is one the
    grammar and constraint allow: sampling then follows the model restricted to what may be written (the
    joint of kind and position), not the kind alone. Without it, a model that expects the bar to go on past
    its end (it would write "a note at beat 5" where the bar line should come) writes a note squeezed into
    the bar's last instants, again and again."""
    note = KIND["note"]
    chosen = {"kind": note, "label": 0}
    state = condition + model.chosen[0](torch.tensor(note)) + model.chosen[1](torch.tensor(0))
    allowed = grammar.allowed("position", chosen)
    if constraint is not None:
        extra = constraint.allowed("position", chosen, grammar)
        if extra is not None and (allowed & extra).any():
            allowed = allowed & extra
    position = torch.log_softmax(model.heads[F["position"]](state).float(), dim=-1)
    reachable = torch.logsumexp(position[torch.from_numpy(allowed)], dim=0)
    out = kind_logits.float().clone()
    out[note] = out[note] + reachable
    return out


class _Context:
    """One sequence the model reads: its steps, KV cache and the state that predicts the next step; it
    slides (header + the latest half context) when it outgrows the model's context."""

    def __init__(self, model: EventTransformer, steps: list[np.ndarray]) -> None:
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
    main = _Context(model, steps)
    guided = config.guidance != 1.0 and any(s[0] == KIND["label"] for s in steps)
    free = _Context(model, [s for s in steps if s[0] != KIND["label"]]) if guided else None
    for made in range(config.max_steps):
        chosen: dict[str, int] = {}
        condition = main.state
        unconditioned = free.state if free is not None else None
        for i, field in enumerate(FIELDS):
            allowed = grammar.allowed(field, chosen)
            if field == "kind" and made < config.min_steps:
                allowed = allowed.copy()
                allowed[KIND["eos"]] = False
            if constraint is not None:
                extra = constraint.allowed(field, chosen, grammar)
                if extra is not None and (allowed & extra).any():
                    allowed = allowed & extra
            only = np.flatnonzero(allowed)
            if len(only) == 1:  # nothing to choose (a field the kind does not use, a value the plan fixes)
                chosen[field] = int(only[0])
            else:
                logits = model.heads[i](condition)
                if unconditioned is not None:  # classifier-free guidance: away from the unlabelled prediction
                    plain = model.heads[i](unconditioned)
                    logits = plain + config.guidance * (logits - plain)
                bias = None
                if constraint is not None:
                    moved = constraint.redirect(field, chosen) if hasattr(constraint, "redirect") else None
                    if moved is not None:  # the chance of a value the constraint forbids goes to another
                        logits = logits.clone()
                        logits[moved[1]] = torch.logaddexp(logits[moved[1]], logits[moved[0]])
                    bias = constraint.bias(field, chosen)
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
        if on_step is not None:
            on_step(step)
        if step[0] == KIND["eos"]:
            steps.append(step)
            break
        main.push(step)
        if free is not None:
            free.push(step)
        if should_stop and should_stop(np.array(steps)):
            break
    if steps[-1][0] != KIND["eos"]:  # out of budget: end with the bar in progress, whole
        if grammar.phase != "music":
            raise CadenzaError("the model wrote no music within its step budget")
        end = np.zeros(len(FIELDS), dtype=np.int64)
        end[F["kind"]] = KIND["eos"]
        end[F["position"]], end[F["position_fine"]] = grammar.bar_length // FINE, grammar.bar_length % FINE
        grammar.advance(end)
        steps.append(end)
    return np.array(steps)
