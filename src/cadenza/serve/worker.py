"""The worker processes: each polls the store, claims the oldest queued job and runs it through the API
(:func:`cadenza.serve.jobs.run_job`), keeping the model loaded between jobs. A worker never dies of a job: a
:class:`~cadenza.errors.CadenzaError` becomes the job's one-line error, anything else too (its traceback in
the log at debug level).

Cancelling is seen in the progress callback (the job no longer runs under this worker: it raises
:class:`JobCancelled`). SIGTERM stops a worker cleanly: its job is handed back to the queue at its next
progress report, or finished first where the API reports none. A worker whose server died (``kill -9``) goes
too, at once on Linux (the parent-death signal), else at its next look at the queue or its job's progress, and
leaves its job for the restarted server to recover.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

from cadenza.errors import CadenzaError
from cadenza.score.sandbox import die_with_parent
from cadenza.serve.config import ServeConfig
from cadenza.serve.store import Job, JobStore, SqliteJobStore, one_line
from cadenza.threads import set_threads

log = logging.getLogger(__name__)

#: seconds between progress writes to the store (each is also the look for a cancel)
PROGRESS_EVERY_S = 0.25
#: a pool slot whose worker died this many times within a minute is not restarted again
MAX_RESTARTS_PER_MINUTE = 5


class JobCancelled(BaseException):  # a signal to stop, as KeyboardInterrupt is
    """Raised in the progress callback of a job that was cancelled; BaseException so that no ``except
    Exception`` inside the API swallows it."""


class WorkerStopping(BaseException):
    """Raised in the progress callback when the worker was asked to stop (SIGTERM) or its server died."""


class JobProgress:
    """The API's ``progress(done, total)`` callback for one job: records the fraction done (at most every
    :data:`PROGRESS_EVERY_S`, never going back), and stops the job when it was cancelled or the worker is
    stopping."""

    def __init__(self, store: JobStore, job_id: str, stopping: threading.Event, parent_pid: int | None,
                 every_s: float = PROGRESS_EVERY_S) -> None:
        self.store, self.job_id, self.stopping, self.parent_pid = store, job_id, stopping, parent_pid
        self.every_s = every_s
        self.last = 0.0
        self.fraction = 0.0

    def __call__(self, done: int, total: int) -> None:
        if self.stopping.is_set() or orphaned(self.parent_pid):
            raise WorkerStopping
        now = time.monotonic()
        if now - self.last < self.every_s:
            return
        self.last = now
        self.fraction = max(self.fraction, min(done / total, 0.99) if total > 0 else 0.0)
        if not self.store.set_progress(self.job_id, os.getpid(), self.fraction):
            raise JobCancelled


def orphaned(parent_pid: int | None) -> bool:
    """Whether the server that started this worker is gone."""
    return parent_pid is not None and os.getppid() != parent_pid


def run_claimed(store: JobStore, job: Job, config: ServeConfig, stopping: threading.Event,
                parent_pid: int | None = None) -> str:
    """Run one claimed job to its end; returns what became of it (done, failed, cancelled, released, left)."""
    from cadenza.serve.jobs import run_job

    pid, work = os.getpid(), store.work_folder(job.id)
    work.mkdir(parents=True, exist_ok=True)
    log.info("job %s (%s): running", job.id, job.kind)
    checkpoint = Path(config.checkpoint) if config.checkpoint else None
    try:
        report = run_job(job, work, config.data, checkpoint, JobProgress(store, job.id, stopping, parent_pid))
    except WorkerStopping:
        if orphaned(parent_pid):
            return "left"  # the restarted server recovers it
        store.release(job.id, pid)
        log.info("job %s: handed back to the queue (the worker is stopping)", job.id)
        return "released"
    except JobCancelled:
        shutil.rmtree(work, ignore_errors=True)
        log.info("job %s: cancelled", job.id)
        return "cancelled"
    except CadenzaError as exc:
        return _failed(store, job, work, one_line(str(exc)))
    except Exception as exc:  # a bug: the job fails, the worker goes on
        log.debug("job %s failed", job.id, exc_info=True)
        return _failed(store, job, work, one_line(f"internal error ({type(exc).__name__}): {exc}"))
    if orphaned(parent_pid):
        return "left"
    if not store.set_progress(job.id, pid, 1.0):  # cancelled (or taken back) while finishing
        shutil.rmtree(work, ignore_errors=True)
        return "cancelled"
    try:
        names = store.publish(job.id)
        finished = store.finish(job.id, pid, report)
    except (OSError, sqlite3.Error) as exc:  # a full disk, a folder made read-only under us
        why = getattr(exc, "strerror", None) or exc
        return _failed(store, job, work, one_line(f"cannot keep the job's files: {why}"))
    if not finished:
        for name in names:
            (store.folder(job.id) / name).unlink(missing_ok=True)
        return "cancelled"
    log.info("job %s: done (%s)", job.id, ", ".join(names))
    return "done"


def _failed(store: JobStore, job: Job, work: Path, error: str) -> str:
    shutil.rmtree(work, ignore_errors=True)
    log.warning("job %s (%s) failed: %s", job.id, job.kind, error)
    store.fail(job.id, os.getpid(), error)
    return "failed"


def work_one(store: JobStore, config: ServeConfig, stopping: threading.Event | None = None,
             parent_pid: int | None = None) -> str | None:
    """Claim the oldest queued job and run it; None when none is waiting."""
    job = store.claim(os.getpid())
    if job is None:
        return None
    return run_claimed(store, job, config, stopping or threading.Event(), parent_pid)


def worker_main(config: ServeConfig, parent_pid: int) -> None:
    """A worker process's life: run jobs until SIGTERM or the server's end."""
    die_with_parent(parent_pid)  # a kill -9 of the server leaves no worker
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which stops the workers
    logging.basicConfig(level=config.log_level, stream=sys.stderr,
                        format="cadenza worker %(process)d: %(levelname)s: %(message)s")
    threads = set_threads(config.torch_threads)  # --threads, else CADENZA_THREADS, else cadenza.threads' default
    store = SqliteJobStore(config.data, config.max_attempts)
    log.info("ready (torch threads: %d)", threads)
    while not stopping.is_set() and not orphaned(parent_pid):
        try:
            ran = work_one(store, config, stopping, parent_pid)
        except Exception as exc:  # the store itself failed (a locked or full disk): wait and look again
            log.warning("cannot take a job: %s", one_line(str(exc)))
            log.debug("the store failed", exc_info=True)
            ran = None
        if ran is None:
            stopping.wait(config.poll_s)
    log.info("stopped")


@dataclass
class _Slot:
    process: BaseProcess
    deaths: list[float]
    given_up: bool = False


class WorkerPool:
    """``config.workers`` worker processes (spawned: nothing of the server's state is shared), restarted when
    one dies (its job recovered as after a crash), stopped with SIGTERM."""

    def __init__(self, config: ServeConfig, store: JobStore) -> None:
        self.config, self.store = config, store
        self.context = multiprocessing.get_context("spawn")
        self.slots: list[_Slot] = []
        self._stopping = threading.Event()
        self._released = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def pids(self) -> list[int]:
        return [slot.process.pid for slot in self.slots if slot.process.pid is not None]

    def _spawn(self) -> BaseProcess:
        process = self.context.Process(target=worker_main, args=(self.config, os.getpid()), daemon=True,
                                       name="cadenza-worker")
        process.start()
        return process

    def start(self) -> WorkerPool:
        self.slots = [_Slot(self._spawn(), []) for _ in range(self.config.workers)]
        self._watcher = threading.Thread(target=self._watch, name="cadenza-worker-watch", daemon=True)
        self._watcher.start()
        return self

    def _watch(self) -> None:
        """Restart workers that died (not while stopping); this thread then waits for :meth:`stop` to finish,
        since on Linux the workers it started die with it."""
        while not self._stopping.wait(1.0):
            for slot in self.slots:
                if slot.given_up or slot.process.is_alive() or slot.process.exitcode is None:
                    continue
                pid, now = slot.process.pid, time.monotonic()
                slot.deaths = [t for t in slot.deaths if now - t < 60] + [now]
                if pid is not None:
                    self.store.recover([pid], reason="a worker stopped")
                if len(slot.deaths) > MAX_RESTARTS_PER_MINUTE:
                    log.error("worker %s died %d times within a minute: not restarted", pid, len(slot.deaths))
                    slot.given_up = True
                    continue
                log.warning("worker %s stopped (exit code %s): starting another", pid, slot.process.exitcode)
                slot.process = self._spawn()
        self._released.wait()

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM to every worker; those still running after ``timeout_s`` are killed (their jobs are
        recovered at the next start)."""
        self._stopping.set()
        for slot in self.slots:
            if slot.process.is_alive():
                slot.process.terminate()
        deadline = time.monotonic() + timeout_s
        for slot in self.slots:
            slot.process.join(max(deadline - time.monotonic(), 0.1))
            if slot.process.is_alive():
                log.warning("worker %s did not stop within %.0f s: killed", slot.process.pid, timeout_s)
                slot.process.kill()
                slot.process.join(5)
        self._released.set()
        if self._watcher is not None:
            self._watcher.join(5)
