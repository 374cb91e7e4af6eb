"""Training: the loop, validation NLL, checkpoints every few minutes, and exact resume.

A run lives in one folder: ``last/`` (the latest state: model, optimizer, RNG streams, data position, step)
and ``best/`` (the checkpoint with the lowest validation NLL), each written atomically. ``--resume``
continues from ``last/`` and, with the same configuration, ends exactly where an uninterrupted run would.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from cadenza.corpus.balance import DEFAULT_POWER
from cadenza.corpus.store import CorpusStore
from cadenza.errors import OutputError, UsageError
from cadenza.model.checkpoint import (
    load_checkpoint,
    new_model,
    read_config,
    save_checkpoint,
    settled_folder,
    write_folder,
)
from cadenza.model.transformer import PRESETS, EventTransformer
from cadenza.tokens.events import KIND
from cadenza.train.data import BatchConfig, SplitData, generator_from_state, generator_state, make_batch, prepare_split
from cadenza.train.prefetch import BatchStream

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    corpus: str = "default"
    out: str = "runs/default"
    preset: str = "small"
    device: str = "auto"  # auto | cpu | cuda
    seed: int = 0
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 200
    max_steps: int = 20_000
    max_minutes: float = 150.0
    eval_every: int = 250
    eval_batches: int = 8
    label_keep: tuple[float, float] = (0.0, 1.0)  # range of each example's label keep rate
    transpose: tuple[int, int] = (-5, 6)
    limit_works: int | None = None  # per split, for quick runs
    benchmark: str = ""  # train on a benchmark's official train/valid split instead of a corpus
    init: str = ""  # start from this checkpoint's weights (fine-tuning) instead of a new model
    overrides: dict[str, Any] = field(default_factory=dict)  # model settings over the preset
    balance: float = DEFAULT_POWER  # style balance: each style's share of draws ∝ (its notes) ** balance
    batch_workers: int = 0  # >0: batches made ahead by this many processes, each seeded by its step
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise UsageError(f"unknown preset {self.preset!r}: choose {', '.join(PRESETS)}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise UsageError("--device must be auto, cpu or cuda")
        if self.max_steps < 1 or self.batch_size < 1 or not self.max_minutes > 0:
            raise UsageError("steps, batch size and minutes must be positive")
        if not 0.0 <= self.balance <= 1.0:
            raise UsageError("--balance must be between 0 (every style equal) and 1 (in proportion to notes)")
        if self.batch_workers < 0:
            raise UsageError("--batch-workers must be 0 or more")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise UsageError("--precision must be auto, fp32 or bf16")


Progress = Callable[[dict[str, Any]], None]


def _device(name: str) -> torch.device:
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise UsageError("--device cuda asked for, but no CUDA device is available")
        return torch.device("cuda")
    return torch.device("cpu")


def learning_rate(config: TrainConfig, step: int) -> float:
    """Linear warm-up, then cosine decay to a tenth."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = min((step - config.warmup_steps) / max(config.max_steps - config.warmup_steps, 1), 1.0)
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def evaluate(model: EventTransformer, data: SplitData, batch: BatchConfig, batches: int, seed: int,
             device: torch.device) -> dict[str, float]:
    """Validation NLL on a fixed set of examples (the same every time): per step, and per note."""
    model.eval()
    rng = np.random.default_rng(seed)
    total = steps = notes = 0.0
    for _ in range(batches):
        x = torch.from_numpy(make_batch(data, replace(batch, label_keep=(1.0, 1.0), transpose=(0, 0)), rng)).to(device)
        nll = model.step_nll(x)
        real = (x[:, 1:, 0] != KIND["pad"]).float()
        total += float((nll * real).sum())
        steps += float(real.sum())
        notes += float((x[:, 1:, 0] == KIND["note"]).sum())
    model.train()
    return {"nll_per_step": total / max(steps, 1), "nll_per_note": total / max(notes, 1)}


def _save_state(folder: Path, model: EventTransformer, optimizer: torch.optim.Optimizer, step: int,
                rng: np.random.Generator, config: TrainConfig, history: list[dict[str, Any]],
                best: float) -> None:
    """``last/``: the model, the optimizer, the RNG streams and the step, written as one folder (a crash leaves
    the previous step's whole, never files of two steps)."""
    opt = optimizer.state_dict()
    tensors = {"torch_rng": torch.get_rng_state()}
    for index, values in opt["state"].items():
        for key, value in values.items():
            tensors[f"opt.{index}.{key}"] = value.detach().cpu() if torch.is_tensor(value) else torch.tensor(value)
    state = {"step": step, "best": best if math.isfinite(best) else None, "numpy_rng": generator_state(rng),
             "param_groups": opt["param_groups"], "history": history}

    def write(into: Path) -> None:
        save_checkpoint(model, into, training={"config": asdict(config), "step": step, "history": history[-50:]})
        save_file(tensors, str(into / "optimizer.safetensors"))
        (into / "state.json").write_bytes(json.dumps(state, allow_nan=False).encode("utf-8"))

    write_folder(folder, write)


def _save_best(folder: Path, model: EventTransformer, config: TrainConfig, step: int,
               metrics: dict[str, float]) -> None:
    """``best/``: the model and its validation figures, written as one folder."""
    write_folder(folder, partial(save_checkpoint, model,
                                 training={"config": asdict(config), "step": step, "valid": metrics}))


