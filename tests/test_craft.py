"""Craft: the measures on hand-built scores whose faults are known, on a real chorale, the part-writing rules and
cadence plan on their own, and composing with them (the shipped model): no crossing, a tonic ending, cadences."""

from __future__ import annotations

from itertools import chain, pairwise
from typing import Any

import numpy as np
import pytest

from cadenza.compose.plan import CadencePlan, phrase_bars_for, returns
from cadenza.compose.request import Key
from cadenza.compose.rules import no_crossing_window, top_down_groups, written_top_down
from cadenza.errors import UsageError
from cadenza.lab.craft import CraftBenchConfig, compare, craft_markdown, run, summary_lines
from cadenza.listen.craft import MEASURES, craft, fits_chord
from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import KeySignature, Part, Score, TimeSignature, read_score


def two_parts(upper: list[int], lower: list[int], beats: int = 1) -> Score:
    notes = [(i * beats * Q, beats * Q, p, 80, 0) for i, p in enumerate(upper)]
    notes += [(i * beats * Q, beats * Q, p, 80, 1) for i, p in enumerate(lower)]
    return Score.build(parts=[Part("Soprano", 52), Part("Bass", 52)], notes=notes,
                       time_signatures=[TimeSignature(0, 4, 4)], key_signatures=[KeySignature(0, 0, "major")])


def test_parallel_fifths_and_octaves_are_counted_and_contrary_motion_is_not() -> None:
    parallel = craft(two_parts([67, 69, 71, 72], [60, 62, 64, 65]))  # fifths moving up together
    contrary = craft(two_parts([67, 65, 64, 72], [60, 62, 64 - 12, 48]))
    assert parallel["parallels"] == pytest.approx(300 / 4, abs=1e-3)  # three parallel moves in four beats
    assert contrary["parallels"] == 0
    octaves = craft(two_parts([72, 74, 76], [60, 62, 64]))
    assert octaves["parallels"] > 0 and octaves["crossings"] == 0


def test_crossings_and_unisons_are_heard_where_the_parts_swap() -> None:
    # the "upper" part has the higher mean pitch, so it is the top line; it dips below the other part twice
    crossed = craft(two_parts([76, 79, 60, 62, 77, 79], [64, 65, 67, 65, 64, 64]))
    assert crossed["crossings"] == pytest.approx(200 / 6, abs=1e-3)
    together = craft(two_parts([72, 72, 74, 72], [72, 65, 67, 64]))
    assert together["unisons"] == pytest.approx(0.25)


def test_chords_endings_and_melody() -> None:
    assert fits_chord(frozenset({0, 4, 7})) and fits_chord(frozenset({7, 11, 2, 5})) and fits_chord(frozenset({0, 7}))
    assert not fits_chord(frozenset({0, 1, 2})) and not fits_chord(frozenset({0, 1}))
    home = two_parts([64, 62, 60], [55, 55, 48])  # ... E-C over C: tonic in the bass
    away = two_parts([64, 62, 64], [55, 55, 52])  # ends with E in the bass
    assert craft(home, (0, "major"))["ends_on_tonic"] == 1.0
    assert craft(away, (0, "major"))["ends_on_tonic"] == 0.0
    steps = craft(two_parts([60, 62, 64, 65, 67, 65], [48] * 6))
    assert steps["step_share"] == 1.0 and steps["mean_interval"] == pytest.approx(9 / 5, abs=1e-3)
    assert steps["melody_range"] == 7


def test_repeated_notes_count_a_parts_strikes_of_its_pitch_again() -> None:
    # the upper part strikes E again once in 5 moves, the lower one holds C for 5 moves: 6 repeats in 10 moves
    measured = craft(two_parts([64, 64, 65, 67, 65, 64], [48] * 6))
    assert measured["repeated_notes"] == pytest.approx(6 / 10)
    assert craft(two_parts([60, 62, 64, 65], [48, 50, 52, 53]))["repeated_notes"] == 0.0


