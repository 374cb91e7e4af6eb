"""ABC files with many tunes, and Humdrum **kern, through the guarded music21 parsers."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadenza.errors import UsageError
from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import read_score, read_score_result, read_scores, write_score
from cadenza.score.abc import decode_abc, split_tunes
from tests.conftest import note_tuples

FIXTURES = Path(__file__).parent / "fixtures"
THREE = FIXTURES / "three_tunes.abc"


def test_split_keeps_header_for_every_tune() -> None:
    tunes = split_tunes(decode_abc(THREE.read_bytes()))
    assert [(t.index, t.number, t.title) for t in tunes] == [
        (0, "1", "First Reel"), (1, "7", "Second Jig"), (2, "9", "Third Waltz")]
    assert all("L:1/8" in t.text for t in tunes)


def test_pick_tune_by_number_or_index() -> None:
    jig = read_score(THREE, tune="7")
    assert str(jig.time_signatures[0]) == "6/8" and jig.metadata.title == "Second Jig"
    assert jig.key_signatures[0].sharps == 1
    waltz = read_score(THREE, tune_index=2)
    assert str(waltz.time_signatures[0]) == "3/4" and waltz.note_count == 9
    assert waltz.notes["duration_ticks"].max() == 6 * Q // 2  # A6 with L:1/8 = dotted half
    with pytest.raises(UsageError, match="X:4"):
        read_score(THREE, tune="4")


def test_default_reads_first_tune_and_says_so() -> None:
    result = read_score_result(THREE)
    assert result.tune_count == 3 and result.score.metadata.title == "First Reel"
    assert any("3 tunes" in w for w in result.warnings)


def test_read_all_tunes() -> None:
    titles = [r.score.metadata.title for r in read_scores(THREE)]
    assert titles == ["First Reel", "Second Jig", "Third Waltz"]


def test_corpus_reference_with_tune_number(tmp_path: Path) -> None:
    tune = read_score("music21:essenFolksong/altdeu10#3")
    assert tune.metadata.source == "music21:essenFolksong/altdeu10#3"
    assert tune.note_count == 23
    same = read_score("music21:essenFolksong/altdeu10", tune="3")
    assert note_tuples(same) == note_tuples(tune)
    assert note_tuples(read_score(write_score(tune, tmp_path / "t.mid"))) == note_tuples(tune)


def test_humdrum_kern_agrees_with_musicxml_of_the_same_chorale() -> None:
    """The corpus has BWV 281 in both encodings (different editions: the kern repeats some notes the
    MusicXML ties), so timing, meter and pickup must agree and nearly all attacks must coincide."""
    kern = read_score("music21:bach/bwv281.krn")
    xml = read_score("music21:bach/bwv281.mxl")
    assert len(kern.parts) == 4
    assert kern.time_signatures == xml.time_signatures and kern.pickup_ticks == xml.pickup_ticks == Q
    attacks = set(zip(kern.notes["onset_ticks"].tolist(), kern.notes["pitch"].tolist(), strict=True))
    xml_attacks = list(zip(xml.notes["onset_ticks"].tolist(), xml.notes["pitch"].tolist(), strict=True))
    shared = sum(a in attacks for a in xml_attacks) / len(xml_attacks)
    assert shared > 0.9


def test_a_key_field_that_names_no_key_is_warned_of(tmp_path: Path) -> None:
    """music21 reads 'K:H' (a German B) in C major, and said nothing; the reader now says so. Real keys, the
    pipes, no key and a field of parameters only are read without a word."""
    tune = "X:1\nT:t\nM:4/4\nL:1/8\nK:{}\nCDEF GABc|\n"
    path = tmp_path / "h.abc"
    path.write_text(tune.format("H"))
    result = read_score_result(path)
    assert result.score.key_signatures[0].sharps == 0
    assert any("K:H names no key: read in C major" in w for w in result.warnings)
    for key in ("D", "Dmix", "F#m", "Bb major", "HP", "none", "clef=bass", "C treble"):
        path.write_text(tune.format(key))
        assert not any("names no key" in w for w in read_score_result(path).warnings), key
