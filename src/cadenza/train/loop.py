"""Training: the loop, validation NLL, checkpoints every few minutes, and exact resume.

A run lives in one folder: ``last/`` (the latest state: model, optimizer, RNG streams, step) and ``best/``
(the checkpoint with the lowest validation NLL), each written atomically. ``--resume`` continues from
``last/`` and, with the same configuration, ends exactly where an uninterrupted run would. Ctrl-C, SIGTERM and
SIGHUP (a closed terminal) stop a run at the end of its step, with that step saved in ``last/``
(:class:`TrainingStopped`); a second one stops it at once. Each step's batch
is a function of the run's seed and the step (:func:`~cadenza.train.data.seeded_rows`), so there is no data
position to save, and the same run can be trained on several processes (``torchrun``: see
:mod:`cadenza.train.distributed`) or in micro-batches (``accumulate``) to the same result.
"""

from __future__ import annotations

import json
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from cadenza.corpus.balance import DEFAULT_POWER
from cadenza.corpus.store import CorpusStore
from cadenza.errors import OutputError, UsageError
from cadenza.model.checkpoint import (
    learn_chord_kind,
    load_checkpoint,
    new_model,
    read_config,
    save_checkpoint,
    settled_file,
    settled_folder,
    tidy_folder,
    write_folder,
)
from cadenza.model.transformer import PRESETS, EventTransformer
from cadenza.threads import ensure_threads, set_threads
from cadenza.tokens.events import KIND
from cadenza.train import distributed
from cadenza.train.data import BATCH_SCHEME, BatchConfig, SplitData, make_batch, prepare_split, seeded_rows
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
    accumulate: int = 1  # each process learns from its rows of a batch in this many micro-batches (same result)

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise UsageError(f"unknown preset {self.preset!r}: choose {', '.join(PRESETS)}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise UsageError("--device must be auto, cpu or cuda")
        if self.max_steps < 1 or self.batch_size < 1 or not self.max_minutes > 0:
            raise UsageError("steps, batch size and minutes must be positive")
        check_schedule(self.lr, self.warmup_steps, self.eval_every)
        if not 0.0 <= self.balance <= 1.0:
            raise UsageError("--balance must be between 0 (every style equal) and 1 (in proportion to notes)")
        if self.batch_workers < 0:
            raise UsageError("--batch-workers must be 0 or more")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise UsageError("--precision must be auto, fp32 or bf16")
        if not 1 <= self.accumulate <= self.batch_size:
            raise UsageError(f"--accumulate must be 1 to the batch size ({self.batch_size})")


def check_schedule(lr: float, warmup_steps: int, eval_every: int) -> None:
    """A learning rate, warm-up and validation interval a run can follow, else a one-line UsageError naming
    the option (a negative or NaN --lr was torch's traceback; --eval-every 0 a division by zero)."""
    if not (math.isfinite(lr) and lr > 0):
        raise UsageError(f"--lr {lr}: give a positive learning rate, e.g. 1e-3")
    if warmup_steps < 0:
        raise UsageError(f"--warmup-steps {warmup_steps}: give 0 or more steps")
    if eval_every < 1:
        raise UsageError(f"--eval-every {eval_every}: give 1 or more steps")


Progress = Callable[[dict[str, Any]], None]


class Schedule(Protocol):
    """What the learning-rate schedule reads from a run's configuration (a TrainConfig, an adapter run's)."""

    @property
    def lr(self) -> float: ...

    @property
    def warmup_steps(self) -> int: ...

    @property
    def max_steps(self) -> int: ...


def learning_rate(config: Schedule, step: int) -> float:
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
                config: TrainConfig, history: list[dict[str, Any]], best: float, rng: dict[str, torch.Tensor],
                processes: int) -> None:
    """``last/``: the model, the optimizer, every process's torch random streams and the step, written as one
    folder (a crash leaves the previous step's whole, never files of two steps)."""
    opt = optimizer.state_dict()
    tensors = dict(rng)
    for index, values in opt["state"].items():
        for key, value in values.items():
            tensors[f"opt.{index}.{key}"] = value.detach().cpu() if torch.is_tensor(value) else torch.tensor(value)
    state = {"step": step, "best": best if math.isfinite(best) else None, "batches": BATCH_SCHEME,
             "processes": processes, "param_groups": opt["param_groups"], "history": history}

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


def _load_state(folder: Path, optimizer: torch.optim.Optimizer, world: distributed.World, device: torch.device,
                seed: int) -> tuple[int, list[Any], float]:
    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    if state.get("batches") != BATCH_SCHEME:
        raise UsageError(f"the run in {folder.parent} was saved by an older Cadenza that drew its batches "
                         "otherwise: resume it with that version, or start it again")
    tensors = load_file(str(folder / "optimizer.safetensors"))
    distributed.restore_rng(tensors, world, device, seed)
    per_param: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith("opt."):
            _, index, key = name.split(".", 2)
            per_param.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": per_param, "param_groups": state["param_groups"]})
    best = state["best"]
    return int(state["step"]), state["history"], float("inf") if best is None else float(best)


