"""A short text request ("a tender waltz for strings in D minor") read into request fields.

Two stages. Explicit words first: keys, meters, tempo words and bpm, instruments, moods, epochs, composers,
forms, bar counts and durations. Then, for the fields still empty (mood, tempo, density, ensemble, epoch,
form), the words left over are matched by sentence embeddings against short descriptions of each value
(:mod:`cadenza.compose.prompt_embed`, the optional ``text`` extra; skipped, and said so, without it).
Explicit words always win over embeddings, and whatever the user also set as an option wins over both.

Every reading is recorded, as a line ("'tender' -> mood=calm", "'lullaby' ~ 'a slow lullaby' (similarity
0.83) -> tempo_bpm=68.0") and, in :meth:`PromptReading.report`, as a record per field: its value and
where it came from (the explicit word, or the phrase, the description it matched and the similarity).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import Any

from cadenza.compose import prompt_embed
from cadenza.compose.ask import COMPOSER_ALIASES, FORM_METERS, TEMPO_WORDS, ComposeRequest
from cadenza.compose.prompt_embed import Match, Stage
from cadenza.errors import UsageError

log = logging.getLogger(__name__)

#: the longest prompt read: its embedding stage takes time in proportion (10,000 characters of text without
#: known words: ~7 s; 100,000: a minute); a prompt is a few words (the server allows 2,000 characters)
MAX_PROMPT_CHARS = 10_000

_MOOD_WORDS = {  # (an audit's prompts "a heroic march", "a mysterious nocturne" were read by no word)
    "joyful": ("joyful", "happy", "cheerful", "bright", "playful", "triumphant", "festive", "upbeat", "merry",
               "heroic", "jubilant", "exuberant", "energetic"),
    "tense": ("tense", "dark", "angry", "anxious", "menacing", "scary", "dramatic", "stormy", "agitated", "fierce",
              "mysterious", "eerie", "ominous", "suspenseful", "sinister"),
    "sad": ("sad", "melancholic", "melancholy", "sorrowful", "mournful", "grieving", "gloomy", "lament", "tragic",
            "wistful", "nostalgic", "longing"),
    "calm": ("calm", "peaceful", "serene", "gentle", "tender", "relaxed", "soothing", "quiet", "dreamy", "lullaby",
             "nocturne", "pastoral", "tranquil"),
}
_ENSEMBLE_WORDS = {  # the first table entry with a word in the prompt wins ("voice and piano" is a song)
    "song": ("art song", "lied", "lieder", "voice and piano", "singer and piano", "mélodie"),
    "voices": ("three voices", "two voices", "vocal trio", "cantus", "chanson"),
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
_SPEED_WORDS = {"slow": 66.0, "slowly": 66.0, "fast": 150.0, "quick": 150.0, "lively": 132.0, "brisk": 140.0}
_DENSITY_WORDS = {"sparse": "low", "simple": "low", "dense": "high", "busy": "high", "virtuosic": "high"}
#: what looks like a key though no key was read from it ("in Q major", "in Hb minor": German B-flat is B, but
#: the English B is meant as often): said, never guessed; words that often stand there are no tonic
_KEY_LIKE = re.compile(r"(?:\bin|\bkey\s+of)\s+([^\W\d_][\w#♯♭]{0,2}(?:[\s-](?:flat|sharp))?)[\s-]*(major|minor)\b"
                       r"(?!\s+(?:key|third|sixth|seventh|chord))", re.IGNORECASE)
_NO_TONIC = ("the", "its", "his", "her", "our", "my", "any", "one", "all", "no")
KNOWN_TONICS = "A to G, with # or b as in F# or Bb; H alone is read as the German B"
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8, "ten": 10,
                 "twelve": 12, "sixteen": 16, "twenty": 20, "thirty": 30, "sixty": 60, "ninety": 90}


_NEGATED = re.compile(r"\b(?:not|no|never|without|nothing|hardly|isn't|aren't|don't|less)\s+(?:[\w'-]+\s+){0,2}$")


def _has(text: str, phrase: str) -> bool:
    """Whether the phrase is in the text as words of their own, and not negated ("not too fast")."""
    return any(not _NEGATED.search(text[: m.start()])
               for m in re.finditer(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text))


@dataclass(frozen=True)
class WordReading:
    """A field read from an explicit word (``source`` "word"), or implied by another reading ("form": a
    waltz is in 3/4)."""

    field: str
    value: Any
    word: str
    source: str = "word"
    why: str = ""  # how the word was read, when not plainly (a German H read as B)

    def as_dict(self) -> dict[str, Any]:
        why = {"why": self.why} if self.why else {}
        if self.source == "word":
            return {"value": self.value, "source": "word", "word": self.word, **why}
        return {"value": self.value, "source": self.source, "implied_by": self.word, **why}

    def note(self) -> str:
        return f"{self.word!r} -> {self.field}={self.value}" + (f" ({self.why})" if self.why else "")


Reading = WordReading | Match


@dataclass
class PromptReading:
    """A request with its prompt read in, and how: the readings applied, those the options overrode, and
    what the embedding stage did."""

    request: ComposeRequest
    fields: dict[str, Reading] = field(default_factory=dict)
    overridden: dict[str, Reading] = field(default_factory=dict)
    embedding: Stage = field(default_factory=lambda: Stage("not needed", "no prompt"))
    notes: list[str] = field(default_factory=list)
    not_read: list[str] = field(default_factory=list)  # what looked like a field's words but was not understood

    def report(self) -> dict[str, Any]:
        """For the compose report: each field's value and source, what was not understood, and the embedding
        stage."""
        out: dict[str, Any] = {"text": self.request.prompt, "fields": {n: r.as_dict() for n, r in self.fields.items()}}
        if self.overridden:
            out["overridden_by_options"] = {n: r.as_dict() for n, r in self.overridden.items()}
        if self.not_read:
            out["not_read"] = list(self.not_read)
        out["embedding"] = self.embedding.as_dict()
        return out


def _readings(prompt: str) -> list[WordReading]:
    """Request fields found in the prompt's explicit words, in the order read (the first reading of a field
    wins)."""
    text = " ".join(prompt.lower().split())
    found: dict[str, WordReading] = {}

    def take(name: str, value: Any, word: str, source: str = "word", why: str = "") -> None:
        if name not in found:
            found[name] = WordReading(name, value, word, source, why)

    raw = " ".join(prompt.split())
    # a tonic: a capital letter, or a small one after "in" / "key of" ("a minor key" is no key); H is German
    # for B ("a sad piece in H minor" had been read with no key at all)
    key = re.search(r"(?:(?<![\w.])([A-H])|(?<=\bin )([a-h])|(?<=\bkey of )([a-h]))"
                    r"(#|♯|b|♭|[\s-]flat|[\s-]sharp)?[\s-]*(major|minor)\b(?!\s+(?:key|third|sixth|seventh|chord))",
                    raw)
    if key:
        letter = (key[1] or key[2] or key[3]).upper()
        accidental = (key[4] or "").strip(" -")
        accidental = {"flat": "b", "♭": "b", "sharp": "#", "♯": "#"}.get(accidental, accidental)
        german = letter == "H" and not accidental
        if letter != "H" or german:  # (an H with an accidental is no German name either: no key read)
            take("key", f"{'B' if german else letter}{accidental} {key[5]}", key[0],
                 why="H: the German name of B" if german else "")
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
    if "form" in found and found["form"].value in FORM_METERS:
        take("meter", FORM_METERS[found["form"].value], found["form"].value, source="form")
    for word, value in _DENSITY_WORDS.items():
        if _has(text, word):
            take("density", value, word)
    for alias in sorted(COMPOSER_ALIASES, key=len, reverse=True):  # "clara schumann" before "schumann"
        if _has(text, alias):
            take("composer", COMPOSER_ALIASES[alias], alias)
    return list(found.values())


def unknown_key(prompt: str) -> str | None:
    """A line saying what in the prompt looks like a key with a tonic no one reads ("in Q major", "in Hb
    minor"), None if nothing does; for a prompt whose words gave no key."""
    for match in _KEY_LIKE.finditer(" ".join(prompt.split())):
        tonic = match[1]
        if tonic.lower() not in _NO_TONIC:
            return (f"{match.string[match.start(1):match.end()]!r}: no key read: {tonic!r} is no tonic known "
                    f"(give {KNOWN_TONICS})")
    return None


def read_words(prompt: str) -> tuple[dict[str, Any], list[str]]:
    """Request fields found in the prompt's explicit words, and how each was read."""
    readings = _readings(prompt)
    return {r.field: r.value for r in readings}, [r.note() for r in readings]


def leftover(prompt: str, words: list[str]) -> str:
    """The prompt without the explicit words that were read (each replaced by a comma, so the phrases
    around it stay apart)."""
    text = " ".join(prompt.lower().split())
    for word in sorted({w.lower() for w in words}, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w-])", ",", text)
    return text


