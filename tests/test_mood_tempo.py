"""A mood's tempo is a pace of the meter's beats (cadenza.compose.mood.beat_tempo, generate.with_beat_tempo)."""

from __future__ import annotations

from pathlib import Path

from cadenza.compose import ComposeRequest, compose
from cadenza.compose.mood import beat_tempo


def test_a_mood_s_tempo_follows_the_felt_beat() -> None:
    """A calm 3/8 piece played its eighths at 64 quarters a minute (16 bars in 22 s) and a joyful 4/2 chorale its
    half notes at 77: every mood's tempo was a pace of quarter notes, whatever the meter."""
    assert beat_tempo(64, 0.5) == 45 and beat_tempo(155, 2.0) == 219 and beat_tempo(155, 1.5) == 190.5
    calm = compose(ComposeRequest(ensemble="piano", mood="calm", meter="3/8", bars=2, seed=1))
    assert [t.bpm for t in calm.score.tempos] == [45.0] and calm.report["plan"]["tempo_bpm"] == 45.0
    asked = compose(ComposeRequest(ensemble="piano", mood="calm", meter="3/8", tempo_bpm=64, bars=2, seed=1))
    assert [t.bpm for t in asked.score.tempos] == [64.0]  # a tempo asked is kept
    plain = compose(ComposeRequest(ensemble="piano", mood="calm", meter="3/4", bars=2, seed=1))
    assert [t.bpm for t in plain.score.tempos] == [64.0]  # a quarter's beat: as before


def test_a_compound_meters_mood_tempo_is_marked_in_whole_dotted_quarters(tmp_path: Path) -> None:
    """A joyful 6/8 piece ran at 190 quarters a minute, 126.67 dotted quarters, which no mark writes: its score
    was marked in quarters (a musician's review: "quarter = 190 in 6/8 in four pieces"). Now 190.5: a dotted
    quarter = 127, re-read as written."""
    import re

    from cadenza.score import read_score, write_score

    made = compose(ComposeRequest(ensemble="piano", mood="joyful", meter="6/8", bars=2, seed=1))
    assert [t.bpm for t in made.score.tempos] == [190.5]
    write_score(made.score, tmp_path / "j.musicxml")
    xml = (tmp_path / "j.musicxml").read_text()
    assert re.search(r"<beat-unit>quarter</beat-unit>\s*<beat-unit-dot\s*/>\s*<per-minute>127</per-minute>", xml)
    assert [t.bpm for t in read_score(tmp_path / "j.musicxml").tempos] == [190.5]
