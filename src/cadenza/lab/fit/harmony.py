"""Fit the harmony model the composer plans with: ``src/cadenza/compose/models/harmony.json``.

    python -m benchmarks.fit_harmony [--corpus v2] [--per-epoch 600] [--analysis learned] [--workers 2]

Data: the train split of a built corpus (default ``v2``), at most ``--per-epoch`` works per epoch label drawn
with a fixed seed, each analysed by ``listen`` as a whole: its chord on every strong beat (a bar's downbeat,
and its middle in even meters of four beats or more) and the key it is in there. With ``--analysis learned``
(the default) the chords and the local keys are the learned networks' (``listen.harmony_net``: on DCML pieces
they never learned from, root 80.6%, Roman numeral in the local key 64.1%, local key 75.1%), so a chord is
counted as an annotator's Roman numeral is, in the key of its passage: a minor movement's second theme in the
relative major counts in the major table, not as III, VII7 and ♭VI of the minor one; a move between two strong
beats is counted only where both are in one key, and a work where fewer than half the strong beats sound two
pitch classes (a melody alone: the networks would name the chords it implies) is left out. With ``--analysis
template`` (the tables' first fit) they are
the template matching's (``listen.harmony.beat_chords``: root 61.2%, Roman numeral 38.6% in one key) in the
work's one key (``listen.key.estimate_key``), and a work where it names a chord on fewer than half the strong
beats (a melody alone, a drum track) is left out. A chord is kept as its root's distance above the tonic and
its quality. Counted per (epoch, mode): how often each chord opens a strong beat and what follows it on the next
(the same chord again included, so the model also knows how long harmonies last). Chords heard on fewer than
1% of an (epoch, mode)'s strong beats are left out of its table. Deterministic; about 3 minutes with two
workers (``--workers`` processes share the works).

Validation (:func:`validate`, written into the model as ``validation`` where ``--datasets`` holds the DCML piano
corpora): on the strong beats of the harmony benchmark's 58 annotated movements, which the networks never learned
from, how often each analysis names the annotators' (mode, degree:quality), the total-variation distance
between the distribution of what it names and the annotators' (the distance a table fitted from it inherits),
and how often it names the same chord on the next strong beat (how long its chords last, which the tables'
moves learn).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import random
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.corpus.store import CorpusStore
from cadenza.lab.fit import PACKAGE, SHARED_DATASETS
from cadenza.listen import harmony
from cadenza.listen.craft import strong_points
from cadenza.listen.features import View
from cadenza.listen.key import estimate_key

OUT = PACKAGE / "compose" / "models" / "harmony.json"
MIN_SHARE = 0.01  # a chord rarer than this in an (epoch, mode) is left out of its table
MIN_NAMED = 0.5  # works where listen names a chord (or two pitch classes sound) on fewer strong beats carry no harmony


ANALYSES = ("learned", "template")


def strong_beats(view: View) -> np.ndarray:
    """The beats of the chord grid on which the strong points fall (a bar's downbeat, and its middle in even
    meters of four beats or more)."""
    return (strong_points(view) + view.phase_ticks) // view.beat_ticks


def strong_chords(view: View) -> tuple[int, str, list[str | None]]:
    """The work's key and its chord on every strong beat as "degree:quality" (None where listen names none),
    by the template matching in the work's one key."""
    key = estimate_key(view)
    chords = harmony.beat_chords(view)
    beats = strong_beats(view)
    out: list[str | None] = []
    for beat in beats.tolist():
        if 0 <= beat < len(chords.roots) and chords.roots[beat] >= 0:
            out.append(f"{(int(chords.roots[beat]) - key.tonic) % 12}:{chords.qualities[beat]}")
        else:
            out.append(None)
    return key.tonic, key.mode, out


def local_strong_chords(view: View) -> list[tuple[str, str] | None]:
    """(mode of the local key, "degree:quality" above its tonic) on every strong beat, as the learned networks
    hear them (None past the chord grid's end)."""
    from cadenza.listen.harmony_net import beat_arrays, learned_local_keys

    arrays = beat_arrays(view)
    chords = harmony.decoded_beat_chords(view, arrays)
    keys = learned_local_keys(view, arrays)
    out: list[tuple[str, str] | None] = []
    for beat in strong_beats(view).tolist():
        if not 0 <= beat < min(len(chords.roots), len(keys)) or chords.roots[beat] < 0:
            out.append(None)
            continue
        tonic, mode = keys[beat]
        out.append((mode, f"{(int(chords.roots[beat]) - tonic) % 12}:{chords.qualities[beat]}"))
    return out


