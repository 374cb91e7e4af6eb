"""A continuation is written as its ensemble is composed: the part-writing rules, the phrase plan with its
cadences in the primer's key, and the ear (cadenza.compose.generate.continue_piece, ensembles.ensemble_of)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cadenza.compose import ComposeRequest, compose, continue_piece
from cadenza.compose.ensembles import ensemble_of
from cadenza.listen.craft import craft
from cadenza.listen.features import View
from cadenza.listen.key import estimate_key
from cadenza.score.model import Part, Score
from cadenza.score.ops import slice_bars


def _name(parts: list[tuple[str, int, bool]], first_is_line: bool = False) -> str | None:
    found = ensemble_of(parts, first_is_line)
    return found.name if found is not None else None


def test_a_primer_s_parts_are_known_by_name_or_by_instrument() -> None:
    assert _name([("Violin I", 40, False), ("Violin II", 40, False), ("Viola", 41, False),
                  ("Violoncello", 42, False)]) == "string-quartet"
    assert _name([("Vl. 1", 40, False), ("Vl. 2", 40, False), ("Va", 41, False), ("Vc", 42, False)]) \
        == "string-quartet"  # a quartet's MIDI, whatever its tracks are called
    assert _name([("S.", 0, False), ("A.", 0, False), ("T.", 0, False), ("B.", 0, False)]) == "satb"
    assert _name([("Piano", 0, False), ("Piano", 0, False)]) == "piano"
    assert _name([("Right", 0, False), ("Left", 1, False)], first_is_line=True) == "piano"  # hands in octaves
    assert _name([("Melody", 0, False), ("Chords", 0, False)], first_is_line=True) == "lead-sheet"
    # (found by a user's test of real files:) music21's Haydn quartets name their parts and give no instrument
    assert _name([("Violin 1", 0, False), ("Violin 2", 0, False), ("Viola", 0, False), ("Cello", 0, False)]) \
        == "string-quartet"
    assert _name([("Soprano Sax", 64, False), ("Alto Sax", 65, False), ("Trombone", 57, False),
                  ("Bass Guitar", 33, False)]) is None  # S, A, T, B, and no choir
    assert _name([("Chant Voice", 68, False), ("Piano", 0, False), ("Piano", 0, False)], first_is_line=True) \
        == "song"
    assert _name([("Flute", 73, False), ("Guitar", 25, False)]) is None  # no ensemble's parts: the model alone
    assert _name([("Organ", 19, False)]) is None  # a lone part that strikes chords


def test_a_quartet_continued_closes_on_its_tonic_without_crossing() -> None:
    """Continued by the model alone, this quartet's new bars crossed parts on half their beats and did not end on
    the tonic chord; written as a quartet, its parts keep their order and the piece closes in its key."""
    primer = compose(ComposeRequest(ensemble="string-quartet", bars=8, seed=3)).score
    made = continue_piece(primer, ComposeRequest(seed=3), bars=8)
    score = made.score
    assert made.report["primer"]["written_as"] == "string-quartet"
    assert made.report["ear"]["phrases"] >= 1 and made.report["ear"]["attempts"] >= 1  # heard by the ear
    assert np.array_equal(score.notes[score.notes["onset_ticks"] < primer.length_ticks], primer.notes)
    heard = estimate_key(View(primer))
    key = (heard.tonic, heard.mode)
    assert craft(score, key)["ends_on_tonic"] == 1.0
    assert craft(slice_bars(score, 8, score.bar_count), key)["crossings"] == 0.0


def test_parts_of_no_ensemble_are_continued_by_the_model_alone() -> None:
    primer = compose(ComposeRequest(ensemble="string-quartet", bars=2, seed=1)).score
    odd = primer.replace(parts=[Part(name=f"Track {i}", program=p) for i, p in enumerate((73, 25, 60, 33))])
    made = continue_piece(odd, ComposeRequest(seed=1, candidates=1), bars=2)
    assert made.report["primer"]["written_as"] is None and made.report["ear"] is None
    assert made.score.bar_count == odd.bar_count + 2


def test_a_continuation_leaves_the_primer_as_given() -> None:
    """A song's left hand strikes three-note chords where Cadenza's song writes two: continued as a song, the
    primer kept every note (a user's test of real files: Schubert's Lindenbaum lost 27 of its notes)."""
    primer = compose(ComposeRequest(ensemble="song", bars=4, seed=2)).score
    chords = primer.notes.copy()
    left = np.flatnonzero(chords["part"] == 2)
    fifth, octave = chords[left].copy(), chords[left].copy()
    fifth["pitch"] += 7
    octave["pitch"] += 12
    fuller = primer.replace(notes=np.sort(np.concatenate([chords, fifth, octave]), order=["onset_ticks", "part",
                                                                                          "pitch"]))
    made = continue_piece(fuller, ComposeRequest(seed=2, candidates=1), bars=2)
    assert made.report["primer"]["written_as"] == "song"
    kept = made.score.notes[made.score.notes["onset_ticks"] < fuller.length_ticks]
    assert np.array_equal(np.sort(kept, order=["onset_ticks", "part", "pitch", "duration_ticks"]),
                          np.sort(fuller.notes, order=["onset_ticks", "part", "pitch", "duration_ticks"]))


def test_a_tune_is_continued_as_a_tune_and_keeps_its_instrument(tmp_path: Path) -> None:
    """One line (an ABC jig) is continued under a solo line's rules: it ends on its tonic, and the part keeps the
    primer's name and instrument (an ensemble's voice had renamed a user's parts)."""
    from cadenza.score import read_score

    tune = tmp_path / "jig.abc"
    tune.write_text("X:1\nT:Jig\nM:6/8\nL:1/8\nK:D\nA|dfa afd|g2e c2A|dfa afd|e3 e2A|\n"
                    "dfa afd|g2e c2A|B2G A2F|E3-E2|]\n")
    primer = read_score(tune)
    made = continue_piece(primer, ComposeRequest(seed=1, candidates=1), bars=8)
    assert made.report["primer"]["written_as"] == "solo"
    assert [(p.name, p.program) for p in made.score.parts] == [(p.name, p.program) for p in primer.parts]
    assert craft(made.score, (2, "major"))["ends_on_tonic"] == 1.0
    quartet = compose(ComposeRequest(ensemble="string-quartet", bars=2, seed=1)).score
    named = quartet.replace(parts=tuple(Part(f"Vl {i}", p.program) for i, p in enumerate(quartet.parts)))
    kept = continue_piece(named, ComposeRequest(seed=1, candidates=1), bars=1).score
    assert [p.name for p in kept.parts] == ["Vl 0", "Vl 1", "Vl 2", "Vl 3"]


