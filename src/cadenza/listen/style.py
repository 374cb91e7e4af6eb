"""Who, when and what kind: composer, epoch and form, from metadata and the source's name where known,
else estimated from musical features (a linear model in ``listen/models/style.json``, fitted by
:mod:`cadenza.lab.fit.style`, ``python -m benchmarks.fit_style``, on music21's corpus works of known composers
and folk collections, with Nottingham, POP909 and VGMIDI from ``../shared`` for folk and popular music;
cross-validated accuracy in ``benchmarks/results/listen_style.json``)."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from cadenza.listen.labels import number_label
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
FOLK_SOURCES = ("essenfolksong", "ryansmammoth", "oneills1850", "airdsairs", "miscfolk", "nottingham",
                "nottinghamdataset")
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


_DATASET_FOLDER = re.compile(r"/datasets/(nottingham|pop909|vgmidi|jsb)/(.*)$|"
                             r"/(openscore-lieder|openscore-quartets|openscore-orchestra|dcml-piano|kern)/(.*)$")


def _collection(score: Score) -> str:
    """The known collection a score comes from, as ``folder/rest`` in lower case: a music21 corpus reference,
    a JSB entry, or a file inside a ``datasets/<name>/`` folder. "" for anything else: a user's own folder
    names say nothing about the music (``/home/jsbrown`` is not Bach)."""
    source = score.metadata.source.lower()
    if source.startswith("music21:"):
        return source.removeprefix("music21:")
    if source.startswith("jsb:"):
        return "jsb/" + source.removeprefix("jsb:")
    match = _DATASET_FOLDER.search(source.replace("\\", "/"))
    if not match:
        return ""
    folder, rest = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    return f"{folder}/{rest}"


def _file_stem(score: Score) -> str:
    """The source's file name without extension or tune number ('jigs327', 'bwv66.6')."""
    name = score.metadata.source.lower().split("#")[0].replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    return stem if dot and ext in ("mid", "midi", "kar", "xml", "musicxml", "mxl", "abc", "krn", "json") else name


def composer_from_metadata(score: Score) -> tuple[str, str] | None:
    """(display name, epoch) from a known collection's folder (music21 corpus, JSB) or the composer field."""
    folder = _collection(score).split("/")[0]
    if folder in COMPOSERS:
        return COMPOSERS[folder]
    if folder == "jsb":
        return COMPOSERS["bach"]
    return known_composer(score.metadata.composer)


def known_composer(composer: str) -> tuple[str, str] | None:
    """(display name, epoch) of a composer named in free text ('Ludwig van Beethoven (1770–1827)'), if known."""
    name = composer.lower()
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


_LIFE_DATES = re.compile(r"\((\d{4})[–-](\d{4})\)\s*$")


def epoch_from_dates(composer: str) -> str | None:
    """The epoch of a composer named 'Name (born–died)', by the year the composer turned 30; None without
    dates."""
    match = _LIFE_DATES.search(composer)
    if not match:
        return None
    year = int(match.group(1)) + 30
    for limit, epoch in ((1600, "renaissance"), (1740, "baroque"), (1815, "classical"), (1895, "romantic")):
        if year < limit:
            return epoch
    return "modern"


def epoch_from_metadata(score: Score) -> str | None:
    known = composer_from_metadata(score)
    if known:
        return known[1]
    dated = epoch_from_dates(score.metadata.composer)
    if dated:
        return dated
    folder = _collection(score).split("/")[0].replace("-", "").replace("_", "")
    if folder in FOLK_SOURCES:
        return "folk"
    if folder in POPULAR_SOURCES:
        return "popular"
    return None


def form_from_metadata(score: Score, ensemble: str, meter: str, epoch: str | None) -> str | None:
    """The form named by the title or the file name, or implied by a known collection."""
    text = f"{score.metadata.title} {_file_stem(score)}".lower()
    for pattern, form in _FORM_WORDS:
        if re.search(pattern, text):
            return form
    collection = _collection(score)
    implied = {"palestrina": "mass-movement", "monteverdi": "madrigal", "essenfolksong": "song",
               "pop909": "pop-song", "vgmidi": "game-music", "jsb": "chorale", "openscore-lieder": "song",
               "openscore-quartets": "quartet-movement", "dcml-piano/beethoven_piano_sonatas": "sonata-movement",
               "dcml-piano/mozart_sonatas": "sonata-movement", "dcml-piano/chopin_mazurkas": "dance",
               "kern/beethoven-string-quartets": "quartet-movement"}
    for prefix in ("/".join(collection.split("/")[:2]), collection.split("/")[0]):
        if prefix in implied:
            return implied[prefix]
    return None


