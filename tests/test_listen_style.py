"""The style (epoch) estimate: the shipped model, metadata first, and the estimate from features alone."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from cadenza.listen import style
from cadenza.listen.analyse import analyse
from cadenza.listen.labels import EPOCHS
from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import KeySignature, Part, Score, Tempo, TimeSignature, read_score


def _stripped(score: Score) -> Score:
    return score.with_metadata(source="", composer="", title="")


def _estimate(score: Score) -> str:
    labels = analyse(_stripped(score))
    assert labels["epoch"] == style.estimate_epoch(labels)[0]
    return str(labels["epoch"])


def folk_jig() -> Score:
    """A 16-bar jig in D major as the Nottingham collection writes them: a tune in eighths over block
    chords (I, IV, V), A and B strains each played twice with second endings."""
    eighth = Q // 2
    a1 = [[74, 73, 74, 76, 74, 73], [71, 69, 71, 69, 66, 69], [74, 73, 74, 76, 78, 79], [78, 76, 73, 74, 74, 74]]
    a2 = [[74, 73, 74, 76, 74, 73], [71, 69, 71, 69, 66, 69], [67, 69, 71, 73, 74, 76], [74, 73, 71, 69, 69, 69]]
    b1 = [[78, 79, 81, 81, 79, 78], [79, 78, 76, 76, 74, 73], [78, 79, 81, 83, 81, 79], [78, 76, 73, 74, 74, 74]]
    b2 = [[78, 79, 81, 81, 79, 78], [79, 78, 76, 76, 74, 73], [71, 73, 74, 76, 74, 73], [74, 73, 71, 69, 69, 69]]
    chords = {"D": (50, 54, 57), "G": (55, 59, 62), "A": (57, 61, 64)}
    progression = ["D", "G", "D", "A", "D", "G", "G", "A"] * 2
    notes = []
    for bar, (melody, chord) in enumerate(zip(a1 + a2 + b1 + b2, progression, strict=True)):
        start = bar * 6 * eighth
        notes += [(start + i * eighth, eighth, pitch, 90, 0) for i, pitch in enumerate(melody)]
        notes += [(start + beat * 3 * eighth, 3 * eighth, pitch, 70, 1) for beat in (0, 1) for pitch in chords[chord]]
    return Score.build(parts=[Part("Melody", 0), Part("Chords", 0)], notes=notes,
                       time_signatures=[TimeSignature(0, 6, 8)], key_signatures=[KeySignature(0, 2, "major")],
                       tempos=[Tempo(0, 180.0)])


def test_shipped_model_loads() -> None:
    path = resources.files("cadenza.listen").joinpath("models/style.json")
    assert path.is_file()
    assert len(path.read_bytes()) < 100_000
    model = style.load_style_model()
    assert model is not None
    assert tuple(model["features"]) == style.STYLE_FEATURES
    assert model["kind"] == "linear"
    assert set(model["epochs"]) == set(EPOCHS)
    weights = np.asarray(model["weights"])
    assert weights.shape == (len(model["epochs"]), len(style.STYLE_FEATURES))
    assert np.isfinite(weights).all() and (np.asarray(model["scale"]) > 0).all()
    probs = style.epoch_probabilities({})
    assert set(probs) == set(EPOCHS) and abs(sum(probs.values()) - 1) < 1e-9


def test_metadata_wins_when_known() -> None:
    labels = analyse(read_score("music21:bach/bwv66.6"))
    assert labels["epoch"] == "baroque"
    assert labels["composer"] == "J. S. Bach"


@pytest.mark.parametrize(("ref", "epoch"), [
    ("music21:bach/bwv66.6", "baroque"),
    ("music21:palestrina/Agnus_01", "renaissance"),
    ("music21:trecento/Fava_Dicant_nunc_iudei", "medieval"),
])  # fmt: skip
def test_estimate_without_metadata(ref: str, epoch: str) -> None:
    score = read_score(ref)
    assert _estimate(score) == epoch
    # the features read no metadata: the same estimate whether or not the score names its source
    assert style.estimate_epoch(analyse(score)) == style.estimate_epoch(analyse(_stripped(score)))


def test_estimate_names_a_composer_of_the_epoch() -> None:
    labels = analyse(_stripped(read_score("music21:bach/bwv66.6")))
    epoch, composer = style.estimate_epoch(labels)
    assert (epoch, composer) == ("baroque", "J. S. Bach")
    assert labels["composer"] == "J. S. Bach"


def test_folk_tune_is_folk() -> None:
    labels = analyse(folk_jig())
    assert labels["epoch"] == "folk"
    assert labels["composer"] is None  # folk collections name no composer
    assert style.epoch_probabilities(labels)["folk"] > 0.5


def test_estimate_is_fast() -> None:
    labels = analyse(folk_jig())
    style.estimate_epoch(labels)
    start = time.perf_counter()
    for _ in range(200):
        style.estimate_epoch(labels)
    assert (time.perf_counter() - start) / 200 < 0.005


def test_without_a_model_the_old_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(style, "_style_arrays", lambda: None)
    assert style.estimate_epoch(analyse(folk_jig())) == ("modern", "")
    assert style.epoch_probabilities({}) == {}


def test_shared_folk_and_pop(shared_dir: Path) -> None:
    """Real files from ../shared (skipped when absent): Nottingham tunes are folk, POP909 songs popular."""
    data = shared_dir / "datasets"
    nottingham = sorted((data / "nottingham" / "MIDI").glob("*.mid"))[::200]
    pop = sorted((data / "pop909" / "POP909").glob("*/[0-9][0-9][0-9].mid"))[::300]
    if not nottingham or not pop:
        pytest.skip("Nottingham or POP909 MIDI files are not in ../shared/datasets")
    folk = [_estimate(read_score(p)) for p in nottingham]
    popular = [_estimate(read_score(p)) for p in pop]
    assert folk.count("folk") >= len(folk) - 1, folk
    assert popular.count("popular") >= len(popular) - 1, popular
