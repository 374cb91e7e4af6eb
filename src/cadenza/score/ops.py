"""Pure operations on Scores: each returns a new Score and leaves its input untouched.

Bar indices count from 0 (bar 0 is the pickup when there is one); ranges are half-open, as in Python.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cadenza.errors import UsageError
from cadenza.score.model import KeySignature, Score, Tempo, TimeSignature


def transpose_sharps(sharps: int, semitones: int) -> int:
    """The key signature ``semitones`` higher, spelled with 5 flats to 6 sharps (F♯ rather than G♭)."""
    return (sharps + 7 * semitones + 5) % 12 - 5


def transpose(score: Score, semitones: int) -> Score:
    """Every pitched note moved by ``semitones`` (drum parts stay); key signatures follow.

    Raises UsageError if a note would leave the MIDI range 0..127.
    """
    if semitones == 0:
        return score
    notes = score.notes.copy()
    pitched = np.array([not p.is_drum for p in score.parts], dtype=bool)
    mask = pitched[notes["part"]] if len(notes) else np.zeros(0, dtype=bool)
    moved = notes["pitch"][mask].astype(np.int32) + semitones
    if len(moved) and (moved.min() < 0 or moved.max() > 127):
        raise UsageError(f"transposing by {semitones} semitones takes notes outside the MIDI range 0..127")
    notes["pitch"][mask] = moved
    keys = [replace(k, sharps=transpose_sharps(k.sharps, semitones)) for k in score.key_signatures]
    return score.replace(notes=notes, key_signatures=keys)


def _map_window(entries: tuple, start: int, end: int) -> list:
    """Map entries for the window [start, end): the one in force at ``start`` moved to 0, later ones
    shifted."""
    out = []
    current = None
    for e in entries:
        if e.onset_ticks <= start:
            current = e
        elif e.onset_ticks < end:
            out.append(replace(e, onset_ticks=e.onset_ticks - start))
    if current is not None:
        out.insert(0, replace(current, onset_ticks=0))
    return out


def slice_ticks(score: Score, start_ticks: int, end_ticks: int, keep_pickup: bool = False) -> Score:
    """The window [start, end) as a new Score starting at tick 0. Notes that sound across an edge are cut
    to the window. ``keep_pickup`` keeps the pickup (only meaningful when start is 0)."""
    if not 0 <= start_ticks < end_ticks:
        raise UsageError(f"empty or negative slice {start_ticks}..{end_ticks}")
    notes = score.notes
    ends = notes["onset_ticks"] + notes["duration_ticks"]
    sel = notes[(notes["onset_ticks"] < end_ticks) & (ends > start_ticks)].copy()
    sel_end = np.minimum(sel["onset_ticks"] + sel["duration_ticks"], end_ticks)
    sel["onset_ticks"] = np.maximum(sel["onset_ticks"], start_ticks)
    sel["duration_ticks"] = sel_end - sel["onset_ticks"]
    sel["onset_ticks"] -= start_ticks
    sigs = _map_window(score.time_signatures, start_ticks, end_ticks)
    return Score.build(
        parts=score.parts,
        notes=sel,
        time_signatures=sigs,
        key_signatures=_map_window(score.key_signatures, start_ticks, end_ticks),
        tempos=_map_window(score.tempos, start_ticks, end_ticks),
        metadata=score.metadata,
        pickup_ticks=score.pickup_ticks if (keep_pickup and start_ticks == 0) else 0,
        length_ticks=end_ticks - start_ticks,
    )


def slice_bars(score: Score, start_bar: int, end_bar: int) -> Score:
    """Bars [start_bar, end_bar) (from 0) as a new Score; a pickup is kept when the slice starts at bar 0."""
    starts = score.bar_starts()
    count = len(starts)
    if not 0 <= start_bar < end_bar <= count:
        raise UsageError(f"bars {start_bar}..{end_bar} outside the score's {count} bars (0..{count})")
    bar_ends = np.append(starts[1:], starts[-1] + score.time_signature_at(int(starts[-1])).bar_ticks)
    start = int(starts[start_bar])
    end = int(bar_ends[end_bar - 1])
    return slice_ticks(score, start, end, keep_pickup=start_bar == 0)


def merge(first: Score, *others: Score) -> Score:
    """One Score with the parts of all, played together from tick 0. Meter, key and tempo maps, metadata
    and pickup come from ``first``."""
    parts = list(first.parts)
    chunks = [first.notes]
    length = first.length_ticks
    for other in others:
        shifted = other.notes.copy()
        shifted["part"] += len(parts)
        parts.extend(other.parts)
        chunks.append(shifted)
        length = max(length, other.length_ticks)
    return first.replace(parts=tuple(parts), notes=np.concatenate(chunks), length_ticks=length)


def quantize(score: Score, grid_ticks: int) -> Score:
    """Onsets and ends moved to the nearest multiple of ``grid_ticks``; a note never shrinks below one
    grid step, and none moves past the (quantized) end of the score. Map entries are quantized the same
    way."""
    if grid_ticks <= 0:
        raise UsageError("the quantization grid must be a positive number of ticks")
    notes = score.notes.copy()
    ends = notes["onset_ticks"] + notes["duration_ticks"]
    half = grid_ticks // 2
    on_q = (notes["onset_ticks"] + half) // grid_ticks * grid_ticks
    end_q = (ends + half) // grid_ticks * grid_ticks
    length_q = (score.length_ticks + half) // grid_ticks * grid_ticks
    if length_q >= grid_ticks:
        on_q = np.minimum(on_q, length_q - grid_ticks)
        end_q = np.minimum(end_q, length_q)
    notes["onset_ticks"] = on_q
    notes["duration_ticks"] = np.maximum(end_q - on_q, grid_ticks)

    def q(tick: int) -> int:
        return (tick + half) // grid_ticks * grid_ticks

    return score.replace(
        notes=notes,
        time_signatures=[TimeSignature(q(t.onset_ticks), t.numerator, t.denominator)
                         for t in score.time_signatures],
        key_signatures=[KeySignature(q(k.onset_ticks), k.sharps, k.mode) for k in score.key_signatures],
        tempos=[Tempo(q(t.onset_ticks), t.bpm) for t in score.tempos],
        length_ticks=q(score.length_ticks),
    )
