"""``cadenza convert IN OUT``: from any readable format to MIDI, MusicXML (.musicxml/.mxl) or JSON."""

from __future__ import annotations

import argparse

from cadenza import api
from cadenza.cli.common import (
    add_limit_flags,
    add_tune_flags,
    counted,
    emit_json,
    limits_from,
    output_path,
    print_warnings,
)
from cadenza.score.audio_read import AUDIO_EXTENSIONS, AUDIO_INSTALL
from cadenza.score.read import READ_FORMATS
from cadenza.score.write import WRITE_FORMATS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="convert a score between formats (the extensions choose them)",
        description=f"Convert a score. IN: {' '.join(READ_FORMATS)} or a music21: reference; or a recording, "
        f"transcribed: {' '.join(AUDIO_EXTENSIONS)} (the audio extra: {AUDIO_INSTALL}). "
        f"OUT: {' '.join(WRITE_FORMATS)}. The output is written atomically.",
        epilog="Example: cadenza convert music21:bach/bwv66.6 chorale.mid",
    )
    p.add_argument("input", metavar="IN", help="score file or music21: reference")
    p.add_argument("output", metavar="OUT", type=output_path, help="file to write; its extension chooses the format")
    p.add_argument("--json", action="store_true", help="print a JSON report on stdout")
    add_tune_flags(p)
    add_limit_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    report = api.convert(args.input, args.output, limits_from(args), args.tune, args.tune_index)
    if args.json:
        emit_json(report)
        return 0
    print_warnings(report["warnings"])
    print(f"wrote {report['output']} ({counted(report['parts'], 'part')}, {counted(report['bars'], 'bar')}, "
          f"{counted(report['notes'], 'note')})")
    return 0
