"""An authentic cadence's dominant sounds its leading tone: from the beat where the plan puts the dominant in the bar
before an authentic arrival (:class:`cadenza.compose.cadence_bass.DominantBass`'s target, less a cadential six-four
over the dominant's bass) to the bar line, while no part sounds or has struck the leading tone there, a note of any
part but the bass's own (the lowest part's first note at an instant, the dominant's root) is drawn to it by
:data:`LEADING_TONE_NATS`.

The plan put V7 there and the part-writing rules drew every note to the chord's tones alike (2 nats), the missing
ones first only where a mask asked for a chord tone; yet the leading tone sounded in the last two beats before a
planned authentic arrival in 3 of 18 piano cadences, 14 of 24 chorale cadences, 8 of 14 quartet cadences, 7 of 12
song cadences and 9 of 12 orchestral ones (12 pieces each, 16 bars, seeds 1-12): the dominant was its root and
fifth, an octave, or its seventh alone, and the tonic came after it as after IV. With the pull: 14 of 18, 24 of 24,
12 of 14, 12 of 12 and 12 of 12 (the quartets' two others sound it earlier in the bar, then rest a beat). In
Bach's chorales and the classical masters' cadences the leading tone is in the dominant chord, rising to the tonic
in the upper voice that has it. A bias, not a mask: a part may still rest, and where the part-writing rules'
masks leave no leading tone in reach they stand. At 3 nats the piano's came 12 times in 18.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.compose.constraints import note_onset_ticks
from cadenza.tokens.events import FIELD_SIZES, KIND, F

LEADING_TONE_NATS = 5.0  # a note's pull to the dominant's missing leading tone

_PITCH_PCS = np.arange(FIELD_SIZES["pitch"]) % 12


class CadentialLeadingTone:
    """See the module docstring. ``plan``: the piece's PlanConstraint; ``rules``: its VoiceRules (what sounds, the
    lowest part); ``dominant``: the piece's DominantBass (where the cadential dominant stands)."""

    def __init__(self, plan: Any, rules: Any, dominant: Any) -> None:
        self.plan, self.rules, self.dominant = plan, rules, dominant
        self.struck_at = -1  # the latest tick where a part struck the leading tone

    def _window(self) -> tuple[int, int, int, int] | None:
        """(the dominant's first tick, the bar's end tick, the dominant's pitch class, the leading tone's: its
        major third), or None."""
        target = self.dominant.target()
        return None if target is None else (*target, (target[2] + 4) % 12)

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> None:
        return None

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        if field != "pitch" or chosen.get("kind") != KIND["note"] or (window := self._window()) is None:
            return None
        start, end, dominant, leading = window
        now = note_onset_ticks(self.plan, chosen)
        if not start <= now < end or self.struck_at >= start:
            return None
        chord = self.rules.chord_symbol(now)
        if chord is None or chord.root != dominant:
            return None  # a cadential six-four over the dominant's bass: its upper notes resolve to the leading
            # tone on the dominant's beat, not before
        part = chosen["part"]
        rules = self.rules
        if part == rules.lowest and rules.latest.get(part, (-1, []))[0] != now:
            return None  # the bass's own note: the dominant's root
        if any(p % 12 == leading for notes in rules._sounding(now).values() for p in notes):
            return None
        return np.where(leading == _PITCH_PCS, LEADING_TONE_NATS, 0.0).astype(np.float32)

    def advance(self, step: np.ndarray) -> None:
        """Where a part struck the leading tone inside the window (the plan advances first)."""
        if int(step[F["kind"]]) != KIND["note"] or (window := self._window()) is None:
            return
        now = self.plan.last_onset_ticks
        if now is not None and window[0] <= now < window[1] and int(step[F["pitch"]]) % 12 == window[3]:
            self.struck_at = now
