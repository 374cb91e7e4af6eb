"""The server: its settings (:class:`ServeConfig`, checked before anything starts: a clear one-line
:class:`~cadenza.errors.UsageError` for each bad value) and ``serve(config)``: the data folder taken (one server
per folder), jobs left running by a server that died recovered, the address bound, the workers started, uvicorn
run until Ctrl-C or SIGTERM, and the workers stopped (a running job goes back to the queue)."""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cadenza.errors import UsageError
from cadenza.serve.store import SqliteJobStore
from cadenza.threads import resolve_threads

log = logging.getLogger(__name__)

LOCK_NAME = "server.lock"
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



class _Stop(KeyboardInterrupt):
    """SIGTERM, once uvicorn has shut down: stop as Ctrl-C does."""


@contextmanager
def data_lock(data: Path) -> Iterator[None]:
    """Hold ``<data>/server.lock`` while serving: a second server on the same folder would take the first's
    running jobs for a dead server's. The kernel lets go of it when the process dies, ``kill -9`` included."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; one server per folder is up to the user
        yield
        return
    data.mkdir(parents=True, exist_ok=True)
    path = data / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = path.read_text(encoding="utf-8", errors="replace").strip() or "?"
            raise UsageError(f"--data {data} is in use by another cadenza serve (process {holder})") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free one); a one-line UsageError when it cannot be had."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise UsageError(f"--host {host}: {exc.strerror or exc}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        why = "the port is in use (another server there?)" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise UsageError(f"cannot listen on {host}:{port}: {why or exc}") from None
    sock.set_inheritable(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(config: ServeConfig, ready: Callable[[str], None] | None = None) -> None:
    """Serve until stopped; ``ready`` is called with the server's address once it listens. A bad setting,
    a data folder in use or an address that cannot be bound is a one-line UsageError before anything starts."""
    import uvicorn

    from cadenza.serve.app import create_app
    from cadenza.serve.worker import WorkerPool

    config.check()
    with data_lock(config.data):
        store = SqliteJobStore(config.data, config.max_attempts)
        recovered = store.recover()
        if recovered:
            log.warning("%d job(s) were running when the server stopped: %d queued again, %d failed", len(recovered),
                        sum(j.state == "queued" for j in recovered), sum(j.state == "failed" for j in recovered))
        sock = bind(config.host, config.port)
        app = create_app(config, store)
        server = uvicorn.Server(uvicorn.Config(app, log_level="info" if config.log_level <= logging.INFO else
                                               "warning", access_log=config.log_level <= logging.INFO))
        pool = WorkerPool(config, store).start()
        previous = _on_sigterm()
        try:
            if ready is not None:
                ready(url_of(sock))
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass
        finally:
            log.info("stopping the workers")
            pool.stop()
            sock.close()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def _on_sigterm() -> Any:
    """Make SIGTERM stop the server as Ctrl-C does (uvicorn raises it again once it has shut down, and the
    workers must then be stopped, not left behind); returns the handler to put back."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum: int, frame: object) -> None:
        raise _Stop("SIGTERM")

    return signal.signal(signal.SIGTERM, stop)
