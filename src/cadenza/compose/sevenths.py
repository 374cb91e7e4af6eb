"""Sevenths: where the harmony plan writes a seventh chord, a part sounds its seventh, and that part then resolves
it down by step — the dominant seventh of every classical cadence, the diminished sevenths and secondary
sevenths of romantic harmony.

The plan's chords come from tables counted from the corpus' own chords (:mod:`cadenza.compose.harmony`), and
a quarter of a romantic table's strong beats are seventh chords; but the plan leaned every note struck on a
beat toward all of its chord's tones alike (``rules.HARMONY_NATS``), so a part took the seventh only as often
as the model happened to (its median log-probability for the seventh where a quartet's plan asked one: -4.2
nats), and the triad's three tones crowded it out: 18 of 301 notes struck under a quartet's planned seventh
chords were sevenths, and listen heard a seventh chord on 20% of the beats of our string quartets (the real
quartets of the craft benchmark: 22–35%, p10–p90; with this rule 23%) and on 10% of the beats of six romantic
songs (the romantic works of listen's style model: 19–38%). A composer who plans V7 writes the seventh.

So, while the chord planned for a beat is a seventh chord and no part sounds its seventh yet, a note struck
on the beat by a part above the bass leans toward the seventh (:data:`SEVENTH_NATS`, by style, on top of the chord's
tones' own pull); and a single line that sounded a planned seventh leans, with its next note under another
chord, to the step down to that chord's tone (:data:`RESOLUTION_NATS`), as a seventh resolves. Only in the
styles whose harmony uses sevenths this way (:data:`SEVENTH_STYLES`), and not in a chorale's tune (its hymn
tune is given), nor in the lowest part (its root or the inversion's bass is the plan's).

A mixin of :class:`cadenza.compose.rules.VoiceRules`, which calls it from its pitch bias and its ``advance``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from cadenza.compose.suspensions import step_down_to
from cadenza.compose.waits import LINE_POLYPHONY
from cadenza.tokens.events import FIELD_SIZES

#: per style, nats toward a planned seventh chord's seventh while no part sounds it, for a note on the beat: a
#: chorale's sevenths at 1.5 are the real chorales' (listen hears a seventh chord on a median 19.5% of the beats of
#: 32 of ours, 20.2% of the real ones); at 1.5 the classical and romantic ensembles stayed under theirs (string
#: quartets 23.4% against a real median of 31.9%, piano 21.9/26.5, songs 16.8/25.6, orchestra 12.9/27.6); at 2.0
#: they rise (21.9%, with the cello's usual register that had lowered it to 20.3%; 22.7, 17.2, 15.6), the
#: quartet's cadences heard 98.4 -> 100%, and every craft measure of these ensembles inside its real range but
#: the two already outside (a quartet's crossings, and its rests until it kept its sixteenth rests; 32 pieces each,
#: python -m benchmarks.craft --seeds 32)
SEVENTH_NATS = {"baroque": 1.5, "classical": 2.0, "romantic": 2.0}
RESOLUTION_NATS = 1.5  # toward the step down to the next chord's tone, for a line's note after its seventh
SEVENTH_STYLES = tuple(SEVENTH_NATS)
_PITCH_PC = np.arange(FIELD_SIZES["pitch"]) % 12


@lru_cache(maxsize=36)
def _toward(pc: int, nats: float) -> np.ndarray:
    """``nats`` on the pitches of pitch class ``pc`` (shared: do not change it)."""
    out = np.where(pc == _PITCH_PC, np.float32(nats), np.float32(0.0))
    out.setflags(write=False)
    return out


def seventh_of(chord: Any) -> int | None:
    """The pitch class of ``chord``'s seventh (its fourth tone: the plan's chords list root, third, fifth,
    seventh), None for a triad."""
    return chord.pcs[3] if chord is not None and len(chord.pcs) >= 4 else None


class SeventhRules:
    """Planned sevenths sounded and resolved (see the module docstring)."""

    polyphony: list[int]
    lowest: int
    top: int
    style: str | None
    doubled: frozenset[int]
    sevenths: dict[int, tuple[int, Any]]  # part -> (the seventh's pitch it sounded, the chord it belonged to)

    def _writes_sevenths(self, part: int) -> bool:
        if self.style not in SEVENTH_STYLES or part == self.lowest or part in self.doubled:
            return False
        return not (part == self.top and self.style == "baroque")

    def seventh_bias(self, part: int, chord: Any, sounding: dict[int, list[int]]) -> np.ndarray | None:
        """For a note of ``part`` struck on a beat whose planned chord is ``chord``: SEVENTH_NATS toward the
        chord's seventh while no part sounds it (``sounding``: part -> its pitches now)."""
        seventh = seventh_of(chord)
        if seventh is None or not self._writes_sevenths(part):
            return None
        if any(p % 12 == seventh for notes in sounding.values() for p in notes):
            return None
        return _toward(seventh, SEVENTH_NATS[str(self.style)])

    def seventh_resolution(self, part: int, before: int, chord_now: Callable[[], Any]) -> np.ndarray | None:
        """For the next note of a line whose last note ``before`` was a planned seventh, struck under the chord
        ``chord_now()`` gives (the plans' chord now; None: not known): RESOLUTION_NATS toward the step down to a
        tone of it, once the chord is another than the seventh's."""
        held = self.sevenths.get(part)
        if held is None or held[0] != before:
            return None
        chord = chord_now()
        if chord is None or chord == held[1]:
            return None
        out = step_down_to(before, chord, RESOLUTION_NATS)
        return out if out.any() else None

    def sounded_seventh(self, part: int, pitch: int, chord_now: Callable[[], Any]) -> None:
        """A note of ``part`` struck under the chord ``chord_now()`` gives (the plans' chord there, or None):
        remembered where it is the chord's seventh; a part's seventh is forgotten once it strikes another pitch."""
        if part >= len(self.polyphony) or self.polyphony[part] > LINE_POLYPHONY or not self._writes_sevenths(part):
            return  # (a line's: a part that plays chords has no one next note to resolve it)
        chord = chord_now()
        if seventh_of(chord) == pitch % 12:
            self.sevenths[part] = (pitch, chord)
        elif part in self.sevenths and self.sevenths[part][0] != pitch:
            self.sevenths.pop(part, None)