def test_revise_counts_bars_as_the_page_prints_them() -> None:
    """A piece with a pickup prints it as bar 0; revising bars 4-5 rewrote the printed bars 3-4, and bar 10 of a
    chorale whose page ends at bar 9 was accepted (a user's test of real files)."""
    import pytest

    from cadenza.compose.revise import parse_bars, revise_bars
    from cadenza.errors import UsageError
    from cadenza.score import read_score

    chorale = read_score("music21:bach/bwv66.6")
    assert chorale.pickup_ticks and chorale.bar_count == 10
    assert parse_bars("4-5", 10, pickup=True) == (5, 6) and parse_bars("4-5", 10) == (4, 5)
    with pytest.raises(UsageError, match="bars 0 to 9"):
        parse_bars("10", 10, pickup=True)
    made = revise_bars(chorale, "4-5", ComposeRequest(seed=1, candidates=1), versions=1)
    printed_bar_4 = int(chorale.bar_starts()[4])  # (index 4: the pickup is index 0)
    before = made.score.notes[made.score.notes["onset_ticks"] < printed_bar_4]
    assert np.array_equal(before, chorale.notes[chorale.notes["onset_ticks"] < printed_bar_4])
    assert made.report["revised"]["bars"] == [4, 5]


def test_a_tempo_mark_beyond_the_vocabulary_does_not_stop_a_continuation() -> None:
    """An OpenScore quartet's stray 520 bpm refused the whole score; it is read as the fastest tempo the model
    writes, and the primer keeps its own mark."""
    from cadenza.score.model import Tempo

    primer = compose(ComposeRequest(ensemble="string-quartet", bars=2, seed=1)).score
    fast = primer.replace(tempos=(Tempo(0, 520.0),))
    made = continue_piece(fast, ComposeRequest(seed=1, candidates=1), bars=1)
    assert made.score.bar_count == 3 and made.score.tempos[0].bpm == 520.0


def test_the_new_bars_cadence_in_the_key_the_primer_writes() -> None:
    """One bar of a B-flat major quartet was heard as C minor, and its continuation cadenced in C minor under two
    flats: the rules take the key signature's key, major or its relative minor as the notes lean."""
    from cadenza.compose.primer import written_key
    from cadenza.score.model import KeySignature, TimeSignature

    def primer(pitches: list[int]) -> Score:
        notes = [(i * 3360, 3360, p, 80, 0) for i, p in enumerate(pitches)]
        return Score.build([Part("Violin", 40)], notes, [TimeSignature(0, 4, 4)], [KeySignature(0, -2)])

    major, minor = written_key(primer([70, 74, 77, 74, 72, 70])), written_key(primer([67, 70, 74, 66, 67, 62, 67]))
    assert major is not None and (major.tonic_pc, major.mode) == (10, "major")
    assert minor is not None and (minor.tonic_pc, minor.mode) == (7, "minor")
    assert written_key(primer([70, 74, 77]).replace(key_signatures=())) is None


