"""A plain JSON dump of a Score (columnar notes), and the reader for it.

    {"format": "cadenza-score", "version": 1, "ticks_per_quarter": 3360,
     "metadata": {...}, "pickup_ticks": 0, "length_ticks": N,
     "parts": [{"name", "program", "is_drum"}], "time_signatures": [[onset, num, den]],
     "key_signatures": [[onset, sharps, mode|null]], "tempos": [[onset, bpm]],
     "notes": {"onset_ticks": [...], "duration_ticks": [...], "pitch": [...], "velocity": [...],
               "part": [...]}}
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from cadenza.errors import CorruptFileError
from cadenza.score.limits import ReadLimits, over_limit
from cadenza.score.model import (
    NOTE_DTYPE,
    TICKS_PER_QUARTER,
    KeySignature,
    Metadata,
    Part,
    Score,
    Tempo,
    TimeSignature,
)

FORMAT_NAME = "cadenza-score"
NOTE_FIELDS: tuple[str, ...] = tuple(NOTE_DTYPE.names or ())
FORMAT_VERSION = 1


def score_to_dict(score: Score) -> dict[str, Any]:
    md = score.metadata
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "ticks_per_quarter": TICKS_PER_QUARTER,
        "metadata": {"title": md.title, "composer": md.composer, "source": md.source, "licence": md.licence},
        "pickup_ticks": score.pickup_ticks,
        "length_ticks": score.length_ticks,
        "parts": [{"name": p.name, "program": p.program, "is_drum": p.is_drum} for p in score.parts],
        "time_signatures": [[t.onset_ticks, t.numerator, t.denominator] for t in score.time_signatures],
        "key_signatures": [[k.onset_ticks, k.sharps, k.mode] for k in score.key_signatures],
        "tempos": [[t.onset_ticks, t.bpm] for t in score.tempos],
        "notes": {name: score.notes[name].tolist() for name in NOTE_FIELDS},
    }


def json_bytes(score: Score) -> bytes:
    return json.dumps(score_to_dict(score), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def score_from_dict(doc: Any, limits: ReadLimits, source: str = "") -> Score:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise CorruptFileError("not a Cadenza score JSON file (no \"format\": \"cadenza-score\")")
    if doc.get("version") != FORMAT_VERSION or doc.get("ticks_per_quarter") != TICKS_PER_QUARTER:
        raise CorruptFileError(f"unsupported Cadenza score JSON version {doc.get('version')!r}")
    try:
        cols = doc["notes"]
        count = len(cols["onset_ticks"])
        if count > limits.max_notes:
            raise over_limit("note count", count, "max_notes", limits)
        notes = np.zeros(count, dtype=NOTE_DTYPE)
        for name in NOTE_FIELDS:
            values = cols[name]
            if len(values) != count:
                raise CorruptFileError(f"notes column {name!r} has {len(values)} values, expected {count}")
            column = np.asarray(values, dtype=np.int64)
            if name not in ("onset_ticks", "duration_ticks") and len(column) and (
                    column.min() < 0 or column.max() > 32767):
                raise CorruptFileError(f"notes column {name!r} holds values outside 0..32767")
            notes[name] = column
        md = {k: str(v) for k, v in doc.get("metadata", {}).items() if k in ("title", "composer", "source",
                                                                              "licence")}
        md.setdefault("source", source)
        score = Score.build(
            parts=[Part(str(p["name"]), int(p["program"]), bool(p["is_drum"])) for p in doc["parts"]],
            notes=notes,
            time_signatures=[TimeSignature(int(a), int(b), int(c)) for a, b, c in doc["time_signatures"]],
            key_signatures=[KeySignature(int(a), int(b), c) for a, b, c in doc["key_signatures"]],
            tempos=[Tempo(int(a), float(b)) for a, b in doc["tempos"]],
            metadata=Metadata(**md),
            pickup_ticks=int(doc.get("pickup_ticks", 0)),
            length_ticks=int(doc.get("length_ticks", 0)),
        )
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as exc:
        raise CorruptFileError(f"invalid Cadenza score JSON: {exc}") from None
    if score.duration_s > limits.max_duration_s:
        raise over_limit("duration in seconds", score.duration_s, "max_duration_s", limits)
    return score


def read_json_bytes(data: bytes, limits: ReadLimits, source: str = "") -> Score:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CorruptFileError(f"not valid JSON: {str(exc)[:120]}") from None
    return score_from_dict(doc, limits, source)
