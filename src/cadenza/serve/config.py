"""The server's settings: :class:`ServeConfig` (what ``cadenza serve`` was asked for, checked before anything
starts: a clear one-line :class:`~cadenza.errors.UsageError` for each bad value) and its defaults. Its own module
because every part of the server reads it (the app, the live router, the workers) and the server
(:mod:`cadenza.serve.server`) imports those parts: the settings sit below all of them."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from cadenza.errors import UsageError
from cadenza.threads import resolve_threads

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8750
DEFAULT_DATA = Path("cadenza-data")
#: the largest upload (a primer or reference score): 2 MB holds a symphony as MIDI or MusicXML
DEFAULT_MAX_UPLOAD_BYTES = 2_000_000
#: jobs that may wait at once; past it ``POST /v1/jobs`` answers 503 (try later) instead of growing without bound
DEFAULT_MAX_QUEUED = 1000
#: a job is failed, not re-queued, once the server (or its worker) stopped during it this many times
DEFAULT_MAX_ATTEMPTS = 2
MIN_API_KEY_CHARS = 8
MAX_WORKERS = 64


@dataclass(frozen=True)
class ServeConfig:
    """What ``cadenza serve`` was asked for; see :meth:`check`."""

    data: Path = DEFAULT_DATA  # jobs.sqlite, jobs/<id>/ (each job's files), uploads/, work/
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT  # 0: any free port
    workers: int = 1  # worker processes, each with its own copy of the model
    api_key: str | None = None  # when set, every /v1 request needs it in the X-API-Key header
    checkpoint: Path | None = None  # the model folder; None: the model that ships with Cadenza
    threads: int | None = None  # torch threads per worker; None: CADENZA_THREADS, else cadenza.threads' default
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_queued: int = DEFAULT_MAX_QUEUED
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    poll_s: float = 0.2  # how often an idle worker looks for a job
    log_level: int = logging.WARNING  # the workers' logging level

    @property
    def torch_threads(self) -> int:
        """Threads each worker gives torch: as asked, else ``CADENZA_THREADS``, else the measured default (one:
        batch-1 sampling is fastest so on shared cores, see :mod:`cadenza.threads`)."""
        return resolve_threads(self.threads)

    def check(self) -> ServeConfig:
        """This config if every value can be served; else a one-line :class:`UsageError`."""
        if not 1 <= self.workers <= MAX_WORKERS:
            raise UsageError(f"--workers {self.workers}: give 1 to {MAX_WORKERS}")
        if not 0 <= self.port <= 65535:
            raise UsageError(f"--port {self.port}: give 0 to 65535 (0: any free port)")
        if self.threads is not None and not 1 <= self.threads <= 256:
            raise UsageError(f"--threads {self.threads}: give 1 to 256")
        if self.max_upload_bytes < 1:
            raise UsageError("the upload limit must be at least 1 byte")
        if self.api_key is not None and (len(self.api_key) < MIN_API_KEY_CHARS or not self.api_key.isprintable()
                                         or self.api_key.strip() != self.api_key):
            raise UsageError(f"--api-key: give at least {MIN_API_KEY_CHARS} printable characters, no spaces at "
                             f"either end")
        if not is_loopback(self.host) and not self.api_key:
            raise UsageError(f"--host {self.host} makes the server reachable from other machines: give --api-key "
                             f"KEY as well (or keep the default host {DEFAULT_HOST})")
        if self.checkpoint is not None and not (Path(self.checkpoint) / "config.json").is_file():
            raise UsageError(f"--checkpoint {self.checkpoint}: not a model folder (it has no config.json)")
        if self.data.exists() and not self.data.is_dir():
            raise UsageError(f"--data {self.data}: a file is there, not a folder")
        return self


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (localhost, 127.0.0.0/8, ::1)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:  # another host name: it may resolve to anything
        return False
