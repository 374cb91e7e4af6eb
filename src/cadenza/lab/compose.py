"""The compose benchmark: does Cadenza write what was asked (control), does it sound like real music of the
style asked for (quality), and how fast (speed). ``benchmarks/compose.py`` runs it and writes
``benchmarks/results/compose.json``; ``cadenza bench`` will gather it with the other suites.

- **control**: a grid of requests, one label at a time (24 keys, 6 meters, 3 densities, 4 mood quadrants,
  every epoch, every ensemble), several seeds each; the share of outputs where ``listen`` (blind to the
  title and metadata) hears the label asked. A model that ignored the request would hear each value as often
  as any other: the chance level printed beside each share is one over the number of values asked for.
- **quality**: :mod:`cadenza.listen.quality`'s metrics of the pieces written for each epoch, against the same
  metrics of real held-out works of that epoch (the corpus' test split): the generated median should lie
  inside the real works' 10th–90th percentile range.
- **speed**: seconds of music written per wall second for piano and string-quartet pieces (sampling,
  decoding and listening included), the time from starting to sample to the first note, and model load time.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.compose import ENSEMBLES, ComposeRequest, compose
from cadenza.listen.labels import EPOCHS, TONICS
from cadenza.listen.quality import METRICS, quality

log = logging.getLogger(__name__)
KEYS = tuple(f"{tonic} {mode}" for mode in ("major", "minor") for tonic in TONICS)
GRID_METERS = ("2/4", "3/4", "4/4", "2/2", "6/8", "12/8")
# axis -> (the request field, the values asked for, the label listen reports, the goal share)
AXES: dict[str, tuple[str, tuple[str, ...], str, float]] = {
    "key": ("key", KEYS, "key", 0.95),
    "meter": ("meter", GRID_METERS, "meter", 0.98),
    "density": ("density", ("low", "medium", "high"), "density", 0.85),
    "mood": ("mood", ("joyful", "tense", "sad", "calm"), "mood", 0.75),
    "epoch": ("epoch", EPOCHS, "epoch", 0.70),
    "ensemble": ("ensemble", tuple(ENSEMBLES), "ensemble", 0.0),
}
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ComposeBenchConfig:
    seeds: int = 3  # pieces per request
    candidates: int = 1  # best of K by listening (compose --candidates K), for each piece
    guidance: float = 1.0
    bars: int = 8  # bars per piece in the control grid
    axes: tuple[str, ...] = tuple(AXES)
    speed_bars: int = 16
    speed_runs: int = 3
    real_per_epoch: int = 30  # real held-out works per epoch for the quality comparison
    corpus: str = "default"
    checkpoint: str | None = None


def _asked_label(axis: str, value: str) -> str:
    """The label value ``listen`` should hear for a request value (an ensemble's label, a key's name)."""
    if axis == "ensemble":
        return ENSEMBLES[value].label
    return value


def control(config: ComposeBenchConfig, progress: Progress | None = None) -> tuple[dict[str, Any], list[dict]]:
    """Adherence per axis, with its goal and chance level; and every piece's request, labels and quality."""
    jobs = [(axis, value, seed) for axis in config.axes for value in AXES[axis][1] for seed in range(config.seeds)]
    pieces: list[dict[str, Any]] = []
    checkpoint = Path(config.checkpoint) if config.checkpoint else None
    for done, (axis, value, seed) in enumerate(jobs):
        field, _, label, _ = AXES[axis]
        asked: dict[str, Any] = {field: value}
        request = replace(ComposeRequest(bars=config.bars, seed=seed * config.candidates,
                                         candidates=config.candidates, guidance=config.guidance), **asked)
        made = compose(request, checkpoint=checkpoint)
        heard = made.report["heard"]
        pieces.append({"axis": axis, "asked": value, "seed": seed, "heard": heard.get(label),
                       "met": str(heard.get(label)) == _asked_label(axis, value),
                       "mode_met": axis != "key" or heard.get("mode") == value.split()[1],
                       "quality": quality(made.score), "epoch_heard": heard.get("epoch")})
        if progress:
            progress(done + 1, len(jobs))
    table: dict[str, Any] = {}
    for axis in config.axes:
        mine = [p for p in pieces if p["axis"] == axis]
        values = AXES[axis][1]
        misses = Counter(f"{p['asked']} -> {p['heard']}" for p in mine if not p["met"])
        table[axis] = {"pieces": len(mine), "share": round(sum(p["met"] for p in mine) / len(mine), 3),
                       "goal": AXES[axis][3] or None, "chance": round(1 / len(values), 3),
                       "per_value": {v: round(np.mean([p["met"] for p in mine if p["asked"] == v]), 3)
                                     for v in values},
                       "commonest_misses": dict(misses.most_common(5))}
        if axis == "key":
            table["mode"] = {"pieces": len(mine), "share": round(sum(p["mode_met"] for p in mine) / len(mine), 3),
                             "goal": 0.95, "chance": 0.5}
    return table, pieces


