"""How a mood is played as well as written: loudness, register and articulation.

Listeners hear arousal in tempo, activity, loudness and detached notes, and valence in mode and register
(see :mod:`cadenza.listen.mood`). The plan sets mode, tempo and density for a mood (see
:mod:`cadenza.compose.request`); :class:`MoodShape` adds the rest as gentle biases on the sampler's
velocity (within reach of the mood's dynamics, by construction) and pitch choices
(:class:`cadenza.compose.constraints.PlanConstraint` applies them), and a lively mood is played detached
(:func:`articulate`, after sampling: a performance of what was written, as a staccato marking asks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.score.model import Score
from cadenza.tokens.events import FIELD_SIZES

VELOCITY_WIDTH = 10  # velocities allowed either side of the mood's
REGISTER_WIDTH = 8.0  # semitones from the register's centre that cost 1 nat (4 nats at 16 semitones)


@dataclass(frozen=True)
class MoodShape:
    velocity: int  # the MIDI velocity to play at
    register_shift: float  # semitones above (below, when negative) the middle of each part's range
    articulation: float  # sounding length / time to the next onset: 1 legato, about 0.6 detached
    chromatic_penalty: float = 3.0  # nats against notes outside the key's scale (tension allows more)

    def velocity_allowed(self) -> np.ndarray:
        """Velocities within :data:`VELOCITY_WIDTH` of the mood's: its dynamics, by construction."""
        v = np.arange(FIELD_SIZES["velocity"])
        return np.abs(v - self.velocity) <= VELOCITY_WIDTH

    def register_bias(self, low: int, high: int) -> np.ndarray:
        centre = (low + high) / 2 + self.register_shift
        p = np.arange(FIELD_SIZES["pitch"], dtype=np.float32)
        return (-((p - centre) / REGISTER_WIDTH) ** 2).astype(np.float32)



def articulate(score: Score, ratio: float, from_ticks: int = 0) -> Score:
    """The notes from ``from_ticks`` on played detached: each sounds ``ratio`` of the time to its part's next
    onset (never longer than written; the last notes of a part keep their length). 1 leaves them legato."""
    if ratio >= 0.95:
        return score
    notes = score.notes.copy()
    for part in np.unique(notes["part"]):
        mine = np.nonzero((notes["part"] == part) & (notes["onset_ticks"] >= from_ticks))[0]
        if len(mine) < 2:
            continue
        onsets = np.unique(notes["onset_ticks"][mine])
        nxt = np.searchsorted(onsets, notes["onset_ticks"][mine], side="right")
        has_next = nxt < len(onsets)
        rows = mine[has_next]
        gap = onsets[nxt[has_next]] - notes["onset_ticks"][rows]
        notes["duration_ticks"][rows] = np.maximum(np.minimum(notes["duration_ticks"][rows],
                                                              (ratio * gap).astype(np.int64)), 1)
    return score.replace(notes=notes)


def mood_shape(valence: float, arousal: float) -> MoodShape:
    """The shape of a point in the valence-arousal plane (each -1..1)."""
    tension = max(-valence, 0.0) * max(arousal, 0.0)  # negative and excited: chromatic, dissonant
    return MoodShape(velocity=int(round(80 + 22 * arousal - 8 * valence)), register_shift=12.0 * valence,
                     articulation=1.0 if arousal <= 0 else 1.0 - 0.45 * arousal,
                     chromatic_penalty=3.0 - 1.0 * tension)
