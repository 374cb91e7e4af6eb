from __future__ import annotations

import pytest

from cadenza.errors import UsageError
from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import Part, Score
from cadenza.score.ops import merge, quantize, slice_bars, slice_ticks, transpose, transpose_sharps


def test_transpose_moves_pitches_and_key(waltz: Score) -> None:
    up = transpose(waltz, 2)
    assert (up.notes["pitch"] == waltz.notes["pitch"] + 2).all()
    assert [k.sharps for k in up.key_signatures] == [3, 1]  # G major -> A major, D minor -> E minor
    assert transpose(up, -2) == waltz
    assert waltz.notes["pitch"][0] in (67, 48)  # the input is untouched


def test_transpose_keeps_drums_and_guards_range() -> None:
    s = Score.build(parts=[Part("Kit", is_drum=True), Part("Bass", 33)],
                    notes=[(0, Q, 36, 100, 0), (0, Q, 40, 100, 1)])
    up = transpose(s, 5)
    assert sorted(up.notes["pitch"].tolist()) == [36, 45]
    with pytest.raises(UsageError):
        transpose(s, 100)


def test_transpose_sharps_spelling() -> None:
    assert transpose_sharps(0, 1) == -5  # C -> D flat
    assert transpose_sharps(0, 6) == 6  # C -> F sharp
    assert transpose_sharps(3, 12) == 3


def test_slice_bars_keeps_pickup_and_cuts_notes(waltz: Score) -> None:
    head = slice_bars(waltz, 0, 2)  # pickup + bar 1
    assert head.pickup_ticks == Q and head.length_ticks == 4 * Q
    ends = head.notes["onset_ticks"] + head.notes["duration_ticks"]
    assert ends.max() <= 4 * Q
    tail = slice_bars(waltz, 2, 4)  # bars 2 and 3, from tick 4Q
    assert tail.pickup_ticks == 0 and tail.length_ticks == 6 * Q
    # the B (71) that starts at 4Q and lasts 4Q ends inside the slice, so it stays whole
    assert (0, 4 * Q, 71) in [(int(n["onset_ticks"]), int(n["duration_ticks"]), int(n["pitch"]))
                              for n in tail.notes]
    assert [str(k) for k in tail.key_signatures] == ["G major", "D minor"]
    assert tail.key_signatures[1].onset_ticks == 3 * Q
    with pytest.raises(UsageError):
        slice_bars(waltz, 3, 3)


def test_slice_ticks_cuts_sounding_notes(waltz: Score) -> None:
    window = slice_ticks(waltz, 5 * Q, 6 * Q)
    assert set(window.notes["duration_ticks"].tolist()) == {Q}  # the long B and the cello G, cut
    assert window.tempos[0].bpm == 96.0


def test_merge_appends_parts(waltz: Score) -> None:
    solo = Score.build(parts=[Part("Flute", 73)], notes=[(0, 20 * Q, 79, 60, 0)])
    both = merge(waltz, solo)
    assert [p.name for p in both.parts] == ["Violin", "Cello", "Flute"]
    assert both.note_count == waltz.note_count + 1
    assert both.length_ticks == 20 * Q and both.pickup_ticks == Q


def test_quantize_to_sixteenths(waltz: Score) -> None:
    grid = Q // 4
    q = quantize(waltz, grid)
    assert (q.notes["onset_ticks"] % grid == 0).all()
    assert (q.notes["duration_ticks"] % grid == 0).all() and q.notes["duration_ticks"].min() >= grid
    assert quantize(q, grid) == q  # idempotent


def test_quantize_keeps_notes_inside_the_score() -> None:
    score = Score.build(parts=[Part("Violin", 40)], notes=[(0, Q, 60, 80, 0), (4 * Q - 3, 3, 62, 80, 0)],
                        length_ticks=4 * Q)
    q = quantize(score, Q // 4)
    assert q.length_ticks == 4 * Q and q.bar_count == 1
    assert int((q.notes["onset_ticks"] + q.notes["duration_ticks"]).max()) == 4 * Q
