"""Scoring sequences: the exact NLL of every step of an event sequence under a model (or a mixture), in
windows of its context so that a sequence of any length is scored. General scoring, used by the composer
(the best of K candidates), the held-out NLL benchmark and the polyphonic-roll benchmarks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

Scorer = Any  # what scores sequences: an EventTransformer, or a mixture of them and n-grams (train.mixture)


def windowed(score: Callable[[torch.Tensor, dict[int, torch.Tensor] | None], torch.Tensor], x: torch.Tensor,
              allowed: dict[int, torch.Tensor] | None, context: int) -> torch.Tensor:
    """``score(window, masks)`` gives (..., window - 1) NLLs of a window's steps after its first; this gives
    (..., len(x) - 1) for every step of ``x`` after bos, in windows of ``context`` (each step scored once,
    with at least half a context before it)."""
    def window(start: int, stop: int) -> torch.Tensor:  # nll of x[start + 1 : stop]
        part = None if allowed is None else {i: m[None, start:stop - 1] for i, m in allowed.items()}
        return score(x[None, start:stop], part)

    if len(x) <= context + 1:
        return window(0, len(x))
    pieces, scored, start = [], 1, 0  # steps[0] (bos) is given
    while scored < len(x):
        stop = min(start + context + 1, len(x))
        nll = window(start, stop)  # nll[..., i] is for x[start + i + 1]
        pieces.append(nll[..., scored - start - 1:])  # from the first step of this window not scored yet
        scored = stop
        start += context // 2
    return torch.cat(pieces, dim=-1)


@torch.no_grad()
def step_nlls(model: Scorer, steps: np.ndarray, device: str = "cpu", masks: dict[int, np.ndarray] | None = None,
              members: bool = False) -> np.ndarray:
    """NLL (nats) of each of steps[1:] given what precedes it, in windows of the model's context; with
    ``masks`` (see :func:`canonical_masks`) the probabilities are renormalised over the allowed values.
    ``members`` (a :class:`~cadenza.lab.mixture.MixtureModel`): one row per member, (members, steps-1)."""
    model.eval()
    x = torch.from_numpy(np.asarray(steps, dtype=np.int64)).to(device)
    allowed = {i: torch.from_numpy(m).to(device) for i, m in masks.items()} if masks is not None else None
    if not members:
        score = model.step_nll
    elif hasattr(model, "member_nll"):  # a mixture (cadenza.lab.mixture.MixtureModel)
        score = model.member_nll
    else:
        raise ValueError("members=True needs a MixtureModel")
    nll = windowed(score, x, allowed, model.config.context)
    return (nll[:, 0] if members else nll[0]).cpu().numpy()


def sequence_nll(model: Scorer, steps: np.ndarray, device: str = "cpu",
                 masks: dict[int, np.ndarray] | None = None) -> float:
    """Total NLL (nats) of steps[1:] (see :func:`step_nlls`)."""
    return float(step_nlls(model, steps, device, masks).sum(dtype=np.float64))
