"""Suspensions: an inner voice's note held over a bar line into a chord it does not belong to, a step above one of
that chord's tones, then resolved down to it — the prepared dissonance of chorale and classical cadences.

Left to itself, with the strong-beat rule (:data:`cadenza.compose.rules.STRONG_BEAT_NATS`) making every part
struck on a strong beat fit a chord with what sounds, Cadenza never wrote one: strong-beat sonorities were
chords on 100% of a quartet's strong beats and 97% of a chorale's, against 87% and 92% in the real works; the
model held a note over a strong beat 4 times in 323. So a suspension is *prepared* (:data:`PREPARE_NATS`): a
voice's note struck on a bar's last beat, a chord tone there and a step above a tone of the chord planned
for the next downbeat (and none of its tones), leans to lasting half a beat to a beat past the bar line. On the
downbeat the held note is *heard as a suspension*: the parts struck under it are judged without it (they take
the new chord's tones), and the suspended voice's next note leans to its *resolution*, a step down to the chord
tone (:data:`RESOLUTION_NATS`). Not into a phrase's arrival (the cadence chord is struck whole), nor in the bass,
nor in a chorale's tune (the hymn's, given); only in the styles that write them (:data:`SUSPENSION_STYLES`).

A mixin of :class:`cadenza.compose.rules.VoiceRules`, which calls it from its biases and its ``advance``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.compose.constraints import note_onset_ticks
from cadenza.tokens.events import FIELD_SIZES, FINE

PREPARE_NATS = 3.0  # toward a duration that carries a suspension's note half a beat to a beat past the bar line
RESOLUTION_NATS = 2.0  # toward the step down to the chord tone, for the suspended voice's next note
SUSPENSION_STYLES = ("baroque", "classical", "romantic")  # (a folk tune, a popular song: none)
STEPS_DOWN = (1, 2)  # a suspension lies a semitone or a tone above the tone it resolves to
DURATION_TICKS = np.arange(FIELD_SIZES["duration"]) * FINE


def step_down_to(before: int, chord: Any, nats: float) -> np.ndarray:
    """``nats`` on the pitches a step below ``before`` (:data:`STEPS_DOWN`) that are tones of ``chord``: where a
    dissonance held or struck at ``before`` resolves (a suspension, a seventh)."""
    out = np.zeros(FIELD_SIZES["pitch"], dtype=np.float32)
    for step in STEPS_DOWN:
        if (before - step) % 12 in chord.pcs:
            out[before - step] = nats
    return out


def suspends_into(pitch: int, chord: Any) -> bool:
    """Whether ``pitch`` held into ``chord`` is a suspension: none of its tones, a step above one."""
    return pitch % 12 not in chord.pcs and any((pitch - step) % 12 in chord.pcs for step in STEPS_DOWN)


class SuspensionRules:
    """Prepared, heard and resolved suspensions (see the module docstring)."""

    plan: Any
    harmony: Any
    cadences: Any
    bars: int
    latest: dict[int, tuple[int, list[tuple[int, int]]]]
    polyphony: list[int]
    lowest: int
    top: int
    ordered: bool
    style: str | None
    suspended: dict[int, tuple[int, int, Any]]  # part -> (the downbeat's tick, the pitch it holds, the chord)

    def _beat(self) -> int:
        raise NotImplementedError

    def _bar_index(self) -> int:
        raise NotImplementedError

    def _inner_line(self, part: int) -> bool:
        """Whether ``part`` may hold a suspension: a line above the bass of an ensemble written top-down, in a
        style that writes them; the tune too, but for a chorale's (its hymn tune is given)."""
        if not self.ordered or self.style not in SUSPENSION_STYLES or part == self.lowest:
            return False
        if part == self.top and self.style == "baroque":
            return False
        return part < len(self.polyphony) and self.polyphony[part] <= 2

    def _downbeat_chord(self, bar: int) -> Any:
        """The chord planned for bar ``bar``'s downbeat, None where no suspension may come (no plan yet, the
        piece's end, or a phrase's arrival)."""
        if self.harmony is None or self.cadences is None or not 0 < bar < self.bars - 1:
            return None
        if self.cadences.arrival_at(bar) is not None:
            return None
        return self.harmony.chord_at(bar, 0)

    def preparation_bias(self, chosen: dict[str, int]) -> np.ndarray | None:
        """For the duration of an inner voice's note struck on a bar's last beat that would suspend into the next
        downbeat's chord: PREPARE_NATS toward lasting half a beat to a beat past the bar line."""
        part, beat = chosen.get("part"), self._beat()
        if part is None or not beat or not self._inner_line(part) or not self.plan.bar_ticks_now:
            return None
        bar_end = self.plan.bar_start_ticks + self.plan.bar_ticks_now
        now = note_onset_ticks(self.plan, chosen)
        if bar_end - now != beat:
            return None
        chord = self._downbeat_chord(self._bar_index() + 1)
        if chord is None or not suspends_into(chosen["pitch"], chord):
            return None
        out = np.zeros(FIELD_SIZES["duration"], dtype=np.float32)
        lengths = DURATION_TICKS
        out[(lengths >= beat + beat // 2) & (lengths <= 2 * beat)] = PREPARE_NATS
        return out

    def suspension_pitches(self, now: int) -> set[int]:
        """Pitches an inner voice holds over the downbeat ``now`` (struck before it, still sounding) that suspend
        into the chord planned there; each is recorded for its voice's resolution."""
        if now != self.plan.bar_start_ticks:
            return set()
        chord = self._downbeat_chord(self._bar_index())
        if chord is None:
            return set()
        out = set()
        for part, (onset, notes) in self.latest.items():
            if onset >= now or not self._inner_line(part):
                continue
            for end, pitch in notes:
                if end > now and suspends_into(pitch, chord):
                    out.add(pitch)
                    self.suspended[part] = (now, pitch, chord)
        return out

    def resolution_bias(self, part: int, before: int, now: int) -> np.ndarray | None:
        """For a suspended voice's next note: RESOLUTION_NATS toward the step down to the chord tone. (The record
        goes when the voice strikes again: :meth:`struck`.)"""
        held = self.suspended.get(part)
        if held is None or held[1] != before or now <= held[0]:
            return None
        return step_down_to(before, held[2], RESOLUTION_NATS)

    def struck(self, part: int, now: int) -> None:
        """A note of ``part`` at ``now``: a suspension it held over an earlier downbeat is over."""
        held = self.suspended.get(part)
        if held is not None and now > held[0]:
            del self.suspended[part]
