"""The live soundtrack over OSC (Open Sound Control 1.0 on UDP): ``cadenza live --osc PORT``.

Controls come in as messages to ``/cadenza/<control>`` with the control's value, the fields of ``cadenza
soundtrack --stream``'s control lines: ``/cadenza/mood "tense"``, ``/cadenza/valence 0.3``,
``/cadenza/intensity 0.8``, ``/cadenza/tempo 90``, ``/cadenza/key "D minor"``, ``/cadenza/stop`` (no argument,
true, or a number: not 0). A bundle's messages are one change, applied together. Each packet is answered at
once: ``/cadenza/ack BAR NAME VALUE ...`` (BAR: the last bar written when it arrived; it is heard by BAR + 2
at the latest) or ``/cadenza/error "one line"`` (the packet is ignored, the music plays on).

The music goes out as it plays (each message sent at its time; at ``speed`` 0 as soon as it is written), to
``--send HOST:PORT`` or else to whoever sent the latest control; the last argument of each is ``t``, its
time in seconds of music from the start: ``/cadenza/cue INDEX NAME BAR KEY TEMPO METER t``, ``/cadenza/control
NAME VALUE t``, ``/cadenza/bar BAR KEY TEMPO METER t``, ``/cadenza/beat BAR BEAT t``, ``/cadenza/note PITCH
VELOCITY DURATION_S PART t``, and at the end ``/cadenza/end CHUNKS MUSIC_S STOPPED``.

The codec is this module's own (about a hundred lines, no dependency): it decodes every packet strictly and
within bounds, and a packet it cannot read is answered with an error, not dropped in silence.
"""

from __future__ import annotations

import logging
import queue
import socket
import struct
import threading
import time
from collections.abc import Sequence
from typing import Any

from cadenza.errors import UsageError
from cadenza.soundtrack.bridge import LiveConfig, LiveSession
from cadenza.soundtrack.stream import CONTROLS

log = logging.getLogger(__name__)

PREFIX = "/cadenza/"
#: the largest UDP datagram; an OSC packet is one datagram
MAX_PACKET_BYTES = 65507
#: bundles inside bundles a packet may nest
MAX_BUNDLE_DEPTH = 4
#: chunks written but not yet sent that the bridge may hold; past it the writer waits
OUTBOX_CHUNKS = 2
BUNDLE = b"#bundle\0"

OscArg = int | float | str | bytes | bool | None


class OscError(UsageError):
    """A packet that is not OSC 1.0, or not a control this bridge knows."""


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (4 - len(data) % 4 if len(data) % 4 else 0)


def _osc_string(text: str) -> bytes:
    return _padded(text.encode("utf-8") + b"\0")


def encode_message(address: str, args: Sequence[OscArg] = ()) -> bytes:
    """One OSC message: ints as int32 (int64 past it), floats as float32, str, bytes as a blob, True/False/None."""
    tags, data = ",", b""
    for arg in args:
        if arg is True or arg is False:
            tags += "T" if arg else "F"
        elif arg is None:
            tags += "N"
        elif isinstance(arg, int):
            tags, data = (tags + "i", data + struct.pack(">i", arg)) if -2**31 <= arg < 2**31 else \
                (tags + "h", data + struct.pack(">q", arg))
        elif isinstance(arg, float):
            tags, data = tags + "f", data + struct.pack(">f", arg)
        elif isinstance(arg, str):
            tags, data = tags + "s", data + _osc_string(arg)
        elif isinstance(arg, bytes):
            tags, data = tags + "b", data + struct.pack(">i", len(arg)) + _padded(arg)
        else:
            raise TypeError(f"OSC cannot carry {type(arg).__name__}")
    return _osc_string(address) + _osc_string(tags) + data


