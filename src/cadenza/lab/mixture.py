"""Ensembles for scoring: a mixture of event models, exact at every step.

Each member gives a distribution over the next step (the product of its field heads, renormalised over
the same support when masks are given), so the weighted sum of the members' step probabilities

    P(step | past) = sum_k w_k P_k(step | past),   sum_k w_k = 1

is itself a distribution over steps, and the mixture's NLL of a sequence is a true log-probability: what
the benchmark tables need. It is computed in log space from the members' per-step NLLs. The weights are
chosen on the valid split (:func:`fit_weights`), never on test.

An ensemble is a folder:

    <dir>/ensemble.json   {"format": "cadenza-ensemble", "version": 1, "members": ["a", ...],
                           "weights": [...], "training": {...}}
    <dir>/members/<name>/ a checkpoint each (see :mod:`cadenza.model.checkpoint`)

A member named ``ngram-<order>`` has no folder: it is the variable-order n-gram baseline
(:class:`~cadenza.lab.ngram.StepNgram`) fitted on the benchmark's train split when the ensemble loads:
one fit of the highest order serves every n-gram member (vectorised counting, 1-2 s for Nottingham's
724,574 train steps at order 6). Nothing fitted is stored, so nothing can go stale; the benchmark data is
needed to score anyway. Its raw step probabilities are not renormalised over the masks, so with it the
mixture gives the allowed steps at most probability one: its NLL is an upper bound on the renormalised
mixture's (a conservative figure, as for the n-gram's own row).

Ensembles score (``cadenza eval nll``); composing uses one model, so loading an ensemble as a composer
model fails with a message that names a member.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cadenza.errors import InputError
from cadenza.files import atomic_write_bytes
from cadenza.lab.ngram import StepNgram
from cadenza.model.checkpoint import load_checkpoint
from cadenza.model.transformer import EventTransformer, ModelConfig
from cadenza.tokens.events import KIND

ENSEMBLE_FILE = "ensemble.json"
FORMAT_NAME = "cadenza-ensemble"
FORMAT_VERSION = 1


NGRAM_PREFIX = "ngram-"
MAX_NGRAM_ORDER = 32  # an ensemble.json asking for more is refused (memory grows with the order)


class NgramMember(nn.Module):
    """A fitted :class:`~cadenza.lab.ngram.StepNgram` that scores like an :class:`EventTransformer` (raw
    step probabilities: the masks are not applied), at ``order`` (None: the fitted order; one fit of the
    highest order serves every lower one)."""

    def __init__(self, ngram: StepNgram, order: int | None = None) -> None:
        super().__init__()
        self.ngram = ngram
        self.order = ngram.order if order is None else order
        if not 1 <= self.order <= ngram.order:
            raise ValueError(f"an n-gram fitted to order {ngram.order} cannot score at order {self.order}")

    def step_nll(self, steps: torch.Tensor, allowed: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        rows = steps.detach().cpu().numpy()
        nll = np.stack([-np.log(self.ngram.step_probabilities(row, self.order)) for row in rows])
        nll[rows[:, 1:, 0] == KIND["pad"]] = 0.0
        return torch.from_numpy(nll).float().to(steps.device)


def ngram_members(benchmark: str, orders: Sequence[int]) -> list[NgramMember]:
    """The n-grams of ``orders`` fitted on the benchmark's train split: one fit of the highest order, shared."""
    from cadenza.corpus.rolls import benchmark_steps
    from cadenza.tokens import field_sizes

    if not orders:
        return []
    ngram = StepNgram(max(orders), field_sizes()).fit(benchmark_steps(benchmark, "train"))
    return [NgramMember(ngram, order) for order in orders]


def ngram_member(benchmark: str, order: int) -> NgramMember:
    """The n-gram of ``order`` fitted on the benchmark's train split."""
    return ngram_members(benchmark, [order])[0]


