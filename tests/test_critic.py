"""The ear's critic: its phrase features on scores whose answer is known, its fit on separable data, the shipped
critic on real chorales it never saw against the shipped model's own phrases, and the ear listening to it."""

from __future__ import annotations

from dataclasses import replace
from importlib import import_module
from typing import Any

import numpy as np
import pytest

from cadenza.lab.fit.critic import fit_critic, fit_logistic, phrases
from cadenza.lab.real_works import sides, training_index, work_id
from cadenza.listen.critic import FEATURE_NAMES, critic_for, critics, phrase_features, realness
from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import KeySignature, Part, Score, TimeSignature, read_score
from cadenza.score.ops import slice_bars


def two_parts(upper: list[int], lower: list[int]) -> Score:
    notes = [(i * Q, Q, p, 80, 0) for i, p in enumerate(upper)] + [(i * Q, Q, p, 80, 1) for i, p in enumerate(lower)]
    return Score.build(parts=[Part("Soprano", 52), Part("Bass", 52)], notes=notes,
                       time_signatures=[TimeSignature(0, 4, 4)], key_signatures=[KeySignature(0, 0, "major")])


def feature(values: np.ndarray, name: str) -> float:
    return float(values[FEATURE_NAMES.index(name)])


def test_phrase_features_hear_a_repeated_bass_steps_and_contrary_motion() -> None:
    features = phrase_features(two_parts([60, 62, 64, 65, 67, 65, 64, 62], [48] * 8))
    assert len(features) == len(FEATURE_NAMES)
    assert feature(features, "bass_repeat") == 1.0 and feature(features, "tune_step") == 1.0
    assert feature(features, "oblique") == 1.0  # the bass holds while the tune moves
    contrary = phrase_features(two_parts([60, 62, 64, 65, 67], [55, 53, 52, 50, 48]))
    assert feature(contrary, "contrary") == 1.0 and feature(contrary, "bass_step") == 1.0
    assert feature(contrary, "onset_on_beat") == 1.0 and feature(contrary, "duration_a_beat") == 1.0


def test_the_fit_separates_what_differs_and_puts_the_floor_among_the_generated() -> None:
    rng = np.random.default_rng(0)
    real = rng.normal(0.0, 1.0, (80, len(FEATURE_NAMES)))
    made = rng.normal(0.0, 1.0, (80, len(FEATURE_NAMES)))
    made[:, 6] += 2.0  # the generated bass repeats more
    critic = fit_critic("satb", real, made)
    assert critic.weights[6] < 0 and np.abs(critic.weights[6]) == np.abs(critic.weights).max()
    odds = np.array([critic.log_odds(row) for row in made])
    assert 0.2 <= float((odds < critic.floor).mean()) <= 0.3
    weights, _ = fit_logistic(np.array([[-1.0], [1.0], [-2.0], [2.0]]), np.array([0.0, 1.0, 0.0, 1.0]))
    assert weights[0] > 0


def test_the_critic_learns_from_the_models_training_works_and_the_benchmark_measures_others() -> None:
    split = sides("satb", None)
    trained = {w["id"] for w in training_index(None).works}
    assert len(split.critic) >= 100 and all(work_id(p, None) in trained for p in split.critic)
    assert len(split.benchmark) >= 24 and not any(work_id(p, None) in trained for p in split.benchmark)


def test_the_shipped_critic_finds_unseen_chorales_more_real_than_the_models_own_phrases() -> None:
    from cadenza.compose import ComposeRequest, compose

    satb = critic_for("satb", "baroque")
    assert satb is not None, "the shipped critic.json does not parse with today's features: refit it"
    assert set(critics()) >= {"satb", "string-quartet", "piano", "orchestra", "lead-sheet"}
    assert critic_for("satb", "popular") is None  # it judges the style it learned only
    chorales = [str(p) for p in sides("satb", None).benchmark[:6]]  # works neither model nor critic saw
    real = [satb.log_odds(row) for path in chorales for row in phrases(read_score(path), 8)]
    made = [satb.log_odds(row) for seed in (5001, 5002, 5003)
            for row in phrases(compose(ComposeRequest(ensemble="satb", epoch="baroque", bars=8, seed=seed)).score)]
    assert np.mean(real) > np.mean(made) + 1.0, (np.mean(real), np.mean(made))
    assert realness(slice_bars(read_score(chorales[0]), 1, 5), satb) == pytest.approx(
        satb.log_odds(phrase_features(slice_bars(read_score(chorales[0]), 1, 5))))


def test_the_ear_counts_a_phrase_the_critic_finds_unreal_as_a_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    from cadenza.compose import ComposeRequest, compose

    generate = import_module("cadenza.compose.generate")  # (``cadenza.compose`` is also the API's function)

    satb = critic_for("satb", "baroque")
    assert satb is not None
    request = ComposeRequest(ensemble="satb", epoch="baroque", key="G major", bars=8, seed=3)

    def ear_of(floor: float) -> dict[str, Any]:
        monkeypatch.setattr(generate, "critic_for", lambda ensemble, epoch: replace(satb, floor=floor))
        return compose(request).report["ear"]

    harsh, lenient = ear_of(float("inf")), ear_of(float("-inf"))
    assert harsh["faults"] >= harsh["phrases"] == 2  # every phrase kept carries the critic's fault
    assert harsh["attempts"] >= 2 * harsh["phrases"]  # a fault earns one more attempt
    assert lenient["faults"] < harsh["phrases"] or lenient["attempts"] < harsh["attempts"]
