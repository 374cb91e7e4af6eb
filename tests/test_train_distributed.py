"""Training on two processes (torchrun, gloo on CPU) learns what one process learns from the same global
batch: a run stopped after two steps on one process and resumed under ``torchrun --nproc-per-node 2`` with
``--accumulate 2`` ends with the weights and validation figures of an uninterrupted one-process run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")

from cadenza.cli import main  # noqa: E402
from cadenza.errors import UsageError  # noqa: E402
from cadenza.model.checkpoint import load_checkpoint, new_model, read_config, save_checkpoint  # noqa: E402
from cadenza.score import read_score  # noqa: E402
from cadenza.tokens.events import encode  # noqa: E402
from cadenza.tokens.labels import VOCABULARY_VERSION  # noqa: E402
from cadenza.train.data import (  # noqa: E402
    DATA_VERSION,
    BatchConfig,
    read_steps_folder,
    save_steps,
    seeded_rows,
    split_from_steps,
)
from cadenza.train.distributed import World, rows_of  # noqa: E402
from cadenza.train.loop import TrainConfig, train  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CHORALES = ["bach/bwv66.6", "bach/bwv269", "bach/bwv347", "bach/bwv153.1", "bach/bwv86.6", "bach/bwv267"]


def _steps_folder(folder: Path) -> Path:
    """Four chorales to train on and two to validate on, as ``cadenza corpus steps`` writes them."""
    scores = [read_score(f"music21:{name}") for name in CHORALES]
    folder.mkdir()
    for split, part in (("train", scores[:4]), ("valid", scores[4:])):
        save_steps(folder / f"{split}.npz", split_from_steps([encode(s) for s in part],
                                                             notes=[s.note_count for s in part]))
    (folder / "steps.json").write_text(json.dumps({"corpus": "chorales", "data_version": DATA_VERSION,
                                                   "vocabulary": VOCABULARY_VERSION}), encoding="utf-8")
    return folder


def test_the_global_batch_is_shared_out_whole_and_the_same_however_it_is_made() -> None:
    assert [rows_of(World(rank, 2), 8, 2) for rank in (0, 1)] == [range(0, 4), range(4, 8)]
    with pytest.raises(UsageError, match="multiple of 6"):
        rows_of(World(0, 3), 16, 2)
    work = encode(read_score(f"music21:{CHORALES[0]}"))
    data = split_from_steps([work, work[:200]])
    config = BatchConfig(context=48, batch_size=4)
    whole = seeded_rows(data, config, seed=3, step=5)
    assert np.array_equal(np.concatenate([seeded_rows(data, config, 3, 5, range(0, 2)),
                                          seeded_rows(data, config, 3, 5, range(2, 4))]), whole)
    assert (whole[:, :, 0] != 0).all()  # rows are packed: every row's loss weighs the same
    assert not np.array_equal(seeded_rows(data, config, 3, 6), whole)


def test_two_processes_resume_a_one_process_run_and_end_where_it_ends(tmp_path: Path) -> None:
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("this torch has no gloo backend")
    steps = _steps_folder(tmp_path / "steps")
    init = tmp_path / "init"  # no dropout: each process's rows would otherwise get their own dropout draws
    torch.manual_seed(0)
    save_checkpoint(new_model("tiny", context=64, dropout=0.0), init)
    common = ["train", "--steps", str(steps), "--init", str(init), "--max-steps", "4", "--eval-every", "2",
              "--batch-size", "4", "--warmup-steps", "1", "--lr", "3e-3", "--no-index", "--json"]
    assert main([*common, "--out", str(tmp_path / "whole")]) == 0

    saved = read_config(tmp_path / "whole" / "last")["training"]["config"]
    config = TrainConfig(**{**saved, "out": str(tmp_path / "resumed"), "label_keep": tuple(saved["label_keep"]),
                            "transpose": tuple(saved["transpose"])})

    def stop_at_two(record: dict[str, Any]) -> None:
        if record["step"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # one process, stopped after step 2 as Ctrl-C stops it
        train(config, progress=stop_at_two, splits=read_steps_folder(steps)[0])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "cadenza", *common, "--out", str(tmp_path / "resumed"), "--resume", "--accumulate",
                          "2"], capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)  # one summary: process 0's (the other prints nothing)
    assert summary["processes"] == 2 and summary["steps"] == 4 and summary["accumulate"] == 2

    state = json.loads((tmp_path / "resumed" / "last" / "state.json").read_text(encoding="utf-8"))
    assert state["processes"] == 2 and state["step"] == 4
    whole, _ = load_checkpoint(tmp_path / "whole" / "last")
    resumed, _ = load_checkpoint(tmp_path / "resumed" / "last")
    moved = 0.0
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.allclose(a, b, rtol=1e-5, atol=2e-6), (name, float((a - b).abs().max()))
    init_model, _ = load_checkpoint(init)
    for a, b in zip(whole.state_dict().values(), init_model.state_dict().values(), strict=True):
        moved = max(moved, float((a - b).abs().max()))
    assert moved > 1e-3  # the runs learnt something (the comparison is not of two untouched models)
    expected = json.loads((tmp_path / "whole" / "last" / "state.json").read_text(encoding="utf-8"))["history"]
    for mine, theirs in zip(state["history"], expected, strict=True):
        assert mine["step"] == theirs["step"]
        assert mine["nll_per_step"] == pytest.approx(theirs["nll_per_step"], rel=1e-5)
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-4)
