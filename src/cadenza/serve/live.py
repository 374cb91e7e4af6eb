"""The live soundtrack over a WebSocket: ``/v1/live`` on ``cadenza serve``.

The client sends control messages, JSON objects with the fields of ``cadenza soundtrack --stream``'s
control lines (``{"mood": "tense", "intensity": 0.8}``, ``{"stop": true}``; see
:func:`~cadenza.soundtrack.stream.check_control`), and gets back one JSON object per message:

- ``{"type": "start", ...}`` once, with the stream's settings;
- the music, a bar at a time just ahead of playback, as :func:`~cadenza.soundtrack.stream.chunk_events`
  gives it (``cue``, ``control``, ``bar``, ``beat``, ``note``; ``t`` is seconds of music from the start);
- for every control, at once: ``{"type": "ack", "control": {...}, "bar": N}`` (N: the last bar written when
  it arrived; it is heard by bar N + 2 at the latest) or ``{"type": "error", "error": "one line"}`` (the control
  is ignored, the music plays on);
- at the end (``{"stop": true}`` or ``max_duration``): ``{"type": "end", ...}`` with the stream's figures, and
  the server closes the socket (code 1000).

Query options: ``mood`` (until a control changes it; default calm), ``ensemble``, ``seed``, ``speed`` (the
playback speed it keeps ahead of: 1 real time, the default; 0 as fast as the client reads), ``max_duration``
(``90s``, ``10m``), ``api_key`` (when the server has one and the client cannot send the ``X-API-Key``
header, as a browser cannot). A refused connection gets an error event and a close (1008; 1013 when the
server already runs :data:`MAX_LIVE_STREAMS` streams). The model runs in a thread of its own
(:class:`~cadenza.soundtrack.bridge.LiveSession`), never on the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from importlib.util import find_spec
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket

from cadenza.errors import UsageError
from cadenza.serve.config import ServeConfig
from cadenza.soundtrack.bridge import LiveConfig, LiveSession
from cadenza.soundtrack.stream import CONTROLS

log = logging.getLogger(__name__)

#: live streams one server writes at once: each is a model writing in a thread of the server's process
MAX_LIVE_STREAMS = 4
#: chunks written but not yet sent that a stream may hold; past it the writer waits for the client
OUTBOX_CHUNKS = 2
#: the longest control message, in characters (a control is a few short fields)
MAX_CONTROL_CHARS = 4096
#: seconds to wait for a stream's writer to finish its chunk once the client has gone
JOIN_S = 30.0
QUERY_OPTIONS = ("mood", "ensemble", "seed", "speed", "max_duration", "api_key")


def live_router(config: ServeConfig) -> APIRouter:
    """The ``/v1/live`` WebSocket route over ``config`` (its model and API key)."""
    if find_spec("websockets") is None and find_spec("wsproto") is None:
        log.warning("/v1/live needs the websockets package, without which uvicorn refuses every WebSocket: "
                    "pip install 'cadenza[serve]'")
    router = APIRouter(prefix="/v1")
    active: set[object] = set()  # a token per stream being written (its writer may outlive its connection)

    @router.websocket("/live")
    async def live(websocket: WebSocket) -> None:
        try:
            refusal = _refusal(websocket, config)
            options = None if refusal else live_options(dict(websocket.query_params), config)
        except UsageError as exc:
            refusal = (1008, " ".join(str(exc).split()))
        if refusal is None and len(active) >= MAX_LIVE_STREAMS:
            refusal = (1013, f"the server is writing {len(active)} live streams already: try again later")
        token = object()
        if refusal is None:
            active.add(token)  # taken before the first await: two connections cannot both take the last place
        try:
            await websocket.accept()
            if refusal is not None or options is None:
                code, message = refusal or (1011, "no options")
                await websocket.send_text(json.dumps({"type": "error", "error": message}))
                await websocket.close(code=code, reason=message.encode()[:120].decode(errors="ignore"))
                return
            await _run_live(websocket, options)
        finally:
            active.discard(token)

    return router


def live_options(query: dict[str, str], config: ServeConfig) -> LiveConfig:
    """The stream a connection's query asks for, checked: a one-line UsageError for a bad or unknown option."""
    from cadenza.compose.request import parse_duration

    unknown = sorted(set(query) - set(QUERY_OPTIONS))
    if unknown:
        raise UsageError(f"unknown option {unknown[0][:40]!r}: use {', '.join(QUERY_OPTIONS)}")
    try:
        seed = int(query.get("seed", "0"))
    except ValueError:
        raise UsageError(f"seed is a whole number, not {query['seed'][:40]!r}") from None
    try:
        speed = float(query.get("speed", "1"))
    except ValueError:
        raise UsageError(f"speed is a number (1 real time, 0 as fast as it can), not {query['speed'][:40]!r}") \
            from None
    max_s = parse_duration(query["max_duration"]) if query.get("max_duration") else None
    return LiveConfig(checkpoint=config.checkpoint, ensemble=query.get("ensemble") or None, seed=seed,
                      mood=query.get("mood", "calm"), speed=speed, max_s=max_s).check()


