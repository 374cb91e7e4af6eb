"""Batches made ahead in worker processes, for a fast accelerator that one Python process cannot feed.

Each row of each step's batch comes from its own generator, seeded by (run seed, step, row)
(:func:`~cadenza.train.data.seeded_rows`), so the batches do not depend on how many workers make them or in
what order they finish, a resumed run draws exactly the batches the uninterrupted one would, and a run fed
by workers learns from the very batches of one that is not. Under torchrun each process makes its own rows.
Workers are forked: they share the split's arrays with the parent instead of copying them, and they end with
the stream.
"""

from __future__ import annotations

from collections import deque
from multiprocessing import get_context
from multiprocessing.pool import AsyncResult, Pool
from typing import Any

import numpy as np

from cadenza.train.data import BatchConfig, SplitData, seeded_rows

_shared: dict[str, Any] = {}


def _init(data: SplitData, config: BatchConfig, rows: range | None) -> None:
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
        self.ahead = ahead or 4 * workers
        self.pool: Pool = get_context("fork").Pool(workers, initializer=_init, initargs=(data, config, rows))
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
