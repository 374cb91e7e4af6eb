"""NLL benchmarks: the polyphonic-music table (Boulanger-Lewandowski 2012: JSB, Nottingham, MuseData,
Piano-midi.de) with the published rows beside Cadenza's benchmark checkpoints and the n-gram baseline; and
held-out NLL per note of a composer model on a corpus' test split against the variable-order n-gram
(Markov) baseline over the same event steps.

``benchmarks/nll_table.py``, ``benchmarks/heldout_nll.py`` and ``cadenza bench --only nll`` call these.

- **Boulanger table**: each shipped checkpoint (``src/cadenza/models/benchmarks/<name>``) is scored on the
  official test (and valid) split exactly as ``cadenza eval nll`` does (renormalised over canonical roll
  sequences: the roll's own NLL, in nats per frame). The n-gram is fitted on the train split and scores the
  raw canonical sequences (an upper bound on its frame NLL). A benchmark with no shipped checkpoint is
  reported as "not trained", with its published rows.
- **held-out**: both models score the same event sequences, exactly, in nats: every step of every test work
  after its bos. The n-gram is fitted on the train split, its order chosen on the valid split. The
  transformer is scored twice: with no labels (what the n-gram sees) and with the work's labels (the label
  steps given, not predicted: how Cadenza composes).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

Progress = Callable[[int, int], None]
BOULANGER = ("jsb", "nottingham", "musedata", "piano")
BOULANGER_NAMES = {"jsb": "JSB Chorales", "nottingham": "Nottingham", "musedata": "MuseData",
                   "piano": "Piano-midi.de"}


FRAME_METRIC = ("test NLL in nats per frame, the model renormalised over canonical roll sequences (exact for "
                "the roll)")


# ----------------------------------------------------------------------------------- the Boulanger table
def ngram_frame_nll(name: str, order: int, limit: int | None = None, train_limit: int | None = None) -> float:
    """The n-gram baseline's test NLL per frame (raw step probabilities: an upper bound), on the first
    ``limit`` test sequences (all when None), fitted on the first ``train_limit`` train sequences (all)."""
    from cadenza.corpus.rolls import benchmark_steps, load_rolls
    from cadenza.lab.ngram import StepNgram
    from cadenza.tokens import field_sizes

    model = StepNgram(order, field_sizes()).fit(benchmark_steps(name, "train")[:train_limit])
    test = benchmark_steps(name, "test")[:limit]
    total = sum(model.nll(s) for s in test)
    return total / sum(len(r) for r in load_rolls(name)["test"][:limit])


def published(name: str) -> dict[str, float]:
    from cadenza.lab.boulanger import PUBLISHED

    return {model: rows[name] for model, rows in PUBLISHED.items() if rows.get(name) is not None}


def boulanger_row(name: str, checkpoint: str | Path, ngram_order: int = 4, limit: int | None = None,
                  valid: bool = True) -> dict[str, Any]:
    """One benchmark's row: the checkpoint's test (and valid) NLL per frame, the published results and the
    n-gram baseline; ``limit`` scores only the first N sequences of each split (a quick check)."""
    from cadenza.lab.boulanger import frame_nll
    from cadenza.lab.mixture import load_scorer
    from cadenza.threads import ensure_threads

    started = time.time()
    model, config = load_scorer(checkpoint)
    ensure_threads()  # torch's thread count, set once per process (cadenza.threads)
    row: dict[str, Any] = {"status": "trained", "checkpoint": str(checkpoint),
                           "parameters": model.parameter_count(),
                           "test": frame_nll(model, name, "test", limit=limit)}
    if valid:
        row["valid"] = frame_nll(model, name, "valid", limit=limit)
    row["published"] = published(name)
    train_limit = None if limit is None else 10 * limit  # a quick check fits the baseline on part of train
    row["ngram_baseline"] = {"order": ngram_order, "train_sequences": train_limit or "all",
                             "test_nll_per_frame": round(ngram_frame_nll(name, ngram_order, limit, train_limit), 4)}
    row["training"] = {k: v for k, v in config.get("training", {}).items() if k != "history"}
    if "members" in config:  # an ensemble: an exact mixture of the members, weights fitted on valid
        row["ensemble"] = {"members": config["members"], "weights": config["weights"],
                           "member_training": {name: {k: v for k, v in t.items() if k != "history"}
                                               for name, t in config["member_training"].items()}}
    row["metric"] = FRAME_METRIC
    row["limit"] = limit
    row["seconds"] = round(time.time() - started, 1)
    return row


def boulanger_table(names: Iterable[str] = BOULANGER, checkpoints: dict[str, str] | None = None,
                    ngram_order: int = 4, limit: int | None = None, valid: bool = True,
                    progress: Progress | None = None) -> dict[str, Any]:
    """{benchmark: row} for every benchmark: scored where a checkpoint exists (given, else shipped), "not
    trained" with the published rows where none does, "no data" where ../shared/datasets lacks its rolls."""
    from cadenza.errors import CadenzaError
    from cadenza.lab.boulanger import shipped_checkpoint
    from cadenza.lab.mixture import read_scorer_config

    wanted = list(names)
    out: dict[str, Any] = {}
    for done, name in enumerate(wanted, 1):
        checkpoint = Path((checkpoints or {}).get(name) or shipped_checkpoint(name))
        try:
            read_scorer_config(checkpoint)
        except CadenzaError:
            out[name] = {"status": "not trained", "published": published(name),
                         "why": f"no checkpoint ships for {name} (train one: cadenza eval nll --benchmark {name} "
                                "--train)"}
        else:
            try:
                out[name] = boulanger_row(name, checkpoint, ngram_order, limit, valid)
            except CadenzaError as exc:  # the rolls are missing (../shared/datasets)
                out[name] = {"status": "no data", "published": published(name), "why": str(exc)}
        if progress:
            progress(done, len(wanted))
    return out


