"""One torch thread or two: what ``cadenza.threads.DEFAULT_THREADS`` was chosen on.

    python -m benchmarks.threads [--rounds 5] [--steps 128] [--train-steps 3] [--busy]

For each round, for 1 then 2 threads (alternating, so both see the same load): the shipped model's raw
sampling (``generate``, the grammar only, N new steps after a 16-step prompt), the composer's sampling (a
piano piece of 8 bars, guard off: its ``sample_s``), and training (the shipped model's shape, batch 16, full
context: optimizer steps after one warm-up step). Medians over the rounds, the ratio two/one, and the load
average before and after. ``--busy`` keeps one core busy with a spinning process of our own while it
measures (the condition of a shared machine, made repeatable). Writes benchmarks/results/threads.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.common import machine

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "threads.json"


def _spin(seconds: float) -> None:
    end = time.time() + seconds
    x = 0
    while time.time() < end:
        x += 1


def _raw(model: Any, prompt: np.ndarray, steps: int, seed: int) -> float:
    from cadenza.model.sample import SampleConfig, generate
    from cadenza.tokens.labels import label_vocabulary

    start = time.perf_counter()
    generate(model, prompt, SampleConfig(max_steps=steps, min_steps=steps, seed=seed), len(label_vocabulary()))
    return steps / (time.perf_counter() - start)


def _composer(seed: int) -> float:
    from cadenza.compose import ComposeRequest, compose
    from cadenza.tokens.events import encode

    made = compose(ComposeRequest(ensemble="piano", bars=8, tempo_bpm=100, seed=seed, guard=False))
    sample_s = sum(c["sample_s"] for c in made.report["timings"]["candidates"])
    return (len(encode(made.score)) - 2 - len(made.score.parts)) / sample_s


def _train(shape: dict[str, Any], data: Any, steps: int) -> float:
    from cadenza.lab.speed import _train_rate

    return float(_train_rate("model", shape, data, steps, 16)["steps_per_s"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=128, help="new steps of raw sampling per run")
    parser.add_argument("--train-steps", type=int, default=3)
    parser.add_argument("--busy", action="store_true", help="keep one core busy with a spinning process")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from cadenza.lab.peer import _prompt
    from cadenza.lab.speed import model_shape, train_data
    from cadenza.model.checkpoint import default_checkpoint, load_checkpoint, read_config

    model, _ = load_checkpoint(default_checkpoint())
    shape = model_shape(read_config(default_checkpoint())["model"])
    data, source = train_data("none-here")  # Bach chorales from music21's corpus: the same data everywhere
    prompt = _prompt(16)
    spinner = None
    if args.busy:
        spinner = multiprocessing.get_context("spawn").Process(target=_spin, args=(10_000.0,), daemon=True)
        spinner.start()
    load_before = os.getloadavg()
    rates: dict[str, dict[int, list[float]]] = {"raw_sampling": {1: [], 2: []}, "composer_sampling": {1: [], 2: []},
                                                "training": {1: [], 2: []}}
    try:
        for r in range(args.rounds):
            for threads in (1, 2):
                torch.set_num_threads(threads)
                rates["raw_sampling"][threads].append(_raw(model, prompt, args.steps, r))
                rates["composer_sampling"][threads].append(_composer(r))
                rates["training"][threads].append(_train(shape, data, args.train_steps))
                print(r, threads, {k: round(v[threads][-1], 1) for k, v in rates.items()}, file=sys.stderr)
    finally:
        if spinner is not None:
            spinner.terminate()
            spinner.join()
    results = {}
    for name, by_threads in rates.items():
        one, two = statistics.median(by_threads[1]), statistics.median(by_threads[2])
        results[name] = {"steps_per_s_median_1_thread": round(one, 1), "steps_per_s_median_2_threads": round(two, 1),
                         "two_over_one": round(two / one, 2), "runs_1": [round(x, 1) for x in by_threads[1]],
                         "runs_2": [round(x, 1) for x in by_threads[2]]}
    report = {"benchmark": "threads", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "torch": torch.__version__, "busy_spinner": args.busy,
              "load_average_1_5_15_before": [round(x, 2) for x in load_before],
              "load_average_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
              "command": "python -m benchmarks.threads " + " ".join(argv if argv is not None else sys.argv[1:]),
              "training_data": source, "results": results}
    print(json.dumps(results, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    runs = previous.get("runs", []) if isinstance(previous.get("runs"), list) else []
    runs = [run for run in runs if run.get("busy_spinner") != args.busy] + [report]
    args.out.write_text(json.dumps({"benchmark": "threads", "runs": runs}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
