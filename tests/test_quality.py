"""Quality metrics on hand-built scores whose values are known, and on real chorales."""

from __future__ import annotations

import math

import pytest

from cadenza.listen.quality import (
    empty_beat_rate,
    groove_consistency,
    pitch_class_entropy,
    polyphony,
    quality,
    scale_consistency,
)
from cadenza.score import Part, Score, TimeSignature, read_score
from cadenza.score.model import TICKS_PER_QUARTER

Q = TICKS_PER_QUARTER


def _score(notes: list[tuple[int, int, int, int, int]]) -> Score:
    return Score.build(parts=[Part("Piano", 0)], notes=notes, time_signatures=[TimeSignature(0, 4, 4)])


def test_a_scale_in_quarters() -> None:
    scale = _score([(i * Q, Q, 60 + step, 80, 0) for i, step in enumerate((0, 2, 4, 5, 7, 9, 11, 12))])
    assert scale_consistency(scale) == 1.0
    # C appears twice among eight notes, the six other pitch classes once
    expected = -(2 / 8 * math.log2(2 / 8)) - 6 * (1 / 8 * math.log2(1 / 8))
    assert pitch_class_entropy(scale) == pytest.approx(expected)
    assert groove_consistency(scale) == 1.0  # both bars: four quarter-note onsets
    assert empty_beat_rate(scale) == 0.0 and polyphony(scale) == 1.0


def test_chromatic_chords_rests_and_changing_rhythm() -> None:
    chromatic = _score([(0, 4 * Q, p, 80, 0) for p in range(60, 72)])
    assert pitch_class_entropy(chromatic) == pytest.approx(math.log2(12))
    assert scale_consistency(chromatic) == pytest.approx(7 / 12) and polyphony(chromatic) == 12
    # bar 1: a whole-note triad; bar 2 silent; bar 3: eighth notes
    notes = [(0, 4 * Q, p, 80, 0) for p in (60, 64, 67)] + [(8 * Q + i * Q // 2, Q // 2, 72, 80, 0)
                                                           for i in range(8)]
    mixed = _score(notes)
    assert empty_beat_rate(mixed) == pytest.approx(4 / 12)
    # 48 grid slots a bar: bars 1 and 2 differ in one slot, bars 2 and 3 in eight
    assert groove_consistency(mixed) == pytest.approx(1 - (1 / 48 + 8 / 48) / 2)
    assert polyphony(mixed) == pytest.approx((3 * 48 + 1 * 48) / 96)


def test_real_chorale_is_in_the_expected_ranges() -> None:
    values = quality(read_score("music21:bach/bwv66.6"))
    assert 2.5 < values["pitch_class_entropy"] < 3.4 and values["scale_consistency"] > 0.85
    assert 3.5 < values["polyphony"] <= 4.0 and values["empty_beat_rate"] < 0.05
