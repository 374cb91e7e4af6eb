"""The theme comes back: the repetition scheme of :func:`cadenza.compose.plan.returns` (a a′ b a″) written by
construction. In a returning bar the top part (the melody; in an ensemble written top-down it comes first at
every instant) restates the melody of the bar it returns to — the same onsets, pitches and lengths, and nothing
else — while every other part is written afresh by the model around it, so the return is harmonised anew and
the phrase then goes its own way to its cadence. A bar whose theme has no melody note restates nothing.

A classical or romantic solo keyboard piece's or string quartet's last return may come back an octave higher
(:func:`lifted_bars`, with :data:`LIFT_CHANCE`, seeded), as a piano piece's last strain so often does, and a
quartet's first violin takes its theme's return up the octave: its restated opening an octave up where the whole
of it then stays at or under :data:`LIFT_HIGHEST`, and the tune's usual register (a right hand's, a first
violin's) lifted with it to the end (:class:`cadenza.compose.registers.UsualRegister`), so the phrase goes on up
there rather than dropping back a ninth after its second bar. The piano's top line spanned less than the
sonatas' (the craft benchmark, 32 pieces of 16 bars: median 19 semitones against a real p10-p90 of 20.2-38.2,
the one piano measure outside); with the lift its median is 22.5, its mean pitch 71.2 -> 72.1 (real median
73.1). A quartet's first violin spanned 17 semitones (real 14.9-29.6, median 25); lifted, 19 (20 with the
cello's usual register and the classical sevenths of the same commit).

Masks, applied through :class:`cadenza.compose.constraints.Stacked` (where another limit leaves no room, that limit
wins and the melody is varied there).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.compose.constraints import lasting_at_most, step_length_ticks
from cadenza.compose.plan import PHRASE_BARS, returns
from cadenza.listen.features import skyline
from cadenza.tokens.events import FIELD_SIZES, FINE, KIND, F

Theme = dict[int, tuple[int, int]]  # ticks into the bar -> (pitch, length) of the melody's note there
LIFT_CHANCE = 0.5  # a solo keyboard piece's or quartet's last return comes back an octave up with this chance ...
#: ... in these styles: a pop song's or a folk tune's strain comes back where it was (lifted, 2 of 16 popular
#: piano pieces of 8 bars were heard as classical instead: 9 -> 7 of 16 heard as popular)
LIFT_STYLES = ("classical", "romantic")
LIFT_SEMITONES = 12
LIFT_HIGHEST = 91  # G6: the highest note a lifted theme reaches (a theme that would go higher returns where it was)
_LIFT_STREAM = 0x11F7  # the draw's own random stream beside the piece's seed


def lifted_bars(bars: int, seed: int, style: str | None = None, phrase_bars: int = PHRASE_BARS,
                intro_bars: int = 0) -> frozenset[int]:
    """The returning bars of the piece's last return (:func:`cadenza.compose.plan.returns`) when the seeded draw
    lifts it (:data:`LIFT_CHANCE`, in the styles of :data:`LIFT_STYLES`), else none."""
    if style not in LIFT_STYLES:
        return frozenset()
    sources = returns(bars, style, phrase_bars, intro_bars)
    starts = [bar for bar in sources if bar - 1 not in sources]
    if not starts or np.random.default_rng([seed, _LIFT_STREAM]).random() >= LIFT_CHANCE:
        return frozenset()
    return frozenset(bar for bar in sources if bar >= max(starts))


def restated_up(score: Any, part: int, bar: int, source: int) -> bool:
    """Whether ``part``'s top notes in ``bar`` (0-based) are those of ``source`` :data:`LIFT_SEMITONES` higher,
    at the same places in the bar: the theme returned lifted."""
    starts = [*score.bar_starts().tolist(), score.length_ticks]
    if max(bar, source) + 1 >= len(starts):
        return False
    top = skyline(score.part_notes(part))

    def tops(index: int) -> dict[int, int]:
        inside = top[(top["onset_ticks"] >= starts[index]) & (top["onset_ticks"] < starts[index + 1])]
        return dict(zip((inside["onset_ticks"] - starts[index]).tolist(), inside["pitch"].tolist(), strict=True))

    theme, restated = tops(source), tops(bar)
    return bool(theme) and all(restated.get(at) == pitch + LIFT_SEMITONES for at, pitch in theme.items())


class ThemeReturn:
    """Records the top part's notes in the theme bars and restates them in the returning bars."""

    def __init__(self, plan: Any, bars: int, top_part: int = 0, style: str | None = None,
                 phrase_bars: int = PHRASE_BARS, intro_bars: int = 0, lifted: frozenset[int] = frozenset(),
                 under: frozenset[int] = frozenset()) -> None:
        self.plan, self.top = plan, top_part
        self.under = under  # parts that stay under the melody (an ensemble written top-down): see _longest_under
        self.sources = returns(bars, style, phrase_bars, intro_bars)  # returning bar -> theme bar
        self.themes: dict[int, Theme] = {bar: {} for bar in set(self.sources.values())}
        self.written: set[int] = set()  # theme onsets restated so far in the current bar
        self.lifted = lifted  # returning bars restated an octave up where the theme fits (lifted_bars)
        self.lift: int | None = None  # their semitones, decided at the first of them

    def _theme(self) -> Theme | None:
        bar = self.plan.bars_started - 1
        source = self.sources.get(bar)
        theme = self.themes.get(source) if source is not None else None
        if not theme:
            return None
        lift = self._lift() if bar in self.lifted else 0
        return {at: (pitch + lift, length) for at, (pitch, length) in theme.items()} if lift else theme

    def _lift(self) -> int:
        """The lifted return's semitones: :data:`LIFT_SEMITONES` where the whole theme it restates then stays at
        or under :data:`LIFT_HIGHEST`, else 0; decided once, at its first bar."""
        if self.lift is None:
            pitches = [pitch for bar in self.lifted for pitch, _ in self.themes.get(self.sources[bar], {}).values()]
            self.lift = LIFT_SEMITONES if pitches and max(pitches) + LIFT_SEMITONES <= LIFT_HIGHEST else 0
        return self.lift

    def lift_now(self) -> int:
        """Semitones the tune is lifted in the bar being written: the lifted return's, from its first bar to the
        end of the piece (the phrase goes on in the register it returned in); else 0."""
        return (self.lift or 0) if self.lifted and self.plan.bars_started - 1 >= min(self.lifted) else 0

    def melody_onsets(self) -> set[int] | None:
        """Ticks into the bar being written where the melody may strike: the theme's onsets in a returning bar
        whose theme has notes, None elsewhere (it is free)."""
        theme = self._theme()
        return set(theme) if theme else None

    def _pending(self, after: int) -> int | None:
        """The next theme onset (ticks into the bar) not yet restated, at or after ``after``."""
        theme = self._theme()
        later = [t for t in theme or () if t >= after and t not in self.written]
        return min(later) if later else None

    def _longest_under(self, into: int, pitch: int, theme: Theme) -> int | None:
        """Ticks a note struck ``into`` the bar on ``pitch`` by a part under the melody may last: until the first
        theme note still to come that lies below it (held past it, the part would cross the returning tune, and
        the part-writing rules would bend the tune instead); None: as long as it likes."""
        lower = [at for at, (theme_pitch, _) in theme.items() if at > into and at not in self.written
                 and theme_pitch < pitch]
        return min(lower) - into if lower else None

    def _under_the_theme(self, field: str, chosen: dict[str, int], into: int, theme: Theme) -> np.ndarray | None:
        longest = self._longest_under(into, chosen["pitch"], theme)
        return None if longest is None or longest < FINE else lasting_at_most(field, chosen, longest)

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        theme = self._theme()
        if theme is None:
            return None
        kind = chosen.get("kind")
        if field == "kind":  # the bar is not over before its melody is
            if self._pending(grammar.position) is None:
                return None
            mask = np.ones(FIELD_SIZES["kind"], dtype=bool)
            mask[[KIND["bar"], KIND["eos"]]] = False
            return mask
        if kind != KIND["note"]:
            return None
        if field == "position":  # no note past the next melody onset before the melody note is there
            pending = self._pending(grammar.position)
            if pending is None:
                return None
            return np.arange(FIELD_SIZES["position"]) <= pending // FINE
        if field == "position_fine":
            pending = self._pending(grammar.position)
            if pending is None or chosen["position"] < pending // FINE:
                return None
            return np.arange(FIELD_SIZES["position_fine"]) <= pending % FINE
        if "position_fine" not in chosen:
            return None
        into = chosen["position"] * FINE + chosen["position_fine"]
        if field == "part":  # the melody's instrument plays the melody's notes, first at their instant, and no others
            if into in theme and into not in self.written:
                return np.arange(FIELD_SIZES["part"]) == self.top
            mask = np.ones(FIELD_SIZES["part"], dtype=bool)
            mask[self.top] = False
            return mask
        if field in ("duration", "duration_fine") and chosen.get("part") in self.under and "pitch" in chosen:
            return self._under_the_theme(field, chosen, into, theme)
        if chosen.get("part") != self.top or into not in theme:
            return None
        pitch, length = theme[into]
        if field == "pitch":
            return np.arange(FIELD_SIZES["pitch"]) == pitch
        if field == "duration":
            return np.arange(FIELD_SIZES["duration"]) == min(length // FINE, FIELD_SIZES["duration"] - 1)
        if field == "duration_fine":
            return np.arange(FIELD_SIZES["duration_fine"]) == length % FINE
        return None

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        return None

    def advance(self, step: np.ndarray) -> None:
        kind = int(step[F["kind"]])
        if kind == KIND["bar"]:
            self.written = set()
        if kind != KIND["note"] or int(step[F["part"]]) != self.top:
            return
        bar = self.plan.bars_started - 1
        into = self.plan.last_onset_ticks - self.plan.bar_start_ticks
        if bar in self.themes:
            length = step_length_ticks(step)
            held = self.themes[bar].get(into)
            pitch = int(step[F["pitch"]])
            if held is None or pitch > held[0]:  # the top note of a chord is the melody's
                self.themes[bar][into] = (pitch, length)
        if bar in self.sources:
            self.written.add(into)
