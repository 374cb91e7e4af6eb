"""Fit the ear's critic (``src/cadenza/listen/models/critic.json``): per ensemble, phrases of real works of its
style against phrases the shipped model composes; held-out accuracy in ``benchmarks/results/critic.json``.

    python -m benchmarks.fit_critic [--datasets DIR] [--real 24] [--pieces 24] [--ensembles satb,piano]
                                    [--cache DIR] [--dry-run]

See :mod:`cadenza.lab.critic`. Run it again after the default model changes (the critic learns its samples).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from benchmarks.common import machine
from cadenza.lab.craft import ENSEMBLES
from cadenza.lab.critic import CriticFitConfig, run
from cadenza.score.write import atomic_write_bytes

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "src" / "cadenza" / "listen" / "models" / "critic.json"
RESULTS = ROOT / "benchmarks" / "results" / "critic.json"
log = logging.getLogger("fit_critic")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", help="the shared datasets folder (default: found beside the working directory)")
    parser.add_argument("--real", type=int, default=24, help="real works per ensemble")
    parser.add_argument("--pieces", type=int, default=24, help="pieces composed per ensemble")
    parser.add_argument("--ensembles", default=",".join(ENSEMBLES))
    parser.add_argument("--checkpoint", help="model folder (default: the shipped default model)")
    parser.add_argument("--cache", type=Path, help="keep each ensemble's phrase features here for refits")
    parser.add_argument("--dry-run", action="store_true", help="report the figures, leave the shipped critic")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("cadenza").setLevel(logging.ERROR)
    logging.getLogger("cadenza.lab.critic").setLevel(logging.INFO)
    config = CriticFitConfig(ensembles=tuple(e.strip() for e in args.ensembles.split(",") if e.strip()),
                             real_works=args.real, pieces=args.pieces, checkpoint=args.checkpoint,
                             datasets=args.datasets)
    model, results = run(config, lambda what, d, t: log.info("critic %s %d/%d", what, d, t), args.cache)
    command = "python -m benchmarks.fit_critic " + " ".join(sys.argv[1:] if argv is None else argv)
    report = {"benchmark": "critic", "date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": command,
              **results}
    atomic_write_bytes(RESULTS, (json.dumps(report, indent=1, ensure_ascii=False) + "\n").encode())
    if not args.dry_run:
        model["command"] = command
        atomic_write_bytes(MODEL, (json.dumps(model, indent=1) + "\n").encode())
        log.info("wrote %s", MODEL)
    log.info("wrote %s", RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
