"""Fit the harmony model the composer plans with: ``src/cadenza/compose/models/harmony.json``.

    python -m benchmarks.fit_harmony [--corpus v2] [--per-epoch 400]

Data: the train split of a built corpus (default ``v2``), at most ``--per-epoch`` works per epoch label drawn
with a fixed seed, each analysed by ``listen`` as a whole: its key (``listen.key.estimate_key``) and its chord
on every strong beat (a bar's downbeat, and its middle in even meters of four beats or more;
``listen.harmony.beat_chords``). A chord is kept as its root's distance above the tonic and its quality; a
work where listen names a chord on fewer than half the strong beats (a melody alone, a drum track) is left
out. Counted per (epoch, mode): how often each chord opens a strong beat and what follows it on the next
(the same chord again included, so the model also knows how long harmonies last). Chords heard on fewer than
1% of an (epoch, mode)'s strong beats are left out of its table. Deterministic; a few minutes on one core.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import random
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from cadenza.corpus.store import CorpusStore
from cadenza.lab.fit import PACKAGE
from cadenza.listen import harmony
from cadenza.listen.craft import strong_points
from cadenza.listen.features import View
from cadenza.listen.key import estimate_key

OUT = PACKAGE / "compose" / "models" / "harmony.json"
MIN_SHARE = 0.01  # a chord rarer than this in an (epoch, mode) is left out of its table
MIN_NAMED = 0.5  # works where listen names a chord on fewer strong beats than this carry no harmony


def strong_chords(view: View) -> tuple[int, str, list[str | None]]:
    """The work's key and its chord on every strong beat as "degree:quality" (None where listen names none)."""
    key = estimate_key(view)
    chords = harmony.beat_chords(view)
    beats = (strong_points(view) + view.phase_ticks) // view.beat_ticks
    out: list[str | None] = []
    for beat in beats.tolist():
        if 0 <= beat < len(chords.roots) and chords.roots[beat] >= 0:
            out.append(f"{(int(chords.roots[beat]) - key.tonic) % 12}:{chords.qualities[beat]}")
        else:
            out.append(None)
    return key.tonic, key.mode, out


def fit(corpus: str, per_epoch: int, seed: int = 0) -> dict:
    store = CorpusStore(corpus)
    rows = [r for r in store.manifest() if r.get("split") == "train" and r.get("epoch")]
    by_epoch: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_epoch[row["epoch"]].append(row)
    rng = random.Random(seed)
    starts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    moves: dict[tuple[str, str], dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    works: Counter = Counter()
    began = time.perf_counter()
    for epoch in sorted(by_epoch):
        chosen = by_epoch[epoch]
        rng.shuffle(chosen)
        for row in chosen[:per_epoch]:
            try:
                score = store.load_score(row)
                if score.note_count < 16:
                    continue
                _tonic, mode, chords = strong_chords(View(score))
            except Exception as error:  # noqa: BLE001 - a damaged work (any parser error): left out
                logging.warning("%s: %s", row["id"], error)
                continue
            named = [c for c in chords if c is not None]
            if not chords or len(named) < MIN_NAMED * len(chords):
                continue
            works[(epoch, mode)] += 1
            starts[(epoch, mode)].update(named)
            for a, b in itertools.pairwise(chords):
                if a is not None and b is not None:
                    moves[(epoch, mode)][a][b] += 1
        logging.info("%s: %d works with harmony (%.0f s)", epoch,
                     works[(epoch, "major")] + works[(epoch, "minor")], time.perf_counter() - began)
    tables = {}
    for (epoch, mode), counts in sorted(starts.items()):
        total = sum(counts.values())
        keep = sorted(c for c, n in counts.items() if n >= MIN_SHARE * total)
        table = {a: {b: int(n) for b, n in sorted(moves[(epoch, mode)][a].items()) if b in keep} for a in keep}
        tables[f"{epoch}/{mode}"] = {"works": works[(epoch, mode)], "strong_beats": int(total),
                                     "chords": {c: int(counts[c]) for c in keep}, "moves": table}
    return {"format": "cadenza-harmony", "version": 1, "corpus": corpus, "per_epoch": per_epoch, "seed": seed,
            "made_by": f"python -m benchmarks.fit_harmony --corpus {corpus} --per-epoch {per_epoch}",
            "tables": tables}


def main(argv: list[str] | None = None) -> int:
    """Fit the harmony model and write it (``--out``, default the shipped one); its tables go to the log."""
    np.seterr(all="ignore")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="v2")
    parser.add_argument("--per-epoch", type=int, default=400)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    model = fit(args.corpus, args.per_epoch)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for name, table in model["tables"].items():
        top = sorted(table["chords"].items(), key=lambda kv: -kv[1])[:6]
        logging.info("%s: %d works, %d chords; %s", name, table["works"], len(table["chords"]), top)
    logging.info("wrote %s", args.out)
    return 0
