"""Suspensions: a chorale's inner voice holds a note over the bar line into a chord it does not belong to, a step
above one of its tones, and resolves down to it (compose/suspensions.py). Before, the model held a note over a
strong beat 4 times in 323 and the rules never made it dissonant: no suspension in any of these chorales."""

from __future__ import annotations

import numpy as np

import cadenza
from cadenza.compose.plan import Chord
from cadenza.compose.suspensions import suspends_into
from cadenza.score.model import Score


def _suspensions(score: Score) -> list[tuple[int, int, int, int]]:
    """(bar, part, held pitch, next pitch) where a part above the bass holds a note struck before the bar line,
    none of the pitch classes the other parts strike on the downbeat, a step above one of them, and moves to
    that one next."""
    notes, lowest, out = score.notes, len(score.parts) - 1, []
    for bar, start in enumerate(score.bar_starts().tolist()[1:], start=1):
        struck = notes[notes["onset_ticks"] == start]
        for part in range(lowest):
            mine = notes[notes["part"] == part]
            held = mine[(mine["onset_ticks"] < start) & (mine["onset_ticks"] + mine["duration_ticks"] > start)]
            later = mine[mine["onset_ticks"] > start]
            if not len(held) or not len(later):
                continue
            pitch, following = int(held["pitch"][-1]), int(later["pitch"][0])
            others = {int(p) % 12 for p in struck["pitch"][struck["part"] != part]}
            if pitch - following in (1, 2) and following % 12 in others and pitch % 12 not in others:
                out.append((bar, part, pitch, following))
    return out


def test_a_step_above_a_chord_tone_and_none_of_its_tones_is_a_suspension() -> None:
    dominant, tonic = Chord(7, (7, 11, 2), "V"), Chord(0, (0, 4, 7), "I")  # G B D and C E G in C major
    assert suspends_into(60, dominant)  # C over G: the 4-3
    assert suspends_into(62, tonic)  # D over C: the 9-8
    assert not suspends_into(62, dominant)  # a tone of the chord
    assert not suspends_into(70, tonic)  # B-flat over C: neither A nor A-flat below it is a tone of C major


def test_chorales_hold_prepared_suspensions_and_resolve_them_down_a_step() -> None:
    # seeds 0-7: 16 bars each (seeds 0-3 alone held 2 inner suspensions before the cadence's leading tone and 1
    # after it: its pull moved the bars after a cadence; over seeds 0-11, 15 inner suspensions before and 11 after)
    found = [s for seed in range(8) for s in _suspensions(cadenza.compose(
        ensemble="satb", epoch="baroque", bars=16, seed=seed, guard=False).score)]
    inner = [s for s in found if s[1] in (1, 2)]  # alto and tenor, where the rule writes them
    assert len(inner) >= 4, found
    # (a soprano may suspend of its own accord, as Bach's do: at 44fccd4 seed 2's A held into bar 12, resolving to G)
    assert len(inner) >= len(found) - len(inner), found
    assert np.all([held - after in (1, 2) for _, _, held, after in found])
