"""``cadenza bench``: every benchmark in one run, written as results.json, REPORT.md and PNG plots."""

from __future__ import annotations

import argparse
import sys

from cadenza.cli.common import emit_json, output_path


def register(sub: argparse._SubParsersAction) -> None:
    from cadenza.lab.suite import SECTIONS

    p = sub.add_parser(
        "bench", help="run the benchmark suite: NLL, control, originality, quality, craft, speed; a report with plots",
        description="Measure a model: NLL on the polyphonic benchmarks and on held-out corpus works against an "
        "n-gram; adherence to requested labels against chance; copied runs against held-out human music; musical "
        "metrics against real works per epoch; craft (voice leading, harmony, cadences, melody, texture, "
        "motifs, endings) per ensemble against real works of the style, with an engraved page each; and speed "
        "on this machine (reading, training, sampling beside a Hugging Face GPT-2 peer, composing, rendering, "
        "analysing). Writes results.json, REPORT.md and PNG plots into --out. The full run takes about 30 "
        "minutes on 2 CPU cores; --quick a few.",
        epilog="Example: cadenza bench --quick --only nll,speed --out bench-quick")
    p.add_argument("--quick", action="store_true", help="small counts and partial test sets (a few minutes)")
    p.add_argument("--only", metavar="SECTIONS", help=f"comma-separated, of {','.join(SECTIONS)} (default: all)")
    p.add_argument("--model", metavar="DIR", help="model folder (default: the shipped default model)")
    p.add_argument("--corpus", default="default", help="corpus for held-out works and real works (default: default)")
    p.add_argument("--out", default="bench", metavar="DIR", type=output_path, help="output folder (default: bench)")
    p.add_argument("--json", action="store_true", help="print results.json on stdout too")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cadenza.cli.progress import ProgressBar
    from cadenza.lab.suite import SuiteConfig, bench, headline, parse_only

    config = SuiteConfig(quick=args.quick, only=parse_only(args.only), model=args.model, corpus=args.corpus,
                         out=args.out)
    results = bench(config, progress=ProgressBar)
    if args.json:
        emit_json(results)
        return 0
    for line in headline(results):
        print(line)
    print(f"wrote {', '.join(results['files'])}", file=sys.stderr)
    return 0