class TrainingStopped(KeyboardInterrupt):
    """A run stopped by a signal (Ctrl-C, SIGTERM, SIGHUP) once its step was saved in ``last/``: ``--resume``
    continues it exactly."""

    def __init__(self, signal_name: str, step: int, max_steps: int, folder: Path, rank: int = 0) -> None:
        super().__init__(f"{signal_name} at step {step:,} of {max_steps:,}: saved in {folder}")
        self.signal_name, self.step, self.max_steps, self.folder, self.rank = (
            signal_name, step, max_steps, folder, rank)


class _StopRequest:
    """The first of Ctrl-C, SIGTERM and SIGHUP asks the run to stop at the end of its step (after saving it);
    a second one stops it at once, as the signal alone would."""

    def __init__(self) -> None:
        self.signal: str | None = None

    def __call__(self, signum: int, frame: object) -> None:
        name = signal.Signals(signum).name
        if self.signal is not None:
            raise KeyboardInterrupt(f"{name} again: stopped without saving the steps since the last checkpoint")
        self.signal = name
        log.warning("%s: saving this step in last/ and stopping (again to stop at once, losing it)", name)


@contextmanager
def _stop_on_signals() -> Iterator[_StopRequest]:
    """Signals that stop the run become a request it answers at the end of a step (in the main thread only:
    elsewhere the signals keep their handlers); the handlers before are restored after."""
    request = _StopRequest()
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                previous[getattr(signal, name)] = signal.signal(getattr(signal, name), request)
    try:
        yield request
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


#: settings that change how a run computes, not what it learns: a run may resume with others
HOW_NOT_WHAT = ("max_minutes", "accumulate", "batch_workers")


#: the settings ``cadenza train`` takes as options of their own name (the others are named as the config's fields)
TRAIN_OPTIONS = ("corpus", "preset", "device", "max_steps", "batch_size", "seed", "init", "lr", "warmup_steps",
                 "eval_every", "balance", "precision")


def settings_changed(saved: dict[str, Any], config: TrainConfig) -> str:
    """The settings a resumed run would change, each as ``--lr 0.001 → 0.5`` (old → new), in one line; "" when
    it changes none (those of :data:`HOW_NOT_WHAT` may change)."""
    asked = json.loads(json.dumps(asdict(config)))
    changed = []
    for key in [*asked, *(k for k in saved if k not in asked)]:
        old, new = (repr(given[key]) if key in given else "(none)" for given in (saved, asked))
        if key not in HOW_NOT_WHAT and (key in saved, saved.get(key)) != (key in asked, asked.get(key)):
            changed.append(f"{f'--{key}'.replace('_', '-') if key in TRAIN_OPTIONS else key} {old} → {new}")
    return ", ".join(changed)


def train(config: TrainConfig, resume: bool = False, progress: Progress | None = None,
          splits: tuple[SplitData, SplitData] | None = None, threads: int | None = None,
          overwrite: bool = False) -> dict[str, Any]:
    """Train (or resume) a model on a corpus; returns a summary with throughput and the best validation NLL.
    A new run into a folder that holds one (its ``last/`` or ``best/``) is refused unless ``overwrite``: it
    replaces them, once the new run is ready to take its first step.
    ``splits`` (train, valid) replaces reading the corpus: step arrays prepared elsewhere (``load_steps``).
    ``threads``: torch's thread count for this process (:mod:`cadenza.threads`). Started by torchrun, each of
    its processes calls this and they train together (:mod:`cadenza.train.distributed`); rank 0 writes the
    checkpoints and returns the summary, the others a summary of their own share."""
    if threads is not None:
        set_threads(threads)
    ensure_threads()
    world, device = distributed.start(config.device)
    made_from = _first_missing(Path(config.out)) if world.main else None
    try:
        return _train(config, resume, progress, splits, world, device, overwrite)
    except BaseException:
        if made_from is not None:  # a run that failed before it wrote anything (no such corpus, nothing to
            _remove_empty(Path(config.out), made_from)  # resume, a bad --init) leaves no empty folders behind
        raise
    finally:
        distributed.stop(world)


def _first_missing(path: Path) -> Path | None:
    """The outermost of ``path`` and its parents that does not exist yet (None: ``path`` exists, or a name the
    file system refuses, which the run folder's check reports)."""
    missing = None
    try:
        while not path.exists() and path != path.parent:
            missing, path = path, path.parent
    except OSError:
        return None
    return missing


