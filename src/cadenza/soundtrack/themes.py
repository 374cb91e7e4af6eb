"""Themes that return: a leitmotif per character or place, stated once and brought back varied.

The first segment that names a theme states it: its opening :data:`THEME_BARS` bars (every part) are kept
as the theme. A later segment naming the same theme opens with the theme's head (:data:`HEAD_BARS` bars)
in the new segment's key (moved to its tonic, and to its mode: a major theme returning in a minor key has
its third, sixth and seventh lowered), tempo and dynamics, with its last bar varied a different way at
every return (a note split or moved a step: see :func:`cadenza.soundtrack.repeats.vary_bar`); the model
then develops it for the rest of the segment, so a return is recognisable but never a loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.compose.request import Key
from cadenza.score.model import Score
from cadenza.score.ops import slice_bars
from cadenza.soundtrack.repeats import key_scale, vary_bar

THEME_BARS = 4  # bars kept when a theme is first stated
HEAD_BARS = 2  # bars of it that open a return
_TO_MINOR = {4: -1, 9: -1, 11: -1}  # scale degrees (semitones above the tonic) lowered for a minor key
_TO_MAJOR = {3: 1, 8: 1, 10: 1}


@dataclass(frozen=True)
class Theme:
    name: str
    score: Score  # its bars, from tick 0
    key: Key
    first_bar: int  # where it was first stated (1-based, in the whole soundtrack)
    returns: int = 0


def keep_theme(name: str, score: Score, first_bar_index: int, key: Key, absolute_first_bar: int) -> Theme:
    """The theme stated at bar ``first_bar_index`` (0-based in ``score``)."""
    end = min(first_bar_index + THEME_BARS, score.bar_count)
    return Theme(name, slice_bars(score, first_bar_index, end), key, absolute_first_bar)


def in_key(pitches: np.ndarray, source: Key, target: Key) -> np.ndarray:
    """``pitches`` moved from ``source`` to ``target``: to the new tonic by the nearest shift, then to the
    new mode by scale degree."""
    shift = (target.tonic_pc - source.tonic_pc) % 12
    shift = shift - 12 if shift > 6 else shift
    out = pitches.astype(np.int64) + shift
    if source.mode != target.mode:
        table = _TO_MINOR if target.mode == "minor" else _TO_MAJOR
        degrees = (out - target.tonic_pc) % 12
        out = out + np.array([table.get(int(d), 0) for d in degrees], dtype=np.int64)
    return np.clip(out, 0, 127)


def head_of(theme: Theme, key: Key, velocity: int | None, ranges: list[tuple[int, int]] | None = None) -> Score:
    """The theme's first :data:`HEAD_BARS` bars in ``key``, at ``velocity`` when given, each part's notes
    moved by octaves into its range when ``ranges`` are given, the last bar varied (the ``theme.returns``-th
    way, so no two returns are alike)."""
    head = slice_bars(theme.score, 0, min(HEAD_BARS, theme.score.bar_count))
    notes = head.notes.copy()
    notes["pitch"] = in_key(notes["pitch"], theme.key, key)
    if velocity is not None:
        notes["velocity"] = velocity
    for part, (low, high) in enumerate(ranges or []):
        mine = notes["part"] == part
        while mine.any() and notes["pitch"][mine].max() > high and notes["pitch"][mine].min() - 12 >= low:
            notes["pitch"][mine] -= 12
        while mine.any() and notes["pitch"][mine].min() < low and notes["pitch"][mine].max() + 12 <= high:
            notes["pitch"][mine] += 12
    head = head.replace(notes=notes, key_signatures=(), tempos=())
    varied = vary_bar(head, head.bar_count - 1, theme.returns, key_scale(key.tonic_pc, key.mode))
    return varied[0] if varied is not None else head
