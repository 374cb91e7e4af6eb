"""The event vocabulary: Score -> steps -> Score is exact on real corpus files, at about one step per note."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import Part, Score, Tempo, TimeSignature, read_score
from cadenza.tokens.events import (
    DURATION_SIZE,
    FIELD_SIZES,
    FIELDS,
    FINE,
    KIND,
    TokenizeError,
    decode,
    encode,
)
from tests.conftest import note_tuples

WORKS = ["music21:bach/bwv66.6", "music21:beethoven/opus18no1/movement2.mxl", "music21:essenFolksong/altdeu10#3",
         "music21:bach/bwv281.krn", "music21:mozart/k458/movement1.mxl", "music21:chopin/mazurka06-2.krn"]


def _same_music(a: Score, b: Score) -> None:
    assert np.array_equal(a.notes, b.notes)
    assert a.time_signatures == b.time_signatures and a.key_signatures == b.key_signatures
    assert [round(t.bpm, 2) for t in a.tempos] == [round(t.bpm, 2) for t in b.tempos]
    assert [t.onset_ticks for t in a.tempos] == [t.onset_ticks for t in b.tempos]
    assert a.pickup_ticks == b.pickup_ticks and a.length_ticks == b.length_ticks
    assert [(p.program, p.is_drum) for p in a.parts] == [(p.program, p.is_drum) for p in b.parts]


@pytest.mark.parametrize("ref", WORKS)
def test_round_trip_is_exact_on_corpus_files(ref: str) -> None:
    score = read_score(ref)
    steps = encode(score)
    _same_music(decode(steps), score)
    assert len(steps) / score.note_count < 1.7  # close to one step per note (short tunes pay for their header)


def test_fields_stay_inside_their_vocabularies() -> None:
    steps = encode(read_score("music21:beethoven/opus18no1/movement2.mxl"), label_ids=[3, 17])
    for i, name in enumerate(FIELDS):
        if name in FIELD_SIZES:
            assert steps[:, i].min() >= 0 and steps[:, i].max() < FIELD_SIZES[name], name
    assert steps[0, 0] == KIND["bos"] and steps[-1, 0] == KIND["eos"]
    assert list(steps[1:3, 0]) == [KIND["label"], KIND["label"]]


def test_long_notes_become_tied_steps_and_come_back_whole() -> None:
    longest = (DURATION_SIZE - 1) * FINE + FINE - 1
    score = Score.build(parts=[Part("Organ", 19)], notes=[(0, 3 * longest + 5, 48, 70, 0), (Q, Q, 60, 90, 0)],
                        time_signatures=[TimeSignature(0, 4, 4)], tempos=[Tempo(0, 66.5)])
    steps = encode(score)
    notes = steps[steps[:, 0] == KIND["note"]]
    assert len(notes) == 5 and notes[:, FIELDS.index("tie")].sum() == 3
    _same_music(decode(steps), score)


def test_bounds_are_clear_errors() -> None:
    wide = Score.build(parts=[Part("P")], notes=[(0, Q, 60, 80, 0)], time_signatures=[TimeSignature(0, 17, 4)])
    with pytest.raises(TokenizeError, match="bar of 17 quarters"):
        encode(wide)
    many = Score.build(parts=[Part(f"P{i}") for i in range(17)], notes=[(0, Q, 60, 80, 16)])
    with pytest.raises(TokenizeError, match="17 parts"):
        encode(many)


def test_pickup_and_trailing_silence_survive() -> None:
    score = read_score("music21:bach/bwv66.6")
    padded = score.replace(length_ticks=score.length_ticks + 5 * Q)
    back = decode(encode(padded))
    assert back.pickup_ticks == Q and back.length_ticks == padded.length_ticks
    assert note_tuples(back) == note_tuples(score)


def test_label_tokens_round_trip_the_conditioning_labels() -> None:
    from cadenza.listen import analyse
    from cadenza.tokens.labels import label_ids, label_tokens, label_vocabulary

    vocabulary = label_vocabulary()
    assert vocabulary[0] == "" and len(set(vocabulary)) == len(vocabulary)
    assert "key=F♯ minor" in vocabulary and "mood=tense" in vocabulary and "density=high" in vocabulary
    labels = analyse(read_score("music21:bach/bwv66.6"))
    ids = label_ids(labels)
    back = label_tokens(ids)
    assert back["key"] == "F♯ minor" and back["meter"] == "4/4" and back["composer"] == "J. S. Bach"
    assert back["ensemble"] == "satb-choir" and back["blues"] == "false"
    steps = encode(read_score("music21:bach/bwv66.6"), label_ids=ids)
    assert int((steps[:, 0] == KIND["label"]).sum()) == len(ids)


@pytest.mark.parametrize("ref", WORKS)
def test_every_encoded_corpus_work_follows_the_grammar(ref: str) -> None:
    from cadenza.listen import analyse
    from cadenza.tokens.grammar import check_sequence
    from cadenza.tokens.labels import label_ids, label_vocabulary

    score = read_score(ref)
    check_sequence(encode(score, label_ids(analyse(score))), len(label_vocabulary()))


def test_the_grammar_refuses_what_cannot_be() -> None:
    from cadenza.tokens.grammar import Grammar, GrammarError, check_sequence

    steps = encode(read_score("music21:bach/bwv66.6"))
    size = 10

    def broken(edit: Callable[[np.ndarray], None]) -> np.ndarray:
        copy = steps.copy()
        edit(copy)
        return copy

    note = int(np.nonzero(steps[:, 0] == KIND["note"])[0][5])
    first_bar = int(np.nonzero(steps[:, 0] == KIND["bar"])[0][0])
    cases = {
        "undeclared part": lambda s: s.__setitem__((note, FIELDS.index("part")), 7),
        "position going back": lambda s: s.__setitem__((note + 1, FIELDS.index("position")), 0),
        "unused field set": lambda s: s.__setitem__((note, FIELDS.index("value")), 3),
        "no velocity": lambda s: s.__setitem__((note, FIELDS.index("velocity")), 0),
        "note before the first bar": lambda s: s.__setitem__((first_bar, 0), KIND["note"]),
    }
    for name, edit in cases.items():
        with pytest.raises(GrammarError):
            check_sequence(broken(edit), size)
        assert name
    grammar = Grammar(size)
    assert list(np.nonzero(grammar.allowed_kinds())[0]) == [KIND["bos"]]


@pytest.mark.parametrize("ref", ["music21:bach/bwv66.6", "music21:mozart/k458/movement1.mxl"])
def test_the_chords_heard_sit_in_each_bars_header_and_leave_the_music_exact(ref: str) -> None:
    from cadenza.listen.features import View
    from cadenza.listen.harmony import changes, decoded_beat_chords
    from cadenza.tokens.events import chord_of_value, corpus_steps, heard_chords
    from cadenza.tokens.grammar import check_sequence
    from cadenza.tokens.labels import label_vocabulary

    score, steps = corpus_steps(read_score(ref))
    check_sequence(steps, len(label_vocabulary()))
    _same_music(decode(steps), score)  # the chord steps are read past
    chords = heard_chords(score)
    kinds = steps[:, 0]
    assert (kinds == KIND["chord"]).sum() == len(chords) == len(changes(decoded_beat_chords(View(score)))) > 10
    # a bar's chords come before its notes, in the order of their places in the bar
    for start, end in zip(np.nonzero(kinds == KIND["bar"])[0], [*np.nonzero(kinds == KIND["bar"])[0][1:], len(steps)],
                          strict=True):
        bar = steps[start:end]
        at = np.nonzero(bar[:, 0] == KIND["chord"])[0]
        notes = np.nonzero(bar[:, 0] == KIND["note"])[0]
        if len(at) and len(notes):
            assert at.max() < notes.min()
        places = bar[at, FIELDS.index("position")] * FINE + bar[at, FIELDS.index("position_fine")]
        assert list(places) == sorted(set(places.tolist()))
    # the chord named is the one heard: this F-sharp minor chorale's last chord is F-sharp major (its Picardy third)
    last = steps[kinds == KIND["chord"]][-1]
    if ref.endswith("bwv66.6"):
        assert chord_of_value(int(last[FIELDS.index("value")])) == (6, "maj")
    assert (steps[kinds == KIND["chord"], FIELDS.index("value_fine")] > 0).any()  # some cadences are marked


def test_transposing_a_work_moves_its_chords() -> None:
    from cadenza.tokens.events import chord_of_value, corpus_steps
    from cadenza.train.data import transpose_steps

    _, steps = corpus_steps(read_score("music21:bach/bwv66.6"))
    moved = transpose_steps(steps, 3)
    assert moved is not None
    rows = steps[:, 0] == KIND["chord"]
    before = [chord_of_value(int(v)) for v in steps[rows, FIELDS.index("value")]]
    after = [chord_of_value(int(v)) for v in moved[rows, FIELDS.index("value")]]
    assert after == [((root + 3) % 12, quality) for root, quality in before]


def test_a_chord_may_come_only_in_a_bars_header() -> None:
    from cadenza.tokens.events import corpus_steps
    from cadenza.tokens.grammar import GrammarError, check_sequence

    _, steps = corpus_steps(read_score("music21:bach/bwv66.6"))
    chord = int(np.nonzero(steps[:, 0] == KIND["chord"])[0][3])
    late = np.concatenate([np.delete(steps, chord, axis=0)[:chord + 3], steps[chord:chord + 1],
                           np.delete(steps, chord, axis=0)[chord + 3:]])  # moved after the bar's first notes
    with pytest.raises(GrammarError):
        check_sequence(late, 400)


def test_decoded_players_of_one_instrument_are_told_apart() -> None:
    """A model's own choice of parts (``--ensemble any``) named two violins "Violin" and "Violin"; a piano's two
    hands keep one name, the grand staff's."""
    notes = [(0, Q, 76, 80, 0), (0, Q, 72, 80, 1), (0, Q, 60, 80, 2), (0, Q, 48, 80, 3)]
    parts = [Part("Violin I", 40), Part("Violin II", 40), Part("Piano", 0), Part("Piano", 0)]
    score = Score.build(parts, notes, [TimeSignature(0, 4, 4)])
    decoded = decode(encode(score))
    assert [p.name for p in decoded.parts] == ["Violin 1", "Violin 2", "Acoustic Grand Piano", "Acoustic Grand Piano"]
