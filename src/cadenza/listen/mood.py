"""Mood: valence and arousal in [-1, 1] from musical features known to carry emotion (mode, tempo, register,
density, dissonance, loudness, articulation), through two small logistic models stored as JSON in
``listen/models/mood.json`` (fitted on VGMIDI by :mod:`cadenza.lab.fit.mood`, ``python -m benchmarks.fit_mood``;
cross-validated accuracy in ``benchmarks/results/listen_mood.json``). The label is the quadrant: joyful, tense,
sad, calm."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from cadenza.listen.features import beat_quarters_of_meter
from cadenza.listen.labels import number_label

#: What the mood model reads, each from the labels of ``analyse`` (derived ones noted). Fewer features did as
#: well in cross-validation as the 17 of the prior; see cadenza.lab.fit.mood and its results.
MOOD_FEATURES = (
    "major",           # mode: 1 major, 0 minor
    "key_clarity",     # how clearly tonal
    "log_tempo",       # ln tempo_bpm
    "log_onset_rate",  # ln distinct onsets per second (onset_density x beat length x tempo): activity in time
    "note_density",    # notes per beat, chord notes counted: how thick the texture is
    "mean_pitch",      # register
    "dissonance",      # share of dissonant sounding intervals
    "velocity_mean",   # loudness
    "articulation",    # 1 legato .. 0.5 staccato
)  # fmt: skip


def mood_feature_vector(labels: dict[str, Any]) -> np.ndarray:
    """The features the mood model reads, from already computed labels."""
    tempo = number_label(labels, "tempo_bpm") or 120.0
    onsets_per_second = (number_label(labels, "onset_density") * beat_quarters_of_meter(str(labels.get("meter")))
                         * tempo / 60.0)
    derived = {
        "major": 1.0 if labels.get("mode") == "major" else 0.0,
        "log_tempo": math.log(max(tempo, 1.0)),
        "log_onset_rate": math.log(max(onsets_per_second, 0.05)),
    }
    return np.array([derived[name] if name in derived else number_label(labels, name) for name in MOOD_FEATURES])


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
            raise ValueError("mood model was fitted on other features; refit with python -m benchmarks.fit_mood")
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
