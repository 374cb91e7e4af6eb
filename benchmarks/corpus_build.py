"""Building the whole bundled corpus: wall time on this machine, works read and failed (by reason), and a
cached re-run.

    python -m benchmarks.corpus_build [--workers N] [--limit N] [--home DIR]

Builds into a fresh corpus home (a temporary folder unless --home is given), then builds again to time
the cached re-run. Writes benchmarks/results/corpus_build.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import machine
from cadenza.cli.progress import ProgressBar
from cadenza.corpus import BuildConfig, CorpusStore, build_corpus, corpus_stats

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "corpus_build.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp)
        config = BuildConfig(name="bench", sources=("music21",), workers=args.workers, limit=args.limit)
        first = build_corpus(config, progress=ProgressBar("full build"), home=home)
        start = time.time()
        second = build_corpus(config, home=home)
        rerun_s = time.time() - start
        stats = corpus_stats(CorpusStore("bench", home))
        failures = CorpusStore("bench", home).failures()
    report = {
        "benchmark": "corpus_build",
        "date": time.strftime("%Y-%m-%d"),
        "command": "python -m benchmarks.corpus_build " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "full_build": first,
        "cached_rerun_s": round(rerun_s, 1),
        "cached_rerun_read": second["works_read_now"],
        "failure_examples": [{"id": f["id"], "kind": f.get("kind"), "reason": f.get("reason", "")[:160]}
                             for f in failures[:25]],
        "stats": {k: stats[k] for k in ("works", "notes", "by_source", "by_epoch", "by_split", "by_composer",
                                        "duplicate_groups", "groups_crossing_splits")},
        "label_distributions": {k: stats["labels"][k] for k in ("ensemble", "form", "meter", "mode", "density",
                                                                 "texture", "mood", "tempo_class", "register")},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"full build: {first['works_ok']:,} works ok, {first['works_failed']:,} failed "
          f"{first['failures_by_kind']}, {first['wall_s']:.0f} s with {args.workers} workers; "
          f"cached re-run {rerun_s:.1f} s; written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
