"""Which classical works the event vocabulary holds, before and after a score's parts are reduced.

    python -m benchmarks.part_reduction [--cache DIR] [--read-only]

Reads the 96 OpenScore Orchestra movements and the ``**kern`` files of ../shared/datasets/classical (the
corpus build's reader, 120 s a file), keeping each Score as JSON in ``--cache`` so a second run reads none
again. Counts, per folder, why :func:`cadenza.tokens.events.encode` refuses works as read and how many it
holds after :func:`cadenza.tokens.events.encodable` (parts reduced to the vocabulary's 16); for the
orchestra, the part counts before and after and the time of the reduction, and which works encode but do not
decode to the same notes. Results go to
benchmarks/results/part_reduction.json.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import git_commit, machine
from cadenza.corpus.classical import list_files
from cadenza.corpus.sources import find_datasets
from cadenza.score import ReadLimits, Score
from cadenza.score.json_io import score_from_dict, score_to_dict
from cadenza.score.read import read_score

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "part_reduction.json"
FOLDERS = ("openscore-orchestra", "kern")
log = logging.getLogger("part_reduction")


def cached_scores(folder: Path, files: list[Path], cache: Path) -> dict[str, Score | str]:
    """Each file's Score (or why it could not be read), read once and then taken from ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    out: dict[str, Score | str] = {}
    big = ReadLimits(max_notes=10**8, max_duration_s=1e9, max_measures=10**8)
    for i, path in enumerate(files, 1):
        rel = str(path.relative_to(folder))
        entry = cache / (hashlib.sha1(str(path).encode()).hexdigest()[:16] + ".json.gz")
        if entry.is_file():
            doc = json.loads(gzip.decompress(entry.read_bytes()))
        else:
            start = time.perf_counter()
            try:
                doc = {"score": score_to_dict(read_score(path, ReadLimits(timeout_s=120)))}
            except Exception as exc:  # noqa: BLE001 - a file that cannot be read is counted, not fatal
                doc = {"error": f"{type(exc).__name__}: {exc}"[:200]}
            doc["read_s"] = round(time.perf_counter() - start, 2)
            entry.write_bytes(gzip.compress(json.dumps(doc).encode()))
            log.info("%d/%d %s %.1fs", i, len(files), rel, doc["read_s"])
        out[rel] = score_from_dict(doc["score"], big) if "score" in doc else doc["error"]
    return out


def reason(score: Score) -> str:
    """'ok', the bound that :func:`encode` names when it refuses the score ('parts', 'bar', 'tempo'), or
    'field_range' when it encodes to a value outside a field (training data leaves those out too)."""
    from cadenza.tokens.events import FIELD_SIZES, FIELDS, TokenizeError, encode

    try:
        steps = encode(score)
    except TokenizeError as exc:
        text = str(exc)
        return "parts" if "parts" in text else "bar" if "bar" in text else "tempo" if "tempo" in text else text
    upper = np.array([FIELD_SIZES.get(name, 1 << 30) for name in FIELDS])
    return "field_range" if ((steps < 0) | (steps >= upper)).any() else "ok"


def measure(scores: dict[str, Score | str]) -> dict[str, Any]:
    from cadenza.tokens.events import decode, encodable, encode

    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    parts: dict[str, list[int]] = {}
    seconds: list[float] = []
    inexact = []
    for rel, score in scores.items():
        if isinstance(score, str):
            before["unreadable"] += 1
            after["unreadable"] += 1
            continue
        before[reason(score)] += 1
        start = time.perf_counter()
        reduced = encodable(score)
        if reduced is not score:
            seconds.append(time.perf_counter() - start)
        parts[rel] = [len(score.parts), len(reduced.parts)]
        after[why := reason(reduced)] += 1
        if why == "ok" and not np.array_equal(decode(encode(reduced)).notes, reduced.notes):
            inexact.append(rel)
    return {"files": len(scores), "before": dict(before), "after": dict(after),
            "after_not_decoding_exactly": inexact, "parts": parts, "reduced": len(seconds),
            "reduce_s_max": round(max(seconds, default=0.0), 4), "reduce_s_total": round(sum(seconds), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/cadenza-part-reduction"))
    parser.add_argument("--read-only", action="store_true", help="read and cache the scores, measure nothing")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    datasets = find_datasets()
    if datasets is None or not (datasets / "classical").is_dir():
        print("../shared/datasets/classical is not here: nothing to measure")
        return 1
    root = datasets / "classical"
    results: dict[str, Any] = {}
    for folder in FOLDERS:
        files = [p for p in list_files(root, folder) if folder != "kern" or p.suffix == ".krn"]
        scores = cached_scores(root / folder, files, args.cache / folder)
        if not args.read_only:
            results[folder] = measure(scores)
    if args.read_only:
        return 0
    report = {"benchmark": "part_reduction", "date": time.strftime("%Y-%m-%d"), "commit": git_commit(),
              "command": "python -m benchmarks.part_reduction " + " ".join(argv if argv is not None else sys.argv[1:]),
              "machine": machine(), "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    for folder, r in results.items():
        print(f"{folder:20s} {r['files']:4d} files  before {r['before']}  after {r['after']}  "
              f"reduced {r['reduced']} in {r['reduce_s_total']} s (max {r['reduce_s_max']} s); "
              f"{len(r['after_not_decoding_exactly'])} encode but do not decode exactly")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
