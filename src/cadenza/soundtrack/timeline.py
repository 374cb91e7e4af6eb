"""A soundtrack's timeline: segments, each a length and what it should sound like.

Three ways to write one:

- a shorthand, ``"calm:90s,tense:60s,triumphant:2m"`` (a word, then a length: ``90s``, ``1:30``, ``2m``, or
  ``16bars``); the word is read like a prompt ("triumphant" → joyful), so moods, tempo words, epochs and
  ensembles all work (words none of which is known are refused when the soundtrack is planned);
- a TOML or JSON file with a ``segments`` list; each segment has ``duration`` (seconds or "90s") or
  ``bars``, and any of ``mood``, ``valence``/``arousal``, ``key``, ``tempo``, ``density``, ``epoch``,
  ``prompt`` (words), ``name``, ``theme``, ``composer`` (a label, as ``compose --composer`` takes it);
  top-level ``ensemble``, ``meter`` and ``seed`` apply to all;
- in Python, a list of :class:`Segment`.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadenza.compose.request import duration_seconds, parse_duration
from cadenza.errors import InputError, UsageError

MAX_SEGMENTS = 10_000
MAX_FILE_BYTES = 1_000_000  # a timeline, story or profile is a few kilobytes
SEGMENT_FIELDS = ("mood", "valence", "arousal", "key", "tempo", "density", "epoch", "prompt", "name", "theme",
                  "duration", "bars", "composer")


@dataclass(frozen=True)
class Segment:
    duration_s: float | None = None
    bars: int | None = None
    mood: str | None = None
    valence: float | None = None
    arousal: float | None = None
    key: str | None = None
    tempo_bpm: float | None = None
    density: str | None = None
    epoch: str | None = None
    prompt: str | None = None  # words read like compose --prompt (a mood word outside the four, a tempo word…)
    name: str = ""
    theme: str | None = None
    composer: str | None = None  # a composer label, as compose --composer takes it

    def __post_init__(self) -> None:
        if (self.duration_s is None) == (self.bars is None):
            raise UsageError(f"segment {self.name or '?'}: give a duration or a bar count (one of them)")
        if self.bars is not None and not 1 <= self.bars <= 2000:
            raise UsageError(f"segment {self.name or '?'}: bars must be 1 to 2000")
        if self.duration_s is not None and not 1 <= self.duration_s <= 24 * 3600:
            raise UsageError(f"segment {self.name or '?'}: a duration of 1 s to 24 h")


@dataclass(frozen=True)
class Timeline:
    segments: tuple[Segment, ...]
    ensemble: str | None = None
    meter: str | None = None
    seed: int = 0
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float | None:
        """The timeline's length in seconds when every segment gives one."""
        lengths = [s.duration_s for s in self.segments]
        return None if any(v is None for v in lengths) else sum(v for v in lengths if v is not None)


def _length(text: str, where: str) -> dict[str, Any]:
    value = text.strip().lower()
    match = re.fullmatch(r"(\d+)\s*(?:bars?|b)", value)
    if match:
        return {"bars": int(match[1])}
    try:
        seconds = duration_seconds(value)
        if seconds:
            return {"duration_s": parse_duration(value)}
    except UsageError as exc:  # a length out of range, or 1:75
        raise UsageError(f"{where}: {exc}") from None
    if seconds is None:
        raise UsageError(f"{where}: length {text!r} is not like 90s, 1:30, 2m or 16bars")
    raise UsageError(f"{where}: length {text!r}: a segment must last more than 0 s")  # ("not like 90s" before)


def parse_shorthand(text: str) -> Timeline:
    """``"calm:90s,tense:60s"`` as a timeline."""
    segments = []
    for i, item in enumerate(part for part in text.split(",") if part.strip()):
        if ":" not in item:
            raise UsageError(f"timeline item {item.strip()!r}: write WORDS:LENGTH, e.g. calm:90s")
        words, _, length = item.strip().rpartition(":")
        if re.fullmatch(r"\d+", length) and re.search(r":\d+$", words):  # "calm:1:30"
            words, _, minutes = words.rpartition(":")
            length = f"{minutes}:{length}"
        segments.append(Segment(prompt=words.strip() or None, name=words.strip() or f"segment {i + 1}",
                                **_length(length, f"timeline item {i + 1}")))
    if not segments:
        raise UsageError("the timeline is empty: give segments like calm:90s,tense:60s")
    return Timeline(tuple(segments), source=text)


