"""Training throughput on this machine: notes per second for each model preset (the default model needs
at least 1,000 notes/s to train in 2.5 h on 2 CPU cores), and on 1 against N processes (torchrun, DDP).

    python -m benchmarks.train_speed [--corpus NAME] [--steps N] [--presets tiny,small,base] [--threads 0,1]
    python -m benchmarks.train_speed --processes 1,2 [--presets small] [--steps N] [--repeats R]

Trains each preset for a few steps on the corpus' train split (batch 16, full context) after two warm-up
steps, and counts the notes in the batches it learned from. Writes benchmarks/results/train_speed.json. The
measurement is :func:`cadenza.lab.speed.train_speed` (also run by ``cadenza bench --only speed``).

``--processes`` measures the training loop's own step (:func:`cadenza.train.loop.train_step`) under
``torchrun --standalone --nproc-per-node N`` (gloo on CPU, one torch thread per process), with the same global
batch of 16 whatever N: each process learns from its share, DDP averages the gradients. Two warm-up steps,
then ``--steps`` timed ones between barriers; notes are summed over the processes. Each N runs ``--repeats``
times, alternating; the median is kept. Only the ``processes`` part of the results file is replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import machine
from cadenza.lab.speed import train_data, train_speed
from cadenza.model.transformer import PRESETS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "train_speed.json"


def ddp_worker(preset: str, corpus: str, steps: int, batch_size: int, out: Path) -> None:
    """One torchrun process: train ``steps`` timed steps of ``preset`` on its share of each global batch; rank 0
    writes the row."""
    from cadenza.model.checkpoint import new_model
    from cadenza.threads import ensure_threads
    from cadenza.tokens.events import KIND
    from cadenza.train import distributed
    from cadenza.train.data import BatchConfig, seeded_rows
    from cadenza.train.loop import TrainConfig, train_step

    world, device = distributed.start("cpu")
    try:
        data, source = train_data(corpus)
        torch.manual_seed(0)
        model = new_model(preset)
        model.train()
        config = TrainConfig(preset=preset, batch_size=batch_size, warmup_steps=1, device="cpu")
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
        learner = distributed.wrap(model, world, device)
        batch = BatchConfig(context=model.config.context, batch_size=batch_size)
        mine = distributed.rows_of(world, batch_size, 1)
        notes, start = 0.0, 0.0
        for step in range(steps + 2):
            if step == 2:
                distributed.barrier(world)
                notes, start = 0.0, time.perf_counter()
            rows = seeded_rows(data, batch, 0, step, mine)
            train_step(learner, optimizer, config, step, rows, device, autocast=False)
            notes += float((rows[:, 1:, 0] == KIND["note"]).sum())
        distributed.barrier(world)
        seconds = time.perf_counter() - start
        total = distributed.sum_over(world, [notes], device)[0]
        if world.main:
            row = {"preset": preset, "processes": world.size, "backend": world.backend or "none",
                   "threads_per_process": ensure_threads(), "global_batch": batch_size,
                   "parameters": model.parameter_count(), "context": model.config.context, "timed_steps": steps,
                   "notes_per_s": round(total / seconds, 1), "seconds_per_optimizer_step": round(seconds / steps, 3),
                   "data": source}
            out.write_text(json.dumps(row), encoding="utf-8")
    finally:
        distributed.stop(world)


def processes_rows(counts: list[int], presets: list[str], corpus: str, steps: int,
                   repeats: int) -> list[dict[str, Any]]:
    """For each preset and process count, the median of ``repeats`` torchrun runs (alternating counts)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    rows = []
    for preset in presets:
        runs: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
        for _ in range(repeats):
            for n in counts:
                with tempfile.TemporaryDirectory() as tmp:
                    out = Path(tmp) / "row.json"
                    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                                    "--nproc-per-node", str(n), "-m", "benchmarks.train_speed", "--ddp-worker",
                                    "--presets", preset, "--corpus", corpus, "--steps", str(steps),
                                    "--row", str(out)], check=True, env=env, cwd=ROOT)
                    runs[n].append(json.loads(out.read_text(encoding="utf-8")))
                    print(runs[n][-1], file=sys.stderr)
        for n in counts:
            median = statistics.median(r["notes_per_s"] for r in runs[n])
            rows.append({**runs[n][0], "notes_per_s": median, "notes_per_s_runs": [r["notes_per_s"] for r in runs[n]],
                         "seconds_per_optimizer_step": statistics.median(r["seconds_per_optimizer_step"]
                                                                         for r in runs[n])})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="default")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--presets", default="tiny,small,base")
    parser.add_argument("--threads", default="0", help="comma-separated thread counts (0: torch's default)")
    parser.add_argument("--processes", default="", help="comma-separated process counts: DDP under torchrun")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each process count (the median is kept)")
    parser.add_argument("--ddp-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--row", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ddp_worker:
        ddp_worker(args.presets, args.corpus, args.steps, 16, args.row)
        return 0
    report = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    command = "python -m benchmarks.train_speed " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.processes:
        load_before = [round(x, 2) for x in os.getloadavg()]
        rows = processes_rows([int(n) for n in args.processes.split(",")], args.presets.split(","), args.corpus,
                              args.steps, args.repeats)
        for row in rows:
            print(row)
        report["processes"] = {
            "date": time.strftime("%Y-%m-%d"), "command": command, "machine": machine(),
            "load_average_1_5_15_before": load_before,
            "load_average_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
            "note": "2 CPU cores shared with other developers' work: 2 processes take both cores", "results": rows}
    else:
        data, source = train_data(args.corpus)
        shapes = {preset: dict(PRESETS[preset]) for preset in args.presets.split(",")}
        rows = train_speed(shapes, data, args.steps, threads=[int(n) for n in args.threads.split(",")])
        for row in rows:
            print(row)
        report.update({"benchmark": "train_speed", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
                       "torch": torch.__version__, "threads": torch.get_num_threads(), "data": source,
                       "command": command, "results": rows})
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
