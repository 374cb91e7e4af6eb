"""Reading one work for the corpus (in a worker process): the Score, its labels and its fingerprints.

Fingerprints make duplicates findable across collections:
- ``content_hash``: every note (onset from the first note, duration, part, pitch above the lowest pitch):
  equal for exact and transposed copies;
- ``melody_hash``: the top voice's intervals and durations: equal when the same tune is harmonised or
  arranged differently (hymn tunes in the Bach chorales, a folk tune in two books). Tunes of fewer than
  ``MIN_MELODY_NOTES`` notes get none: short figures recur by chance.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.corpus.classical import FOLDERS, composer_of
from cadenza.corpus.sources import WorkRef, licence_of
from cadenza.errors import CadenzaError
from cadenza.listen.analyse import analyse
from cadenza.listen.features import View
from cadenza.listen.style import composer_from_metadata
from cadenza.score import TICKS_PER_QUARTER, Part, ReadLimits, Score, TimeSignature, read_score_result
from cadenza.score.json_io import score_to_dict
from cadenza.score.model import NOTE_DTYPE, Metadata

MIN_MELODY_NOTES = 12


@dataclass
class WorkResult:
    ref: WorkRef
    ok: bool
    error: str = ""
    error_kind: str = ""
    header: dict[str, Any] = field(default_factory=dict)  # the score without its notes (json_io layout)
    notes: np.ndarray | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""
    melody_hash: str = ""
    known_composer: str = ""  # from metadata or the source, never a style guess
    warnings: list[str] = field(default_factory=list)


def content_hash(score: Score) -> str:
    n = score.notes
    if not len(n):
        return ""
    rows = np.stack([n["onset_ticks"] - n["onset_ticks"].min(), n["duration_ticks"], n["part"],
                     n["pitch"].astype(np.int64) - int(n["pitch"].min())], axis=1)
    rows = rows[np.lexsort(rows.T[::-1])]
    return hashlib.sha1(rows.astype(np.int64).tobytes()).hexdigest()[:20]


def melody_hash(score: Score) -> str:
    top = View(score).top_voice
    if len(top) < MIN_MELODY_NOTES:
        return ""
    intervals = np.diff(top["pitch"].astype(np.int64))
    durations = top["duration_ticks"].astype(np.int64)
    return hashlib.sha1(intervals.tobytes() + b"|" + durations.tobytes()).hexdigest()[:20]


@lru_cache(maxsize=2)
def _jsb(path: str) -> dict[str, list[list[list[float]]]]:
    with Path(path).open(encoding="utf-8") as fh:
        return json.load(fh)


def jsb_score(ref: WorkRef) -> Score:
    """A JSB chorale from the 16th-note frames: four voices (soprano first), a repeated pitch in a voice held
    (the dataset does not tell held from repeated notes), 4/4, no key signature."""
    split, index = ref.relpath.split("/")
    frames = _jsb(ref.root)[split][int(index)]
    step = TICKS_PER_QUARTER // 4
    notes: list[tuple[int, int, int, int, int]] = []
    for voice in range(4):
        current, start = None, 0
        for i, frame in enumerate([*frames, []]):
            pitch = int(frame[voice]) if voice < len(frame) and frame[voice] == frame[voice] else None
            if pitch != current:
                if current is not None:
                    notes.append((start * step, (i - start) * step, current, 80, voice))
                current, start = pitch, i
    parts = [Part(name, 52) for name in ("Soprano", "Alto", "Tenor", "Bass")]
    return Score.build(parts=parts, notes=np.array(notes, dtype=NOTE_DTYPE) if notes else [],
                       time_signatures=[TimeSignature(0, 4, 4)],
                       metadata=Metadata(title=f"JSB chorale {ref.relpath}", composer="J. S. Bach",
                                         source=f"jsb:{ref.relpath}", licence=licence_of("jsb")),
                       length_ticks=len(frames) * step)


def read_work(ref: WorkRef, limits: ReadLimits) -> WorkResult:
    """Read, label and fingerprint one work; never raises for a bad file (the result says why)."""
    try:
        if ref.source == "jsb":
            score, warnings = jsb_score(ref), []
        else:
            result = read_score_result(ref.path, limits, tune=ref.tune or None,
                                       tune_index=ref.tune_index if ref.tune_index >= 0 else None)
            score, warnings = result.score, result.warnings
        if score.note_count == 0:
            return WorkResult(ref, False, "the score holds no notes", "empty")
        source = score.metadata.source if ref.source != "music21" else f"music21:{ref.relpath}" + (
            f"#{ref.tune}" if ref.tune else "")
        score = score.with_metadata(source=source, licence=score.metadata.licence or licence_of(ref.source))
        if ref.source in FOLDERS:  # the pack's folder names the composer, with dates that give the epoch
            score = score.with_metadata(composer=composer_of(ref.path) or score.metadata.composer)
        labels = analyse(score)
        header = score_to_dict(score)
        del header["notes"]
        known = composer_from_metadata(score)
        return WorkResult(ref, True, header=header, notes=np.asarray(score.notes), labels=labels,
                          content_hash=content_hash(score), melody_hash=melody_hash(score), warnings=warnings,
                          known_composer=known[0] if known else score.metadata.composer)
    except CadenzaError as exc:
        return WorkResult(ref, False, str(exc), type(exc).__name__)
    except Exception as exc:  # noqa: BLE001 - a file that breaks a reader is recorded, never stops a build
        return WorkResult(ref, False, f"{type(exc).__name__}: {exc}"[:300], "ReaderBug")
