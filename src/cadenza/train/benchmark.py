"""The polyphonic music benchmarks (Boulanger-Lewandowski et al. 2012): JSB chorales, Nottingham, MuseData,
Piano-midi.de, as piano rolls with official splits, and the metric: NLL in nats per frame.

A roll becomes a Score whose every frame holds its sounding keys as notes one frame long, in one part, in
4/4; encoded, that is one event sequence for the roll. Several sequences give the same roll (a held note
and a repeated one look alike in a roll), so the probability the model gives this one sequence is a lower
bound on the probability of the roll, and the NLL per frame we report is an upper bound on the model's:
a fair, conservative figure. Every step counts, the bars and the end included. Sequences longer than the
model's context are scored with overlapping windows (each step once, with at least half a context before
it), which is still a true probability under the model restricted to that context.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from cadenza.corpus.sources import find_datasets
from cadenza.errors import UsageError
from cadenza.model.transformer import EventTransformer
from cadenza.score.model import NOTE_DTYPE, TICKS_PER_QUARTER, Part, Score, TimeSignature
from cadenza.tokens.events import encode
from cadenza.train.data import SplitData, split_from_steps

BENCHMARKS = {  # name: (file, frame length in ticks)
    "jsb": ("JSB_Chorales.mat", TICKS_PER_QUARTER),
    "nottingham": ("Nottingham.mat", TICKS_PER_QUARTER // 2),
    "musedata": ("MuseData.mat", TICKS_PER_QUARTER // 2),
    "piano": ("Piano_midi.mat", TICKS_PER_QUARTER // 2),
}
PUBLISHED = {  # test NLL, nats per frame (../shared/datasets/README.md)
    "RNN-NADE (Boulanger 2012)": {"piano": 7.05, "nottingham": 2.31, "musedata": 5.60, "jsb": 5.19},
    "RNN-RBM (Boulanger 2012)": {"piano": 7.09, "nottingham": 2.39, "musedata": 6.01, "jsb": 6.27},
    "TCN (Bai 2018)": {"nottingham": 3.07, "jsb": 8.10},
    "LSTM (Chung 2014)": {"piano": 9.03, "nottingham": 3.20, "musedata": 6.23, "jsb": 8.67},
}


@lru_cache(maxsize=4)
def load_rolls(name: str) -> dict[str, list[np.ndarray]]:
    """{split: [frames x 88 rolls]} of a benchmark, from ../shared/datasets/benchmarks."""
    if name not in BENCHMARKS:
        raise UsageError(f"unknown benchmark {name!r}: choose {', '.join(BENCHMARKS)}")
    datasets = find_datasets()
    path = datasets / "benchmarks" / BENCHMARKS[name][0] if datasets else None
    if path is None or not path.is_file():
        raise UsageError(f"benchmark {name!r} needs ../shared/datasets/benchmarks/{BENCHMARKS[name][0]}")
    try:
        from scipy.io import loadmat
    except ImportError:
        raise UsageError("the benchmarks need scipy: pip install '.[train]'") from None
    data = loadmat(str(path))
    return {split: [np.asarray(r, dtype=np.uint8) for r in data[f"{split}data"][0]]
            for split in ("train", "valid", "test")}


def roll_to_score(roll: np.ndarray, frame_ticks: int) -> Score:
    frames, keys = np.nonzero(roll)
    notes = np.zeros(len(frames), dtype=NOTE_DTYPE)
    notes["onset_ticks"] = frames * frame_ticks
    notes["duration_ticks"] = frame_ticks
    notes["pitch"] = keys + 21
    notes["velocity"] = 80
    return Score.build(parts=[Part("Piano", 0)], notes=notes, time_signatures=[TimeSignature(0, 4, 4)],
                       length_ticks=len(roll) * frame_ticks)


def benchmark_steps(name: str, split: str) -> list[np.ndarray]:
    frame = BENCHMARKS[name][1]
    return [encode(roll_to_score(roll, frame)) for roll in load_rolls(name)[split]]


def benchmark_split(name: str, split: str, limit: int | None = None) -> SplitData:
    chunks = benchmark_steps(name, split)[:limit]
    rolls = load_rolls(name)[split][:limit]
    return split_from_steps(chunks, notes=[int(r.sum()) for r in rolls])


@torch.no_grad()
def sequence_nll(model: EventTransformer, steps: np.ndarray, device: str = "cpu") -> float:
    """Total NLL (nats) of steps[1:] given what precedes each, in windows of the model's context."""
    model.eval()
    context = model.config.context
    x = torch.from_numpy(np.asarray(steps, dtype=np.int64)).to(device)
    if len(x) <= context + 1:
        return float(model.step_nll(x[None]).sum())
    total, scored = 0.0, 1  # steps[0] (bos) is given
    stride = context // 2
    start = 0
    while scored < len(x):
        window = x[start:start + context + 1]
        nll = model.step_nll(window[None])[0]  # nll[i] is for window[i + 1] = x[start + i + 1]
        first = scored - start - 1  # the first step of this window not scored yet
        total += float(nll[first:].sum())
        scored = start + len(window)
        start += stride
    return total


def frame_nll(model: EventTransformer, name: str, split: str = "test", limit: int | None = None,
              device: str = "cpu") -> dict[str, float]:
    """The benchmark metric: total NLL over the split's sequences / total frames (and per note)."""
    rolls = load_rolls(name)[split][:limit]
    steps = benchmark_steps(name, split)[:limit]
    total = sum(sequence_nll(model, s, device) for s in steps)
    frames = sum(len(r) for r in rolls)
    notes = sum(int(r.sum()) for r in rolls)
    return {"nll_per_frame": total / frames, "nll_per_note": total / max(notes, 1), "frames": frames,
            "notes": notes, "sequences": len(rolls)}


def shipped_checkpoint(name: str) -> Path:
    """Where the package keeps its benchmark checkpoint for ``name``."""
    return Path(__file__).resolve().parents[1] / "models" / "benchmarks" / name
