"""Regressions for defects found in review: each test fails on the code before its fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cadenza.cli import main
from cadenza.corpus import BuildConfig, CorpusStore, build_corpus
from cadenza.errors import CorruptFileError, UsageError
from cadenza.listen import analyse
from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import Part, ReadLimits, Score, TimeSignature, read_score, write_score
from cadenza.score.instruments import program_from_name
from cadenza.score.json_io import read_json_bytes, score_to_dict
from tests.conftest import note_tuples


def test_transposing_instruments_are_written_at_written_pitch_and_read_at_sounding_pitch(tmp_path: Path) -> None:
    from music21 import converter

    score = Score.build(parts=[Part("Clarinet in B♭", 71), Part("Horn in F", 60)],
                        notes=[(0, Q, 72, 80, 0), (0, Q, 65, 80, 1)])
    path = write_score(score, tmp_path / "t.musicxml")
    text = path.read_text(encoding="utf-8")
    assert "<step>D</step>" in text and "<octave>5</octave>" in text  # a clarinet's C5 is written D5
    assert note_tuples(read_score(path)) == note_tuples(score)
    sounding = converter.parse(str(path), forceSource=True).toSoundingPitch()
    assert sorted(n.pitch.midi for p in sounding.parts for n in p.flatten().notes) == [65, 72]


def test_an_eighth_note_pickup_does_not_shift_the_beat_grid() -> None:
    eighth = Q // 2
    tune = [(0, eighth, 67, 80, 0)] + [(eighth + i * eighth, eighth, 60 + (i % 5), 80, 0) for i in range(48)]
    score = Score.build(parts=[Part("Fiddle", 110)], notes=tune, time_signatures=[TimeSignature(0, 6, 8)],
                        pickup_ticks=eighth)
    labels = analyse(score)
    assert labels["syncopation"] == 0.0
    assert labels["harmonic_vocabulary"] == "none"


def test_meter_change_inside_a_bar_round_trips_through_musicxml(tmp_path: Path) -> None:
    score = Score.build(parts=[Part("P")], notes=[(0, Q, 60, 80, 0), (Q, 2 * Q, 62, 80, 0),
                                                   (4 * Q, 3 * Q, 64, 80, 0), (7 * Q, 3 * Q, 65, 80, 0)],
                        time_signatures=[TimeSignature(0, 4, 4), TimeSignature(7 * Q, 3, 4)], pickup_ticks=Q,
                        length_ticks=10 * Q)
    back = read_score(write_score(score, tmp_path / "m.musicxml"))
    assert note_tuples(back) == note_tuples(score) and back.time_signatures == score.time_signatures


def test_repeated_x_numbers_lose_no_tune(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "home"))
    folder = tmp_path / "abc"
    folder.mkdir()
    (folder / "t.abc").write_text("X:1\nT:A\nM:2/4\nL:1/8\nK:C\nCDEF|GABc|\n\nX:1\nT:B\nM:2/4\nL:1/8\nK:G\n"
                                  "GABc|dcBA|\n\nX:\nT:C\nM:3/4\nL:1/8\nK:D\nDEFGAB|\n")
    report = build_corpus(BuildConfig(name="x", sources=(str(folder),), workers=1))
    assert report["works_ok"] == 3
    titles = sorted(r["title"] for r in CorpusStore("x").manifest())
    assert titles == ["A", "B", "C"]


def test_two_source_folders_with_one_name_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "home"))
    for side in ("a", "b"):
        (tmp_path / side / "scores").mkdir(parents=True)
        shutil.copy(Path(__file__).parent / "fixtures" / "three_tunes.abc", tmp_path / side / "scores" / "t.abc")
    with pytest.raises(UsageError, match="same name"):
        build_corpus(BuildConfig(name="x", sources=(str(tmp_path / "a" / "scores"),
                                                    str(tmp_path / "b" / "scores")), workers=1))


def test_a_users_folder_names_do_not_become_labels(tmp_path: Path) -> None:
    folder = tmp_path / "home" / "jsbrown" / "mass-storage" / "pop909-remix"
    folder.mkdir(parents=True)
    path = write_score(read_score("music21:essenFolksong/altdeu10#3").with_metadata(source=""), folder / "x.mid")
    labels = analyse(read_score(path))
    assert labels["composer"] != "J. S. Bach" and labels["form"] not in ("mass-movement", "pop-song")


def test_a_second_build_of_the_same_corpus_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "home"))
    store = CorpusStore("busy")
    with store.lock(), pytest.raises(UsageError, match="another process"):
        build_corpus(BuildConfig(name="busy", sources=(str(Path(__file__).parent / "fixtures"),), workers=1))


def test_a_torn_log_line_costs_only_itself(tmp_path: Path) -> None:
    store = CorpusStore("torn", home=tmp_path)
    store.append_log([{"id": "a"}])
    with store.log_path.open("a") as fh:
        fh.write('{"id": "b", "sta')  # a crash mid-write
    store.append_log([{"id": "c"}])
    assert [row["id"] for row in store.read_log()] == ["a", "c"]


def test_json_reader_refuses_malformed_documents() -> None:
    doc = score_to_dict(read_score("music21:essenFolksong/altdeu10#3"))
    bad_metadata = dict(doc, metadata=[])
    with pytest.raises(CorruptFileError):
        read_json_bytes(json.dumps(bad_metadata).encode(), ReadLimits())
    wrapped = json.loads(json.dumps(doc))
    wrapped["notes"]["pitch"][0] = 65596  # would wrap to a valid-looking C4 in 16 bits
    with pytest.raises(CorruptFileError, match="outside"):
        read_json_bytes(json.dumps(wrapped).encode(), ReadLimits())


def test_corpus_timeout_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["corpus", "build", "--timeout-s", "0", "--limit", "1"]) == 2
    assert "must be positive" in capsys.readouterr().err


def test_bass_guitar_is_a_bass() -> None:
    assert program_from_name("Bass Guitar") == 33 and program_from_name("Guitar") == 24
