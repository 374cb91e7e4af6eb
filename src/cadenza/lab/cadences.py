"""How well ``listen`` hears cadences: its cadences (``listen.harmony.cadence_beats``, what ``analyse`` reports,
the ear judges and the craft and style measures count) against the cadences human annotators marked in the DCML
corpora (``|PAC``, ``|IAC``, ``|HC``, ``|DC``, ``|PC`` and ``|EC`` after a ``<harmony><function>`` label of
``shared/datasets/classical/dcml-piano``).

A human cadence is placed at its label's onset (the arrival chord), on the read Score's timeline
(:func:`cadenza.lab.harmony.aligned_labels`); listen's at the beat where its chord change lands. The two match
when they lie within :data:`TOLERANCE_BEATS` of each other, each cadence matched once (nearest first).
Two hearings are scored: *listen* (its own chords and key: what every caller gets) and *rule on the
annotators' chords* (the same cadence rule over the human chord and local key of every beat), which says how
much of the gap is the rule's and how much the chords'. Reported over all movements and per corpus:
*precision* (the share of listen's cadences that a human marked
there), *recall* (the share of the humans' authentic, half, deceptive and plagal cadences that listen hears; an
evaded cadence, ``EC``, is a place where the music avoids closing and is neither sought nor counted against
listen), the kinds' agreement where both hear one (PAC and IAC are authentic, HC half, DC deceptive, PC plagal),
and cadences per bar of each.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.lab.harmony import aligned_labels, beat_labels, clean_label, dcml_movements
from cadenza.listen.features import View
from cadenza.listen.harmony import BeatChords, beat_chords, cadence_beats
from cadenza.listen.key import estimate_key
from cadenza.score import Score, read_score

#: beats apart at most for a listened and a marked cadence to be the same
TOLERANCE_BEATS = 2
#: the annotators' cadence marks, as listen names their kinds ("" for an evaded cadence)
HUMAN_KINDS = {"PAC": "authentic", "IAC": "authentic", "HC": "half", "DC": "deceptive", "PC": "plagal", "EC": ""}
_MARK = re.compile(r"\|(PAC|IAC|HC|DC|PC|EC)\b")

#: a view's cadences as (beat index on its chord grid, kind), given the movement's labels
Hearing = Callable[[View, list[tuple[int, str]]], list[tuple[int, str]]]


def listen_cadences(view: View, _labels: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """What ``analyse`` hears: cadences over the template-matched chords in the piece's one key."""
    key = estimate_key(view)
    return cadence_beats(view, beat_chords(view), key.tonic, key.mode)


