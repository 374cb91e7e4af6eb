"""Cadence benchmark: listen's cadences against the cadences the DCML annotators marked (PAC, IAC, HC, DC, PC).

    python -m benchmarks.cadences [--per-corpus 12] [--datasets DIR] [--out benchmarks/results/cadences.json]

See :mod:`cadenza.lab.cadences` for what is compared and how.
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
from cadenza.lab.cadences import run

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "cadences.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-corpus", type=int, default=12, help="movements per DCML corpus (default 12)")
    parser.add_argument("--datasets", type=Path, help="the shared datasets folder (default: found beside the checkout)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("cadenza").setLevel(logging.ERROR)
    datasets = args.datasets or find_datasets()
    root = datasets / "classical" / "dcml-piano" if datasets else None
    if root is None or not root.is_dir():
        print("cadence benchmark: ../shared/datasets/classical/dcml-piano is not here; skipped", file=sys.stderr)
        return 0
    started = time.time()
    result = run(root, args.per_corpus)
    result.update(command=f"python -m benchmarks.cadences --per-corpus {args.per_corpus}",
                  wall_s=round(time.time() - started, 1), machine=machine())
    atomic_write_bytes(args.out, (json.dumps(result, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    for name in ("listen", "rule_on_annotators_chords"):
        a = result[name]["all"]
        print(f"{name}: {a['movements']} movements, {a['marked']} marked cadences; precision {a['precision']:.1%}, "
              f"recall {a['recall']:.1%}, kinds agree {a['kind_agreement']:.1%}; {a['heard_per_bar']:.3f} heard and "
              f"{a['marked_per_bar']:.3f} marked per bar")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