#: the share of a piece's bars in three with a waltz accompaniment (:func:`cadenza.listen.rhythm.waltz_share`) from
#: which it is heard as a waltz. ``python -m benchmarks.listen_waltz``: Joplin's Bethena, Pleasant Moments, Binks'
#: and Augustan Club waltzes 0.48-0.79 and Grieg's Valse mélancolique 0.43 are heard (his other three waltzes
#: 0.01-0.35, Debussy's "La plus que lente" 0.14, Joplin's Harmony Club Waltz 0.0: its kern edition's bars are read
#: in four are not); of other pieces in three, no sonata movement of 30 (at most 0.16), no quartet movement of 27
#: (0.09), one song of 30 (Lehmann's "The ball", 0.50), and 10 of 30 of Chopin's mazurkas, a dance over the same
#: accompaniment (median 0.30)
WALTZ_SHARE = 0.4


#: ... and the share of a piece's bars in two with a march's "oom-pah" (:func:`cadenza.listen.rhythm.march_share`)
#: from which it is heard as a march: 23 of 25 of Joplin's rags in 2/4 (0.27-0.69, median 0.47: a rag is a march
#: in form and accompaniment), none of 25 movements of Beethoven's sonatas in 2/4 and 2/2 (at most 0.08)
MARCH_SHARE = 0.3


def estimate_form(ensemble: str, meter: str, texture: str, epoch: str, waltz_share: float = 0.0,
                  march_share: float = 0.0) -> str:
    """A guess from forces, meter and the accompaniment (``waltz_share``, ``march_share``) when nothing names
    the form."""
    if meter in ("2/4", "2/2") and march_share >= MARCH_SHARE:
        return "march"
    if epoch == "folk":
        return {"6/8": "jig", "9/8": "jig", "12/8": "jig", "3/4": "waltz", "2/4": "polka"}.get(meter, "reel")
    if meter in ("3/4", "3/8") and waltz_share >= WALTZ_SHARE:
        return "waltz"
    if ensemble == "satb-choir" and texture == "homophonic":
        return "chorale"
    if ensemble == "string-quartet":
        return "quartet-movement"
    if epoch == "popular":
        return "pop-song"
    return "other"


@lru_cache(maxsize=1)
def load_style_model() -> dict[str, Any] | None:
    """The fitted style model (JSON), or None when none ships."""
    path = resources.files("cadenza.listen").joinpath("models/style.json")
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


#: Features the style model reads, all computed from labels that ``analyse`` has already worked out (never
#: from metadata, tempo or loudness: those say more about the file format than about the music).
STYLE_FEATURES = (
    "major", "key_clarity", "key_confidence", "modulation_rate",
    "note_density", "onset_density", "polyphony", "part_count", "pitch_range", "mean_pitch",
    "step_ratio", "leap_ratio", "syncopation", "note_value_entropy", "rest_ratio", "articulation",
    "triad_ratio", "seventh_ratio", "dissonance", "harmonic_rhythm",
    "chromatic_chords", "seventh_chords", "diminished_chords", "chord_variety",
    "cadence_rate", "authentic_share", "half_share", "plagal_share",
    "repeated_bars", "self_similarity", "phrase_length",
    "monophonic", "homophonic", "polyphonic", "melody_accompaniment",
    "compound_meter", "triple_meter", "duple_meter", "odd_meter",
    "vocabulary_none", "vocabulary_chromatic", "vocabulary_sevenths", "blues",
)  # fmt: skip

_COMPOUND = ("6/8", "9/8", "12/8")
_TRIPLE = ("3/4", "3/8", "9/8")
_DUPLE = ("2/2", "2/4", "4/4", "6/8", "12/8")


