"""What a musician sees in our MusicXML: clefs, spelling in the key, part names, no placeholder credits."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import KeySignature, Part, Score, read_score, write_score
from cadenza.score.musicxml_write import _spelling_table


def _names(sharps: int) -> list[str]:
    table = _spelling_table(sharps)
    return [letter + {-2: "bb", -1: "b", 0: "", 1: "#", 2: "##"}[alter] for letter, alter in
            (table[pc] for pc in range(12))]


@pytest.mark.parametrize(
    ("sharps", "pitch_class", "spelled"),
    [(-3, 11, "B"), (-3, 6, "F#"), (3, 5, "E#"), (3, 7, "G"), (0, 10, "Bb"), (0, 6, "F#"), (-6, 11, "Cb"),
     (2, 1, "C#"), (-1, 10, "Bb"), (-1, 1, "C#")],
)
def test_chromatic_spelling_follows_the_key(sharps: int, pitch_class: int, spelled: str) -> None:
    assert _names(sharps)[pitch_class] == spelled


def test_diatonic_notes_use_the_signature() -> None:
    assert {"Ab", "Bb", "Eb", "C", "D", "F", "G"} <= set(_names(-3))
    assert {n for n in _names(4) if n.endswith("#") and len(n) == 2} >= {"F#", "C#", "G#", "D#"}


def test_chorale_clefs_names_and_credits(tmp_path: Path) -> None:
    from music21 import clef, converter

    path = write_score(read_score("music21:bach/bwv66.6"), tmp_path / "c.musicxml")
    text = path.read_text(encoding="utf-8")
    assert "Music21</creator>" not in text
    assert "<movement-title>bwv66.6</movement-title>" in text or "<work-title>bwv66.6</work-title>" in text
    parsed = converter.parse(str(path), forceSource=True)
    clefs = [type(p.recurse().getElementsByClass(clef.Clef).first()).__name__ for p in parsed.parts]
    assert clefs == ["TrebleClef", "TrebleClef", "Treble8vbClef", "BassClef"]
    # F sharp minor: E sharp (the leading tone) is spelled E#, never F
    alto = [n.pitch.nameWithOctave for n in parsed.parts[1].flatten().notes]
    assert "E#4" in alto and "F4" not in alto


def test_viola_gets_alto_clef_and_abbreviation(tmp_path: Path) -> None:
    from music21 import clef, converter

    score = Score.build(parts=[Part("Viola da braccio", 41)], notes=[(0, Q, 60, 80, 0)],
                        key_signatures=[KeySignature(0, 0, "major")])
    parsed = converter.parse(str(write_score(score, tmp_path / "v.musicxml")), forceSource=True)
    assert isinstance(parsed.parts[0].recurse().getElementsByClass(clef.Clef).first(), clef.AltoClef)
    assert parsed.parts[0].partAbbreviation == "Vla. da braccio"


def test_the_strings_abbreviations_tell_violin_viola_and_cello_apart(tmp_path: Path) -> None:
    from music21 import converter

    names = ["Violin I", "Violin II", "Viola", "Violoncello", "Cantus"]
    score = Score.build(parts=[Part(name, 40) for name in names], notes=[(0, Q, 60, 80, i) for i in range(5)])
    parsed = converter.parse(str(write_score(score, tmp_path / "q.musicxml")), forceSource=True)
    assert [part.partAbbreviation for part in parsed.parts] == ["Vln. I", "Vln. II", "Vla.", "Vc.", "Can."]


def test_a_left_hand_reaching_low_reads_in_bass_clef_and_a_tune_around_middle_c_in_treble(tmp_path: Path) -> None:
    from music21 import clef, converter

    left = [41, 45, 48, 53, 57, 57, 57, 60, 62, 65]  # F2 .. F4, median A3: three ledger lines below a treble staff
    tune = [60, 62, 64, 65, 67, 65, 64, 62, 60, 59]  # C4 .. G4: a tune around middle C
    notes = [(i * Q, Q, p, 80, 0) for i, p in enumerate(tune)] + [(i * Q, Q, p, 80, 1) for i, p in enumerate(left)]
    score = Score.build(parts=[Part("Piano", 0), Part("Piano", 0)], notes=notes,
                        key_signatures=[KeySignature(0, 0, "major")])
    parsed = converter.parse(str(write_score(score, tmp_path / "p.musicxml")), forceSource=True)
    clefs = [type(p.recurse().getElementsByClass(clef.Clef).first()).__name__ for p in parsed.parts]
    assert clefs == ["TrebleClef", "BassClef"]


def test_written_files_get_normal_permissions(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        path = write_score(read_score("music21:essenFolksong/altdeu10#3"), tmp_path / "t.mid")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_durations_no_note_value_writes_fall_back_to_a_notation_grid(tmp_path: Path) -> None:
    """A few-tick note (machine-made or unquantized music) cannot be notated as is: the score is written
    quantized instead of failing, and the notes that can be written keep their pitches."""
    from music21 import converter

    score = Score.build(parts=[Part("Violin", 40)], notes=[(0, 3, 60, 80, 0), (3, Q - 3, 64, 80, 0),
                                                             (Q, 2 * Q, 67, 80, 0)])
    parsed = converter.parse(str(write_score(score, tmp_path / "odd.musicxml")), forceSource=True)
    pitches = [n.pitch.midi for n in parsed.parts[0].flatten().notes]
    assert 67 in pitches and 64 in pitches


def test_a_recorded_performance_is_written_on_the_grid_without_a_failed_try_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A MIDI recorded from playing (POP909's: note ends a few ticks off every note value) is quantized before
    music21 sees it, not after music21 has spent tens of seconds failing on it; music on a grid (a 128th, a
    quintuplet, a triplet) is written as it is."""
    from cadenza.score import musicxml_write
    from cadenza.score.ops import quantize

    played = Score.build(parts=[Part("Piano", 0)], notes=[(0, Q - 7, 60, 80, 0), (Q + 14, Q // 2 - 21, 64, 80, 0),
                                                          (2 * Q, Q + 35, 67, 80, 0)])
    written = Score.build(parts=[Part("Piano", 0)], notes=[(0, Q // 32, 60, 80, 0), (Q // 32, Q - Q // 32, 62, 80, 0),
                                                           (Q, Q // 5, 64, 80, 0), (Q + Q // 5, 4 * Q // 5, 65, 80, 0),
                                                           (2 * Q, Q // 3, 67, 80, 0), (2 * Q + Q // 3, Q, 69, 80, 0)])
    assert not musicxml_write.writable_as_is(played) and musicxml_write.writable_as_is(written)
    exported: list[Score] = []
    real = musicxml_write.score_to_music21
    monkeypatch.setattr(musicxml_write, "score_to_music21", lambda score: exported.append(score) or real(score))
    musicxml_write.musicxml_bytes(played)
    assert len(exported) == 1  # one export, of the quantized score
    assert np.array_equal(exported[0].notes, quantize(played, musicxml_write.NOTATION_GRID_TICKS).notes)
    musicxml_write.musicxml_bytes(written)
    assert np.array_equal(exported[1].notes, written.notes) and len(exported) == 2


def test_a_violin_reads_in_treble_clef_even_when_it_plays_low(tmp_path: Path) -> None:
    from music21 import clef, converter

    low = [55, 56, 57, 55, 58, 55]  # G3 .. B-flat 3, the violin's lowest notes only
    score = Score.build(parts=[Part("Violin I", 40), Part("Horn", 60)],
                        notes=[(i * Q, Q, p, 80, part) for part in (0, 1) for i, p in enumerate(low)],
                        key_signatures=[KeySignature(0, 0, "major")])
    parsed = converter.parse(str(write_score(score, tmp_path / "v.musicxml")), forceSource=True)
    assert [type(p.recurse().getElementsByClass(clef.Clef).first()).__name__ for p in parsed.parts] == [
        "TrebleClef", "TrebleClef"]


def test_a_passage_high_above_the_treble_staff_is_written_under_an_8va_line(tmp_path: Path) -> None:
    import re

    high = [84, 86, 88, 79, 89, 91, 86, 84]  # C6 up to G6, with one dip to G5 inside
    notes = [(i * Q, Q, p, 80, 0) for i, p in enumerate(high)] + [(8 * Q, Q, 72, 80, 0), (9 * Q, Q, 86, 80, 0)]
    notes += [(i * 4 * Q, 4 * Q, 48, 80, 1) for i in range(3)]
    score = Score.build([Part("Piano"), Part("Piano")], notes)
    path = write_score(score, tmp_path / "high.musicxml")
    text = path.read_text()
    assert len(re.findall(r'<octave-shift[^>]*type="down"', text)) == 1  # one line: the dip and C5 end it, not
    assert len(re.findall(r'<octave-shift[^>]*type="stop"', text)) == 1  # a lone C6 after it
    back = read_score(path)  # the pitches are written as they sound: they read back unchanged
    assert sorted(back.notes["pitch"].tolist()) == sorted(score.notes["pitch"].tolist())
    assert "octave-shift" not in write_score(score.replace(notes=score.notes[score.notes["pitch"] < 84]),
                                             tmp_path / "low.musicxml").read_text()


def test_a_choirs_alto_reads_in_treble_clef_even_when_it_sings_low(tmp_path: Path) -> None:
    """An alto line around G3-B3 needs fewer ledger lines in bass clef, but altos read treble: a chorale's alto
    part was engraved on a bass staff with ledger lines above it."""
    from music21 import clef, converter

    notes = [(i * Q, Q, pitch, 80, 0) for i, pitch in enumerate([55, 57, 59, 57, 55, 54, 55, 59])]
    score = Score.build(parts=[Part("Alto", 52)], notes=notes, key_signatures=[KeySignature(0, 1, "major")])
    parsed = converter.parse(str(write_score(score, tmp_path / "a.musicxml")), forceSource=True)
    assert isinstance(parsed.parts[0].recurse().getElementsByClass(clef.Clef).first(), clef.TrebleClef)


def test_timpani_read_back_from_musicxml_are_pitched_and_a_drum_kit_stays_a_kit(tmp_path: Path) -> None:
    """music21 reads a timpani part as PitchedPercussion, a kind of Percussion: read as a drum kit, a symphony's
    timpani went to the drum channel of the MIDI written from it, their G2 and D3 played as toms."""
    score = Score.build(parts=[Part("Timpani", 47), Part("Drums", 0, is_drum=True)],
                        notes=[(0, Q, 43, 80, 0), (Q, Q, 50, 80, 0), (0, Q, 38, 80, 1), (Q, Q, 42, 80, 1)])
    write_score(score, tmp_path / "t.musicxml")
    back = read_score(tmp_path / "t.musicxml")
    assert [(p.name, p.is_drum) for p in back.parts] == [("Timpani", False), ("Drums", True)]
    assert back.notes["pitch"][back.notes["part"] == 0].tolist() == [43, 50]


def test_a_rest_from_off_the_beat_ends_at_the_beat_line() -> None:
    """A dotted-quarter rest from an off-beat eighth hid the beat (a musician's review of 31 pages): the rest is
    an eighth to the beat line, then the rest of the gap."""
    from cadenza.score.musicxml_write import _rest_spans

    q = 3360
    assert _rest_spans(q // 2, 2 * q, q, 0) == [(q // 2, q), (q, 2 * q)]
    assert _rest_spans(q, 3 * q, q, 0) == [(q, 2 * q), (2 * q, 3 * q)]  # beats 2-3: two quarter rests
    assert _rest_spans(0, 2 * q, q, 0, paired=True) == [(0, 2 * q)]  # beats 1-2 of 4/4: a half rest
    assert _rest_spans(q, 4 * q, q, 0, paired=True) == [(q, 2 * q), (2 * q, 4 * q)]  # 2, then 3-4
    assert _rest_spans(0, 7 * q // 2, q, 0, paired=True) == [(0, 2 * q), (2 * q, 3 * q), (3 * q, 7 * q // 2)]
    assert _rest_spans(0, 7 * q // 4, 3 * q // 2, 0) == [(0, 3 * q // 2), (3 * q // 2, 7 * q // 4)]  # 6/8
    assert _rest_spans(q // 2, 3 * q // 4, q, 0) == [(q // 2, 3 * q // 4)]  # inside one beat
    dotted = 3 * q // 2  # 6/8: a rest from the third eighth of the first beat to the bar's end
    assert _rest_spans(q, 2 * dotted, dotted, 0) == [(q, dotted), (dotted, 2 * dotted)]
    assert _rest_spans(0, q // 2, q, q // 2) == [(0, q // 2)]  # a pickup's eighth: its beat line is its end


def test_a_note_from_off_the_beat_is_tied_at_the_beat_line() -> None:
    """A dotted eighth from a beat's second sixteenth, or a quarter from a 6/8 beat's third eighth, hid the beat
    the way the rests did: such a note is written to the beat line and tied on; an eighth-quarter-eighth
    syncopation of a simple meter is written whole."""
    from cadenza.score.musicxml_write import _note_spans

    q, dotted = Q, 3 * Q // 2
    assert _note_spans(q // 4, q, q, 0, False) == [(q // 4, q)]  # inside its beat
    assert _note_spans(q // 4, q + q // 4, q, 0, False) == [(q // 4, q), (q, q + q // 4)]
    assert _note_spans(q // 2, 3 * q // 2, q, 0, False) == [(q // 2, 3 * q // 2)]  # the syncopated quarter
    assert _note_spans(q // 2, 2 * q, q, 0, False) == [(q // 2, q), (q, 2 * q)]  # a dotted quarter from the and
    assert _note_spans(q, 3 * q, q, 0, False) == [(q, 3 * q)]  # from the beat: whole
    assert _note_spans(q, 2 * q, dotted, 0, True) == [(q, dotted), (dotted, 2 * q)]  # 6/8: the third eighth on
    assert _note_spans(q // 2, dotted, dotted, 0, True) == [(q // 2, dotted)]  # eighth-quarter inside a beat
    assert _note_spans(0, 3 * q // 2, q, q // 2, False) == [(0, q // 2), (q // 2, 3 * q // 2)]  # a pickup's and


def test_a_note_no_value_of_two_dots_writes_is_tied_at_its_last_beat_line() -> None:
    """Fifteen sixteenths from the downbeat of 4/4 were a triple-dotted half; two and a half beats a half note
    with an eighth no dot can add. Each is tied at its last beat line; a double-dotted half stays whole."""
    from cadenza.score.musicxml_write import _note_spans

    q, dotted = Q, 3 * Q // 2
    assert _note_spans(0, 15 * q // 4, q, 0, False) == [(0, 3 * q), (3 * q, 15 * q // 4)]  # dotted half ~ dotted 8th
    assert _note_spans(0, 5 * q // 2, q, 0, False) == [(0, 2 * q), (2 * q, 5 * q // 2)]  # half ~ eighth
    assert _note_spans(0, 7 * q // 2, q, 0, False) == [(0, 7 * q // 2)]  # the double-dotted half
    assert _note_spans(q // 2, 13 * q // 4, q, 0, False) == [(q // 2, q), (q, 3 * q), (3 * q, 13 * q // 4)]
    assert _note_spans(0, 5 * q // 2, dotted, 0, True) == [(0, dotted), (dotted, 5 * q // 2)]  # 6/8: 5 eighths
    assert _note_spans(0, 3 * dotted, dotted, 0, True) == [(0, 3 * dotted)]  # 9/8: a dotted half


@pytest.mark.parametrize("meter", [(4, 4), (6, 8), (2, 2)])
def test_tied_at_the_beat_the_musicxml_reads_back_the_notes_as_they_were(tmp_path: Path, meter: tuple[int, int]) \
        -> None:
    from music21 import converter

    from cadenza.score import TimeSignature

    s = Q // 4
    notes = [(0, s, 60, 80, 0), (s, 3 * s, 62, 80, 0), (Q + s, Q, 64, 80, 0), (2 * Q + s, 5 * s, 65, 80, 0),
             (0, 4 * Q, 48, 70, 1)]
    score = Score.build(parts=[Part("Flute", 73), Part("Cello", 42)], notes=notes,
                        time_signatures=[TimeSignature(0, *meter)])
    write_score(score, tmp_path / "t.musicxml")
    back = read_score(tmp_path / "t.musicxml")
    assert sorted(back.notes[["onset_ticks", "duration_ticks", "pitch"]].tolist()) == \
        sorted(score.notes[["onset_ticks", "duration_ticks", "pitch"]].tolist())
    written = converter.parse(str(tmp_path / "t.musicxml")).parts[0].flatten().notes
    beat = score.time_signatures[0].beat_ticks / Q
    for note in written:  # no written note starts off a beat and sounds past its beat line
        start, end = float(note.offset), float(note.offset + note.quarterLength)
        if start % beat:
            assert end <= (start // beat + 1) * beat + 1e-9, (meter, start, end)
    assert "tuplet" not in (tmp_path / "t.musicxml").read_text()


def test_a_second_voices_rests_are_not_printed(tmp_path: Path) -> None:
    """Notes of one staff that overlap in time are written in voices; the second voice's rests floated above and
    below the staff (a musician's review: eighth and sixteenth rests in two layers around a held note, 8 of 10
    keyboard pages). They are written unprinted; the first voice's rests are printed as before."""
    import re

    held = [(0, 4 * Q, 48, 80, 0)]  # a whole-note bass under a moving line, in one part
    moving = [(Q // 2, Q // 2, 60, 80, 0), (Q, Q, 62, 80, 0), (3 * Q, Q // 2, 64, 80, 0)]
    score = Score.build(parts=[Part("Piano", 0)], notes=held + moving)
    write_score(score, tmp_path / "v.musicxml")
    xml = (tmp_path / "v.musicxml").read_text()
    voices = {}
    for note in re.findall(r"<note\b[^>]*>.*?</note>", xml, re.S):
        voice = re.search(r"<voice>(\d+)</voice>", note)
        if "<rest" in note and voice:
            voices.setdefault(voice.group(1), []).append('print-object="no"' in note)
    assert voices.get("1") is None or not any(voices["1"])  # the first voice's rests print
    assert voices.get("2") and all(voices["2"])  # the second's do not
    back = read_score(tmp_path / "v.musicxml")
    assert sorted(back.notes["pitch"].tolist()) == [48, 60, 62, 64]
