"""The originality benchmark: how often generated pieces copy the training corpus beyond what human music
shares with it, before and after the composer's guard.

Pieces are composed across styles (every epoch, with its usual ensemble, and the moods), each checked by
the guard as it is written (:mod:`cadenza.compose.guard`). A piece "copied before the guard" when the
guard's first check found a line sharing more notes with one training work than the human threshold (the
held-out human 90th percentile); the share after the guard is the final check's. With the same seed, a
piece the guard did not touch is exactly what an unguarded composer writes, so one run measures both.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cadenza.compose import ComposeRequest, compose
from cadenza.listen.labels import EPOCHS, MOODS

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class OriginalityBenchConfig:
    pieces: int = 200
    bars: int = 16
    checkpoint: str | None = None
    max_shared_notes: int | None = None  # the guard's threshold; None: the model's calibrated one


def requests(config: OriginalityBenchConfig) -> list[ComposeRequest]:
    """``pieces`` requests cycling through the epochs and the moods, one seed each."""
    styles: list[dict[str, Any]] = [{"epoch": e} for e in EPOCHS] + [{"mood": m} for m in MOODS]
    return [replace(ComposeRequest(bars=config.bars, seed=i, max_shared_notes=config.max_shared_notes),
                    **styles[i % len(styles)]) for i in range(config.pieces)]


def run(config: OriginalityBenchConfig, progress: Progress | None = None,
        on_piece: Callable[[ComposeRequest, Any], None] | None = None) -> dict[str, Any]:
    """Compose the pieces and summarise their originality; ``on_piece(request, composition)`` sees each piece
    (``cadenza bench`` measures their musical quality from the same pieces)."""
    rows = []
    start = time.perf_counter()
    checkpoint = Path(config.checkpoint) if config.checkpoint else None
    asked = requests(config)
    for done, request in enumerate(asked):
        made = compose(request, checkpoint=checkpoint)
        o = made.report["originality"]
        longest = o.get("longest") or {}
        rows.append({"request": {k: v for k, v in (("epoch", request.epoch), ("mood", request.mood)) if v},
                     "seed": request.seed, "copied_before_guard": bool(o.get("copies_resampled")),
                     "copies_resampled": o.get("copies_resampled"), "resamplings": o.get("resamplings"),
                     "verdict_after_guard": o.get("verdict"), "longest_notes": longest.get("longest_notes"),
                     "longest_work": (longest.get("match") or {}).get("work_id"),
                     "ngram_share": o.get("ngram_share"), "notes": made.score.note_count,
                     "seconds": round(sum(c["sample_s"] for c in made.report["timings"]["candidates"]), 2)})
        if on_piece is not None:
            on_piece(request, made)
        if progress:
            progress(done + 1, len(asked))
    before = sum(r["copied_before_guard"] for r in rows)
    after = sum(r["verdict_after_guard"] == "copied" for r in rows)
    longest = [r["longest_notes"] or 0 for r in rows]
    return {"pieces": len(rows), "bars": config.bars,
            "threshold_notes": (made.report["originality"].get("threshold_notes") if rows else None),
            "copied_share_before_guard": round(before / len(rows), 4),
            "copied_share_after_guard": round(after / len(rows), 4),
            "resamplings_total": sum(r["resamplings"] or 0 for r in rows),
            "longest_run_notes": {"median": statistics.median(longest), "max": max(longest),
                                  "p90": sorted(longest)[int(0.9 * (len(longest) - 1))]},
            "human_p90_notes": (made.report["originality"].get("against") or {}).get("human_percentiles"),
            "seconds": round(time.perf_counter() - start, 1), "rows": rows}
