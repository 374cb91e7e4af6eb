"""Soundtracks: timelines are read strictly; segments follow one another on phrase boundaries with their
keys and tempi (prepared, not cut); the cue sheet and the files are written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from cadenza.cli import main  # noqa: E402
from cadenza.compose.request import Key  # noqa: E402
from cadenza.errors import InputError, UsageError  # noqa: E402
from cadenza.model.checkpoint import new_model, save_checkpoint  # noqa: E402
from cadenza.soundtrack import SoundtrackWriter, load_timeline, parse_shorthand, repetition, write_soundtrack  # noqa: E402
from cadenza.soundtrack.engine import phrase_bars, related_key  # noqa: E402
from cadenza.soundtrack.timeline import Segment, Timeline  # noqa: E402


@pytest.fixture(scope="module")
def untrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(3)
    return save_checkpoint(new_model("tiny"), tmp_path_factory.mktemp("model") / "tiny")


def test_timelines_are_read_strictly(tmp_path: Path) -> None:
    t = parse_shorthand("calm:90s, tense:1:30, a triumphant march:2m, sad:8bars")
    assert [s.duration_s for s in t.segments] == [90, 90, 120, None] and t.segments[3].bars == 8
    assert t.segments[2].prompt == "a triumphant march" and t.duration_s is None
    for bad in ("", "calm", "calm:soon", "calm:0s"):
        with pytest.raises(UsageError):
            parse_shorthand(bad)
    toml = tmp_path / "t.toml"
    toml.write_text('ensemble = "string-quartet"\nseed = 4\n[[segments]]\nmood = "calm"\nduration = "30s"\n'
                    '[[segments]]\nvalence = -0.5\narousal = 0.7\nbars = 4\nname = "chase"\n')
    loaded = load_timeline(toml)
    assert loaded.ensemble == "string-quartet" and loaded.seed == 4 and loaded.segments[1].name == "chase"
    assert loaded.segments[1].arousal == 0.7 and loaded.segments[0].duration_s == 30
    (tmp_path / "bad.toml").write_text("[[segments]]\nmood = 'calm'\nspeed = 3\nbars = 2\n")
    with pytest.raises(InputError, match="speed"):
        load_timeline(tmp_path / "bad.toml")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(InputError):
        load_timeline(tmp_path / "broken.json")


def test_keys_move_to_the_nearest_key_of_the_mode_asked_and_lengths_are_phrases() -> None:
    c_major = Key(0, "major")
    assert related_key(c_major, Key(9, "minor")) == Key(9, "minor")  # relative minor
    assert related_key(Key(9, "minor"), Key(7, "major")) == c_major  # relative major
    assert related_key(c_major, Key(7, "major")) == c_major  # same mode: stay
    assert phrase_bars(Segment(duration_s=60), 120, 4.0) == 30  # 60 s at 120 bpm in 4/4
    assert phrase_bars(Segment(duration_s=10), 155, 4.0) % 2 == 0


def test_segments_follow_on_with_their_keys_and_tempi(untrained: Path) -> None:
    segments = (Segment(bars=4, mood="calm"), Segment(bars=4, mood="tense"), Segment(bars=2, mood="joyful"))
    timeline = Timeline(segments, ensemble="piano", seed=2)
    score, cues = write_soundtrack(timeline, untrained)
    assert score.bar_count == 10 and [c.start_bar for c in cues] == [1, 5, 9]
    keys = {k.onset_ticks: (k.sharps, k.mode) for k in score.key_signatures}
    starts = score.bar_starts()
    assert keys[int(starts[4])][1] == "minor" and keys[int(starts[8])][1] == "major"  # at the segment starts
    tempos = {t.onset_ticks: t.bpm for t in score.tempos}
    assert tempos[0] < 80 and tempos[int(starts[4])] > 130  # calm is slow, tense fast
    assert cues[1].asked["mood"] == "tense"
    assert cues[1].start_s == pytest.approx(float(score.seconds_at(int(starts[4]))), abs=1e-3)
    assert all(c.originality["checked"] is False for c in cues)  # the tiny model has no index beside it


def test_the_writer_keeps_memory_bounded_by_continuing_a_window(untrained: Path) -> None:
    timeline = Timeline(tuple(Segment(bars=2, mood=m) for m in ("calm", "sad", "calm", "joyful")), seed=1)
    writer = SoundtrackWriter(timeline, untrained)
    for i in range(4):
        writer.add(i)
    assert writer.score is not None and writer.score.bar_count == 8
    stats = repetition(writer.score)
    assert 0 <= stats["repeated_window_share"] <= 1


def test_cli_writes_midi_cue_sheet_and_report(untrained: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "st"
    assert main(["soundtrack", "--timeline", "calm:4bars,tense:2bars", "--out", str(out), "--model", str(untrained),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    cues = json.loads((out / "cues.json").read_text())["cues"]
    assert (out / "soundtrack.mid").is_file() and len(cues) == 2 and report["result"]["bars"] == 6
    assert report["cues"][1]["start_bar"] == 5 and "repetition" in report
    assert main(["soundtrack", "--out", str(out)]) == 2
    assert main(["soundtrack", "--timeline", "calm", "--out", str(out)]) == 2
    assert "WORDS:LENGTH" in capsys.readouterr().err
