"""What the live bridges share (the WebSocket route ``/v1/live`` of ``cadenza serve`` and ``cadenza live
--osc``): a :class:`~cadenza.soundtrack.stream.Stream` written in a thread of its own, just ahead of a playback
clock, each chunk's events (:func:`~cadenza.soundtrack.stream.chunk_events`) handed to the bridge, and each
control checked the moment it arrives and answered at once: an ack saying how far the music was written, or a
one-line error (the control is then ignored and the music plays on).

A control is heard from the first chunk written after it arrives: the bar after the last one written (``bar``
in its ack) when the writer was waiting for playback, the one after that when it was writing. At full speed
(``speed`` 0) the writer is held back by the bridge instead of a clock: ``emit`` blocks while the client is
behind, so memory stays flat however slowly it reads.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import math
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cadenza.errors import CadenzaError, UsageError
from cadenza.soundtrack.stream import Chunk, Stream, check_control, chunk_events, run_stream

log = logging.getLogger(__name__)

#: controls accepted between two chunks; past it a control is refused (a client flooding controls would
#: otherwise grow the queue and the next chunk's control events without bound); 16 is far more than a game
#: sends in a bar
MAX_CONTROLS_PER_CHUNK = 16
#: the fastest playback clock a bridge keeps ahead of (times real time); 0 is "as fast as it can"
MAX_SPEED = 1000.0
#: seconds of music the writer keeps ahead of playback (as ``cadenza soundtrack --stream`` does)
MARGIN_S = 0.5

Emit = Callable[[list[dict[str, Any]]], None]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None (another C library or system)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_freed_memory() -> None:
    """Give the memory freed since the last call back to the system (glibc only; 0.3-1.3 ms with the shipped
    model loaded). A stream written in a thread otherwise keeps the high-water mark of each new mood's work:
    twenty minutes of music at full speed grew a process by 44 MB without it (35 MB in the first ten minutes,
    9 MB in the next ten), and stayed within 531-555 MB, no trend, with it after every chunk (the shipped
    model, moods changing every two minutes)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@dataclass(frozen=True)
class LiveConfig:
    """A live stream as a bridge asks for it; :meth:`check` gives a one-line error for a bad value."""

    checkpoint: Path | None = None  # the model folder; None: the shipped model
    ensemble: str | None = None  # None: piano
    seed: int = 0
    mood: str = "calm"  # the mood until a control changes it
    speed: float = 1.0  # the playback clock the writer keeps ahead of: 1 real time, 2 twice as fast, 0 no clock
    max_s: float | None = None  # stop after this much music (seconds); None: until stopped

    def check(self) -> LiveConfig:
        from cadenza.compose.ensembles import ENSEMBLES

        if self.ensemble is not None and self.ensemble not in ENSEMBLES:
            raise UsageError(f"unknown ensemble {self.ensemble[:40]!r}: choose one of {', '.join(ENSEMBLES)}")
        check_control({"mood": self.mood})
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**31:
            raise UsageError(f"seed is a whole number from 0 to {2**31 - 1}, not {str(self.seed)[:40]!r}")
        if not (math.isfinite(self.speed) and 0 <= self.speed <= MAX_SPEED):
            raise UsageError(f"speed is 0 (as fast as it can) or a playback speed up to {MAX_SPEED:g}, "
                             f"not {self.speed:g}")
        if self.max_s is not None and not (math.isfinite(self.max_s) and self.max_s > 0):
            raise UsageError(f"the longest stream is a positive number of seconds, not {self.max_s:g}")
        return self


