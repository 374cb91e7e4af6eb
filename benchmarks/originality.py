"""Originality benchmark: the share of generated pieces whose longest run shared with a training work
exceeds the human 90th percentile, before and after the composer's guard.

    python -m benchmarks.originality [--pieces 200] [--bars 16] [--strict 9] [--checkpoint DIR]
                                     [--out benchmarks/results/originality.json]

See :mod:`cadenza.lab.originality`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from benchmarks.common import machine
from cadenza.files import atomic_write_bytes
from cadenza.lab.originality import OriginalityBenchConfig, run

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "originality.json"
log = logging.getLogger("originality_bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pieces", type=int, default=200)
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--strict", type=int, default=9, metavar="NOTES",
                        help="also run the guard at this stricter threshold (default 9: the human median), "
                        "to show it at work; 0 to skip")
    parser.add_argument("--checkpoint", help="model folder (default: the shipped default model)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("cadenza").setLevel(logging.WARNING)
    config = OriginalityBenchConfig(pieces=args.pieces, bars=args.bars, checkpoint=args.checkpoint)

    def progress(done: int, total: int) -> None:
        if done % 20 == 0 or done == total:
            log.info("%d/%d pieces", done, total)

    result = run(config, progress)
    if args.strict:
        from dataclasses import replace

        strict = run(replace(config, max_shared_notes=args.strict), progress)
        result["strict_guard"] = {k: v for k, v in strict.items() if k != "rows"}
        log.info("strict guard (%d notes): copied before %.1f%%, after %.1f%%, %d resamplings", args.strict,
                 100 * strict["copied_share_before_guard"], 100 * strict["copied_share_after_guard"],
                 strict["resamplings_total"])
    report = {"benchmark": "originality", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "command": "python -m benchmarks.originality " + " ".join(sys.argv[1:] if argv is None else argv),
              "config": config.__dict__, **result}
    atomic_write_bytes(args.out, (json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n").encode())
    log.info("copied before the guard: %.1f%%, after: %.1f%% (%d pieces, %d resamplings, longest run median %s, "
             "max %s notes)", 100 * result["copied_share_before_guard"], 100 * result["copied_share_after_guard"],
             result["pieces"], result["resamplings_total"], result["longest_run_notes"]["median"],
             result["longest_run_notes"]["max"])
    log.info("wrote %s in %.0f s", args.out, result["seconds"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
