"""The live soundtrack over OSC (``cadenza live --osc``), with a tiny untrained model at full speed: the
bridge's own OSC codec reads and writes what python-osc (an independent implementation) does and refuses
malformed packets with one line; a control switches the mood within two bars of its arrival; a bad packet is
answered with /cadenza/error and ignored while the music plays on; bad command lines are one-line errors."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pythonosc")

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder  # noqa: E402
from pythonosc.osc_message import OscMessage  # noqa: E402
from pythonosc.osc_message_builder import OscMessageBuilder  # noqa: E402
from pythonosc.osc_packet import OscPacket  # noqa: E402

from cadenza.cli import main  # noqa: E402
from cadenza.soundtrack.bridge import LiveConfig  # noqa: E402
from cadenza.soundtrack.osc import OscBridge, OscError, control_of, decode_packet, encode_message  # noqa: E402


def _message(address: str, *args: Any) -> bytes:
    """An OSC message built by python-osc."""
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def _nested(depth: int) -> bytes:
    """A bundle holding a bundle ... ``depth`` deep, the innermost holding a stop."""
    packet = _message("/cadenza/stop")
    for _ in range(depth):
        packet = b"#bundle\0" + b"\0" * 8 + struct.pack(">i", len(packet)) + packet
    return packet


def test_the_codec_reads_and_writes_what_python_osc_does() -> None:
    ours = encode_message("/cadenza/note", [60, 100, 0.5, 2, 12.25, "C major", True, False, None, b"\x01\x02\x03"])
    theirs = OscMessage(ours)
    assert theirs.address == "/cadenza/note"
    assert theirs.params == [60, 100, 0.5, 2, 12.25, "C major", True, False, None, b"\x01\x02\x03"]
    assert encode_message("/x", [2**40])[-8:] == struct.pack(">q", 2**40)  # past int32: int64
    built = _message("/cadenza/valence", 0.3)
    assert decode_packet(built) == [("/cadenza/valence", [pytest.approx(0.3)])]
    assert control_of(decode_packet(built)) == {"valence": 0.3}  # float32, read back as the 0.3 that was meant
    bundle = OscBundleBuilder(IMMEDIATELY)
    for address, value in (("/cadenza/mood", "tense"), ("/cadenza/intensity", 0.8), ("/cadenza/tempo", 90)):
        builder = OscMessageBuilder(address)
        builder.add_arg(value)
        bundle.add_content(builder.build())
    packet = bundle.build().dgram
    assert control_of(decode_packet(packet)) == {"mood": "tense", "intensity": 0.8, "tempo": 90}
    for text in ("ünïcode", "", "abc", "abcd"):  # strings of every padding
        assert OscPacket(encode_message("/s", [text])).messages[0].message.params == [text]
        assert decode_packet(encode_message("/s", [text])) == [("/s", [text])]
    assert control_of(decode_packet(_message("/cadenza/stop"))) == {"stop": True}
    assert control_of(decode_packet(_message("/cadenza/stop", 0.0))) == {"stop": False}  # a button let go
    assert control_of(decode_packet(_nested(4))) == {"stop": True}


BAD_PACKETS = [
    (b"garbage!", "not an OSC message"),
    (b"/abc", "runs past the end"),
    (b"/a\0\0,iii\0\0\0\0\0\0\0\1", "runs past the end"),
    (b"/a\0\0,b\0\0\xff\xff\xff\xff", "blob runs past"),
    (b"/a\0\0,i[]\0\0\0\0\0\0\0\1", "unknown OSC type tag"),
    (b"/a\0\0i\0\0\0", "type tags do not start"),
    (b"/a\0\0,s\0\0\xff\xfe\0\0", "not UTF-8"),
    (b"/a\0", "multiple of 4"),
    (b"#bundle\0" + b"\0" * 8 + struct.pack(">i", 64) + b"/a\0\0", "bundle element runs past"),
    (_nested(6), "nested more than"),
    (_message("/cadenza/colour", "red"), "unknown address '/cadenza/colour'"),
    (_message("/other/mood", "calm"), "unknown address"),
    (_message("/cadenza/mood"), "takes one value, not 0"),
    (_message("/cadenza/mood", "sad", "calm"), "takes one value, not 2"),
    (_message("/cadenza/stop", "now"), "takes nothing, true/false or a number"),
]


@pytest.mark.parametrize(("packet", "says"), BAD_PACKETS, ids=[says for _, says in BAD_PACKETS])
def test_a_malformed_packet_is_one_line(packet: bytes, says: str) -> None:
    with pytest.raises(OscError, match=says) as refused:
        control_of(decode_packet(packet))
    assert "\n" not in str(refused.value)


class _Client:
    """A game's side: one UDP socket that sends controls (built by python-osc) and hears the bridge."""

    def __init__(self, bridge: OscBridge) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.settimeout(30)
        self.bridge = bridge
        self.seen: list[tuple[str, list[Any]]] = []

    def send(self, packet: bytes) -> None:
        self.sock.sendto(packet, self.bridge.address)

    def until(self, *addresses: str) -> tuple[str, list[Any]]:
        while True:
            data, _ = self.sock.recvfrom(65536)
            message = OscMessage(data)
            self.seen.append((message.address, message.params))
            if message.address in addresses:
                return message.address, message.params


