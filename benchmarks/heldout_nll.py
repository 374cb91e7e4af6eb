"""Held-out NLL per note of a model against the variable-order n-gram baseline, on a corpus' test split,
overall and per source and per epoch (the default model must beat the baseline by at least 15%).

    python -m benchmarks.heldout_nll [--corpus default] [--checkpoint DIR] [--orders 3,4,6] [--limit N]
                                     [--train-limit N]

Both models score the same event sequences, exactly, in nats: every step of every test work after its bos
(parts, bars, notes, end). The n-gram is fitted on the corpus' train split; its order is chosen on the valid
split. The transformer is scored twice: with no labels (what the n-gram sees) and with the work's labels
(how Cadenza composes: labels are the request). Writes benchmarks/results/heldout_nll.json. The measurement
is :func:`cadenza.lab.nll.heldout_nll` (also run by ``cadenza bench --only nll``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from benchmarks.common import machine
from cadenza.lab.nll import heldout_nll

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "heldout_nll.json"
log = logging.getLogger("heldout_nll")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="default")
    parser.add_argument("--checkpoint", help="model folder (default: the shipped default model)")
    parser.add_argument("--orders", default="2,3,4,5", help="n-gram orders to choose from on valid")
    parser.add_argument("--limit", type=int, help="at most N works per split (a spread)")
    parser.add_argument("--train-limit", type=int, help="the n-gram learns from N train works (default all)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    def progress(done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            log.info("%d/%d test works scored", done, total)

    result = heldout_nll(args.corpus, args.checkpoint, map(int, args.orders.split(",")), args.limit,
                         args.train_limit, progress)
    report = {"benchmark": "heldout_nll", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "command": "python -m benchmarks.heldout_nll " + " ".join(sys.argv[1:] if argv is None else argv),
              **result}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for order, nll in result["ngram_valid_nll_per_note"].items():
        log.info("n-gram order %s: valid %.4f nats/note", order, nll)
    for name, row in result["table"].items():
        log.info("%-28s %5d works  n-gram %.3f  transformer %.3f (labels %.3f)  gain %.1f%%", name, row["works"],
                 row["ngram"], row["transformer_no_labels"], row["transformer_labels"], 100 * row["gain_vs_ngram"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