def sounds_harmony(view: View) -> bool:
    """Whether at least :data:`MIN_NAMED` of a work's strong beats sound two pitch classes or more: the networks
    name an implied chord under a melody alone, which no one wrote (fitted with them, the folk tables' chords lasted
    longer than any real tune's: lead sheets changed chord 0.69 times a bar against Nottingham's 0.81-1.80)."""
    beats = strong_beats(view)
    chroma = view.beat_chroma
    inside = beats[(beats >= 0) & (beats < len(chroma))]
    return bool(len(inside)) and int(((chroma[inside] > 0).sum(axis=1) >= 2).sum()) >= MIN_NAMED * len(beats)


@cache
def _store(corpus: str) -> CorpusStore:
    """One store per process: it keeps the shard it read last, and the rows come in shard order."""
    return CorpusStore(corpus)


def _work_chords(job: tuple[str, dict[str, Any], str]) -> tuple[str, list[tuple[str, str] | None] | None]:
    """(work id, its strong beats' (mode, chord), or None where it carries no harmony) of one manifest row."""
    corpus, row, analysis = job
    try:
        score = _store(corpus).load_score(row)
        if score.note_count < 16:
            return row["id"], None
        view = View(score)
        if analysis == "learned":
            return row["id"], local_strong_chords(view) if sounds_harmony(view) else None
        _tonic, mode, chords = strong_chords(view)
    except Exception as error:  # noqa: BLE001 - a damaged work (any parser error): left out
        logging.warning("%s: %s", row["id"], error)
        return row["id"], None
    named = [c for c in chords if c is not None]
    if not chords or len(named) < MIN_NAMED * len(chords):
        return row["id"], None
    return row["id"], [(mode, c) if c is not None else None for c in chords]


def _distance(a: Counter, b: Counter) -> float:
    """Total-variation distance between two count distributions."""
    total_a, total_b = max(sum(a.values()), 1), max(sum(b.values()), 1)
    return 0.5 * sum(abs(a[k] / total_a - b[k] / total_b) for k in set(a) | set(b))


def validate(dcml_root: Path, per_corpus: int = 6) -> dict[str, Any]:
    """Each analysis' strong-beat chords against the annotators' on the harmony benchmark's movements (see the
    module docstring)."""
    from cadenza.lab.harmony import aligned_labels, beat_labels, clean_label, dcml_movements
    from cadenza.score import read_score

    named: dict[str, Counter] = {name: Counter() for name in ("human", *ANALYSES)}
    agree: Counter = Counter()
    held: dict[str, list[int]] = {name: [0, 0] for name in ("human", *ANALYSES)}  # same chord next, pairs
    movements = dcml_movements(dcml_root, per_corpus)
    for path in movements:
        try:
            score = read_score(path)
            view = View(score)
            humans, _ = beat_labels(view, [(t, x) for t, x in aligned_labels(path, score) if clean_label(x)])
            _tonic, mode, template = strong_chords(view)
            heard = {"learned": local_strong_chords(view),
                     "template": [(mode, c) if c is not None else None for c in template]}
        except Exception as error:  # noqa: BLE001 - a movement that cannot be read is left out, and said
            logging.warning("%s: %s", path.name, error)
            continue
        beats = strong_beats(view).tolist()
        wanted: list[tuple[str, str] | None] = []
        for i, beat in enumerate(beats):
            human = humans[beat] if 0 <= beat < len(humans) else None
            if human is None or human.root < 0 or not human.quality:
                wanted.append(None)
                continue
            wanted.append((human.mode, f"{(human.root - human.tonic) % 12}:{human.quality}"))
            named["human"][wanted[i]] += 1
            for name in ANALYSES:
                if heard[name][i] is not None:
                    named[name][heard[name][i]] += 1
                    agree[name] += heard[name][i] == wanted[i]
        for name, chords in (("human", wanted), *heard.items()):  # how long a chord lasts: the same one next
            for a, b in itertools.pairwise(chords):
                if a is not None and b is not None:
                    held[name][0] += a == b
                    held[name][1] += 1
    beats = sum(named["human"].values())
    return {"movements": len(movements), "strong_beats": beats,
            "annotators_same_chord_next": round(held["human"][0] / max(held["human"][1], 1), 3),
            **{name: {"agrees_with_annotators": round(agree[name] / max(beats, 1), 3),
                      "distance_to_annotators": round(_distance(named[name], named["human"]), 3),
                      "same_chord_next": round(held[name][0] / max(held[name][1], 1), 3)}
               for name in ANALYSES}}


