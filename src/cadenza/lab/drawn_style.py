"""A style drawn for a request that names none (:mod:`cadenza.compose.style_epoch`), measured: the same requests
(an ensemble, 16 bars, even seeds asking a key and odd ones leaving it open, as the craft benchmark asks) composed
with the style drawn and without, each judged by the craft benchmark's measures against the real works of its
ensemble (the spreads in ``benchmarks/results/craft.json``), by the ear's own counts (faults kept, attempts) and by
the time taken.

    python -m benchmarks.drawn_style [--ensembles string-quartet,piano,satb] [--seeds 16]

Per ensemble and arm: the share of measures whose median over the pieces lies inside the real p10-p90 (the craft
benchmark's headline), the mean over pieces of the share of a piece's own measures inside it (the tails: a dull
piece among lively ones), the planned cadences heard, the ear's faults and attempts per piece, the styles drawn
and the median seconds a piece. Results: ``benchmarks/results/drawn_style.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.files import atomic_write_bytes
from cadenza.lab.craft import KEYS, ending_key, planned_heard
from cadenza.lab.speed import describe_machine
from cadenza.listen.craft import craft

RESULTS = Path("benchmarks/results/drawn_style.json")
CRAFT_RESULTS = Path("benchmarks/results/craft.json")
log = logging.getLogger(__name__)


def compose_arm(ensemble: str, seeds: int, draw: bool) -> list[dict[str, Any]]:
    """``seeds`` pieces of 16 bars for ``ensemble`` with no style asked, the style drawn or not."""
    from cadenza.compose import ComposeRequest
    from cadenza.compose.request import resolve

    generate = importlib.import_module("cadenza.compose.generate")  # (cadenza.compose.compose is the function)
    pieces = []
    for i in range(seeds):
        key = KEYS[(i // 2) % len(KEYS)] if i % 2 == 0 else None
        request = ComposeRequest(ensemble=ensemble, key=key, bars=16, seed=1 + i)
        start = time.perf_counter()
        made = generate.compose(request, draw_style=draw)
        seconds = time.perf_counter() - start
        asked = resolve(request).key if key else None
        judged = (asked.tonic_pc, asked.mode) if asked else ending_key(made.score)
        plan = made.report["plan"]
        pieces.append({"seed": 1 + i, "style": plan["labels"].get("epoch"), "seconds": seconds,
                       "measures": craft(made.score, judged), "ear": made.report["ear"],
                       "cadences_heard": planned_heard(plan.get("cadences"), made.report["heard"].get("cadences"))})
    return pieces


def judge(pieces: list[dict[str, Any]], real: dict[str, Any]) -> dict[str, Any]:
    """An arm's figures against the real spreads ``real`` (measure -> its craft.json row)."""
    inside, outside = [], []
    for name, row in real.items():
        values = [p["measures"][name] for p in pieces if p["measures"].get(name) is not None]
        if not values:
            continue
        held = row["real"]["p10"] <= float(np.median(values)) <= row["real"]["p90"]
        inside.append(held)
        if not held:
            outside.append(name)
    per_piece = [np.mean([row["real"]["p10"] <= p["measures"][name] <= row["real"]["p90"]
                          for name, row in real.items() if p["measures"].get(name) is not None]) for p in pieces]
    heard = [p["cadences_heard"] for p in pieces if p["cadences_heard"] is not None]
    return {"pieces": len(pieces), "medians_inside": round(float(np.mean(inside)), 3),
            "piece_measures_inside_mean": round(float(np.mean(per_piece)), 3), "outside": outside,
            "planned_cadences_heard": round(float(np.mean(heard)), 3) if heard else None,
            "ear_faults_per_piece": round(float(np.mean([p["ear"]["faults"] for p in pieces])), 3),
            "ear_attempts_per_piece": round(float(np.mean([p["ear"]["attempts"] for p in pieces])), 3),
            "ear_phrases_per_piece": round(float(np.mean([p["ear"]["phrases"] for p in pieces])), 3),
            "styles": dict(Counter(str(p["style"]) for p in pieces)),
            "seconds_median": round(float(np.median([p["seconds"] for p in pieces])), 3)}


def run(ensembles: list[str], seeds: int) -> dict[str, Any]:
    """Both arms for each ensemble (see the module docstring)."""
    spreads = json.loads(CRAFT_RESULTS.read_text(encoding="utf-8"))["ensembles"]
    out: dict[str, Any] = {}
    for ensemble in ensembles:
        real = spreads[ensemble]["measures"]
        out[ensemble] = {"real": spreads[ensemble]["real_source"],
                         "drawn": judge(compose_arm(ensemble, seeds, True), real),
                         "model's own": judge(compose_arm(ensemble, seeds, False), real)}
        log.info("%s: %s", ensemble, json.dumps(out[ensemble]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ensembles", default="string-quartet,piano,satb")
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.perf_counter()
    ensembles = run(args.ensembles.split(","), args.seeds)
    result = {"benchmark": "drawn_style", "date": time.strftime("%Y-%m-%d %H:%M:%S"),
              "command": f"python -m benchmarks.drawn_style --ensembles {args.ensembles} --seeds {args.seeds}",
              "machine": describe_machine(), "seconds": round(time.perf_counter() - started, 1),
              "ensembles": ensembles}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out, (json.dumps(result, indent=1) + "\n").encode("utf-8"))
    log.info("wrote %s", args.out)
    return 0
