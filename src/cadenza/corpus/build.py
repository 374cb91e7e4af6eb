"""Building a corpus: list the works of every source, read and label the ones not yet read (in parallel
worker processes), then group duplicates, assign splits and write the manifest.

Resumable and cached: every work is written to the build's journal by the reader the moment it is read
(:mod:`cadenza.corpus.journal`), and committed to the build log with its file's size and modification time
(its notes to a shard) at most :data:`FLUSH_EVERY_S` later; a build killed in between (even by kill -9) leaves
the journal, which the next build replays first. A re-run skips works whose file is unchanged, so an
interrupted build resumes where it stopped, reading again only the works that were being read, and a finished
one re-runs in seconds.
A file that fails is recorded with its reason and never stops the build.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.corpus.dedupe import assign_groups_and_splits
from cadenza.corpus.encodings import encoding_pairs
from cadenza.corpus.journal import Finished, append_record, journal_files, read_records, remove
from cadenza.corpus.sources import PERMISSIVE_SOURCES, WorkRef, licence_of, works_for
from cadenza.corpus.store import CorpusStore
from cadenza.corpus.works import WorkResult, read_work
from cadenza.errors import InputError, UsageError
from cadenza.listen.labels import LABEL_SET_VERSION
from cadenza.score.limits import ReadLimits
from cadenza.score.model import NOTE_DTYPE
from cadenza.score.read import READ_FORMATS
from cadenza.score.sandbox import die_with_parent

log = logging.getLogger(__name__)
FLUSH_EVERY_S = 5.0  # a work read is committed to the log (its notes to a shard) at most this long after

Progress = Callable[[int, int], None]
Task = tuple[WorkRef, list[int]]  # a work to read, with its file's stamp when the build listed it
Chunk = tuple[Path, list[Task]]  # what one reader task reads: its journal file and its works


@dataclass(frozen=True)
class BuildConfig:
    name: str = "default"
    sources: tuple[str, ...] = ("music21",)
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    limit: int | None = None  # read at most this many works (a stable spread across the sources)
    shard_size: int = 500  # works per notes shard (fewer when FLUSH_EVERY_S passes first: a shard a few seconds)
    chunk_size: int = 8  # works per task sent to a worker
    timeout_s: float = 120.0  # per notation file (legitimately huge scores exist in the corpus)
    rebuild: bool = False  # forget what was read before
    licence: str = "any"  # any | permissive (only CC0, public-domain, MIT and BSD sources)

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise UsageError("--workers must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise UsageError("--limit must be at least 1")
        if not self.timeout_s > 0:
            raise UsageError("--timeout-s must be positive")
        if not self.sources:
            raise UsageError("give at least one --source")
        if self.licence not in ("any", "permissive"):
            raise UsageError("--licence must be any or permissive")


def _stamp(ref: WorkRef) -> list[int]:
    st = Path(ref.path).stat()
    return [st.st_size, st.st_mtime_ns]


def list_works(sources: Iterable[str], limit: int | None = None) -> list[WorkRef]:
    """Every work of the sources, each once; with ``limit``, a stable spread of that many."""
    seen: dict[str, WorkRef] = {}
    for spec in sources:
        listed = 0
        for ref in works_for(spec):
            listed += 1
            other = seen.setdefault(ref.work_id, ref)
            if other.path != ref.path:
                raise UsageError(f"two sources give the work id {ref.work_id!r} ({other.path} and {ref.path}): "
                                 "build folders with the same name into separate corpora (--name)")
        if not listed:  # (a corpus of 0 works was built, and the build exited 0)
            raise UsageError(f"--source {spec}: no readable scores in it (no {', '.join(READ_FORMATS)} files)")
    refs = sorted(seen.values(), key=lambda r: r.work_id)
    if limit is not None and limit < len(refs):
        refs = sorted(refs, key=lambda r: hashlib.sha1(f"sample:{r.work_id}".encode()).hexdigest())[:limit]
        refs.sort(key=lambda r: r.work_id)
    return refs


# failures worth another try when the build is given more time (or memory) than the one that failed
_RETRIED = ("ParseTimeoutError", "ParserMemoryError", "WorkerCrash")
# raised when the readers learn to read files they refused before: failures recorded by an older one are retried
READERS_VERSION = 2


def _read_chunk(tasks: list[Task], limits: ReadLimits, journal: Path | None) -> list[Finished]:
    """Read works (in a worker process), each appended to the task's ``journal`` file as soon as it is read."""
    logger = logging.getLogger("cadenza")
    level = logger.level
    logger.setLevel(logging.ERROR)  # failures are recorded in the results
    try:
        done = []
        for ref, stamp in tasks:
            finished = _finished(read_work(ref, limits), stamp, limits.timeout_s)
            if journal is not None:
                append_record(journal, *finished)
            done.append(finished)
        return done
    finally:
        logger.setLevel(level)  # a build read in this process leaves the caller's logging as it was


