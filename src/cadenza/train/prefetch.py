"""Batches made ahead in worker processes, for a fast accelerator that one Python process cannot feed.

Each row of each step's batch comes from its own generator, seeded by (run seed, step, row)
(:func:`~cadenza.train.data.seeded_rows`), so the batches do not depend on how many workers make them or in
what order they finish, a resumed run draws exactly the batches the uninterrupted one would, and a run fed
by workers learns from the very batches of one that is not. Under torchrun each process makes its own rows.
Workers are forked: they share the split's arrays with the parent instead of copying them, and they end with
the stream. Ctrl-C and a closed terminal reach the training process alone (which saves its step and closes
the stream); a worker stopped by other means cannot hold the run up (:meth:`BatchStream.next`'s ``give_up``).
"""

from __future__ import annotations

import os
import signal
from collections import deque
from collections.abc import Callable
from multiprocessing import TimeoutError as ResultTimeout
from multiprocessing import get_context
from multiprocessing.pool import AsyncResult, Pool
from typing import Any

import numpy as np

from cadenza.score.sandbox import die_with_parent
from cadenza.train.data import BatchConfig, SplitData, seeded_rows

_shared: dict[str, Any] = {}


def _init(data: SplitData, config: BatchConfig, rows: range | None, parent: int) -> None:
    die_with_parent(parent)  # a kill -9 of the training process leaves no batch maker
    for name in ("SIGINT", "SIGHUP"):  # the terminal's signals are the training process's to answer
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    _shared["data"], _shared["config"], _shared["rows"] = data, config, rows


def step_batch(data: SplitData, config: BatchConfig, seed: int, step: int, rows: range | None = None) -> np.ndarray:
    """The batch of one step (or its rows ``rows``): the same whoever makes it."""
    return seeded_rows(data, config, seed, step, rows)


def _make(seed: int, step: int) -> np.ndarray:
    return step_batch(_shared["data"], _shared["config"], seed, step, _shared["rows"])


class BatchStream:
    """Batches (or their rows ``rows``) for steps ``first_step``, ``first_step + 1``, … made by ``workers``
    processes, at most ``ahead`` of them waiting (memory stays bounded however slow the consumer is)."""

    def __init__(self, data: SplitData, config: BatchConfig, seed: int, first_step: int, workers: int,
                 ahead: int | None = None, rows: range | None = None) -> None:
        self.seed, self.next_step = seed, first_step
        self.data, self.config, self.rows = data, config, rows
        self.ahead = ahead or 4 * workers
        self.pool: Pool = get_context("fork").Pool(workers, initializer=_init,
                                                   initargs=(data, config, rows, os.getpid()))
        self.pending: deque[tuple[int, AsyncResult[np.ndarray]]] = deque()
        self._fill()

    def _fill(self) -> None:
        while len(self.pending) < self.ahead:
            self.pending.append((self.next_step, self.pool.apply_async(_make, (self.seed, self.next_step))))
            self.next_step += 1

    def next(self, give_up: Callable[[], bool] = lambda: False) -> np.ndarray:
        """The next step's batch. While it waits, ``give_up`` is asked every 0.2 s: once it says so (the run
        was asked to stop, and a signal to the whole process group may have killed the worker making it), the
        batch is made here instead (the same batch: it depends on the step alone)."""
        step, pending = self.pending.popleft()
        while True:
            try:
                batch = pending.get(timeout=0.2)
                break
            except ResultTimeout:
                if give_up():
                    batch = step_batch(self.data, self.config, self.seed, step, self.rows)
                    break
        self._fill()
        return batch

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()
