"""Training on several processes with PyTorch DDP: ``torchrun --nproc-per-node N -m cadenza train …``.

torchrun starts the processes and tells each its place in the environment (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``); without them, training is one process, as before. The
processes talk through gloo on CPU and NCCL on GPUs (one GPU per process, ``cuda:LOCAL_RANK``).

**One global batch, whatever the number of processes.** ``--batch-size`` is the batch of one optimizer step.
Its rows are drawn each from its own generator, seeded by (run seed, step, row) (:func:`~cadenza.train.data.
seeded_rows`), so every process knows the whole batch without making it: process r makes only its own
``batch / N`` rows, learns from them ``--accumulate K`` micro-batches at a time (gradients summed, synchronised
once per step), and DDP averages the gradients of the processes. Every row holds the same number of real
steps (rows are packed), so the mean of the shares' losses is the batch's loss: N processes follow a single
process's run to floating-point tolerance, and a run may be resumed on another number of processes.

**Who does what.** Rank 0 validates, writes ``last/`` and ``best/`` (atomic folders) and reports progress; it
also decides when time is up, and the decision travels with each step's small all-reduce, so every process
stops after the same step. The torch random streams of all ranks (dropout) are saved with ``last/``, so a
resume on the same number of processes is exact. Every process reads the corpus (or ``--steps``) itself; on
several machines, the run folder must be shared to ``--resume``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from cadenza.errors import UsageError

log = logging.getLogger(__name__)

#: torch's random streams are saved per rank under these names (rank 0 keeps the single-process names)
RNG_NAMES = ("torch_rng", "cuda_rng")
#: a rank above 0 seeds its dropout stream with the run's seed plus this times its rank
RANK_SEED_STRIDE = 7919


@dataclass(frozen=True)
class World:
    """Where this process stands: its rank among ``size`` processes (``local_rank`` on its machine), the
    backend that joins them ("" for a single process) and whether this module started the group."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: str = ""
    owns_group: bool = False

    @property
    def main(self) -> bool:
        """Rank 0: validates, writes checkpoints, reports."""
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "")
    try:
        return int(text) if text else default
    except ValueError:
        raise UsageError(f"{name}={text[:20]!r} in the environment is not a whole number (torchrun sets it)") from None


def pick_device(name: str, local_rank: int | None = None) -> torch.device:
    """The training device: ``cuda`` when asked or when ``auto`` finds one (``cuda:LOCAL_RANK`` for one of
    several processes), else the CPU."""
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise UsageError("--device cuda asked for, but no CUDA device is available")
        if local_rank is None:
            return torch.device("cuda")
        if local_rank >= torch.cuda.device_count():
            raise UsageError(f"process {local_rank} on this machine has no GPU of its own "
                             f"({torch.cuda.device_count()} GPUs): give torchrun --nproc-per-node at most that")
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def start(device_name: str) -> tuple[World, torch.device]:
    """Join the processes torchrun started (a no-op for one process) and pick this process's device."""
    size = _env_int("WORLD_SIZE", 1)
    if size <= 1 and not (dist.is_available() and dist.is_initialized()):
        return World(), pick_device(device_name)
    rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    device = pick_device(device_name, local_rank)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_available():
        raise UsageError("this torch has no torch.distributed: train on one process (without torchrun)")
    owns = False
    if not dist.is_initialized():
        available = dist.is_nccl_available() if backend == "nccl" else dist.is_gloo_available()
        if not available:
            raise UsageError(f"this torch has no {backend} backend for training on several processes")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend, rank=rank, world_size=size)
        owns = True
    world = World(dist.get_rank(), dist.get_world_size(), local_rank, str(dist.get_backend()), owns)
    log.info("process %d of %d (%s, %s)", world.rank, world.size, world.backend, device)
    return world, device


def stop(world: World) -> None:
    """Leave the group this module started."""
    if world.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def rows_of(world: World, batch_size: int, accumulate: int) -> range:
    """This process's rows of every global batch: a contiguous ``batch_size / size`` of them, learnt from in
    ``accumulate`` micro-batches. The batch must split evenly (else a one-line :class:`UsageError`)."""
    share = world.size * accumulate
    if batch_size % share:
        raise UsageError(f"--batch-size {batch_size} does not split into {world.size} process(es) × --accumulate "
                         f"{accumulate} equal micro-batches: give a multiple of {share}")
    per_process = batch_size // world.size
    return range(world.rank * per_process, (world.rank + 1) * per_process)


class LossModule(torch.nn.Module):
    """The model's training loss as ``forward`` (DDP synchronises gradients through ``forward``)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, steps: torch.Tensor) -> torch.Tensor:
        return self.model.loss(steps)  # type: ignore[operator]


def wrap(model: torch.nn.Module, world: World, device: torch.device) -> torch.nn.Module:
    """The loss of ``model`` as a module to call: wrapped in DDP on several processes (which also copies rank
    0's weights to every process)."""
    loss = LossModule(model)
    if world.size == 1:
        return loss
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(loss, device_ids=[device.index] if device.type == "cuda" else None)


@contextmanager
def deferred_sync(module: torch.nn.Module, last: bool) -> Iterator[None]:
    """Gradients of a micro-batch that is not the step's last stay local (DDP's ``no_sync``)."""
    no_sync = getattr(module, "no_sync", None)
    with (no_sync() if no_sync is not None and not last else nullcontext()):
        yield


def sum_over(world: World, values: list[float], device: torch.device) -> list[float]:
    """Each value summed over the processes (the values themselves for one process)."""
    if world.size == 1:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return [float(v) for v in tensor.tolist()]


def rng_states(world: World, device: torch.device) -> dict[str, torch.Tensor]:
    """Every rank's torch random streams, named for ``optimizer.safetensors`` (a collective call: every rank
    makes it; only rank 0 uses the result)."""
    mine = {"torch_rng": torch.get_rng_state()}
    if device.type == "cuda":
        mine["cuda_rng"] = torch.cuda.get_rng_state(device)
    everyone: list[Any] = [mine]
    if world.size > 1:
        everyone = [None] * world.size
        dist.all_gather_object(everyone, mine)
    return {(name if rank == 0 else f"{name}.{rank}"): state for rank, states in enumerate(everyone)
            for name, state in states.items()}


def restore_rng(tensors: dict[str, torch.Tensor], world: World, device: torch.device, seed: int) -> None:
    """This rank's torch random streams from a checkpoint's; a rank the checkpoint lacks (resumed on more
    processes) starts its own stream from the seed."""
    suffix = "" if world.rank == 0 else f".{world.rank}"
    if f"torch_rng{suffix}" not in tensors:
        torch.manual_seed(seed + RANK_SEED_STRIDE * world.rank)
        return
    torch.set_rng_state(tensors[f"torch_rng{suffix}"])
    if device.type == "cuda" and f"cuda_rng{suffix}" in tensors:
        torch.cuda.set_rng_state(tensors[f"cuda_rng{suffix}"], device)


def barrier(world: World) -> None:
    """Wait for every process (a no-op for one)."""
    if world.size > 1:
        dist.barrier()
