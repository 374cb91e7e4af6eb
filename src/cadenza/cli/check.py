"""``cadenza check FILE``: what a piece shares with a model's training data; exit 3 when it is a copy."""

from __future__ import annotations

import argparse

from cadenza import api
from cadenza.cli.common import add_limit_flags, add_tune_flags, emit_json, limits_from, print_warnings
from cadenza.errors import CopyError, UsageError
from cadenza.originality.index import SHIPPED_THRESHOLD_NOTES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="originality: the longest runs a piece shares with the training works, and a verdict",
        description="Split each part of a score into melodic lines, encode them so transpositions and tempo "
        "changes match (interval, relative duration), and find, per line, the longest run shared with one "
        "training work: how many notes, which work, and the bars in both pieces. The verdict is 'copied' when "
        "a line shares more notes than 90 percent of held-out human pieces share with the same training set (the "
        "threshold stored in the index); the exit code is then 3.",
        epilog="Example: cadenza check piece.mid --against default --json",
    )
    p.add_argument("file", metavar="FILE", help="score file or music21: reference")
    p.add_argument("--against", metavar="MODEL|CORPUS",
                   help="a shipped model (default, jsb, nottingham), a model folder, an originality.npz, or "
                   "corpus:NAME for a corpus's own index (default: the default model)")
    p.add_argument("--threshold", type=int, metavar="NOTES",
                   help="flag runs longer than this many notes instead of the calibrated thresholds (against the "
                   f"default model: {SHIPPED_THRESHOLD_NOTES['top']} for a top line, "
                   f"{SHIPPED_THRESHOLD_NOTES['bass']} for a bass line)")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON on stdout")
    add_tune_flags(p)
    add_limit_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cadenza.originality import report_text

    if args.threshold is not None and args.threshold < 1:
        raise UsageError("--threshold must be at least 1")
    report = api.check(args.file, args.against, args.threshold, limits_from(args), args.tune, args.tune_index)
    if args.json:
        emit_json(report.to_json())
    else:
        print_warnings(report.warnings)
        print(report_text(report.to_json()))
    return CopyError.exit_code if report.verdict == "copied" else 0
