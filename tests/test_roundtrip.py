"""The issue's round trip over real corpus files: MIDI -> Score -> MusicXML -> Score -> MIDI keeps every
note's pitch, onset and duration, for Bach chorales, a Beethoven quartet movement and an Essen folk tune."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cadenza.score import Score, read_score, write_score
from tests.conftest import note_tuples

CHORALES = ["bach/bwv66.6", "bach/bwv1.6", "bach/bwv26.6", "bach/bwv253", "bach/bwv344"]
WORKS = [*CHORALES, "beethoven/opus18no1/movement2.mxl", "essenFolksong/altdeu10#3",
         "essenFolksong/han1#12"]


def _round_trip(ref: str, folder: Path) -> tuple[Score, Score, Score, Score]:
    original = read_score(f"music21:{ref}")
    midi_score = read_score(write_score(original, folder / "a.mid"))
    xml_score = read_score(write_score(midi_score, folder / "a.musicxml"))
    final = read_score(write_score(xml_score, folder / "b.mid"))
    return original, midi_score, xml_score, final


@pytest.mark.parametrize("ref", WORKS)
def test_midi_musicxml_midi_keeps_every_note(ref: str, tmp_path: Path) -> None:
    original, midi_score, xml_score, final = _round_trip(ref, tmp_path)
    assert original.note_count > 10
    assert note_tuples(xml_score) == note_tuples(midi_score)
    assert note_tuples(final) == note_tuples(midi_score)
    assert [p.name for p in final.parts] == [p.name for p in original.parts]
    assert final.time_signatures == midi_score.time_signatures
    assert [(k.sharps, k.mode) for k in final.key_signatures] == [
        (k.sharps, k.mode) for k in midi_score.key_signatures]


def test_musicxml_keeps_pickup_and_parts(tmp_path: Path) -> None:
    original = read_score("music21:bach/bwv66.6")
    assert original.pickup_ticks > 0 and len(original.parts) == 4
    back = read_score(write_score(original, tmp_path / "c.musicxml"))
    assert back.pickup_ticks == original.pickup_ticks
    assert note_tuples(back) == note_tuples(original)
    assert [p.name for p in back.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    # compressed MusicXML too
    assert note_tuples(read_score(write_score(original, tmp_path / "c.mxl"))) == note_tuples(original)


def test_music21_reads_our_musicxml_with_named_parts_and_measures(tmp_path: Path) -> None:
    """An independent reader (music21 itself, without our conversion) sees the same notes."""
    from music21 import converter

    original = read_score("music21:beethoven/opus18no1/movement2.mxl")
    path = write_score(original, tmp_path / "q.musicxml")
    parsed = converter.parse(str(path), forceSource=True)
    assert [p.partName for p in parsed.parts] == ["Violin I", "Violin II", "Viola", "Cello"]
    assert len(parsed.parts[0].getElementsByClass("Measure")) == original.bar_count
    sounding = sum(len(n.pitches) for p in parsed.parts for n in p.flatten().notes
                   if not (n.tie is not None and n.tie.type in ("stop", "continue")))
    assert sounding == original.note_count


def test_json_round_trip_is_identical(tmp_path: Path) -> None:
    original = read_score("music21:bach/bwv66.6")
    assert read_score(write_score(original, tmp_path / "c.json")) == original


@pytest.mark.parametrize("encoding", ["utf-16", "latin-1"])
def test_musicxml_in_other_encodings_reads_the_same(encoding: str, tmp_path: Path) -> None:
    """Finale writes UTF-16 with a byte-order mark (four Beethoven quartets in music21's corpus are so);
    older tools declare Latin-1. Both must read like UTF-8."""
    original = read_score("music21:bach/bwv66.6")
    text = write_score(original.with_metadata(title="Chorale Grüße"), tmp_path / "u.musicxml").read_text("utf-8")
    text = re.sub(r'encoding="utf-8"', f'encoding="{encoding.upper()}"', text, count=1, flags=re.IGNORECASE)
    assert encoding.upper() in text[:60]
    other = tmp_path / f"{encoding}.musicxml"
    other.write_bytes(text.encode(encoding))
    back = read_score(other)
    assert note_tuples(back) == note_tuples(original)
    assert back.metadata.title == "Chorale Grüße"


def test_a_pianos_two_hands_are_one_part_on_a_grand_staff_with_the_left_hand_in_bass_clef(tmp_path: Path) -> None:
    """The two hands of a piano become one MusicXML part of two staves (a grand staff), as a pianist reads
    them; a left hand around middle C (a few ledger lines fewer in treble than in bass) still reads in bass clef,
    and both hands read back as they were written."""
    from music21 import converter

    from cadenza.score import TICKS_PER_QUARTER as quarter
    from cadenza.score import Part, Tempo, TimeSignature

    right = [(i * quarter, quarter, pitch, 80, 0) for i, pitch in enumerate([72, 74, 76, 77, 79, 77, 76, 72])]
    left = [(i * quarter, quarter, pitch, 70, 1) for i, pitch in enumerate([60, 62, 64, 60, 62, 57, 60, 55])]
    violin = [(i * quarter, quarter, 67, 70, 2) for i in range(8)]
    score = Score.build(parts=[Part("Piano", 0), Part("Piano", 0), Part("Violin", 40)],
                        notes=right + left + violin, time_signatures=[TimeSignature(0, 4, 4)], tempos=[Tempo(0, 100)])
    path = write_score(score, tmp_path / "piano.musicxml")
    text = Path(path).read_text(encoding="utf-8")
    assert text.count("<score-part ") == 2  # the piano and the violin
    assert "<staves>2</staves>" in text
    piano = converter.parse(str(path)).parts
    assert [type(staff).__name__ for staff in piano][:2] == ["PartStaff", "PartStaff"]
    clefs = [staff.flatten().getElementsByClass("Clef")[0].sign for staff in piano]
    assert clefs == ["G", "F", "G"]
    again = read_score(path)
    assert [part.name for part in again.parts] == ["Piano", "Piano", "Violin"]
    assert note_tuples(again) == note_tuples(score)


def test_a_left_hand_that_climbs_into_the_treble_staff_changes_clef_and_comes_back(tmp_path: Path) -> None:
    """A grand staff's lower staff moves to treble clef for a bar whose notes sit far above the bass staff (as
    an engraver writes it, instead of ledger lines stacked over the bass staff) and returns to bass after."""
    from music21 import converter

    from cadenza.score import TICKS_PER_QUARTER as quarter
    from cadenza.score import Part, Tempo, TimeSignature

    right = [(i * quarter, quarter, 84, 80, 0) for i in range(12)]
    lows, highs = [48, 52, 55, 52], [72, 76, 79, 76]
    left = [(i * quarter, quarter, pitch, 70, 1) for i, pitch in enumerate(lows + highs + lows)]
    score = Score.build(parts=[Part("Piano", 0), Part("Piano", 0)], notes=right + left,
                        time_signatures=[TimeSignature(0, 4, 4)], tempos=[Tempo(0, 100)])
    path = write_score(score, tmp_path / "piano.musicxml")
    lower = converter.parse(str(path)).parts[1]
    clefs = [(measure.number, c.sign) for measure in lower.getElementsByClass("Measure")
             for c in measure.getElementsByClass("Clef")]
    assert clefs == [(1, "F"), (2, "G"), (3, "F")]
    assert note_tuples(read_score(path)) == note_tuples(score)


def _lower_clefs(folder: Path, bars: list[list[tuple[int, ...]]], beats: int) -> list[tuple[int, str]]:
    """(measure number, clef sign) of every clef of a grand staff's lower staff, for a left hand of ``bars`` (each
    bar a stroke per beat, a stroke the pitches struck together) in a meter of ``beats`` quarters, under a right
    hand holding C6; the score re-reads with its notes."""
    from music21 import converter

    from cadenza.score import TICKS_PER_QUARTER as quarter
    from cadenza.score import Part, TimeSignature

    left = [(b * beats * quarter + beat * quarter, quarter, pitch, 70, 1) for b, bar in enumerate(bars)
            for beat, stroke in enumerate(bar) for pitch in stroke]
    right = [(i * quarter, quarter, 84, 80, 0) for i in range(beats * len(bars))]
    score = Score.build(parts=[Part("Piano", 0), Part("Piano", 0)], notes=right + left,
                        time_signatures=[TimeSignature(0, beats, 4)])
    path = write_score(score, folder / "piano.musicxml")
    assert note_tuples(read_score(path)) == note_tuples(score)
    lower = converter.parse(str(path)).parts[1]
    return [(measure.number, c.sign) for measure in lower.getElementsByClass("Measure")
            for c in measure.getElementsByClass("Clef")]


def test_a_left_hand_a_little_above_the_bass_staff_for_one_bar_keeps_its_clef_and_a_passage_moves(
        tmp_path: Path) -> None:
    """Chords around middle C (B-flat 3, D4, G4: a ledger line or two over the bass staff) in every other bar
    sent a page's lower staff to treble and back bar by bar. Such a bar alone keeps the bass clef; two such bars
    running are a passage, and move."""
    low, middle = [(41,), (45,), (48,), (45,)], [(58,), (62,), (67,), (62,)]
    assert _lower_clefs(tmp_path, [low, middle, low, middle, low], 4) == [(1, "F")]
    assert _lower_clefs(tmp_path, [low, middle, middle, low], 4) == [(1, "F"), (2, "G"), (4, "F")]


def test_a_left_hands_chords_share_their_ledger_lines(tmp_path: Path) -> None:
    """A waltz's left hand: F3 on the downbeat, then C4 F4 G4 twice. A chord's notes share their ledger lines
    (three over the bass staff for the chord, not six), so two such bars running stay in bass clef; counted note by
    note they sent the staff to treble for the two bars, with the bass three ledger lines under it. A passage of
    single notes as high still moves."""
    home, up = [(48,), (52, 55, 60), (52, 55, 60)], [(53,), (60, 65, 67), (60, 65, 67)]
    assert _lower_clefs(tmp_path, [home, up, up, home], 3) == [(1, "F")]
    high = [(65,), (67,), (69,)]
    assert _lower_clefs(tmp_path, [home, high, high, home], 3) == [(1, "F"), (2, "G"), (4, "F")]
