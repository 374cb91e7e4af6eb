"""How a mood is played as well as written: loudness and register.

Listeners hear arousal in tempo, activity, loudness and detached notes, and valence in mode and register
(see :mod:`cadenza.listen.mood`). The plan sets mode, tempo and density for a mood (see
:mod:`cadenza.compose.request`); :class:`MoodShape` adds the rest as gentle biases on the sampler's
velocity (within reach of the mood's dynamics, by construction) and pitch choices
(:class:`cadenza.compose.constraints.PlanConstraint` applies them). Nothing is rewritten after sampling: an
earlier post-hoc "detached" shortening of written durations filled the MusicXML with tuplets and is gone;
a lively mood is carried by its tempo, density, mode and dynamics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.tokens.events import FIELD_SIZES

VELOCITY_WIDTH = 10  # velocities allowed either side of the mood's
#: semitones from the register's centre that cost 1 nat (4 nats at twice as far). At 8 a mood squeezed every line
#: toward one pitch: a joyful piano piece's tune spanned 13.5 semitones at MIDI 80 (medians of 8), a calm quartet's
#: 12, where the real sonatas' span 20-38 at 70-75 and the quartets' 15-30; at 16, 19 at 77 and 20.5. The craft
#: benchmark under each mood (``python -m benchmarks.craft --seeds 8 --mood M``, satb, quartet, piano, lead sheet,
#: song): 84 -> 85% of the measures inside the real range (joyful), 83 -> 90% (calm), 85 -> 92% (tense), 86 -> 92%
#: (sad); the mood heard as asked in 36 -> 37, 28 -> 25 and 27 -> 27 of 40 pieces (joyful, calm, sad)
REGISTER_WIDTH = 16.0


@dataclass(frozen=True)
class MoodShape:
    velocity: int  # the MIDI velocity to play at
    register_shift: float  # semitones above (below, when negative) the middle of each part's range but the bass's
    chromatic_penalty: float = 3.0  # nats against notes outside the key's scale (tension allows more)

    def velocity_allowed(self) -> np.ndarray:
        """Velocities within :data:`VELOCITY_WIDTH` of the mood's: its dynamics, by construction."""
        v = np.arange(FIELD_SIZES["velocity"])
        return np.abs(v - self.velocity) <= VELOCITY_WIDTH

    def register_bias(self, low: int, high: int, moved: bool = True) -> np.ndarray:
        """Nats toward the middle of a part's range ``low``..``high``, moved by the mood's register shift
        (unless ``moved`` is False)."""
        centre = (low + high) / 2 + (self.register_shift if moved else 0.0)
        p = np.arange(FIELD_SIZES["pitch"], dtype=np.float32)
        return (-((p - centre) / REGISTER_WIDTH) ** 2).astype(np.float32)



def mood_shape(valence: float, arousal: float) -> MoodShape:
    """The shape of a point in the valence-arousal plane (each -1..1)."""
    tension = max(-valence, 0.0) * max(arousal, 0.0)  # negative and excited: chromatic, dissonant
    return MoodShape(velocity=int(round(80 + 22 * arousal - 8 * valence)), register_shift=8.0 * valence,
                     chromatic_penalty=3.0 - 1.0 * tension)


#: how far a mood's tempo follows the meter's felt beat: the tempo in quarter notes is the mood's times the beat's
#: length in quarters to this power. A mood's tempo is a pace of beats, not of quarter notes: at the same 155 a 4/2
#: piece's half notes crawled at 77 and a 3/8 piece's eighths at 64 a quarter raced no faster than a sad 4/4 (16 bars
#: in 22 s); with 0.5, joyful is 219 quarters in 4/2 (half notes at 110), 190 in 6/8 (dotted quarters at 127, a
#: jig's), 110 in 3/8; calm is 91, 78 and 45 (eighths at 90)
BEAT_TEMPO_POWER = 0.5
DOTTED_QUARTER = 1.5  # a compound meter's beat, in quarter notes


def beat_tempo(bpm: float, beat_quarters: float) -> float:
    """The tempo in quarter notes a mood's ``bpm`` asks in a meter whose felt beat lasts ``beat_quarters``
    quarter notes (see :data:`BEAT_TEMPO_POWER`), to a whole bpm; in a compound meter to a whole number of dotted
    quarters a minute, which its score's metronome mark counts (a joyful 6/8 piece at 190 quarters had its mark
    written in quarters, as 126.67 dotted quarters cannot be: now 190.5, marked 127 dotted quarters)."""
    quarters = bpm * beat_quarters ** BEAT_TEMPO_POWER
    if beat_quarters == DOTTED_QUARTER:
        return float(round(quarters / DOTTED_QUARTER) * DOTTED_QUARTER)
    return float(round(quarters))
