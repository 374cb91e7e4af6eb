"""Fit the meter table the composer plans with: ``src/cadenza/compose/models/meters.json``.

    python -m benchmarks.fit_meters [--corpus v2]

Data: the train split of a built corpus (default ``v2``): each work's epoch and ensemble labels and the meter
``listen`` heard (its first time signature). Counted per (epoch, ensemble), per epoch and per ensemble; meters
heard in fewer than :data:`MIN_SHARE` of a group's works, and "other" (no or an unusual signature), are left
out, and groups of fewer than :data:`MIN_WORKS` works are not kept. Deterministic; seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter, defaultdict
from pathlib import Path

from cadenza.corpus.store import CorpusStore
from cadenza.lab.fit import PACKAGE
from cadenza.listen.labels import METERS

OUT = PACKAGE / "compose" / "models" / "meters.json"
MIN_SHARE = 0.05  # a meter rarer than this in a group is left out of its table
MIN_WORKS = 30  # a group of fewer works keeps no table (the composer falls back to a wider group)


def fit(corpus: str) -> dict:
    groups: dict[str, Counter] = defaultdict(Counter)
    for row in CorpusStore(corpus).manifest():
        labels = row.get("labels") or {}
        meter, epoch, ensemble = labels.get("meter"), labels.get("epoch"), labels.get("ensemble")
        if row.get("split") != "train" or meter in (None, "other") or meter not in METERS:
            continue
        if epoch:
            groups[f"epoch={epoch}"][meter] += 1
        if ensemble:
            groups[f"ensemble={ensemble}"][meter] += 1
        if epoch and ensemble:
            groups[f"epoch={epoch}/ensemble={ensemble}"][meter] += 1
    tables = {}
    for name, counts in sorted(groups.items()):
        total = sum(counts.values())
        if total < MIN_WORKS:
            continue
        tables[name] = {meter: n for meter, n in counts.most_common() if n >= MIN_SHARE * total}
    return {"format": "cadenza-meters", "version": 1, "corpus": corpus,
            "made_by": f"python -m benchmarks.fit_meters --corpus {corpus}", "tables": tables}


def main(argv: list[str] | None = None) -> int:
    """Fit the meter table and write it (``--out``, default the shipped one); its tables go to the log."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="v2")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    model = fit(args.corpus)
    args.out.write_text(json.dumps(model, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for name, table in model["tables"].items():
        logging.info("%s: %s", name, table)
    logging.info("wrote %s", args.out)
    return 0
