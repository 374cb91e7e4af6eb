"""Personal soundtracks: a life story and a listener profile become a suite, one movement per event.

A **story** (TOML, or JSON with the same fields)::

    title = "Lisbon years"
    # optional, for the whole suite: ensemble, meter ("3/4"), seed
    [[events]]
    date = "2015-09"          # YYYY, YYYY-MM or YYYY-MM-DD (a TOML date or a bare year number work too)
    title = "Moving to Lisbon"
    text = "We moved to Lisbon and everything felt new"   # a sentence, read like a prompt
    theme = "home"            # optional: events naming the same theme share its leitmotif
    duration = 60             # optional: seconds, "90s", "1:30", "2m" or "16bars" (default 60 s)

    [[events]]
    date = 2019
    title = "Anna is born"
    mood = "joyful"           # joyful, tense, sad, calm, or a word for one ("happy", "tender", …)
    theme = "Anna"            # or valence = 0.6 and arousal = 0.4 (each -1..1) instead of a mood

Each event needs a date, a title and a mood (a word, or valence and arousal) or a text; with both, the
mood wins and the text still gives what else it says (a tempo word, an epoch, a key). Events are sorted by
date (in file order among equal dates), and each becomes one movement. When no event names a theme, the
first and the last share the theme "life", so the suite is framed by one theme.

A text is read as ``compose --prompt`` reads one: explicit words first (moods, tempo words, epochs, keys,
composers), then, with the ``text`` extra, sentence embeddings for the mood, tempo and density the words
leave open. A sentence that gives no mood is played calm, and its reading says so.

A **profile** (TOML or JSON)::

    name = "Ana"              # optional
    [likes]                   # each list in order of preference; a single string is a list of one
    ensembles = ["string-quartet", "piano"]
    epochs = ["romantic"]
    composers = ["Chopin"]
    tempo = [70, 120]         # a bpm range, or "slow" (40-76), "medium" (76-120), "fast" (120-200)
    [dislikes]
    ensembles = ["band"]
    epochs = ["modern"]
    composers = ["Schoenberg"]
    tempo = "fast"            # cuts that end off the liked range

How a profile is applied: the suite's ensemble is the first liked one that is not disliked (else the story's,
else the liked epoch's usual ensemble — a piano where that is a song —, else piano; never a disliked one unless
``--ensemble`` names it); the epoch is the first liked one that is not disliked, for every event whose words
name none (an event's disliked epoch is dropped); the composer is the first liked one that is not disliked (nor
of a disliked epoch), as a label; each movement's tempo is kept inside the liked range: a mood or word whose
tempo falls outside it is played at the nearest bound. :func:`story_timeline` gives the timeline and a record of
every choice and of how each event was read.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cadenza.compose import ComposeRequest
from cadenza.compose.ensembles import ENSEMBLES, SOUNDTRACK_ENSEMBLES, ensemble
from cadenza.compose.prompt import read_prompt_full, read_words
from cadenza.compose.request import (
    COMPOSER_EPOCHS,
    DEFAULT_ENSEMBLE,
    MODEL_CHOICE,
    MOODS,
    composer_name,
    parse_meter,
    resolve,
)
from cadenza.errors import InputError, OutputError, UsageError
from cadenza.listen.labels import LABELS_BY_NAME
from cadenza.soundtrack.timeline import Segment, Timeline, _length, read_document

MAX_EVENTS = 500
DEFAULT_EVENT_S = 60.0
FRAME_THEME = "life"  # the theme that opens and closes a story whose events name none
STORY_FIELDS = ("title", "events", "ensemble", "meter", "seed")
EVENT_FIELDS = ("date", "title", "text", "mood", "valence", "arousal", "duration", "theme")
PROFILE_FIELDS = ("name", "likes", "dislikes")
PREFERENCE_FIELDS = ("ensembles", "epochs", "composers", "tempo")
#: what a tempo word in a profile means, in bpm (the tempo classes: up to adagio, andante to moderato, allegro on);
#: a disliked "slow" or "fast" is open-ended (everything below 76, everything from 120)
TEMPO_RANGES = {"slow": (40.0, 76.0), "medium": (76.0, 120.0), "fast": (120.0, 200.0)}
ANY_TEMPO = (20.0, 400.0)  # what a request accepts
EPOCHS = tuple(LABELS_BY_NAME["epoch"].values)


# -- the files ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    date: str  # as normalised: "2015", "2015-09" or "2015-09-01"
    title: str
    text: str | None = None
    mood: str | None = None
    valence: float | None = None
    arousal: float | None = None
    duration_s: float | None = None  # None with bars, or when the event gives no length (the default then)
    bars: int | None = None
    theme: str | None = None

    @property
    def sort_key(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.date.split("-"))


@dataclass(frozen=True)
class Story:
    title: str
    events: tuple[Event, ...]  # in date order
    ensemble: str | None = None
    meter: str | None = None
    seed: int = 0
    source: str = ""


@dataclass(frozen=True)
class Preferences:
    ensembles: tuple[str, ...] = ()
    epochs: tuple[str, ...] = ()
    composers: tuple[str, ...] = ()
    tempo: tuple[float, float] | None = None  # a bpm range


@dataclass(frozen=True)
class Profile:
    name: str = ""
    likes: Preferences = field(default_factory=Preferences)
    dislikes: Preferences = field(default_factory=Preferences)
    source: str = ""

    @property
    def tempo_range(self) -> tuple[float, float] | None:
        """The liked tempo range with the disliked end cut off (None: any tempo)."""
        low, high = self.likes.tempo or ANY_TEMPO
        if self.dislikes.tempo is not None:
            bad_low, bad_high = self.dislikes.tempo
            if bad_low <= low and bad_high >= high:
                raise InputError(f"profile {self.source or ''}: the disliked tempo covers the whole liked range")
            if bad_low <= low < bad_high:
                low = bad_high
            elif bad_low < high <= bad_high:
                high = bad_low
            elif low < bad_low and bad_high < high:
                raise InputError(f"profile {self.source or ''}: a disliked tempo inside the liked range leaves two "
                                 "ranges; give likes.tempo as one range instead")
            if low >= high:
                raise InputError(f"profile {self.source or ''}: the disliked tempo leaves no liked tempo")
        if self.likes.tempo is None and self.dislikes.tempo is None:
            return None
        return low, high


def _unknown(raw: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise InputError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(known)})")


def _text(value: Any, where: str, limit: int = 1000) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: give some text")
    if len(value) > limit:
        raise InputError(f"{where}: longer than {limit} characters")
    return " ".join(value.split())


def parse_date(value: Any, where: str) -> str:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (a string, a year number or a TOML date), normalised."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    match = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", value.strip()) if isinstance(value, str) else None
    if not match:
        raise InputError(f"{where}: date {value!r} is not like 2015, 2015-09 or 2015-09-21")
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        dt.date(year, month or 1, day or 1)
    except ValueError:
        raise InputError(f"{where}: {value!r} is no date") from None
    return f"{year:04d}" + (f"-{month:02d}" if month else "") + (f"-{day:02d}" if day else "")


def _unit(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not -1 <= value <= 1:
        raise InputError(f"{where}: {name} must be a number from -1 to 1")
    return float(value)


def mood_word(text: str, where: str) -> str:
    """One of the four moods from a mood word or a word for one ("happy" -> joyful)."""
    word = text.strip().lower()
    if word in MOODS:
        return word
    mood = read_words(word)[0].get("mood")
    if mood is None:
        raise InputError(f"{where}: unknown mood {text!r}: use {', '.join(MOODS)} (or valence and arousal)")
    return str(mood)


def _event(raw: Any, i: int) -> Event:
    where = f"event {i + 1}"
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a table of fields")
    _unknown(raw, EVENT_FIELDS, where)
    if "date" not in raw:
        raise InputError(f"{where}: give a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    date = parse_date(raw["date"], where)
    where = f"event {i + 1} ({date})"
    if "title" not in raw:
        raise InputError(f"{where}: give a title")
    values: dict[str, Any] = {"date": date, "title": _text(raw["title"], f"{where} title", 200)}
    if "text" in raw:
        values["text"] = _text(raw["text"], f"{where} text")
    mood = raw.get("mood")
    if isinstance(mood, list | tuple):  # mood = [valence, arousal]
        if len(mood) != 2:
            raise InputError(f"{where}: a mood as numbers is [valence, arousal]")
        raw = {**raw, "valence": mood[0], "arousal": mood[1]}
        mood = None
    if mood is not None:
        if not isinstance(mood, str):
            raise InputError(f"{where}: mood is a word ({', '.join(MOODS)}) or [valence, arousal]")
        if "valence" in raw or "arousal" in raw:
            raise InputError(f"{where}: give a mood word or valence and arousal, not both")
        values["mood"] = mood_word(mood, where)
    if ("valence" in raw) != ("arousal" in raw):
        raise InputError(f"{where}: valence and arousal go together")
    if "valence" in raw:
        values["valence"] = _unit(raw["valence"], "valence", where)
        values["arousal"] = _unit(raw["arousal"], "arousal", where)
    if not any(k in values for k in ("mood", "valence", "text")):
        raise InputError(f"{where}: give a mood (a word, or valence and arousal) or a text")
    if "duration" in raw:
        duration = raw["duration"]
        try:
            length = (_length(duration, where) if isinstance(duration, str)
                      else {"duration_s": float(duration)} if isinstance(duration, int | float)
                      and not isinstance(duration, bool) else None)
        except UsageError as exc:
            raise InputError(str(exc)) from None
        if length is None:
            raise InputError(f"{where}: duration is seconds, or like 90s, 1:30, 2m or 16bars")
        values.update(length)
    if "theme" in raw:
        values["theme"] = _text(raw["theme"], f"{where} theme", 60)
    event = Event(**values)
    try:  # the same checks a timeline's segment has
        Segment(duration_s=event.duration_s if event.bars is not None or event.duration_s is not None
                else DEFAULT_EVENT_S, bars=event.bars, name=event.title)
    except UsageError as exc:
        raise InputError(f"{where}: {exc}") from None
    return event


def load_story(source: str | Path | dict[str, Any]) -> Story:
    """A story from a TOML or JSON file (or a dict of its fields); see the module docstring."""
    doc, name = read_document(source, "story")
    _unknown(doc, STORY_FIELDS, f"the story {name}")
    raw_events = doc.get("events")
    if not isinstance(raw_events, list) or not raw_events:
        raise InputError(f"the story {name} has no events: give [[events]] with a date, a title and a mood or text")
    if len(raw_events) > MAX_EVENTS:
        raise InputError(f"the story {name} has more than {MAX_EVENTS} events")
    try:
        events = sorted((_event(raw, i) for i, raw in enumerate(raw_events)), key=lambda e: e.sort_key)
        title = _text(doc["title"], "story title", 200) if "title" in doc else Path(name).stem
        seed = doc.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise InputError("seed: give 0 or a positive whole number")
        suite = {k: _text(doc[k], k, 40) for k in ("ensemble", "meter") if k in doc}
        if "ensemble" in suite and suite["ensemble"].lower() not in MODEL_CHOICE:
            suite["ensemble"] = ensemble(suite["ensemble"]).name
        if "meter" in suite:
            parse_meter(suite["meter"])
    except (InputError, UsageError) as exc:
        raise InputError(f"the story {name}: {exc}") from None
    return Story(title, tuple(events), suite.get("ensemble"), suite.get("meter"), seed, name)


def _names(value: Any, where: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
        raise InputError(f"{where}: give a list of names")
    return [v.strip() for v in items]


def _tempo(value: Any, where: str, open_ended: bool = False) -> tuple[float, float]:
    words = [value] if isinstance(value, str) else value
    if isinstance(words, list) and words and all(isinstance(w, str) for w in words):
        unknown = [w for w in words if w.strip().lower() not in TEMPO_RANGES]
        if unknown:
            raise InputError(f"{where}: unknown tempo {unknown[0]!r}: use {', '.join(TEMPO_RANGES)} or [low, high] bpm")
        ranges = sorted(TEMPO_RANGES[w.strip().lower()] for w in words)
        if any(a[1] < b[0] for a, b in itertools.pairwise(ranges)):
            raise InputError(f"{where}: tempo words that are not neighbours ({', '.join(words)}) are no one range")
        low, high = ranges[0][0], max(r[1] for r in ranges)
        if open_ended:
            low = ANY_TEMPO[0] if low == TEMPO_RANGES["slow"][0] else low
            high = ANY_TEMPO[1] if high == TEMPO_RANGES["fast"][1] else high
        return low, high
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        low, high = float(value[0]), float(value[1])
        if not 20 <= low <= high <= 400:
            raise InputError(f"{where}: a bpm range [low, high] within 20 to 400")
        return low, high
    raise InputError(f"{where}: tempo is {', '.join(TEMPO_RANGES)} or a bpm range like [70, 120]")


def _preferences(raw: Any, where: str, open_ended: bool = False) -> Preferences:
    if raw is None:
        return Preferences()
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a table with {', '.join(PREFERENCE_FIELDS)}")
    _unknown(raw, PREFERENCE_FIELDS, where)
    try:
        ensembles = tuple(ensemble(n).name for n in _names(raw.get("ensembles", []), f"{where}.ensembles"))
        composers = tuple(composer_name(n) for n in _names(raw.get("composers", []), f"{where}.composers"))
    except UsageError as exc:
        raise InputError(f"{where}: {exc}") from None
    epochs = tuple(n.lower() for n in _names(raw.get("epochs", []), f"{where}.epochs"))
    unknown = [e for e in epochs if e not in EPOCHS]
    if unknown:
        raise InputError(f"{where}: unknown epoch {unknown[0]!r}: choose {', '.join(EPOCHS)}")
    tempo = _tempo(raw["tempo"], f"{where}.tempo", open_ended) if "tempo" in raw else None
    return Preferences(ensembles, epochs, composers, tempo)


def load_profile(source: str | Path | dict[str, Any]) -> Profile:
    """A listener profile from a TOML or JSON file (or a dict of its fields); see the module docstring."""
    doc, name = read_document(source, "profile")
    _unknown(doc, PROFILE_FIELDS, f"the profile {name}")
    label = str(doc.get("name", ""))
    profile = Profile(label, _preferences(doc.get("likes"), f"the profile {name}: likes"),
                      _preferences(doc.get("dislikes"), f"the profile {name}: dislikes", open_ended=True), name)
    _ = profile.tempo_range  # checked now: a dislike that leaves no range is the file's mistake
    return profile


# -- the reading -------------------------------------------------------------------------------------------


@dataclass
class EventReading:
    """How one event became a movement: what it asked for, and why."""

    index: int
    date: str
    title: str
    theme: str | None
    mood_from: str  # "mood", "valence-arousal", "text" or "default"
    asked: dict[str, Any]
    notes: list[str]
    embedding: str | None = None  # the text's embedding stage: used, skipped, not needed

    def as_dict(self) -> dict[str, Any]:
        out = {"index": self.index, "date": self.date, "title": self.title, "theme": self.theme,
               "mood_from": self.mood_from, "asked": self.asked, "reading": self.notes}
        if self.embedding is not None:
            out["embedding"] = self.embedding
        return out


@dataclass
class StoryReading:
    """The story and profile as read, the choices the profile made, and each event's reading."""

    story: Story
    profile: Profile | None
    applied: dict[str, dict[str, Any]]
    events: list[EventReading]
    notes: list[str] = field(default_factory=list)

    def section(self) -> dict[str, Any]:
        """The report's ``story`` section."""
        themes: dict[str, list[int]] = {}
        for e in self.events:
            if e.theme:
                themes.setdefault(e.theme, []).append(e.index)
        return {"title": self.story.title, "source": self.story.source,
                "profile": {"source": self.profile.source if self.profile else None,
                            "name": self.profile.name if self.profile else None, **self.applied},
                "themes": themes, "notes": self.notes, "events": [e.as_dict() for e in self.events]}

    def annotate(self, report: dict[str, Any]) -> dict[str, Any]:
        """The soundtrack report with each cue naming its event and theme, and the ``story`` section."""
        section = self.section()
        for cue, event in zip(report["cues"], section["events"], strict=True):
            cue["event"] = {"date": event["date"], "title": event["title"]}
            cue.setdefault("theme", event["theme"])
            event["movement"] = {k: cue[k] for k in ("start_bar", "bars", "start_s", "end_s", "key", "tempo_bpm")}
            event["heard_mood"] = cue["heard"].get("mood")
        return {**report, "story": section}

    def movement_paths(self, folder: Path) -> list[Path]:
        """Where :meth:`write_movements` writes the movements, one per event: ``folder/movements/NN-slug.mid``
        (known before anything is composed, so that files already there are checked first)."""
        width = max(2, len(str(len(self.events))))
        return [folder / "movements" / f"{n:0{width}d}-{slug(event.title)}.mid"
                for n, event in enumerate(self.events, start=1)]

    def write_movements(self, score: Any, report: dict[str, Any], folder: Path) -> list[str]:
        """Each movement (the soundtrack's bars of one cue) as ``folder/movements/NN-slug.mid``; the paths
        go into the report's cues and story events."""
        from cadenza.score import write_score
        from cadenza.score.model import Metadata
        from cadenza.score.ops import slice_bars

        target = folder / "movements"
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot make the folder {target}: {exc.strerror or exc}") from None
        paths = []
        files = self.movement_paths(folder)
        for n, (cue, event, file) in enumerate(zip(report["cues"], self.events, files, strict=True), start=1):
            part = slice_bars(score, cue["start_bar"] - 1, cue["start_bar"] - 1 + cue["bars"])
            part = part.replace(metadata=Metadata(title=f"{self.story.title}: {n}. {event.title} ({event.date})",
                                                  composer="Cadenza", source="cadenza soundtrack --story"))
            path = str(write_score(part, file))
            cue["movement_file"] = path
            if "story" in report:
                report["story"]["events"][n - 1]["movement"]["file"] = path
            paths.append(path)
        return paths


