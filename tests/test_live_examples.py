"""The example clients in ``examples/`` run end to end against the real bridges with a tiny untrained model:
the WebSocket client (the ``websockets`` package) against ``cadenza serve``'s app under uvicorn at full speed,
the OSC client (python-osc) against ``cadenza live``'s bridge at 20 times real time (each message sent at its
time); each mood it asks for is heard within two bars of the bar its ack names."""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("fastapi")
pytest.importorskip("websockets")
pytest.importorskip("pythonosc")
uvicorn = pytest.importorskip("uvicorn")

from cadenza.serve import ServeConfig  # noqa: E402
from cadenza.serve.app import create_app  # noqa: E402
from cadenza.serve.server import bind  # noqa: E402
from cadenza.soundtrack.bridge import LiveConfig  # noqa: E402
from cadenza.soundtrack.osc import OscBridge  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module



@pytest.fixture()
def server_url(tmp_path: Path, tiny: Path) -> Iterator[str]:
    """``cadenza serve``'s app under uvicorn on a free loopback port, in a thread (no workers: no jobs here)."""
    config = ServeConfig(data=tmp_path / "data", checkpoint=tiny, port=0, threads=1)
    sock = bind(config.host, 0)
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"ws://127.0.0.1:{sock.getsockname()[1]}/v1/live"
    server.should_exit = True
    thread.join(30)
    sock.close()


def _check(heard: dict[str, Any], bars: int) -> None:
    assert not heard["errors"] and heard["notes"] > 0 and heard["bars"] >= bars
    assert [c["mood"] for c in heard["changes"]] == ["tense", "joyful"]
    for change in heard["changes"]:  # heard within two bars of the control's arrival
        assert change["sent_after_bar"] <= change["ack_bar"] < change["heard_bar"] <= change["ack_bar"] + 2, change


def test_the_websocket_example_steers_a_real_server(server_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    heard = _example("live_websocket").follow(server_url, bars=12, every=4, speed=0)
    _check(heard, 12)
    out = capsys.readouterr().out
    assert "tense" in out and "end: " in out


def test_the_osc_example_steers_the_bridge(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    listen = probe.getsockname()[:2]
    probe.close()  # the example binds it again at once
    bridge = OscBridge(LiveConfig(checkpoint=tiny, seed=3, speed=20), ("127.0.0.1", 0), send_to=listen)
    figures: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: figures.update(bridge.run()), daemon=True)
    try:
        runner.start()
        heard = _example("live_osc").follow(bridge.address, listen, bars=12, every=4)
    finally:
        bridge.stop()
        runner.join(30)
    _check(heard, 12)
    assert heard["ended"] and not heard.get("timed_out") and figures["stopped"] == "stop"
    assert "end: " in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("godot3-server") is None, reason="Godot 3's headless runner (Debian: godot3-server)")
def test_the_godot_example_steers_a_real_server(server_url: str, tmp_path: Path) -> None:
    """``examples/godot/cadenza_live.gd`` in headless Godot 3: both moods it asks for are heard within two bars
    of their acks (its runner exits 1 otherwise). Run from a copy: Godot writes a log folder beside it."""
    for name in ("cadenza_live.gd", "run_headless.gd"):
        shutil.copy(EXAMPLES / "godot" / name, tmp_path / name)
    done = subprocess.run(["godot3-server", "--no-window", "--path", str(tmp_path), "-s", "run_headless.gd",
                           server_url + "?speed=0&mood=calm"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "ack {\"mood\":\"tense\"}" in done.stdout and "end: " in done.stdout
