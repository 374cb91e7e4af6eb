"""Sampling: steps one at a time with the KV cache, each field drawn from its head under the grammar's mask
(so whatever comes out is a valid sequence that decodes to a Score), with temperature and nucleus (top-p)
filtering, reproducible from a seed.

When the sequence outgrows the model's context, the cache is rebuilt from the header (bos, labels, parts)
and the most recent half context of music: a sliding window, so any length can be generated.

With ``guidance`` above 1 (classifier-free guidance), a second copy of the sequence without its label steps
is read alongside, and each field's logits move away from that unlabelled prediction: ``plain + g ×
(labelled − plain)``, so the labels weigh more (the model was trained with labels dropped at random, so it
knows both). It costs a second model pass per step.

Speed (issue 19) without changing a draw: the transformer reads each new step through
:meth:`~cadenza.model.transformer.EventTransformer.decode_step` (bit for bit ``hidden``'s arithmetic), the
draw is :class:`~cadenza.model.draw.Draw`, fields the kind does not use are 0 without asking anyone, a note's
position logits and mask are those the kind's draw reckoned already, the embeddings of chosen fields are added
only when a later head needs them, and a prefix read (and the grammar after it) is kept for the next attempt
after it. For a given seed the draws are those of the straightforward sampler (``tests/reference_sampler.py``,
tested), so the same requests give the same notes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from cadenza.errors import CadenzaError
from cadenza.model.draw import Draw
from cadenza.model.reading import Context, grammar_after, head_logits
from cadenza.model.transformer import EventTransformer
from cadenza.threads import ensure_threads
from cadenza.tokens.events import FIELDS, FIELDS_OF_KIND, FINE, KIND, KINDS, F
from cadenza.tokens.grammar import Grammar


@dataclass(frozen=True)
class SampleConfig:
    max_steps: int = 2000
    min_steps: int = 0  # no eos before this many new steps
    temperature: float = 1.0
    top_p: float = 0.95
    seed: int = 0
    guidance: float = 1.0  # classifier-free guidance scale over the label steps; 1 = none (one model pass a step)


class Constraint(Protocol):
    """Limits on top of the grammar (see :mod:`cadenza.compose.constraints`). ``allowed`` and ``bias`` answer
    from the state ``advance`` leaves and change nothing: the sampler may ask a question twice in a step, or
    not at all (a field the step's kind does not use is 0 whatever a constraint says)."""

    def allowed(self, field: str, chosen: dict[str, int], grammar: Grammar) -> np.ndarray | None: ...

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None: ...

    def advance(self, step: np.ndarray) -> None: ...

    # optional: ``redirect(field, chosen) -> (from_value, to_value) | None`` gives the model's probability of a
    # value it forbids to another (the last bar's "new bar" becomes "the end"), instead of spreading it


def generate(model: EventTransformer, prompt: np.ndarray, config: SampleConfig, label_size: int,
             should_stop: Callable[[np.ndarray], bool] | None = None, constraint: Constraint | None = None,
             on_step: Callable[[np.ndarray], None] | None = None) -> np.ndarray:
    """Continue ``prompt`` (steps starting with bos) until eos, ``max_steps`` new steps, or ``should_stop``
    says so; returns the whole sequence, ending with eos. ``constraint`` narrows the grammar's choices;
    ``on_step`` sees every new step (progress, timing)."""
    ensure_threads()  # set once per process (cadenza.threads), not flipped per call
    with torch.inference_mode():
        return _generate(model, prompt, config, label_size, should_stop, constraint, on_step)


def _with_note_reachability(heads: list[tuple[torch.Tensor, torch.Tensor]], tables: list[torch.Tensor],
                            kind_logits: torch.Tensor, condition: torch.Tensor, grammar: Grammar,
                            constraint: Constraint | None
                            ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, np.ndarray]]:
    """The kind logits with a note's weighed by the model's chance that the note's position is one the
    grammar and constraint allow: sampling then follows the model restricted to what may be written (the
    joint of kind and position), not the kind alone. Without it, a model that expects the bar to go on past
    its end (it would write "a note at beat 5" where the bar line should come) writes a note squeezed into
    the bar's last instants, again and again. Also returns, for a note here, the state after its kind and label
    fields, the position head's logits and the positions allowed: the sampler's own if a note is drawn (the
    same state, the same question)."""
    note = KIND["note"]
    chosen = {"kind": note, "label": 0}
    state = condition + tables[0][note] + tables[1][0]
    allowed = grammar.allowed("position", chosen)
    if constraint is not None:
        extra = constraint.allowed("position", chosen, grammar)
        if extra is not None:
            both = allowed & extra
            if np.count_nonzero(both):
                allowed = both
    position_logits = head_logits(state, *heads[F["position"]])
    position = torch.log_softmax(position_logits.float(), dim=-1)
    reachable = torch.logsumexp(position.index_select(0, torch.from_numpy(np.flatnonzero(allowed))), dim=0)
    out = kind_logits.float().numpy().copy()
    out[note] += reachable.numpy()  # one float32 addition, as before
    return torch.from_numpy(out), (state, position_logits, allowed)


#: field indices each kind draws (the kind always; the others hold 0)
_USED = [frozenset([0, *(F[f] for f in FIELDS_OF_KIND[kind])]) for kind in KINDS]


