"""``cadenza corpus build|stats``: read, label, dedupe and split a corpus; describe it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cadenza.cli.common import emit_json
from cadenza.cli.progress import ProgressBar
from cadenza.corpus import BuildConfig, CorpusStore, build_corpus, corpus_home, corpus_stats, stats_chart
from cadenza.corpus.sources import DATASETS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("corpus", help="build a labelled, deduplicated, split corpus of scores; show its stats",
                       description=f"Corpora live in the corpus home (now: {corpus_home()}; set CADENZA_HOME "
                       "to move it).")
    groups = p.add_subparsers(dest="corpus_command", metavar="ACTION")
    b = groups.add_parser(
        "build",
        help="read, label, dedupe and split the works of one or more sources",
        description="Read every work of the sources (each tune of a multi-tune ABC file is a work), label it, "
        "group duplicates and assign train/valid/test splits. Interrupted builds resume; re-runs only read "
        "what changed. Sources: music21 (the bundled corpus, the default), a folder of score files, or a "
        f"dataset in ../shared/datasets: {', '.join(DATASETS)}.",
        epilog="Example: cadenza corpus build --source music21 --limit 300",
    )
    b.add_argument("--source", action="append", metavar="SOURCE",
                   help="music21, a folder, or a dataset name; repeat for several (default: music21)")
    b.add_argument("--name", default="default", help="corpus name (default: default)")
    b.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help=f"parallel reader processes (default: {os.cpu_count() or 1}, the CPU count)")
    b.add_argument("--limit", type=int, help="read at most N works (a stable spread across the sources)")
    b.add_argument("--timeout-s", type=float, default=120.0,
                   help="time limit for parsing one notation file (default: 120)")
    b.add_argument("--rebuild", action="store_true", help="forget what was read before and read everything")
    b.add_argument("--json", action="store_true", help="print the build report as JSON on stdout")
    b.set_defaults(func=run_build)
    s = groups.add_parser("stats", help="counts per source, composer, epoch and split; label distributions",
                          description="Describe a built corpus; --chart writes a PNG of the main distributions.")
    s.add_argument("name", nargs="?", default="default", help="corpus name (default: default)")
    s.add_argument("--json", action="store_true", help="print every figure as JSON on stdout")
    s.add_argument("--chart", type=Path, metavar="PNG", help="write a chart of the distributions")
    s.set_defaults(func=run_stats)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def run_build(args: argparse.Namespace) -> int:
    config = BuildConfig(name=args.name, sources=tuple(args.source or ["music21"]), workers=args.workers,
                         limit=args.limit, timeout_s=args.timeout_s, rebuild=args.rebuild)
    report = build_corpus(config, progress=ProgressBar(f"corpus {args.name}"))
    if args.json:
        emit_json(report)
        return 0
    d = report["dedupe"]
    print(f"corpus {report['name']}: {report['works_ok']:,} works ({report['notes']:,} notes), "
          f"{report['works_failed']:,} failed, in {report['wall_s']:.0f} s "
          f"({report['works_read_now']:,} read now, {report['works_cached']:,} cached)")
    print(f"  duplicates: {d['duplicate_groups']:,} groups holding {d['works_in_duplicate_groups']:,} works; "
          f"splits {d['split_counts']}; groups crossing splits: {d['groups_crossing_splits']}")
    if report["failures_by_kind"]:
        print("  failures: " + ", ".join(f"{k} {v}" for k, v in report["failures_by_kind"].items()))
    print(f"  in {report['folder']}")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    store = CorpusStore(args.name)
    stats = corpus_stats(store)
    if args.chart:
        stats["chart"] = str(stats_chart(stats, args.chart))
    if args.json:
        emit_json(stats)
        return 0
    print(f"corpus {stats['name']}: {stats['works']:,} works, {stats['notes']:,} notes, {stats['failed']:,} failed")
    for title, key in (("sources", "by_source"), ("epochs", "by_epoch"), ("splits", "by_split"),
                       ("composers", "by_composer")):
        items = list(stats[key].items())[:12]
        print(f"  {title}: " + ", ".join(f"{k} {v:,}" for k, v in items))
    print(f"  duplicate groups: {stats['duplicate_groups']:,}; crossing splits: {stats['groups_crossing_splits']}")
    for name in ("ensemble", "form", "meter", "mode", "density", "mood"):
        items = list(stats["labels"].get(name, {}).items())[:8]
        print(f"  {name}: " + ", ".join(f"{k} {v:,}" for k, v in items))
    if args.chart:
        print(f"  chart: {stats['chart']}")
    return 0
