"""Training a style adapter: low-rank deltas over a frozen base model (:mod:`cadenza.model.adapters`), learned
from the works of one style of a corpus.

The style's works are the corpus's train and valid works whose labels hold every ``match`` label (e.g.
``epoch=classical`` and ``ensemble=solo-piano``); batches are drawn from them exactly as the full training
draws its own (:func:`~cadenza.train.data.seeded_rows`), and the validation NLL is measured on a fixed set of
windows of the style's valid works, the same for the base (step 0: a fresh adapter's B is zero, so the model
is the base) and for the adapter. The adapter with the lowest validation NLL is written to ``out`` whole
(:func:`~cadenza.model.adapters.save_adapter`) at every validation that improves it. Ctrl-C, SIGTERM or SIGHUP
stop the run at the end of its step: it is validated once more and written if better. There is no resume
(no optimizer state is kept: ``--resume`` is refused); a run into a folder that holds an adapter is refused
unless ``overwrite``, and then the old adapter stays until the new run writes a better one than the base.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from cadenza.corpus.store import CorpusStore
from cadenza.errors import UsageError
from cadenza.model.adapters import AdapterSpec, adapter_tensors, attach, save_adapter, weights_hash
from cadenza.model.checkpoint import load_checkpoint, settled_file
from cadenza.model.transformer import EventTransformer
from cadenza.threads import ensure_threads
from cadenza.tokens.labels import label_ids
from cadenza.train.data import BatchConfig, SplitData, prepare_split, seeded_rows, split_from_steps
from cadenza.train.loop import _stop_on_signals, check_schedule, evaluate, learning_rate

log = logging.getLogger(__name__)

#: the style families an adapter can be trained for, and the corpus labels that pick their works
STYLE_MATCH: dict[str, dict[str, str]] = {
    "classical-piano": {"epoch": "classical", "ensemble": "solo-piano"},
    "romantic-piano": {"epoch": "romantic", "ensemble": "solo-piano"},
    "classical-quartet": {"epoch": "classical", "ensemble": "string-quartet"},
    "baroque-chorale": {"epoch": "baroque", "ensemble": "satb-choir"},
}


@dataclass(frozen=True)
class AdaptConfig:
    """One adapter run: the base checkpoint, the corpus and the style whose works it learns from, the
    adapter's rank and scale, and the optimisation (AdamW on the adapter alone, warm-up then cosine)."""

    init: str
    corpus: str
    out: str
    style: str = "classical-piano"
    rank: int = 8
    alpha: float = 16.0
    lr: float = 5e-4
    weight_decay: float = 0.0
    batch_size: int = 8
    max_steps: int = 600
    max_minutes: float = 15.0
    warmup_steps: int = 30
    eval_every: int = 100
    eval_batches: int = 8
    seed: int = 0
    label_keep: tuple[float, float] = (1.0, 1.0)  # every label kept: an adapter is chosen by its labels
    transpose: tuple[int, int] = (-2, 2)  # (lr 2e-3, labels dropped, -5..+6: never beat the base on valid)
    match: dict[str, str] = field(default_factory=dict)  # labels that pick the works; default STYLE_MATCH[style]
    overwrite: bool = False  # replace an adapter already in ``out`` (else a run into it is refused)

    def __post_init__(self) -> None:
        if not self.match and self.style not in STYLE_MATCH:
            raise UsageError(f"unknown style {self.style!r}: choose {', '.join(STYLE_MATCH)}")
        if self.max_steps < 1 or self.batch_size < 1 or not self.max_minutes > 0 or self.eval_every < 1:
            raise UsageError("steps, batch size, minutes and --eval-every must be positive")
        check_schedule(self.lr, self.warmup_steps, self.eval_every)

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.match or STYLE_MATCH[self.style])


Progress = Callable[[dict[str, Any]], None]


def style_subset(data: SplitData, labels: dict[str, str]) -> SplitData:
    """The works of ``data`` whose labels hold every one of ``labels``."""
    wanted = set(label_ids(labels))
    if len(wanted) != len(labels):
        raise UsageError(f"labels outside the vocabulary: {labels}")
    keep = [i for i in range(data.works) if wanted <= set(data.labels[i])]
    if not keep:
        raise UsageError(f"no works labelled {labels} in this split")
    subset = split_from_steps([data.work(i) for i in keep], [data.labels[i] for i in keep],
                              [int(data.notes[i]) for i in keep])
    subset.styles = [data.styles[i] for i in keep] if data.styles else []
    if data.copies is not None:
        subset.copies = data.copies[keep]
    return subset


def style_splits(corpus: str, labels: dict[str, str]) -> tuple[SplitData, SplitData]:
    """(train, valid) works of the style in a built corpus."""
    store = CorpusStore(corpus)
    return (style_subset(prepare_split(store, "train"), labels), style_subset(prepare_split(store, "valid"), labels))