def slug(text: str) -> str:
    """A file-name-safe form of a title: "Anna's first steps!" -> "anna-s-first-steps"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:40].strip("-") or "movement"


def _first(candidates: tuple[str, ...], disliked: tuple[str, ...]) -> str | None:
    return next((c for c in candidates if c not in disliked), None)


def _choose(story: Story, profile: Profile, override: str | None) -> dict[str, dict[str, Any]]:
    """The suite's ensemble, epoch, composer and tempo range, each with why."""
    likes, dislikes = profile.likes, profile.dislikes
    epoch = _first(likes.epochs, dislikes.epochs)
    if epoch is None:
        epoch_why = "no liked epoch" + (" you do not also dislike" if likes.epochs else "") + \
            ": each event's words choose (else none)"
    else:
        epoch_why = "your first liked epoch" + (" you do not also dislike" if epoch != likes.epochs[0] else "")
    chosen: str | None
    if override and override.strip().lower() in MODEL_CHOICE:
        chosen, why = override, "--ensemble (the model chooses its parts)"
    elif override:
        chosen = ensemble(override).name
        why = "--ensemble" + (" (your profile dislikes it, but it was asked for)" if chosen in dislikes.ensembles
                              else "")
    elif (chosen := _first(likes.ensembles, dislikes.ensembles)) is not None:
        why = "your first liked ensemble" + (" you do not also dislike" if chosen != likes.ensembles[0] else "")
    else:
        story_ensemble = ensemble(story.ensemble).name if story.ensemble else None
        options = [(story_ensemble, "the story's ensemble"),
                   (SOUNDTRACK_ENSEMBLES.get(epoch or ""), f"what {epoch} music is most often for"),
                   (DEFAULT_ENSEMBLE, "the default")] + [(name, "the first ensemble you do not dislike")
                                                         for name in ENSEMBLES]
        found = [(name, reason) for name, reason in options if name and name not in dislikes.ensembles]
        if not found:
            raise InputError(f"the profile {profile.source}: it dislikes every ensemble")
        chosen, why = found[0]
        if likes.ensembles:
            why += " (every liked ensemble is also disliked)"
        elif dislikes.ensembles and options[0][0] != chosen and options[0][0] is not None:
            why += f" (not the story's {options[0][0]}: disliked)"
    composer = next((c for c in likes.composers if c not in dislikes.composers
                     and COMPOSER_EPOCHS.get(c) not in dislikes.epochs), None)
    composer_why = ("your first liked composer you do not dislike (nor their epoch)" if composer
                    else "no liked composer" if not likes.composers else "every liked composer is disliked")
    tempo = profile.tempo_range
    tempo_why = ("any tempo: no tempo liked or disliked" if tempo is None else
                 f"liked {_bpm(likes.tempo)}" if likes.tempo and not profile.dislikes.tempo else
                 f"liked {_bpm(likes.tempo or ANY_TEMPO)} without the disliked {_bpm(dislikes.tempo)}")
    return {"ensemble": {"value": chosen, "why": why},
            "epoch": {"value": epoch, "why": epoch_why},
            "composer": {"value": composer, "why": composer_why, "applied": composer is not None
                         and composer_label_supported()},
            "tempo_range": {"bpm": list(tempo) if tempo else None, "why": tempo_why}}


