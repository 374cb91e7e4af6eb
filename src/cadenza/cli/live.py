"""``cadenza live``: the live soundtrack steered and heard over OSC (thin over
:class:`cadenza.soundtrack.osc.OscBridge`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cadenza.cli.common import MODEL_HELP
from cadenza.compose.ensembles import ENSEMBLES
from cadenza.errors import CadenzaError, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "live", help="a live soundtrack steered over OSC (games, stages): controls in, bars, beats and notes out",
        description="Write a soundtrack a bar at a time just ahead of playback, steered by OSC messages on UDP "
        "--osc PORT: /cadenza/mood \"tense\", /cadenza/valence 0.3, /cadenza/arousal -0.2, /cadenza/intensity "
        "0.8, /cadenza/tempo 90, /cadenza/key \"D minor\", /cadenza/density \"high\", /cadenza/epoch \"baroque\", "
        "/cadenza/stop (a bundle: one change). Each is answered with /cadenza/ack BAR NAME VALUE (heard by bar "
        "BAR + 2) or /cadenza/error \"why\" (ignored; the music plays on). The music goes out as it plays, to "
        "--send HOST:PORT or else to whoever sent the latest control: /cadenza/cue, /cadenza/control, "
        "/cadenza/bar BAR KEY TEMPO METER t, /cadenza/beat BAR BEAT t, /cadenza/note PITCH VELOCITY DURATION_S "
        "PART t (t: seconds of music from the start), and /cadenza/end. The WebSocket bridge is "
        "cadenza serve's /v1/live.",
        epilog="Example: cadenza live --osc 9000 --send 127.0.0.1:9001 --mood calm; then send "
        "/cadenza/mood \"tense\" to 127.0.0.1:9000 (examples/live_osc.py is a client)")
    p.add_argument("--osc", type=int, metavar="PORT", required=True,
                   help="UDP port to listen on for control messages (0: any free one, printed at the start)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 lets any machine on "
                   "the network steer the music: OSC has no password)")
    p.add_argument("--send", metavar="HOST:PORT",
                   help="where the music's messages go (default: to whoever sent the latest control)")
    p.add_argument("--mood", default="calm", help="the mood until a control changes it (default calm)")
    p.add_argument("--ensemble", help=", ".join(ENSEMBLES) + " (default piano)")
    p.add_argument("--seed", type=int, default=0, help="the same seed and controls give the same music")
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("--speed", type=float, default=1.0,
                   help="playback speed the music is sent at (default 1 = real time; 0: as fast as it is written)")
    p.add_argument("--max-duration", help="stop after this much music: 90s, 10m")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cadenza.compose.request import parse_duration
    from cadenza.soundtrack.bridge import LiveConfig
    from cadenza.soundtrack.osc import OscBridge, parse_host_port

    if not 0 <= args.osc <= 65535:
        raise UsageError(f"--osc {args.osc}: give a UDP port from 0 to 65535 (0: any free one)")
    config = LiveConfig(checkpoint=Path(args.model) if args.model else None, ensemble=args.ensemble,
                        seed=args.seed, mood=args.mood, speed=args.speed,
                        max_s=parse_duration(args.max_duration) if args.max_duration else None).check()
    if config.checkpoint is not None and not (config.checkpoint / "config.json").is_file():
        raise UsageError(f"--model {config.checkpoint}: not a model folder (it has no config.json)")
    send_to = parse_host_port(args.send) if args.send else None
    bridge = OscBridge(config, (args.host, args.osc), send_to)
    host, port = bridge.address
    target = f"{send_to[0]}:{send_to[1]}" if send_to else "whoever sends a control"
    print(f"cadenza live: OSC on udp {host}:{port}; music to {target}; /cadenza/stop or Ctrl-C ends it",
          file=sys.stderr, flush=True)
    try:
        result = bridge.run()
    except KeyboardInterrupt:
        bridge.stop()
        result = {"type": "end", **(bridge.session.result or {}), "stopped": "interrupted",
                  "osc": {"listen": f"{host}:{port}", **bridge.counts}}
    if result.get("type") == "error":  # the stream could not go on (e.g. a model that cannot be loaded)
        raise CadenzaError(str(result.get("error")))
    print(json.dumps(result, default=str), flush=True)
    return 0
