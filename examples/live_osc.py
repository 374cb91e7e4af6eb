"""A stage's (or a game's) side of Cadenza's live soundtrack over OSC, with python-osc.

    pip install python-osc
    cadenza live --osc 9000 --send 127.0.0.1:9001 &    # controls in on 9000, the music out to 9001
    python examples/live_osc.py --bars 24

It listens on 9001, prints each cue and bar as it sounds and changes the mood every 8 bars (tense, joyful,
sad, calm), then stops the stream with /cadenza/stop. Messages arrive when they sound (with --speed 1), so
a synth or a light desk can act on /cadenza/note and /cadenza/beat as they come.
"""

from __future__ import annotations

import argparse
from typing import Any

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient

MOODS = ("tense", "joyful", "sad", "calm")


def follow(server: tuple[str, int], listen: tuple[str, int], bars: int = 24, every: int = 8) -> dict[str, Any]:
    """Play ``bars`` bars, asking for the next mood every ``every`` bars; returns what was heard."""
    client = SimpleUDPClient(*server)
    heard: dict[str, Any] = {"changes": [], "notes": 0, "errors": [], "bars": 0, "ended": False}
    asked: dict[str, Any] = {}

    def on_cue(address: str, index: int, name: str, bar: int, key: str, tempo: float, meter: str, t: float) -> None:
        print(f"{t:8.2f} s  bar {bar:>4}  {name:<8} {key}, {tempo:.0f} bpm, {meter}")
        if asked.get("mood") == name:
            heard["changes"].append({**asked, "heard_bar": bar})
            asked.clear()

    def on_bar(address: str, bar: int, key: str, tempo: float, meter: str, t: float) -> None:
        heard["bars"] = bar
        if bar % every == 0 and not asked and bar < bars:
            mood = MOODS[(bar // every - 1) % len(MOODS)]
            client.send_message("/cadenza/mood", mood)
            asked.update(mood=mood, sent_after_bar=bar)
        elif bar == bars:
            client.send_message("/cadenza/stop", [])

    def on_note(address: str, pitch: int, velocity: int, duration_s: float, part: int, t: float) -> None:
        heard["notes"] += 1  # a synth: note on now, note off after duration_s

    def on_ack(address: str, bar: int, *control: Any) -> None:
        if asked and control[:2] == ("mood", asked["mood"]):
            asked["ack_bar"] = bar

    def on_error(address: str, message: str) -> None:
        print("error:", message)
        heard["errors"].append(message)

    def on_end(address: str, chunks: int, music_s: float, stopped: str) -> None:
        print(f"end: {chunks} bars, {music_s:.0f} s of music ({stopped})")
        heard["ended"] = True

    dispatcher = Dispatcher()
    for name, handler in (("cue", on_cue), ("bar", on_bar), ("note", on_note), ("ack", on_ack),
                          ("error", on_error), ("end", on_end)):
        dispatcher.map(f"/cadenza/{name}", handler)
    with BlockingOSCUDPServer(listen, dispatcher) as osc:
        osc.timeout = 30  # seconds without a message: the bridge has gone
        osc.handle_timeout = lambda: heard.update(ended=True, timed_out=True)  # type: ignore[method-assign]
        while not heard["ended"]:
            osc.handle_request()
    return heard


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="127.0.0.1:9000", help="where cadenza live --osc listens")
    parser.add_argument("--listen", default="127.0.0.1:9001", help="where it sends the music (its --send)")
    parser.add_argument("--bars", type=int, default=24, help="stop after this many bars")
    parser.add_argument("--every", type=int, default=8, help="change the mood every this many bars")
    args = parser.parse_args(argv)
    server, listen = (tuple(a.rsplit(":", 1)) for a in (args.server, args.listen))
    heard = follow((server[0], int(server[1])), (listen[0], int(listen[1])), args.bars, args.every)
    for change in heard["changes"]:
        print(f"asked {change['mood']} after bar {change['sent_after_bar']}: heard from bar {change['heard_bar']}")
    return 1 if heard["errors"] or heard.get("timed_out") else 0


if __name__ == "__main__":
    raise SystemExit(main())