def _generate(model: EventTransformer, prompt: np.ndarray, config: SampleConfig, label_size: int,
              should_stop: Callable[[np.ndarray], bool] | None, constraint: Constraint | None,
              on_step: Callable[[np.ndarray], None] | None) -> np.ndarray:
    model.eval()
    generator = torch.Generator().manual_seed(config.seed)
    prompt = np.asarray(prompt, dtype=np.int64)
    grammar = grammar_after(prompt, label_size)
    steps = list(prompt)
    if constraint is not None:
        for step in steps:
            constraint.advance(step)
    main = Context(model, steps)
    guided = config.guidance != 1.0 and any(s[0] == KIND["label"] for s in steps)
    free = Context(model, [s for s in steps if s[0] != KIND["label"]]) if guided else None
    heads = model.head_forms()
    embeddings = model.chosen_tables()  # of the fields already chosen, for the later heads
    redirect = getattr(constraint, "redirect", None)
    draw = Draw(config.temperature, config.top_p, generator)
    so_far = _Sequence(steps) if should_stop is not None else None
    kinds = model.config.field_sizes["kind"]  # a first-vocabulary model has no chord kind: never offered one
    for made in range(config.max_steps):
        chosen: dict[str, int] = {}
        values: list[int] = []
        condition = main.state
        unconditioned = free.state if free is not None else None
        added = 0  # the chosen fields' embeddings added to condition so far (added when a later head needs them)
        used = _USED[0]
        note: tuple[torch.Tensor, torch.Tensor, np.ndarray] | None = None  # see _with_note_reachability
        for i, field in enumerate(FIELDS):
            if i not in used:  # a field the kind does not use: 0 (the grammar allows nothing else)
                chosen[field] = 0
                values.append(0)
                continue
            if field == "position" and note is not None:
                allowed = note[2]  # the reachability asked the same of the same state
            else:
                allowed = grammar.allowed(field, chosen)
                if field == "kind" and made < config.min_steps:
                    allowed = allowed.copy()
                    allowed[KIND["eos"]] = False
                if constraint is not None:
                    extra = constraint.allowed(field, chosen, grammar)
                    if extra is not None:
                        both = allowed & extra
                        if np.count_nonzero(both):
                            allowed = both
                if i == 0 and len(allowed) > kinds:
                    allowed = allowed[:kinds]
            count = np.count_nonzero(allowed)
            if count == 1:  # nothing to choose (a value the plan fixes)
                value = int(allowed.argmax())
            elif count == 0:
                raise RuntimeError("the grammar allows no value here (a bug)")
            else:
                ready = added  # condition holds the embeddings of the fields before this one
                if field == "position" and note is not None and added == 0:
                    condition, ready = note[0], 2  # the reachability's sum of the same two embeddings
                for j in range(added, i):  # the same additions in the same order as one at a time
                    if j >= ready:
                        condition = condition + embeddings[j][values[j]]
                    if unconditioned is not None:
                        unconditioned = unconditioned + embeddings[j][values[j]]
                added = i
                # the position's logits on this very state are the reachability's
                logits = note[1] if field == "position" and note is not None else head_logits(condition, *heads[i])
                if unconditioned is not None:  # classifier-free guidance: away from the unlabelled prediction
                    plain = head_logits(unconditioned, *heads[i])
                    logits = plain + config.guidance * (logits - plain)
                bias = None
                if constraint is not None:
                    moved = redirect(field, chosen) if redirect is not None else None
                    if moved is not None:  # the chance of a value the constraint forbids goes to another
                        logits = logits.clone()
                        logits[moved[1]] = torch.logaddexp(logits[moved[1]], logits[moved[0]])
                    bias = constraint.bias(field, chosen)
                    if bias is not None and len(bias) > len(logits):
                        bias = bias[:len(logits)]
                if field == "kind" and allowed[KIND["note"]]:
                    logits, note = _with_note_reachability(heads, embeddings, logits, condition, grammar,
                                                           constraint)
                value = draw(logits, allowed, bias)
            chosen[field] = value
            values.append(value)
            if i == 0:
                used = _USED[value]
                if value != KIND["note"]:
                    note = None
        step = np.array(values, dtype=np.int64)
        grammar.advance(step, drawn=True)
        if constraint is not None:
            constraint.advance(step)
        if on_step is not None:
            on_step(step)
        if step[0] == KIND["eos"]:
            steps.append(step)
            break
        main.push(step, values)
        if free is not None:
            free.push(step, values)
        if so_far is not None and should_stop is not None and should_stop(so_far.extend(step)):
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


class _Sequence:
    """The steps so far as one array, grown in place (``should_stop`` sees every step: an array made afresh
    from the list each time cost a copy of the whole sequence per step)."""

    def __init__(self, steps: list[np.ndarray]) -> None:
        self.rows = np.zeros((max(2 * len(steps), 256), len(FIELDS)), dtype=np.int64)
        self.rows[:len(steps)] = steps
        self.length = len(steps)

    def extend(self, step: np.ndarray) -> np.ndarray:
        """Append ``step``; the sequence so far (a view; rows once written never change)."""
        if self.length == len(self.rows):
            self.rows = np.concatenate([self.rows, np.zeros_like(self.rows)])
        self.rows[self.length] = step
        self.length += 1
        return self.rows[:self.length]
