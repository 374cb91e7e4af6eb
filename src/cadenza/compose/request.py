"""What a user asks for, checked and turned into the model's label tokens and hard constraints.

A :class:`ComposeRequest` (defined in :mod:`cadenza.compose.ask`, beneath the prompt readers this module
calls) holds the user's words as given (every field optional); :func:`resolve` checks
each one (a clear one-line error for anything unknown) and gives a :class:`Plan`: the labels to condition
on, the ensemble, meter, key, tempo and bar count that sampling enforces by construction.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any, get_args, get_type_hints

from cadenza.compose.ask import COMPOSER_ALIASES, FORM_METERS, FORM_TEMPI, ComposeRequest
from cadenza.compose.ensembles import EPOCH_ENSEMBLES, Ensemble, ensemble, model_label
from cadenza.errors import UsageError
from cadenza.listen.labels import DENSITIES, LABELS_BY_NAME, METERS, MOODS, TONICS, mood_quadrant
from cadenza.listen.style import COMPOSERS
from cadenza.score.model import TICKS_PER_QUARTER, key_signature_name, key_signature_sharps

# (valence, arousal) of each mood word: the middle of its quadrant
MOOD_CENTRES = {"joyful": (0.8, 0.8), "tense": (-0.8, 0.8), "sad": (-0.8, -0.8), "calm": (0.8, -0.8)}
#: the density a mood implies where none is asked: the lively moods an eighth-note pulse (medium: 5 onsets a second at
#: their 155 bpm), the quiet ones none (the style's own rhythm, at their 64 bpm). High for joyful (more than 2.2
#: onsets a beat) ran sixteenths through every piece, a piano's left hand hammering chords; low for calm and sad (under
#: 1.1 onsets a beat in all parts together) left a piano's right hand 2 onsets or fewer in 65% of its bars against
#: the sonatas' 14% (20 pieces, 4 moods and none). Moods are heard as often (python -m benchmarks.compose --axes mood
#: --seeds 12 --bars 8: 95.8% before and after, 48 pieces)
MOOD_DENSITY: dict[str, str] = {"joyful": "medium", "tense": "medium"}
COMMON_TONICS = {"major": ("C", "G", "D", "F", "Bb", "A", "Eb"), "minor": ("A", "E", "D", "G", "C", "B", "F#")}
DEFAULT_BARS = 16
DEFAULT_ENSEMBLE = "piano"
MODEL_CHOICE = ("any", "free", "model")  # --ensemble words that leave the parts to the model
MAX_BARS = 2000
COMPOSER_EPOCHS = {display: epoch for display, epoch in COMPOSERS.values()}
#: what a form named without forces or a style implies, as the corpus' works of that form have them: (ensemble,
#: epoch), either None. Its chorales are Bach's (JSB, four voices, 4/4), its masses, madrigals and motets
#: Palestrina's, Monteverdi's and Josquin's; its reels, jigs, hornpipes and polkas are folk tunes. A chorale
#: had been written for the default piano, and drawn its meter from every choir work (4/2 in 55% of them).
FORM_STYLES: dict[str, tuple[str | None, str | None]] = {
    "chorale": ("satb", "baroque"), "hymn": ("satb", None), "mass-movement": ("satb", "renaissance"),
    "madrigal": ("satb", "renaissance"), "motet": ("satb", "renaissance"),
    "quartet-movement": ("string-quartet", None), "sonata-movement": ("piano", None),
    "reel": (None, "folk"), "jig": (None, "folk"), "hornpipe": (None, "folk"), "polka": (None, "folk"),
    "pop-song": (None, "popular"),
}
_SPELLINGS = {"c#": 1, "db": 1, "d#": 3, "eb": 3, "fb": 4, "e#": 5, "f#": 6, "gb": 6, "g#": 8, "ab": 8, "a#": 10,
              "bb": 10, "cb": 11, "b#": 0}
_NATURAL = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


@dataclass(frozen=True)
class Key:
    tonic_pc: int  # 0 = C
    mode: str  # major | minor
    spelled: str = ""  # "#" or "b" when the tonic was written with one (chooses F# or Gb major's signature)

    @property
    def name(self) -> str:
        return f"{TONICS[self.tonic_pc]} {self.mode}"

    @property
    def sharps(self) -> int:
        sharps = key_signature_sharps(self.tonic_pc, self.mode)
        if self.spelled == "#" and sharps < 0 and sharps + 12 <= 7:
            return sharps + 12
        if self.spelled == "b" and sharps > 0 and sharps - 12 >= -7:
            return sharps - 12
        return sharps

    @property
    def written_name(self) -> str:
        """The key as its signature is written: "C♭ major" for a Cb major (seven flats; :attr:`name`, the
        model's label, is B major), "E major" for an Fb major, whose eight flats no signature writes."""
        return key_signature_name(self.sharps, self.mode)

    @property
    def scale_pcs(self) -> frozenset[int]:
        """The key's pitch classes: the major scale, or natural minor with the raised sixth and seventh."""
        steps = (0, 2, 4, 5, 7, 9, 11) if self.mode == "major" else (0, 2, 3, 5, 7, 8, 9, 10, 11)
        return frozenset((self.tonic_pc + s) % 12 for s in steps)


@dataclass(frozen=True)
class Plan:
    labels: dict[str, str]  # label name -> value, what the model is conditioned on
    ensemble: Ensemble | None
    meter: tuple[int, int] | None
    key: Key | None
    tempo_bpm: float | None
    bars: int
    notes: list[str] = field(default_factory=list)  # how words were read (for the report)
    implied: frozenset[str] = frozenset()  # fields the plan chose for the mood or epoch, not the user
    prompt: dict[str, Any] | None = None  # how the prompt became fields (PromptReading.report())
    scale_key: Key | None = None  # a continuation's key, its scale leaned to, when no signature is written
    closing_pcs: tuple[int, ...] = ()  # pitch classes the last bar leans to (a prepared change of key)
    valence_arousal: tuple[float, float] | None = None  # the mood asked for, as a point (shapes the playing)
    intro_bars: int = 0  # bars the accompaniment plays alone before the tune enters (cadenza.compose.plan)
    respelled: str | None = None  # the key asked, written as its enharmonic (key_spelling's line), to be said
    closes: bool = True  # its last bar ends the piece (False: a revision's bars, music follows them)

    @property
    def bar_ticks(self) -> int | None:
        return None if self.meter is None else self.meter[0] * 4 * TICKS_PER_QUARTER // self.meter[1]

    @property
    def implied_labels(self) -> frozenset[str]:
        """The labels the plan chose rather than the request (a drawn style, meter or key, a mood's density, the
        default ensemble): :attr:`implied` by label name."""
        names = {"key": ("key", "mode"), "tempo_bpm": ("tempo_class",)}
        return frozenset(name for field in self.implied for name in names.get(field, (field,)))

    @property
    def model_labels(self) -> dict[str, str]:
        """The labels as the model is conditioned on them: the ensemble's under the label the corpus writes its
        music for the epoch with (:func:`cadenza.compose.ensembles.model_label`); ``labels`` stay as asked."""
        if "ensemble" not in self.labels:
            return self.labels
        return {**self.labels, "ensemble": model_label(self.labels.get("epoch"), self.labels["ensemble"])}


def check_request(request: Any) -> ComposeRequest:
    """``request`` if it is a :class:`ComposeRequest` whose every field has its type (text for the words, a
    whole number for bars, seed and candidates, a number for tempo, temperature …), else a one-line
    UsageError naming the field: a caller's wrong type is refused before it reaches the code that uses it."""
    if not isinstance(request, ComposeRequest):
        raise UsageError(f"request: give a ComposeRequest or keywords (key=\"D minor\", bars=16 …), not "
                         f"{type(request).__name__} {_shown(request)}")
    hints = get_type_hints(ComposeRequest)
    for item in fields(ComposeRequest):
        value = getattr(request, item.name)
        if not _fits(value, hints[item.name]):
            raise UsageError(f"{item.name} {_shown(value)}: expected {_type_words(hints[item.name])}")
    return request


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits a field's type: a whole number fits a number field, a boolean fits no number."""
    if value is None:
        return type(None) in get_args(hint)
    kinds = [t for t in (get_args(hint) or (hint,)) if t is not type(None)]
    if isinstance(value, bool):
        return bool in kinds
    return any(isinstance(value, t) or (t is int and isinstance(value, numbers.Integral))
               or (t is float and isinstance(value, numbers.Real)) for t in kinds)


def _type_words(hint: Any) -> str:
    words = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}
    kinds = [t for t in (get_args(hint) or (hint,)) if t is not type(None)]
    return " or ".join(words.get(t, t.__name__) for t in kinds)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_key(text: str) -> Key:
    words = text.strip().replace("♯", "#").replace("♭", "b").replace("-", " ").split()
    if len(words) >= 2 and words[1].lower() in ("flat", "sharp"):  # "E-flat major", "F sharp minor"
        words = [words[0] + ("b" if words[1].lower() == "flat" else "#"), *words[2:]]
    if not words:
        raise UsageError("empty key: write it like 'D minor' or 'F# major'")
    tonic = words[0]
    mode = " ".join(words[1:]).lower()
    if len(words) == 1 and len(tonic) > 1 and tonic[-1] == "m" and tonic.lower() not in _SPELLINGS:
        tonic, mode = tonic[:-1], "minor"
    if mode in ("", "maj", "major", "dur"):
        mode = "major"
    elif mode in ("m", "min", "minor", "moll"):
        mode = "minor"
    else:
        raise UsageError(f"unknown mode {mode!r} in key {text!r}: use major or minor")
    low = tonic.lower()
    pc = _SPELLINGS.get(low, _NATURAL.get(low))
    if pc is None:
        german = " (H is the German name of B: write B)" if low == "h" else ""
        raise UsageError(f"unknown tonic {tonic!r} in key {text!r}: use a note name like D, F#, Bb{german}")
    return Key(pc, mode, low[1:2] if len(low) == 2 else "")


