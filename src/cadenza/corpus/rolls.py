"""The polyphonic music benchmarks (Boulanger-Lewandowski et al. 2012) as piano rolls with their official
splits, a roll as a Score, and a split as event steps: what ``cadenza train --benchmark`` trains on. No torch
here: the originality index builds from these too. Their metric (NLL per frame over canonical sequences) and
the models mixed for the benchmark tables are the lab's (:mod:`cadenza.lab.boulanger`).

A roll becomes a Score whose every frame holds its sounding keys as notes one frame long, in one part, in
4/4.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from cadenza.corpus.sources import find_datasets
from cadenza.errors import UsageError
from cadenza.score.model import NOTE_DTYPE, TICKS_PER_QUARTER, Part, Score, TimeSignature
from cadenza.tokens.events import encode

BENCHMARKS = {  # name: (file, frame length in ticks)
    "jsb": ("JSB_Chorales.mat", TICKS_PER_QUARTER),
    "nottingham": ("Nottingham.mat", TICKS_PER_QUARTER // 2),
    "musedata": ("MuseData.mat", TICKS_PER_QUARTER // 2),
    "piano": ("Piano_midi.mat", TICKS_PER_QUARTER // 2),
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
    """The event steps of each roll of a benchmark's split (its canonical sequences)."""
    frame = BENCHMARKS[name][1]
    return [encode(roll_to_score(roll, frame)) for roll in load_rolls(name)[split]]
