"""Run an untrusted parse in a forked child process under a time limit and a memory cap.

music21's parsers can take minutes or gigabytes on hostile input; the pre-checks in the readers catch
the known cases cheaply, and this sandbox bounds the rest. The child inherits the parent's imports (fork),
so it starts in milliseconds; the result comes back through a pipe. Where fork is unavailable the
function runs in-process, unguarded, with a debug log line.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from cadenza.errors import CadenzaError, InputError, ParserMemoryError, ParseTimeoutError
from cadenza.score.limits import LIMIT_FLAGS

log = logging.getLogger(__name__)

T = TypeVar("T")


def _virtual_memory_bytes() -> int:
    try:
        with Path("/proc/self/status").open(encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def die_with_parent(parent: int) -> None:
    """In a child process (a guarded parser, a corpus build's reader, a batch maker, a server's worker): be
    killed when ``parent`` dies, even by kill -9, rather than work on as an orphan that holds its memory and
    the command's open files (a corpus build's lock) or waits forever on a pipe. Linux only (the parent-death
    signal); elsewhere a no-op."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # it died before the line above
            os._exit(1)


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...], memory_bytes: int, parent: int) -> None:
    try:
        die_with_parent(parent)
        if memory_bytes:
            limit = _virtual_memory_bytes() + memory_bytes
            hard = resource.getrlimit(resource.RLIMIT_AS)[1]
            if hard != resource.RLIM_INFINITY:  # a limit set from outside (ulimit -v) cannot be raised
                limit = min(limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        result = fn(*args)
        conn.send(("ok", result))
    except MemoryError:
        conn.send(("memory", None))
    except CadenzaError as exc:
        conn.send(("cadenza", (type(exc), str(exc))))
    except RecursionError:
        conn.send(("error", "structure nested too deeply for the parser"))
    except BaseException as exc:  # noqa: BLE001 - anything the parser raises becomes one line
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        conn.send(("error", f"{type(exc).__name__}: {message}"[:300]))
    finally:
        conn.close()


def run_guarded(
    fn: Callable[..., T], *args: Any, timeout_s: float, max_memory_mb: int, what: str = "parser"
) -> T:
    """``fn(*args)`` in a child process; its result, or an :class:`InputError` subclass that says why not."""
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:
        log.debug("fork unavailable: %s runs unguarded", what)
        return fn(*args)
    parent_conn, child_conn = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child_conn, fn, args, max_memory_mb * 1024 * 1024, os.getpid()),
                       daemon=True)
    proc.start()
    child_conn.close()
    try:
        if not parent_conn.poll(timeout_s):
            raise ParseTimeoutError(
                f"the {what} ran past its time limit of {timeout_s:g} s; raise it with "
                f"{LIMIT_FLAGS['timeout_s']} if the file is legitimate"
            )
        try:
            kind, payload = parent_conn.recv()
        except EOFError:
            proc.join(1.0)
            code = proc.exitcode
            if code is not None and code < 0 and -code in (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT):
                raise ParserMemoryError(
                    f"the {what} crashed or ran out of memory (signal {-code}); the limit is "
                    f"{max_memory_mb} MB, raised with {LIMIT_FLAGS['max_memory_mb']}"
                ) from None
            raise InputError(f"the {what} stopped without a result (exit code {code})") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5.0)
        parent_conn.close()
    if kind == "ok":
        return payload
    if kind == "memory":
        raise ParserMemoryError(
            f"the {what} ran out of memory (limit {max_memory_mb} MB, raised with "
            f"{LIMIT_FLAGS['max_memory_mb']})"
        )
    if kind == "cadenza":
        exc_type, message = payload
        raise exc_type(message)
    raise InputError(f"the {what} failed: {payload}")

