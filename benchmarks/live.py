"""Live bridges benchmark (issue 20, item 4): twenty minutes of music at full speed over each live bridge (the
first ten to warm up, the next ten measured), each run as a user runs it, in its own process, with the
shipped model.

    python -m benchmarks.live [--minutes 20] [--change-every 120] [--bridges ws,osc,direct] [--checkpoint DIR]
                              [--out benchmarks/results/live.json]

- **ws**: ``python -m cadenza serve --port 0 --workers 1`` (a temporary ``--data``); a ``websockets`` client
  opens ``/v1/live?speed=0&max_duration=...`` and reads every event while another thread asks
  ``GET /v1/status`` every 0.25 s (is the server still answering while a model writes in it?);
- **osc**: ``python -m cadenza live --osc 0 --speed 0 --max-duration ... --send 127.0.0.1:PORT``; a UDP client
  steers it and counts what arrives against what the bridge says it sent (UDP may drop at full speed);
- **direct**: the same stream without a bridge (``run_stream`` in this process), for the bridges' overhead.

Each asks for the next mood (tense, joyful, sad, calm, ...) every ``--change-every`` seconds of music and
records: bars, music and wall seconds, bars per wall second and music seconds per wall second; each control's
latency in bars (the first bar of the new mood minus the last bar written when it arrived, the bar its ack
names; goal at most 2); and the bridge process's resident memory (``VmRSS``) every 30 s of music: its growth
over the first ten minutes (from the first minute: the model loaded, the first chunks written), over the
music after them (goal under 20 MB; run ``--minutes 20`` for ten minutes of it), and its peak. The first ten
minutes grow while each mood is written for the first time (see the samples); after them the stream is in
its steady state. Every process it starts is stopped at the end. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.common import machine
from benchmarks.serve import git_commit, rss_kb
from cadenza.files import atomic_write_bytes

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "live.json"
log = logging.getLogger("benchmarks.live")
MOODS = ("tense", "joyful", "sad", "calm")
SAMPLE_EVERY_S = 30.0  # seconds of music between memory samples
WARM_S = 60.0  # the first ten minutes' growth is counted from here (the model loaded, the first chunks written)
GOAL_GROWTH_MB = 20
GOAL_LATENCY_BARS = 2


class Run:
    """What one bridge's stream did: bars, controls asked and heard, memory samples."""

    def __init__(self, change_every_s: float, pid: int | None) -> None:
        self.change_every_s, self.pid = change_every_s, pid
        self.started = time.perf_counter()
        self.bars = 0
        self.music_s = 0.0
        self.next_change_s = change_every_s
        self.changes = 0
        self.asked: dict[str, Any] | None = None
        self.latencies: list[int] = []
        self.samples: list[tuple[float, float]] = []  # (music s, RSS MB)

    def on_bar(self, bar: int, t: float) -> str | None:
        """A bar arrived: the mood to ask for now, if any; a memory sample every SAMPLE_EVERY_S of music."""
        self.bars, self.music_s = bar, t
        if self.pid is not None and (not self.samples or t - self.samples[-1][0] >= SAMPLE_EVERY_S):
            self.samples.append((t, rss_kb(self.pid) / 1024))
        if t >= self.next_change_s and self.asked is None:
            self.next_change_s += self.change_every_s
            mood = MOODS[self.changes % len(MOODS)]
            self.changes += 1
            self.asked = {"mood": mood, "bar": bar}
            return mood
        return None

    def on_ack(self, bar: int, mood: str | None) -> None:
        if self.asked is not None and mood == self.asked["mood"]:
            self.asked["ack_bar"] = bar

    def on_cue(self, bar: int, name: str) -> None:
        if self.asked is not None and name == self.asked["mood"] and "ack_bar" in self.asked:
            self.latencies.append(bar - self.asked["ack_bar"])
            self.asked = None

    def growth_mb(self, from_s: float, to_s: float = float("inf")) -> float | None:
        """RSS growth from the first sample at or after ``from_s`` seconds of music to the last before ``to_s``."""
        span = [mb for s, mb in self.samples if from_s <= s <= to_s]
        return round(span[-1] - span[0], 1) if len(span) > 1 else None

    def figures(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.started
        return {"bars": self.bars, "music_s": round(self.music_s, 1), "wall_s": round(wall, 1),
                "bars_per_s": round(self.bars / wall, 2), "music_s_per_wall_s": round(self.music_s / wall, 1),
                "controls": self.changes, "control_latency_bars": self.latencies,
                "max_control_latency_bars": max(self.latencies) if self.latencies else None,
                "goal_latency_bars": GOAL_LATENCY_BARS,
                "growth_mb_first_10_min": self.growth_mb(WARM_S, 600.0),
                "growth_mb_after_10_min": self.growth_mb(600.0),
                "goal_growth_mb": GOAL_GROWTH_MB,
                "peak_rss_mb": round(max(mb for _, mb in self.samples), 1) if self.samples else None,
                "rss_samples": [(round(s), round(mb, 1)) for s, mb in self.samples]}


def _start(command: list[str], stderr_path: Path, ready: str, timeout_s: float = 120) -> tuple[subprocess.Popen[str],
                                                                                                 str]:
    """Start ``command`` (one torch thread) and wait for the stderr line containing ``ready``; the process and
    that line."""
    env = {**os.environ, "CADENZA_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    err = stderr_path.open("w")
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = [line for line in stderr_path.read_text().splitlines() if ready in line]
        if lines:
            return proc, lines[0]
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{' '.join(command[:4])} did not start: {stderr_path.read_text()[-500:]}")


def _stop(proc: subprocess.Popen[str]) -> str:
    """Stop a process (SIGTERM, then SIGKILL after 30 s); its stdout."""
    if proc.poll() is None:
        proc.terminate()
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


def _model_args(checkpoint: str | None, flag: str) -> list[str]:
    return [flag, checkpoint] if checkpoint else []


def ws_run(minutes: float, change_every_s: float, checkpoint: str | None, workdir: Path) -> dict[str, Any]:
    from websockets.sync.client import connect

    proc, line = _start([sys.executable, "-m", "cadenza", "serve", "--port", "0", "--data", str(workdir / "data"),
                         "--workers", "1", "--threads", "1", *_model_args(checkpoint, "--checkpoint")],
                        workdir / "serve.err", "cadenza serve: http")
    base = line.split("cadenza serve: ")[1].split()[0]
    status_ms: list[float] = []
    streaming = threading.Event()

    def ask_status() -> None:
        while streaming.is_set():
            started = time.perf_counter()
            with urllib.request.urlopen(base + "/v1/status", timeout=30) as response:
                response.read()
            status_ms.append((time.perf_counter() - started) * 1000)
            time.sleep(0.25)

    try:
        run = Run(change_every_s, proc.pid)
        url = base.replace("http", "ws", 1) + f"/v1/live?speed=0&seed=2&max_duration={int(minutes * 60)}s"
        end: dict[str, Any] = {}
        with connect(url, max_size=None) as ws:
            streaming.set()
            asker = threading.Thread(target=ask_status, daemon=True)
            asker.start()
            for message in ws:
                event = json.loads(message)
                kind = event["type"]
                if kind == "bar":
                    mood = run.on_bar(event["bar"], event["t"])
                    if mood:
                        ws.send(json.dumps({"mood": mood}))
                elif kind == "ack":
                    run.on_ack(event["bar"], event["control"].get("mood"))
                elif kind == "cue":
                    run.on_cue(event["bar"], event["name"])
                elif kind in ("end", "error"):
                    end = event
            streaming.clear()
            asker.join(35)
        figures = run.figures()
    finally:
        streaming.clear()
        _stop(proc)
    return {**figures, "end": {k: v for k, v in end.items() if k != "type"},
            "status_requests_during_stream": len(status_ms),
            "status_ms_p50": round(statistics.median(status_ms), 1) if status_ms else None,
            "status_ms_p95": round(sorted(status_ms)[int(0.95 * (len(status_ms) - 1))], 1) if status_ms else None,
            "server_command": "python -m cadenza serve --port 0 --data TMP --workers 1 --threads 1"}


def osc_run(minutes: float, change_every_s: float, checkpoint: str | None, workdir: Path) -> dict[str, Any]:
    from cadenza.soundtrack.osc import decode_packet, encode_message

    me = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    me.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    me.bind(("127.0.0.1", 0))
    me.settimeout(60)
    command = [sys.executable, "-m", "cadenza", "live", "--osc", "0", "--speed", "0", "--seed", "2",
               "--max-duration", f"{int(minutes * 60)}s", "--send", f"127.0.0.1:{me.getsockname()[1]}",
               *_model_args(checkpoint, "--model")]
    proc, line = _start(command, workdir / "live.err", "cadenza live: OSC on udp")
    host, port = line.split("udp ")[1].split(";")[0].rsplit(":", 1)
    received = 0
    try:
        run = Run(change_every_s, proc.pid)
        while True:
            data, _ = me.recvfrom(65536)
            received += 1
            (address, args), = decode_packet(data)
            if address == "/cadenza/bar":
                mood = run.on_bar(int(args[0]), float(args[-1]))
                if mood:
                    me.sendto(encode_message("/cadenza/mood", [mood]), (host, int(port)))
            elif address == "/cadenza/ack":
                run.on_ack(int(args[0]), str(args[2]) if args[1:2] == ["mood"] else None)
            elif address == "/cadenza/cue":
                run.on_cue(int(args[2]), str(args[1]))
            elif address in ("/cadenza/end", "/cadenza/error"):
                break
        figures = run.figures()
        out = proc.communicate(timeout=60)[0]
    finally:
        _stop(proc)
        me.close()
    summary = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    sent = summary.get("osc", {}).get("messages_sent")
    return {**figures, "end": {k: v for k, v in summary.items() if k not in ("type", "osc")},
            "messages_sent": sent, "messages_received": received,
            "messages_lost": sent - received if sent is not None else None,
            "bridge_command": "python -m cadenza live --osc 0 --speed 0 --seed 2 --max-duration "
                              f"{int(minutes * 60)}s --send 127.0.0.1:PORT"}


def direct_run(minutes: float, change_every_s: float, checkpoint: str | None) -> dict[str, Any]:
    """The same stream in this process, no bridge: what the bridges cost."""
    os.environ.setdefault("CADENZA_THREADS", "1")
    import torch

    from cadenza.soundtrack.stream import Stream, chunk_events, run_stream

    torch.set_num_threads(1)
    run = Run(change_every_s, os.getpid())
    stream = Stream(Path(checkpoint) if checkpoint else None, seed=2, state={"mood": "calm"})
    inbox: list[dict[str, Any]] = []

    def sink(chunk: Any) -> None:
        for event in chunk_events(chunk):
            if event["type"] == "bar":
                mood = run.on_bar(event["bar"], event["t"])
                if mood:
                    inbox.append({"mood": mood})
                    run.on_ack(run.bars, mood)
            elif event["type"] == "cue":
                run.on_cue(event["bar"], event["name"])

    def poll() -> list[dict[str, Any]]:
        changes = inbox[:]
        inbox.clear()
        return changes

    run_stream(stream, sink, lambda: 1e12, poll, max_s=minutes * 60)
    return run.figures()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="minutes of music per bridge")
    parser.add_argument("--change-every", type=float, default=120.0, help="seconds of music between mood changes")
    parser.add_argument("--bridges", default="ws,osc,direct", help="which to run, comma-separated")
    parser.add_argument("--checkpoint", help="model folder (default: the shipped model)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not sys.platform.startswith("linux"):
        raise SystemExit("benchmarks.live needs Linux (/proc)")
    bridges = [b.strip() for b in args.bridges.split(",") if b.strip()]
    unknown = set(bridges) - {"ws", "osc", "direct"}
    if unknown:
        raise SystemExit(f"unknown bridge {sorted(unknown)[0]!r}: ws, osc, direct")
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cadenza-live-bench-") as tmp:
        for name in bridges:
            log.info("%s: %g minutes of music at full speed ...", name, args.minutes)
            if name == "ws":
                result[name] = ws_run(args.minutes, args.change_every, args.checkpoint, Path(tmp))
            elif name == "osc":
                result[name] = osc_run(args.minutes, args.change_every, args.checkpoint, Path(tmp))
            else:
                result[name] = direct_run(args.minutes, args.change_every, args.checkpoint)
            log.info("%s: %s", name, json.dumps({k: v for k, v in result[name].items() if k != "rss_samples"}))
    if "direct" in result:
        for name in ("ws", "osc"):
            if name in result:
                result[name]["speed_vs_direct"] = round(result[name]["bars_per_s"] / result["direct"]["bars_per_s"],
                                                        2)
    report = {"benchmark": "live", "date": time.strftime("%Y-%m-%d"), "commit": git_commit(), "machine": machine(),
              "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
              "command": "python -m benchmarks.live " + " ".join(sys.argv[1:] if argv is None else argv),
              "config": {"minutes": args.minutes, "change_every_s": args.change_every, "checkpoint": args.checkpoint,
                         "moods": ["calm", *MOODS]}, **result}
    atomic_write_bytes(args.out, (json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n").encode())
    log.info("wrote %s", args.out)
    failed = [name for name in ("ws", "osc") if name in result and (
        (result[name]["max_control_latency_bars"] or 0) > GOAL_LATENCY_BARS
        or (result[name]["growth_mb_after_10_min"] or 0) > GOAL_GROWTH_MB)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