def _bpm(pair: tuple[float, float] | None) -> str:
    return "any" if pair is None else f"{pair[0]:.0f}-{pair[1]:.0f} bpm"


def composer_label_supported() -> bool:
    """Whether the soundtrack engine passes a segment's composer on to the model (as a label)."""
    from cadenza.soundtrack.engine import segment_request

    try:
        request = segment_request(Segment(bars=2, composer="F. Chopin"), Timeline((Segment(bars=2),)), 0)
    except TypeError:
        return False
    return request.composer is not None


_SUITE_FIELDS = {"ensemble": "ensembles are chosen for the whole suite (the profile's likes)",
                 "meter": "the meter is the whole suite's (the story's meter)",
                 "form": "a form is not kept in a soundtrack movement"}


def _read_event(event: Event, index: int, suite: dict[str, dict[str, Any]], profile: Profile,
                seed: int) -> tuple[Segment, EventReading]:
    """One event as a timeline segment, and how it was read."""
    notes: list[str] = []
    values: dict[str, Any] = {"mood": event.mood, "valence": event.valence, "arousal": event.arousal}
    mood_from = "mood" if event.mood else "valence-arousal" if event.valence is not None else "text"
    embedding = None
    if event.mood:
        notes.append(f"mood {event.mood} (given)")
    elif event.valence is not None:
        notes.append(f"valence {event.valence:+.2f}, arousal {event.arousal:+.2f} (given)")
    if event.text:
        reading = read_prompt_full(ComposeRequest(prompt=event.text, mood=event.mood, valence=event.valence,
                                                  arousal=event.arousal))
        embedding = reading.embedding.status
        got = reading.request
        for name in ("mood", "key", "tempo_bpm", "density", "epoch", "composer"):
            if name in reading.fields:
                values[name] = getattr(got, name)
        notes += [n for n in reading.notes if not n.startswith("no known words")]
        for name in reading.overridden:
            if name == "mood":
                notes.append(f"the text's mood ({reading.overridden[name].value}) gives way to the mood given")
        for name, why in _SUITE_FIELDS.items():
            if name in reading.fields:
                notes.append(f"{name} {reading.fields[name].value} not used: {why}")
        if event.duration_s is None and event.bars is None:
            if "bars" in reading.fields:
                values["bars"] = got.bars
                notes.append(f"length {got.bars} bars, from the text")
            elif "duration_s" in reading.fields:
                values["duration_s"] = got.duration_s
                notes.append(f"length {got.duration_s:.0f} s, from the text")
        if values.get("mood") is None and values.get("valence") is None:
            values["mood"], mood_from = "calm", "default"
            notes.append(f"no mood in {event.text!r}" + (" (explicit words only: the embedding stage is "
                                                         "off)" if embedding == "skipped" else "")
                         + ": calm, the default")
    if "bars" not in values and "duration_s" not in values:
        if event.bars is not None:
            values["bars"] = event.bars
        else:
            values["duration_s"] = event.duration_s or DEFAULT_EVENT_S
    # the profile: epoch, composer, tempo
    liked_epoch = suite["epoch"]["value"]
    epoch = values.get("epoch")
    if epoch is not None and epoch in profile.dislikes.epochs:
        notes.append(f"epoch {epoch} (from the text) dropped: your profile dislikes it")
        epoch = None
    if epoch is None and liked_epoch:
        epoch = liked_epoch
        notes.append(f"epoch {epoch}, from your profile")
    values["epoch"] = epoch
    composer = values.get("composer")
    if composer is not None and composer in profile.dislikes.composers:
        notes.append(f"composer {composer} (from the text) dropped: your profile dislikes them")
        composer = None
    if composer is None and suite["composer"]["value"]:
        composer = suite["composer"]["value"]
    values["composer"] = composer
    try:  # checked here, with the event named, rather than deep in the writing
        fields: dict[str, Any] = {k: values.get(k) for k in ("mood", "valence", "arousal", "key", "tempo_bpm",
                                                              "density", "epoch", "composer")}
        plan = resolve(ComposeRequest(**fields, ensemble=suite["ensemble"]["value"], seed=seed))
    except UsageError as exc:
        raise InputError(f"event {index + 1} ({event.date}, {event.title}): {exc}") from None
    tempo_range = suite["tempo_range"]["bpm"]
    if tempo_range:
        natural = plan.tempo_bpm
        if natural is not None and not tempo_range[0] <= natural <= tempo_range[1]:
            bound = float(min(max(natural, tempo_range[0]), tempo_range[1]))
            source = "asked" if values.get("tempo_bpm") is not None else "the mood's"
            notes.append(f"tempo {natural:.0f} bpm ({source}) -> {bound:.0f} bpm, the nearest in your liked "
                         f"range {_bpm((tempo_range[0], tempo_range[1]))}")
            values["tempo_bpm"] = bound
    segment = Segment(name=event.title, theme=event.theme,
                      **{k: v for k, v in values.items() if v is not None})
    asked = {k: v for k, v in values.items() if v is not None and k not in ("bars", "duration_s")}
    asked["length"] = f"{segment.bars} bars" if segment.bars is not None else f"{segment.duration_s:g} s"
    return segment, EventReading(index, event.date, event.title, event.theme, mood_from, asked, notes, embedding)


