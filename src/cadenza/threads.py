"""Torch's thread count, set once per process: from ``--threads N`` (the CLI) or ``threads=`` (the API), else
the ``CADENZA_THREADS`` environment variable, else the measured default below.

Nothing in Cadenza flips the count per call: :func:`set_threads` chooses it (the CLI does, once), and the
first model built or run gives it to torch (:func:`ensure_threads`); it stays so for the life of the process.
(A count set with ``torch.set_num_threads`` before Cadenza builds its first model is replaced by the chosen
one: use ``set_threads`` or ``CADENZA_THREADS``.)

**The default: one thread**, for composing and for training, measured on the 2-core development machine
that other developers' work keeps busy (``python -m benchmarks.threads --rounds 3 --train-steps 2``, load 3.9-8.0
during the run, ``benchmarks/results/threads.json``): medians of three rounds alternating one and two threads,
two threads against one, the shipped model's raw sampling 6.5 against 56.8 steps/s (0.12x), the composer's
sampling 4.9 against 33.4 (0.15x), training the shipped model's shape (batch 16) 420 against 762 steps/s
(0.55x): two threads spin-wait on each other when the other core is taken. On a machine of your own with idle
cores, more threads may train faster (``--threads N``); under ``torchrun`` keep one per process (each process
takes a core).

A leaf module: it imports nothing of Cadenza but :mod:`cadenza.errors`, so every layer may use it; it imports
torch only when a model is built (a command that runs no model never loads torch).
"""

from __future__ import annotations

import logging
import os
import sys

from cadenza.errors import UsageError

log = logging.getLogger(__name__)

#: the environment variable read when no count is given
ENV_VARIABLE = "CADENZA_THREADS"
#: see the module's notes: measured against 2 threads on 2 shared cores (compose and train steps per second)
DEFAULT_THREADS = 1
#: the most threads accepted (a typo guard)
MAX_THREADS = 256

_chosen: int | None = None  # the count asked for in this process (by set_threads or ensure_threads)
_applied: int | None = None  # the count last given to torch


def resolve_threads(threads: int | None = None) -> int:
    """The thread count to use: ``threads`` when given, else ``CADENZA_THREADS``, else :data:`DEFAULT_THREADS`.
    A count outside 1..256 (or a variable that is not a number) is a one-line :class:`UsageError`."""
    if threads is None:
        text = os.environ.get(ENV_VARIABLE, "").strip()
        if not text:
            return DEFAULT_THREADS
        try:
            threads = int(text)
        except ValueError:
            raise UsageError(f"{ENV_VARIABLE}={text[:40]!r}: give a whole number of threads, 1 to {MAX_THREADS}"
                             ) from None
        source = ENV_VARIABLE
    else:
        source = "--threads"
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        raise UsageError(f"{source} {threads!r}: give a whole number of threads, 1 to {MAX_THREADS}")
    return threads


def _apply(count: int) -> None:
    global _applied
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
        log.debug("torch threads: %d", count)
    _applied = count


def set_threads(threads: int | None = None) -> int:
    """Choose the thread count for this process (see :func:`resolve_threads`) and return it: the CLI calls it
    once with ``--threads``, the API's functions that take ``threads=`` with theirs. Torch is told at once if
    it is loaded, else when the first model is built (:func:`ensure_threads`), so a command that runs no model
    never imports torch. Without a count, a count chosen earlier stands."""
    global _chosen
    if threads is None and _chosen is not None:
        return _chosen
    _chosen = resolve_threads(threads)
    if "torch" in sys.modules:
        _apply(_chosen)
    return _chosen


def ensure_threads() -> int:
    """Give torch the chosen count (``CADENZA_THREADS`` or the default if nothing chose one) unless it has it:
    what the places that build or run a model call first (cheap after the first call)."""
    count = _chosen if _chosen is not None else set_threads(None)
    if _applied != count:
        _apply(count)
    return count


def chosen_threads() -> int | None:
    """The count chosen in this process, or None while nothing chose one and no model ran."""
    return _chosen
