"""``analyse(score)``: every label of the label set, computed once each, in the registry's order."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from cadenza.listen import forces, harmony, rhythm, structure
from cadenza.listen.features import View
from cadenza.listen.key import count_modulations, estimate_key
from cadenza.listen.labels import LABELS, LABELS_BY_NAME, METERS, mood_quadrant
from cadenza.listen.mood import estimate_mood
from cadenza.listen.style import (
    composer_from_metadata,
    epoch_from_metadata,
    estimate_epoch,
    estimate_form,
    form_from_metadata,
)
from cadenza.score.model import Score

_ROUND = 4


def analyse(score: Score) -> dict[str, Any]:
    """All labels for a score: name -> value (see :mod:`cadenza.listen.labels` for types and values)."""
    view = View(score)
    out: dict[str, Any] = {}

    out["instruments"] = forces.instrument_families(view)
    out["part_count"] = len(set(score.notes["part"].tolist()))
    out["ensemble"] = forces.ensemble(view)

    key = estimate_key(view)
    out["key"] = key.name
    out["key_confidence"] = key.confidence
    out["mode"] = key.mode
    out["key_clarity"] = key.clarity
    out["modulations"] = count_modulations(view)

    sig = view.main_signature
    out["meter"] = str(sig) if str(sig) in METERS else "other"
    out["tempo_bpm"] = score.tempos[0].bpm if score.tempos and score.tempos[0].onset_ticks == 0 else 120.0
    out["length_bars"] = score.bar_count
    out["length_s"] = score.duration_s

    out["note_density"], out["onset_density"] = rhythm.densities(view)
    out["polyphony"] = forces.polyphony(view)
    out["texture"] = forces.texture(view, out["polyphony"])
    pitched = view.pitched
    out["pitch_range"] = int(pitched["pitch"].max() - pitched["pitch"].min()) if len(pitched) else 0
    weights = pitched["duration_ticks"].astype(float)
    out["mean_pitch"] = float((pitched["pitch"] * weights).sum() / weights.sum()) if len(pitched) else 0.0
    out["step_ratio"], out["leap_ratio"] = rhythm.melodic_motion(view)
    out["contour"] = rhythm.contour(view)
    out["syncopation"] = rhythm.syncopation(view)
    out["note_value_entropy"] = rhythm.note_value_entropy(view)
    out["rest_ratio"] = rhythm.rest_ratio(view)
    out["articulation"] = rhythm.articulation(view)
    out["velocity_mean"], out["velocity_spread"] = rhythm.velocity_stats(view)

    chords = harmony.beat_chords(view)
    out["harmonic_vocabulary"], out["triad_ratio"], out["seventh_ratio"] = harmony.vocabulary(chords)
    if out["texture"] == "monophonic":  # a single line implies harmony (progression, cadences) but has no chords
        out["harmonic_vocabulary"] = "none"
    out["dissonance"] = harmony.dissonance(view)
    changes = harmony.changes(chords)
    out["harmonic_rhythm"] = len(changes) / max(score.bar_count, 1)
    out["chord_progression"] = harmony.progression(chords, key.tonic, key.mode)
    out["cadences"] = harmony.cadences(view, chords, key.tonic, key.mode)
    out["blues"] = harmony.is_blues(view, key.tonic)

    out["repeated_bars"] = structure.repeated_bars(view)
    out["self_similarity"] = structure.self_similarity(view)
    cadence_bars = [int(c.split("@")[1]) for c in out["cadences"]]
    out["phrase_length"] = structure.phrase_length(view, cadence_bars)

    out["valence"], out["arousal"] = estimate_mood(out)
    out["mood"] = mood_quadrant(out["valence"], out["arousal"])

    known = composer_from_metadata(score)
    epoch = epoch_from_metadata(score)
    estimated_epoch, nearest = estimate_epoch(out)
    out["composer"] = known[0] if known else (score.metadata.composer or nearest or None)
    out["epoch"] = epoch or estimated_epoch
    out["form"] = form_from_metadata(score, out["ensemble"], out["meter"], out["epoch"]) or estimate_form(
        out["ensemble"], out["meter"], out["texture"], out["epoch"], rhythm.waltz_share(view), rhythm.march_share(view))

    for spec in LABELS:
        if spec.kind == "bucket":
            out[spec.name] = spec.bucket(out[spec.of])
    ordered = {spec.name: out.get(spec.name) for spec in LABELS}
    for name, value in ordered.items():
        if LABELS_BY_NAME[name].kind == "number" and value is not None:
            ordered[name] = int(value) if isinstance(value, int | np.integer) else round(float(value), _ROUND)
    return ordered


def analyse_timed(score: Score) -> tuple[dict[str, Any], float]:
    """Labels and the seconds they took."""
    start = time.perf_counter()
    labels = analyse(score)
    return labels, time.perf_counter() - start