class LiveSession:
    """One live stream: :meth:`start` it, hand it controls with :meth:`control` (from any thread), and
    :meth:`stop` it. ``emit`` gets each chunk's events in time order and at the end one last event,
    ``{"type": "end", ...}`` with the stream's figures or ``{"type": "error", "error": ...}`` when it could
    not go on; it is called from the writer's thread and may block (that is how a slow reader holds the
    writer back), but must return soon once :attr:`stopping` is set."""

    def __init__(self, config: LiveConfig, emit: Emit) -> None:
        self.config = config.check()
        self.emit = emit
        self.stopping = threading.Event()
        self.done = threading.Event()
        self.result: dict[str, Any] | None = None  # the last event, once the stream has ended
        self.started_at: float | None = None  # monotonic seconds when the first chunk was handed over
        self.written_bar = 0  # the last bar handed to emit
        self.chunks_sent = 0
        self._lock = threading.Lock()
        self._inbox: list[dict[str, Any]] = []
        self._accepted_since_chunk = 0
        self._last_cue: int | None = None
        self._stream: Stream | None = None
        self._thread = threading.Thread(target=self._run, name="cadenza-live", daemon=True)

    def start(self) -> LiveSession:
        self._thread.start()
        return self

    def position_s(self) -> float:
        """The playback position in seconds of music (0 until the first chunk; far ahead at speed 0)."""
        if self.config.speed == 0:
            return 1e12
        if self.started_at is None:
            return 0.0
        return (time.monotonic() - self.started_at) * self.config.speed

    def due_at(self, t_s: float) -> float:
        """The monotonic time when music second ``t_s`` plays (now, at speed 0)."""
        if self.config.speed == 0 or self.started_at is None:
            return time.monotonic()
        return self.started_at + t_s / self.config.speed

    def control(self, change: Any) -> dict[str, Any]:
        """Check ``change`` and queue it for the next chunk; returns the ack event (``control``: the change as
        checked; ``bar``: the last bar written when it arrived, so it is heard by ``bar + 2`` at the latest).
        A bad change, or one past :data:`MAX_CONTROLS_PER_CHUNK`, is a one-line UsageError and changes
        nothing."""
        checked = check_control(change)
        with self._lock:
            if self.done.is_set() or self.stopping.is_set():
                raise UsageError("the stream has ended")
            if self._accepted_since_chunk >= MAX_CONTROLS_PER_CHUNK:
                raise UsageError(f"more than {MAX_CONTROLS_PER_CHUNK} controls before the next bar: ignored")
            self._accepted_since_chunk += 1
            self._inbox.append(checked)
            bar = self.written_bar
        return {"type": "ack", "control": checked, "bar": bar}

    def stop(self) -> None:
        """Stop writing (the writer ends after the chunk in hand); safe to call from any thread, twice."""
        self.stopping.set()
        if self._stream is not None:
            self._stream.stopped = True

    def running(self) -> bool:
        """Whether the writer's thread is still going."""
        return self._thread.is_alive()

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the writer to end; whether it has."""
        return self.done.wait(timeout_s)

    def _poll(self) -> list[dict[str, Any]]:
        with self._lock:
            changes, self._inbox = self._inbox, []
        return changes

    def _sleep(self, seconds: float) -> None:
        self.stopping.wait(seconds)

    def _sink(self, chunk: Chunk) -> None:
        if self.stopping.is_set():
            assert self._stream is not None
            self._stream.stopped = True
            return
        events = chunk_events(chunk, new_cue=chunk.cue.index != self._last_cue)
        self._last_cue = chunk.cue.index
        with self._lock:
            self.written_bar = chunk.start_bar + max(chunk.cue.bars, 1) - 1
            self._accepted_since_chunk = len(self._inbox)  # those not yet written count against the next chunk
        if self.started_at is None:
            self.started_at = time.monotonic()
        self.chunks_sent += 1
        release_freed_memory()
        self.emit(events)

    def _run(self) -> None:
        config = self.config
        result: dict[str, Any]
        try:
            self._stream = Stream(config.checkpoint, config.ensemble, config.seed, state={"mood": config.mood})
            if self.stopping.is_set():
                self._stream.stopped = True
            figures = run_stream(self._stream, self._sink, self.position_s, self._poll, max_s=config.max_s,
                                 margin_s=MARGIN_S, sleep=self._sleep)
            if config.speed == 0:  # no playback clock: a latency in bars of playback means nothing
                figures = {k: v for k, v in figures.items() if "latency" not in k}
            result = {"type": "end", "stopped": "client" if self.stopping.is_set() else (
                "stop" if self._stream.stopped else "max_duration"), **figures}
        except CadenzaError as exc:
            result = {"type": "error", "error": " ".join(str(exc).split())}
        except Exception as exc:  # a bug: the bridge reports it on one line and keeps serving
            log.error("the live stream failed: %s: %s", type(exc).__name__, exc)
            log.debug("the traceback", exc_info=exc)
            result = {"type": "error", "error": f"internal error ({type(exc).__name__}); the log has more"}
        self.result = result
        try:
            if not self.stopping.is_set():
                self.emit([result])
        finally:
            self.done.set()