def test_a_returning_figure_counts_as_motif_recurrence() -> None:
    figure = [60, 62, 64, 60]
    other = [[67, 65, 64, 69], [71, 67, 72, 60], [62, 65, 59, 71], [64, 69, 62, 67]]
    tune = [*figure * 4, *chain(*other), *figure, *chain(*other[:3])]  # 4 bars of the figure, later once
    fresh = [*figure * 4, *chain(*other), *chain(*other)]
    bass = [48] * len(tune)
    assert craft(two_parts(tune, bass))["motif_recurrence"] == pytest.approx(1 / 8, abs=1e-3)
    assert craft(two_parts(fresh, bass))["motif_recurrence"] == 0.0


def test_a_real_chorale_reads_as_well_written() -> None:
    chorale = read_score("music21:bach/bwv66.6")
    measured = craft(chorale)
    assert set(measured) == set(MEASURES)
    assert measured["crossings"] == 0 and measured["parallels"] == 0
    assert measured["chord_share"] >= 0.85 and measured["legato_share"] >= 0.95
    assert measured["ends_on_tonic"] == 1.0 and measured["key_agreement"] == 1.0
    assert measured["phrase_arrivals"] >= 0.5


def test_no_crossing_window_and_ensembles_written_top_down() -> None:
    sounding = {0: [72], 2: [60, 64], 3: [48]}
    assert no_crossing_window(1, sounding, 4) == (64, 72)  # between the tenor's top and the soprano
    assert no_crossing_window(1, sounding, 4, strict=True) == (65, 71)  # hands share no key
    assert no_crossing_window(0, {1: [70]}, 2) == (70, 127)
    assert no_crossing_window(1, {0: [60], 2: [65]}, 3) == (0, 60)  # already crossed: the upper bound holds
    from cadenza.compose.ensembles import ENSEMBLES

    assert [name for name, e in ENSEMBLES.items() if written_top_down(e.voices)] == [
        "piano", "satb", "string-quartet", "voices", "lead-sheet"]
    orchestra = ENSEMBLES["orchestra"].voices  # woodwinds and strings each keep their order, bass lowest
    assert (0, 3) in top_down_groups(orchestra) and (7, 11) in top_down_groups(orchestra)
    assert no_crossing_window(11, {9: [60], 10: [50]}, 12, first=7) == (0, 50)


def test_cadence_plan_and_repetition_scheme() -> None:
    d_minor = Key(2, "minor")
    plan = CadencePlan(d_minor, 16)
    assert plan.describe() == ["half@4", "authentic@8", "half@12", "authentic@16"]
    assert plan.chord_at(3).name == "V" and plan.chord_at(6).name == "V7" and plan.chord_at(7).name == "i"
    assert plan.chord_at(2).name == "iv" and plan.chord_at(2).pcs == (7, 10, 2)
    assert plan.chord_at(1) is None and plan.final_chord(15).pcs == (2, 5, 9) and plan.final_chord(14) is None
    assert plan.chord_at(6).pcs == (9, 1, 4, 7)  # the dominant with the raised leading note
    assert CadencePlan(d_minor, 6).describe() == ["authentic@6"]
    assert CadencePlan(d_minor, 16, close_on_tonic=False).final_chord(15) is None
    assert returns(16) == {4: 0, 5: 1, 12: 0, 13: 1} and returns(8) == {4: 0, 5: 1} and returns(6) == {}
    # a classical theme is a period of eight-bar phrases: a half cadence at 8, an authentic one at 16, the
    # second phrase opening as the first did
    assert phrase_bars_for("classical", 16) == 8 and phrase_bars_for("classical", 32) == 8
    assert phrase_bars_for("baroque", 16) == 4 and phrase_bars_for(None, 16) == 4 and phrase_bars_for("folk", 16) == 4
    assert phrase_bars_for("classical", 12) == 4  # a shorter piece is a period of four-bar phrases
    assert CadencePlan(d_minor, 16, phrase_bars=8).describe() == ["half@8", "authentic@16"]
    # ... restating the first phrase's opening idea, two bars, not its whole first half (classical piano pieces
    # brought back their first phrase's figures in a third of their later bars; the held-out sonatas in 17%)
    assert returns(16, "classical", 8) == {8: 0, 9: 1}


