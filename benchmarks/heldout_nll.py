"""Held-out NLL per note of a model against the variable-order n-gram baseline, on a corpus' test split,
overall and per source and per epoch (the default model must beat the baseline by at least 15%).

    python -m benchmarks.heldout_nll [--corpus default] [--checkpoint DIR] [--orders 3,4,6] [--limit N]

Both models score the same event sequences, exactly, in nats: every step of every test work after its bos
(parts, bars, notes, end). The n-gram is fitted on the corpus' train split; its order is chosen on the valid
split. The transformer is scored twice: with no labels (what the n-gram sees) and with the work's labels
(how Cadenza composes: labels are the request). Writes benchmarks/results/heldout_nll.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.common import machine
from cadenza.corpus import CorpusStore
from cadenza.model.checkpoint import default_checkpoint, load_checkpoint
from cadenza.tokens.events import TokenizeError, encode
from cadenza.tokens.labels import label_ids
from cadenza.train.benchmark import sequence_nll
from cadenza.train.ngram import StepNgram

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "heldout_nll.json"
log = logging.getLogger("heldout_nll")


def split_works(store: CorpusStore, split: str, limit: int | None) -> list[dict[str, Any]]:
    """The split's works that the vocabulary holds: steps, labels, source, epoch and note count."""
    rows = [r for r in store.manifest() if r["split"] == split]
    if limit and len(rows) > limit:
        rows = [rows[i] for i in np.linspace(0, len(rows) - 1, limit).astype(int)]
    works = []
    for row in rows:
        score = store.load_score(row)
        try:
            steps = encode(score)
        except TokenizeError:
            continue
        labels = label_ids(row["labels"])
        works.append({"steps": steps, "labelled": encode(score, labels), "labels": labels, "source": row["source"],
                      "epoch": str(row["labels"].get("epoch", "unknown")), "notes": score.note_count})
    return works


def table(works: list[dict[str, Any]], scores: dict[str, list[float]]) -> dict[str, Any]:
    """NLL per note for every scorer, overall and per source and epoch."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, work in enumerate(works):
        groups["all"].append(i)
        groups[f"source={work['source']}"].append(i)
        groups[f"epoch={work['epoch']}"].append(i)
    out = {}
    for name, members in sorted(groups.items(), key=lambda kv: (kv[0] != "all", kv[0])):
        notes = sum(works[i]["notes"] for i in members)
        row: dict[str, Any] = {"works": len(members), "notes": notes}
        for scorer, values in scores.items():
            row[scorer] = round(sum(values[i] for i in members) / max(notes, 1), 4)
        if "ngram" in scores and "transformer_no_labels" in scores:
            row["gain_vs_ngram"] = round(1 - row["transformer_no_labels"] / row["ngram"], 4)
        out[name] = row
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="default")
    parser.add_argument("--checkpoint", help="model folder (default: the shipped default model)")
    parser.add_argument("--orders", default="2,3,4,5", help="n-gram orders to choose from on valid")
    parser.add_argument("--limit", type=int, help="at most N works per split (a spread)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)
    store = CorpusStore(args.corpus)
    started = time.time()
    train = split_works(store, "train", None)
    valid = split_works(store, "valid", args.limit)
    test = split_works(store, "test", args.limit)
    log.info("works: %d train, %d valid, %d test", len(train), len(valid), len(test))
    from cadenza.tokens import field_sizes

    orders = sorted(map(int, args.orders.split(",")))
    ngram = StepNgram(orders[-1], field_sizes()).fit(w["steps"] for w in train)  # one fit serves every order
    ngram_valid = {}
    for order in orders:
        nll = sum(ngram.nll(w["steps"], order) for w in valid) / sum(w["notes"] for w in valid)
        ngram_valid[order] = round(nll, 4)
        log.info("n-gram order %d: valid %.4f nats/note", order, nll)
    best_order = min(ngram_valid, key=lambda k: ngram_valid[k])
    checkpoint = args.checkpoint or str(default_checkpoint())
    net, config = load_checkpoint(checkpoint)
    scores: dict[str, list[float]] = {"ngram": [], "transformer_no_labels": [], "transformer_labels": []}
    for i, work in enumerate(test):
        scores["ngram"].append(ngram.nll(work["steps"], best_order))
        scores["transformer_no_labels"].append(sequence_nll(net, work["steps"]))
        labelled = work["labelled"]
        # the label steps are given, not predicted: score the music after them
        header = sequence_nll(net, labelled[:len(work["labels"]) + 1])
        scores["transformer_labels"].append(sequence_nll(net, labelled) - header)
        if (i + 1) % 100 == 0:
            log.info("%d/%d test works scored", i + 1, len(test))
    report = {"benchmark": "heldout_nll", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "command": "python -m benchmarks.heldout_nll " + " ".join(sys.argv[1:] if argv is None else argv),
              "corpus": args.corpus, "checkpoint": checkpoint, "ngram_order": best_order,
              "ngram_valid_nll_per_note": ngram_valid, "unit": "nats per note (test split)",
              "table": table(test, scores), "seconds": round(time.time() - started, 1),
              "model_training": {k: v for k, v in config.get("training", {}).items() if k != "history"}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for name, row in report["table"].items():
        log.info("%-28s %5d works  n-gram %.3f  transformer %.3f (labels %.3f)  gain %.1f%%", name, row["works"],
                 row["ngram"], row["transformer_no_labels"], row["transformer_labels"], 100 * row["gain_vs_ngram"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