@pytest.fixture()
def bridge(tiny: Path) -> Iterator[tuple[OscBridge, _Client, dict[str, Any]]]:
    placeholder = OscBridge(LiveConfig(checkpoint=tiny, seed=3, speed=0), ("127.0.0.1", 0))
    client = _Client(placeholder)
    placeholder.send_to = placeholder.reply_to = client.sock.getsockname()
    figures: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: figures.update(placeholder.run()), daemon=True)
    runner.start()
    yield placeholder, client, figures
    placeholder.stop()
    runner.join(30)
    client.sock.close()


def test_a_control_switches_the_mood_within_two_bars_and_a_bad_packet_is_ignored(
        bridge: tuple[OscBridge, _Client, dict[str, Any]]) -> None:
    _osc, client, figures = bridge
    latencies = []
    for mood in ("tense", "sad"):
        last_bar = client.until("/cadenza/bar")[1][0]
        client.send(_message("/cadenza/mood", mood))
        address, ack = client.until("/cadenza/ack", "/cadenza/error")
        assert address == "/cadenza/ack" and ack[1:] == ["mood", mood], ack
        assert ack[0] >= last_bar  # the bridge had written at least what the client had heard
        while True:
            cue = client.until("/cadenza/cue")[1]  # index, name, bar, key, tempo, meter, t
            if cue[1] == mood:
                break
        latencies.append(cue[2] - ack[0])
    assert all(1 <= bars <= 2 for bars in latencies), latencies
    mark = len(client.seen)
    for packet, says in ((b"garbage!", "not an OSC message"), (_message("/cadenza/mood", "happyish"), "mood is one"),
                         (_message("/cadenza/valence", 5.0), "valence is a number"),
                         (_message("/cadenza/colour", 1), "unknown address")):
        client.send(packet)
        address, reply = client.until("/cadenza/ack", "/cadenza/error")
        assert address == "/cadenza/error" and says in reply[0] and "\n" not in reply[0], (packet, reply)
    bar = client.until("/cadenza/bar")[1][0]
    assert client.until("/cadenza/bar")[1][0] == bar + 1  # the music plays on
    assert {p[1] for a, p in client.seen[mark:] if a == "/cadenza/cue"} == {"sad"}  # and the bad ones changed nothing
    client.send(_message("/cadenza/stop"))
    address, end = client.until("/cadenza/end")
    assert end[2] == "stop"
    bars = [p[0] for a, p in client.seen if a == "/cadenza/bar"]
    assert bars == list(range(1, bars[-1] + 1))  # every bar, in order
    notes = [p for a, p in client.seen if a == "/cadenza/note"]  # pitch, velocity, duration_s, part, t
    assert notes and all(0 <= n[0] <= 127 and n[2] > 0 and n[4] >= 0 for n in notes)
    for _ in range(100):
        if figures:
            break
        threading.Event().wait(0.1)
    assert figures["stopped"] == "stop" and figures["osc"]["errors"] == 4 and figures["osc"]["controls"] == 3


def test_cli_refuses_bad_options_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    try:
        for argv, says in ((["--osc", "70000"], "give a UDP port"), (["--osc", "0", "--send", "nowhere"], "HOST:PORT"),
                           (["--osc", "0", "--mood", "happyish"], "mood is one of"),
                           (["--osc", "0", "--speed", "-2"], "speed is 0"),
                           (["--osc", "0", "--ensemble", "kazoo"], "unknown ensemble"),
                           (["--osc", "0", "--model", str(tmp_path)], "not a model folder"),
                           (["--osc", "0", "--max-duration", "soon"], "duration 'soon'"),
                           (["--osc", str(taken.getsockname()[1])], "cannot listen for OSC")):
            assert main(["live", *argv]) == 2, argv
            err = capsys.readouterr().err.strip()
            assert says in err and len(err.splitlines()) == 1 and "Traceback" not in err, (argv, err)
    finally:
        taken.close()