def _finished(result: WorkResult, stamp: list[int], timeout_s: float) -> Finished:
    """A work read, as the build log will hold it, with its notes (None if it failed)."""
    row = _row(result, stamp)
    if not result.ok:
        row["timeout_s"] = timeout_s  # a later build with more time retries timeouts
        row["readers"] = READERS_VERSION
        return row, None
    return row, result.notes if result.notes is not None else np.zeros(0, dtype=NOTE_DTYPE)


def _commit(store: CorpusStore, finished: list[Finished], shard_no: int) -> int:
    """Works read, committed: the notes of those read into shard ``shard_no``, every row to the log (the rows
    get their shard and index); returns the next shard number."""
    ok = [(row, notes) for row, notes in finished if row.get("status") == "ok" and notes is not None]
    if ok:
        store.write_shard(shard_no, [notes for _, notes in ok])
        for index, (row, _) in enumerate(ok):
            row.update(shard=shard_no, shard_index=index)
        shard_no += 1
    store.append_log([row for row, notes in finished if row.get("status") != "ok" or notes is not None])
    return shard_no


def _replay_journal(store: CorpusStore) -> None:
    """Commit the works a killed build had read but not yet committed (its journal), then delete the journal."""
    files = journal_files(store.journal_folder)
    if not files:
        return
    finished = [record for path in files for record in read_records(path)]
    if finished:
        _commit(store, finished, store.next_shard_number())
    remove(files)
    log.info("%d works read by an interrupted build kept (from %d journal files)", len(finished), len(files))


def _row(result: WorkResult, stamp: list[int]) -> dict[str, Any]:
    ref = result.ref
    row: dict[str, Any] = {
        "id": ref.work_id, "source": ref.source, "path": ref.path, "relpath": ref.relpath, "tune": ref.tune,
        "tune_index": ref.tune_index, "official_split": ref.split, "stamp": stamp,
    }
    if not result.ok:
        row.update(status="failed", reason=result.error, kind=result.error_kind)
        return row
    labels = result.labels
    md = result.header["metadata"]
    row.update(
        status="ok", title=md.get("title", ""), composer=result.known_composer,
        epoch=labels.get("epoch"), form=labels.get("form"), licence=md.get("licence", ""),
        content_hash=result.content_hash, melody_hash=result.melody_hash,
        notes=int(len(result.notes)) if result.notes is not None else 0, labels=labels, score=result.header,
        warnings=result.warnings[:5],
    )
    return row


def build_corpus(config: BuildConfig, progress: Progress | None = None, home: Path | None = None) -> dict[str, Any]:
    """Build (or resume, or refresh) the corpus ``config.name``; returns a report of what happened."""
    started = time.time()
    store = CorpusStore(config.name, home)
    refs = list_works(config.sources, config.limit)  # a source that lists no works is refused before a write
    with store.lock():
        return _build_locked(store, config, refs, progress, started)


def _rebuild_beside(store: CorpusStore, config: BuildConfig, refs: list[WorkRef], progress: Progress | None,
                    started: float) -> dict[str, Any]:
    """``--rebuild`` of an existing corpus: everything is read again into a hidden folder beside it, which takes
    its place only once the build is complete; a rebuild stopped part-way leaves the old corpus as it was."""
    fresh = CorpusStore(config.name, store.folder.parent)
    fresh.folder = store.folder.parent / f".{config.name}.rebuild"
    fresh.wipe()
    report = _build_locked(fresh, replace(config, rebuild=False), refs, progress, started)
    aside = store.folder.parent / f".{config.name}.old"
    if aside.exists():
        shutil.rmtree(aside)
    store.folder.replace(aside)
    fresh.folder.replace(store.folder)
    shutil.rmtree(aside, ignore_errors=True)
    report["folder"] = str(store.folder)
    info = store.info()
    store.write_info({**info, "last_build": report})
    return report


