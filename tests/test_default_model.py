"""The default model that ships in the package: small enough, documented, loaded by default, and good enough
that composing with it honours a request (what the README's first command does)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from cadenza import api  # noqa: E402
from cadenza.model.checkpoint import default_checkpoint, load_checkpoint  # noqa: E402
from cadenza.score import read_score  # noqa: E402


def test_the_default_model_ships_small_and_documented() -> None:
    folder = default_checkpoint()
    assert (folder / "model.safetensors").stat().st_size < 30 * 2**20
    card = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert all(source in card for source in ("POP909", "music21", "OpenScore", "DCML", "kern", "CC BY-NC-SA"))
    model, config = load_checkpoint(folder)
    training = config["training"]
    assert training["config"]["corpus"] == "v2" and model.parameter_count() > 1_000_000
    assert training["config"]["balance"] == 0.5 and training["step"] == training["config"]["max_steps"]
    assert any("corpus build" in line for line in training["made_by"])  # how to make it again travels with it
    total = sum(f.stat().st_size for f in folder.iterdir())
    assert total < 30 * 2**20  # weights, index, config and card together


def test_composing_with_the_default_model_honours_the_request(tmp_path: Path) -> None:
    report = api.compose(key="D minor", meter="3/4", ensemble="string-quartet", bars=8, seed=1,
                         output=tmp_path / "q.mid", formats=["musicxml", "wav"])
    heard = api.analyse(tmp_path / "q.mid")["labels"]
    assert heard["meter"] == "3/4" and heard["key"] == "D minor" and heard["part_count"] == 4
    assert read_score(tmp_path / "q.musicxml").bar_count == 8
    assert [p.name for p in read_score(tmp_path / "q.musicxml").parts] == ["Violin I", "Violin II", "Viola",
                                                                            "Violoncello"]
    assert (tmp_path / "q.wav").stat().st_size > 44 and report.report["model"]["hash"]
    assert set(report.files) >= {"piece", "musicxml", "wav", "report"} and report.score.bar_count == 8
    assert json.loads((tmp_path / "q.cadenza.json").read_text())["files"] == report.files


def test_continuing_a_chorale_keeps_its_key_meter_and_voices(tmp_path: Path) -> None:
    report = api.continue_("music21:bach/bwv66.6", bars=4, seed=0, output=tmp_path / "more.mid")
    heard = api.analyse(tmp_path / "more.mid")["labels"]
    assert heard["meter"] == "4/4" and heard["key"] == "F♯ minor" and heard["part_count"] == 4
    assert report["result"]["new_bars"] == 4


def test_the_top_level_api_stays_callable_and_takes_the_cli_option_names() -> None:
    import cadenza
    from cadenza.errors import UsageError

    first = cadenza.compose(ensemble="solo", bars=2, seed=3, tempo=96)
    second = cadenza.compose(ensemble="solo", seed=4, duration="4s", no_guard=True)  # a second call
    assert callable(cadenza.compose) and callable(cadenza.soundtrack)
    assert isinstance(first, cadenza.Composition) and first.score.tempos[0].bpm == pytest.approx(96)
    assert second.request["guard"] is False and second.score.note_count and not second.files
    report = json.loads(json.dumps(first.to_json()))  # JSON-ready, the Score left out
    assert report["request"]["tempo_bpm"] == 96 and report["heard"] == first.heard and "score" not in report
    assert first["heard"] == first.heard  # the 0.1 mapping access still reads the report
    with pytest.raises(UsageError, match=r"unknown option 'tempi'.*tempo"):
        cadenza.compose(tempi=96)


def test_a_primer_that_ends_on_a_meter_or_key_change_is_continued_in_it(tmp_path: Path) -> None:
    from cadenza.score import TICKS_PER_QUARTER as Q
    from cadenza.score import KeySignature, Part, Score, TimeSignature

    tune = [60, 62, 64, 65, 67, 65, 64, 62]
    end = len(tune) * Q
    primer = Score.build(parts=[Part("Flute", 73)], notes=[(i * Q, Q, p, 80, 0) for i, p in enumerate(tune)],
                         time_signatures=[TimeSignature(0, 4, 4), TimeSignature(end, 3, 4)],
                         key_signatures=[KeySignature(0, 0, "major"), KeySignature(end, 1, "major")])
    piece = api.continue_(primer, bars=2, seed=0, output=tmp_path / "more.mid")
    score = read_score(tmp_path / "more.mid")
    assert score.bar_count == 4 and piece.report["result"]["new_bars"] == 2
    assert [(t.onset_ticks, t.numerator) for t in score.time_signatures] == [(0, 4), (end, 3)]
    assert score.length_ticks == end + 2 * 3 * Q and score.key_signatures[-1].sharps == 1


def test_a_model_retrained_in_place_is_loaded_afresh(tmp_path: Path) -> None:
    import os
    import shutil

    from cadenza.compose.generate import load_model
    from cadenza.model.checkpoint import new_model, save_checkpoint

    folder = tmp_path / "model"
    shutil.copytree(default_checkpoint(), folder)
    first, _, digest, _ = load_model(folder)
    assert load_model(folder)[0] is first  # loaded once while it stays the same
    save_checkpoint(new_model("small"), folder)  # retrained in the same folder
    stat = (folder / "model.safetensors").stat()
    os.utime(folder / "model.safetensors", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second, _, digest_after, _ = load_model(folder)
    assert second is not first and digest_after != digest


def test_revising_bars_rewrites_only_them_and_keeps_the_version_that_joins_best(tmp_path: Path) -> None:
    import numpy as np

    import cadenza
    from cadenza.errors import UsageError
    from cadenza.score.ops import slice_bars

    piece = cadenza.compose(key="D minor", meter="3/4", ensemble="string-quartet", bars=8, seed=1).score
    ticks: list[tuple[int, int]] = []
    revised = cadenza.revise(piece, "4-5", versions=2, seed=3, output=tmp_path / "r.mid",
                             progress=lambda done, total: ticks.append((done, total)))
    assert ticks == [(1, 2), (2, 2)]  # a bar for each version written
    again = read_score(tmp_path / "r.mid")
    assert again.bar_count == 8 and again.length_ticks == piece.length_ticks
    for lo, hi in ((0, 3), (5, 8)):  # the bars around are the piece's own
        kept, new = slice_bars(piece, lo, hi).notes, slice_bars(again, lo, hi).notes
        assert np.array_equal(np.sort(kept[["onset_ticks", "pitch"]]), np.sort(new[["onset_ticks", "pitch"]]))
    info = revised.report["revised"]
    assert info["bars"] == [4, 5] and info["versions"] == 2 and info["kept"] == int(np.argmin(info["join_nll_nats"]))
    for bad in ("1-2", "7-9", "five"):
        with pytest.raises(UsageError):
            cadenza.revise(piece, bad)
