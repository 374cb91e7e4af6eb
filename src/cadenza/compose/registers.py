"""A part's usual register: where a voice or an instrument spends most of its time, narrower than its range.

A voice's range (:class:`cadenza.compose.ensembles.Voice` ``low``-``high``) says what it can sing; where it
sings most is narrower and higher. Left to the model, a chorale's upper voices sat a third or more below
Bach's: in 8 pieces of 16 bars the soprano's median pitch was 67 against 70 in 26 chorales of music21's
corpus (every tenth), the alto's 60.5 against 65, the tenor's 55 against 59 (the bass 50 against 51), an alto
crowding the tenor. :class:`UsualRegister` makes each semitone of a note below a part's ``usual_low`` (the
pitch a tenth of its notes lie below in the real works) cost :data:`REGISTER_NATS`; above it the model is free.
An orchestra's upper strings pay the same below theirs (:mod:`cadenza.compose.orchestration`), and a string
quartet's cello below G2: left free, 22% of its notes lay lower (real quartets: 9%) and the quartet's lowest line
sat at the real p10 (mean MIDI 47.9 over 32 pieces, real 47.4-53.2); with it, 49.9.

A piano's right hand has a usual register on both sides (``usual_high``: the pitch a tenth of its notes lie
above). Left to the model, its tune wandered off to either side and stayed there: over 8 classical pieces of 16
bars the top line's mean pitch ranged from 67.8 to 83.2 (p10-p90, median 76.2), against 69.7-75.3 (median 73.1)
in Haydn's, Mozart's and Beethoven's sonatas; one piece wrote its right hand in the tenor (G3-D4, a bass clef
throughout), another two octaves higher, up to D6 and beyond. With its register (58-81) the top line's mean
pitch over 32 pieces is 69.6-77.3 (median 73.4) and its range 16-28 semitones (median 24; the sonatas' 20-38).

A song's piano has a register relative to the voice: :class:`UnderTheTune` keeps it under the sung note.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from cadenza.compose.constraints import note_onset_ticks, step_length_ticks
from cadenza.tokens.events import FIELD_SIZES, KIND, F

REGISTER_NATS = 0.6  # per semitone a note lies outside its part's usual register


@lru_cache(maxsize=32)
def register_costs(low: int | None, high: int | None = None) -> np.ndarray:
    """The pitch field's bias (nats, read-only) of a part that plays freely from ``low`` up to ``high`` (None:
    no bound on that side): :data:`REGISTER_NATS` per semitone outside."""
    pitches = np.arange(FIELD_SIZES["pitch"])
    outside = np.zeros(len(pitches), dtype=np.int64)
    if low is not None:
        outside += np.maximum(low - pitches, 0)
    if high is not None:
        outside += np.maximum(pitches - high, 0)
    out = -REGISTER_NATS * outside.astype(np.float32)  # float32 arithmetic, as the choir's costs always were
    out.setflags(write=False)
    return out


class UsualRegister:
    """The rule that makes the notes of a part with a usual register pay :data:`REGISTER_NATS` per semitone
    outside it (a bias on the pitch of a note)."""

    def __init__(self, free_from: dict[int, int], free_to: dict[int, int] | None = None) -> None:
        self.free_from = free_from  # part -> the lowest pitch it plays freely
        self.free_to = free_to or {}  # part -> the highest pitch it plays freely
        # (part, the ThemeReturn that lifts its tune): that part's register moves up with a lifted return
        self.lifted: tuple[int, Any] | None = None

    @classmethod
    def of(cls, voices: Any) -> UsualRegister:
        """The rule for ``voices``' parts that have a ``usual_low`` or a ``usual_high``."""
        return cls({i: v.usual_low for i, v in enumerate(voices) if v.usual_low is not None},
                   {i: v.usual_high for i, v in enumerate(voices) if v.usual_high is not None})

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        return None

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        if field != "pitch" or chosen.get("kind") != KIND["note"]:
            return None
        part = chosen.get("part", -1)
        low, high = self.free_from.get(part), self.free_to.get(part)
        if low is None and high is None:
            return None
        if self.lifted is not None and part == self.lifted[0] and (lift := self.lifted[1].lift_now()):
            low, high = (None if low is None else low + lift), (None if high is None else high + lift)
        return register_costs(low, high)

    def advance(self, step: np.ndarray) -> None:
        return None


class UnderTheTune:
    """A sung tune over parts that play chords (a song's voice over the piano's hands): a note of those parts
    pays :data:`REGISTER_NATS` per semitone above the tune's note sounding at its onset (doubling it is free;
    where the tune rests, the piano is free to carry the line). In a Lied the right hand lies under the voice or
    doubles it: 24 held-out Lieder cross it on at most 20 beats in 100 (p90); the model, free, crossed it on
    32 (median of 32 songs of 16 bars), on 22 under this rule, on 19 with the voice in its usual register too."""

    def __init__(self, plan: Any, tune: int, accompanying: frozenset[int]) -> None:
        self.plan, self.tune, self.accompanying = plan, tune, accompanying
        self.sung: list[tuple[int, int, int]] = []  # (onset, end ticks, pitch) of the tune's notes still sounding

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        return None

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        if field != "pitch" or chosen.get("kind") != KIND["note"] or chosen.get("part") not in self.accompanying:
            return None
        now = note_onset_ticks(self.plan, chosen)
        sung = [pitch for onset, end, pitch in self.sung if onset <= now < end]
        return register_costs(None, max(sung)) if sung else None

    def advance(self, step: np.ndarray) -> None:
        if int(step[F["kind"]]) != KIND["note"] or int(step[F["part"]]) != self.tune:
            return
        onset = self.plan.last_onset_ticks  # the plan has advanced past this note already
        end = onset + step_length_ticks(step)
        self.sung = [note for note in self.sung if note[1] > onset] + [(onset, end, int(step[F["pitch"]]))]
