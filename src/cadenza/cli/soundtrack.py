"""``cadenza soundtrack``: long music that follows a timeline of moods (thin over :func:`cadenza.api.soundtrack`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cadenza import api
from cadenza.cli.common import MODEL_HELP, counted, emit_json, output_path
from cadenza.cli.compose import _formats
from cadenza.cli.progress import ProgressBar
from cadenza.compose.ensembles import ENSEMBLES
from cadenza.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "soundtrack", help="a soundtrack that follows a timeline of moods, with a cue sheet",
        description="Write continuous music that follows a timeline: segments with a length and a mood (or "
        "valence/arousal, key, tempo, density, epoch, words). Each change lands on a phrase boundary within a "
        "bar of where the timeline puts it (the music ends within half a bar of its length), with "
        "the new key prepared in the bar before; every segment is checked for copying as it is written and "
        "listened to for the cue sheet (cues.json: start times, requested vs heard labels, themes, originality). "
        "With --story, a life story (dated events, each a mood or a sentence) becomes a suite, one movement per "
        "event sharing themes, shaped by a listener --profile.",
        epilog='Examples: cadenza soundtrack --timeline "calm:60s,tense:60s,joyful:60s" --out st --render wav; '
        'cadenza soundtrack --story story.toml --profile me.toml --out suite')
    p.add_argument("timeline_file", nargs="?", metavar="TIMELINE", help="a TOML or JSON timeline file")
    p.add_argument("--timeline", help='shorthand: "calm:90s,tense:60s,triumphant:2m" (WORDS:LENGTH, ...)')
    p.add_argument("--out", default="soundtrack", type=output_path, help="output folder (default: ./soundtrack)")
    suite = p.add_argument_group("a life story as a suite (--story)")
    suite.add_argument("--story", metavar="FILE",
                       help="a TOML or JSON story: a title and dated [[events]], each with a mood or a sentence "
                       "(text) and optionally a theme; one movement per event, in date order, also written alone "
                       "to OUT/movements/NN-title.mid")
    suite.add_argument("--profile", metavar="FILE",
                       help="a TOML or JSON listener profile: [likes] and [dislikes] with ensembles, epochs, "
                       "composers and tempo (slow, medium, fast or [low, high] bpm)")
    p.add_argument("--ensemble", help=", ".join(ENSEMBLES) + " (default: the timeline's, else piano)")
    p.add_argument("--seed", type=int, help="the same seed and timeline give the same soundtrack")
    p.add_argument("--render", help="also write these, comma-separated: wav, flac, musicxml, pdf, png, stems, …")
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    live = p.add_argument_group("live (--stream)")
    live.add_argument("--stream", action="store_true",
                      help="keep writing, a bar at a time just ahead of playback, until stopped (Ctrl-C, "
                      '{"stop": true} or --max-duration), following control changes read as JSON lines on stdin, '
                      'e.g. {"mood": "tense", "intensity": 0.8}; chunks go to OUT/chunks/, cues to OUT/cues.jsonl')
    live.add_argument("--mood", help="the stream's mood until a control changes it (default calm)")
    live.add_argument("--events", action="store_true",
                      help="also print JSON lines on stdout, in time order: each cue as it begins (name, key, "
                      "tempo, meter), each control change, every bar line and beat (bar number; key, tempo and "
                      "meter in force) and every note (part, pitch, velocity, seconds)")
    live.add_argument("--max-duration", help="stop after this much music: 90s, 10m, 2:00:00")
    live.add_argument("--clock", type=float,
                      help="playback speed the stream keeps ahead of (default 1 = real time; 0: no waiting)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.stream:
        if args.story or args.profile:
            raise UsageError("--stream follows controls on stdin, not a story: give one or the other")
        return run_stream_cli(args)
    if args.profile and not args.story:
        raise UsageError("--profile goes with --story (a profile shapes a story's suite)")
    for option, value in (("--mood", args.mood), ("--events", args.events or None),
                          ("--max-duration", args.max_duration), ("--clock", args.clock)):
        if value is not None:  # (taken and ignored: the timeline's moods and length were written)
            raise UsageError(f"{option} goes with --stream (a live soundtrack); a timeline or a story gives its "
                             "own moods and length")
    given = [bool(args.timeline_file), bool(args.timeline), bool(args.story)]
    if sum(given) != 1:
        raise UsageError("give a timeline file, --timeline \"calm:60s,tense:60s\" or --story FILE (one of them)")
    formats = _formats(args.render)
    result = api.soundtrack(args.timeline or args.timeline_file, Path(args.out), formats, model=args.model,
                            ensemble=args.ensemble, seed=args.seed,
                            progress=None if args.json else ProgressBar(
                                "writing (movements)" if args.story else "writing (segments)"),
                            story=args.story, profile=args.profile).to_json()
    if args.json:
        emit_json(result)
        return 1 if result.get("render_errors") else 0
    r = result["result"]
    asked = result["timeline"].get("asked_duration_s")
    print(f"wrote {result['files']['piece']}: {r['duration_s']:.1f} s"
          + (f" (asked {asked:g} s)" if asked else "")
          + f", {counted(r['bars'], 'bar')}, {counted(r['notes'], 'note')} in "
          f"{result['timings']['seconds']:.0f} s ({result['timings']['music_s_per_wall_s']}x real time)")
    for cue in result["cues"]:
        heard = cue["heard"]
        mood = cue["asked"].get("mood")
        print(f"  {cue['start_s']:7.1f} s  bar {cue['start_bar']:>4}  {cue['name']:<16} {cue['key']}, "
              f"{cue['tempo_bpm']:.0f} bpm; hears {heard.get('mood')}"
              + (f" (asked {mood})" if mood and mood != heard.get("mood") else ""))
    if "story" in result:
        _print_story(result)
    for fmt, path in result["files"].items():
        if fmt != "piece":
            print(f"  {fmt}: {path}")
    for fmt, problem in result.get("render_errors", {}).items():
        print(f"  {fmt} not written: {problem}")
    if result.get("render_errors"):  # a file that was asked for and is missing fails the command
        print(f"cadenza: error: {', '.join(result['render_errors'])} not written (see above)", file=sys.stderr)
        return 1
    return 0


def _print_story(result: dict[str, Any]) -> None:
    story = result["story"]
    profile = story["profile"]
    print(f"{story['title']}: {len(story['events'])} movements")
    for name in ("ensemble", "epoch", "composer"):
        if profile[name]["value"]:
            print(f"  {name} {profile[name]['value']}: {profile[name]['why']}")
    if profile["tempo_range"]["bpm"]:
        print(f"  tempo {profile['tempo_range']['why']}")
    for note in story["notes"]:
        print(f"  {note}")
    for event in story["events"]:
        theme = f" [{event['theme']}]" if event["theme"] else ""
        print(f"  {event['date']:<10} {event['title']}{theme} -> {event['movement'].get('file', '')}")
        for line in event["reading"]:
            print(f"      {line}")


def _max_seconds(text: str | None) -> float | None:
    if not text:
        return None
    parts = text.strip().split(":")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return int(parts[0]) * 3600 + int(parts[1]) * 60 + float(parts[2])
    from cadenza.compose.request import parse_duration

    return parse_duration(text)


def run_stream_cli(args: argparse.Namespace) -> int:
    import json
    import queue
    import sys
    import threading
    import time

    from cadenza.soundtrack.stream import FileSink, Stream, check_control, run_stream

    if args.timeline or args.timeline_file:
        raise UsageError("--stream follows controls on stdin, not a timeline: give one or the other")
    clock = 1.0 if args.clock is None else args.clock
    if not clock >= 0:
        raise UsageError("--clock: give 0 (no waiting) or a positive playback speed")
    max_s = _max_seconds(args.max_duration)  # before anything is written (OUT/chunks/ was left by a bad one)
    stream = Stream(Path(args.model) if args.model else None, args.ensemble, args.seed or 0,
                    state=check_control({"mood": args.mood or "calm"}))
    inbox: queue.Queue[dict[str, Any]] = queue.Queue()

    def read_stdin() -> None:
        """Every line a control; one that is not JSON (or that JSON cannot hold: a 5,000-digit number, objects
        nested 100,000 deep) is reported and ignored, and the reader goes on. End of input means no more
        changes: the stream plays on until {"stop": true}, --max-duration or Ctrl-C."""
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                inbox.put(json.loads(line))
            except (ValueError, RecursionError, MemoryError) as exc:
                reason = "not JSON" if isinstance(exc, json.JSONDecodeError) else "not readable JSON"
                print(f"cadenza: warning: control ignored ({reason}): {line.strip()[:80]}", file=sys.stderr)

    if not sys.stdin.isatty():
        threading.Thread(target=read_stdin, daemon=True).start()

    def poll() -> list[dict[str, Any]]:
        out = []
        while not inbox.empty():
            out.append(inbox.get_nowait())
        return out

    start = time.monotonic()
    sink = FileSink(Path(args.out), _formats(args.render), events=args.events)
    try:
        result = run_stream(stream, sink, lambda: (time.monotonic() - start) * clock if clock else 1e12,
                            poll, max_s=max_s)
    except KeyboardInterrupt:
        result = {"stopped": "interrupted"}
    summary = {**result, "out": str(args.out), "render_errors": sink.render_errors}
    print(json.dumps(summary), file=sys.stderr if args.events else sys.stdout)
    return 0