def _load_state(folder: Path, optimizer: torch.optim.Optimizer) -> tuple[int, np.random.Generator, list[Any], float]:
    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    tensors = load_file(str(folder / "optimizer.safetensors"))
    torch.set_rng_state(tensors.pop("torch_rng"))
    per_param: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        _, index, key = name.split(".", 2)
        per_param.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": per_param, "param_groups": state["param_groups"]})
    best = state["best"]
    return (int(state["step"]), generator_from_state(state["numpy_rng"]), state["history"],
            float("inf") if best is None else float(best))


def train(config: TrainConfig, resume: bool = False, progress: Progress | None = None,
          splits: tuple[SplitData, SplitData] | None = None) -> dict[str, Any]:
    """Train (or resume) a model on a corpus; returns a summary with throughput and the best validation NLL.
    ``splits`` (train, valid) replaces reading the corpus: step arrays prepared elsewhere (``load_steps``)."""
    out = Path(config.out)
    try:  # the run folder must take files before an hour of training depends on it
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".cadenza-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write the run folder {str(out)[:120]}: {exc.strerror or exc}") from None
    if splits is not None:
        train_data, valid_data = splits
    elif config.benchmark:
        from cadenza.train.benchmark import benchmark_split

        train_data = benchmark_split(config.benchmark, "train", config.limit_works)
        valid_data = benchmark_split(config.benchmark, "valid", config.limit_works)
    else:
        store = CorpusStore(config.corpus)
        train_data = prepare_split(store, "train", config.limit_works)
        valid_data = prepare_split(store, "valid", config.limit_works)
    device = _device(config.device)
    autocast = device.type == "cuda" and config.precision in ("auto", "bf16")
    last, best_dir = out / "last", out / "best"
    saved_last = settled_folder(last)  # a crash inside the swap of last/ leaves it as last.old
    torch.manual_seed(config.seed)
    if resume:
        if not (saved_last / "state.json").is_file():
            raise UsageError(f"nothing to resume in {out} (no last/state.json)")
        saved = read_config(saved_last)["training"]["config"]
        if {k: v for k, v in saved.items() if k not in ("max_minutes",)} != {
                k: v for k, v in json.loads(json.dumps(asdict(config))).items() if k not in ("max_minutes",)}:
            raise UsageError(f"the run in {out} was started with other settings; resume it with the same ones")
        model, _ = load_checkpoint(saved_last, device=str(device))
        model.train()
    elif config.init:
        model, _ = load_checkpoint(config.init, device=str(device))
        model.train()
    else:
        model = new_model(config.preset, **config.overrides).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.95))
    history: list[dict[str, Any]] = []
    step, rng, best = 0, np.random.default_rng(config.seed), float("inf")
    if resume:
        step, rng, history, best = _load_state(saved_last, optimizer)
    batch = BatchConfig(context=model.config.context, batch_size=config.batch_size,
                        label_keep=config.label_keep, transpose=config.transpose)
    train_data = train_data.balanced(config.balance, model.config.context)
    started, notes_seen, steps_seen, first_step = time.time(), 0, 0, step
    deadline = started + config.max_minutes * 60
    loss_value = float("nan")
    stream = BatchStream(train_data, batch, config.seed, step, config.batch_workers) if config.batch_workers else None
    try:
        while step < config.max_steps and time.time() < deadline:
            batch_array = stream.next() if stream else make_batch(train_data, batch, rng)
            step, loss_value = _one_step(model, optimizer, config, step, batch_array, device, autocast)
            x_kinds = batch_array[:, 1:, 0]
            notes_seen += int((x_kinds == KIND["note"]).sum())
            steps_seen += int((x_kinds != KIND["pad"]).sum())
            if step % config.eval_every == 0 or step == config.max_steps:
                metrics = evaluate(model, valid_data, batch, config.eval_batches, config.seed + 1, device)
                elapsed = time.time() - started
                record = {"step": step, "train_loss": round(loss_value, 4),
                          **{k: round(v, 4) for k, v in metrics.items()},
                          "notes_per_s": round(notes_seen / elapsed, 1), "minutes": round(elapsed / 60, 2)}
                history.append(record)
                if metrics["nll_per_step"] < best:
                    best = metrics["nll_per_step"]
                    _save_best(best_dir, model, config, step, metrics)
                _save_state(last, model, optimizer, step, rng, config, history, best)
                if progress:
                    progress({**record, "max_steps": config.max_steps, "max_minutes": config.max_minutes,
                              "first_step": first_step})
    finally:
        if stream:
            stream.close()
    if not history or history[-1]["step"] != step:
        _save_state(last, model, optimizer, step, rng, config, history, best)
    if not (best_dir / "model.safetensors").is_file() and step > 0:  # stopped before its first validation:
        metrics = evaluate(model, valid_data, batch, config.eval_batches, config.seed + 1, device)  # a best/
        best = metrics["nll_per_step"]  # to compose with all the same
        _save_best(best_dir, model, config, step, metrics)
    elapsed = max(time.time() - started, 1e-9)
    return {"steps": step, "best_valid_nll_per_step": best, "last_train_loss": loss_value,
            "notes_per_s": round(notes_seen / elapsed, 1), "steps_per_s": round(steps_seen / elapsed, 1),
            "parameters": model.parameter_count(), "device": str(device), "out": str(out), "history": history}


def _one_step(model: EventTransformer, optimizer: torch.optim.Optimizer, config: TrainConfig, step: int,
              batch_array: np.ndarray, device: torch.device, autocast: bool) -> tuple[int, float]:
    """One optimiser step on one batch; returns the new step number and the batch's loss."""
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(config, step)
    x = torch.from_numpy(batch_array).to(device, non_blocking=True)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
        loss = model.loss(x)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return step + 1, float(loss.detach())