def _refusal(websocket: WebSocket, config: ServeConfig) -> tuple[int, str] | None:
    """(close code, why) when the connection may not have a stream: a missing or wrong API key, or, on a
    server without one, a web page of another site (a browser sends its Origin; the studio's is this server)."""
    if config.api_key:
        given = websocket.headers.get("x-api-key") or websocket.query_params.get("api_key") or ""
        if not hmac.compare_digest(given.encode(), config.api_key.encode()):
            return 1008, "give the server's API key in the X-API-Key header or the api_key query option"
        return None
    origin = websocket.headers.get("origin")
    if origin and urlsplit(origin).netloc.lower() != websocket.headers.get("host", "").lower():
        return 1008, f"a web page of {origin[:60]} may not open this server's live stream"
    return None


def _hand_over(loop: asyncio.AbstractEventLoop, outbox: asyncio.Queue[list[dict[str, Any]]],
               events: list[dict[str, Any]], session: LiveSession) -> None:
    """Put a chunk's events in the outbox from the writer's thread, waiting while it is full (the client is
    behind), until the session stops."""
    try:
        future = asyncio.run_coroutine_threadsafe(outbox.put(events), loop)
    except RuntimeError:  # the event loop has closed: the server is going
        session.stop()
        return
    while True:
        try:
            future.result(timeout=0.25)
            return
        except TimeoutError:
            if session.stopping.is_set():
                future.cancel()
                return
        except concurrent.futures.CancelledError:
            return


def _answer(session: LiveSession, message: Mapping[str, Any]) -> dict[str, Any]:
    """The reply to one client message: an ack, or an error event (and the control ignored)."""
    text = message.get("text")
    if text is None:
        return {"type": "error", "error": "send controls as JSON text messages, e.g. {\"mood\": \"tense\"}"}
    if len(text) > MAX_CONTROL_CHARS:
        return {"type": "error", "error": f"a control message is at most {MAX_CONTROL_CHARS} characters"}
    try:
        change = json.loads(text)
    except (ValueError, RecursionError):
        return {"type": "error", "error": f"not JSON: {text.strip()[:60]!r}"}
    try:
        return session.control(change)
    except UsageError as exc:
        return {"type": "error", "error": " ".join(str(exc).split())}


async def _run_live(websocket: WebSocket, options: LiveConfig) -> None:
    """Stream until the end, the client's going or an error; returns once the writer has stopped."""
    loop = asyncio.get_running_loop()
    outbox: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue(maxsize=OUTBOX_CHUNKS)
    send_lock = asyncio.Lock()
    session = LiveSession(options, lambda events: _hand_over(loop, outbox, events, session))

    async def send(event: dict[str, Any]) -> None:
        async with send_lock:
            await websocket.send_text(json.dumps(event, default=str))

    async def send_music() -> None:
        while True:
            events = await outbox.get()
            for event in events:
                await send(event)
            if events and events[-1]["type"] in ("end", "error"):
                await websocket.close(code=1000 if events[-1]["type"] == "end" else 1011)
                return

    async def receive_controls() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            await send(_answer(session, message))

    tasks: list[asyncio.Task[None]] = []
    try:
        await send({"type": "start", "mood": options.mood, "ensemble": options.ensemble or "piano",
                    "seed": options.seed, "speed": options.speed, "max_duration_s": options.max_s,
                    "controls": list(CONTROLS)})
        session.start()
        tasks = [asyncio.create_task(send_music()), asyncio.create_task(receive_controls())]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled() and task.exception() is not None:  # the client went mid-send: not an error
                log.debug("live stream connection: %s", task.exception())
    except Exception as exc:  # noqa: BLE001 - the client went before the start (any error of the socket)
        log.debug("live stream connection: %s", exc)
    finally:
        session.stop()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        deadline = time.monotonic() + JOIN_S
        while session.running() and time.monotonic() < deadline:  # its chunk in hand, off the event loop
            await asyncio.sleep(0.05)
        if session.running():
            log.warning("a live stream's writer did not stop within %.0f s", JOIN_S)