def train_adapter(config: AdaptConfig, splits: tuple[SplitData, SplitData] | None = None,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Train an adapter for ``config.style`` over the frozen base ``config.init``; returns a summary (the base's
    and the best adapter's validation NLL, steps, minutes, whether a signal stopped it)."""
    ensure_threads()
    held = settled_file(config.out, "adapter.safetensors")  # (an adapter run written over it replaced it)
    if held is not None and not config.overwrite:
        raise UsageError(f"{config.out} already holds an adapter ({held.parent.name}/{held.name}): another --out "
                         "to train a new one, or --overwrite to replace it")
    train_data, valid_data = splits if splits is not None else style_splits(config.corpus, config.labels)
    base, _ = load_checkpoint(config.init)
    base_hash = weights_hash(config.init)
    model: EventTransformer = base
    params = attach(model, config.rank, config.alpha, config.seed)
    torch.manual_seed(config.seed)
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.99))
    batch = BatchConfig(context=model.config.context, batch_size=config.batch_size,
                        label_keep=config.label_keep, transpose=config.transpose)
    device = torch.device("cpu")
    started = time.time()
    base_metrics = evaluate(model, valid_data, batch, config.eval_batches, config.seed + 1, device)
    log.info("base: validation NLL %.4f nats/step on %d valid works", base_metrics["nll_per_step"], valid_data.works)
    best, best_step, history = base_metrics["nll_per_step"], 0, [{"step": 0, **base_metrics}]
    summary: dict[str, Any] = {"style": config.style, "match": config.labels, "train_works": train_data.works,
                               "valid_works": valid_data.works, "base_valid": base_metrics}

    def spec(step: int, metrics: dict[str, float]) -> AdapterSpec:
        training = {"config": {**asdict(config), "init": str(config.init)}, "step": step,
                    "minutes": round((time.time() - started) / 60, 2), "base_valid": base_metrics,
                    "valid": metrics, "train_works": train_data.works, "valid_works": valid_data.works}
        return AdapterSpec(config.style, config.rank, config.alpha, base_hash, config.labels, training)

    def validate(step: int, loss: float) -> None:
        nonlocal best, best_step
        metrics = evaluate(model, valid_data, batch, config.eval_batches, config.seed + 1, device)
        record = {"step": step, "train_loss": round(loss, 4), **{k: round(v, 4) for k, v in metrics.items()},
                  "minutes": round((time.time() - started) / 60, 2)}
        history.append(record)
        if metrics["nll_per_step"] < best:
            best, best_step = metrics["nll_per_step"], step
            save_adapter(config.out, spec(step, metrics), adapter_tensors(model))
        log.info("step %d: train %.4f, valid %.4f nats/step (base %.4f, best %.4f at %d)", step, loss,
                 metrics["nll_per_step"], base_metrics["nll_per_step"], best, best_step)
        if progress:
            progress({**record, "max_steps": config.max_steps})

    model.train()
    step, loss, stopped, validated = 0, float("nan"), None, 0
    deadline = started + config.max_minutes * 60
    with _stop_on_signals() as request:
        while step < config.max_steps and time.time() < deadline and request.signal is None:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, step)
            x = torch.from_numpy(seeded_rows(train_data, batch, config.seed, step))
            optimizer.zero_grad(set_to_none=True)
            value = model.loss(x)
            value.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            step, loss = step + 1, float(value.detach())
            if step % config.eval_every == 0:
                validate(step, loss)
                validated = step
                model.train()
        stopped = request.signal
        if step > validated:  # the steps since the last validation (a stop, the time limit) are not lost
            validate(step, loss)
    summary.update({"steps": step, "minutes": round((time.time() - started) / 60, 2), "best_valid": best,
                    "best_step": best_step, "improved": best_step > 0, "stopped_by": stopped, "history": history,
                    "out": config.out if best_step > 0 else None})
    if best_step == 0:
        log.warning("the adapter never beat the base on the style's valid works: nothing written")
    return summary


def held_out_nll(checkpoint: str, adapter: str | None, valid: SplitData, batches: int = 32, seed: int = 1,
                 context: int | None = None) -> dict[str, float]:
    """Validation NLL of the base (``adapter`` None) or the base with an adapter merged in, on ``batches`` fixed
    batches of 8 windows of ``valid`` (all labels kept, no transposition): base and adapter see the same
    windows."""
    from cadenza.model.adapters import load_merged

    model, _ = load_checkpoint(checkpoint)
    if adapter:
        model, _spec = load_merged(model, adapter, weights_hash(checkpoint))
    batch = BatchConfig(context=context or model.config.context, batch_size=8)
    return evaluate(model, valid, batch, batches, seed, torch.device("cpu"))


__all__ = ["STYLE_MATCH", "AdaptConfig", "held_out_nll", "style_splits", "style_subset", "train_adapter"]