def _read_string(data: bytes, at: int) -> tuple[str, int]:
    end = data.find(b"\0", at)
    if end < 0:
        raise OscError("a string runs past the end of the packet")
    try:
        text = data[at:end].decode("utf-8")
    except UnicodeDecodeError:
        raise OscError("a string is not UTF-8") from None
    return text, at + ((end - at) // 4 + 1) * 4


_FIXED = {"i": ">i", "f": ">f", "h": ">q", "d": ">d", "c": ">i", "r": ">I", "m": ">I", "t": ">Q"}
_EMPTY: dict[str, OscArg] = {"T": True, "F": False, "N": None, "I": None}


def _decode_message(data: bytes) -> tuple[str, list[OscArg]]:
    if not data.startswith(b"/"):
        raise OscError(f"not an OSC message (it starts {data[:12]!r}, not with / or #bundle)")
    address, at = _read_string(data, 0)
    if at >= len(data):
        return address, []  # no type tags at all: no arguments (OSC 1.0 allows it)
    tags, at = _read_string(data, at)
    if not tags.startswith(","):
        raise OscError(f"{address[:60]}: its type tags do not start with ','")
    args: list[OscArg] = []
    for tag in tags[1:]:
        if tag in _EMPTY:
            args.append(_EMPTY[tag])
        elif tag in _FIXED:
            size = struct.calcsize(_FIXED[tag])
            if at + size > len(data):
                raise OscError(f"{address[:60]}: an argument runs past the end of the packet")
            value = struct.unpack_from(_FIXED[tag], data, at)[0]
            args.append(chr(value) if tag == "c" and 0 <= value < 0x110000 else value)
            at += size
        elif tag in "sS":
            text, at = _read_string(data, at)
            args.append(text)
        elif tag == "b":
            if at + 4 > len(data):
                raise OscError(f"{address[:60]}: a blob runs past the end of the packet")
            size = struct.unpack_from(">i", data, at)[0]
            if size < 0 or at + 4 + size > len(data):
                raise OscError(f"{address[:60]}: a blob runs past the end of the packet")
            args.append(data[at + 4: at + 4 + size])
            at += 4 + (size + 3) // 4 * 4
        else:
            raise OscError(f"{address[:60]}: unknown OSC type tag {tag!r}")
    return address, args


def decode_packet(data: bytes, depth: int = 0) -> list[tuple[str, list[OscArg]]]:
    """The messages of a packet (a message, or a bundle's messages in order): a one-line OscError for
    anything that is not OSC 1.0."""
    if len(data) > MAX_PACKET_BYTES or len(data) % 4:
        raise OscError(f"not an OSC packet ({len(data)} bytes: a packet is a multiple of 4, at most "
                       f"{MAX_PACKET_BYTES})")
    if not data.startswith(BUNDLE):
        return [_decode_message(data)]
    if depth >= MAX_BUNDLE_DEPTH:
        raise OscError(f"bundles nested more than {MAX_BUNDLE_DEPTH} deep")
    messages, at = [], len(BUNDLE) + 8  # the time tag: controls are applied from the next bar whatever it says
    while at < len(data):
        if at + 4 > len(data):
            raise OscError("a bundle element runs past the end of the packet")
        size = struct.unpack_from(">i", data, at)[0]
        if size <= 0 or size % 4 or at + 4 + size > len(data):
            raise OscError("a bundle element runs past the end of the packet")
        messages += decode_packet(data[at + 4: at + 4 + size], depth + 1)
        at += 4 + size
    return messages


def control_of(messages: list[tuple[str, list[OscArg]]]) -> dict[str, Any]:
    """The control change the messages of one packet ask for (not yet checked: see ``check_control``)."""
    change: dict[str, Any] = {}
    for address, args in messages:
        name = address[len(PREFIX):] if address.startswith(PREFIX) else ""
        if name not in CONTROLS:
            raise OscError(f"unknown address {address[:60]!r}: use {PREFIX}<control>, control one of "
                           f"{', '.join(CONTROLS)}")
        if name == "stop":
            if len(args) > 1 or (args and not isinstance(args[0], bool | int | float)):
                raise OscError(f"{address} takes nothing, true/false or a number (not 0: stop)")
            change[name] = bool(args[0]) if args else True
            continue
        if len(args) != 1:
            raise OscError(f"{address} takes one value, not {len(args)}")
        value = args[0]
        change[name] = round(value, 6) if isinstance(value, float) else value  # float32: 0.3, not 0.30000001
    return change


def event_messages(event: dict[str, Any]) -> list[tuple[str, list[OscArg]]]:
    """A stream event (see :func:`~cadenza.soundtrack.stream.chunk_events`, and the bridge's ack, error and
    end) as the OSC messages the bridge sends."""
    kind, t = event["type"], float(event.get("t", 0.0))
    if kind == "note":
        return [(PREFIX + "note", [event["pitch"], event["velocity"], float(event["duration_s"]), event["part"], t])]
    if kind == "beat":
        return [(PREFIX + "beat", [event["bar"], event["beat"], t])]
    if kind == "bar":
        return [(PREFIX + "bar", [event["bar"], event["key"], float(event["tempo_bpm"]), event["meter"], t])]
    if kind == "cue":
        return [(PREFIX + "cue", [event["cue"], event["name"], event["bar"], event["key"], float(event["tempo_bpm"]),
                                  event["meter"] or "", t])]
    if kind == "control":
        return [(PREFIX + "control", [name, _arg(value), t]) for name, value in event.items() if name not in
                ("type", "t")]
    if kind == "ack":
        pairs = [item for name, value in event["control"].items() for item in (name, _arg(value))]
        return [(PREFIX + "ack", [event["bar"], *pairs])]
    if kind == "end":
        return [(PREFIX + "end", [int(event.get("chunks", 0)), float(event.get("music_s", 0.0)),
                                  str(event.get("stopped", ""))])]
    return [(PREFIX + "error", [str(event.get("error", kind))])]


def _arg(value: Any) -> OscArg:
    return value if isinstance(value, bool | int | float | str) else str(value)


def parse_host_port(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``HOST:PORT`` or ``PORT`` as an address; a one-line UsageError otherwise."""
    host, _, port = text.strip().rpartition(":")
    host = host.strip("[]") or default_host
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(f"{text[:60]!r} is not HOST:PORT with a port from 1 to 65535")
    return host, int(port)


class OscBridge:
    """A live stream steered and heard over OSC: bound at once to ``listen`` (UDP; port 0: any free one),
    run with :meth:`run` until the stream ends or :meth:`stop`."""

    def __init__(self, config: LiveConfig, listen: tuple[str, int], send_to: tuple[str, int] | None = None) -> None:
        self.session = LiveSession(config, self._emit)
        self.send_to, self.reply_to = send_to, send_to
        try:
            family = socket.getaddrinfo(listen[0], listen[1], type=socket.SOCK_DGRAM)[0][0]
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.bind(listen)
        except OSError as exc:
            raise UsageError(f"cannot listen for OSC on {listen[0]}:{listen[1]}: {exc.strerror or exc}") from None
        self.sock.settimeout(0.2)
        self.address: tuple[str, int] = self.sock.getsockname()[:2]
        self.outbox: queue.Queue[list[dict[str, Any]]] = queue.Queue(maxsize=OUTBOX_CHUNKS)
        self.counts = {"messages_sent": 0, "send_errors": 0, "controls": 0, "errors": 0}

    def stop(self) -> None:
        self.session.stop()

    def _emit(self, events: list[dict[str, Any]]) -> None:
        while not self.session.stopping.is_set():
            try:
                self.outbox.put(events, timeout=0.25)
                return
            except queue.Full:
                continue

    def _send(self, messages: list[tuple[str, list[OscArg]]], to: tuple[str, int] | None) -> None:
        if to is None:
            return
        for address, args in messages:
            try:
                self.sock.sendto(encode_message(address, args), to)
                self.counts["messages_sent"] += 1
            except OSError as exc:  # no one listening there (ICMP refused), or an unknown host: play on
                self.counts["send_errors"] += 1
                log.debug("OSC to %s: %s", to, exc)

    def _receive(self) -> None:
        while not self.session.done.is_set():
            try:
                data, sender = self.sock.recvfrom(MAX_PACKET_BYTES + 1)
            except TimeoutError:
                continue
            except OSError as exc:  # a closed socket, or an ICMP error of an earlier send
                if self.sock.fileno() < 0:
                    return
                log.debug("OSC receive: %s", exc)
                continue
            reply_to = self.send_to or sender[:2]
            try:
                reply = self.session.control(control_of(decode_packet(data)))
                self.counts["controls"] += 1
                self.reply_to = reply_to  # the music follows whoever steers it (unless --send says where)
            except UsageError as exc:
                self.counts["errors"] += 1
                reply = {"type": "error", "error": " ".join(str(exc).split())}
                log.warning("OSC from %s:%s ignored: %s", sender[0], sender[1], reply["error"])
            self._send(event_messages(reply), reply_to)

    def run(self) -> dict[str, Any]:
        """Write and send until the stream ends (``/cadenza/stop``, its longest duration, :meth:`stop`); the
        stream's figures and the bridge's counts. Ctrl-C (KeyboardInterrupt) stops it too and is raised."""
        receiver = threading.Thread(target=self._receive, name="cadenza-osc-receive", daemon=True)
        self.session.start()
        receiver.start()
        try:
            while True:
                try:
                    events = self.outbox.get(timeout=0.2)
                except queue.Empty:
                    if self.session.done.is_set() and self.outbox.empty():
                        break
                    continue
                for event in events:
                    if "t" in event:  # wait for its time (not at all at speed 0)
                        self.session.stopping.wait(max(self.session.due_at(event["t"]) - time.monotonic(), 0.0))
                    if self.session.stopping.is_set():
                        break
                    self._send(event_messages(event), self.reply_to)
                if (events and events[-1]["type"] in ("end", "error")) or self.session.stopping.is_set():
                    break
        finally:
            self.session.stop()
            self.session.join(30)
            receiver.join(1)
            self.sock.close()
        result = dict(self.session.result or {"type": "end", "stopped": "client"})
        return {**result, "osc": {"listen": f"{self.address[0]}:{self.address[1]}", **self.counts}}
