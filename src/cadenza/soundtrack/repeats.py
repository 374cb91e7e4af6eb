"""No loops: a soundtrack never writes the same few bars twice exactly.

Each bar is reduced to a hash of what starts in it (onsets relative to the bar, pitches, lengths, parts);
a window is :data:`WINDOW_BARS` such hashes in a row. :class:`RepeatGuard` remembers every window written so
far and gives the composer's guard a check that finds a candidate's first repeated window, so the bars are
resampled. Resampling is a matter of chance and is tried a few times only; where a repeat survives it,
:meth:`RepeatGuard.vary` changes the repeating bar by hand, as a composer varies a returning bar: the
melody's last note split in two, or moved a step up or down the scale, until no window repeats.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.compose.request import Key
from cadenza.score.model import NOTE_DTYPE, Score

WINDOW_BARS = 4  # no passage this long is written twice exactly (a planned return is varied)
SPLIT_GRID_TICKS = 420  # a split note's halves fall on a 32nd-note grid (3,360 ticks a quarter)
VARIANTS = ("split", "up", "down")


def bar_keys(score: Score, first_bar: int = 0) -> list[int]:
    """One hash per bar from ``first_bar`` on, of what starts in it (onsets relative to the bar, pitches,
    lengths, parts) and its length: equal hashes are bars written exactly alike."""
    starts = score.bar_starts()
    ends = np.append(starts[1:], score.length_ticks)
    notes = score.notes
    bar_of = np.searchsorted(starts, notes["onset_ticks"], side="right") - 1
    keys = []
    for b in range(first_bar, len(starts)):
        s, e = int(starts[b]), int(ends[b])
        mine = notes[bar_of == b]
        keys.append(hash((e - s, tuple(zip((mine["onset_ticks"] - s).tolist(), mine["pitch"].tolist(),
                                           mine["duration_ticks"].tolist(), mine["part"].tolist(),
                                           strict=True)))))
    return keys


def _windows(keys: list[int], window_bars: int) -> list[int]:
    return [hash(tuple(keys[i:i + window_bars])) for i in range(len(keys) - window_bars + 1)]


class RepeatGuard:
    """Every window written so far (as hashes): a check for candidates, and a last-resort variation."""

    def __init__(self, window_bars: int = WINDOW_BARS) -> None:
        self.window_bars = window_bars
        self.seen: set[int] = set()
        self.varied_bars = 0  # bars changed by hand because resampling left them repeating

    def check_for(self, new_from_ticks: int) -> Any:
        """A check of a candidate (the context bars, then new ones from ``new_from_ticks``): where the first
        window ending in new bars repeats one seen before (or earlier in the candidate) begins."""
        def check(score: Score) -> tuple[int, dict[str, Any]] | None:
            starts = score.bar_starts()
            first_new = int(np.searchsorted(starts, new_from_ticks, side="left"))
            local: set[int] = set()
            for i, window in enumerate(_windows(bar_keys(score), self.window_bars)):
                if i + self.window_bars - 1 >= first_new and (window in self.seen or window in local):
                    return int(starts[max(i, first_new)]), {"repeat_of_bars": self.window_bars}
                local.add(window)
            return None
        return check

    def _first_bar(self, score: Score, from_ticks: int) -> int:
        first = int(np.searchsorted(score.bar_starts(), from_ticks, side="left"))
        return max(first - self.window_bars + 1, 0)

    def remember(self, score: Score, from_ticks: int) -> None:
        """Add the windows of ``score`` that end at or after ``from_ticks``."""
        self.seen.update(_windows(bar_keys(score, self._first_bar(score, from_ticks)), self.window_bars))

    def vary(self, score: Score, from_ticks: int) -> Score:
        """``score`` with every bar from ``from_ticks`` on that ends a window written before changed (the
        fewest notes that make it new), then its windows remembered; bars that cannot be varied (silent
        ones) are left as they are."""
        first = self._first_bar(score, from_ticks)
        keys = bar_keys(score, first)
        local: set[int] = set()
        for i in range(len(keys) - self.window_bars + 1):
            window = hash(tuple(keys[i:i + self.window_bars]))
            bar = first + i + self.window_bars - 1
            original, attempt = score, 0
            while window in self.seen or window in local:
                varied = vary_bar(original, bar, attempt)
                if varied is None:
                    break
                score, used = varied
                attempt = used + 1
                keys[i + self.window_bars - 1] = bar_keys(score, bar)[0]
                window = hash(tuple(keys[i:i + self.window_bars]))
            self.varied_bars += score is not original
            local.add(window)
        self.seen.update(local)
        return score


def key_scale(tonic_pc: int, mode: str) -> list[int]:
    """The pitch classes of a key's scale (a minor key's natural minor: its relative major's)."""
    return sorted(Key((tonic_pc + 3) % 12 if mode == "minor" else tonic_pc, "major").scale_pcs)


