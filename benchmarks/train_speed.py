"""Training throughput on this machine: notes per second for each model preset (the default model needs
at least 1,000 notes/s to train in 2.5 h on 2 CPU cores).

    python -m benchmarks.train_speed [--corpus NAME] [--steps N] [--presets tiny,small,base]

Trains each preset for a few steps on the corpus' train split (batch 16, full context) after two warm-up
steps, and counts the notes in the batches it learned from. Writes benchmarks/results/train_speed.json. The
measurement is :func:`cadenza.bench.speed.train_speed` (also run by ``cadenza bench --only speed``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from benchmarks.common import machine
from cadenza.bench.speed import train_data, train_speed
from cadenza.model.transformer import PRESETS

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "train_speed.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="default")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--presets", default="tiny,small,base")
    parser.add_argument("--threads", default="0", help="comma-separated thread counts (0: torch's default)")
    args = parser.parse_args(argv)
    data, source = train_data(args.corpus)
    shapes = {preset: dict(PRESETS[preset]) for preset in args.presets.split(",")}
    rows = train_speed(shapes, data, args.steps, threads=[int(n) for n in args.threads.split(",")])
    for row in rows:
        print(row)
    report = {"benchmark": "train_speed", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "torch": torch.__version__, "threads": torch.get_num_threads(), "data": source,
              "command": f"python -m benchmarks.train_speed --corpus {args.corpus} --steps {args.steps}",
              "results": rows}
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
