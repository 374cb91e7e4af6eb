"""``cadenza info FILE``: what a score holds."""

from __future__ import annotations

import argparse

from cadenza import api
from cadenza.cli.common import add_limit_flags, add_tune_flags, counted, emit_json, limits_from, print_warnings
from cadenza.listen.labels import TONICS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="describe a score: parts, bars, duration, notes, meter, key signature, tempo",
        description="Read a score (MIDI, MusicXML, .mxl, ABC, Humdrum **kern, Cadenza JSON, or a music21 "
        "corpus reference such as music21:bach/bwv66.6 or music21:essenFolksong/altdeu10#3) and describe it.",
    )
    p.add_argument("file", metavar="FILE", help="score file or music21: reference")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_tune_flags(p)
    add_limit_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    summary = api.info(args.file, limits_from(args), args.tune, args.tune_index)
    if args.json:
        emit_json(summary)
        return 0
    print_warnings(summary["warnings"])
    rows = [
        ("title", summary["title"] or "—"),
        ("composer", summary["composer"] or "—"),
        ("source", summary["source"]),
        ("parts", str(summary["part_count"])),
        ("bars", str(summary["bars"]) + (f" (pickup of {summary['pickup_quarters']:g} quarters)"
                                         if summary["pickup_quarters"] else "")),
        ("duration", _clock(summary["duration_s"])),
        ("notes", f"{summary['notes']:,}"),
        ("meter", summary["meter"] + (f" ({counted(len(summary['meter_changes']), 'change')})"
                                      if summary["meter_changes"] else "")),
        ("key signature", (summary["key_signature"] or "none")
         + (f" ({counted(summary['key_changes'], 'change')})" if summary["key_changes"] else "")),
        ("tempo", "not given (120 bpm assumed)" if summary["tempo_is_default"] else
         f"{summary['tempo_bpm']:g} bpm" + (f" ({counted(summary['tempo_changes'], 'change')})"
                                           if summary["tempo_changes"] else "")),
    ]
    if summary["tunes_in_file"] > 1:
        rows.append(("tunes in file", str(summary["tunes_in_file"])))
    width = max(len(k) for k, _ in rows)
    out = [f"{k:<{width}}  {v}" for k, v in rows]
    out.append("")
    name_w = max([len(p["name"]) for p in summary["parts"]] + [4])
    out.append(f"{'#':>2}  {'part':<{name_w}}  {'instrument':<24} {'notes':>7}  range")
    for i, part in enumerate(summary["parts"], 1):
        rng = (f"{_pitch_name(part['lowest_pitch'])}–{_pitch_name(part['highest_pitch'])}"
               if part["notes"] else "—")
        out.append(f"{i:>2}  {part['name']:<{name_w}}  {part['instrument']:<24} {part['notes']:>7,}  {rng}")
    print("\n".join(out))
    return 0




def _pitch_name(midi: int) -> str:
    return f"{TONICS[midi % 12]}{midi // 12 - 1}"


def _clock(seconds: float) -> str:
    minutes, sec = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{sec:04.1f}" if hours else f"{minutes}:{sec:04.1f}"