class MixtureModel(nn.Module):
    """Members mixed step by step with fixed weights; scores like an :class:`EventTransformer`."""

    def __init__(self, members: Sequence[EventTransformer | NgramMember], weights: list[float] | None = None) -> None:
        super().__init__()
        transformers = [m for m in members if isinstance(m, EventTransformer)]
        if not transformers:
            raise ValueError("an ensemble needs at least one transformer member")
        self.members: list[EventTransformer | NgramMember] = nn.ModuleList(members)  # type: ignore[assignment]
        raw = np.asarray(weights if weights is not None else [1.0] * len(members), dtype=np.float64)
        if raw.shape != (len(members),) or (raw < 0).any() or raw.sum() <= 0:
            raise ValueError("one non-negative weight per member, not all zero")
        self.weights = (raw / raw.sum()).tolist()
        self.log_weights: torch.Tensor
        self.register_buffer("log_weights", torch.tensor([math.log(w) if w > 0 else -math.inf
                                                          for w in self.weights]), persistent=False)
        shortest = min(transformers, key=lambda m: m.config.context)
        self.config: ModelConfig = shortest.config  # windows fit every member

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def member_nll(self, steps: torch.Tensor, allowed: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        """(members, batch, time-1): each member's NLL of each step after the first."""
        return torch.stack([member.step_nll(steps, allowed) for member in self.members])

    def step_nll(self, steps: torch.Tensor, allowed: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        """(batch, time-1): the mixture's NLL of each step after the first (padding steps get 0, as each
        member gives them)."""
        nll = self.member_nll(steps, allowed)
        return -torch.logsumexp(self.log_weights[:, None, None] - nll, dim=0)


def fit_weights(member_nll: np.ndarray, rounds: int = 200) -> list[float]:
    """Mixture weights that minimise the total NLL of held-out steps: ``member_nll`` (members, steps),
    each member's NLL of each step. EM for mixture weights: each round gives every member the mean of its
    posterior responsibility over the steps (a convex problem: EM converges to the optimum)."""
    nll = np.asarray(member_nll, dtype=np.float64)
    k = nll.shape[0]
    weights = np.full(k, 1.0 / k)
    log_p = -nll
    for _ in range(rounds):
        joint = np.log(np.maximum(weights, 1e-300))[:, None] + log_p
        responsibility = np.exp(joint - joint.max(axis=0, keepdims=True))
        responsibility /= responsibility.sum(axis=0, keepdims=True)
        weights = responsibility.mean(axis=1)
    return weights.tolist()


def mixture_nll(member_nll: np.ndarray, weights: list[float] | np.ndarray) -> float:
    """Total NLL of the held-out steps under the mixture (``member_nll``: (members, steps))."""
    log_w = np.log(np.maximum(np.asarray(weights, dtype=np.float64), 1e-300))[:, None]
    return float(-np.logaddexp.reduce(log_w - np.asarray(member_nll, dtype=np.float64), axis=0).sum())


def select_members(member_nll: np.ndarray, max_members: int) -> list[int]:
    """Forward selection on held-out steps: the best model, then each time the one whose joining lowers the
    fitted mixture's NLL most, up to ``max_members`` or until no model lowers it."""
    nll = np.asarray(member_nll, dtype=np.float64)
    chosen = [int(np.argmin(nll.sum(axis=1)))]
    best = float(nll[chosen[0]].sum())
    while len(chosen) < max_members:
        trials = {i: mixture_nll(nll[[*chosen, i]], fit_weights(nll[[*chosen, i]]))
                  for i in range(len(nll)) if i not in chosen}
        if not trials or min(trials.values()) >= best:
            break
        pick = min(trials, key=lambda i: trials[i])
        chosen.append(pick)
        best = trials[pick]
    return chosen


def is_ensemble(folder: str | os.PathLike[str]) -> bool:
    return (Path(folder) / ENSEMBLE_FILE).is_file()


def read_ensemble(folder: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(folder) / ENSEMBLE_FILE
    try:
        config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no ensemble in {folder} ({ENSEMBLE_FILE} missing)") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from None
    if config.get("format") != FORMAT_NAME or config.get("version") != FORMAT_VERSION:
        raise InputError(f"{folder} holds no Cadenza ensemble of format version {FORMAT_VERSION}")
    members, weights = config.get("members"), config.get("weights")
    if not isinstance(members, list) or not members or not isinstance(weights, list) or len(weights) != len(members):
        raise InputError(f"{path} must list its members and one weight for each")
    return config


def read_scorer_config(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The ensemble.json of an ensemble folder, else the checkpoint's config.json (InputError if neither)."""
    from cadenza.model.checkpoint import read_config

    return read_ensemble(folder) if is_ensemble(folder) else read_config(folder)


Scorer = EventTransformer | MixtureModel  # what scores sequences: one model or a mixture


def load_scorer(folder: str | os.PathLike[str], device: str = "cpu") -> tuple[Scorer, dict[str, Any]]:
    """A model to score sequences with: an ensemble folder gives a :class:`MixtureModel` and its
    ensemble.json (members' training summaries under "member_training"); a checkpoint gives the model and
    its config."""
    if not is_ensemble(folder):
        return load_checkpoint(folder, device)
    config = read_ensemble(folder)
    members: list[EventTransformer | NgramMember] = []
    member_training: dict[str, Any] = {}
    orders = _ngram_orders(folder, config)
    benchmark = config["training"]["benchmark"] if orders else ""
    ngrams = dict(zip(orders, ngram_members(benchmark, list(orders.values())), strict=True))
    for name in config["members"]:
        if name in ngrams:
            members.append(ngrams[name])
            member_training[name] = {"fitted_on": f"{benchmark} train split, when the ensemble loads"}
        else:
            model, member_config = load_checkpoint(Path(folder) / "members" / name, device)
            members.append(model)
            member_training[name] = member_config.get("training", {})
    mixture = MixtureModel(members, config["weights"]).to(device)
    mixture.eval()
    return mixture, {**config, "member_training": member_training}


def _ngram_orders(folder: str | os.PathLike[str], config: dict[str, Any]) -> dict[str, int]:
    """{member name: order} of the ensemble's n-gram members (InputError if one is malformed or the
    ensemble does not name a known benchmark to fit them on)."""
    from cadenza.corpus.rolls import BENCHMARKS

    orders = {}
    for name in config["members"]:
        if not isinstance(name, str):
            raise InputError(f"{folder}: member names must be strings")
        if name.startswith(NGRAM_PREFIX):
            order = name.removeprefix(NGRAM_PREFIX)
            if not order.isdigit() or not 1 <= int(order) <= MAX_NGRAM_ORDER:
                raise InputError(f"{folder}: {name!r} is no n-gram member (ngram-1 to ngram-{MAX_NGRAM_ORDER})")
            orders[name] = int(order)
    training = config.get("training")
    benchmark = training.get("benchmark") if isinstance(training, dict) else None
    if orders and not benchmark:
        raise InputError(f"{folder}: an n-gram member needs the benchmark it is fitted on (training.benchmark)")
    if orders and benchmark not in BENCHMARKS:
        raise InputError(f"{folder}: n-gram members fitted on {benchmark!r}, which is no benchmark "
                         f"({', '.join(BENCHMARKS)})")
    return orders


def save_ensemble(folder: str | os.PathLike[str], members: list[str], weights: list[float],
                  training: dict[str, Any] | None = None) -> Path:
    """Write ensemble.json for members already under ``folder``/members (atomic)."""
    out = Path(folder)
    missing = [name for name in members if not name.startswith(NGRAM_PREFIX)
               and not (out / "members" / name / "config.json").is_file()]
    if missing:
        raise InputError(f"ensemble members missing under {out / 'members'}: {', '.join(missing)}")
    config = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "members": members,
              "weights": [round(float(w), 6) for w in weights], "training": training or {}}
    atomic_write_bytes(out / ENSEMBLE_FILE, json.dumps(config, indent=2, ensure_ascii=False).encode("utf-8"))
    return out


__all__ = ["MixtureModel", "NgramMember", "Scorer", "fit_weights", "is_ensemble", "load_scorer", "mixture_nll",
           "ngram_member", "ngram_members", "read_ensemble", "read_scorer_config", "save_ensemble", "select_members"]