def real_quality(corpus: str, per_epoch: int) -> dict[str, list[dict[str, float]]]:
    """Quality metrics of up to ``per_epoch`` works of each epoch in the corpus' test split (evenly spread)."""
    from cadenza.corpus import CorpusStore

    store = CorpusStore(corpus)
    if not store.exists():
        log.warning("no corpus %r: the quality comparison with real works is left out", corpus)
        return {}
    rows = [r for r in store.manifest() if r["split"] == "test"]
    out: dict[str, list[dict[str, float]]] = {}
    for epoch in EPOCHS:
        mine = [r for r in rows if r["labels"].get("epoch") == epoch]
        if len(mine) > per_epoch:
            mine = [mine[i] for i in np.linspace(0, len(mine) - 1, per_epoch).astype(int)]
        if mine:
            out[epoch] = [quality(store.load_score(r)) for r in mine]
    return out


def compare_quality(pieces: list[dict[str, Any]], real: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Per epoch and metric: the generated median beside the real works' 10th, 50th and 90th percentiles."""
    out: dict[str, Any] = {}
    inside = total = 0
    for epoch, works in real.items():
        made = [p["quality"] for p in pieces if p["axis"] == "epoch" and p["asked"] == epoch]
        if not made:
            continue
        rows = {}
        for metric in METRICS:
            p10, p50, p90 = np.percentile([w[metric] for w in works], [10, 50, 90])
            generated = float(np.median([m[metric] for m in made]))
            ok = bool(p10 - 1e-9 <= generated <= p90 + 1e-9)
            inside, total = inside + ok, total + 1
            rows[metric] = {"generated_median": round(generated, 3), "real_p10": round(float(p10), 3),
                            "real_median": round(float(p50), 3), "real_p90": round(float(p90), 3), "inside": ok}
        out[epoch] = {"generated": len(made), "real": len(works), "metrics": rows}
    return {"per_epoch": out, "inside_share": round(inside / total, 3) if total else None}


def speed(config: ComposeBenchConfig) -> dict[str, Any]:
    """Music seconds per wall second and first-note latency for piano and quartet; model load time."""
    from cadenza.model.checkpoint import default_checkpoint, load_checkpoint

    folder = Path(config.checkpoint) if config.checkpoint else default_checkpoint()
    loads = []
    for _ in range(3):
        start = time.perf_counter()
        load_checkpoint(folder)
        loads.append(time.perf_counter() - start)
    out: dict[str, Any] = {"model_load_s": round(statistics.median(loads), 3)}
    for ensemble in ("piano", "string-quartet"):
        ratios, first_notes, walls = [], [], []
        for seed in range(config.speed_runs):
            start = time.perf_counter()
            made = compose(ComposeRequest(ensemble=ensemble, bars=config.speed_bars, tempo_bpm=100, seed=seed),
                           checkpoint=folder)
            wall = time.perf_counter() - start
            walls.append(wall)
            ratios.append(made.score.duration_s / wall)
            first = made.report["timings"]["candidates"][0]["first_note_s"]
            if first is not None:
                first_notes.append(first)
        out[ensemble] = {"bars": config.speed_bars, "tempo_bpm": 100, "runs": config.speed_runs,
                         "music_s_per_wall_s_median": round(statistics.median(ratios), 1),
                         "wall_s_median": round(statistics.median(walls), 2),
                         "first_note_s_median": round(statistics.median(first_notes), 3) if first_notes else None,
                         "goal_music_s_per_wall_s": 50, "goal_first_note_s": 0.5}
    return out


def run(config: ComposeBenchConfig, progress: Progress | None = None) -> dict[str, Any]:
    """The whole compose benchmark: control, quality and speed."""
    start = time.perf_counter()
    table, pieces = control(config, progress)
    real = real_quality(config.corpus, config.real_per_epoch) if "epoch" in config.axes else {}
    return {"control": table, "quality": compare_quality(pieces, real), "speed": speed(config),
            "pieces": pieces, "seconds": round(time.perf_counter() - start, 1)}
