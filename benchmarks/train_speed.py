"""Training throughput on this machine: notes per second for each model preset (the default model needs
at least 1,000 notes/s to train in 2.5 h on 2 CPU cores).

    python -m benchmarks.train_speed [--corpus NAME] [--steps N] [--presets tiny,small,base]

Trains each preset for a few steps on the corpus' train split (batch 16, full context) after two warm-up
steps, and counts the notes in the batches it learned from. Writes benchmarks/results/train_speed.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import machine
from cadenza.corpus import CorpusStore
from cadenza.model.checkpoint import new_model
from cadenza.tokens.events import KIND
from cadenza.train.data import BatchConfig, make_batch, prepare_split

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "train_speed.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="default")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--presets", default="tiny,small,base")
    args = parser.parse_args(argv)
    data = prepare_split(CorpusStore(args.corpus), "train")
    rows = []
    for preset in args.presets.split(","):
        torch.manual_seed(0)
        model = new_model(preset)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        batch = BatchConfig(context=model.config.context, batch_size=16)
        rng = np.random.default_rng(0)
        notes = steps = 0
        start = 0.0
        for i in range(args.steps + 2):
            if i == 2:
                start, notes, steps = time.perf_counter(), 0, 0
            x = torch.from_numpy(make_batch(data, batch, rng))
            loss = model.loss(x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            notes += int((x[:, 1:, 0] == KIND["note"]).sum())
            steps += int((x[:, 1:, 0] != KIND["pad"]).sum())
        seconds = time.perf_counter() - start
        rows.append({"preset": preset, "parameters": model.parameter_count(), "context": model.config.context,
                     "notes_per_s": round(notes / seconds, 1), "steps_per_s": round(steps / seconds, 1),
                     "seconds_per_optimizer_step": round(seconds / args.steps, 3)})
        print(rows[-1])
    report = {"benchmark": "train_speed", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "torch": torch.__version__, "threads": torch.get_num_threads(),
              "command": f"python -m benchmarks.train_speed --corpus {args.corpus} --steps {args.steps}",
              "results": rows}
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