def key_spelling(text: str, key: Key) -> tuple[str | None, str | None]:
    """How ``key`` (read from ``text``) is written, when not simply as asked: a line saying that a key no
    signature writes ("Fb major": eight flats) is written as its enharmonic (E major), else None; and a note
    when the spelling is kept but the model's label and listen name it otherwise (C♭ major: B major), else
    None."""
    tonic = text.strip().replace("♯", "#").replace("♭", "b").split()[0] if text.strip() else ""
    letter = tonic[:1].upper()
    written = key.written_name
    if key.spelled and letter and written[0] != letter:
        base = key_signature_sharps(key.tonic_pc, key.mode)
        needed = base + 12 if key.spelled == "#" else base - 12
        asked = f"{letter}{'♯' if key.spelled == '#' else '♭'} {key.mode}"
        return (f"key {asked} is written as its enharmonic {written} ({asked} would need {abs(needed)} "
                f"{'sharps' if needed > 0 else 'flats'} in its signature)"), None
    if written != key.name:
        return None, f"key {written}: its signature is written so; listen (and the model's label) calls it {key.name}"
    return None, None


def parse_meter(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,6})\s*/\s*(\d{1,6})\s*", text)
    if not match:
        raise UsageError(f"meter {text!r} is not like 3/4")
    numerator, denominator = int(match[1]), int(match[2])
    if numerator < 1:
        raise UsageError(f"meter {text!r}: the numerator must be at least 1")
    if denominator not in (1, 2, 4, 8, 16, 32):
        raise UsageError(f"meter {text!r}: the denominator must be 1, 2, 4, 8, 16 or 32")
    if numerator * 4 / denominator >= 16:
        raise UsageError(f"meter {text!r}: bars must be shorter than 16 quarter notes")
    return numerator, denominator


