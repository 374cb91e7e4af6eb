"""Rests and waits, as biases on the part field: the melody's part is drawn back in once it has been silent a
beat (more strongly until it has begun: the tune opens the piece), and so are a keyboard's left hand after two
beats and the other lines of a small ensemble of lines after four; a part may breathe, it does not leave the
music for bars. A mixin of :class:`cadenza.compose.rules.VoiceRules`, whose state (``latest``, ``plan``,
``polyphony``, ``top``, ``lowest`` ...) it reads.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from cadenza.listen.features import beat_ticks_of
from cadenza.score.model import TICKS_PER_QUARTER, TimeSignature
from cadenza.tokens.events import FIELD_SIZES

MELODY_REST_NATS = 1.0  # per beat the melody's part has been silent, toward its next note (see _melody_waits)
MELODY_REST_MAX_NATS = 4.0
MELODY_ENTRY_NATS = 3.0  # ... and, more, per beat it has not yet begun (the tune opens the piece: at the rest's
MELODY_ENTRY_MAX_NATS = 9.0  # pull a song's voice still let the piano play the first bar alone)
BASS_REST_BEATS = 2  # a keyboard's left hand may rest this many beats (quarters at most) before it is pulled back
LINE_REST_BEATS = 4  # ... a line of a small ensemble of lines (a quartet, a choir), this many
SMALL_ENSEMBLE = 5  # parts at most in a small ensemble
WAIT_NATS = 2.0  # per beat of rest beyond, toward the resting part
WAIT_MAX_NATS = 8.0
LINE_POLYPHONY = 2  # parts starting at most this many notes at once are lines (voices, strings)


@lru_cache(maxsize=32)
def beat_ticks(meter: tuple[int, int]) -> int:
    """The beat of ``meter`` in ticks (asked on every note: computed once a meter)."""
    return beat_ticks_of(TimeSignature(0, *meter))



class WaitRules:
    """The part field's pulls toward parts that have rested too long (see the module docstring)."""

    plan: Any
    latest: dict[int, tuple[int, list[tuple[int, int]]]]
    polyphony: list[int]
    doubled: frozenset[int]
    tune_led: bool
    top: int
    lowest: int
    intro_tune: int
    intro_bars: int
    waiting: dict[int, int]

    def _now(self, chosen: dict[str, int]) -> int:
        raise NotImplementedError

    def _melody_waits(self, chosen: dict[str, int]) -> np.ndarray | None:
        """The part field's bias toward the melody's part (the top of an ensemble written top-down) when it has
        been silent a beat or more at this instant: MELODY_REST_NATS per beat of silence, at most
        MELODY_REST_MAX_NATS. The melody may breathe; it does not leave the tune to the others for bars, nor
        wait long to begin it (silent since the piece began: a song's voice let the piano play its first bars
        alone, and the period's restated opening then restated nothing). Through an introduction the tune is
        the accompaniment's highest part (:attr:`intro_tune`: a song's right hand, which left whole bars of a
        piano introduction to the left hand)."""
        if not self.tune_led or self.plan.meter is None or "position_fine" not in chosen:
            return None
        tune = self.intro_tune if self.intro_bars and self.plan.bars_started <= self.intro_bars else self.top
        notes = self.latest.get(tune, (-1, []))[1]
        silent_beats = self._silent_beats(tune, self._now(chosen))
        if silent_beats < 1:
            return None
        out = np.zeros(FIELD_SIZES["part"], dtype=np.float32)
        per_beat, most = (MELODY_REST_NATS, MELODY_REST_MAX_NATS) if notes else (
            MELODY_ENTRY_NATS, MELODY_ENTRY_MAX_NATS)
        out[tune] = min(per_beat * silent_beats, most)
        return out

    def _silent_beats(self, part: int, now: int) -> float:
        """Beats from the end of ``part``'s latest notes (the piece's start if it has none yet) to ``now``."""
        notes = self.latest.get(part, (-1, []))[1]
        return (now - (max(end for end, _ in notes) if notes else 0)) / beat_ticks(self.plan.meter)

    def _waiting_parts(self) -> dict[int, int]:
        """The parts pulled back after a rest (:meth:`_parts_wait`), each with the beats it may rest first: a
        keyboard's left hand (the lowest part, two notes at once or more: a song's too) after
        :data:`BASS_REST_BEATS`; every line of a small ensemble of lines (a quartet, a choir) but the tune after
        :data:`LINE_REST_BEATS`."""
        lines = [p for p in range(len(self.polyphony)) if p not in self.doubled]
        if len(lines) <= SMALL_ENSEMBLE and all(self.polyphony[p] <= LINE_POLYPHONY for p in lines):
            return {p: LINE_REST_BEATS for p in lines if p != self.top or not self.tune_led}
        low = self.lowest
        return {low: BASS_REST_BEATS} if low != self.top and self.polyphony[low] > 1 else {}

    def _parts_wait(self, chosen: dict[str, int]) -> np.ndarray | None:
        """The part field's bias toward a part of :attr:`waiting` (:meth:`_waiting_parts`) silent longer than it
        may rest at this instant: WAIT_NATS per beat beyond, at most WAIT_MAX_NATS. A piano's bass or a quartet's
        second violin may breathe; it does not leave the music for bars (one F-major piece's left hand fell
        silent for ten bars, one D-minor quartet's second violin for fifteen). A part resting by plan (a tacet)
        stays out: the plan's mask holds."""
        if self.plan.meter is None or "position_fine" not in chosen:
            return None
        out = None
        now = self._now(chosen)
        for part, beats in self.waiting.items():
            # a hand's two beats are two quarters at most (in 6/8 not two dotted quarters: a whole bar)
            may_rest = beats * min(1.0, TICKS_PER_QUARTER / beat_ticks(self.plan.meter)) if beats == BASS_REST_BEATS \
                else beats
            silent_beats = self._silent_beats(part, now)
            if silent_beats > may_rest:
                out = np.zeros(FIELD_SIZES["part"], dtype=np.float32) if out is None else out
                out[part] = min(WAIT_NATS * (silent_beats - may_rest), WAIT_MAX_NATS)
        return out
