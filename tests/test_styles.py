"""``cadenza styles`` and ``cadenza.styles()``: every style a request can name, with what the composer plans
for it, read from the same tables and constants the composer uses."""

from __future__ import annotations

import json

import pytest

import cadenza
from cadenza.cli import main
from cadenza.compose.ensembles import EPOCH_ENSEMBLES
from cadenza.listen.labels import EPOCHS


def test_every_epoch_is_a_style_with_its_ensemble_meters_harmony_and_form() -> None:
    found = {s.epoch: s for s in cadenza.styles()}
    assert list(found) == list(EPOCHS)
    assert all(s.ensemble == EPOCH_ENSEMBLES[s.epoch] for s in found.values())
    baroque = found["baroque"]
    assert max(baroque.meters, key=baroque.meters.get) == "4/4" and abs(sum(baroque.meters.values()) - 1) < 0.01
    assert baroque.parts == ("Soprano", "Alto", "Tenor", "Bass") and "model's" in baroque.weak_beats
    assert baroque.major_chords[0] == "I" and baroque.minor_chords[0] == "i"  # the tonic is the commonest
    assert "strains" in found["folk"].form and "half bar" in found["classical"].harmony_changes
    assert found["medieval"].ensemble == "voices" and found["romantic"].parts[0] == "Voice"
    # the form as the planner writes it: a classical theme's and a song's eight-bar phrases, a song's introduction
    assert "8-bar" in found["classical"].form and "8-bar" not in baroque.form
    assert "accompaniment alone" in found["romantic"].form and "alone" not in found["classical"].form


def test_the_cli_lists_the_styles_as_text_and_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["styles"]) == 0
    text = capsys.readouterr().out
    assert all(f"\n{epoch}\n" in f"\n{text}" for epoch in EPOCHS) and "4/4 90%" in text
    assert main(["styles", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["epoch"] for r in rows] == list(EPOCHS) and rows[0]["parts"] == ["Cantus", "Contratenor", "Tenor"]
