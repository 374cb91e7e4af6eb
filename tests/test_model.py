from __future__ import annotations

import numpy as np
import pytest

from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import Part, Score, Tempo, TimeSignature
from cadenza.score.model import key_signature_name


def test_resolution_is_exact_for_common_subdivisions() -> None:
    for division in (4, 8, 16, 32, 3, 6, 12, 24, 5, 7, 14, 28):  # per quarter: 64ths, triplets, septuplets...
        assert Q % division == 0, division


def test_build_sorts_notes_and_freezes_them(waltz: Score) -> None:
    onsets = waltz.notes["onset_ticks"]
    assert np.all(np.diff(onsets) >= 0)
    with pytest.raises(ValueError):
        waltz.notes["pitch"][0] = 1  # read-only
    with pytest.raises(AttributeError):
        waltz.pickup_ticks = 0  # type: ignore[misc]


def test_build_defaults_to_4_4_and_length_covers_notes() -> None:
    s = Score.build(parts=[Part("P")], notes=[(0, 5 * Q, 60, 64, 0)])
    assert str(s.time_signatures[0]) == "4/4"
    assert s.length_ticks == 5 * Q
    assert s.bar_count == 2


@pytest.mark.parametrize(
    "note",
    [(-1, Q, 60, 64, 0), (0, 0, 60, 64, 0), (0, Q, 128, 64, 0), (0, Q, 60, 0, 0), (0, Q, 60, 64, 3)],
)
def test_invalid_notes_are_refused(note: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        Score.build(parts=[Part("P")], notes=[note])


def test_invalid_maps_are_refused() -> None:
    with pytest.raises(ValueError):
        TimeSignature(0, 3, 5)
    with pytest.raises(ValueError):
        Tempo(0, 0.0)
    with pytest.raises(ValueError):
        Part("x", program=200)
    with pytest.raises(ValueError):
        Score.build(parts=[Part("P")], notes=[], time_signatures=[TimeSignature(0, 4, 4)], pickup_ticks=4 * Q)


def test_bar_starts_with_pickup_and_meter_change() -> None:
    s = Score.build(
        parts=[Part("P")],
        notes=[(0, Q, 60, 64, 0)],
        time_signatures=[TimeSignature(0, 3, 4), TimeSignature(7 * Q, 6, 8)],
        pickup_ticks=Q,
        length_ticks=7 * Q + 6 * Q,
    )
    assert s.bar_starts().tolist() == [0, Q, 4 * Q, 7 * Q, 10 * Q]
    assert s.locate(0) == (0, 2.0)  # the pickup is beat 3 of a 3/4 bar
    assert s.locate(4 * Q + Q // 2) == (2, 0.5)
    assert s.locate(8 * Q) == (3, 2.0)  # 6/8: beats are eighths


def test_meter_change_inside_a_bar_starts_a_new_bar() -> None:
    s = Score.build(parts=[Part("P")], notes=[], time_signatures=[TimeSignature(0, 4, 4),
                                                                   TimeSignature(6 * Q, 3, 4)],
                    length_ticks=9 * Q)
    assert s.bar_starts().tolist() == [0, 4 * Q, 6 * Q]


def test_seconds_follow_the_tempo_map(waltz: Score) -> None:
    # 7 quarters at 96 bpm, then 3 at 72 bpm
    assert waltz.seconds_at(7 * Q) == pytest.approx(7 * 60 / 96)
    assert waltz.duration_s == pytest.approx(7 * 60 / 96 + 3 * 60 / 72)
    no_tempo = Score.build(parts=[Part("P")], notes=[(0, 4 * Q, 60, 64, 0)])
    assert no_tempo.duration_s == pytest.approx(2.0)  # 120 bpm when none is given


def test_equality_and_replace(waltz: Score) -> None:
    same = waltz.replace()
    assert same == waltz
    other = waltz.with_metadata(title="Other")
    assert other != waltz and other.metadata.title == "Other" and waltz.metadata.title == "Test waltz"


def test_key_names() -> None:
    assert key_signature_name(3, "minor") == "F♯ minor"
    assert key_signature_name(-3, "major") == "E♭ major"
    assert key_signature_name(2, None) == "2♯"