def _build_locked(store: CorpusStore, config: BuildConfig, refs: list[WorkRef], progress: Progress | None,
                  started: float) -> dict[str, Any]:
    if config.rebuild and store.exists():
        return _rebuild_beside(store, config, refs, progress, started)
    if config.rebuild or not store.compatible():
        if store.exists() and not config.rebuild:
            log.warning("corpus %r is in an older format: rebuilding it", config.name)
        store.wipe()
    new = not store.exists()
    left_out: Counter[str] = Counter()
    if config.licence == "permissive":
        left_out = Counter(r.source for r in refs if r.source not in PERMISSIVE_SOURCES)
        refs = [r for r in refs if r.source in PERMISSIVE_SOURCES]
        for source, count in left_out.items():
            log.info("--licence permissive: %d works of %s left out (%s)", count, source, licence_of(source))
    _replay_journal(store)  # works a killed build had read: kept, not read again
    latest: dict[str, dict[str, Any]] = {}
    for row in store.read_log():
        latest[row["id"]] = row
    todo, stamps = [], {}
    for ref in refs:
        stamps[ref.work_id] = _stamp(ref)
        done = latest.get(ref.work_id)
        if done is None or done.get("stamp") != stamps[ref.work_id] or done.get("path") != ref.path or (
                done.get("kind") in _RETRIED and done.get("timeout_s", 0) < config.timeout_s) or (
                done.get("status") == "failed" and done.get("readers", 1) < READERS_VERSION):
            todo.append(ref)
    cached = len(refs) - len(todo)
    log.info("%d works listed, %d already read, %d to read", len(refs), cached, len(todo))
    if progress:
        progress(cached, len(refs))

    limits = ReadLimits(timeout_s=config.timeout_s)
    shard_no = store.next_shard_number()
    pending: list[Finished] = []  # works read, not yet in the log (but each in its task's journal file)
    pending_ok = [0]  # how many of them were read (not failed)
    received: list[Path] = []  # journal files of the tasks whose works are all in ``pending``
    oldest = [0.0]  # when the oldest work waiting in ``pending`` was read
    done_count = cached

    def flush() -> None:
        """Commit the works waiting, then delete the journal files that held them."""
        nonlocal shard_no
        if pending:
            shard_no = _commit(store, pending, shard_no)
            for row, _ in pending:
                latest[row["id"]] = row
            pending.clear()
            pending_ok[0] = 0
        remove(received)
        received.clear()

    def collect(finished: list[Finished], journal: Path | None) -> None:
        """Record works read (committed in the next shard); with none, only commit the works waiting once the
        oldest has waited FLUSH_EVERY_S (the pool calls it while its workers read)."""
        nonlocal done_count
        if not pending:
            oldest[0] = time.time()
        pending.extend(finished)
        pending_ok[0] += sum(row.get("status") == "ok" for row, _ in finished)
        if journal is not None:
            received.append(journal)
        if pending_ok[0] >= config.shard_size or (pending and time.time() - oldest[0] >= FLUSH_EVERY_S):
            flush()
        done_count += len(finished)
        if progress and finished:
            progress(done_count, len(refs))

    store.journal_folder.mkdir(parents=True, exist_ok=True)
    numbers = itertools.count(1 + max((int(p.stem) for p in journal_files(store.journal_folder)), default=0))

    def task(chunk: list[WorkRef]) -> Chunk:
        return store.journal_folder / f"{next(numbers):06d}.rec", [(ref, stamps[ref.work_id]) for ref in chunk]

    chunks = [task(todo[i:i + config.chunk_size]) for i in range(0, len(todo), config.chunk_size)]
    try:
        if config.workers == 1 or len(chunks) <= 1:
            for journal, tasks in chunks:
                collect(_read_chunk(tasks, limits, journal), journal)
        else:
            import music21  # noqa: F401 - loaded once here, so forked workers start warm

            crashed = _run_pool(chunks, config.workers, limits, collect)
            for journal, tasks in crashed:  # a chunk whose worker died: what it had read is in its journal,
                kept = read_records(journal)  # the rest is read again, each work alone (a crasher is named)
                collect(kept, journal)
                read = {row["id"] for row, _ in kept}
                for ref in [ref for ref, _ in tasks if ref.work_id not in read]:
                    if _run_pool([task([ref])], 1, limits, collect):
                        collect([_finished(WorkResult(ref, False, "the reader process crashed (out of memory or "
                                                      "a fault in a library)", "WorkerCrash"),
                                           stamps[ref.work_id], config.timeout_s)], None)
    finally:
        flush()  # what was read is kept, even when the build is interrupted (and was in the journal before)
    with contextlib.suppress(OSError):
        store.journal_folder.rmdir()  # empty once a build is complete

    report = _finish(store, config, refs, latest, cached, started)
    if new and not report["works_ok"]:  # a new corpus of no works: none is kept
        store.wipe()
        kinds = ", ".join(f"{kind} {n}" for kind, n in report["failures_by_kind"].items())
        held = (f"{len(refs)} work{'s' * (len(refs) != 1)} listed, none read: {kinds}" if refs else
                f"--licence permissive left out all {sum(left_out.values())} of its works")
        raise InputError(f"--source {', '.join(config.sources)}: no readable scores in "
                         f"{'it' if len(config.sources) == 1 else 'them'} ({held}); no corpus written")
    report["left_out_by_licence"] = {s: {"works": n, "licence": licence_of(s)} for s, n in left_out.items()}
    return report


