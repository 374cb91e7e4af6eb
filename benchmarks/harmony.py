"""Harmony benchmark: listen's chord per beat against the DCML corpora's human Roman-numeral annotations.

    python -m benchmarks.harmony [--per-corpus 6] [--datasets DIR] [--out benchmarks/results/harmony.json]

See :mod:`cadenza.lab.harmony` for what is compared and how.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from benchmarks.common import machine
from cadenza.corpus.sources import find_datasets
from cadenza.files import atomic_write_bytes
from cadenza.lab.harmony import run

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "harmony.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-corpus", type=int, default=6, help="movements per DCML corpus")
    parser.add_argument("--datasets", type=Path, help="the shared datasets folder (default: found beside the checkout)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("cadenza").setLevel(logging.ERROR)
    datasets = args.datasets or find_datasets()
    root = datasets / "classical" / "dcml-piano" if datasets else None
    if root is None or not root.is_dir():
        print("harmony benchmark: ../shared/datasets/classical/dcml-piano is not here; skipped", file=sys.stderr)
        return 0
    started = time.time()
    result = run(root, args.per_corpus)
    result.update(command=f"python -m benchmarks.harmony --per-corpus {args.per_corpus}",
                  wall_s=round(time.time() - started, 1), machine=machine())
    atomic_write_bytes(args.out, (json.dumps(result, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    a, d = result["all"], result["learned"]["all"]
    print(f"{result['movements']} movements, {a['beats']:,} labelled beats; the learned networks: root "
          f"{d['root_accuracy']:.1%} (goal 80%), Roman numeral {d['roman_accuracy']:.1%} (goal 60%); the template "
          f"matching: root {a['root_accuracy']:.1%}, Roman numeral {a['roman_accuracy']:.1%}; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
