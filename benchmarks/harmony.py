"""Harmony benchmark: listen's chord per beat against the DCML corpora's human Roman-numeral annotations.

    python -m benchmarks.harmony [--per-corpus 6] [--datasets DIR] [--out benchmarks/results/harmony.json]

See :mod:`cadenza.lab.harmony` for what is compared and how.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from benchmarks.common import dcml_benchmark
from cadenza.lab.harmony import run

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "harmony.json"


def _summary(result: dict[str, Any]) -> str:
    a, d = result["all"], result["learned"]["all"]
    return (f"{result['movements']} movements, {a['beats']:,} labelled beats; the learned networks: root "
            f"{d['root_accuracy']:.1%} (goal 80%), Roman numeral {d['roman_accuracy']:.1%} (goal 60%); the template "
            f"matching: root {a['root_accuracy']:.1%}, Roman numeral {a['roman_accuracy']:.1%}")


def main(argv: list[str] | None = None) -> int:
    return dcml_benchmark(argv, __doc__.split("\n\n")[0], "benchmarks.harmony", 6, RESULTS, run, _summary)


if __name__ == "__main__":
    sys.exit(main())