def duration_seconds(text: str) -> float | None:
    """Seconds from '90', '90s', '1:30', '2m', '1m30s', of any length; None for text not like those."""
    value = text.strip().lower()
    match = re.fullmatch(r"(\d+):(\d{1,2})", value) or re.fullmatch(
        r"(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?", value)
    if not match or not value:
        return None
    minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    if ":" in value and seconds >= 60:
        raise UsageError(f"duration {text!r}: the seconds after ':' run from 00 to 59")
    return minutes * 60 + seconds


def parse_duration(text: str) -> float:
    """Seconds from '90', '90s', '1:30', '2m', '1m30s', between 1 second and 6 hours."""
    total = duration_seconds(text)
    if total is None:
        raise UsageError(f"duration {text!r} is not like 90s, 1:30 or 2m")
    if not 1 <= total <= 6 * 3600:
        raise UsageError(f"duration {text!r}: give between 1 second and 6 hours")
    return total


def composer_name(text: str) -> str:
    wanted = " ".join(text.strip().lower().split())
    displays = sorted({display for display, _ in COMPOSERS.values()})
    if wanted in COMPOSER_ALIASES:
        return COMPOSER_ALIASES[wanted]
    for display in displays:
        if wanted == display.lower():
            return display
    found = {name for alias, name in COMPOSER_ALIASES.items() if wanted.endswith(" " + alias)}
    if len(found) == 1:
        return found.pop()
    raise UsageError(f"unknown composer {text!r}: choose one of {', '.join(displays)}")


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    text = value.strip().lower()
    if text not in choices:
        raise UsageError(f"unknown {name} {value!r}: choose {', '.join(choices)}")
    return text


