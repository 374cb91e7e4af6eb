"""The part-writing rules on their own: what they forbid and what they make expensive."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from cadenza.compose.rules import VoiceRules


def _rules_after(other: int, then: int, now_pitch: int, now: int = 960) -> VoiceRules:
    """Four single lines written top-down, where ``other`` has just moved from ``then`` to ``now_pitch``."""
    rules = VoiceRules(SimpleNamespace(drums=set()), [1, 1, 1, 1], [(0, 3)], bars=8, key=None)
    rules.latest = {other: (now, [(now + 960, now_pitch)])}
    rules.previous_pitch = {other: then}
    return rules


def test_parallel_fifths_and_octaves_are_caught_below_and_above_the_part_that_moved() -> None:
    # the alto goes C5 -> D5 (72 -> 74); the bass, a fifth and two octaves below on F3 (53), may not go up to G3
    below = _rules_after(other=1, then=72, now_pitch=74)._parallels(3, 53, 960)
    assert below[55] and not below[54] and not below[52]  # G3: parallel fifths; F#3 and E3 are not
    # the tenor went G3 -> A3 under a soprano on D5 (a fifth above); the soprano may not go to E5 with it
    above = _rules_after(other=2, then=55, now_pitch=57)._parallels(0, 74, 960)
    assert above[76] and not above[77]
    octaves = _rules_after(other=1, then=60, now_pitch=62)._parallels(3, 48, 960)
    assert octaves[50] and not octaves[47]  # up an octave apart in parallel; contrary motion is free
    assert np.flatnonzero(_rules_after(other=1, then=60, now_pitch=60)._parallels(3, 53, 960)).size == 0  # oblique