def scale_pcs(score: Score, tick: int) -> list[int]:
    """The scale of the key signature in force at ``tick``, C major where none is."""
    signature = score.key_signature_at(tick)
    return key_scale((7 * signature.sharps) % 12 if signature is not None else 0, "major")


def _scale_step(pitch: int, pcs: list[int], direction: int) -> int:
    """The next pitch of the scale above (``direction`` 1) or below (-1) ``pitch``."""
    candidate = pitch + direction
    while candidate % 12 not in pcs:
        candidate += direction
    return candidate


def vary_bar(score: Score, bar: int, attempt: int, scale: list[int] | None = None) -> tuple[Score, int] | None:
    """Bar ``bar`` varied the first way that works from the ``attempt``-th on, and which way that was (None
    when no way is left): the bar's notes, the melody's latest first, in turn split in two (where the note
    is long enough) or moved a step up or down ``scale`` (the key signature's where not given) where the part
    has no note at that pitch and onset."""
    starts = score.bar_starts()
    if bar >= len(starts):
        return None
    start = int(starts[bar])
    end = int(starts[bar + 1]) if bar + 1 < len(starts) else score.length_ticks
    notes = score.notes
    inside = np.flatnonzero((notes["onset_ticks"] >= start) & (notes["onset_ticks"] < end))
    if len(inside) == 0:
        return None
    # the melody first (the latest onsets, highest pitch first), then the other notes
    order = inside[np.lexsort((-notes["pitch"][inside].astype(int), -notes["onset_ticks"][inside]))]
    tries = [(int(i), way) for i in order for way in VARIANTS]
    for used in range(attempt, len(tries)):
        index, way = tries[used]
        varied = _apply(score, index, way, scale or scale_pcs(score, start))
        if varied is not None:
            return varied, used
    return None


def _apply(score: Score, index: int, way: str, scale: list[int]) -> Score | None:
    notes = score.notes.copy()
    note = notes[index]
    if way == "split":
        half = int(note["duration_ticks"]) // 2 // SPLIT_GRID_TICKS * SPLIT_GRID_TICKS
        if half < SPLIT_GRID_TICKS:
            return None
        second = np.array([(int(note["onset_ticks"]) + half, int(note["duration_ticks"]) - half,
                            int(note["pitch"]), max(int(note["velocity"]) - 8, 1), int(note["part"]))],
                          dtype=NOTE_DTYPE)
        notes["duration_ticks"][index] = half
        return score.replace(notes=np.concatenate([notes, second]))
    if score.parts[int(note["part"])].is_drum:
        return None
    pitch = _scale_step(int(note["pitch"]), scale, 1 if way == "up" else -1)
    clash = ((notes["part"] == note["part"]) & (notes["onset_ticks"] == note["onset_ticks"])
             & (notes["pitch"] == pitch))
    if not 0 <= pitch <= 127 or clash.any():
        return None
    notes["pitch"][index] = pitch
    return score.replace(notes=notes)


def repetition(score: Score, window_bars: int = WINDOW_BARS) -> dict[str, Any]:
    """Exact repetition: the longest run of bars that occurs twice (as the same notes, relative to the bar),
    and the share of ``window_bars``-bar windows that repeat an earlier one."""
    keys = bar_keys(score)
    seen: set[tuple[int, ...]] = set()
    repeated = 0
    windows = max(len(keys) - window_bars + 1, 0)
    for i in range(windows):
        w = tuple(keys[i:i + window_bars])
        repeated += w in seen
        seen.add(w)
    longest = 0
    for length in range(1, len(keys) // 2 + 1):
        grams = [tuple(keys[i:i + length]) for i in range(len(keys) - length + 1)]
        if len(set(grams)) == len(grams):
            break
        longest = length
    return {"longest_repeated_bars": longest, "window_bars": window_bars,
            "repeated_window_share": round(repeated / windows, 4) if windows else 0.0}
