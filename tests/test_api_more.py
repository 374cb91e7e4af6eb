"""The rest of the Python API (issue 17): render and train as top-level functions that stay functions, a
Composer that loads its model once and composes many pieces, and the software versions in every report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import cadenza
from cadenza.errors import UsageError
from tests.conftest import steps_folder


def test_render_stays_a_function_and_writes_each_format(tmp_path: Path) -> None:
    import cadenza.render.pipeline

    result = cadenza.render("music21:bach/bwv66.6", tmp_path / "chorale", "mid,musicxml")
    assert Path(result["mid"]).is_file() and Path(result["musicxml"]).is_file() and not result.errors
    assert cadenza.read_score(result["musicxml"]).note_count == cadenza.read_score(result["mid"]).note_count


def test_train_stays_a_function_trains_from_python_and_refuses_unknown_options(tmp_path: Path,
                                                                                chorale_splits: Any) -> None:
    import cadenza.train.loop

    folder = steps_folder(chorale_splits, tmp_path / "steps")
    summary = cadenza.train(steps=folder, preset="tiny", max_steps=3, eval_every=3, batch_size=2, eval_batches=1,
                            warmup_steps=1, out=str(tmp_path / "run"), threads=1)
    assert summary["steps"] == 3 and (tmp_path / "run" / "best" / "model.safetensors").is_file()
    written = json.loads((tmp_path / "run" / "best" / "config.json").read_text())  # names its software
    assert written["software"]["cadenza"] == cadenza.__version__ and "torch" in written["software"]
    with pytest.raises(UsageError, match="unknown training option 'epochs'"):
        cadenza.train(steps=folder, epochs=3)


def test_a_composer_loads_once_and_composes_many_pieces() -> None:
    composer = cadenza.Composer()
    first = composer.compose(ensemble="piano", key="G major", bars=4, seed=1, tempo=96)
    second = composer.compose(ensemble="piano", key="G major", bars=4, seed=2, tempo=96)
    assert first.report["model"]["hash"] == second.report["model"]["hash"] == composer.hash
    assert first.score.tempos[0].bpm == second.score.tempos[0].bpm == 96
    assert first.score.notes.tobytes() != second.score.notes.tobytes()
    assert first.report["software"]["cadenza"] == cadenza.__version__ and "numpy" in first.report["software"]
    assert composer.guard is not None  # the shipped model's originality index, loaded with it


def test_analyse_and_check_return_typed_results_that_still_read_as_their_reports() -> None:
    analysis = cadenza.analyse("music21:bach/bwv66.6")
    assert isinstance(analysis, cadenza.Analysis) and analysis.labels["key"] == analysis["labels"]["key"]
    assert analysis.to_json()["labels"] == analysis.labels and analysis.analysis_s > 0
    assert json.loads(json.dumps(analysis.to_json()))["source"] == analysis.source
    copied = cadenza.check("music21:bach/bwv66.6")  # a training work: it is its own longest shared run
    assert isinstance(copied, cadenza.OriginalityCheck) and copied.verdict == copied["verdict"] == "copied"
    assert copied.longest and copied.threshold_notes and "verdict" in copied and copied.get("nothing") is None


def test_a_soundtrack_is_a_typed_result_with_its_score_when_nothing_is_written(tiny: Path) -> None:
    made = cadenza.soundtrack("calm:2bars,tense:2bars", model=tiny, seed=1)
    assert isinstance(made, cadenza.Soundtrack) and made.score is not None and made["score"] is made.score
    assert len(made.cues) == 2 and made.cues == made["cues"] and not made.files
    assert "score" not in made.to_json() and json.dumps(made.to_json(), default=str)


def test_a_shipped_model_is_named_by_its_folders_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``model="default"`` (``--model default``) is the shipped default model wherever no folder of that name is
    here; a folder of that name here is the user's, and wins."""
    import numpy as np

    from cadenza.errors import CadenzaError
    from cadenza.model.adapter_spec import SHIPPED_MODEL, shipped_models

    assert shipped_models()["default"] == SHIPPED_MODEL and "benchmarks" not in shipped_models()
    monkeypatch.chdir(tmp_path)
    plain = cadenza.compose(bars=2, seed=3, guard=False).score.notes
    named = cadenza.compose(bars=2, seed=3, guard=False, model="default").score.notes
    assert np.array_equal(plain, named)
    with pytest.raises(CadenzaError, match="name of a shipped model: default"):
        cadenza.compose(bars=2, seed=3, guard=False, model="nosuch")
    (tmp_path / "default").mkdir()  # the user's own (empty) folder called "default": read, and refused
    with pytest.raises(CadenzaError, match="default"):
        cadenza.compose(bars=2, seed=3, guard=False, model="default")


