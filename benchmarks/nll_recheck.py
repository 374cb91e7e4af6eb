"""How long re-checking a shipped benchmark figure takes: ``cadenza eval nll --benchmark NAME --json`` run
as a user runs it (a fresh process, one torch thread), several times, and the figure it gives against the
row in benchmarks/results/nll_<name>.json.

    python -m benchmarks.nll_recheck [--benchmarks nottingham,jsb] [--runs 3] [--baseline-src DIR]

Each run records its wall time, the CPU time of the process (user + system: what the run costs whatever the
machine's load) and the load average before and after; the result gives the medians. The goal (issue 19):
under 60 s for Nottingham on the 2 shared cores. ``--baseline-src`` times another source tree of Cadenza
too (``git archive <commit> src | tar -x -C DIR``: the ``src`` folder in DIR goes first on PYTHONPATH),
alternating with this one run by run so that both see the same load; its figures are checked the same way.
Writes benchmarks/results/nll_recheck.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import git_commit, machine
from cadenza.files import atomic_write_bytes

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
GOAL_S = 60.0  # issue 19: the Nottingham figure re-checked in under a minute on these cores


def one_run(name: str, source: Path | None = None) -> dict[str, Any]:
    """``cadenza eval nll --benchmark NAME --json`` in a fresh process on one thread (from ``source``'s src
    folder when given): wall and CPU seconds, load average before and after, the figure."""
    env = {**os.environ, "CADENZA_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if source is not None:
        env["PYTHONPATH"] = str(source / "src")
    else:
        env.pop("PYTHONPATH", None)
    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cadenza", "eval", "nll", "--benchmark", name, "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    wall_s = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{name}: cadenza eval nll failed: {done.stderr.strip().splitlines()[-1:]}")
    test = json.loads(done.stdout)["test"]
    return {"wall_s": round(wall_s, 2),
            "cpu_s": round(cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime, 2),
            "load1_before": round(load_before, 2), "load1_after": round(os.getloadavg()[0], 2),
            "nll_per_frame": test["nll_per_frame"], "nll_per_note": test["nll_per_note"]}


def summary(runs: list[dict[str, Any]], shipped: dict[str, Any] | None) -> dict[str, Any]:
    """Medians of the runs and the largest gap of their figures from the shipped row (nats per note)."""
    out: dict[str, Any] = {"median_wall_s": round(statistics.median(r["wall_s"] for r in runs), 1),
                           "median_cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 1),
                           "median_load1": round(statistics.median(r["load1_before"] for r in runs), 2),
                           "runs": runs}
    if shipped is not None:
        out["max_gap_from_row_nats_per_note"] = max(abs(r["nll_per_note"] - shipped["nll_per_note"]) for r in runs)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmarks", default="nottingham,jsb")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-src", type=Path, metavar="DIR",
                        help="another source tree (DIR/src) timed alternately, for a before/after ratio")
    parser.add_argument("--baseline-label", help="what the baseline tree is (e.g. 'commit 7db95aa'); default: DIR")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {
        "benchmark": "nll_recheck", "date": time.strftime("%Y-%m-%d"), "machine": machine(), "commit": git_commit(),
        "command": "python -m benchmarks.nll_recheck " + " ".join(argv if argv is not None else sys.argv[1:]),
        "measures": "cadenza eval nll --benchmark NAME --json in a fresh process, OMP_NUM_THREADS=1: wall and CPU "
                    "(user + system) seconds, 1-minute load average of the shared machine",
        "goal_s": GOAL_S, "benchmarks": {}}
    for name in args.benchmarks.split(","):
        row_file = RESULTS / f"nll_{name}.json"
        shipped = json.loads(row_file.read_text())["test"] if row_file.is_file() else None
        runs: dict[str, list[dict[str, Any]]] = {"this": [], "baseline": []}
        for i in range(args.runs):
            runs["this"].append(one_run(name))
            if args.baseline_src:
                runs["baseline"].append(one_run(name, args.baseline_src))
            print(f"{name} run {i + 1}: " + ", ".join(f"{k} {v[-1]['wall_s']:.1f} s wall, {v[-1]['cpu_s']:.1f} s CPU"
                                                        for k, v in runs.items() if v), file=sys.stderr)
        entry = summary(runs["this"], shipped)
        entry["recheck"] = f"cadenza eval nll --benchmark {name} --json"
        entry["row_nll_per_frame"] = shipped["nll_per_frame"] if shipped else None
        if runs["baseline"]:
            before = summary(runs["baseline"], shipped)
            entry["baseline"] = {"source": args.baseline_label or str(args.baseline_src), **before}
            entry["speedup_wall"] = round(before["median_wall_s"] / entry["median_wall_s"], 2)
            entry["speedup_cpu"] = round(before["median_cpu_s"] / entry["median_cpu_s"], 2)
        result["benchmarks"][name] = entry
        print(f"{name}: median {entry['median_wall_s']} s wall, {entry['median_cpu_s']} s CPU (load "
              f"{entry['median_load1']}); goal {GOAL_S:.0f} s", file=sys.stderr)
    atomic_write_bytes(RESULTS / "nll_recheck.json",
                       (json.dumps(result, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