def _remove_empty(folder: Path, up_to: Path) -> None:
    """Remove ``folder`` and its parents up to ``up_to`` while they are empty."""
    for each in (folder, *folder.parents):
        try:
            each.rmdir()
        except OSError:  # it holds a checkpoint (or cannot be removed): kept, and its parents
            return
        if each == up_to:
            return


def held_run(out: Path) -> list[str]:
    """The checkpoints of a run that ``out`` holds: ``last/`` (resumable) and ``best/``, each as written whole
    or as a crash inside its swap left it (none where the file system refuses the name: the run folder's own
    check says so in one line)."""
    return [f"{name}/" for name, file in (("last", "state.json"), ("best", "model.safetensors"))
            if settled_file(out / name, file) is not None]


def _check_new_run(out: Path, resume: bool, overwrite: bool) -> None:
    """A new run may not silently replace the checkpoints of one already in ``out`` (the hours they hold were
    lost): one line names the ways on."""
    if resume and overwrite:
        raise UsageError("--resume continues the run in its folder, --overwrite replaces it: give one of them")
    held = held_run(out)
    if resume or overwrite or not held:
        return
    raise UsageError(f"{out} already holds a run ({' and '.join(held)}): --resume to continue it, another --out "
                     "to start a new one, or --overwrite to replace it")


def _clear_run(out: Path) -> None:
    """Remove the checkpoints of the run an ``overwrite`` replaces (a best/ of the old run would stay the new
    run's best until it validates, and an old index beside it)."""
    import shutil

    for name in ("last", "best"):
        for folder in (out / name, out / f"{name}.old"):
            if folder.is_dir():
                shutil.rmtree(folder)


