"""How many model steps a note costs: Cadenza's compound events against a plain REMI-style stream.

    python -m benchmarks.token_cost [--corpus NAME] [--sample N]

Reads works from a built corpus (``cadenza corpus build``), encodes each, and counts steps per note. The
REMI figure counts the tokens a flat stream needs for the same music: a bar token per bar, a position token
per distinct onset in a bar, a part token whenever the part changes, and pitch, duration and velocity
tokens per note. Writes benchmarks/results/token_cost.json.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from benchmarks.common import machine
from cadenza.corpus import CorpusStore
from cadenza.lab.peer import remi_tokens
from cadenza.tokens.events import TokenizeError, encode

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "token_cost.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="default")
    parser.add_argument("--sample", type=int, default=2000)
    args = parser.parse_args(argv)
    store = CorpusStore(args.corpus)
    rows = store.manifest()
    random.Random(0).shuffle(rows)
    rows = rows[: args.sample]
    ours, remi, notes, out_of_bounds, per_work = 0, 0, 0, 0, []
    start = time.perf_counter()
    for row in rows:
        score = store.load_score(row)
        try:
            steps = len(encode(score))
        except TokenizeError:
            out_of_bounds += 1
            continue
        ours += steps
        remi += remi_tokens(score)
        notes += score.note_count
        per_work.append(steps / score.note_count)
    report = {
        "benchmark": "token_cost", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
        "command": f"python -m benchmarks.token_cost --corpus {args.corpus} --sample {args.sample}",
        "works": len(per_work), "notes": notes, "outside_the_vocabulary_bounds": out_of_bounds,
        "compound_steps_per_note": round(ours / notes, 4),
        "compound_steps_per_note_median_work": round(statistics.median(per_work), 4),
        "remi_tokens_per_note": round(remi / notes, 4),
        "encode_ms_per_work": round((time.perf_counter() - start) * 1000 / max(len(rows), 1), 2),
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
