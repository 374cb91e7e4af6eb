"""The polyphonic-music benchmark table: test NLL in nats per frame of Cadenza's benchmark checkpoints beside
the published results and the n-gram baseline, one results file per benchmark.

    python -m benchmarks.nll_table [--benchmarks jsb,nottingham] [--checkpoint jsb=DIR ...] [--ngram-order 4]

Each checkpoint is scored on the official valid and test splits exactly as ``cadenza eval nll`` does
(renormalised over the canonical roll sequences); by default the checkpoints that ship with Cadenza
(``src/cadenza/models/benchmarks/<name>``: a model, or an ensemble scored as an exact mixture). The
variable-order n-gram over the same event steps is fitted on the train split and scored the same way.
Writes benchmarks/results/nll_<name>.json. The measurement is :func:`cadenza.lab.nll.boulanger_row`
(``cadenza bench --only nll`` gives the whole table in one report). How long a user's re-check of a row
takes (``cadenza eval nll --benchmark NAME --json``) is ``python -m benchmarks.nll_recheck``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from benchmarks.common import machine
from cadenza.lab.boulanger import BENCHMARKS, shipped_checkpoint
from cadenza.lab.mixture import read_scorer_config
from cadenza.lab.nll import boulanger_row

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


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
            read_scorer_config(checkpoint)
        except Exception as exc:  # noqa: BLE001 - report and go on to the next benchmark
            print(f"{name}: no checkpoint ({exc})")
            continue
        row = boulanger_row(name, checkpoint, args.ngram_order)
        result = {"benchmark": f"nll_{name}", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
                  "command": f"python -m benchmarks.nll_table --benchmarks {name}",
                  "recheck": f"cadenza eval nll --benchmark {name} --json",
                  **{k: v for k, v in row.items() if k not in ("status", "limit")}}
        (RESULTS / f"nll_{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        best = min(result["published"].values()) if result["published"] else math.nan
        print(f"{name}: test {result['test']['nll_per_frame']:.3f} nats/frame (valid "
              f"{result['valid']['nll_per_frame']:.3f}); best published {best:.2f}; n-gram "
              f"{result['ngram_baseline']['test_nll_per_frame']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