def test_composing_keeps_parts_apart_plans_cadences_and_ends_home() -> None:
    pytest.importorskip("torch")
    from cadenza.compose import ComposeRequest, compose

    made = compose(ComposeRequest(ensemble="satb", key="D minor", meter="4/4", bars=8, seed=3, guard=False))
    measured = craft(made.score, (2, "minor"))
    assert measured["crossings"] == 0
    assert measured["ends_on_tonic"] == 1.0
    assert made.report["plan"]["cadences"] == ["half@4", "authentic@8"]
    last_bar = made.score.bar_starts()[-1]
    final = made.score.notes[made.score.notes["onset_ticks"] >= last_bar]
    assert set((final["pitch"] % 12).tolist()) <= {2, 5, 9}  # the last bar is the tonic chord
    ends = final["onset_ticks"] + final["duration_ticks"]
    assert ends.max() == made.score.length_ticks


def test_compare_says_which_measures_fall_inside_the_real_range() -> None:
    real = [{"measures": {name: v for name in MEASURES}} for v in np.linspace(0.0, 1.0, 11)]
    made = [{"measures": {name: (0.5 if name != "step_share" else 5.0) for name in MEASURES}, "key_asked": "C major"}]
    result = compare(real, made)
    assert result["outside"] == ["step_share"]
    assert result["binary"]["ends_on_tonic"]["generated_key_asked"] == 0.5
    assert 0.9 < result["inside_share"] < 1.0


def test_the_craft_benchmark_runs_end_to_end_on_chorales() -> None:
    pytest.importorskip("torch")
    with pytest.raises(UsageError):
        CraftBenchConfig(ensembles=("kazoo",))
    with pytest.raises(UsageError):
        CraftBenchConfig(mood="angry")
    result = run(CraftBenchConfig(ensembles=("satb",), seeds=1, bars=8, real_per_ensemble=2, mood="sad"))
    row = result["ensembles"]["satb"]
    assert row["real_works"] == 2 and len(row["generated"]) == 1
    assert result["config"]["mood"] == "sad" and row["generated"][0]["mood_heard"] == "sad"
    assert set(row["measures"]) <= set(MEASURES) and 0 <= row["inside_share"] <= 1
    text = "\n".join(craft_markdown(result, "cadenza bench --only craft"))
    assert "### satb (baroque, sad)" in text and "phrase_arrivals" in text
    assert "craft satb: sad asked, heard in 1 of 1 pieces" in summary_lines(result)


def test_a_quartet_is_written_on_the_grid_its_theme_returns_and_its_cadences_are_heard() -> None:
    pytest.importorskip("torch")
    from cadenza.compose import ComposeRequest, compose
    from cadenza.lab.craft import planned_heard

    made = compose(ComposeRequest(ensemble="string-quartet", key="D minor", meter="3/4", bars=16, seed=2,
                                  guard=False))
    notes = made.score.notes
    on_grid = lambda ticks: (ticks % 420 == 0) | (ticks % 1120 == 0)  # noqa: E731  32nds, eighth triplets
    assert on_grid(notes["onset_ticks"]).all() and on_grid(notes["duration_ticks"]).all()
    starts = made.score.bar_starts()
    first_violin = notes[notes["part"] == 0]

    def bar(index: int) -> list[tuple[int, int]]:
        onsets = first_violin["onset_ticks"]
        mine = first_violin[(onsets >= starts[index]) & (onsets < starts[index + 1])]
        return [(int(o - starts[index]), int(p)) for o, p in zip(mine["onset_ticks"], mine["pitch"], strict=True)]

    # no style asked: one drawn for a quartet (classical, 77% of the corpus' quartets), whose themes are periods
    # of two eight-bar phrases: the opening comes back at the second
    assert made.report["plan"]["labels"]["epoch"] == "classical"
    assert bar(0) and bar(8) == bar(0)
    assert made.report["plan"]["returns"] == {"bar 9": "bar 1", "bar 10": "bar 2"}
    heard = planned_heard(made.report["plan"]["cadences"], made.report["heard"]["cadences"])
    assert heard is not None and heard >= 0.75
    assert planned_heard(["half@4", "authentic@8"], ["half@4", "deceptive@9"]) == 0.5
    assert planned_heard("in the key heard", []) is None


