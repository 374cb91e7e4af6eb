"""A short text request ("a tender waltz for strings in D minor") read into request fields.

Explicit words first: keys, meters, tempo words and bpm, instruments, moods, epochs, composers, forms,
bar counts and durations. Whatever the user also set as an option wins over the words. Every reading is
recorded ("'tender' -> mood=calm") so the report shows how the prompt became labels.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from cadenza.compose.request import COMPOSER_ALIASES, TEMPO_WORDS, ComposeRequest

_MOOD_WORDS = {
    "joyful": ("joyful", "happy", "cheerful", "bright", "playful", "triumphant", "festive", "upbeat", "merry"),
    "tense": ("tense", "dark", "angry", "anxious", "menacing", "scary", "dramatic", "stormy", "agitated", "fierce"),
    "sad": ("sad", "melancholic", "melancholy", "sorrowful", "mournful", "grieving", "gloomy", "lament", "tragic"),
    "calm": ("calm", "peaceful", "serene", "gentle", "tender", "relaxed", "soothing", "quiet", "dreamy", "lullaby"),
}
_ENSEMBLE_WORDS = {
    "string-quartet": ("string quartet", "strings", "quartet"),
    "satb": ("choir", "chorus", "satb", "voices", "vocal"),
    "piano": ("piano", "keyboard"),
    "orchestra": ("orchestra", "orchestral", "symphonic"),
    "lead-sheet": ("lead sheet", "lead-sheet", "melody and chords"),
    "band": ("band", "rock", "pop band", "drums"),
}
_EPOCH_WORDS = {"medieval": ("medieval",), "renaissance": ("renaissance",), "baroque": ("baroque",),
                "classical": ("classical", "classic era"), "romantic": ("romantic",), "modern": ("modern",),
                "folk": ("folk", "traditional"), "popular": ("pop", "popular", "ragtime")}
_FORM_WORDS = {"chorale": ("chorale",), "hymn": ("hymn",), "reel": ("reel",), "jig": ("jig", "gigue"),
               "hornpipe": ("hornpipe",), "waltz": ("waltz",), "march": ("march",), "polka": ("polka",),
               "dance": ("dance", "minuet"), "madrigal": ("madrigal",), "motet": ("motet",), "song": ("song",),
               "game-music": ("game", "video game")}
_FORM_METER = {"waltz": "3/4", "jig": "6/8", "march": "2/4", "polka": "2/4", "reel": "4/4", "hornpipe": "4/4"}
_SPEED_WORDS = {"slow": 66.0, "slowly": 66.0, "fast": 150.0, "quick": 150.0, "lively": 132.0, "brisk": 140.0}
_DENSITY_WORDS = {"sparse": "low", "simple": "low", "dense": "high", "busy": "high", "virtuosic": "high"}
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8, "ten": 10,
                 "twelve": 12, "sixteen": 16, "twenty": 20, "thirty": 30, "sixty": 60, "ninety": 90}


def _has(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text) is not None


def read_words(prompt: str) -> tuple[dict[str, Any], list[str]]:
    """Request fields found in the prompt's explicit words, and how each was read."""
    text = " ".join(prompt.lower().split())
    found: dict[str, Any] = {}
    notes: list[str] = []

    def take(name: str, value: Any, word: str) -> None:
        if name not in found:
            found[name] = value
            notes.append(f"{word!r} -> {name}={value}")

    raw = " ".join(prompt.split())
    # a tonic: a capital letter, or a small one after "in" / "key of" ("a minor key" is no key)
    key = re.search(r"(?:(?<![\w.])([A-G])|(?<=\bin )([a-g])|(?<=\bkey of )([a-g]))"
                    r"(#|♯|b|♭|[\s-]flat|[\s-]sharp)?[\s-]*(major|minor)\b(?!\s+(?:key|third|sixth|seventh|chord))",
                    raw)
    if key:
        letter = (key[1] or key[2] or key[3]).upper()
        accidental = (key[4] or "").strip(" -")
        accidental = {"flat": "b", "♭": "b", "sharp": "#", "♯": "#"}.get(accidental, accidental)
        take("key", f"{letter}{accidental} {key[5]}", key[0])
    meter = re.search(r"(?<![\w./-])(\d{1,2}/\d{1,2})(?![\w/])", text)
    if meter:
        take("meter", meter[1], meter[0])
    bpm = re.search(r"(?<![\w./-])(\d{2,3})\s*bpm\b", text)
    if bpm:
        take("tempo_bpm", float(bpm[1]), bpm[0])
    count = r"(?<![\w./-])(\d{1,4}|" + "|".join(_NUMBER_WORDS) + r")"
    bars = re.search(count + r"[\s-]+bars?\b(?![\s-]+phrases?)", text)
    if bars:
        take("bars", int(bars[1]) if bars[1].isdigit() else _NUMBER_WORDS[bars[1]], bars[0])
    duration = re.search(r"(?<![\w./-])(\d{1,4}(?:\.\d+)?|" + "|".join(_NUMBER_WORDS) + r")[\s-]*"
                         r"(seconds?|secs?|s|minutes?|mins?)\b", text)
    if duration and "bars" not in found:
        amount = float(duration[1]) if duration[1][0].isdigit() else _NUMBER_WORDS[duration[1]]
        take("duration_s", float(amount * (60 if duration[2].startswith("m") else 1)), duration[0])
    for word, bpm_value in {**TEMPO_WORDS, **_SPEED_WORDS}.items():
        if _has(text, word):
            take("tempo_bpm", float(bpm_value), word)
    for table, name in ((_MOOD_WORDS, "mood"), (_ENSEMBLE_WORDS, "ensemble"), (_EPOCH_WORDS, "epoch"),
                        (_FORM_WORDS, "form")):
        for value, words in table.items():
            for word in words:
                if _has(text, word):
                    take(name, value, word)
    if "form" in found and found["form"] in _FORM_METER:
        take("meter", _FORM_METER[found["form"]], found["form"])
    for word, value in _DENSITY_WORDS.items():
        if _has(text, word):
            take("density", value, word)
    for alias in sorted(COMPOSER_ALIASES, key=len, reverse=True):  # "clara schumann" before "schumann"
        if _has(text, alias):
            take("composer", COMPOSER_ALIASES[alias], alias)
    return found, notes


def read_prompt(request: ComposeRequest) -> tuple[ComposeRequest, list[str]]:
    """The request with the prompt's words filled in where the user gave no option."""
    found, notes = read_words(request.prompt or "")
    fill = {name: value for name, value in found.items() if getattr(request, name) is None}
    if request.bars is not None or request.duration_s is not None:  # a length option beats the words
        fill.pop("bars", None)
        fill.pop("duration_s", None)
    if "mood" in fill and (request.valence is not None or request.arousal is not None):
        del fill["mood"]
    kept = [n for n in notes if n.split(" -> ")[1].split("=")[0] in fill]
    if not found:
        kept.append("no known words in the prompt; composing from the other options")
    return replace(request, **fill), kept