# ------------------------------------------------------------------------------------ held-out per note
def split_works(store: Any, split: str, limit: int | None, chords: bool = True) -> list[dict[str, Any]]:
    """The split's works that the vocabulary holds (``limit``: an even spread of at most N): steps, steps
    with labels, label ids, source, epoch and note count; with the chords heard in them unless ``chords`` is
    False (for a model of the first vocabulary)."""
    from cadenza.tokens.events import TokenizeError, corpus_steps, encode, heard_chords
    from cadenza.tokens.labels import label_ids

    rows = [r for r in store.manifest() if r["split"] == split]
    if limit and len(rows) > limit:
        rows = [rows[i] for i in np.linspace(0, len(rows) - 1, limit).astype(int)]
    works = []
    for row in rows:
        try:
            score, steps = corpus_steps(store.load_score(row), chords=chords)
        except TokenizeError:
            continue
        labels = label_ids(row["labels"])
        labelled = encode(score, labels, chords=heard_chords(score) if chords else None)
        works.append({"steps": steps, "labelled": labelled, "labels": labels, "source": row["source"],
                      "epoch": str(row["labels"].get("epoch", "unknown")), "notes": score.note_count})
    return works


def heldout_table(works: list[dict[str, Any]], scores: dict[str, list[float]]) -> dict[str, Any]:
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
            row["gain_vs_ngram"] = round(1 - row["transformer_no_labels"] / row["ngram"], 4) if row["ngram"] else None
        out[name] = row
    return out


def _train_steps(store: Any, limit: int | None, chords: bool = True) -> list[np.ndarray]:
    """The train split's step sequences: from the trainer's cache when all are wanted, else a spread."""
    if limit is None and chords:
        from cadenza.train.data import prepare_split

        data = prepare_split(store, "train")
        return [data.work(i) for i in range(data.works)]
    return [w["steps"] for w in split_works(store, "train", limit, chords)]


def heldout_nll(corpus: str = "default", checkpoint: str | Path | None = None, orders: Iterable[int] = (2, 3, 4, 5),
                limit: int | None = 300, train_limit: int | None = None,
                progress: Progress | None = None) -> dict[str, Any]:
    """Held-out NLL per note of the model (the default one when None) and the n-gram on the corpus' test split
    (``limit``: an even spread of at most N works; the valid split likewise); the n-gram is fitted on the
    train split (``train_limit``: a spread of N works; None: all)."""
    from cadenza.corpus import CorpusStore
    from cadenza.errors import UsageError
    from cadenza.lab.ngram import StepNgram
    from cadenza.model.checkpoint import default_checkpoint, load_checkpoint
    from cadenza.model.scoring import sequence_nll
    from cadenza.tokens import field_sizes

    started = time.time()
    store = CorpusStore(corpus)
    if not store.exists():
        raise UsageError(f"no corpus {corpus!r} (build it: cadenza corpus build)")
    folder = str(checkpoint or default_checkpoint())
    net, config = load_checkpoint(folder)
    chords = net.chord_events  # the works as the model reads them: with chord steps, or (first vocabulary) none
    valid = split_works(store, "valid", limit, chords)
    test = split_works(store, "test", limit, chords)
    if not test or not valid:
        raise UsageError(f"the corpus {corpus!r} has no encodable works in its valid or test split")
    orders = sorted(orders)
    ngram = StepNgram(orders[-1], field_sizes()).fit(_train_steps(store, train_limit, chords))  # one fit, every order
    ngram_valid = {}
    for order in orders:
        nll = sum(ngram.nll(w["steps"], order) for w in valid) / sum(w["notes"] for w in valid)
        ngram_valid[order] = round(nll, 4)
    best_order = min(ngram_valid, key=lambda k: ngram_valid[k])
    scores: dict[str, list[float]] = {"ngram": [], "transformer_no_labels": [], "transformer_labels": []}
    from cadenza.threads import ensure_threads

    ensure_threads()  # torch's thread count, set once per process (cadenza.threads)
    for i, work in enumerate(test):
        scores["ngram"].append(ngram.nll(work["steps"], best_order))
        scores["transformer_no_labels"].append(sequence_nll(net, work["steps"]))
        labelled = work["labelled"]
        header = sequence_nll(net, labelled[:len(work["labels"]) + 1])  # the label steps are given
        scores["transformer_labels"].append(sequence_nll(net, labelled) - header)
        if progress:
            progress(i + 1, len(test))
    return {"corpus": corpus, "checkpoint": folder, "limit": limit, "train_limit": train_limit,
            "ngram_order": best_order, "ngram_valid_nll_per_note": ngram_valid, "unit": "nats per note (test split)",
            "table": heldout_table(test, scores), "seconds": round(time.time() - started, 1),
            "model_training": {k: v for k, v in config.get("training", {}).items() if k != "history"}}
