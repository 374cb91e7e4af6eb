"""Sampler speed before and after a change, measured in turns on the same (shared, noisy) machine: each
measurement runs in a fresh process, the two source trees alternate (A B, then B A, ...), and medians and
their ratios are reported, in wall time and in the process's CPU time (less sensitive to other work on the
cores, not to its contention for caches).

    mkdir -p /tmp/before && git archive <commit> src | tar -x -C /tmp/before
    python -m benchmarks.sampler_speed --before /tmp/before/src --rounds 4

Measured, on one torch thread:

- **raw**: ``generate`` with the grammar only, as ``cadenza bench``'s sampling figure: the first 16 steps of
  BWV 66.6 as the prompt, 128 new steps (no end before them), top-p 0.95; milliseconds per step.
- **piano**, **string-quartet**: ``cadenza.compose`` of 16 bars at 100 bpm with the shipped model, the
  originality guard on, as ``cadenza bench --only speed``; seconds of music per second (real-time factor).

Writes ``benchmarks/results/sampler_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
RESULT = Path(__file__).resolve().parent / "results" / "sampler_speed.json"
MEASURES = ("raw", "piano", "string-quartet")
SRC = Path(__file__).resolve().parents[1] / "src"


def _child(what: str, seeds: list[int]) -> dict[str, list[float]]:
    """One process's figures for ``what`` (see the module's notes), one per seed, after a warm-up."""
    import torch

    torch.set_num_threads(1)
    from cadenza.compose import ComposeRequest, compose
    from cadenza.compose.generate import load_model
    from cadenza.lab.peer import _prompt
    from cadenza.model.sample import SampleConfig, generate
    from cadenza.tokens.labels import label_vocabulary

    model = load_model()[0]
    wall, cpu = [], []
    if what == "raw":
        prompt, labels = _prompt(16), len(label_vocabulary())
        generate(model, prompt, SampleConfig(max_steps=16, min_steps=16, seed=999), labels)
        for seed in seeds:
            start, start_cpu = time.perf_counter(), time.process_time()
            generate(model, prompt, SampleConfig(max_steps=128, min_steps=128, seed=seed), labels)
            wall.append(1000 * (time.perf_counter() - start) / 128)
            cpu.append(1000 * (time.process_time() - start_cpu) / 128)
        return {"wall": wall, "cpu": cpu}
    compose(ComposeRequest(ensemble=what, bars=2, tempo_bpm=100, seed=999))  # loads the guard's index too
    for seed in seeds:
        start, start_cpu = time.perf_counter(), time.process_time()
        made = compose(ComposeRequest(ensemble=what, bars=16, tempo_bpm=100, seed=seed))
        wall.append(made.score.duration_s / (time.perf_counter() - start))
        cpu.append(made.score.duration_s / (time.process_time() - start_cpu))
    return {"wall": wall, "cpu": cpu}


def _run(tree: Path, what: str, seeds: list[int]) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1", CADENZA_THREADS="1")
    done = subprocess.run([sys.executable, __file__, "--child", what, "--seeds", ",".join(map(str, seeds))],
                          env=env, capture_output=True, text=True, cwd="/", check=False)
    if done.returncode:
        raise RuntimeError(f"{what} with {tree} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(before: Path, after: Path, rounds: int, seeds: list[int], measures: tuple[str, ...]) -> dict[str, Any]:
    """Medians of both trees' figures and after/before ratios, measured in alternating turns."""
    figures: dict[str, dict[str, dict[str, list[float]]]] = {
        m: {side: {"wall": [], "cpu": []} for side in ("before", "after")} for m in measures}
    for turn in range(rounds):
        for what in measures:
            order = [("before", before), ("after", after)]
            for side, tree in order if turn % 2 == 0 else order[::-1]:
                got = _run(tree, what, seeds)
                for clock in ("wall", "cpu"):
                    figures[what][side][clock] += got[clock]
                log.info("turn %d %-15s %-6s wall %s", turn + 1, what, side, [round(x, 2) for x in got["wall"]])
    out: dict[str, Any] = {}
    for what, sides in figures.items():
        unit = "ms_per_step" if what == "raw" else "music_s_per_s"
        row: dict[str, Any] = {"unit": unit, "runs_each": len(sides["before"]["wall"])}
        for clock in ("wall", "cpu"):
            b, a = statistics.median(sides["before"][clock]), statistics.median(sides["after"][clock])
            speedup = b / a if what == "raw" else a / b  # how many times faster after
            row[clock] = {"before_median": round(b, 3), "after_median": round(a, 3), "speedup": round(speedup, 2)}
        out[what] = row
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="the src folder of the code before (see the module's notes)")
    parser.add_argument("--after", type=Path, default=SRC, help="the src folder of the code after (this tree's)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--only", nargs="*", choices=MEASURES, default=list(MEASURES))
    parser.add_argument("--child", choices=MEASURES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.child:
        print(json.dumps(_child(args.child, seeds)))
        return 0
    if args.before is None:
        parser.error("--before: give the src folder of the code to compare with")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from cadenza.files import atomic_write_bytes
    from cadenza.lab.speed import describe_machine

    started = time.time()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    figures = compare(args.before.resolve(), args.after.resolve(), args.rounds, seeds, tuple(args.only))
    result = {"command": "python -m benchmarks.sampler_speed " + " ".join(argv if argv is not None else sys.argv[1:]),
              "commit": _commit(), "machine": describe_machine(), "load_average_at_start": load_before,
              "threads": 1, "rounds": args.rounds, "seeds": seeds, "before": str(args.before),
              "seconds": round(time.time() - started, 1), "figures": figures,
              "how": "each figure a median over rounds x seeds runs, every run in a fresh process, the trees in "
                     "alternating turns; speedup = how many times faster after (wall and CPU time)"}
    atomic_write_bytes(RESULT, (json.dumps(result, indent=1) + "\n").encode("utf-8"))
    print(json.dumps(figures, indent=1))
    return 0


def _commit() -> str | None:
    """The short commit of this checkout, with ``+dirty`` when its tracked files differ; None without git."""
    root = SRC.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10, check=False)
        dirty = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if head.returncode == 0 else None


if __name__ == "__main__":
    sys.exit(main())