def _number(value: Any, where: str) -> float:
    """A segment's number field as a float; anything else an InputError naming the segment and field (Python's
    own words, "could not convert string to float", named neither)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}: {value!r:.40} is not a number")
    return float(value)


def _segment(raw: dict[str, Any], i: int) -> Segment:
    if not isinstance(raw, dict):
        raise InputError(f"segment {i + 1}: expected a table of fields")
    unknown = sorted(set(raw) - set(SEGMENT_FIELDS))
    if unknown:
        raise InputError(f"segment {i + 1}: unknown field {unknown[0]!r} (known: {', '.join(SEGMENT_FIELDS)})")
    values: dict[str, Any] = {k: raw[k] for k in ("mood", "key", "density", "epoch", "prompt", "theme", "composer")
                              if k in raw}
    for name in ("valence", "arousal"):
        if name in raw:
            values[name] = _number(raw[name], f"segment {i + 1}: {name}")
    if "tempo" in raw:
        values["tempo_bpm"] = _number(raw["tempo"], f"segment {i + 1}: tempo")
    if "duration" in raw:
        duration = raw["duration"]
        values.update(_length(str(duration), f"segment {i + 1}") if isinstance(duration, str)
                      else {"duration_s": _number(duration, f"segment {i + 1}: duration")})
    if "bars" in raw:
        bars = raw["bars"]
        if isinstance(bars, bool) or not isinstance(bars, int):  # (4.5 bars was cut to 4 without a word)
            raise InputError(f"segment {i + 1}: bars {bars!r:.40} is not a whole number")
        values["bars"] = bars
    return Segment(name=str(raw.get("name") or raw.get("mood") or raw.get("prompt") or f"segment {i + 1}"), **values)


def read_document(source: str | Path | dict[str, Any], what: str) -> tuple[dict[str, Any], str]:
    """A TOML or JSON file (or an already-read dict) as a dict, and its name for messages."""
    if isinstance(source, dict):
        return source, what
    file = Path(source)
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"the {what} {file} is larger than {MAX_FILE_BYTES // 1_000_000} MB")
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the {what} {file}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        doc = json.loads(text) if file.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if file.suffix.lower() == ".json" else "TOML"
        raise InputError(f"the {what} {file} is not valid {kind}: {exc}") from None
    if not isinstance(doc, dict):
        raise InputError(f"the {what} {file}: expected a table of fields at the top")
    return doc, str(file)



def load_timeline(path: str | Path) -> Timeline:
    """A timeline from a TOML or JSON file (see the module docstring)."""
    doc, name = read_document(path, "timeline")
    file = Path(name)
    raw_segments = doc.get("segments")
    if not isinstance(raw_segments, list) or not raw_segments:
        raise InputError(f"the timeline {file} has no 'segments' list")
    if len(raw_segments) > MAX_SEGMENTS:
        raise InputError(f"the timeline {file} has more than {MAX_SEGMENTS} segments")
    try:
        segments = tuple(_segment(raw, i) for i, raw in enumerate(raw_segments))
    except (TypeError, ValueError) as exc:
        raise InputError(f"the timeline {file}: {exc}") from None
    return Timeline(segments, ensemble=doc.get("ensemble"), meter=doc.get("meter"), seed=int(doc.get("seed", 0)),
                    source=str(file))


def timeline_from(spec: str) -> Timeline:
    """A shorthand, or the path of a TOML/JSON timeline."""
    if spec.lower().endswith((".toml", ".json")) or Path(spec).is_file():
        return load_timeline(spec)
    return parse_shorthand(spec)
