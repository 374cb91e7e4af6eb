"""The real works the craft benchmark measures against, and the ones the ear's critic learns from.

Each ensemble has pools of real works of its style (:func:`real_pools`). The benchmark measures only works the
model did **not** learn from: their corpus id is not among the training works its originality index lists,
and their music is not in those works either (:func:`shared_run`: no top or bass line shares with one training
work a run longer than the index's calibrated human 90th percentile that also covers a tenth of the line —
that catches the same movement in another edition, a movement learned inside a whole quartet in one file, a
chorale tune harmonised twice). Works that repeat one already chosen are skipped the same way. The critic
learns from the works the model trained on; where a style has too few of them (Nottingham's tunes are not in
the v2 corpus; most symphonies were left out of v2's training), it takes a stable third of the pool by name
(:func:`critic_work`) and the benchmark never measures those.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.corpus.sources import music21_root
from cadenza.errors import CadenzaError, UsageError
from cadenza.score.model import Score

log = logging.getLogger(__name__)
#: a style with fewer training works than this lends the critic a third of its other works
CRITIC_MIN_TRAINED = 24
REAL_READ_TIMEOUT_S = 120.0  # a symphonic movement parses in seconds, several times that on a busy machine
#: the romantic song composers whose Lieder are a song's real works (OpenScore Lieder folders "Surname,_Given")
SONG_COMPOSERS = ("Schubert", "Schumann", "Brahms", "Franz", "Hensel", "Wolf")
#: music21's quartet folders (its ``beethoven`` and ``mozart`` folders also hold other pieces)
M21_QUARTETS = ("haydn/opus1no1", "haydn/opus74no1", "mozart/k80", "mozart/k155", "mozart/k156", "mozart/k458",
                "beethoven/opus18no1", "beethoven/opus59no1", "beethoven/opus59no2", "beethoven/opus59no3")


def critic_work(path: str | Path) -> bool:
    """Whether a real work belongs to the critic's third of a pool (by name; see the module docstring)."""
    return zlib.crc32(Path(path).name.encode("utf-8")) % 3 == 0


def real_pools(ensemble: str, datasets: Path | None) -> tuple[list[list[Path]], str]:
    """Every real work of ``ensemble``'s style the benchmark and the critic may draw on (sub-pools, drawn in
    turn), and where they come from."""
    if ensemble == "satb":
        root = music21_root()
        return [sorted((root / "bach").glob("*.mxl"))], "Bach chorales, music21's corpus"
    if datasets is None:
        raise UsageError(f"craft benchmark: real {ensemble} works need ../shared/datasets (not found)")
    classical = datasets / "classical"
    if ensemble == "string-quartet":
        root = music21_root()
        return ([sorted((classical / "kern" / "beethoven-string-quartets").glob("*.krn")),
                 sorted(p for who in ("Haydn", "Mozart", "Beethoven")
                        for p in (classical / "openscore-quartets").glob(f"{who}*/*/*.mxl")),
                 sorted(p for folder in M21_QUARTETS for p in (root / folder).glob("*.mxl"))],
                "Haydn, Mozart and Beethoven quartet movements (kern, OpenScore, music21's corpus)")
    if ensemble == "piano":
        return ([sorted((classical / "kern" / folder).glob("*.krn"))
                 for folder in ("mozart-piano-sonatas", "haydn-piano-sonatas", "beethoven-piano-sonatas")],
                "Mozart, Haydn and Beethoven piano sonata movements (kern)")
    if ensemble == "orchestra":
        return ([sorted(p for p in (classical / "openscore-orchestra").glob(f"{who}*/*/*/*.mxl")
                        if not p.name.endswith("_melody.mxl"))
                 for who in ("Beethoven", "Brahms", "Haydn", "Schubert")],
                "Beethoven, Brahms, Haydn and Schubert symphonic movements (OpenScore Orchestra)")
    if ensemble == "song":
        return ([sorted(p for p in (classical / "openscore-lieder").glob(f"{who},*/*/*/*.mxl")
                        if not p.name.endswith("_melody.mxl"))
                 for who in SONG_COMPOSERS],
                "Lieder of Schubert, Schumann, Brahms, Franz, Hensel and Wolf (OpenScore Lieder)")
    return [sorted((datasets / "nottingham" / "MIDI").glob("*.mid"))], "Nottingham tunes (melody and chords, MIDI)"


def work_id(path: Path, datasets: Path | None) -> str:
    """The corpus id a real work has in a corpus built from its source (``source:path below the source``)."""
    path = Path(path)
    m21 = music21_root()
    if m21 in path.parents:
        return f"music21:{path.relative_to(m21)}"
    if datasets is not None and (datasets / "classical") in path.parents:
        rel = path.relative_to(datasets / "classical")
        return f"{rel.parts[0]}:{Path(*rel.parts[1:])}"
    return f"{path.parent.parent.name.lower()}:{path.name}"


