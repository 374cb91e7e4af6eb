"""Batches made ahead in worker processes, for a fast accelerator that one Python process cannot feed.

Each step's batch comes from its own generator, seeded by (run seed, step number), so the batches do not
depend on how many workers make them or in what order they finish, and a resumed run draws exactly the
batches the uninterrupted one would. Workers are forked: they share the split's arrays with the parent
instead of copying them, and they end with the stream.
"""

from __future__ import annotations

from collections import deque
from multiprocessing import get_context
from multiprocessing.pool import AsyncResult, Pool
from typing import Any

import numpy as np

from cadenza.train.data import BatchConfig, SplitData, make_batch

_shared: dict[str, Any] = {}


def _init(data: SplitData, config: BatchConfig) -> None:
    _shared["data"], _shared["config"] = data, config


def step_batch(data: SplitData, config: BatchConfig, seed: int, step: int) -> np.ndarray:
    """The batch of one step: the same whoever makes it."""
    return make_batch(data, config, np.random.default_rng([seed, step]))


def _make(seed: int, step: int) -> np.ndarray:
    return step_batch(_shared["data"], _shared["config"], seed, step)


class BatchStream:
    """Batches for steps ``first_step``, ``first_step + 1``, … made by ``workers`` processes, at most
    ``ahead`` of them waiting (memory stays bounded however slow the consumer is)."""

    def __init__(self, data: SplitData, config: BatchConfig, seed: int, first_step: int, workers: int,
                 ahead: int | None = None) -> None:
        self.seed, self.next_step = seed, first_step
        self.ahead = ahead or 4 * workers
        self.pool: Pool = get_context("fork").Pool(workers, initializer=_init, initargs=(data, config))
        self.pending: deque[AsyncResult[np.ndarray]] = deque()
        self._fill()

    def _fill(self) -> None:
        while len(self.pending) < self.ahead:
            self.pending.append(self.pool.apply_async(_make, (self.seed, self.next_step)))
            self.next_step += 1

    def next(self) -> np.ndarray:
        batch = self.pending.popleft().get()
        self._fill()
        return batch

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()
