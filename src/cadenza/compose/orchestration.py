"""Orchestration: which instruments of a large ensemble play in each phrase, planned before the notes.

An orchestra does not play tutti from the first bar to the last: in real symphonic movements half of the
(part, bar) pairs are silent (the craft benchmark's real works: 22-73%), the strings carry the music and the
winds, brass and timpani come and go by phrase. Written with every part free at every instant, Cadenza's
orchestra played tutti throughout (6-12% silent) and doubled one line in every section (unisons on 97% of the
beats against at most 88%). :class:`Orchestration` plans, per phrase of :data:`PHRASE_BARS` bars, which of the
ensemble's non-string parts play (each with its family's chance, seeded: the same request gets the same plan),
and keeps the others out of that phrase; the strings always play, the last phrase is tutti (the final chord
sounds in every part), and a phrase keeps at least one wind. The timpani play the key's tonic and dominant only,
and the tonic on the last chord.
Used for ensembles of :data:`MIN_PARTS` parts or more (the orchestra).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.compose.ensembles import Voice, doubling_parts
from cadenza.compose.plan import PHRASE_BARS
from cadenza.tokens.events import FIELD_SIZES, KIND

MIN_PARTS = 8  # ensembles this large are orchestrated by phrase
STRINGS = range(40, 46)  # General MIDI programs (0-based): violin .. contrabass, tremolo strings
#: (General MIDI programs, the chance a part of that family plays in a phrase)
FAMILIES: tuple[tuple[range, float], ...] = (
    (range(64, 80), 0.6),  # reeds and pipes: flute, oboe, clarinet, bassoon
    (range(56, 64), 0.45),  # brass: horn, trumpet, trombone, tuba
    (range(47, 48), 0.35),  # timpani
)
TIMPANI = 47  # General MIDI program: tuned to the key's tonic and dominant, the only notes it plays (left free,
# a classical orchestra's timpani played a tune: F2 A3 G3 F3 ...)


def playing_parts(voices: tuple[Voice, ...], bars: int, seed: int) -> list[list[bool]]:
    """For each phrase, whether each part plays in it."""
    rng = np.random.default_rng(seed)
    phrases = max((bars + PHRASE_BARS - 1) // PHRASE_BARS, 1)
    plan = []
    for phrase in range(phrases):
        row = []
        for voice in voices:
            chance = next((p for family, p in FAMILIES if voice.program in family), 1.0)
            row.append(bool(phrase == phrases - 1 or voice.program in STRINGS or rng.random() < chance))
        winds = [i for i, v in enumerate(voices) if v.program in FAMILIES[0][0]]
        if winds and not any(row[i] for i in winds):
            row[winds[int(rng.integers(len(winds)))]] = True
        plan.append(row)
    return plan


class Orchestration:
    """The rule that keeps the parts a phrase leaves out silent in it (a mask on the part of a note)."""

    def __init__(self, plan: Any, voices: tuple[Voice, ...], bars: int, seed: int) -> None:
        self.plan = plan  # the piece's PlanConstraint: which bar is being written, and its key
        self.playing = playing_parts(voices, bars, seed)
        self.timpani = {i for i, v in enumerate(voices) if v.program == TIMPANI}

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        if chosen.get("kind") != KIND["note"]:
            return None
        key = getattr(self.plan, "tonal", None)
        if field == "pitch" and chosen.get("part") in self.timpani and key is not None:
            pitches = np.arange(FIELD_SIZES["pitch"]) % 12
            if self.plan.bars_started >= self.plan.bars:  # the last chord: the tonic (on the dominant, the
                return pitches == key.tonic_pc  # timpani sounded a six-four under a B-flat orchestra's end)
            return (pitches == key.tonic_pc) | (pitches == (key.tonic_pc + 7) % 12)
        if field != "part":
            return None
        phrase = min(max(self.plan.bars_started - 1, 0) // PHRASE_BARS, len(self.playing) - 1)
        mask = np.ones(FIELD_SIZES["part"], dtype=bool)
        mask[: len(self.playing[phrase])] = self.playing[phrase]
        return mask

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        return None

    def advance(self, step: np.ndarray) -> None:
        return None


def describe_orchestration(voices: tuple[Voice, ...], bars: int, seed: int) -> list[str]:
    """For the report: who plays in each phrase ("bars 1-4: Flute, Horn, strings")."""
    out = [f"{voices[part].name} doubles {voices[source].name} ({semitones:+d} semitones)"
           for part, (source, semitones) in doubling_parts(voices).items()]
    for phrase, row in enumerate(playing_parts(voices, bars, seed)):
        names = [v.name for v, on in zip(voices, row, strict=True) if on and v.program not in STRINGS]
        out.append(f"bars {phrase * PHRASE_BARS + 1}-{(phrase + 1) * PHRASE_BARS}: "
                   f"{', '.join(names) if names else 'no winds'}, strings")
    return out
