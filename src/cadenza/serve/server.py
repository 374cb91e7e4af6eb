"""The server: ``serve(config)``: the settings checked (:class:`~cadenza.serve.config.ServeConfig`), the data
folder taken (one server per folder), jobs left running by a server that died recovered, the address bound, the
workers started, uvicorn run until Ctrl-C or SIGTERM, and the workers stopped (a running job goes back to the
queue)."""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cadenza.errors import OutputError, UsageError
from cadenza.serve.config import ServeConfig
from cadenza.serve.store import SqliteJobStore

log = logging.getLogger(__name__)

LOCK_NAME = "server.lock"


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
    path = data / LOCK_NAME
    try:
        data.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:  # (a traceback: a folder that cannot be made, such as one under /proc, or unwritable)
        raise OutputError(f"--data {data}: cannot keep the jobs there: {exc.strerror or exc}") from None
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
