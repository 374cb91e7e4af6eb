"""Sevenths (compose/sevenths.py): where the harmony plan writes a seventh chord, a part above the bass leans to its
seventh while none sounds it, and a line that sounded it leans to the step down under the next chord. Before, the
plan leaned to all four tones alike and the model, which writes sevenths rarely, left them out: a string quartet's
planned V7 sounded its seventh on 18 of 301 notes struck under planned seventh chords."""

from __future__ import annotations

import numpy as np
import pytest

import cadenza
from cadenza.compose.plan import Chord
from cadenza.compose.sevenths import RESOLUTION_NATS, SEVENTH_NATS, SeventhRules, seventh_of
from cadenza.listen import harmony
from cadenza.listen.features import View

V7 = Chord(7, (7, 11, 2, 5), "V7")  # G B D F in C major
I = Chord(0, (0, 4, 7), "I")  # noqa: E741 - the Roman numeral


class _Quartet(SeventhRules):
    def __init__(self, style: str = "classical") -> None:
        self.polyphony, self.lowest, self.top, self.style = [1, 1, 1, 1], 3, 0, style
        self.doubled: frozenset[int] = frozenset()
        self.sevenths = {}


def test_the_seventh_is_the_fourth_tone_of_a_seventh_chord() -> None:
    assert seventh_of(V7) == 5
    assert seventh_of(I) is None and seventh_of(None) is None


def test_a_part_above_the_bass_leans_to_a_planned_seventh_while_none_sounds_it() -> None:
    rules = _Quartet()
    bias = rules.seventh_bias(1, V7, {0: [67], 3: [43]})
    assert bias is not None
    assert bias[65] == pytest.approx(SEVENTH_NATS["classical"]) == bias[53]  # every F
    assert bias[67] == 0 and bias[64] == 0
    assert rules.seventh_bias(1, V7, {0: [77], 3: [43]}) is None  # the first violin sounds F already
    assert rules.seventh_bias(3, V7, {0: [67]}) is None  # the bass takes the plan's root or inversion
    assert rules.seventh_bias(1, I, {}) is None  # a triad has none
    assert rules.seventh_bias(1, None, {}) is None  # off the beat: no chord asked
    assert _Quartet("renaissance").seventh_bias(1, V7, {}) is None  # a style that does not write them
    assert _Quartet("baroque").seventh_bias(0, V7, {}) is None  # a chorale's tune is the hymn's
    chorale = _Quartet("baroque").seventh_bias(1, V7, {})
    assert chorale is not None and chorale[65] == pytest.approx(SEVENTH_NATS["baroque"])
    assert SEVENTH_NATS["baroque"] < SEVENTH_NATS["classical"]  # a chorale's sevenths were already the real ones


def test_a_line_resolves_its_seventh_down_by_step_under_the_next_chord() -> None:
    rules = _Quartet()
    rules.sounded_seventh(1, 65, lambda: V7)  # the second violin's F under V7
    assert rules.seventh_resolution(1, 65, lambda: V7) is None  # the chord goes on: held or struck again
    rules.sounded_seventh(1, 65, lambda: V7)
    resolution = rules.seventh_resolution(1, 65, lambda: I)
    assert resolution is not None
    assert resolution[64] == pytest.approx(RESOLUTION_NATS)  # F -> E, the tonic chord's third
    assert np.count_nonzero(resolution) == 1  # E-flat is no tone of C major
    assert rules.seventh_resolution(2, 65, lambda: I) is None  # another part did not sound it
    rules.sounded_seventh(1, 64, lambda: I)  # resolved: forgotten
    assert rules.seventh_resolution(1, 64, lambda: I) is None
    rules.sounded_seventh(0, 65, lambda: V7)  # a part that plays chords (a hand) has no next note to resolve
    piano = _Quartet()
    piano.polyphony = [4, 1, 1, 1]
    piano.sounded_seventh(0, 65, lambda: V7)
    assert piano.sevenths == {}


def test_classical_quartets_sound_seventh_chords_on_a_fifth_of_their_beats() -> None:
    """The real quartets of the craft benchmark: 22-35% of their beats (p10-p90) are heard as seventh chords."""
    shares = []
    for seed in range(3):
        view = View(cadenza.compose(ensemble="string-quartet", epoch="classical", bars=16, seed=seed,
                                    guard=False).score)
        shares.append(harmony.vocabulary(harmony.beat_chords(view))[2])
    assert float(np.mean(shares)) >= 0.15, shares
