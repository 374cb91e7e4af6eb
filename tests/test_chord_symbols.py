"""A lead sheet's chord symbols (cadenza.score.chord_symbols): named from its chord part and tune, written above
the tune as MusicXML <harmony>, and never read back as notes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from cadenza.compose import ComposeRequest, compose
from cadenza.render.sheet import _smufl_text_as_unicode
from cadenza.score import read_score
from cadenza.score.chord_symbols import chord_part, chord_symbols, fit_chord, name_chord
from cadenza.score.model import Part, Score, TimeSignature
from cadenza.score.write import score_bytes

Q = 3360  # ticks per quarter note


def _lead_sheet(tune: list[tuple[int, int, int]], chords: list[tuple[int, int, int]]) -> Score:
    """A 4/4 lead sheet of (onset in quarters, length in quarters, pitch) notes."""
    notes = [(on * Q, length * Q, pitch, 80, 0) for on, length, pitch in tune]
    notes += [(on * Q, length * Q, pitch, 70, 1) for on, length, pitch in chords]
    return Score.build([Part("Melody"), Part("Chords")], notes, [TimeSignature(0, 4, 4)])


def test_a_sonority_is_named_from_its_lowest_note_first() -> None:
    assert name_chord([48, 52, 55]) == (0, "major", "")
    assert name_chord([43, 59, 62, 65]) == (7, "dominant", "7")
    assert name_chord([48, 52, 55, 57]) == (0, "major-sixth", "6")  # C6 over C, not Am7/C
    assert name_chord([47, 55, 62, 65]) == (7, "dominant", "7")  # G7/B: its root found above the bass
    assert name_chord([48, 49, 50]) is None  # a cluster names nothing


def test_a_lone_bass_is_named_by_the_tune_over_it() -> None:
    weights = np.zeros(12)
    weights[[7, 11, 2]] = (4, 2, 2)  # G2 in the chord part (twice its length), B and D in the tune
    assert fit_chord({7}, weights, 7) == (7, "major", "")
    weights = np.zeros(12)
    weights[[9, 10, 1, 2]] = (8, 1, 1, 1)  # A2 under B-flat, C-sharp and D: A, not Bbmaj7 over its seventh
    assert fit_chord({9}, weights, 9) == (9, "major", "")
    weights = np.zeros(12)
    weights[[2, 9]] = (4, 2)  # D2 under A: D or Dm alike; in D minor's signature (one flat) Dm
    f_major = frozenset((5 + i) % 12 for i in (0, 2, 4, 5, 7, 9, 11))
    assert fit_chord({2}, weights, 2, f_major) == (2, "minor", "m")


def test_symbols_change_with_the_harmony_once_a_half_bar() -> None:
    sheet = _lead_sheet(tune=[(0, 1, 72), (1, 1, 76), (2, 2, 79), (4, 1, 74), (5, 1, 77), (6, 1, 71), (7, 1, 74),
                              (8, 4, 72)],
                        chords=[(0, 4, 48), (0, 4, 52), (0, 4, 55), (4, 2, 41), (4, 2, 45), (4, 2, 48),
                                (6, 2, 43), (8, 4, 48), (8, 4, 55), (8, 4, 64)])
    assert chord_part(sheet) == 1
    assert [s.text() for s in chord_symbols(sheet)] == ["C", "F", "G", "C"]
    assert [s.onset_ticks for s in chord_symbols(sheet)] == [0, 4 * Q, 6 * Q, 8 * Q]
    piano = sheet.replace(parts=(Part("Piano"), Part("Piano")))
    assert chord_part(piano) is None and chord_symbols(piano) == []  # a piano piece gets none


def test_a_composed_lead_sheet_prints_its_chords_and_reads_back_its_notes(tmp_path: Path) -> None:
    made = compose(ComposeRequest(ensemble="lead-sheet", bars=8, seed=12, key="F major")).score
    symbols = chord_symbols(made)
    assert len(symbols) >= 4 and symbols[0].text() == "F" and symbols[-1].text() == "F"
    path = tmp_path / "lead.musicxml"
    path.write_bytes(score_bytes(made, "musicxml"))
    xml = path.read_text()
    assert xml.count("<harmony") == len(symbols)
    assert "<root-alter>0</root-alter>" not in xml  # printed F, not F-natural
    assert np.array_equal(read_score(path).notes, made.notes)  # the symbols are no notes
    assert "<harmony" not in score_bytes(compose(ComposeRequest(ensemble="piano", bars=2, seed=1)).score,
                                         "musicxml").decode()


def test_a_chord_symbol_s_flat_is_drawn_in_an_ordinary_font() -> None:
    svg = '<tspan font-family="Leipzig" font-size="20px">\ue0a4B\uea64</tspan>'
    swapped = _smufl_text_as_unicode(svg.replace("\ue0a4", ""))
    assert "\u266d" in swapped and not re.search("[\ue000-\uf8ff]", swapped)


def test_a_slash_chords_bass_is_spelled_as_the_chords_own_tone() -> None:
    """D minor's dominant over its third was printed 'A/Db' (the key's flat for the pitch class): its bass is the
    chord's third, C-sharp. Its root keeps the key's spelling (Bb/D in D minor)."""
    from cadenza.score import KeySignature

    chords = [(0, 2, 49), (0, 2, 57), (0, 2, 64), (2, 2, 50), (2, 2, 58), (2, 2, 65)]  # A/C#, then Bb/D
    score = _lead_sheet([(0, 2, 76), (2, 2, 74)], chords)
    score = Score.build(score.parts, score.notes, score.time_signatures, [KeySignature(0, -1, "minor")])
    assert [s.text() for s in chord_symbols(score)] == ["A/C#", "Bb/D"]
    xml = score_bytes(score, "musicxml").decode()
    basses = re.findall(r"<bass-step>(\w)</bass-step>\s*(?:<bass-alter>(-?\d)</bass-alter>)?", xml)
    roots = re.findall(r"<root-step>(\w)</root-step>\s*(?:<root-alter>(-?\d)</root-alter>)?", xml)
    assert basses == [("C", "1"), ("D", "")] and roots == [("A", ""), ("B", "-1")]
