"""The primer a continuation grows from, read for what the new bars must follow: the meter, key and tempo changes
at its very end (the new bars open with them), the ensemble its parts are (its voices, widened to hold the notes
each part plays), the key its signature writes, and the parts merged to fit the event vocabulary."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from cadenza.compose.ensembles import Ensemble, Voice, ensemble_of
from cadenza.compose.request import Key, parse_key
from cadenza.listen.features import View
from cadenza.listen.key import estimate_key
from cadenza.listen.labels import TONICS
from cadenza.score.model import Score, TimeSignature
from cadenza.score.reduce import merged_parts
from cadenza.tokens.events import MAX_PARTS, encodable


def without_trailing_changes(primer: Score) -> tuple[Score, TimeSignature | None, Key | None, float | None]:
    """A primer whose meter, key or tempo changes at its very end (for the bars to come) without those changes,
    and the changes: the continuation opens with them."""
    end = primer.length_ticks
    meters = [t for t in primer.time_signatures if t.onset_ticks >= end > 0]
    keys = [k for k in primer.key_signatures if k.onset_ticks >= end > 0]
    tempos = [t for t in primer.tempos if t.onset_ticks >= end > 0]
    if not (meters or keys or tempos):
        return primer, None, None, None
    body = primer.replace(time_signatures=tuple(t for t in primer.time_signatures if t not in meters),
                          key_signatures=tuple(k for k in primer.key_signatures if k not in keys),
                          tempos=tuple(t for t in primer.tempos if t not in tempos))
    key = None
    if keys:
        major_pc = (keys[-1].sharps * 7) % 12
        key = Key(major_pc, "major") if keys[-1].mode != "minor" else Key((major_pc + 9) % 12, "minor")
    return body, meters[-1] if meters else None, key, tempos[-1].bpm if tempos else None


def parts_merged(score: Score) -> dict[str, Any]:
    """``{"parts_merged": {"from", "to", "merged"}}`` when :func:`encodable` merges parts of ``score``, else {}."""
    merged = merged_parts(score, MAX_PARTS)
    if not merged:
        return {}
    return {"parts_merged": {"from": len(score.parts), "to": len(encodable(score).parts), "merged": merged}}


def ensemble_of_score(score: Score) -> Ensemble | None:
    """The ensemble whose parts ``score`` has (:func:`cadenza.compose.ensembles.ensemble_of`), None for others."""
    first = score.notes[score.notes["part"] == 0]["onset_ticks"]
    return ensemble_of([(p.name or "", p.program, p.is_drum) for p in score.parts],
                       first_is_line=len(first) > 0 and len(np.unique(first)) == len(first))


def written_key(primer: Score) -> Key | None:
    """The key a primer's last key signature writes, major or its relative minor as listen's key scores prefer:
    the key its continuation cadences in (one bar of a B-flat major quartet was heard as C minor, and its new bars
    cadenced in C minor under two flats). None without a signature."""
    if not primer.key_signatures:
        return None
    major = 7 * primer.key_signatures[-1].sharps % 12
    minor = (major + 9) % 12
    scores = estimate_key(View(primer)).scores
    tonic, mode = (major, "major") if scores[major] >= scores[12 + minor] else (minor, "minor")
    return parse_key(f"{TONICS[tonic]} {mode}")


def widened(voices: tuple[Voice, ...], primer: Score) -> tuple[Voice, ...]:
    """An ensemble's ``voices`` as the primer's parts: their names and instruments (a user's "Vl. 1" stays itself,
    a choir written for piano stays piano), each range widened to hold the notes the part plays."""
    widened = []
    for index, (voice, part) in enumerate(zip(voices, primer.parts, strict=True)):
        pitches = primer.notes["pitch"][primer.notes["part"] == index]
        # (an unnamed instrument, program 0 as music21 reads a MusicXML part without a sound, plays the ensemble's:
        # music21's Haydn quartets were continued as four pianos, chords in the cello)
        program = part.program if part.program or part.is_drum else voice.program
        own = replace(voice, name=part.name or voice.name, program=program, is_drum=part.is_drum)
        widened.append(replace(own, low=min(voice.low, int(pitches.min())), high=max(voice.high, int(pitches.max())))
                       if len(pitches) else own)
    return tuple(widened)
