"""Revising chosen bars: the bars are written again after the music before them, with the composer's rules,
ear and guard (:func:`cadenza.compose.generate.continue_piece`), several times, and the version after which
the music that follows is most likely under the model is kept — the one that joins both neighbours best.

This is the first slice of issue 18's ``revise``: the model is not yet trained to fill in a gap (it sees the
bars before, not the bars after, while it writes); the bars after take part by choosing among the versions.
The bars to revise must follow at least one bar (a piece's first bars have nothing to continue).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.compose.generate import Composition, continue_piece, load_model
from cadenza.compose.primer import parts_merged
from cadenza.compose.request import ComposeRequest
from cadenza.errors import UsageError
from cadenza.score.model import NOTE_DTYPE, Score
from cadenza.score.ops import slice_bars, slice_ticks
from cadenza.tokens.events import TokenizeError, encodable, encode, heard_chords

VERSIONS = 4  # versions of the bars written, the best join kept


def parse_bars(text: str, bar_count: int, pickup: bool = False) -> tuple[int, int]:
    """'5-8' or '5' -> (first, last), the bars as the score numbers them (a pickup is bar 0, as the MusicXML and
    the page print it), returned 1-based from the piece's first bar (its pickup, if any) and inclusive, checked
    against the piece."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+))?\s*", text)
    if not match:
        raise UsageError(f"bars {text!r}: give a bar or a range, like 5-8")
    first, last = int(match[1]), int(match[2] or match[1])
    if first > last:
        raise UsageError(f"bars {text!r}: the first bar comes after the last; give them in order, like {last}-{first}")
    lowest = 0 if pickup else 1
    if not lowest <= first <= last <= bar_count - 1 + lowest:
        raise UsageError(f"bars {text!r}: the piece has bars {lowest} to {bar_count - 1 + lowest}"
                         + (" (bar 0 is its pickup)" if pickup else ""))
    if first == lowest:
        raise UsageError("revising starts after at least one bar: the first bars have nothing to follow yet")
    return first + pickup, last + pickup


def _joined(written: Score, after: Score | None) -> Score:
    """The primer and its new bars, then the bars after them, shifted to follow, with their meters, keys and
    tempi (Score.build drops one that repeats the one before). Only the meters had been kept: revising bars 2-3
    of a piece that slows to 60 bpm at bar 11 lost the change."""
    if after is None:
        return written
    shifted = after.notes.copy()
    offset = written.length_ticks
    shifted["onset_ticks"] += offset
    notes = np.concatenate([written.notes, shifted]).astype(NOTE_DTYPE)
    return Score.build(parts=written.parts, notes=notes,
                       time_signatures=[*written.time_signatures, *_moved(after.time_signatures, offset)],
                       key_signatures=[*written.key_signatures, *_moved(after.key_signatures, offset)],
                       tempos=[*written.tempos, *_moved(after.tempos, offset)], metadata=written.metadata,
                       pickup_ticks=written.pickup_ticks, length_ticks=written.length_ticks + after.length_ticks)


def _moved(events: Any, offset: int) -> list[Any]:
    """Timed map events (meters, keys, tempi) ``offset`` ticks later."""
    return [replace(event, onset_ticks=event.onset_ticks + offset) for event in events]


#: the bars before the new ones (the new ones included) and after them that the join is judged on: the model reads
#: 512 steps at most, and scoring the whole of a long piece for each version cost a 1,440-bar Schubert quartet
#: movement 33 s of a 61 s revision
JOIN_CONTEXT_BARS, JOIN_AFTER_BARS = 16, 8


def _join_nll(model: Any, written: Score, after: Score) -> float:
    """NLL (nats) of the bars after the new ones (:data:`JOIN_AFTER_BARS` of them), given the music up to them
    (its last :data:`JOIN_CONTEXT_BARS`): how well the new bars lead on."""
    from cadenza.model.scoring import sequence_nll

    written = slice_bars(written, max(written.bar_count - JOIN_CONTEXT_BARS, 0), written.bar_count)
    revised = _joined(written, slice_bars(after, 0, min(after.bar_count, JOIN_AFTER_BARS)))
    chords = getattr(model, "chord_events", False)  # the music as the model reads it: with chords, or none
    try:
        whole = encode(revised, [], chords=heard_chords(revised) if chords else None)
        head = encode(written, [], chords=heard_chords(written) if chords else None)
    except TokenizeError:
        return float("inf")
    return sequence_nll(model, whole) - sequence_nll(model, head[:-1])


def revise_bars(score: Score, bars: str, request: ComposeRequest, checkpoint: str | Path | None = None,
                versions: int = VERSIONS, progress: Callable[[int, int], None] | None = None) -> Composition:
    """``score`` with ``bars`` ('5-8') written anew (see the module docstring); the report says which bars,
    each version's join (nats) and which was kept. ``progress(done, total)`` after each version written.
    A piece of more parts than the model writes is reduced first, as :func:`continue_piece` reduces a primer
    (the report's ``primer.parts_merged`` says how)."""
    shift = int(score.pickup_ticks > 0)  # bars as printed: a pickup is bar 0
    first, last = parse_bars(bars, score.bar_count, pickup=bool(shift))
    reduction = parts_merged(score)
    score = encodable(score)
    before = slice_bars(score, 0, first - 1)
    if before.note_count == 0:  # nothing for the new bars to follow: say where the music starts
        if score.note_count == 0:
            raise UsageError("the piece has no notes: there is nothing to revise")
        opening = int(np.searchsorted(score.bar_starts(), score.notes["onset_ticks"].min(), side="right"))
        raise UsageError(f"bars {bars!r}: the bars before them hold no notes to follow (the music starts in bar "
                         f"{opening}); revise bars after it")
    after = slice_bars(score, last, score.bar_count) if last < score.bar_count else None
    model = load_model(checkpoint)[0]
    best: tuple[float, Composition, Score] | None = None
    joins = []
    tries = max(versions, 1) if after is not None else 1  # the last bars: nothing to choose by
    for k in range(tries):
        made = continue_piece(before, replace(request, seed=request.seed + k), bars=last - first + 1,
                              checkpoint=checkpoint, closes=after is None)  # (music after them: no close)
        if progress:
            progress(k + 1, tries)
        revised = _joined(made.score, after)
        join = _join_nll(model, made.score, after) if after is not None else 0.0
        joins.append(round(join, 2))
        if best is None or join < best[0]:
            best = (join, made, revised)
    assert best is not None
    _, made, revised = best
    if after is None and revised.length_ticks > score.length_ticks:  # the last bar as long as it was (a chorale's
        revised = slice_ticks(revised, 0, score.length_ticks, keep_pickup=True)  # closing bar of three beats)
    report = {**made.report, "primer": {**made.report["primer"], **reduction},
              "revised": {"bars": [first - shift, last - shift], "versions": len(joins), "join_nll_nats": joins,
                          "kept": joins.index(min(joins)), "bars_after": score.bar_count - last}}
    report["result"] = {**report.get("result", {}), "bars": revised.bar_count, "notes": revised.note_count,
                        "duration_s": round(revised.duration_s, 2)}
    return Composition(revised, report)
