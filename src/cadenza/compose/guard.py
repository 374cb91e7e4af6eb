"""The originality guard: every piece Cadenza writes is checked against the index of the model's training
works (:mod:`cadenza.originality`) before it is returned. Where a line shares more notes with one training
work than held-out human music does (the index's calibrated threshold), the piece is resampled from the
bar where that run began, with a new seed, and checked again (at most :data:`MAX_RESAMPLES` times); the
report says how often that happened and what the final check found.

Only new material is judged: a continuation's primer is the user's, so a run counts only inside the new
bars, and what the new bars share with the primer is reported apart (``shared_with_primer_notes``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.score.model import Score
from cadenza.tokens.events import KIND

log = logging.getLogger(__name__)
MAX_RESAMPLES = 6
RESEED = 7919  # a resampling's seed: the candidate's plus this times the attempt


def guard_index(checkpoint: str | Path | None) -> Path | None:
    """The originality index file beside the model (the default model's when None), or None if it has
    none."""
    from cadenza.originality.check import SHIPPED
    from cadenza.originality.index import INDEX_FILE

    path = (Path(checkpoint) if checkpoint is not None else SHIPPED["default"]) / INDEX_FILE
    return path if path.is_file() else None


def load_guard(path: Path | None) -> Any:
    from cadenza.originality import load_index

    return load_index(path) if path is not None else None


def new_material(score: Score, start_ticks: int) -> Score:
    """The notes that start at or after ``start_ticks`` (a continuation's new bars), in the same frame."""
    if start_ticks <= 0:
        return score
    return score.replace(notes=score.notes[score.notes["onset_ticks"] >= start_ticks])


def restart_step(steps: np.ndarray, score: Score, onset_ticks: int, floor: int) -> int:
    """The index in ``steps`` of the bar line that opens the bar holding ``onset_ticks`` (not before
    ``floor``: the prompt is kept)."""
    bar = int(np.searchsorted(score.bar_starts(), onset_ticks, side="right")) - 1
    bar_steps = np.nonzero(steps[:, 0] == KIND["bar"])[0]
    at = int(bar_steps[bar]) if 0 <= bar < len(bar_steps) else floor
    return max(at, floor)


@dataclass
class Guarded:
    steps: np.ndarray
    score: Score
    resamples: int
    violations: list[dict[str, Any]]


Check = Callable[[Score], "tuple[int, dict[str, Any]] | None"]  # (onset tick where it begins, what) or None


def copy_check(index: Any, new_from_ticks: int = 0, threshold_notes: int | None = None) -> Check:
    """The originality check of the new material: where a copy of a training work begins."""
    def check(score: Score) -> tuple[int, dict[str, Any]] | None:
        found = index.first_violation(new_material(score, new_from_ticks), threshold_notes)
        if found is None:
            return None
        return found.onset_ticks, {"work_id": found.work_id, "notes": found.notes, "part": found.part,
                                   "voice": found.voice}
    return check


def guarded_sample(sample: Callable[[np.ndarray, int, int], np.ndarray], finish: Callable[[np.ndarray], Score],
                   prompt: np.ndarray, seed: int, index: Any, new_from_ticks: int = 0,
                   threshold_notes: int | None = None, checks: tuple[Check, ...] = ()) -> Guarded:
    """Sample (``sample(prompt, seed, attempt)``: attempt 0, then 1, 2… for resamplings, which may run a
    little hotter to leave a rut), decode (``finish``), and while the new material copies a training
    work beyond the threshold (the index's calibrated one, or ``threshold_notes``), or fails one of
    ``checks`` (e.g. a soundtrack's: no exact repeat of an earlier passage), resample from the bar where
    the problem began."""
    steps = sample(prompt, seed, 0)
    score = finish(steps)
    violations: list[dict[str, Any]] = []
    every = ((copy_check(index, new_from_ticks, threshold_notes),) if index is not None else ()) + tuple(checks)
    if not every:
        return Guarded(steps, score, 0, violations)
    for attempt in range(1, MAX_RESAMPLES + 1):
        found = next((hit for hit in (check(score) for check in every) if hit is not None), None)
        if found is None:
            return Guarded(steps, score, attempt - 1, violations)
        onset, what = found
        cut = restart_step(steps, score, onset, len(prompt))
        violations.append({**what, "bar": score.locate(onset)[0] + 1})
        log.info("%s: resampling from step %d", what, cut)
        steps = sample(steps[:cut], seed + RESEED * attempt, attempt)
        score = finish(steps)
    return Guarded(steps, score, MAX_RESAMPLES, violations)


def originality_report(index_path: Path | None, score: Score, guarded: Guarded, new_from_ticks: int = 0,
                       primer: Score | None = None, threshold_notes: int | None = None) -> dict[str, Any]:
    """The final check of the new material, the resamplings, and the overlap with the user's primer."""
    if index_path is None:
        return {"checked": False, "why": "the model has no originality index beside it (build one with "
                                         "`cadenza corpus index NAME --out MODEL_DIR`)"}
    from cadenza.originality import check_score

    report = check_score(new_material(score, new_from_ticks), index_path, threshold_notes)
    out = {"checked": True, "verdict": report["verdict"], "threshold_notes": report["threshold_notes"],
           "longest": report["longest"], "ngram_share": report["ngram_share"], "texture": report["texture"],
           "resamplings": guarded.resamples,
           "copies_resampled": [v for v in guarded.violations if "work_id" in v],
           "repeats_resampled": [v for v in guarded.violations if "work_id" not in v],
           "against": report["against"], "check_s": report["timing"]["check_s"]}
    if primer is not None:
        from cadenza.compose.like import longest_shared_run

        out["shared_with_primer_notes"] = longest_shared_run(new_material(score, new_from_ticks), primer)
    return out
