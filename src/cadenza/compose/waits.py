"""Rests, waits and pace, as biases on the part field: the melody's part is drawn back in once it has been silent
a beat (more strongly until it has begun: the tune opens the piece), and so are a keyboard's left hand after two
beats and the other lines of a small ensemble of lines after four; a part may breathe, it does not leave the
music for bars. A bass line keeps pace with the tune rather than running ahead of it (:meth:`_bass_pace`), and
at a phrase's arrival every line of a quartet or a choir strikes or holds the chord (:meth:`_arrival_missing`). A
mixin of :class:`cadenza.compose.rules.VoiceRules`, whose state (``latest``, ``plan``,
``polyphony``, ``top``, ``lowest`` ...) it reads.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.compose.constraints import beat_ticks
from cadenza.compose.suspensions import DURATION_TICKS
from cadenza.score.model import TICKS_PER_QUARTER
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
BASS_PACE_SLACK = 2  # onsets a bass line may strike in a bar beyond the tune's before it pays (see _bass_pace)
BASS_PACE_NATS = 3.0  # per onset beyond, away from the bass line
BASS_PACE_MAX_NATS = 9.0
ONSETS_KEPT = 32  # a part's latest onset instants remembered (a bar of sixteenths, twice)


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
    onsets: dict[int, list[int]]  # part -> its latest onset instants (ticks), oldest first
    line_over_chords: bool

    def _now(self, chosen: dict[str, int]) -> int:
        raise NotImplementedError

    def _cadence_chords(self) -> tuple[Any, Any, Any]:
        raise NotImplementedError

    def _final_bar(self) -> bool:
        raise NotImplementedError

    def _sounding(self, now: int) -> dict[int, list[int]]:
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
        :data:`LINE_REST_BEATS`, and so a song's right hand (real Lieder's right hand is silent in 19 of 688
        bars, their first 16; ours was in 25 of 192: 12 songs of 16 bars, seeds 1-6, no mood and calm)."""
        lines = self._small_ensemble_lines()
        if lines:
            return {p: LINE_REST_BEATS for p in lines if p != self.top or not self.tune_led}
        low = self.lowest
        waits = {low: BASS_REST_BEATS} if low != self.top and self.polyphony[low] > 1 else {}
        if self.line_over_chords:  # a song's right hand under the voice: after a bar's rest at most
            waits.update({p: LINE_REST_BEATS for p in range(len(self.polyphony))
                          if p not in (self.top, low) and p not in self.doubled and self.polyphony[p] > LINE_POLYPHONY})
        return waits

    def _small_ensemble_lines(self) -> list[int]:
        """The parts of a small ensemble of lines (a quartet, a choir: at most :data:`SMALL_ENSEMBLE` parts, each
        starting at most :data:`LINE_POLYPHONY` notes at once), or [] for any other ensemble."""
        lines = [p for p in range(len(self.polyphony)) if p not in self.doubled]
        return lines if len(lines) <= SMALL_ENSEMBLE and all(self.polyphony[p] <= LINE_POLYPHONY for p in lines) \
            else []

    def _arrival_missing(self, grammar: Any) -> list[int]:
        """The lines of a small ensemble of lines that a phrase's arrival (its last bar's downbeat, the final
        bar's aside) still lacks: each does not sound there and may still come at this instant (parts come in
        score order). The cadence is a chord: a D-minor quartet arrived on the first violin's and the cello's D
        alone, its inner parts came in a beat later with the leading tone over the tonic, and ``listen`` heard no
        cadence there. Only they may strike there now (a part that sounds already added a second to its note)."""
        if grammar.position or self._cadence_chords()[0] is None or self._final_bar():
            return []
        lines = self._small_ensemble_lines()
        if not lines:
            return []
        after = grammar.last_order[1] if grammar.last_order[0] >= 0 else -1  # parts already struck here
        sounding = self._sounding(self.plan.bar_start_ticks)
        return [p for p in lines if p > after and not sounding.get(p)]

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

    def _note_instant(self, part: int, now: int) -> None:
        """``part`` strikes a new instant at ``now`` (for :meth:`_bass_pace`)."""
        mine = self.onsets.setdefault(part, [])
        mine.append(now)
        if len(mine) > ONSETS_KEPT:
            del mine[0]

    def _paced_bass(self) -> int | None:
        """The part whose pace :meth:`_bass_pace` holds: the bass line of an ensemble of lines led by a tune (a
        quartet's cello, an orchestra's cellos and basses, a choir's basses); None for a keyboard's left hand
        (a song's, under a line over chords), whose running figures (an Alberti bass) are its idiom."""
        low = self.lowest
        if not self.tune_led or self.line_over_chords or low == self.top or low >= len(self.polyphony) \
                or self.polyphony[low] > LINE_POLYPHONY:
            return None
        return low

    def _bass_pace(self, chosen: dict[str, int]) -> np.ndarray | None:
        """The part field's bias away from a bass line (:meth:`_paced_bass`) that would strike a new instant when
        it has struck more than :data:`BASS_PACE_SLACK` more in the bar before than the tune: BASS_PACE_NATS per
        onset beyond, at most BASS_PACE_MAX_NATS. Where a lively mood asks for many notes, ours gave them to the
        bass: the cellos and basses of a joyful orchestra ran sixteenths (9 onsets a bar, median) under a first
        violin with 1, faster than the tune in 97% of the bars; real quartets' bass outruns the tune so in 7% of
        the bars (median; 35% at the 90th percentile, in fugal finales)."""
        low = self._paced_bass()
        if low is None or self.plan.meter is None or "position_fine" not in chosen:
            return None
        now = self._now(chosen)
        if self.latest.get(low, (-1, []))[0] == now:  # another note of the bass's chord: no new onset
            return None
        beyond = self._bass_lead(low, now) + 1 - BASS_PACE_SLACK
        if beyond <= 0:
            return None
        out = np.zeros(FIELD_SIZES["part"], dtype=np.float32)
        out[low] = -min(BASS_PACE_NATS * beyond, BASS_PACE_MAX_NATS)
        out[self.top] = min(BASS_PACE_NATS * beyond, BASS_PACE_MAX_NATS) / 2  # the tune takes the onset
        return out

    def _bass_lead(self, low: int, now: int) -> int:
        """Onsets of the bass line in the bar before ``now`` beyond the tune's."""
        since = now - (self.plan.bar_ticks_now or 4 * TICKS_PER_QUARTER)
        return sum(1 for t in self.onsets.get(low, ()) if t > since) - sum(
            1 for t in self.onsets.get(self.top, ()) if t > since)

    def _bass_pace_durations(self, chosen: dict[str, int]) -> np.ndarray | None:
        """For a note of the bass line that strikes at the pace's limit (:meth:`_bass_pace`): BASS_PACE_NATS
        against lasting less than a beat. Where the other parts hold
        their notes, the bass was the only part free to strike at the next sixteenth the density asked for; held,
        it leaves that onset to a part above it."""
        low = self._paced_bass()
        if low is None or chosen.get("part") != low or self.plan.meter is None or "position_fine" not in chosen:
            return None
        now = self._now(chosen)
        if self.latest.get(low, (-1, []))[0] == now or self._bass_lead(low, now) + 1 < BASS_PACE_SLACK:
            return None
        out = np.zeros(FIELD_SIZES["duration"], dtype=np.float32)
        out[beat_ticks(self.plan.meter) > DURATION_TICKS] = -BASS_PACE_NATS  # shorter than a beat
        return out