def resolve(request: ComposeRequest, usual_ensembles: dict[str, str] | None = None) -> Plan:
    """Check a request and plan what to condition on and what to enforce; ``usual_ensembles``: the ensemble
    of an epoch named without one (default :data:`cadenza.compose.ensembles.EPOCH_ENSEMBLES`)."""
    from cadenza.compose.prompt import read_prompt_full

    check_request(request)
    prompt_report = None
    notes: list[str] = []
    if request.prompt:
        reading = read_prompt_full(request)
        request, notes, prompt_report = reading.request, reading.notes, reading.report()
    labels: dict[str, str] = {}
    implied: set[str] = set()
    if request.composer:
        labels["composer"] = composer_name(request.composer)
    if request.epoch:
        labels["epoch"] = _choice("epoch", request.epoch, LABELS_BY_NAME["epoch"].values)
    elif request.composer and labels["composer"] in COMPOSER_EPOCHS:
        labels["epoch"] = COMPOSER_EPOCHS[labels["composer"]]
        implied.add("epoch")
    form_forces, form_epoch = None, None
    if request.form:
        labels["form"] = _choice("form", request.form, LABELS_BY_NAME["form"].values)
        form_forces, form_epoch = FORM_STYLES.get(labels["form"], (None, None))
        if form_epoch and "epoch" not in labels:
            labels["epoch"] = form_epoch
            implied.add("epoch")
            notes.append(f"form {labels['form']} -> epoch {form_epoch}, as the corpus' works of that form (give "
                         "--epoch to choose)")
    model_choice = (request.ensemble or "").strip().lower() in MODEL_CHOICE
    forces = ensemble(request.ensemble) if request.ensemble and not model_choice else None
    if forces is None and not model_choice:
        usual = EPOCH_ENSEMBLES if usual_ensembles is None else usual_ensembles
        forces = ensemble(form_forces or (usual[labels["epoch"]] if "epoch" in labels else DEFAULT_ENSEMBLE))
        implied.add("ensemble")
        why = (f"form {labels['form']}" if form_forces else f"epoch {labels['epoch']}" if "epoch" in labels
               else "no ensemble asked for")
        notes.append(f"{why} -> {forces.name} (give --ensemble to choose, 'any' for the model's choice)")
    if forces:
        labels["ensemble"] = forces.label
        conditioned = model_label(labels.get("epoch"), forces.label)
        if conditioned != forces.label:
            notes.append(f"{labels['epoch']} {forces.name} -> written as the corpus' {labels['epoch']} {conditioned} "
                         f"music (the model's label {conditioned})")
    key = parse_key(request.key) if request.key else None
    respelled = None
    if key:
        labels["key"], labels["mode"] = key.name, key.mode
        respelled, named = key_spelling(request.key or "", key)  # (the first is logged where composing starts)
        notes.extend([named] if named else [])
    meter = parse_meter(request.meter) if request.meter else None
    if meter is None and labels.get("form") in FORM_METERS:
        meter = parse_meter(FORM_METERS[labels["form"]])
        notes.append(f"form {labels['form']} -> meter {FORM_METERS[labels['form']]} (give --meter to choose)")
    if meter:
        labels["meter"] = f"{meter[0]}/{meter[1]}" if f"{meter[0]}/{meter[1]}" in METERS else "other"
    if request.tempo_bpm is not None:
        if not 20 <= request.tempo_bpm <= 400:
            raise UsageError(f"tempo {request.tempo_bpm} bpm: give 20 to 400")
        labels["tempo_class"] = LABELS_BY_NAME["tempo_class"].bucket(request.tempo_bpm)
    if request.density:
        labels["density"] = _choice("density", request.density, DENSITIES)
    if request.mood and (request.valence is not None or request.arousal is not None):
        raise UsageError("give a mood word or --valence/--arousal, not both")
    if request.mood:
        labels["mood"] = _choice("mood", request.mood, MOODS)
    elif request.valence is not None or request.arousal is not None:
        if request.valence is None or request.arousal is None:
            raise UsageError("--valence and --arousal go together")
        if not (-1 <= request.valence <= 1 and -1 <= request.arousal <= 1):
            raise UsageError("valence and arousal run from -1 to 1")
        labels["mood"] = mood_quadrant(request.valence, request.arousal)
    if not 0 < request.temperature <= 3:
        raise UsageError("temperature must be above 0 and at most 3")
    if not 0 < request.top_p <= 1:
        raise UsageError("top-p must be above 0 and at most 1")
    if not 0 <= request.guidance <= 10:
        raise UsageError("guidance: give 0 to 10 (1 = off)")
    if request.max_shared_notes is not None and not 6 <= request.max_shared_notes <= 10_000:
        raise UsageError("max shared notes: give 6 or more (runs shorter than 6 notes are not looked for)")
    if not 1 <= request.candidates <= 32:
        raise UsageError("candidates: give 1 to 32")
    if not 0 <= request.seed < 2**63:
        raise UsageError("seed: give 0 or a positive whole number below 2**63")
    if request.duration_s is not None and not request.duration_s > 0:
        raise UsageError("duration: give a positive length")
    bars = plan_bars(request, meter)
    if "mood" in labels and "density" not in labels and labels["mood"] in MOOD_DENSITY:
        labels["density"] = MOOD_DENSITY[labels["mood"]]
        implied.add("density")
        notes.append(f"mood {labels['mood']} -> density {labels['density']} (give --density to choose)")
    if "mood" in labels and (key is None or request.tempo_bpm is None):
        key, tempo = _mood_frame(request, labels["mood"], key, notes, implied)
        labels["key"], labels["mode"] = key.name, key.mode
        request = replace(request, tempo_bpm=tempo)
        labels["tempo_class"] = LABELS_BY_NAME["tempo_class"].bucket(tempo)
    if request.tempo_bpm is None and "mood" not in labels and labels.get("form") in FORM_TEMPI:
        danced = FORM_TEMPI[labels["form"]]
        request = replace(request, tempo_bpm=danced)
        labels["tempo_class"] = LABELS_BY_NAME["tempo_class"].bucket(danced)
        implied.add("tempo_bpm")
        notes.append(f"form {labels['form']} -> {danced:.0f} bpm (give --tempo to choose)")
    tempo_bpm = request.tempo_bpm if request.tempo_bpm is not None else 100.0 if request.duration_s else None
    if request.duration_s and meter is None:  # the bar count was planned in 4/4
        meter = (4, 4)
        labels.setdefault("meter", "4/4")
    point = None
    if request.valence is not None and request.arousal is not None:
        point = (request.valence, request.arousal)
    elif "mood" in labels:
        point = MOOD_CENTRES[labels["mood"]]
    return Plan(labels, forces, meter, key, tempo_bpm, bars, notes, frozenset(implied), prompt_report,
                valence_arousal=point, respelled=respelled)