def test_a_revision_s_join_is_judged_on_the_bars_near_it() -> None:
    """Each version's join was scored over the whole piece after it (a 1,440-bar movement: 33 s of a 61 s
    revision); it reads the JOIN_AFTER_BARS after the new ones, so a piece cut there joins the same."""
    from cadenza.compose.revise import JOIN_AFTER_BARS, revise_bars
    from cadenza.score.ops import slice_bars

    piece = compose(ComposeRequest(ensemble="string-quartet", bars=16, seed=4)).score
    whole = revise_bars(piece, "3-4", ComposeRequest(seed=1, candidates=1), versions=1)
    cut = revise_bars(slice_bars(piece, 0, 4 + JOIN_AFTER_BARS), "3-4", ComposeRequest(seed=1, candidates=1),
                      versions=2)
    assert whole.report["revised"]["join_nll_nats"][0] == cut.report["revised"]["join_nll_nats"][0]


def test_a_line_fills_a_rest_shorter_than_an_eighth_note_in_any_meter() -> None:
    """In 3/8 half a beat is a sixteenth: an orchestra's strings kept their sixteenth rests and ran sixteenth,
    sixteenth rest through their first bars."""
    from cadenza.compose.ensembles import ENSEMBLES
    from cadenza.compose.finish import legato_lines
    from cadenza.score.model import TimeSignature

    eighth = 3360 // 2
    notes = [(0, eighth // 2, 67, 80, 0), (eighth, eighth // 2, 69, 80, 0), (2 * eighth, eighth, 71, 80, 0),
             (4 * eighth, eighth, 72, 80, 0)]  # a sixteenth and its rest, twice, then an eighth rest
    line = Score.build([Part("Violin I", 40)], notes, [TimeSignature(0, 3, 8)])
    written = legato_lines(line, (ENSEMBLES["string-quartet"].voices[0],))
    assert written.notes["duration_ticks"].tolist() == [eighth, eighth, eighth, eighth]  # (the eighth rest stays)


def test_a_phrase_written_off_its_beats_is_a_fault() -> None:
    """A piece whose first chord lasted a dotted eighth ran every later note a sixteenth after the beat (4% of
    its beats struck); real works strike at least 62% of their beats (the craft pool's first 16 bars)."""
    from cadenza.compose.ear import off_the_beats
    from cadenza.score.model import TimeSignature

    sixteenth = 840
    on_beats = [(i * 4 * sixteenth, 2 * sixteenth, 60 + i % 5, 80, 0) for i in range(16)]
    late = [(t + sixteenth, d, p, v, part) for t, d, p, v, part in on_beats]
    sign = [TimeSignature(0, 4, 4)]
    assert off_the_beats(Score.build([Part("Piano")], on_beats, sign), 0) == 0
    assert off_the_beats(Score.build([Part("Piano")], late, sign), 0) == 1
    assert off_the_beats(Score.build([Part("Piano")], on_beats[:8] + late[8:], sign), 2) == 1  # (from bar 3)


def test_a_quartet_of_unnamed_instruments_is_continued_and_engraved_as_strings() -> None:
    """music21 reads its Haydn quartets with program 0 on every part: continued as four pianos (three-note chords
    in the cello), the viola engraved in bass clef."""
    from cadenza.score.musicxml_write import musicxml_bytes

    primer = compose(ComposeRequest(ensemble="string-quartet", bars=4, seed=5)).score
    unnamed = primer.replace(parts=tuple(Part(n) for n in ("Violin 1", "Violin 2", "Viola", "Violoncello")))
    made = continue_piece(unnamed, ComposeRequest(seed=5, candidates=1), bars=4)
    assert made.report["primer"]["labels"]["ensemble"] == "string-quartet"
    assert [p.program for p in made.score.parts] == [0, 0, 0, 0]  # the user's parts as given
    new = made.score.notes[made.score.notes["onset_ticks"] >= unnamed.length_ticks]
    assert np.unique(new["onset_ticks"][new["part"] == 3], return_counts=True)[1].max() <= 2  # a cello's stops
    xml = musicxml_bytes(made.score).decode()
    first_clefs = [part.split("</clef>")[0] for part in xml.split("<part id=")[1:]]
    assert ["<sign>G</sign>" in first_clefs[0], "<sign>G</sign>" in first_clefs[1], "<sign>C</sign>" in first_clefs[2],
            "<sign>F</sign>" in first_clefs[3]] == [True] * 4


def test_revising_the_last_bar_keeps_the_piece_s_length() -> None:
    """A chorale whose last bar has three beats (it opens with a pickup of one) came back a beat longer when its
    last bar was revised (a user's test of real files)."""
    from cadenza.compose.revise import revise_bars
    from cadenza.score import read_score

    chorale = read_score("music21:bach/bwv66.6")
    made = revise_bars(chorale, "9", ComposeRequest(seed=1, candidates=1), versions=1)
    assert made.score.length_ticks == chorale.length_ticks and made.score.bar_count == chorale.bar_count
    ends = made.score.notes["onset_ticks"] + made.score.notes["duration_ticks"]
    assert ends.max() == chorale.length_ticks
