"""A mood's tempo is a pace of the meter's beats (cadenza.compose.mood.beat_tempo, generate.with_beat_tempo)."""

from __future__ import annotations

from cadenza.compose import ComposeRequest, compose
from cadenza.compose.mood import beat_tempo


def test_a_mood_s_tempo_follows_the_felt_beat() -> None:
    """A calm 3/8 piece played its eighths at 64 quarters a minute (16 bars in 22 s) and a joyful 4/2 chorale its
    half notes at 77: every mood's tempo was a pace of quarter notes, whatever the meter."""
    assert beat_tempo(64, 0.5) == 45 and beat_tempo(155, 2.0) == 219 and beat_tempo(155, 1.5) == 190
    calm = compose(ComposeRequest(ensemble="piano", mood="calm", meter="3/8", bars=2, seed=1))
    assert [t.bpm for t in calm.score.tempos] == [45.0] and calm.report["plan"]["tempo_bpm"] == 45.0
    asked = compose(ComposeRequest(ensemble="piano", mood="calm", meter="3/8", tempo_bpm=64, bars=2, seed=1))
    assert [t.bpm for t in asked.score.tempos] == [64.0]  # a tempo asked is kept
    plain = compose(ComposeRequest(ensemble="piano", mood="calm", meter="3/4", bars=2, seed=1))
    assert [t.bpm for t in plain.score.tempos] == [64.0]  # a quarter's beat: as before
