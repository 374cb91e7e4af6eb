"""Mood: valence and arousal in [-1, 1] from musical features known to carry emotion (mode, tempo, register,
density, dissonance, loudness, articulation), through two small logistic models stored as JSON in
``listen/models/mood.json`` (fitted on VGMIDI by ``benchmarks/fit_mood.py``; cross-validated accuracy in
``benchmarks/results/listen.json``). The label is the quadrant: joyful, tense, sad, calm."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

MOOD_FEATURES = (
    "major", "tempo_bpm", "note_density", "onset_density", "mean_pitch", "pitch_range", "dissonance",
    "velocity_mean", "velocity_spread", "articulation", "syncopation", "key_clarity", "leap_ratio",
    "step_ratio", "rest_ratio", "polyphony", "note_value_entropy",
)  # fmt: skip


def mood_feature_vector(labels: dict[str, Any]) -> np.ndarray:
    """The features the mood model reads, from already computed labels."""
    values = []
    for name in MOOD_FEATURES:
        if name == "major":
            values.append(1.0 if labels.get("mode") == "major" else 0.0)
        else:
            values.append(float(labels.get(name) or 0.0))
    return np.array(values)


@dataclass(frozen=True)
class MoodModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    valence_weights: np.ndarray
    valence_bias: float
    arousal_weights: np.ndarray
    arousal_bias: float
    about: str = ""

    def predict(self, x: np.ndarray) -> tuple[float, float]:
        z = (x - self.mean) / self.scale
        valence = float(np.tanh((z @ self.valence_weights + self.valence_bias) / 2))  # = 2*sigmoid - 1
        arousal = float(np.tanh((z @ self.arousal_weights + self.arousal_bias) / 2))
        return valence, arousal

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.features), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "valence": {"weights": self.valence_weights.tolist(), "bias": self.valence_bias},
                "arousal": {"weights": self.arousal_weights.tolist(), "bias": self.arousal_bias},
                "about": self.about}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> MoodModel:
        if tuple(doc["features"]) != MOOD_FEATURES:
            raise ValueError("mood model was fitted on other features; refit with benchmarks/fit_mood.py")
        return cls(tuple(doc["features"]), np.array(doc["mean"]), np.array(doc["scale"]),
                   np.array(doc["valence"]["weights"]), float(doc["valence"]["bias"]),
                   np.array(doc["arousal"]["weights"]), float(doc["arousal"]["bias"]), doc.get("about", ""))


@lru_cache(maxsize=1)
def load_mood_model() -> MoodModel:
    text = resources.files("cadenza.listen").joinpath("models/mood.json").read_text(encoding="utf-8")
    return MoodModel.from_json(json.loads(text))


def estimate_mood(labels: dict[str, Any]) -> tuple[float, float]:
    """(valence, arousal), each in [-1, 1]."""
    return load_mood_model().predict(mood_feature_vector(labels))