def read_prompt_full(request: ComposeRequest) -> PromptReading:
    """The request with the prompt's words (then its embeddings) filled in where the user gave no option."""
    prompt = request.prompt or ""
    if len(prompt) > MAX_PROMPT_CHARS:
        raise UsageError(f"prompt: give at most {MAX_PROMPT_CHARS:,} characters (a few words are enough), "
                         f"not {len(prompt):,}")
    readings = _readings(prompt)
    found = {r.field: r for r in readings}
    fill: dict[str, Reading] = {name: r for name, r in found.items() if getattr(request, name) is None}
    if request.bars is not None or request.duration_s is not None:  # a length option beats the words
        fill.pop("bars", None)
        fill.pop("duration_s", None)
    if "mood" in fill and (request.valence is not None or request.arousal is not None):
        del fill["mood"]
    overridden: dict[str, Reading] = {name: r for name, r in found.items() if name not in fill}
    open_fields = {name for name in prompt_embed.TARGET_FIELD.values()
                   if name not in found and getattr(request, name) is None}
    if request.valence is not None or request.arousal is not None:
        open_fields.discard("mood")
    if prompt.strip():
        matches, stage = prompt_embed.match(leftover(prompt, [r.word for r in readings if r.source == "word"]),
                                            open_fields)
    else:
        matches, stage = [], Stage("not needed", "no prompt")
    for m in matches:
        fill[m.field] = m
        if m.field == "form" and m.value in FORM_METERS and "meter" not in found and request.meter is None:
            fill["meter"] = WordReading("meter", FORM_METERS[m.value], m.value, source="form")
    notes = [r.note() for r in fill.values()]
    unread = unknown_key(prompt) if "key" not in found and request.key is None else None
    if unread:  # (a key in words no one reads was dropped without a word: "in Hb minor")
        log.warning("prompt: %s", unread)
        notes.append(unread)
    if not found and not matches:
        notes.append("no known words in the prompt; composing from the other options")
    if stage.status == "skipped":
        notes.append(f"embedding stage skipped: {stage.reason}")
    values = {name: r.value for name, r in fill.items()}
    return PromptReading(replace(request, **values), fill, overridden, stage, notes, [unread] if unread else [])


def read_prompt(request: ComposeRequest) -> tuple[ComposeRequest, list[str]]:
    """The request with the prompt's words filled in where the user gave no option, and how each was read
    (see :func:`read_prompt_full` for the structured record)."""
    reading = read_prompt_full(request)
    return reading.request, reading.notes
