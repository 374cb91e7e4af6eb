"""Who, when and what kind: composer, epoch and form, from metadata and the source's name where known,
else estimated from musical features (a nearest-centroid model in ``listen/models/style.json``, fitted on
music21's corpus works of known composers by ``benchmarks/fit_style.py``)."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from cadenza.score.model import Score

# music21 corpus folders and common composer spellings -> (display name, epoch)
COMPOSERS: dict[str, tuple[str, str]] = {
    "bach": ("J. S. Bach", "baroque"), "handel": ("G. F. Handel", "baroque"),
    "corelli": ("A. Corelli", "baroque"), "monteverdi": ("C. Monteverdi", "renaissance"),
    "palestrina": ("G. P. da Palestrina", "renaissance"), "josquin": ("Josquin des Prez", "renaissance"),
    "lusitano": ("V. Lusitano", "renaissance"), "trecento": ("Trecento composers", "medieval"),
    "ciconia": ("J. Ciconia", "medieval"), "luca": ("Lucca Codex", "medieval"),
    "cpebach": ("C. P. E. Bach", "classical"), "haydn": ("J. Haydn", "classical"),
    "mozart": ("W. A. Mozart", "classical"), "beethoven": ("L. van Beethoven", "classical"),
    "schubert": ("F. Schubert", "romantic"), "weber": ("C. M. von Weber", "romantic"),
    "chopin": ("F. Chopin", "romantic"), "schumann_robert": ("R. Schumann", "romantic"),
    "schumann_clara": ("C. Schumann", "romantic"), "verdi": ("G. Verdi", "romantic"),
    "beach": ("A. Beach", "romantic"), "schoenberg": ("A. Schoenberg", "modern"),
    "webern": ("A. Webern", "modern"), "joplin": ("S. Joplin", "popular"),
    "johnson_j_r": ("J. R. Johnson", "popular"), "liliuokalani": ("Liliʻuokalani", "popular"),
}  # fmt: skip
FOLK_SOURCES = ("essenfolksong", "ryansmammoth", "oneills1850", "airdsairs", "miscfolk", "nottingham")
POPULAR_SOURCES = ("pop909", "vgmidi", "leadsheet")

_FORM_WORDS = (
    (r"\breels?\b|\breels?\d", "reel"), (r"\bjigs?\b|\bjigs?\d|\bslides?\b|\bslip", "jig"),
    (r"hornpipe|\bhpps?\d", "hornpipe"), (r"waltz|valse", "waltz"),
    (r"\bmarch|marsch|marche", "march"), (r"polka", "polka"),
    (r"mazurka|minuet|menuet|gavotte|bourr|sarabande|gigue|allemande|courante|strathspey|dance|morris|"
     r"playford", "dance"),
    (r"kyrie|gloria|credo|sanctus|agnus|benedictus|\bmissa\b|\bmass\b", "mass-movement"),
    (r"madrigal", "madrigal"), (r"motet", "motet"), (r"chorale|choral\b|\bbwv", "chorale"), (r"hymn", "hymn"),
    (r"sonata", "sonata-movement"), (r"quartet", "quartet-movement"), (r"\bsong\b|\blied\b|\bair\b", "song"),
)  # fmt: skip


def _source_key(score: Score) -> str:
    return score.metadata.source.lower().removeprefix("music21:")


def composer_from_metadata(score: Score) -> tuple[str, str] | None:
    """(display name, epoch) from the source's folder (music21 corpus, jsb) or the composer field."""
    folder = _source_key(score).split("/")[0]
    if folder in COMPOSERS:
        return COMPOSERS[folder]
    if folder == "jsb" or "jsb" in _source_key(score):
        return COMPOSERS["bach"]
    name = score.metadata.composer.lower()
    if not name:
        return None
    if "bach" in name and ("emanuel" in name or "c. p. e" in name or "cpe" in name):
        return COMPOSERS["cpebach"]
    if "schumann" in name:
        return COMPOSERS["schumann_clara" if "clara" in name else "schumann_robert"]
    for key, value in COMPOSERS.items():
        if re.search(rf"\b{re.escape(key)}\b", name):
            return value
    return None


def epoch_from_metadata(score: Score) -> str | None:
    known = composer_from_metadata(score)
    if known:
        return known[1]
    source = _source_key(score).replace("-", "").replace("_", "")
    if any(s in source for s in FOLK_SOURCES):
        return "folk"
    if any(s in source for s in POPULAR_SOURCES):
        return "popular"
    return None


def form_from_metadata(score: Score, ensemble: str, meter: str, epoch: str | None) -> str | None:
    text = f"{score.metadata.title} {_source_key(score)}".lower()
    for pattern, form in _FORM_WORDS:
        if re.search(pattern, text):
            return form
    source = _source_key(score)
    if source.startswith("palestrina"):
        return "mass-movement"
    if source.startswith("monteverdi"):
        return "madrigal"
    if source.startswith("essenfolksong") or "xmas" in source:
        return "song"
    if "pop909" in source:
        return "pop-song"
    if "vgmidi" in source:
        return "game-music"
    if ensemble == "string-quartet" and epoch in ("classical", "romantic"):
        return "quartet-movement"
    return None


def estimate_form(ensemble: str, meter: str, texture: str, epoch: str) -> str:
    """A guess from forces and meter when nothing names the form."""
    if epoch == "folk":
        return {"6/8": "jig", "9/8": "jig", "12/8": "jig", "3/4": "waltz", "2/4": "polka"}.get(meter, "reel")
    if ensemble == "satb-choir" and texture == "homophonic":
        return "chorale"
    if ensemble == "string-quartet":
        return "quartet-movement"
    if epoch == "popular":
        return "pop-song"
    return "other"


@lru_cache(maxsize=1)
def load_style_model() -> dict[str, Any] | None:
    path = resources.files("cadenza.listen").joinpath("models/style.json")
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


STYLE_FEATURES = ("major", "tempo_bpm", "note_density", "onset_density", "polyphony", "pitch_range",
                  "mean_pitch", "step_ratio", "leap_ratio", "syncopation", "note_value_entropy", "dissonance",
                  "seventh_ratio", "triad_ratio", "harmonic_rhythm", "key_clarity", "rest_ratio",
                  "articulation", "part_count", "repeated_bars")


def style_feature_vector(labels: dict[str, Any]) -> np.ndarray:
    return np.array([1.0 if (n == "major" and labels.get("mode") == "major") else
                     float(labels.get(n) or 0.0) if n != "major" else 0.0 for n in STYLE_FEATURES])


def estimate_epoch(labels: dict[str, Any]) -> tuple[str, str]:
    """(epoch, nearest composer) from features; ("modern", "") when no model ships."""
    model = load_style_model()
    if model is None or tuple(model["features"]) != STYLE_FEATURES:
        return "modern", ""
    z = (style_feature_vector(labels) - np.array(model["mean"])) / np.array(model["scale"])
    names = list(model["centroids"])
    dists = [float(np.linalg.norm(z - np.array(model["centroids"][n]))) for n in names]
    best = names[int(np.argmin(dists))]
    return model["epoch_of"][best], model["display"].get(best, best)