def _mood_frame(request: ComposeRequest, mood: str, key: Key | None, notes: list[str],
                implied: set[str]) -> tuple[Key, float]:
    """The key and tempo a mood implies where the request leaves them open: the mode from valence (major
    when positive), the tempo from arousal (100 bpm × e^(0.55 arousal): 58 to 173), a common tonic picked by
    the seed. These are what listeners hear mood in most (see :mod:`cadenza.listen.mood`)."""
    valence, arousal = MOOD_CENTRES[mood]
    if request.valence is not None and request.arousal is not None:
        valence, arousal = request.valence, request.arousal
    if key is None:
        mode = "major" if valence >= 0 else "minor"
        tonics = COMMON_TONICS[mode]
        key = parse_key(f"{tonics[request.seed % len(tonics)]} {mode}")
        implied.add("key")
        notes.append(f"mood {mood} -> {key.name} (give --key to choose)")
    tempo = request.tempo_bpm
    if tempo is None:
        tempo = round(100.0 * math.exp(0.55 * arousal))
        implied.add("tempo_bpm")
        notes.append(f"mood {mood} -> {tempo:.0f} bpm (give --tempo to choose)")
    return key, float(tempo)


def plan_bars(request: ComposeRequest, meter: tuple[int, int] | None) -> int:
    if request.bars is not None and request.duration_s is not None:
        raise UsageError("give --bars or --duration, not both")
    if request.bars is not None:
        if not 1 <= request.bars <= MAX_BARS:
            raise UsageError(f"bars: give 1 to {MAX_BARS}")
        return request.bars
    if request.duration_s is not None:
        quarters_per_bar = 4.0 if meter is None else meter[0] * 4 / meter[1]
        bpm = request.tempo_bpm or 100.0
        bars = math.ceil(request.duration_s * bpm / 60 / quarters_per_bar)
        if bars > MAX_BARS:
            raise UsageError(f"{request.duration_s:.0f} s is more than {MAX_BARS} bars: make a soundtrack instead")
        return max(bars, 1)
    return DEFAULT_BARS