def _train(config: TrainConfig, resume: bool, progress: Progress | None, splits: tuple[SplitData, SplitData] | None,
           world: distributed.World, device: torch.device, overwrite: bool = False) -> dict[str, Any]:
    out = Path(config.out)
    _check_new_run(out, resume, overwrite)
    my_rows = distributed.rows_of(world, config.batch_size, config.accumulate)
    if world.main:
        try:  # the run folder must take files before an hour of training depends on it
            out.mkdir(parents=True, exist_ok=True)
            probe = out / ".cadenza-write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise OutputError(f"cannot write the run folder {str(out)[:120]}: {exc.strerror or exc}") from None
    if splits is not None:
        train_data, valid_data = splits
    else:
        if world.local_rank:  # the machine's first process prepares (and caches) the splits, then the others
            distributed.barrier(world)
        train_data, valid_data = _read_splits(config)
        if not world.local_rank:
            distributed.barrier(world)
    autocast = device.type == "cuda" and config.precision in ("auto", "bf16")
    last, best_dir = out / "last", out / "best"
    if world.main:  # what a crash inside a checkpoint write left (a run killed at its very end writes no more)
        tidy_folder(last)
        tidy_folder(best_dir)
    saved_last = settled_folder(last)  # a crash inside the swap of last/ leaves it as last.old
    torch.manual_seed(config.seed)
    if resume:
        if not (saved_last / "state.json").is_file():
            also = (": its best/ is all a run stopped at its first checkpoint left; --overwrite starts it again"
                    if held_run(out) else "")
            raise UsageError(f"nothing to resume in {out} (no last/state.json){also}")
        differ = settings_changed(read_config(saved_last)["training"]["config"], config)
        if differ:
            raise UsageError(f"the run in {out} was started with other settings ({differ}); resume it with the "
                             "same ones")
        model, _ = load_checkpoint(saved_last, device=str(device))
        model.train()
    elif config.init:
        model, _ = load_checkpoint(config.init, device=str(device))
        model = learn_chord_kind(model).to(device)  # a first-vocabulary model learns the chord steps
        model.train()
    else:
        model = new_model(config.preset, **config.overrides).to(device)
    if world.rank:  # dropout differs between the processes' rows
        torch.manual_seed(config.seed + distributed.RANK_SEED_STRIDE * world.rank)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.95))
    history: list[dict[str, Any]] = []
    step, best = 0, float("inf")
    if resume:
        step, history, best = _load_state(saved_last, optimizer, world, device, config.seed)
    elif overwrite and world.main:  # the new run is ready: the old one's checkpoints go now
        _clear_run(out)
    learner = distributed.wrap(model, world, device)
    batch = BatchConfig(context=model.config.context, batch_size=config.batch_size,
                        label_keep=config.label_keep, transpose=config.transpose)
    train_data = train_data.balanced(config.balance, model.config.context)
    started, notes_seen, steps_seen, first_step, saved_step = time.time(), 0.0, 0.0, step, step
    deadline = started + config.max_minutes * 60
    loss_value, out_of_time, stopped = float("nan"), False, False
    stream = (BatchStream(train_data, batch, config.seed, step, config.batch_workers, rows=my_rows)
              if config.batch_workers else None)
    with _stop_on_signals() as request:
        try:
            while step < config.max_steps and not out_of_time and not stopped:
                rows = (stream.next(give_up=lambda: request.signal is not None) if stream
                        else seeded_rows(train_data, batch, config.seed, step, my_rows))
                step, loss_value = train_step(learner, optimizer, config, step, rows, device, autocast)
                kinds = rows[:, 1:, 0]
                loss_sum, notes, real, late, asked = distributed.sum_over(world, [  # every process stops together
                    loss_value, float((kinds == KIND["note"]).sum()), float((kinds != KIND["pad"]).sum()),
                    float(world.main and time.time() >= deadline), float(request.signal is not None)], device)
                loss_value, out_of_time, stopped = loss_sum / world.size, late > 0, asked > 0
                notes_seen, steps_seen = notes_seen + notes, steps_seen + real
                if step % config.eval_every == 0 or step == config.max_steps:
                    rng = distributed.rng_states(world, device)
                    saved_step = step
                    if not world.main:
                        continue
                    metrics = evaluate(model, valid_data, batch, config.eval_batches, config.seed + 1, device)
                    elapsed = time.time() - started
                    record = {"step": step, "train_loss": round(loss_value, 4),
                              **{k: round(v, 4) for k, v in metrics.items()},
                              "notes_per_s": round(notes_seen / elapsed, 1), "minutes": round(elapsed / 60, 2)}
                    history.append(record)
                    if metrics["nll_per_step"] < best:
                        best = metrics["nll_per_step"]
                        _save_best(best_dir, model, config, step, metrics)
                    _save_state(last, model, optimizer, step, config, history, best, rng, world.size)
                    if progress:
                        progress({**record, "max_steps": config.max_steps, "max_minutes": config.max_minutes,
                                  "first_step": first_step})
        finally:
            if stream:
                stream.close()
        if saved_step != step:
            rng = distributed.rng_states(world, device)
            if world.main:
                _save_state(last, model, optimizer, step, config, history, best, rng, world.size)
        if stopped:  # the step is saved: no validation now, the user is waiting
            distributed.barrier(world)
            raise TrainingStopped(request.signal or "a signal to another process", step, config.max_steps, last,
                                  world.rank)
        if world.main and not (best_dir / "model.safetensors").is_file() and step > 0:  # stopped before its
            metrics = evaluate(model, valid_data, batch, config.eval_batches, config.seed + 1, device)  # first
            best = metrics["nll_per_step"]  # validation: a best/ to compose with all the same
            _save_best(best_dir, model, config, step, metrics)
    distributed.barrier(world)  # every process leaves together: a process that left the group while process 0
    # still wrote its checkpoints ended in "terminate called without an active exception" (SIGABRT) in CI
    if request.signal:  # asked to stop while the last step was saved: the run is whole, the command stops
        raise TrainingStopped(request.signal, step, config.max_steps, last, world.rank)
    elapsed = max(time.time() - started, 1e-9)
    return {"steps": step, "best_valid_nll_per_step": best, "last_train_loss": loss_value,
            "notes_per_s": round(notes_seen / elapsed, 1), "steps_per_s": round(steps_seen / elapsed, 1),
            "parameters": model.parameter_count(), "device": str(device), "processes": world.size,
            "rank": world.rank, "accumulate": config.accumulate, "threads": ensure_threads(), "out": str(out),
            "history": history}


def _read_splits(config: TrainConfig) -> tuple[SplitData, SplitData]:
    if config.benchmark:
        from cadenza.train.data import benchmark_split

        return (benchmark_split(config.benchmark, "train", config.limit_works),
                benchmark_split(config.benchmark, "valid", config.limit_works))
    store = CorpusStore(config.corpus)
    return prepare_split(store, "train", config.limit_works), prepare_split(store, "valid", config.limit_works)


def train_step(learner: torch.nn.Module, optimizer: torch.optim.Optimizer, config: TrainConfig, step: int,
              rows: np.ndarray, device: torch.device, autocast: bool) -> tuple[int, float]:
    """One optimiser step on this process's rows of the step's batch, ``config.accumulate`` micro-batches at a
    time (gradients summed, synchronised between processes once); returns the new step number and the mean
    loss of the rows."""
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(config, step)
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    micro_batches = np.split(rows, config.accumulate)
    for i, micro in enumerate(micro_batches):
        x = torch.from_numpy(micro).to(device, non_blocking=True)
        with distributed.deferred_sync(learner, last=i == len(micro_batches) - 1):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                loss = learner(x) / config.accumulate
            loss.backward()
        total += float(loss.detach())
    torch.nn.utils.clip_grad_norm_(learner.parameters(), 1.0)
    optimizer.step()
    return step + 1, total
