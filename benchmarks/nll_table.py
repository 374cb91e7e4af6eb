"""The polyphonic-music benchmark table: test NLL in nats per frame of Cadenza's benchmark checkpoints beside
the published results and the n-gram baseline, one results file per benchmark.

    python -m benchmarks.nll_table [--benchmarks jsb,nottingham] [--checkpoint jsb=DIR ...] [--ngram-order 4]

Each checkpoint is scored on the official valid and test splits exactly as ``cadenza eval nll`` does
(renormalised over the canonical roll sequences); by default the checkpoints that ship with Cadenza
(``src/cadenza/models/benchmarks/<name>``). The variable-order n-gram over the same event steps is fitted
on the train split and scored the same way. Writes benchmarks/results/nll_<name>.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

from benchmarks.common import machine
from cadenza.model.checkpoint import load_checkpoint, read_config
from cadenza.tokens import field_sizes
from cadenza.train.benchmark import (
    BENCHMARKS,
    PUBLISHED,
    benchmark_steps,
    frame_nll,
    load_rolls,
    shipped_checkpoint,
)
from cadenza.train.ngram import StepNgram

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def ngram_frame_nll(name: str, order: int) -> float:
    """The n-gram baseline's test NLL per frame (raw step probabilities: an upper bound)."""
    model = StepNgram(order, field_sizes()).fit(benchmark_steps(name, "train"))
    total = sum(model.nll(s) for s in benchmark_steps(name, "test"))
    return total / sum(len(r) for r in load_rolls(name)["test"])


def row(name: str, checkpoint: Path, ngram_order: int) -> dict[str, Any]:
    started = time.time()
    model, config = load_checkpoint(checkpoint)
    test = frame_nll(model, name, "test")
    valid = frame_nll(model, name, "valid")
    training = {k: v for k, v in config.get("training", {}).items() if k != "history"}
    return {
        "benchmark": f"nll_{name}", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
        "command": f"python -m benchmarks.nll_table --benchmarks {name}",
        "recheck": f"cadenza eval nll --benchmark {name} --json",
        "checkpoint": str(checkpoint), "parameters": model.parameter_count(), "test": test,
        "valid": valid, "published": {k: v.get(name) for k, v in PUBLISHED.items() if v.get(name) is not None},
        "ngram_baseline": {"order": ngram_order, "test_nll_per_frame": round(ngram_frame_nll(name, ngram_order), 4)},
        "training": training, "metric": "test NLL in nats per frame, the model renormalised over canonical "
        "roll sequences (exact for the roll)",
        "seconds": round(time.time() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmarks", default=",".join(BENCHMARKS))
    parser.add_argument("--checkpoint", action="append", default=[], metavar="NAME=DIR")
    parser.add_argument("--ngram-order", type=int, default=4)
    args = parser.parse_args(argv)
    given = dict(item.split("=", 1) for item in args.checkpoint)
    for name in args.benchmarks.split(","):
        checkpoint = Path(given.get(name) or shipped_checkpoint(name))
        try:
            read_config(checkpoint)
        except Exception as exc:  # noqa: BLE001 - report and go on to the next benchmark
            print(f"{name}: no checkpoint ({exc})")
            continue
        result = row(name, checkpoint, args.ngram_order)
        (RESULTS / f"nll_{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        best = min(result["published"].values()) if result["published"] else math.nan
        print(f"{name}: test {result['test']['nll_per_frame']:.3f} nats/frame (valid "
              f"{result['valid']['nll_per_frame']:.3f}); best published {best:.2f}; n-gram "
              f"{result['ngram_baseline']['test_nll_per_frame']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
