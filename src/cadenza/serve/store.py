"""The job store: jobs and their files, behind one small interface (:class:`JobStore`) so that a server
database can replace the embedded one (:class:`SqliteJobStore`: one ``jobs.sqlite`` in WAL mode under the data
folder).

A job moves ``queued -> running -> done | failed``, or to ``cancelled`` from either of the first two. Its files
live in ``<data>/jobs/<id>/``; a worker writes them in ``<data>/work/<id>/`` and :meth:`JobStore.publish` moves
the finished ones in with ``os.replace``, so a job's folder never holds a half-written file. A job left
``running`` by a server that died is handed back by :meth:`JobStore.recover`: queued again, or failed with the
reason once the server stopped during it ``max_attempts`` times.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

KINDS = ("compose", "continue", "revise", "soundtrack", "analyse", "check")
STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
#: a job id: uuid4 as 32 hex digits (anything else names no job, and no folder)
ID_PATTERN = re.compile(r"[0-9a-f]{32}")
#: a file name a job may hold and a client may ask for: no folders, no leading dot
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    request TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    report TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    worker_pid INTEGER,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, created);
"""


@dataclass(frozen=True)
class Job:
    """One job as stored. ``attempts``: how many times the server (or its worker) stopped during it."""

    id: str
    kind: str
    state: str
    request: dict[str, Any]
    progress: float = 0.0
    report: dict[str, Any] | None = None
    error: str | None = None
    attempts: int = 0
    worker_pid: int | None = None
    created: float = 0.0
    updated: float = 0.0

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def to_json(self, with_report: bool = True) -> dict[str, Any]:
        """The job as the HTTP API shows it (times as Unix seconds)."""
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "state": self.state,
                               "progress": round(self.progress, 4), "error": self.error, "attempts": self.attempts,
                               "created": self.created, "updated": self.updated, "request": self.request}
        if with_report:
            out["report"] = self.report
        return out


class JobStore(Protocol):
    """Where jobs and their files are kept. Every method is safe to call from several processes at once."""

    def create(self, kind: str, request: dict[str, Any]) -> Job: ...
    def get(self, job_id: str) -> Job | None: ...
    def recent(self, limit: int = 50, state: str | None = None) -> list[Job]: ...
    def count(self, state: str) -> int: ...
    def claim(self, worker_pid: int) -> Job | None: ...
    def set_progress(self, job_id: str, worker_pid: int, progress: float) -> bool: ...
    def finish(self, job_id: str, worker_pid: int, report: dict[str, Any]) -> bool: ...
    def fail(self, job_id: str, worker_pid: int, error: str) -> bool: ...
    def release(self, job_id: str, worker_pid: int) -> bool: ...
    def cancel(self, job_id: str) -> Job | None: ...
    def recover(self, worker_pids: list[int] | None = None, reason: str = "the server stopped") -> list[Job]: ...
    def folder(self, job_id: str) -> Path: ...
    def work_folder(self, job_id: str) -> Path: ...
    def publish(self, job_id: str) -> list[str]: ...
    def files(self, job_id: str) -> list[str]: ...
    def file_path(self, job_id: str, name: str) -> Path | None: ...


