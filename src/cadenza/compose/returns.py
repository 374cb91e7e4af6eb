"""The theme comes back: the repetition scheme of :func:`cadenza.compose.plan.returns` (a a′ b a″) written by
construction. In a returning bar the top part (the melody; in an ensemble written top-down it comes first at
every instant) restates the melody of the bar it returns to — the same onsets, pitches and lengths, and nothing
else — while every other part is written afresh by the model around it, so the return is harmonised anew and
the phrase then goes its own way to its cadence. A bar whose theme has no melody note restates nothing.

Masks, applied through :class:`cadenza.compose.constraints.Stacked` (where another limit leaves no room, that limit
wins and the melody is varied there).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.compose.constraints import step_length_ticks
from cadenza.compose.plan import PHRASE_BARS, returns
from cadenza.tokens.events import FIELD_SIZES, FINE, KIND, F

Theme = dict[int, tuple[int, int]]  # ticks into the bar -> (pitch, length) of the melody's note there


class ThemeReturn:
    """Records the top part's notes in the theme bars and restates them in the returning bars."""

    def __init__(self, plan: Any, bars: int, top_part: int = 0, style: str | None = None,
                 phrase_bars: int = PHRASE_BARS, intro_bars: int = 0) -> None:
        self.plan, self.top = plan, top_part
        self.sources = returns(bars, style, phrase_bars, intro_bars)  # returning bar -> theme bar
        self.themes: dict[int, Theme] = {bar: {} for bar in set(self.sources.values())}
        self.written: set[int] = set()  # theme onsets restated so far in the current bar

    def _theme(self) -> Theme | None:
        source = self.sources.get(self.plan.bars_started - 1)
        theme = self.themes.get(source) if source is not None else None
        return theme or None

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
