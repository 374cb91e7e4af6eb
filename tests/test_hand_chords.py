"""A keyboard hand strikes a chord only with time to (cadenza.compose.double_stops: FAST_CHORD_S)."""

from __future__ import annotations

import numpy as np

from cadenza.compose import ComposeRequest, compose
from cadenza.compose.double_stops import FAST_CHORD_S
from cadenza.score.model import Score


def fast_chords(score: Score, part: int) -> tuple[int, int]:
    """(chords the part strikes under FAST_CHORD_S after its previous onset, its onsets)."""
    notes = score.notes[score.notes["part"] == part]
    onsets, counts = np.unique(notes["onset_ticks"], return_counts=True)
    gaps = np.diff(np.asarray(score.seconds_at(onsets), dtype=float), prepend=-1.0)
    return int(((counts >= 2) & (gaps < FAST_CHORD_S)).sum()), len(onsets)


def test_a_joyful_left_hand_does_not_hammer_chords_in_sixteenths() -> None:
    """At 155 bpm left hands struck three- and four-note chords a sixteenth apart (0.1 s): 11% of their onsets in
    an earlier version, 5.4% over these six pieces while the bias was a double stop's; the sonatas' 1.6%."""
    counted = {0: [0, 0], 1: [0, 0]}
    for seed in range(21, 27):
        score = compose(ComposeRequest(ensemble="piano", mood="joyful", density="high", bars=8, seed=seed)).score
        for hand in (0, 1):
            fast, onsets = fast_chords(score, hand)
            assert onsets >= 16  # (two a bar at least: a 2/4 piece's right hand struck 19)
            counted[hand][0] += fast
            counted[hand][1] += onsets
    assert counted[0][0] <= 2  # the right hand: a tune
    assert counted[1][0] <= 0.03 * counted[1][1], counted
