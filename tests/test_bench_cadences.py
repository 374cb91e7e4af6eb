"""The cadence benchmark reads the annotators' cadence marks, pairs them with listen's cadences one to one within
its tolerance, and scores listen on hand-built bars and on a real annotated movement (skipped without ../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadenza.lab.cadences import TOLERANCE_BEATS, compare_cadences, human_cadences, match, summary
from cadenza.listen.features import View
from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import Part, Score, TimeSignature

Note = tuple[int, int, int, int, int]


def _bars(chords: list[tuple[int, ...]]) -> Score:
    """One 4/4 bar per chord, struck on its downbeat and held the whole bar."""
    notes = [(bar * 4 * Q, 4 * Q, p, 80, 0) for bar, pitches in enumerate(chords) for p in pitches]
    return Score.build(parts=[Part("P")], notes=notes, time_signatures=[TimeSignature(0, 4, 4)])


def test_marks_are_read_as_listen_names_the_kinds() -> None:
    score = _bars([(48, 64, 67, 72)] * 4)
    labels = [(0, "C.I{"), (4 * Q, "V|HC"), (8 * Q, "I|PAC}"), (12 * Q, "V7|EC"), (14 * Q, "vi|DC")]
    assert human_cadences(View(score), labels) == [(4, "half"), (8, "authentic"), (12, ""), (14, "deceptive")]


def test_cadences_pair_once_each_nearest_first() -> None:
    heard = [(3, "half"), (8, "authentic"), (9, "authentic"), (30, "half")]
    marked = [(4, "half"), (9, "authentic"), (20, "half")]
    assert sorted(match(heard, marked)) == [(0, 0), (2, 1)]  # 8 and 9 both lie near 9: the nearer one takes it
    assert match([(0, "half")], [(TOLERANCE_BEATS + 1, "half")]) == []


def test_a_phrase_closing_on_i_is_heard_where_the_annotator_marked_it() -> None:
    # C major, a bar each: I, IV, V, I; the annotator marks a PAC on the last bar only
    c, f, g = (48, 64, 67, 72), (53, 65, 69, 72), (43, 62, 67, 71)
    score = _bars([c, f, g, c])
    counts = compare_cadences(score, [(0, "C.I{"), (4 * Q, "IV"), (8 * Q, "V"), (12 * Q, "I|PAC}")])
    assert (counts["marked"], counts["matched"], counts["kind_agrees"]) == (1, 1, 1)
    result = summary(counts)
    assert result["recall"] == 1.0 and 0 < result["precision"] <= 1.0


def test_listen_is_scored_on_a_real_movement(shared_dir: Path) -> None:
    from cadenza.lab.cadences import HEARINGS
    from cadenza.lab.harmony import aligned_labels
    from cadenza.score import read_score

    path = shared_dir / "datasets" / "classical" / "dcml-piano" / "mozart_sonatas" / "K310-2.mxl"
    if not path.is_file():
        pytest.skip("the DCML corpora are not in ../shared")
    score = read_score(path)
    labels = aligned_labels(path, score)
    results = {name: compare_cadences(score, labels, hearing) for name, hearing in HEARINGS.items()}
    for counts in results.values():
        assert counts["marked"] >= 10 and counts["marked"] == results["listen"]["marked"]
        assert 0 < counts["matched"] <= min(counts["heard"], counts["marked"])
