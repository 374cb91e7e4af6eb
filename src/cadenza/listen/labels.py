"""The label set: every label Cadenza's listening computes, its type and its fixed values, in one place.

The same names and values become the model's conditioning tokens and the checks of a request's adherence,
so they change only with a version bump (``LABEL_SET_VERSION``).

Kinds:
- ``category``: one value from ``values`` (an open set when ``values`` is empty, e.g. composer names);
- ``bucket``: one value from ``values``, cut from the number label ``of`` at ``edges`` (value i covers
  ``edges[i-1] <= x < edges[i]``);
- ``number``: a float (``unit`` says in what);
- ``flag``: true or false;
- ``list``: a list of strings (instruments, chord progression, cadences).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

LABEL_SET_VERSION = 1

EPOCHS = ("medieval", "renaissance", "baroque", "classical", "romantic", "modern", "folk", "popular")
FORMS = ("chorale", "hymn", "reel", "jig", "hornpipe", "waltz", "march", "polka", "dance", "mass-movement",
         "madrigal", "motet", "quartet-movement", "sonata-movement", "song", "pop-song", "game-music", "other")
ENSEMBLES = ("solo-piano", "solo-instrument", "satb-choir", "voices", "string-quartet", "chamber", "orchestra",
             "keyboard", "lead-sheet", "band", "other")
TEXTURES = ("monophonic", "homophonic", "polyphonic", "melody+accompaniment")
MOODS = ("joyful", "tense", "sad", "calm")
DENSITIES = ("low", "medium", "high")  # the onset density's buckets (see LABEL_SPECS)
CONTOURS = ("ascending", "descending", "arch", "valley", "level")
HARMONIC_VOCABULARIES = ("none", "triadic", "seventh-chords", "chromatic")
METERS = ("2/2", "2/4", "3/4", "4/4", "3/2", "4/2", "6/4", "3/8", "6/8", "9/8", "12/8", "5/4", "7/8", "other")
TONICS = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")
KEYS = tuple(f"{t} {m}" for m in ("major", "minor") for t in TONICS)


@dataclass(frozen=True)
class LabelSpec:
    name: str
    kind: str  # category | bucket | number | flag | list
    description: str
    values: tuple[str, ...] = ()
    edges: tuple[float, ...] = ()
    of: str = ""  # for buckets: the number label they are cut from
    unit: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("category", "bucket", "number", "flag", "list"):
            raise ValueError(f"label {self.name}: unknown kind {self.kind}")
        if self.kind == "bucket" and (len(self.edges) != len(self.values) - 1 or not self.of):
            raise ValueError(f"label {self.name}: a bucket needs len(values)-1 edges and a source label")

    def bucket(self, value: float) -> str:
        """The bucket name for a number."""
        for i, edge in enumerate(self.edges):
            if value < edge:
                return self.values[i]
        return self.values[-1]


def _bucket(name: str, of: str, values: tuple[str, ...], edges: tuple[float, ...], description: str) -> LabelSpec:
    return LabelSpec(name, "bucket", description, values, edges, of)


LABELS: tuple[LabelSpec, ...] = (
    # who and when
    LabelSpec("composer", "category", "composer from metadata, else the style estimate's nearest composer"),
    LabelSpec("epoch", "category", "style period from metadata, else estimated from musical features", EPOCHS),
    LabelSpec("form", "category", "form or genre from metadata and title, else estimated", FORMS),
    # forces
    LabelSpec("ensemble", "category", "performing forces, from parts, instruments and ranges", ENSEMBLES),
    LabelSpec("instruments", "list", "General MIDI instrument families of the parts"),
    LabelSpec("part_count", "number", "number of parts that hold notes", unit="parts"),
    # tonality
    LabelSpec("key", "category", "tonic and mode, estimated from pitch content (and the key signature)", KEYS),
    LabelSpec("key_confidence", "number", "how far the best key stands above the runner-up, 0..1"),
    LabelSpec("mode", "category", "major or minor", ("major", "minor")),
    LabelSpec("key_clarity", "number", "correlation of the pitch-class profile with the best key profile"),
    _bucket("key_clarity_level", "key_clarity", ("low", "medium", "high"), (0.55, 0.75),
            "key clarity as a bucket"),
    LabelSpec("modulations", "number", "key changes heard in a sliding window of bars", unit="changes"),
    # time
    LabelSpec("meter", "category", "time signature (the first, or the one in force longest)", METERS),
    LabelSpec("tempo_bpm", "number", "tempo in quarter notes per minute (120 when the file gives none)", unit="bpm"),
    _bucket("tempo_class", "tempo_bpm", ("grave", "largo", "adagio", "andante", "moderato", "allegro", "presto"),
            (45, 60, 76, 108, 120, 168), "tempo as an Italian tempo word"),
    LabelSpec("length_bars", "number", "bars", unit="bars"),
    LabelSpec("length_s", "number", "duration at the score's tempo", unit="s"),
    # density and texture
    LabelSpec("note_density", "number", "notes (all parts) per beat", unit="notes/beat"),
    LabelSpec("onset_density", "number", "distinct onset times per beat", unit="onsets/beat"),
    _bucket("density", "onset_density", DENSITIES, (1.1, 2.2), "onset density as a bucket"),
    LabelSpec("polyphony", "number", "mean number of notes sounding together, where any sound", unit="notes"),
    LabelSpec("texture", "category", "how the parts relate", TEXTURES),
    # pitch
    LabelSpec("pitch_range", "number", "highest minus lowest pitch", unit="semitones"),
    LabelSpec("mean_pitch", "number", "duration-weighted mean MIDI pitch", unit="MIDI"),
    _bucket("register", "mean_pitch", ("low", "middle", "high"), (55, 67), "register as a bucket"),
    # melody (the top voice)
    LabelSpec("step_ratio", "number", "share of melodic intervals of 1-2 semitones (repeats excluded)"),
    LabelSpec("leap_ratio", "number", "share of melodic intervals larger than a major third"),
    LabelSpec("contour", "category", "overall melodic shape of the top voice", CONTOURS),
    # rhythm
    LabelSpec("syncopation", "number", "share of notes that start off the beat and are held across the next beat"),
    LabelSpec("note_value_entropy", "number", "entropy of the note-value distribution", unit="bits"),
    _bucket("rhythmic_complexity", "note_value_entropy", ("simple", "moderate", "complex"), (1.5, 2.5),
            "note-value entropy as a bucket"),
    LabelSpec("rest_ratio", "number", "share of beats where nothing sounds"),
    LabelSpec("articulation", "number",
              "mean sounding duration / time to the next onset in the same part (1 = legato)"),
    # dynamics
    LabelSpec("velocity_mean", "number", "mean MIDI velocity", unit="velocity"),
    _bucket("dynamics", "velocity_mean", ("pp", "p", "mp", "mf", "f", "ff"), (40, 60, 75, 90, 105),
            "loudness as a dynamic marking"),
    LabelSpec("velocity_spread", "number", "standard deviation of velocity", unit="velocity"),
    # harmony
    LabelSpec("harmonic_vocabulary", "category", "what most chords are (none for a single line)",
              HARMONIC_VOCABULARIES),
    LabelSpec("triad_ratio", "number", "share of beat chords that are triads"),
    LabelSpec("seventh_ratio", "number", "share of beat chords that are seventh chords"),
    LabelSpec("dissonance", "number", "share of sounding intervals that are dissonant (2nds, 7ths, tritones)"),
    LabelSpec("harmonic_rhythm", "number", "chord changes per bar", unit="changes/bar"),
    LabelSpec("chord_progression", "list", "Roman numerals of the chord changes in the key (first 16)"),
    LabelSpec("cadences", "list", "cadences heard (authentic, half, plagal, deceptive) with their bars"),
    LabelSpec("blues", "flag", "a 12-bar blues harmonic form is present"),
    # structure
    LabelSpec("repeated_bars", "number", "share of bars whose notes repeat an earlier bar (transposition ignored)"),
    LabelSpec("self_similarity", "number", "mean best match of each 4-bar window with another, 0..1"),
    LabelSpec("phrase_length", "number", "typical phrase length from cadences and rests", unit="bars"),
    # mood
    LabelSpec("valence", "number", "pleasantness, -1 (negative) .. 1 (positive)"),
    LabelSpec("arousal", "number", "energy, -1 (calm) .. 1 (excited)"),
    LabelSpec("mood", "category", "quadrant of valence and arousal", MOODS),
)

LABELS_BY_NAME: dict[str, LabelSpec] = {spec.name: spec for spec in LABELS}


def number_label(labels: dict[str, Any], name: str) -> float:
    """A number label as a float; 0.0 when it is missing, not a number or not finite (models read this)."""
    value = labels.get(name)
    try:
        out = float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0
    return out if math.isfinite(out) else 0.0


def mood_quadrant(valence: float, arousal: float) -> str:
    """joyful (+,+), tense (-,+), sad (-,-), calm (+,-)."""
    if arousal >= 0:
        return "joyful" if valence >= 0 else "tense"
    return "calm" if valence >= 0 else "sad"


def validate_labels(labels: dict[str, Any]) -> None:
    """Raise ValueError if a label is unknown or a value is outside its spec (used by tests and the corpus)."""
    for name, value in labels.items():
        spec = LABELS_BY_NAME.get(name)
        if spec is None:
            raise ValueError(f"unknown label {name!r}")
        if value is None:
            continue
        if spec.kind in ("category", "bucket") and spec.values and value not in spec.values:
            raise ValueError(f"label {name!r}: {value!r} is not one of {spec.values}")
        if spec.kind == "number" and not isinstance(value, int | float):
            raise ValueError(f"label {name!r}: expected a number, got {value!r}")
        if spec.kind == "flag" and not isinstance(value, bool):
            raise ValueError(f"label {name!r}: expected true or false, got {value!r}")
        if spec.kind == "list" and not isinstance(value, list):
            raise ValueError(f"label {name!r}: expected a list, got {value!r}")
