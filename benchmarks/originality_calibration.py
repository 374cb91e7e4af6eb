"""How much real held-out music shares with its training set, and how fast the originality check is.

    python -m benchmarks.originality_calibration [--repeats R]

For each shipped index (the default model: the default corpus's train split; the JSB and Nottingham
benchmark models: those benchmarks' training rolls) the held-out pieces (test and valid splits) are
checked against it with the rule the check uses, and the per-piece longest shared runs summarised
(percentiles per line kind). Beside them, the baselines of ``shared/datasets/README.md`` are recomputed
with the README's own definition (one melody per piece: JSB's soprano, Nottingham's top line, held notes
merged; symbols (interval, duration in frames); run length in symbols), to show the definition is matched.
Speed: index size and load time; the check of a 3-minute piece and ``first_violation`` on a 16-bar piece
(medians of R runs). Writes benchmarks/results/originality_human.json. Needs the default corpus at
$CADENZA_HOME and ../shared/datasets; what is missing is skipped and said so.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import machine
from cadenza.originality.calibrate import PERCENTILES, benchmark_works, corpus_works, heldout_longest
from cadenza.originality.check import SHIPPED, check_score
from cadenza.originality.index import INDEX_FILE, OriginalityIndex, _load
from cadenza.score.model import Score
from cadenza.score.ops import slice_ticks

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "benchmarks" / "results" / "originality_human.json"


def summary(values: list[int]) -> dict[str, Any]:
    v = np.asarray(values, dtype=float)
    if not len(v):
        return {"pieces": 0}
    return {"pieces": len(v), **{f"p{p}": round(float(np.percentile(v, p)), 2) for p in PERCENTILES},
            "max": int(v.max())}


def load_fresh(name: str) -> OriginalityIndex:
    path = SHIPPED[name] / INDEX_FILE
    stat = path.stat()
    return _load.__wrapped__(str(path), stat.st_mtime_ns, stat.st_size)  # bypass the per-process cache


def index_facts(name: str, repeats: int) -> tuple[OriginalityIndex, dict[str, Any]]:
    loads = []
    for _ in range(repeats):
        index = load_fresh(name)
        loads.append(index.load_s)
    path = SHIPPED[name] / INDEX_FILE
    return index, {"index": str(path.relative_to(ROOT)), "bytes": path.stat().st_size, "works": len(index.works),
                   "line_notes": index.note_count, "load_s_median": round(statistics.median(loads), 4),
                   "threshold_notes": index.thresholds(), "built_from": index.meta.get("built_from")}


def heldout(index: OriginalityIndex, scores: list[Score]) -> dict[str, Any]:
    values = heldout_longest(index, scores)
    thresholds = index.thresholds()
    return {kind: summary(v) | {"over_threshold": round(float(np.mean(np.asarray(v) > thresholds[kind])), 4)
                                if v else None} for kind, v in values.items()}


# -------------------------------------------------------------------- the README's definition
def _melody_runs(train: list[list[tuple[int, int]]], test: list[list[tuple[int, int]]]) -> list[int]:
    """Longest common run of (interval, duration) symbols of each test melody with any training melody."""
    def symbols(m: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return [(m[i][0] - m[i - 1][0], m[i][1]) for i in range(1, len(m))]

    tr, te = [symbols(m) for m in train], [symbols(m) for m in test]
    grams: dict[int, set[tuple[tuple[int, int], ...]]] = {}

    def shared(s: list[tuple[int, int]], k: int) -> bool:
        if k not in grams:
            grams[k] = {tuple(t[i:i + k]) for t in tr for i in range(len(t) - k + 1)}
        return any(tuple(s[i:i + k]) in grams[k] for i in range(len(s) - k + 1))

    out = []
    for s in te:
        lo, hi = 0, len(s)
        while lo < hi:
            k = (lo + hi + 1) // 2
            lo, hi = (k, hi) if shared(s, k) else (lo, k - 1)
        out.append(lo)
    return out


def _merge(pitches: list[int]) -> list[tuple[int, int]]:
    """(pitch, frames) of a frame-by-frame melody (-1 for silence), held frames merged, silences dropped."""
    out: list[list[int]] = []
    for p in pitches:
        if out and out[-1][0] == p:
            out[-1][1] += 1
        else:
            out.append([p, 1])
    return [(p, d) for p, d in out if p >= 0]


def readme_baselines() -> dict[str, Any]:
    out: dict[str, Any] = {"definition": "one melody per piece (JSB: soprano of Jsb16thSeparated; Nottingham: top "
                           "line of the .mat roll), held frames merged, rests dropped; symbols (interval, duration "
                           "in frames); longest run in symbols against the train split; test split"}
    sep = np.load(DATASETS / "jsb" / "Jsb16thSeparated.npz", allow_pickle=True, encoding="latin1")
    melody = {s: [_merge([int(p) if p == p else -1 for p in a[:, 0]]) for a in sep[s]] for s in ("train", "test")}
    out["jsb"] = summary(_melody_runs(melody["train"], melody["test"])) | {"readme": {"p50": 10, "p90": 28}}
    from cadenza.corpus.rolls import load_rolls

    rolls = load_rolls("nottingham")
    top = {s: [_merge([int(np.nonzero(f)[0].max()) + 21 if f.any() else -1 for f in r]) for r in rolls[s]]
           for s in ("train", "test")}
    out["nottingham"] = summary(_melody_runs(top["train"], top["test"])) | {"readme": {"p50": 8, "p90": 13}}
    return out


# -------------------------------------------------------------------- speed
def three_minute_piece(store: Any, rows: list[dict[str, Any]]) -> Score:
    """The held-out work with the most notes in its first three minutes (at least three minutes long), cut there."""
    best, best_notes = None, -1
    for row in rows:
        if row["labels"].get("length_s", 0) < 180:
            continue
        score = store.load_score(row)
        end = int(np.searchsorted(score.seconds_at(np.arange(0, score.length_ticks, 120)), 180.0)) * 120
        cut = slice_ticks(score, 0, end)
        if cut.note_count > best_notes:
            best, best_notes = cut, cut.note_count
    assert best is not None
    return best


def timed(fn: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"machine": machine(), "command": "python -m benchmarks.originality_calibration",
                              "rule": "see cadenza.originality.fingerprint and .calibrate", "indexes": {}}
    from cadenza.corpus.store import CorpusStore

    default, facts = index_facts("default", args.repeats)
    result["indexes"]["default"] = facts
    store = CorpusStore("default")
    if store.exists():
        manifest = store.manifest()
        for split in ("test", "valid"):
            rows = [r for r in manifest if r["split"] == split]
            facts[f"heldout_{split}"] = heldout(default, [s for _, s in corpus_works(store, rows)])
            print(f"default {split}: {facts[f'heldout_{split}']['top']}", file=sys.stderr)
        rows = [r for r in manifest if r["split"] == "test"]
        piece = three_minute_piece(store, rows)
        result["speed"] = {
            "piece": {"source": piece.metadata.source, "seconds": round(piece.duration_s, 1),
                      "notes": piece.note_count, "parts": len(piece.parts)},
            "check_s_median": timed(lambda: check_score(piece, default), args.repeats),
            "first_violation_16_bars_s_median": timed(
                lambda: default.first_violation(slice_ticks(piece, 0, int(piece.bar_starts()[16]))), args.repeats),
        }
        print(f"speed: {result['speed']}", file=sys.stderr)
    else:
        result["indexes"]["default"]["skipped"] = f"no default corpus at {store.folder}"
    if DATASETS.is_dir():
        for name in ("jsb", "nottingham"):
            index, facts = index_facts(name, args.repeats)
            result["indexes"][name] = facts
            for split in ("test", "valid"):
                facts[f"heldout_{split}"] = heldout(index, [s for _, s in benchmark_works(name, split)])
            print(f"{name} test: {facts['heldout_test']['top']}", file=sys.stderr)
        result["readme_definition"] = readme_baselines()
        print(f"readme: {result['readme_definition']}", file=sys.stderr)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