def test_a_classical_theme_is_a_period_of_two_eight_bar_phrases() -> None:
    """The consequent opens as the antecedent: its first two bars restate the melody of bars 1-2 (the notes under
    it are harmonised anew, and a voice may sound above it: seed 4 adds a line above its bar 9). Over seeds 4-6,
    at least two of three restate it as the top line (12 seeds: 11, and 10 with the first harmony tables)."""
    pytest.importorskip("torch")
    from cadenza.compose import ComposeRequest, compose
    from cadenza.lab.craft import planned_heard

    restated = 0
    for seed in (4, 5, 6):
        made = compose(ComposeRequest(ensemble="piano", epoch="classical", key="G major", meter="2/4", bars=16,
                                      seed=seed, guard=False))
        plan = made.report["plan"]
        assert plan["cadences"] == ["half@8", "authentic@16"]
        up = ", an octave up" if plan["returns"]["bar 9"].endswith("octave up") else ""  # a keyboard's lifted return
        assert plan["returns"] == {f"bar {9 + i}": f"bar {1 + i}{up}" for i in range(2)}
        assert len(plan["harmony"]) == 16 and plan["harmony"][15].split()[0] == "I"
        assert made.report["ear"]["phrases"] == 2  # judged phrase by phrase: two of them
        notes, starts = made.score.notes, made.score.bar_starts()
        right_hand = notes[notes["part"] == 0]

        def bar(index: int, right_hand: np.ndarray = right_hand, starts: np.ndarray = starts) -> list[tuple[int, int]]:
            """The right hand's melody in a bar: its highest note at each onset."""
            onsets = right_hand["onset_ticks"]
            mine = right_hand[(onsets >= starts[index]) & (onsets < starts[index + 1])]
            top: dict[int, int] = {}
            for onset, pitch in zip(mine["onset_ticks"].tolist(), mine["pitch"].tolist(), strict=True):
                top[onset - int(starts[index])] = max(top.get(onset - int(starts[index]), 0), pitch)
            return sorted(top.items())

        assert bar(0)
        lift = 12 if up else 0
        restated += all(bar(8 + i) == [(at, pitch + lift) for at, pitch in bar(i)] for i in range(2))
        assert planned_heard(plan["cadences"], made.report["heard"]["cadences"]) >= 0.5
    assert restated >= 2


def test_the_ear_hears_a_chorale_cadence_where_listen_does_and_not_elsewhere() -> None:
    from cadenza.compose.ear import heard_arrival
    from cadenza.listen import harmony
    from cadenza.listen.features import View
    from cadenza.listen.key import estimate_key
    from cadenza.tokens.events import KIND, encode

    chorale = read_score("music21:bach/bwv66.6")
    view = View(chorale)
    key = estimate_key(view)
    heard = sorted({int(c.split("@")[1]) for c in harmony.cadences(view, harmony.beat_chords(view), key.tonic,
                                                                   key.mode)})
    steps = encode(chorale, [])
    bar_lines = np.flatnonzero(steps[:, 0] == KIND["bar"])
    plan = CadencePlan(Key(key.tonic, key.mode), chorale.bar_count)
    quiet = [i for i in range(2, chorale.bar_count - 1) if chorale.bar_number(i) not in heard
             and chorale.bar_number(i) + 1 not in heard]
    arrival = next(i for i in range(2, chorale.bar_count - 1) if chorale.bar_number(i) in heard)
    assert heard_arrival(steps[: bar_lines[arrival + 1] + 1], arrival, plan)[0]
    assert quiet and not heard_arrival(steps[: bar_lines[quiet[0] + 1] + 1], quiet[0], plan)[0]


def test_composing_reports_what_the_ear_did() -> None:
    pytest.importorskip("torch")
    from cadenza.compose import ComposeRequest, compose

    made = compose(ComposeRequest(ensemble="piano", key="G major", meter="4/4", bars=8, seed=5, guard=False))
    ear = made.report["ear"]
    assert ear["phrases"] == 2 and 2 <= ear["attempts"] <= 6 and 0 <= ear["unheard"] <= 2
    assert made.score.bar_count == 8