def test_what_the_user_gave_is_never_written_over(tmp_path: Path) -> None:
    """An output that would replace the primer, the piece revised, the reference or a conversion's source is
    refused before anything is written, and so is an unknown render format (it was refused only after the piece
    had replaced the file at the output)."""
    from cadenza.api import convert

    piece = tmp_path / "mine.mid"
    convert("music21:bach/bwv66.6", piece)
    before = piece.read_bytes()
    with pytest.raises(UsageError, match="would replace the primer"):
        cadenza.continue_(piece, output=piece, bars=1)
    with pytest.raises(UsageError, match="would replace the piece"):
        cadenza.revise(str(piece), "3", output=tmp_path / "." / "mine.mid")
    with pytest.raises(UsageError, match="would replace the reference"):
        cadenza.compose(bars=2, like=piece, output=piece)
    with pytest.raises(UsageError, match="would replace the source"):
        convert(piece, piece)
    with pytest.raises(UsageError, match="unknown render format 'foo'"):
        cadenza.compose(bars=2, formats=["foo"], output=piece)
    assert piece.read_bytes() == before
    with pytest.raises(UsageError, match="like strength"):  # out of range with no reference too
        cadenza.compose(bars=2, like_strength=5)


def test_a_reversed_bar_range_and_an_empty_score_say_what_is_wrong() -> None:
    from cadenza.errors import InputError
    from cadenza.score.model import Part, Score, TimeSignature

    with pytest.raises(UsageError, match="comes after the last; give them in order, like 3-9"):
        cadenza.revise("music21:bach/bwv66.6", "9-3")
    empty = Score.build([Part("Piano")], [], [TimeSignature(0, 4, 4)])
    with pytest.raises(InputError, match="no notes to check"):  # its verdict was "original"
        cadenza.check(empty)


def test_an_output_named_as_a_rendering_says_how_to_render_it(tmp_path: Path) -> None:
    """``-o piece.pdf`` is refused before any composing, and the error names ``--render pdf``; an unknown
    suffix gets no such hint."""
    with pytest.raises(UsageError, match=r"give a \.mid.*add --render pdf\)$"):
        cadenza.compose(bars=2, output=tmp_path / "piece.pdf")
    with pytest.raises(UsageError, match=r"\.json file$"):
        cadenza.compose(bars=2, output=tmp_path / "piece.xyz")
    assert not list(tmp_path.iterdir())


def test_a_command_line_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from cadenza.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["compose", "--bars", "x"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["cadenza compose: error: argument --bars: invalid int value: 'x' (see 'cadenza compose --help')"]


def test_wrong_option_types_and_empty_files_get_one_line_errors(tmp_path: Path) -> None:
    """An audit of the API found Python's own errors where cadenza's belong: check(threshold='x') raised
    TypeError from deep inside, against=5 another, analyse(tune_index='a') a third; check(threshold=-3) said
    "copied" where the CLI refuses the value; and analyse of a file with no notes labelled it 'medieval, C
    major, sad'."""
    from cadenza.errors import InputError
    from cadenza.score import Part, Score, write_score

    piece = tmp_path / "p.mid"
    cadenza.compose(bars=2, seed=0, guard=False, output=piece)
    for bad in ("x", -3, 0, 2.5, True):
        with pytest.raises(UsageError, match="threshold"):
            cadenza.check(piece, threshold=bad)
    with pytest.raises(UsageError, match="against"):
        cadenza.check(piece, against=5)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="tune index"):
        cadenza.analyse(piece, tune_index="a")  # type: ignore[arg-type]
    empty = tmp_path / "empty.mid"
    write_score(Score.build(parts=[Part("Piano", 0)], notes=[]), empty)
    with pytest.raises(InputError, match="no notes to analyse"):
        cadenza.analyse(empty)


def test_an_abc_tune_without_a_unit_length_reads_as_the_standard_says(tmp_path: Path) -> None:
    """ABC 2.1: with no L: field the unit is an eighth, or a sixteenth under a meter below 3/4; music21 refused
    such tunes ("no active default note length provided")."""
    from cadenza.score import TICKS_PER_QUARTER as Q

    for meter, unit in (("", Q // 2), ("M:4/4\n", Q // 2), ("M:2/4\n", Q // 4)):
        path = tmp_path / "t.abc"
        path.write_text(f"X:1\n{meter}K:G\nGABc dedB|]\n")
        score = cadenza.read_score(path)
        assert len(score.notes) == 8 and set(score.notes["duration_ticks"].tolist()) == {unit}, meter


def test_continue_and_like_say_what_the_reader_warned_of(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A primer or a --like reference in 'K:H' was read in C major without a word, where analyse warned."""
    primer = tmp_path / "h.abc"
    primer.write_text("X:1\nT:t\nM:4/4\nL:1/8\nK:H\nCDEF GABc|cBAG FEDC|\n")
    with caplog.at_level("WARNING"):
        cadenza.continue_(primer, bars=1, seed=0, guard=False)
    assert any("K:H names no key" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level("WARNING"):
        cadenza.compose(bars=1, seed=0, guard=False, like=primer)
    assert any("K:H names no key" in r.getMessage() for r in caplog.records)