def rule_on_human_chords(view: View, labels: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """listen's cadence rule over the annotators' chord and local key at every beat (no chord where they
    mark none, or an augmented sixth)."""
    humans, _ = beat_labels(view, [(t, text) for t, text in labels if clean_label(text)])
    roots = np.array([h.root if h is not None else -1 for h in humans], dtype=int)
    chords = BeatChords(roots, [h.quality if h is not None else "" for h in humans], np.ones(len(roots)))
    keys = [(h.tonic, h.mode) if h is not None else (0, "major") for h in humans]
    return cadence_beats(view, chords, 0, "major", keys)


#: the hearings scored, by name
HEARINGS: dict[str, Hearing] = {"listen": listen_cadences, "rule_on_annotators_chords": rule_on_human_chords}


def human_cadences(view: View, labels: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The marked cadences of ``labels`` (onset on the Score's timeline, text) as (beat index, kind), kind ""
    for an evaded one."""
    beat, phase = view.beat_ticks, view.phase_ticks
    out = []
    for onset, text in labels:
        if (mark := _MARK.search(text)) is not None:
            out.append(((onset + phase) // beat, HUMAN_KINDS[mark.group(1)]))
    return out


def match(heard: list[tuple[int, str]], marked: list[tuple[int, str]], tolerance: int = TOLERANCE_BEATS
          ) -> list[tuple[int, int]]:
    """Pairs (index in ``heard``, index in ``marked``) of cadences at most ``tolerance`` beats apart, each used
    once, the nearest pairs first."""
    pairs = sorted((abs(h - m), i, j) for i, (h, _) in enumerate(heard) for j, (m, _) in enumerate(marked)
                   if abs(h - m) <= tolerance)
    used_h: set[int] = set()
    used_m: set[int] = set()
    out = []
    for _, i, j in pairs:
        if i not in used_h and j not in used_m:
            used_h.add(i)
            used_m.add(j)
            out.append((i, j))
    return out


def compare_cadences(score: Score, labels: list[tuple[int, str]], hearing: Hearing = listen_cadences
                     ) -> Counter[str]:
    """Counts of one movement: cadences heard, marked (evaded ones apart), matched, kinds agreeing, bars."""
    view = View(score)
    heard = hearing(view, labels)
    marked_all = human_cadences(view, labels)
    evaded = [m for m in marked_all if not m[1]]
    marked = [m for m in marked_all if m[1]]
    pairs = match(heard, marked)
    paired = {i for i, _ in pairs}
    near_evaded = match([h for i, h in enumerate(heard) if i not in paired], evaded)
    counts: Counter[str] = Counter(heard=len(heard), marked=len(marked), evaded=len(evaded), matched=len(pairs),
                                   heard_at_evaded=len(near_evaded), bars=score.bar_count)
    for i, j in pairs:
        counts["kind_agrees"] += heard[i][1] == marked[j][1]
        counts[f"marked_{marked[j][1]}_matched"] += 1
    for _, kind in heard:
        counts[f"heard_{kind}"] += 1
    for _, kind in marked:
        counts[f"marked_{kind}"] += 1
    return counts


def summary(counts: Counter[str]) -> dict[str, Any]:
    """Precision, recall, kind agreement and rates of summed counts."""
    bars = max(counts["bars"], 1)
    return {"movements": counts["movements"], "bars": counts["bars"],
            "marked": counts["marked"], "heard": counts["heard"], "matched": counts["matched"],
            "precision": round(counts["matched"] / max(counts["heard"], 1), 4),
            "recall": round(counts["matched"] / max(counts["marked"], 1), 4),
            "kind_agreement": round(counts["kind_agrees"] / max(counts["matched"], 1), 4),
            "recall_by_kind": {kind: round(counts[f"marked_{kind}_matched"] / counts[f"marked_{kind}"], 4)
                               for kind in ("authentic", "half", "deceptive", "plagal") if counts[f"marked_{kind}"]},
            "heard_per_bar": round(counts["heard"] / bars, 4), "marked_per_bar": round(counts["marked"] / bars, 4),
            "heard_at_evaded": counts["heard_at_evaded"], "evaded": counts["evaded"]}


def run(root: Path, per_corpus: int = 6, hearings: dict[str, Hearing] | None = None,
        progress: Any = None) -> dict[str, Any]:
    """Compare each of ``hearings`` (default: :data:`HEARINGS`) with the marked cadences of the chosen movements (those
    with at least one cadence mark); per corpus and in all."""
    hearings = hearings or HEARINGS
    movements = dcml_movements(root, per_corpus)
    per: dict[str, dict[str, Counter[str]]] = {name: {} for name in hearings}
    failed: list[str] = []
    for i, path in enumerate(movements):
        try:
            score = read_score(path)
            labels = aligned_labels(path, score)
            if not any(_MARK.search(text) for _, text in labels):
                continue
            for name, hearing in hearings.items():
                counts = compare_cadences(score, labels, hearing)
                counts["movements"] = 1
                per[name].setdefault(path.parent.name, Counter()).update(counts)
        except Exception as exc:  # noqa: BLE001 - a movement that cannot be compared is reported, not fatal
            failed.append(f"{path.parent.name}/{path.name}: {exc}"[:200])
        if progress:
            progress(i + 1, len(movements))
    out: dict[str, Any] = {"failed": failed, "tolerance_beats": TOLERANCE_BEATS}
    for name in hearings:
        total: Counter[str] = Counter()
        for counts in per[name].values():
            total.update(counts)
        out[name] = {"all": summary(total),
                     "per_corpus": {corpus: summary(c) for corpus, c in sorted(per[name].items())}}
    return out
