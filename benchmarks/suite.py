"""The whole benchmark suite, as ``cadenza bench`` runs it, writing into benchmarks/results/bench by default.

    python -m benchmarks.suite [--quick] [--only nll,control,originality,quality,speed] [--model DIR]
                               [--corpus NAME] [--out benchmarks/results/bench]

The same as ``cadenza bench`` (see :mod:`cadenza.lab.suite`): results.json, REPORT.md and PNG plots.
"""

from __future__ import annotations

import sys

from cadenza.cli import main as cadenza

OUT = "benchmarks/results/bench"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--out" not in args and not any(a.startswith("--out=") for a in args):
        args += ["--out", OUT]
    return cadenza(["bench", *args])


if __name__ == "__main__":
    raise SystemExit(main())
