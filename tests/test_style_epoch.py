"""The style drawn for a request that names an ensemble and no style (cadenza.compose.style_epoch)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cadenza.cli import main
from cadenza.compose import ComposeRequest
from cadenza.compose.meters import ensemble_epochs, meter_table
from cadenza.compose.request import Plan, resolve
from cadenza.compose.style_epoch import style_epoch, with_style_epoch


def planned(seed: int, **asked: Any) -> Plan:
    return with_style_epoch(resolve(ComposeRequest(seed=seed, **asked)), seed)


def test_an_ensemble_without_a_style_gets_one_of_its_works_styles_by_their_shares() -> None:
    counts = ensemble_epochs("solo-piano")
    assert set(counts) >= {"classical", "romantic"}  # the table's solo piano works
    drawn = [planned(seed, ensemble="piano").labels["epoch"] for seed in range(60)]
    assert set(drawn) <= set(counts)
    share = drawn.count("classical") / len(drawn)
    expected = counts["classical"] / sum(counts.values())
    assert abs(share - expected) < 0.2, (share, expected)
    assert drawn.count("romantic") > 5


def test_the_draw_is_seeded_said_and_marked_as_the_plans_choice() -> None:
    first, again = planned(3, ensemble="string-quartet"), planned(3, ensemble="string-quartet")
    assert first.labels["epoch"] == again.labels["epoch"] in ("classical", "romantic")
    assert "epoch" in first.implied
    assert any(note.startswith("string-quartet works -> style ") and "give --epoch to choose" in note
               for note in first.notes)
    # the meter is then drawn among the style's own works for the ensemble
    assert meter_table(first.labels["epoch"], "string-quartet")[0] == \
        f"epoch={first.labels['epoch']}/ensemble=string-quartet"


def test_a_named_style_composer_or_form_is_kept() -> None:
    assert planned(1, ensemble="piano", epoch="baroque").labels["epoch"] == "baroque"
    for asked in (dict(composer="Chopin"), dict(form="dance")):
        plan = resolve(ComposeRequest(ensemble="piano", seed=1, **asked))
        assert with_style_epoch(plan, 1) == plan, asked


def test_ensembles_whose_style_the_table_cannot_choose_are_left_to_the_model() -> None:
    for ensemble in ("orchestra", "lead-sheet"):
        asked = resolve(ComposeRequest(ensemble=ensemble, seed=2))
        assert with_style_epoch(asked, 2) == asked, ensemble
    assert style_epoch("chamber", 0) is None  # Lieder, trios and quintets alike: not by the label alone
    assert style_epoch("keyboard", 0) is None  # one style only


def test_a_song_is_drawn_among_the_styles_whose_usual_ensemble_is_the_song() -> None:
    """The corpus' songs are its Lieder, romantic and modern; its chamber label also holds baroque and
    renaissance works for voices and instruments, which are not drawn for a song."""
    counts = ensemble_epochs("chamber")
    drawn = [planned(seed, ensemble="song").labels["epoch"] for seed in range(40)]
    assert set(drawn) <= {"romantic", "modern"}
    expected = counts["romantic"] / (counts["romantic"] + counts["modern"])
    assert abs(drawn.count("romantic") / len(drawn) - expected) < 0.2, (drawn, expected)
    assert any(note.startswith("song works -> style ") for note in planned(1, ensemble="song").notes)


def test_a_drawn_style_the_music_misses_is_said_as_the_plans_not_as_the_request_s(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Seed 2's piano is drawn classical and heard romantic: the user asked no style, so nothing they asked went
    unheard; the report's row says the plan chose it."""
    monkeypatch.chdir(tmp_path)
    assert main(["compose", "--ensemble", "piano", "--bars", "4", "--seed", "2", "--no-guard", "-o", "p.mid"]) == 0
    out = capsys.readouterr().out
    assert "not heard as asked" not in out
    assert "the plan's choices not heard: epoch (planned classical, heard romantic)" in out
    report = json.loads((tmp_path / "p.cadenza.json").read_text(encoding="utf-8"))
    assert report["adherence"]["epoch"] == {"asked": "classical", "heard": "romantic", "met": False,
                                            "chosen_by": "plan"}
    assert "chosen_by" not in report["adherence"]["ensemble"]  # asked
    drawn = resolve(ComposeRequest(ensemble="piano", mood="calm", seed=2))
    assert {"key", "mode", "tempo_class"} <= drawn.implied_labels  # the mood's key and tempo
