"""Cadence benchmark: listen's cadences against the cadences the DCML annotators marked (PAC, IAC, HC, DC, PC).

    python -m benchmarks.cadences [--per-corpus 12] [--datasets DIR] [--out benchmarks/results/cadences.json]

See :mod:`cadenza.lab.cadences` for what is compared and how.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from benchmarks.common import dcml_benchmark
from cadenza.lab.cadences import run

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "cadences.json"


def _summary(result: dict[str, Any]) -> str:
    lines = []
    for name in ("listen", "rule_on_annotators_chords"):
        a = result[name]["all"]
        lines.append(f"{name}: {a['movements']} movements, {a['marked']} marked cadences; precision "
                     f"{a['precision']:.1%}, recall {a['recall']:.1%}, kinds agree {a['kind_agreement']:.1%}; "
                     f"{a['heard_per_bar']:.3f} heard and {a['marked_per_bar']:.3f} marked per bar")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return dcml_benchmark(argv, __doc__.split("\n\n")[0], "benchmarks.cadences", 12, RESULTS, run, _summary)


if __name__ == "__main__":
    sys.exit(main())