class SqliteJobStore:
    """The embedded store: ``<data>/jobs.sqlite`` (WAL, one connection per call) and the job folders."""

    def __init__(self, data: str | os.PathLike[str], max_attempts: int = 2) -> None:
        self.data = Path(data)
        self.max_attempts = max_attempts
        for folder in (self.data, self.data / "jobs", self.data / "work"):
            folder.mkdir(parents=True, exist_ok=True)
        self.path = self.data / "jobs.sqlite"
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA synchronous=FULL")  # an accepted job survives a crash of the machine too
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database's write lock from its start (BEGIN IMMEDIATE)."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @staticmethod
    def _job(row: sqlite3.Row) -> Job:
        return Job(id=row["id"], kind=row["kind"], state=row["state"], request=json.loads(row["request"]),
                   progress=row["progress"], report=json.loads(row["report"]) if row["report"] else None,
                   error=row["error"], attempts=row["attempts"], worker_pid=row["worker_pid"],
                   created=row["created"], updated=row["updated"])

    def create(self, kind: str, request: dict[str, Any]) -> Job:
        """A new queued job; ``request`` is kept as JSON."""
        if kind not in KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        now = time.time()
        job = Job(id=uuid.uuid4().hex, kind=kind, state="queued", request=request, created=now, updated=now)
        with self._connect() as db:
            db.execute("INSERT INTO jobs (id, kind, state, request, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
                       (job.id, kind, "queued", json.dumps(request), now, now))
        return job

    def get(self, job_id: str) -> Job | None:
        if not ID_PATTERN.fullmatch(job_id):
            return None
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return self._job(row) if row else None

    def recent(self, limit: int = 50, state: str | None = None) -> list[Job]:
        """The newest jobs first (of one state when ``state`` is given)."""
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        with self._connect() as db:
            rows = db.execute(f"SELECT * FROM jobs {where} ORDER BY created DESC, rowid DESC LIMIT ?",
                              (*args, int(limit))).fetchall()
        return [self._job(row) for row in rows]

    def count(self, state: str) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM jobs WHERE state = ?", (state,)).fetchone()[0])

    def claim(self, worker_pid: int) -> Job | None:
        """The oldest queued job, now running under ``worker_pid``; None when nothing waits. Two workers never
        claim the same job: the update is conditional and runs under the write lock."""
        with self._connect() as db:  # most looks find nothing: no write lock for those
            if db.execute("SELECT 1 FROM jobs WHERE state = 'queued' LIMIT 1").fetchone() is None:
                return None
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET state = 'running', worker_pid = ?, progress = 0, updated = ? "
                "WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY created, rowid LIMIT 1) "
                "AND state = 'queued' RETURNING *", (worker_pid, time.time()))
            rows = cursor.fetchall()
        if not rows:
            return None
        row = rows[0]
        shutil.rmtree(self.work_folder(row["id"]), ignore_errors=True)  # what an interrupted run left
        return self._job(row)

    def _update_running(self, job_id: str, worker_pid: int, assignments: str, values: tuple[Any, ...]) -> bool:
        """Update a job only while it still runs under ``worker_pid`` (not cancelled, not handed back)."""
        with self._connect() as db:
            cursor = db.execute(f"UPDATE jobs SET {assignments}, updated = ? WHERE id = ? AND state = 'running' "
                                f"AND worker_pid = ?", (*values, time.time(), job_id, worker_pid))
            return cursor.rowcount == 1

    def set_progress(self, job_id: str, worker_pid: int, progress: float) -> bool:
        """Record progress (0..1); False when the job no longer runs under this worker (cancelled)."""
        return self._update_running(job_id, worker_pid, "progress = ?", (min(max(progress, 0.0), 1.0),))

    def finish(self, job_id: str, worker_pid: int, report: dict[str, Any]) -> bool:
        return self._update_running(job_id, worker_pid, "state = 'done', progress = 1, report = ?",
                                    (json.dumps(plain_json(report), allow_nan=False),))

    def fail(self, job_id: str, worker_pid: int, error: str) -> bool:
        return self._update_running(job_id, worker_pid, "state = 'failed', error = ?", (one_line(error),))

    def release(self, job_id: str, worker_pid: int) -> bool:
        """Hand a running job back to the queue (its worker is stopping); its attempts are not counted."""
        released = self._update_running(job_id, worker_pid, "state = 'queued', worker_pid = NULL, progress = 0", ())
        shutil.rmtree(self.work_folder(job_id), ignore_errors=True)
        return released

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a queued or running job (a running one stops at its next progress report); returns the job
        as it is now (still ``done`` or ``failed`` if it had finished), None if there is no such job."""
        if not ID_PATTERN.fullmatch(job_id):
            return None
        with self._connect() as db:
            db.execute("UPDATE jobs SET state = 'cancelled', updated = ? WHERE id = ? AND state IN "
                       "('queued', 'running')", (time.time(), job_id))
        return self.get(job_id)

    def recover(self, worker_pids: list[int] | None = None, reason: str = "the server stopped") -> list[Job]:
        """Jobs left ``running`` (by any worker, or by the dead ``worker_pids``): queued again with one more
        attempt, or failed ("the server stopped during this job 2 times") at ``max_attempts``."""
        with self._transaction() as db:
            rows = db.execute("SELECT * FROM jobs WHERE state = 'running'").fetchall()
            rows = [row for row in rows if worker_pids is None or row["worker_pid"] in worker_pids]
            now = time.time()
            for row in rows:
                attempts = row["attempts"] + 1
                if attempts >= self.max_attempts:
                    db.execute("UPDATE jobs SET state = 'failed', attempts = ?, error = ?, updated = ? WHERE id = ?",
                               (attempts, f"{reason} during this job {attempts} times", now, row["id"]))
                else:
                    db.execute("UPDATE jobs SET state = 'queued', attempts = ?, worker_pid = NULL, progress = 0, "
                               "updated = ? WHERE id = ?", (attempts, now, row["id"]))
        for row in rows:
            shutil.rmtree(self.work_folder(row["id"]), ignore_errors=True)
        recovered = [job for job in (self.get(row["id"]) for row in rows) if job]
        for job in recovered:
            log.warning("job %s (%s): %s", job.id, job.kind, job.error or f"queued again ({reason} during it)")
        return recovered

    def folder(self, job_id: str) -> Path:
        """Where a job's finished files are."""
        if not ID_PATTERN.fullmatch(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return self.data / "jobs" / job_id

    def work_folder(self, job_id: str) -> Path:
        """Where a worker writes a job's files while it runs (made empty by :meth:`claim`)."""
        if not ID_PATTERN.fullmatch(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return self.data / "work" / job_id

    def publish(self, job_id: str) -> list[str]:
        """Move the finished files of the work folder into the job's folder (each with ``os.replace``, so each
        is there whole or not at all); returns their names. Temporary files and folders are left out."""
        work, folder = self.work_folder(job_id), self.folder(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        names = []
        for path in sorted(work.iterdir()) if work.is_dir() else []:
            if path.is_file() and FILE_NAME.fullmatch(path.name) and not path.name.endswith(".tmp"):
                path.replace(folder / path.name)
                names.append(path.name)
        shutil.rmtree(work, ignore_errors=True)
        return names

    def files(self, job_id: str) -> list[str]:
        """The names of a job's files (none while it runs)."""
        folder = self.folder(job_id)
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_file() and FILE_NAME.fullmatch(p.name))

    def file_path(self, job_id: str, name: str) -> Path | None:
        """The path of one of a job's files, None unless ``name`` is a plain file name the job holds."""
        if not ID_PATTERN.fullmatch(job_id) or not FILE_NAME.fullmatch(name) or name not in self.files(job_id):
            return None
        return self.folder(job_id) / name


def one_line(text: str, limit: int = 500) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def plain_json(value: Any) -> Any:
    """``value`` as strict JSON data: numpy scalars and arrays as numbers and lists, NaN and infinities as
    None (JSON has neither), paths and anything else unknown as text."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        return plain_json(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)
