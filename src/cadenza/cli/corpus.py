"""``cadenza corpus build|stats|index``: read, label, dedupe and split a corpus; describe it; build the
originality index of one of its splits."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from cadenza.cli.common import emit_json, output_folder
from cadenza.cli.progress import ProgressBar
from cadenza.corpus import BuildConfig, CorpusStore, build_corpus, corpus_home, corpus_stats, stats_chart
from cadenza.corpus.classical import FOLDERS
from cadenza.corpus.sources import DATASETS
from cadenza.errors import UsageError


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
        f"dataset in ../shared/datasets: {', '.join(DATASETS)}, and the classical pack (classical, or one of "
        f"its folders: {', '.join(FOLDERS)}).",
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
    b.add_argument("--licence", default="any", choices=("any", "permissive"),
                   help="permissive: keep only sources under CC0, public-domain, MIT or BSD terms (the OpenScore "
                   "folders, music21, POP909) and say what was left out (default: any)")
    b.add_argument("--json", action="store_true", help="print the build report as JSON on stdout")
    b.set_defaults(func=run_build)
    s = groups.add_parser("stats", help="counts per source, composer, epoch and split; label distributions",
                          description="Describe a built corpus; --chart writes a PNG of the main distributions.")
    s.add_argument("name", nargs="?", default="default", help="corpus name (default: default)")
    s.add_argument("--json", action="store_true", help="print every figure as JSON on stdout")
    s.add_argument("--chart", type=output_folder, metavar="PNG", help="write a chart of the distributions")
    s.set_defaults(func=run_stats)
    i = groups.add_parser(
        "index", help="build the originality index of a corpus split (or a benchmark's training rolls)",
        description="Fingerprint every work a model trained on the split sees (interval and relative-duration "
        "symbols of each part's top and bass lines; a harmony/texture code per bar), calibrate the 'copied' "
        "threshold on a held-out split (the 90th percentile of held-out human pieces' longest shared runs), "
        "and write the compact index (default: originality-SPLIT.npz in the corpus folder; give --out MODEL_DIR "
        "to ship it beside a model trained on that split).",
        epilog="Example: cadenza corpus index default --out src/cadenza/models/default",
    )
    i.add_argument("name", nargs="?", default="default", help="corpus name (default: default)")
    i.add_argument("--benchmark", choices=("jsb", "nottingham"),
                   help="index a benchmark's piano rolls from ../shared/datasets instead of a corpus")
    i.add_argument("--split", default="train", help="the split to index (default: train)")
    i.add_argument("--heldout", default="test", help="the split to calibrate on (default: test; 'none' to skip)")
    i.add_argument("--out", type=output_folder, metavar="PATH", help="a model folder or an .npz file to write")
    i.add_argument("--json", action="store_true", help="print what was built as JSON on stdout")
    i.set_defaults(func=run_index)
    t = groups.add_parser(
        "steps", help="write a corpus's training and validation steps to a folder (to train on another machine)",
        description="Encode the train and valid splits as event steps (train.npz, valid.npz, steps.json: "
        "compressed, usually a tenth of the corpus) for 'cadenza train --steps DIR' on a machine, such as a "
        "GPU server, that holds no corpus.",
        epilog="Example: cadenza corpus steps v2 --out steps-v2 && cadenza train --steps steps-v2 --device cuda",
    )
    t.add_argument("name", nargs="?", default="default", help="corpus name (default: default)")
    t.add_argument("--out", type=output_folder, required=True, metavar="DIR", help="the folder to write")
    t.set_defaults(func=run_steps)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def run_steps(args: argparse.Namespace) -> int:
    from cadenza.train.data import write_steps_folder

    store = CorpusStore(args.name)
    if not store.exists():
        raise UsageError(f"no corpus named {args.name!r}: build it with cadenza corpus build --name {args.name}")
    info = write_steps_folder(store, args.out)
    print(f"corpus {args.name}: train {info['train']['works']:,} works ({info['train']['notes']:,} notes), "
          f"valid {info['valid']['works']:,} works, written to {args.out}")
    return 0


def run_build(args: argparse.Namespace) -> int:
    config = BuildConfig(name=args.name, sources=tuple(args.source or ["music21"]), workers=args.workers,
                         limit=args.limit, timeout_s=args.timeout_s, rebuild=args.rebuild,
                         licence=args.licence)
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
    for source, left in report.get("left_out_by_licence", {}).items():
        print(f"  left out (--licence permissive): {left['works']:,} works of {source} ({left['licence']})")
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
    print(f"  duplicate groups: {stats['duplicate_groups']:,} ({stats.get('encoding_groups') or 0} across sources); "
          f"crossing splits: {stats['groups_crossing_splits']}")
    print("  balance (train split, by style): " + ", ".join(
        f"{style} {row['notes_share']:.0%} of notes -> {row['drawn_share']:.0%} drawn"
        for style, row in stats["balance"].items()))
    for name in ("ensemble", "form", "meter", "mode", "density", "mood"):
        items = list(stats["labels"].get(name, {}).items())[:8]
        print(f"  {name}: " + ", ".join(f"{k} {v:,}" for k, v in items))
    if args.chart:
        print(f"  chart: {stats['chart']}")
    return 0


def run_index(args: argparse.Namespace) -> int:
    from cadenza.originality import save_index
    from cadenza.originality.calibrate import build_benchmark_index, build_corpus_index
    from cadenza.originality.check import corpus_index_path

    heldout = None if args.heldout.lower() == "none" else args.heldout
    if args.benchmark:
        if not args.out:
            raise UsageError("--benchmark needs --out (the benchmark model's folder or an .npz file)")
        index = build_benchmark_index(args.benchmark, args.split, heldout)
    else:
        index = build_corpus_index(args.name, args.split, heldout, progress=ProgressBar(f"index {args.name}"))
    path = save_index(index, args.out or corpus_index_path(args.name, args.split))
    cal = index.meta.get("calibration") or {}
    report: dict[str, Any] = {
        "index": str(path), "bytes": path.stat().st_size, "works": len(index.works), "notes": index.note_count,
        "built_from": index.meta.get("built_from"), "threshold_notes": index.thresholds(),
        "calibration": {k: ({n: x for n, x in v.items() if n != "values"} if isinstance(v, dict) else v)
                        for k, v in cal.items()},
    }
    if args.json:
        emit_json(report)
        return 0
    print(f"wrote {path} ({report['bytes'] / 1e6:.2f} MB): {report['works']:,} works, {report['notes']:,} line notes")
    for kind in ("top", "bass"):
        figures = cal.get(kind) or {}
        if figures.get("pieces"):
            print(f"  {kind} lines, {figures['pieces']:,} held-out pieces: longest shared run p50 {figures['p50']:g}, "
                  f"p90 {figures['p90']:g}, p99 {figures['p99']:g} notes; threshold {index.thresholds()[kind]}")
    return 0
