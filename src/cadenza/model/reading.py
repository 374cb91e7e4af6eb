"""What the sampler's model reads: a sequence's KV cache and latest state (sliding over the model's context),
the prefix read at once (kept for the next attempt after the same prefix), the grammar after a prompt (kept
likewise), and a head's logits.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import numpy as np
import torch

from cadenza.model.transformer import DecodeCache, EventTransformer, KVCache
from cadenza.tokens.events import KIND
from cadenza.tokens.grammar import Grammar


def window(steps: list[np.ndarray], header: int, keep: int) -> list[np.ndarray]:
    """The header and at most ``keep`` of the latest steps, starting at a bar as training windows do."""
    recent = steps[max(header, len(steps) - keep):]
    bars = [i for i, s in enumerate(recent) if s[0] == KIND["bar"]]
    return steps[:header] + (recent[bars[0]:] if bars and bars[0] < len(recent) - 1 else recent)


_READS: OrderedDict[bytes, tuple[weakref.ref[EventTransformer], tuple[int, ...], KVCache, torch.Tensor]] = OrderedDict()
_READS_KEPT = 4  # a prefix and its unguided copy, for the latest two prefixes
_READS_LOCK = threading.Lock()


def read_prefix(model: EventTransformer, steps: np.ndarray) -> tuple[KVCache, torch.Tensor]:
    """``hidden`` of ``steps`` read at once: its KV cache and last state. The latest few are kept: the ear
    samples each phrase up to three times after the same prefix, and reading it again costs as much as a
    hundred steps. Kept for the same model object and weights only (where each weight lives, and its version,
    which changes when it is trained or loaded in place)."""
    key = steps.tobytes()
    versions = tuple(v for p in model.parameters() for v in (p.data_ptr(), p._version))
    with _READS_LOCK:
        kept = _READS.get(key)
        if kept is not None and kept[0]() is model and kept[1] == versions:
            _READS.move_to_end(key)
            return kept[2], kept[3]
    h, cache = model.hidden(torch.from_numpy(steps)[None], None)
    with _READS_LOCK:
        _READS[key] = (weakref.ref(model), versions, cache, h[0, -1].clone())
        while len(_READS) > _READS_KEPT:
            _READS.popitem(last=False)
    return cache, h[0, -1]


_CHECKED: OrderedDict[tuple[int, bytes], Grammar] = OrderedDict()  # prompt -> the grammar after it
_CHECKED_KEPT = 4


def grammar_after(prompt: np.ndarray, label_size: int) -> Grammar:
    """A grammar that has checked and read ``prompt`` (a GrammarError at its first step not allowed). The
    latest few are kept: the ear continues the same prefix up to three times a phrase."""
    key = (label_size, prompt.tobytes())
    with _READS_LOCK:
        if key in _CHECKED:
            _CHECKED.move_to_end(key)
            return _CHECKED[key].copy()
    grammar = Grammar(label_size)
    for step in prompt:
        grammar.advance(step)
    with _READS_LOCK:
        _CHECKED[key] = grammar.copy()
        while len(_CHECKED) > _CHECKED_KEPT:
            _CHECKED.popitem(last=False)
    return grammar


def head_logits(state: torch.Tensor, bias: torch.Tensor, weight_t: torch.Tensor) -> torch.Tensor:
    """A head's logits for one state: what ``F.linear`` computes (addmm on the state as one row), called
    directly with the transposed weight made once."""
    return torch.addmm(bias, state.view(1, -1), weight_t).view(-1)


class Context:
    """One sequence the model reads: its steps, KV cache and the state that predicts the next step; it
    slides (header + the latest half context) when it outgrows the model's context."""

    def __init__(self, model: EventTransformer, steps: list[np.ndarray]) -> None:
        self.model, self.steps = model, steps
        self.header = sum(1 for s in steps if s[0] in (KIND["bos"], KIND["label"], KIND["part"]))
        self._read(steps if len(steps) < model.config.context else self._window())

    def _window(self) -> list[np.ndarray]:
        return window(self.steps, self.header, self.model.config.context // 2)

    def _read(self, steps: list[np.ndarray]) -> None:
        cache, self.state = read_prefix(self.model, np.array(steps, dtype=np.int64))
        self.cache = DecodeCache(self.model, cache)

    def push(self, step: np.ndarray, values: list[int]) -> None:
        """Read one more step (``values``: the same as ``step``, as ints)."""
        self.steps.append(step)
        if self.cache.length >= self.model.config.context:
            self._read(self._window())
        else:
            self.state = self.model.decode_step(values, self.cache)


