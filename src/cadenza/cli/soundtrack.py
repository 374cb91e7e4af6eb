"""``cadenza soundtrack``: long music that follows a timeline of moods (thin over :func:`cadenza.api.soundtrack`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cadenza import api
from cadenza.cli.common import emit_json
from cadenza.cli.compose import _formats
from cadenza.cli.progress import ProgressBar
from cadenza.compose.ensembles import ENSEMBLES
from cadenza.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "soundtrack", help="a soundtrack that follows a timeline of moods, with a cue sheet",
        description="Write continuous music that follows a timeline: segments with a length and a mood (or "
        "valence/arousal, key, tempo, density, epoch, words). Each change lands on a phrase boundary, with "
        "the new key prepared in the bar before; every segment is checked for copying as it is written and "
        "listened to for the cue sheet (cues.json: start times, requested vs heard labels, originality).",
        epilog='Example: cadenza soundtrack --timeline "calm:60s,tense:60s,joyful:60s" --out st --render wav')
    p.add_argument("timeline_file", nargs="?", metavar="TIMELINE", help="a TOML or JSON timeline file")
    p.add_argument("--timeline", help='shorthand: "calm:90s,tense:60s,triumphant:2m" (WORDS:LENGTH, ...)')
    p.add_argument("--out", default="soundtrack", help="output folder (default: ./soundtrack)")
    p.add_argument("--ensemble", help=", ".join(ENSEMBLES) + " (default: the timeline's, else piano)")
    p.add_argument("--seed", type=int, help="the same seed and timeline give the same soundtrack")
    p.add_argument("--render", help="also write these, comma-separated: wav, flac, musicxml, pdf, png, …")
    p.add_argument("--model", help="model folder (default: the model that ships with Cadenza)")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if bool(args.timeline_file) == bool(args.timeline):
        raise UsageError("give a timeline file or --timeline \"calm:60s,tense:60s\" (one of them)")
    formats = _formats(args.render)
    result: dict[str, Any] = api.soundtrack(args.timeline or args.timeline_file, Path(args.out), formats,
                                            model=args.model, ensemble=args.ensemble, seed=args.seed,
                                            progress=None if args.json else ProgressBar("writing (segments)"))
    if args.json:
        emit_json(result)
        return 0
    r = result["result"]
    print(f"wrote {result['files']['piece']}: {r['duration_s']:.0f} s, {r['bars']} bars, {r['notes']:,} notes in "
          f"{result['timings']['seconds']:.0f} s ({result['timings']['music_s_per_wall_s']}x real time)")
    for cue in result["cues"]:
        heard = cue["heard"]
        mood = cue["asked"].get("mood")
        print(f"  {cue['start_s']:7.1f} s  bar {cue['start_bar']:>4}  {cue['name']:<16} {cue['key']}, "
              f"{cue['tempo_bpm']:.0f} bpm; hears {heard.get('mood')}"
              + (f" (asked {mood})" if mood and mood != heard.get("mood") else ""))
    for fmt, path in result["files"].items():
        if fmt != "piece":
            print(f"  {fmt}: {path}")
    for fmt, problem in result.get("render_errors", {}).items():
        print(f"  {fmt} not written: {problem}")
    return 0