def story_timeline(story: Story | str | Path | dict[str, Any], profile: Profile | str | Path | dict[str, Any] |
                   None = None, ensemble: str | None = None) -> tuple[Timeline, StoryReading]:
    """The story as a timeline (one segment per event, in date order, with the profile applied), and the
    record of how each event was read and what the profile chose (``ensemble`` overrides the profile)."""
    story = story if isinstance(story, Story) else load_story(story)
    profile = profile if isinstance(profile, Profile) else load_profile(profile) if profile is not None else None
    applied = _choose(story, profile or Profile(), ensemble)
    notes = []
    events = story.events
    if not any(e.theme for e in events):
        last = len(events) - 1
        events = tuple(replace(e, theme=FRAME_THEME) if i in (0, last) else e for i, e in enumerate(events))
        notes.append(f"no event names a theme: the first and the last share the theme {FRAME_THEME!r}")
    segments, readings = [], []
    for i, event in enumerate(events):
        segment, reading = _read_event(event, i, applied, profile or Profile(), story.seed + 1000 * i)
        segments.append(segment)
        readings.append(reading)
    if applied["composer"]["value"] and not applied["composer"]["applied"]:
        notes.append(f"composer {applied['composer']['value']} is recorded but not yet passed to the model by "
                     "the soundtrack engine")
    timeline = Timeline(tuple(segments), ensemble=applied["ensemble"]["value"], meter=story.meter,
                        seed=story.seed, source=story.source)
    return timeline, StoryReading(replace(story, events=events), profile, applied, readings, notes)
