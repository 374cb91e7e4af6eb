"""Music "like" a reference: the reference fills what the request leaves open, its motifs pull the sampler
by the strength asked, and the report measures closeness to the reference (and copying from it)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from cadenza.cli import main
from cadenza.compose import ComposeRequest, compose, continue_piece
from cadenza.compose.like import Reference, lines, longest_shared_run
from cadenza.errors import UsageError
from cadenza.listen.analyse import analyse
from cadenza.score import read_score
from cadenza.score.ops import transpose


@pytest.fixture(scope="module")
def chorale() -> Reference:
    score = read_score("music21:bach/bwv66.6")
    return Reference(score, analyse(score), "bwv66.6", 0.5)


def _with_strength(reference: Reference, strength: float) -> Reference:
    return Reference(reference.score, reference.heard, reference.name, strength)


def test_a_transposed_copy_is_a_long_run_and_other_music_is_not(chorale: Reference) -> None:
    moved = transpose(chorale.score, 5)
    longest_line = max(len(line) for line in lines(chorale.score))
    assert longest_shared_run(moved, chorale.score) == longest_line
    other = read_score("music21:bach/bwv1.6")
    assert longest_shared_run(other, chorale.score) < 12
    with pytest.raises(UsageError):
        _with_strength(chorale, 1.5)


def test_the_reference_fills_what_the_request_leaves_open(chorale: Reference) -> None:
    made = compose(ComposeRequest(bars=4, seed=0, mood="joyful"), reference=chorale)
    score, plan = made.score, made.report["plan"]
    assert [p.name for p in score.parts] == [p.name for p in chorale.score.parts]  # its parts
    assert str(score.time_signatures[0]) == "4/4" and score.key_signatures[0].sharps == 3  # its meter and key
    assert plan["labels"]["epoch"] == "baroque" and plan["labels"]["form"] == "chorale"
    assert plan["labels"]["mood"] == "joyful"  # what the user asks for wins over the reference
    like = made.report["like"]
    assert like["reference"] == "bwv66.6" and like["strength"] == 0.5
    assert 0 <= like["label_distance"] <= 1 and like["longest_run_from_reference_notes"] >= 1


def test_strength_pulls_the_motifs_toward_the_reference(chorale: Reference) -> None:
    shares = {}
    for strength in (0.0, 1.0):
        made = [compose(ComposeRequest(bars=4, seed=seed), reference=_with_strength(chorale, strength))
                for seed in (0, 1)]
        shares[strength] = np.mean([m.report["like"]["shared_motif_share"] for m in made])
    # measured: about 0.57 against 0.74 (0.17 against 0.86 before the part-writing rules, which already make the
    # lines stepwise as the chorale's are, so a piece shares more of its shapes even without the pull)
    assert shares[1.0] > shares[0.0] + 0.12, shares
    # a likeness, not a copy: the strongest pull still writes its own lines
    assert all(m.report["like"]["longest_run_from_reference_notes"] < 16 for m in made)


def test_continue_like_a_reference_with_candidates(chorale: Reference) -> None:
    primer = read_score("music21:bach/bwv1.6")
    made = continue_piece(primer, ComposeRequest(seed=2, candidates=2), bars=2, reference=chorale)
    rows = made.report["timings"]["candidates"]
    assert [r["seed"] for r in rows] == [2, 3] and made.report["seed"] in (2, 3)
    assert made.score.bar_count == primer.bar_count + 2 and len(made.score.parts) == len(primer.parts)
    assert "like" in made.report and made.report["primer"]["labels"]["form"] == "chorale"


def test_cli_like(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "like.mid"
    assert main(["compose", "--like", "music21:bach/bwv66.6", "--like-strength", "0.7", "--bars", "2", "-o",
                 str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["like"]["strength"] == 0.7 and out.exists()
    assert main(["compose", "--like", str(tmp_path / "missing.mid"), "-o", str(out)]) == 2
    assert "missing.mid" in capsys.readouterr().err
