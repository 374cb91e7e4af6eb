"""A game's side of Cadenza's live soundtrack over a WebSocket: follow the bars, steer the mood.

    pip install 'cadenza[serve]'             # the server (and `websockets`, all this client needs)
    cadenza serve &                          # http://127.0.0.1:8750; the stream is ws://127.0.0.1:8750/v1/live
    python examples/live_websocket.py --bars 24

It prints each cue and bar as it arrives and changes the mood every 8 bars (tense, joyful, sad, calm), as a
game would when the scene changes, then stops the stream. A game would also schedule each note event at
(the time it got the first bar) + ``t``: events arrive a bar ahead of when they sound.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from websockets.sync.client import connect

MOODS = ("tense", "joyful", "sad", "calm")


def follow(url: str, bars: int = 24, every: int = 8, speed: float = 1.0, api_key: str | None = None) -> dict[str, Any]:
    """Play ``bars`` bars, asking for the next mood every ``every`` bars; returns what was heard: each mood
    change's bar numbers (asked after, acknowledged at, first heard in), the notes, the errors."""
    headers = {"X-API-Key": api_key} if api_key else {}
    heard: dict[str, Any] = {"changes": [], "notes": 0, "errors": [], "bars": 0}
    asked: dict[str, Any] | None = None
    with connect(f"{url}?speed={speed}&mood=calm", additional_headers=headers) as ws:
        for message in ws:
            event = json.loads(message)
            kind = event["type"]
            if kind == "cue":
                print(f"{event['t']:8.2f} s  bar {event['bar']:>4}  {event['name']:<8} {event['key']}, "
                      f"{event['tempo_bpm']:.0f} bpm, {event['meter']}")
                if asked and event["name"] == asked["mood"]:
                    heard["changes"].append({**asked, "heard_bar": event["bar"]})
                    asked = None
            elif kind == "bar":
                heard["bars"] = event["bar"]
                if event["bar"] % every == 0 and asked is None and event["bar"] < bars:
                    mood = MOODS[(event["bar"] // every - 1) % len(MOODS)]
                    ws.send(json.dumps({"mood": mood}))
                    asked = {"mood": mood, "sent_after_bar": event["bar"]}
                elif event["bar"] == bars:
                    ws.send(json.dumps({"stop": True}))
            elif kind == "note":
                heard["notes"] += 1  # a game: play event["pitch"] at start + event["t"] for event["duration_s"]
            elif kind == "ack" and asked is not None and event["control"].get("mood") == asked["mood"]:
                asked["ack_bar"] = event["bar"]
            elif kind == "error":
                print("error:", event["error"])
                heard["errors"].append(event["error"])
            elif kind == "end":
                print(f"end: {event['chunks']} bars, {event['music_s']:.0f} s of music ({event['stopped']})")
    return heard


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="ws://127.0.0.1:8750/v1/live")
    parser.add_argument("--bars", type=int, default=24, help="stop after this many bars")
    parser.add_argument("--every", type=int, default=8, help="change the mood every this many bars")
    parser.add_argument("--speed", type=float, default=1.0, help="1: real time; 0: as fast as it is written")
    parser.add_argument("--api-key", help="the server's --api-key, if it has one")
    args = parser.parse_args(argv)
    heard = follow(args.url, args.bars, args.every, args.speed, args.api_key)
    for change in heard["changes"]:
        print(f"asked {change['mood']} after bar {change['sent_after_bar']}: heard from bar {change['heard_bar']}")
    return 1 if heard["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