def style_features(labels: dict[str, Any]) -> dict[str, float]:
    """The style features by name, from a label dict (missing labels count as 0)."""
    chords = [str(c) for c in labels.get("chord_progression") or []]
    cadences = [str(c).split("@")[0] for c in labels.get("cadences") or []]
    bars = max(number_label(labels, "length_bars"), 1.0)
    meter = labels.get("meter") or ""
    texture = labels.get("texture") or ""
    vocabulary = labels.get("harmonic_vocabulary") or ""
    n_chords = max(len(chords), 1)
    n_cadences = max(len(cadences), 1)
    return {
        "major": 1.0 if labels.get("mode") == "major" else 0.0,
        "key_clarity": number_label(labels, "key_clarity"),
        "key_confidence": number_label(labels, "key_confidence"),
        "modulation_rate": min(number_label(labels, "modulations") / bars * 8.0, 4.0),
        "note_density": min(number_label(labels, "note_density"), 16.0),
        "onset_density": min(number_label(labels, "onset_density"), 8.0),
        "polyphony": min(number_label(labels, "polyphony"), 8.0),
        "part_count": min(number_label(labels, "part_count"), 8.0),
        "pitch_range": number_label(labels, "pitch_range"),
        "mean_pitch": number_label(labels, "mean_pitch"),
        "step_ratio": number_label(labels, "step_ratio"),
        "leap_ratio": number_label(labels, "leap_ratio"),
        "syncopation": number_label(labels, "syncopation"),
        "note_value_entropy": number_label(labels, "note_value_entropy"),
        "rest_ratio": number_label(labels, "rest_ratio"),
        "articulation": min(number_label(labels, "articulation"), 2.0),
        "triad_ratio": number_label(labels, "triad_ratio"),
        "seventh_ratio": number_label(labels, "seventh_ratio"),
        "dissonance": number_label(labels, "dissonance"),
        "harmonic_rhythm": min(number_label(labels, "harmonic_rhythm"), 12.0),
        "chromatic_chords": sum(("♭" in c or "♯" in c or "+" in c) for c in chords) / n_chords,
        "seventh_chords": sum("7" in c for c in chords) / n_chords,
        "diminished_chords": sum(("°" in c or "ø" in c) for c in chords) / n_chords,
        "chord_variety": len(set(chords)) / n_chords if chords else 0.0,
        "cadence_rate": min(len(cadences) / bars, 2.0) if cadences else 0.0,
        "authentic_share": cadences.count("authentic") / n_cadences,
        "half_share": cadences.count("half") / n_cadences,
        "plagal_share": cadences.count("plagal") / n_cadences,
        "repeated_bars": number_label(labels, "repeated_bars"),
        "self_similarity": number_label(labels, "self_similarity"),
        "phrase_length": min(number_label(labels, "phrase_length"), 16.0),
        "monophonic": float(texture == "monophonic"),
        "homophonic": float(texture == "homophonic"),
        "polyphonic": float(texture == "polyphonic"),
        "melody_accompaniment": float(texture == "melody+accompaniment"),
        "compound_meter": float(meter in _COMPOUND),
        "triple_meter": float(meter in _TRIPLE),
        "duple_meter": float(meter in _DUPLE),
        "odd_meter": float(meter not in _COMPOUND + _TRIPLE + _DUPLE),
        "vocabulary_none": float(vocabulary == "none"),
        "vocabulary_chromatic": float(vocabulary == "chromatic"),
        "vocabulary_sevenths": float(vocabulary == "seventh-chords"),
        "blues": float(bool(labels.get("blues"))),
    }


def style_feature_vector(labels: dict[str, Any]) -> np.ndarray:
    """:data:`STYLE_FEATURES` as a vector, in that order."""
    values = style_features(labels)
    return np.array([values[name] for name in STYLE_FEATURES])


@lru_cache(maxsize=1)
def _style_arrays() -> dict[str, Any] | None:
    """The model's arrays, converted once; None when no usable model ships."""
    model = load_style_model()
    if model is None or tuple(model.get("features", ())) != STYLE_FEATURES or model.get("kind") != "linear":
        return None
    sources = model.get("sources", [])
    return {
        "mean": np.asarray(model["mean"], dtype=float),
        "scale": np.asarray(model["scale"], dtype=float),
        "weights": np.asarray(model["weights"], dtype=float),  # (epochs, features)
        "bias": np.asarray(model["bias"], dtype=float),
        "epochs": list(model["epochs"]),
        "source_composers": [c["composer"] for c in sources],
        "source_epochs": [c["epoch"] for c in sources],
        "source_centroids": np.asarray([c["centroid"] for c in sources], dtype=float).reshape(
            len(sources), len(STYLE_FEATURES)),
    }


def epoch_probabilities(labels: dict[str, Any]) -> dict[str, float]:
    """The style model's probability for every epoch ({} when no model ships)."""
    arrays = _style_arrays()
    if arrays is None:
        return {}
    z = (style_feature_vector(labels) - arrays["mean"]) / arrays["scale"]
    logits = arrays["weights"] @ z + arrays["bias"]
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return {epoch: float(v) for epoch, v in zip(arrays["epochs"], p, strict=True)}


def estimate_epoch(labels: dict[str, Any]) -> tuple[str, str]:
    """(epoch, nearest composer) from musical features alone (never metadata): a linear model over
    :data:`STYLE_FEATURES`, standardised (fitted as cross-validation chose: :mod:`cadenza.lab.fit.style`),
    then the training source of that epoch whose centroid lies nearest, named by its composer ("" when
    that source is a collection of anonymous music, such as folk tunes or pop songs).
    ("modern", "") when no model ships."""
    arrays = _style_arrays()
    if arrays is None:
        return "modern", ""
    z = (style_feature_vector(labels) - arrays["mean"]) / arrays["scale"]
    epoch = arrays["epochs"][int(np.argmax(arrays["weights"] @ z + arrays["bias"]))]
    rows = [i for i, e in enumerate(arrays["source_epochs"]) if e == epoch]
    if not rows:
        return epoch, ""
    dists = np.linalg.norm(arrays["source_centroids"][rows] - z, axis=1)
    return epoch, arrays["source_composers"][rows[int(np.argmin(dists))]]