def fit(corpus: str, per_epoch: int, seed: int = 0, analysis: str = "learned", workers: int = 1,
        min_share: float = MIN_SHARE) -> dict:
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
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    try:
        for epoch in sorted(by_epoch):
            chosen = by_epoch[epoch]
            rng.shuffle(chosen)
            # (the sample drawn, read in shard order: each shard is read once, not once a work)
            rows = sorted(chosen[:per_epoch], key=lambda r: (r["shard"], r["shard_index"]))
            jobs = [(corpus, row, analysis) for row in rows]
            heard = pool.map(_work_chords, jobs, chunksize=16) if pool else map(_work_chords, jobs)
            for _work, chords in heard:
                if not chords:
                    continue
                for mode in sorted({c[0] for c in chords if c is not None}):
                    works[(epoch, mode)] += 1
                for chord in chords:
                    if chord is not None:
                        starts[(epoch, chord[0])][chord[1]] += 1
                for a, b in itertools.pairwise(chords):
                    if a is not None and b is not None and a[0] == b[0]:
                        moves[(epoch, a[0])][a[1]][b[1]] += 1
            logging.info("%s: %d works with harmony (%.0f s)", epoch, sum(n for (e, _), n in works.items()
                                                                         if e == epoch), time.perf_counter() - began)
    finally:
        if pool:
            pool.shutdown()
    tables = {}
    for (epoch, mode), counts in sorted(starts.items()):
        total = sum(counts.values())
        keep = sorted(c for c, n in counts.items() if n >= min_share * total)
        table = {a: {b: int(n) for b, n in sorted(moves[(epoch, mode)][a].items()) if b in keep} for a in keep}
        tables[f"{epoch}/{mode}"] = {"works": works[(epoch, mode)], "strong_beats": int(total),
                                     "chords": {c: int(counts[c]) for c in keep}, "moves": table}
    return {"format": "cadenza-harmony", "version": 1, "corpus": corpus, "per_epoch": per_epoch, "seed": seed,
            "analysis": analysis, "min_share": min_share, "seconds": round(time.perf_counter() - began),
            "made_by": f"python -m benchmarks.fit_harmony --corpus {corpus} --per-epoch {per_epoch} "
                       f"--analysis {analysis} --min-share {min_share}",
            "tables": tables}


def main(argv: list[str] | None = None) -> int:
    """Fit the harmony model and write it (``--out``, default the shipped one); its tables go to the log."""
    np.seterr(all="ignore")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="v2")
    parser.add_argument("--per-epoch", type=int, default=600)
    parser.add_argument("--analysis", choices=ANALYSES, default="learned",
                        help="whose chords and keys: the learned networks' (local keys) or the template matching's")
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the works")
    parser.add_argument("--min-share", type=float, default=MIN_SHARE,
                        help="a chord on fewer of a table's strong beats than this share is left out of it")
    parser.add_argument("--datasets", type=Path, default=SHARED_DATASETS,
                        help="holds classical/dcml-piano, for the validation (skipped where absent)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    model = fit(args.corpus, args.per_epoch, analysis=args.analysis, workers=args.workers, min_share=args.min_share)
    dcml = args.datasets / "classical" / "dcml-piano"
    if dcml.is_dir():
        model["validation"] = validate(dcml)
        logging.info("validation: %s", model["validation"])
    else:
        logging.info("%s not found: no validation", dcml)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for name, table in model["tables"].items():
        top = sorted(table["chords"].items(), key=lambda kv: -kv[1])[:6]
        logging.info("%s: %d works, %d chords; %s", name, table["works"], len(table["chords"]), top)
    logging.info("wrote %s", args.out)
    return 0
