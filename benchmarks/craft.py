"""Craft benchmark: how Cadenza's pieces are written (voice leading, harmony, cadences, melody, texture, motifs,
endings) per ensemble, against the openings of real works of the same style.

    python -m benchmarks.craft [--seeds 8] [--real 24] [--bars 16] [--ensembles satb,piano] [--mood tense]
                               [--checkpoint DIR] [--datasets DIR] [--out benchmarks/results/craft.json]

Writes the results and one engraved page per ensemble (``craft/craft-<ensemble>.png`` beside the results; with a
mood ``craft-<mood>/``). See
:mod:`cadenza.lab.craft`; ``cadenza bench --only craft`` runs the same section inside the suite's report.
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
from cadenza.lab.craft import ENSEMBLES, CraftBenchConfig, run, summary_lines

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "craft.json"
log = logging.getLogger("craft_bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=8, help="pieces per ensemble")
    parser.add_argument("--real", type=int, default=24, help="real works per ensemble")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--ensembles", default=",".join(ENSEMBLES))
    parser.add_argument("--checkpoint", help="model folder (default: the shipped default model)")
    parser.add_argument("--datasets", help="the shared datasets folder (default: found beside the working directory)")
    parser.add_argument("--mood", help="a mood asked of every piece (tense, joyful, sad, calm; default: none)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("cadenza").setLevel(logging.ERROR)
    config = CraftBenchConfig(ensembles=tuple(e.strip() for e in args.ensembles.split(",") if e.strip()),
                              seeds=args.seeds, bars=args.bars, real_per_ensemble=args.real,
                              checkpoint=args.checkpoint, datasets=args.datasets, mood=args.mood,
                              pages=str(args.out.parent / ("craft" if args.mood is None else f"craft-{args.mood}")))
    result = run(config, lambda d, t: log.info("craft: %d/%d", d, t))
    report = {"benchmark": "craft", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "command": "python -m benchmarks.craft " + " ".join(sys.argv[1:] if argv is None else argv), **result}
    atomic_write_bytes(args.out, (json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n").encode())
    for line in summary_lines(result):
        log.info("%s", line)
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