def _run_pool(chunks: list[Chunk], workers: int, limits: ReadLimits,
              collect: Callable[[list[Finished], Path | None], None]) -> list[Chunk]:
    """Read chunks in worker processes, passing results to ``collect`` (and an empty list every
    FLUSH_EVERY_S while none comes, so that what was read is committed while the workers read on); returns the
    chunks whose worker died (the pool is then broken, so every chunk not yet read is returned with them).
    A worker dies with the build (even a kill -9 of it), instead of being left blocked on a pipe; a build
    stopped by a signal kills its workers at once (each work they finished is in its task's journal)."""
    pool = ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=die_with_parent,
                               initargs=(os.getpid(),))
    running: dict[Future[list[Finished]], Chunk] = {}
    failed: list[Chunk] = []
    queue = iter(chunks)
    try:
        while True:
            for chunk in queue:  # keep a bounded number of tasks in flight
                running[pool.submit(_read_chunk, chunk[1], limits, chunk[0])] = chunk
                if len(running) >= 4 * workers:
                    break
            if not running:
                return failed
            finished, _ = wait(running, timeout=FLUSH_EVERY_S, return_when=FIRST_COMPLETED)
            if not finished:
                collect([], None)
            for future in finished:
                chunk = running.pop(future)
                try:
                    collect(future.result(), chunk[0])
                except BrokenProcessPool:
                    failed.append(chunk)
            if failed:
                return failed + list(running.values()) + list(queue)
    except BaseException:  # stopped (Ctrl-C, SIGTERM, SIGHUP): at once, not once every running chunk is read;
        for process in list(pool._processes.values()):  # what the workers had read is in their journals
            with contextlib.suppress(OSError):
                process.kill()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _finish(store: CorpusStore, config: BuildConfig, refs: list[WorkRef], latest: dict[str, dict[str, Any]],
            cached: int, started: float) -> dict[str, Any]:
    wanted = {ref.work_id for ref in refs}
    rows = [latest[r.work_id] for r in refs if r.work_id in latest]
    ok_rows = [r for r in rows if r.get("status") == "ok"]
    failed = [r for r in rows if r.get("status") != "ok"]
    dedupe = assign_groups_and_splits(ok_rows, encoding_pairs(ok_rows, store.load_notes))
    store.write_jsonl(store.manifest_path, ok_rows)
    store.write_jsonl(store.failures_path, failed)
    reasons = Counter(r.get("kind", "") for r in failed)
    report = {
        "name": config.name,
        "folder": str(store.folder),
        "sources": list(config.sources),
        "works_listed": len(refs),
        "works_read_now": len(wanted) - cached,
        "works_cached": cached,
        "works_ok": len(ok_rows),
        "works_failed": len(failed),
        "failures_by_kind": dict(reasons.most_common()),
        "notes": sum(r.get("notes", 0) for r in ok_rows),
        "dedupe": dedupe,
        "wall_s": round(time.time() - started, 1),
        "workers": config.workers,
        "limit": config.limit,
        "licence": config.licence,
    }
    store.write_info({"name": config.name, "sources": list(config.sources), "label_set_version": LABEL_SET_VERSION,
                      "updated": time.strftime("%Y-%m-%dT%H:%M:%S"), "last_build": report})
    return report