def test_lines_do_not_hammer_one_pitch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A line pays for striking one pitch again: the longest such run in a quartet is shorter with the rule than
    without it, and its parts strike their pitch again no more often than the real quartets' 90th percentile
    (34% of their moves; with three strikes free, seeds 1-6 struck again at 28-44%, median 34%)."""
    pytest.importorskip("torch")
    from cadenza.compose import ComposeRequest, compose, rules

    def longest_runs(made: Any) -> int:
        notes = made.score.notes
        total = 0
        for part in range(4):
            mine = notes[notes["part"] == part]
            mine = mine[np.argsort(mine["onset_ticks"], kind="stable")]
            _, first = np.unique(mine["onset_ticks"], return_index=True)
            line = mine["pitch"][first]  # one pitch per onset (the first written)
            run = best = 1
            for a, b in pairwise(line):
                run = run + 1 if a == b else 1
                best = max(best, run)
            total += best
        return total

    # over six pieces (over three, one piece's chance run decided it: the longest run may sit in the lower note
    # of a double stop, which the rule, on the line's top note, does not see; seeds 1-10: 187 with, 286 without)
    requests = [ComposeRequest(ensemble="string-quartet", key="D minor", meter="3/4", bars=16, seed=seed, guard=False)
                for seed in range(1, 7)]
    made = [compose(request) for request in requests]
    with_rule = sum(longest_runs(piece) for piece in made)
    assert np.median([craft(piece.score)["repeated_notes"] for piece in made]) <= 0.3
    monkeypatch.setattr(rules, "REPEAT_NATS", 0.0)
    without = sum(longest_runs(compose(request)) for request in requests)
    assert with_rule < without


def test_the_ear_hears_a_tune_that_goes_nowhere_one_that_leaps_about_and_a_b_phrase_without_its_high_point() -> None:
    from cadenza.compose.ear import melody_faults
    from cadenza.compose.plan import climax_phrase
    from cadenza.score.model import NOTE_DTYPE, Part, Score, TimeSignature

    def tune(pitches: list[int]) -> Score:
        notes = np.zeros(len(pitches), dtype=NOTE_DTYPE)
        notes["pitch"], notes["onset_ticks"] = pitches, np.arange(len(pitches)) * 3360
        notes["duration_ticks"], notes["velocity"] = 3360, 80
        return Score(parts=(Part("Melody", 0),), notes=notes, time_signatures=(TimeSignature(0, 4, 4),),
                     length_ticks=len(pitches) * 3360)

    assert melody_faults(tune([60, 62, 64, 62, 60, 62, 64, 62]), 0) == 1  # inside a third: nowhere
    assert melody_faults(tune([60, 67, 62, 69, 64, 72, 65, 60]), 0) == 1  # a random walk of leaps
    assert melody_faults(tune([60, 62, 64, 65, 67, 65, 64, 62]), 0) == 0  # a line
    rising = tune([60, 62, 64, 62, 60, 62, 64, 62, 64, 65, 67, 69, 67, 65, 64, 62])  # bar 3 climbs to A
    assert melody_faults(rising, 2, climax=True) == 0 and melody_faults(rising, 3, climax=True) == 1
    # a song: the voice (part 0) sings a line under a piano that leaps about above it; the ear hears the voice
    line, leaps = tune([60, 62, 64, 65, 67, 65, 64, 62]), tune([72, 79, 74, 81, 76, 84, 77, 72])
    moved = leaps.notes.copy()
    moved["part"] = 1
    song = Score(parts=(Part("Voice", 53), Part("Piano", 0)), notes=np.concatenate([line.notes, moved]),
                 time_signatures=line.time_signatures, length_ticks=line.length_ticks)
    assert melody_faults(song, 0) == 1 and melody_faults(song, 0, tune_part=0) == 0
    assert [b for b in range(0, 16, 4) if climax_phrase(b, 16)] == [8]  # a a′ b a″: the b
    assert [b for b in range(0, 16, 4) if climax_phrase(b, 16, "folk")] == [4]  # a strain's b, first time
    assert not climax_phrase(4, 8)


def test_the_ear_prefers_a_last_chord_that_the_whole_ensemble_sounds() -> None:
    from cadenza.compose.ear import heard_arrival
    from cadenza.compose.plan import CadencePlan
    from cadenza.compose.request import parse_key
    from cadenza.score.model import Part, Score, TimeSignature
    from cadenza.tokens.events import encode

    q = 3360
    e_minor = parse_key("E minor")

    def ending(final_parts: int) -> np.ndarray:
        # a bar of B7 in four parts, then E minor's tonic chord in the first ``final_parts`` parts
        before = [(0, 4 * q, pitch, 80, part) for part, pitch in enumerate((75, 66, 59, 47))]
        last = [(4 * q, 4 * q, pitch, 80, part) for part, pitch in enumerate((79, 71, 64, 52))][:final_parts]
        score = Score.build(parts=[Part(f"P{i}", 40) for i in range(4)], notes=before + last,
                            time_signatures=[TimeSignature(0, 4, 4)], length_ticks=8 * q)
        return encode(score)

    plan = CadencePlan(e_minor, 2)
    whole, thin = heard_arrival(ending(4), 1, plan), heard_arrival(ending(2), 1, plan)
    assert whole[3] > thin[3]  # the match to the planned chord: two parts silent, the full close wins


def test_the_ear_hears_the_last_chord_held_as_it_will_be_written() -> None:
    """The piece's last chord is held to its end when the piece is written (``hold_final_chord``): the ear
    hears it so. Before, a V7 - i close whose last chord the model wrote one beat long went unheard (the chord
    seemed to last a beat), and the last phrase was written three times for nothing in 4 of 8 quartets."""
    from cadenza.compose.ear import heard_arrival
    from cadenza.compose.plan import CadencePlan
    from cadenza.compose.request import parse_key
    from cadenza.score.model import Part, Score, TimeSignature
    from cadenza.tokens.events import encode

    q = 3360
    before = [(0, 4 * q, pitch, 80, part) for part, pitch in enumerate((75, 66, 59, 47))]  # B7
    last = [(4 * q, q, pitch, 80, part) for part, pitch in enumerate((79, 71, 64, 52))]  # E minor, one beat
    score = Score.build(parts=[Part(f"P{i}", 40) for i in range(4)], notes=before + last,
                        time_signatures=[TimeSignature(0, 4, 4)], length_ticks=8 * q)
    plan = CadencePlan(parse_key("E minor"), 2)
    assert heard_arrival(encode(score), 1, plan)[0]
    # a phrase's arrival inside the piece is heard as written: the music goes on after it
    assert not heard_arrival(encode(score), 1, CadencePlan(parse_key("E minor"), 4))[0]


def test_the_ear_mends_an_unheard_cadence_by_writing_its_last_two_bars_again() -> None:
    """A phrase whose tune is sound but whose cadence is not heard keeps its opening: the next attempts start
    from the bar line two bars before the arrival's end, not from the phrase's start."""
    from cadenza.compose.ear import CADENCE_BARS, sample_by_phrase, through_bar_line
    from cadenza.listen.features import View
    from cadenza.listen.key import estimate_key
    from cadenza.tokens.events import KIND, encode

    chorale = read_score("music21:bach/bwv66.6")  # cadences at bars 3, 7 and 8; none at bar 4
    key = estimate_key(View(chorale))
    steps = encode(chorale, [])
    bar_lines = np.flatnonzero(steps[:, 0] == KIND["bar"])
    plan = CadencePlan(Key(key.tonic, key.mode), chorale.bar_count, phrase_bars=5)
    prefixes: list[np.ndarray] = []

    def generate(prefix: np.ndarray, seed: int, should_stop: Any) -> tuple[np.ndarray, CadencePlan]:
        prefixes.append(prefix)
        if len(prefixes) <= 3:  # the first phrase, arriving at bar 4: the chorale's own bars, unheard there
            return steps[: bar_lines[6] + 1], plan
        return steps, plan  # the last phrase: the whole chorale

    sample_by_phrase(steps[: bar_lines[0]], chorale.bar_count, 0, generate, phrase_bars=5)
    assert len(prefixes[0]) == bar_lines[0]  # the first attempt: the whole phrase
    mended = through_bar_line(steps, 4 - CADENCE_BARS + 1)
    assert len(mended) == bar_lines[3] + 1
    assert all(np.array_equal(p, mended) for p in prefixes[1:3])  # then bars 3 and 4 again


def test_the_ear_keeps_a_whole_attempt_over_one_the_step_budget_cut_short() -> None:
    from cadenza.compose.ear import sample_by_phrase
    from cadenza.tokens.events import KIND, encode

    chorale = read_score("music21:bach/bwv66.6")
    steps = encode(chorale, [])
    bar_lines = np.flatnonzero(steps[:, 0] == KIND["bar"])
    cut = np.concatenate([steps[: bar_lines[5]], steps[-1:]])  # six bars, then the end the budget wrote
    assert cut[-1, 0] == KIND["eos"]
    attempts: list[int] = []

    def generate(prefix: np.ndarray, seed: int, should_stop: Any) -> tuple[np.ndarray, None]:
        attempts.append(seed)
        return (cut if len(attempts) == 1 else steps), None

    kept, counts = sample_by_phrase(steps[: bar_lines[0]], chorale.bar_count, 0, generate,
                                    phrase_bars=chorale.bar_count)
    assert np.array_equal(kept, steps) and counts["attempts"] == 2


def test_a_sad_lead_sheet_in_six_eight_has_every_bar_asked() -> None:
    from cadenza.compose import ComposeRequest, compose

    # its last phrase's rules barred the one part that could still strike at the instant, the sampler fell back
    # to the grammar alone, and the tune struck one note 755 times there: the piece ended two bars short
    piece = compose(ComposeRequest(ensemble="lead-sheet", mood="sad", meter="6/8", bars=16, seed=2)).score
    assert piece.bar_count == 16


def test_a_chorales_voices_hold_their_note_rather_than_drop_out_for_a_beat() -> None:
    from cadenza.compose import ComposeRequest, compose

    # seed 9 in F major: with one-beat rests left free, the whole choir fell silent for a beat in it (0.125 rests
    # per part and bar); Bach's chorales write none in their first 16 bars. A voice's rest inside the piece is
    # now two beats at least (ensembles.CHORALE_REST_BEATS), and the choir never falls silent together
    piece = compose(ComposeRequest(ensemble="satb", epoch="baroque", key="F major", bars=16, seed=9)).score
    assert craft(piece)["rests_per_part_bar"] <= 0.02  # one voice's rest in 64 (part, bar) pairs at most
    notes = piece.notes
    ends = notes["onset_ticks"] + notes["duration_ticks"]
    for part in range(4):
        mine = np.argsort(notes["onset_ticks"][notes["part"] == part])
        onsets, reach = notes["onset_ticks"][notes["part"] == part][mine], ends[notes["part"] == part][mine]
        reach = np.maximum.accumulate(reach)
        gaps = onsets[1:] - reach[:-1]
        assert not ((gaps > 0) & (gaps < 2 * Q)).any(), part
    sounding = np.zeros(int(ends.max()), dtype=bool)
    for onset, end in zip(notes["onset_ticks"].tolist(), ends.tolist(), strict=True):
        sounding[onset:end] = True
    assert sounding.all()


def test_an_orchestras_phrases_are_eight_bars_long_in_every_style() -> None:
    """A symphony's themes are broad: an orchestra's piece of 16 bars or more is planned in eight-bar phrases
    (a half cadence at bar 8, an authentic one at 16), whatever its style; other ensembles keep their style's."""
    assert phrase_bars_for("romantic", 16, "orchestra") == 8 and phrase_bars_for(None, 32, "orchestra") == 8
    assert phrase_bars_for("romantic", 12, "orchestra") == 4  # a shorter piece is a period of four-bar phrases
    assert phrase_bars_for("romantic", 16, "solo-piano") == 4
    # a song's too: held-out Lieder cadence 0.5 times per four bars (ours in four-bar phrases: 1.5)
    assert phrase_bars_for("romantic", 16, "chamber") == 8 and phrase_bars_for("modern", 16, "chamber") == 8
    cadences = CadencePlan(Key(0, "major"), 16, phrase_bars=phrase_bars_for("romantic", 16, "orchestra"))
    assert cadences.phrase_ends == [(7, "half"), (15, "authentic")]


def test_an_enharmonic_key_signature_agrees_with_its_key() -> None:
    from cadenza.listen.craft import key_agreement
    from cadenza.listen.features import View
    from cadenza.score.model import KeySignature, Part, Score, TimeSignature

    def signed(sharps: int) -> View:
        return View(Score.build([Part("P")], [(0, 3360, 63, 80, 0)], [TimeSignature(0, 4, 4)],
                                [KeySignature(0, sharps, "minor")]))

    # E-flat minor's six flats (marked wrong: its count was compared with D-sharp minor's six sharps)
    assert key_agreement(signed(-6), 3, "minor") == key_agreement(signed(6), 3, "minor") == 1.0
    assert key_agreement(signed(-5), 3, "minor") == 0.0 and key_agreement(signed(-3), 0, "minor") == 1.0