@lru_cache(maxsize=4)
def training_index(checkpoint: str | None) -> Any:
    """The originality index of the works the model learned from (None when it has none)."""
    from cadenza.originality import load_index
    from cadenza.originality.check import index_path_for

    try:
        path = index_path_for(checkpoint)
    except CadenzaError:
        return None
    return load_index(path) if path.is_file() else None


@dataclass
class Sides:
    """An ensemble's pools split: works the benchmark may measure (in the order it reads them) and the works
    the critic learns from."""

    benchmark: list[Path]
    critic: list[Path]


def sides(ensemble: str, datasets: Path | None, checkpoint: str | None = None) -> Sides:
    """Split ``ensemble``'s pools into the benchmark's side and the critic's (see the module docstring)."""
    pools, _ = real_pools(ensemble, datasets)
    index = training_index(checkpoint)
    trained = {w["id"] for w in index.works} if index is not None else set()
    learned = {p for pool in pools for p in pool if work_id(p, datasets) in trained}
    critic = sorted(learned)
    if len(learned) < CRITIC_MIN_TRAINED:
        critic += sorted(p for pool in pools for p in pool if p not in learned and critic_work(p))
    taken = set(critic)
    # each sub-pool in a stable order that spreads over it, the sub-pools in turn
    ordered = [sorted((p for p in pool if p not in taken), key=lambda p: zlib.crc32(p.name.encode("utf-8")))
               for pool in pools]
    benchmark = [pool[i] for i in range(max(map(len, ordered), default=0)) for pool in ordered if i < len(pool)]
    return Sides(benchmark, critic)


def spread(paths: list[Path], n: int) -> list[Path]:
    """``n`` of ``paths`` evenly spread over their sorted order (all of them when there are fewer)."""
    paths = sorted(paths)
    if len(paths) <= n:
        return paths
    return [paths[i] for i in np.linspace(0, len(paths) - 1, n).astype(int)]


def read_real(path: Path) -> Score:
    from cadenza.score import ReadLimits, read_score

    return read_score(str(path), ReadLimits(timeout_s=REAL_READ_TIMEOUT_S))


#: a line counts as learned when its longest run shared with one work also covers this share of the line (over
#: a whole symphonic movement some run of 30 notes, repeated chords or a scale, is in one of 16,000 works by chance)
LEARNED_SHARE = 0.1


def shared_run(index: Any, score: Score, limits: dict[str, int] | None = None) -> tuple[int, str, str] | None:
    """(notes, line kind, work id) of the longest run a line of ``score`` shares with one work of ``index``,
    where it is longer than the index's calibrated threshold (the human 90th percentile) and covers at least
    :data:`LEARNED_SHARE` of the line; None when no line's does. ``limits``: other thresholds by line kind."""
    limits = limits or index.thresholds()
    found = [(run.notes, run.voice, index.work_id(run.work)) for run in index.longest_runs(score)
             if run.notes > max(limits[run.voice], LEARNED_SHARE * run.line_notes)]
    return max(found) if found else None


def choose_heldout(ensemble: str, n: int, datasets: Path | None, checkpoint: str | None,
                   measure: Callable[[Path, Score], dict[str, Any]],
                   progress: Callable[[int], None] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Up to ``n`` real works the model did not learn from, measured by ``measure(path, score)``; and the works
    passed over, each with why (unreadable, its music learned, the same music as a work already chosen:
    :func:`shared_run`)."""
    from cadenza.originality import build_index

    side = sides(ensemble, datasets, checkpoint)
    index = training_index(checkpoint)
    chosen: list[dict[str, Any]] = []
    chosen_scores: list[tuple[dict[str, str], Score]] = []
    chosen_index = None  # the works chosen so far as an index (the repeat check), rebuilt when one is added
    limits = index.thresholds() if index is not None else None
    passed: list[dict[str, str]] = []
    for path in side.benchmark:
        if len(chosen) >= n:
            break
        try:
            score = read_real(path)
        except CadenzaError as exc:
            passed.append({"source": str(path), "why": f"not read: {exc}"})
            continue
        learned = shared_run(index, score) if index is not None else None
        again = shared_run(chosen_index, score, limits) if chosen_index is not None and learned is None else None
        if learned is not None:
            passed.append({"source": str(path), "why": f"its music is in the training works ({learned[0]} notes "
                                                       f"of its {learned[1]} line in {learned[2]})"})
        elif again is not None:
            passed.append({"source": str(path), "why": f"the same music as {again[2]}"})
        else:
            try:
                chosen.append(measure(path, score))
            except CadenzaError as exc:
                passed.append({"source": str(path), "why": f"not measured: {exc}"})
                continue
            chosen_scores.append(({"id": str(path), "title": ""}, score))
            chosen_index = build_index(chosen_scores)
        if progress:
            progress(len(chosen))
    return chosen, passed
