"""Compose benchmark: control (adherence per label with goals and chance), quality against real held-out works
of each epoch, and speed (music seconds per wall second, first-note latency, model load).

    python -m benchmarks.compose [--seeds 3] [--candidates 1] [--guidance 1] [--bars 8] [--axes key,meter,...]
                                 [--corpus default]
                                 [--checkpoint DIR] [--out benchmarks/results/compose.json]

See :mod:`cadenza.lab.compose` for what is measured and how.
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
from cadenza.lab.compose import AXES, ComposeBenchConfig, run

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "compose.json"
log = logging.getLogger("compose_bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="pieces per request (default 3)")
    parser.add_argument("--candidates", type=int, default=1, help="best of K by listening (default 1)")
    parser.add_argument("--guidance", type=float, default=1.0, help="classifier-free guidance (default 1: off)")
    parser.add_argument("--bars", type=int, default=8, help="bars per piece in the control grid (default 8)")
    parser.add_argument("--axes", default=",".join(AXES),
                        help=f"comma-separated, of {','.join(AXES)}; none: only the speed figures")
    parser.add_argument("--corpus", default="default", help="corpus whose test split gives the real works")
    parser.add_argument("--checkpoint", help="model folder (default: the shipped default model)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    axes = tuple(a.strip() for a in args.axes.split(",") if a.strip() and a.strip() != "none")  # none: speed only
    unknown = [a for a in axes if a not in AXES]
    if unknown:
        parser.error(f"unknown axis {unknown[0]!r}")
    config = ComposeBenchConfig(seeds=args.seeds, candidates=args.candidates, guidance=args.guidance,
                                bars=args.bars, axes=axes, corpus=args.corpus, checkpoint=args.checkpoint)

    def progress(done: int, total: int) -> None:
        if done % 10 == 0 or done == total:
            log.info("%d/%d pieces", done, total)

    result = run(config, progress)
    report = {"benchmark": "compose", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "command": "python -m benchmarks.compose " + " ".join(sys.argv[1:] if argv is None else argv),
              "config": config.__dict__, **result}
    atomic_write_bytes(args.out, (json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n").encode())
    for axis, row in result["control"].items():
        goal = f"goal {row['goal']:.0%}" if row.get("goal") else "no goal"
        log.info("%-9s %5.1f%% heard as asked (%s, chance %.0f%%, %d pieces)", axis, 100 * row["share"], goal,
                 100 * row["chance"], row["pieces"])
    log.info("quality: generated medians inside the real 10-90%% range: %s", result["quality"]["inside_share"])
    log.info("speed: %s", json.dumps(result["speed"]))
    log.info("wrote %s in %.0f s", args.out, result["seconds"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
