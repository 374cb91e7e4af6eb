"""A solo keyboard piece's or a string quartet's last return may come back an octave up (cadenza.compose.returns:
lifted_bars)."""

from __future__ import annotations

import numpy as np

import cadenza
from cadenza.compose.request import parse_key
from cadenza.compose.returns import LIFT_HIGHEST, LIFT_SEMITONES, lifted_bars, restated_up


def test_the_last_return_is_lifted_by_a_seeded_draw_about_half_the_time() -> None:
    draws = [lifted_bars(16, seed, "romantic", 4, 0) for seed in range(40)]
    assert {frozenset(d) for d in draws} == {frozenset(), frozenset({12, 13})}  # a″ only, never a′
    assert 10 <= sum(bool(d) for d in draws) <= 30
    assert draws == [lifted_bars(16, seed, "romantic", 4, 0) for seed in range(40)]
    assert lifted_bars(16, 0, "classical", 8, 0) in (frozenset(), frozenset({8, 9}))  # a period's a′
    assert not any(lifted_bars(4, seed, "romantic") for seed in range(20))  # one phrase restates nothing
    assert not any(lifted_bars(16, seed, style) for seed in range(20) for style in ("popular", "folk", None))


def test_a_lifted_return_restates_the_theme_an_octave_up_and_its_phrase_stays_up_there() -> None:
    """Seeds 4 and 7 of a drawn piano piece lift their a″ (bars 13-14 restate bars 1-2); seed 1 does not. The
    phrase goes on in the lifted register: its last two bars' top line lies at least a fifth above the theme's
    where it first came (before the register moved with the lift, it dropped back a ninth after bar 14)."""
    for seed, lifted in ((4, True), (7, True), (1, False)):
        made = cadenza.compose(ensemble="piano", bars=16, seed=seed)
        returns = made.report["plan"]["returns"]
        assert returns["bar 5"] == "bar 1"  # a′ returns where the theme was
        assert (returns["bar 13"] == "bar 1, an octave up") == lifted, returns
        assert restated_up(made.score, 0, 12, 0) == lifted and not restated_up(made.score, 0, 4, 0)
        if lifted:
            starts = made.score.bar_starts()
            right = made.score.part_notes(0)
            theme = right[right["onset_ticks"] < starts[2]]["pitch"]
            close = right[right["onset_ticks"] >= starts[14]]["pitch"]
            assert theme.max() + LIFT_SEMITONES <= LIFT_HIGHEST
            assert np.median(close) >= np.median(theme) + 7, (np.median(theme), np.median(close))


def test_a_string_quartets_last_return_is_lifted_too_but_no_songs() -> None:
    """A quartet's first violin takes the a″ an octave up as a piano's right hand does (seed 4: bars 13-14
    restate bars 1-2 an octave up, the phrase going on above the violin's usual register of the opening); a song's
    voice keeps the singer's range (seeds 4 and 7)."""
    made = cadenza.compose(ensemble="string-quartet", bars=16, seed=4)
    returns = made.report["plan"]["returns"]
    assert returns["bar 13"] == "bar 1, an octave up" and returns["bar 5"] == "bar 1", returns
    assert restated_up(made.score, 0, 12, 0) and not restated_up(made.score, 0, 4, 0)
    for seed in (4, 7):
        returns = cadenza.compose(ensemble="song", bars=16, seed=seed).report["plan"]["returns"]
        assert not any("octave" in source for source in returns.values()), (seed, returns)


def test_a_lifted_piece_still_ends_on_its_tonic_chord() -> None:
    """A classical G-minor piece (seed 15) lifts its a′ and ends on G minor's chord, its tonic in it. (Its first
    lifted version, before the register moved with the lift, ended G2 D3 E-flat3 G3: see test_rules' hand
    chord that doubles a tone.)"""
    made = cadenza.compose(ensemble="piano", epoch="classical", key="G minor", bars=16, seed=15)
    assert made.report["plan"]["returns"]["bar 9"] == "bar 1, an octave up"
    key = parse_key("G minor")
    last = made.score.notes[made.score.notes["onset_ticks"] >= made.score.bar_starts()[-1]]
    pitch_classes = {int(p) % 12 for p in last["pitch"]}
    assert key.tonic_pc in pitch_classes <= {key.tonic_pc, (key.tonic_pc + 3) % 12, (key.tonic_pc + 7) % 12}


def test_a_part_under_the_returning_tune_is_not_held_past_a_lower_note_of_it() -> None:
    """In a returning bar, a part under the tune (an ensemble written top-down) may hold a note only until the
    first tune note still to come that lies below it: held across it, the part crossed the tune, and the rules
    bent the restated tune instead (seed 2 of a D minor quartet: the second violin held D5 over bar 9, so its
    first violin's B-flat4 became E5)."""
    from types import SimpleNamespace

    from cadenza.compose.returns import ThemeReturn
    from cadenza.tokens.events import FIELD_SIZES, FINE, KIND

    plan = SimpleNamespace(bars_started=9)  # writing bar 9 (index 8), which returns to bar 1
    theme = ThemeReturn(plan, 16, style="classical", phrase_bars=8, under=frozenset({1, 2, 3}))
    theme.themes[0] = {0: (77, 1680), 1680: (77, 1680), 3360: (74, 1680), 5040: (70, 1680)}
    held = {"kind": KIND["note"], "position": 0, "position_fine": 0, "part": 1, "pitch": 74}
    lengths = theme.allowed("duration", held, None)
    assert lengths is not None and lengths[5040 // FINE] and not lengths[5040 // FINE + 1]
    assert theme.allowed("duration_fine", {**held, "duration": 5040 // FINE}, None)[:5040 % FINE + 1].all()
    assert theme.allowed("duration", {**held, "pitch": 69}, None) is None  # under every tune note: free
    assert theme.allowed("duration", {**held, "part": 0, "pitch": 77}, None) is not None  # the tune: its own length
    free = ThemeReturn(plan, 16, style="classical", phrase_bars=8)  # an orchestra: nobody is kept under
    free.themes[0] = theme.themes[0]
    assert free.allowed("duration", held, None) is None
    assert FIELD_SIZES["duration"] > 5040 // FINE
