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


def test_a_stream_follows_control_changes_within_two_bars(untrained: Path) -> None:
    from cadenza.soundtrack.stream import Stream, run_stream

    stream = Stream(untrained, ensemble="piano", seed=3)
    clock = [0.0]  # playback position in seconds: it moves only while the loop waits for playback
    script = [(6.0, {"mood": "tense", "intensity": 0.9}), (14.0, {"mood": "sad"}), (20.0, {"stop": True})]

    def poll() -> list[dict]:
        due = [change for at, change in script if at <= clock[0]]
        script[:] = [(at, change) for at, change in script if at > clock[0]]
        return due

    def sleep(seconds: float) -> None:
        clock[0] += max(seconds, 0.01)

    chunks = []
    result = run_stream(stream, chunks.append, lambda: clock[0], poll, max_s=120, sleep=sleep)
    assert result["chunks"] == len(chunks) and len(result["control_latency_bars"]) == 2  # the stop ends it
    assert result["max_control_latency_bars"] <= 2
    moods = [c.cue.asked.get("mood") for c in chunks]
    tense_from = next(i for i, c in enumerate(chunks) if c.controls and c.controls[0].get("mood") == "tense")
    assert moods[tense_from - 1] == "calm" and chunks[tense_from].cue.tempo_bpm > 120  # intensity 0.9: fast
    assert "sad" in moods[tense_from:] and stream.stopped
    assert all(c.start_bar == i + 1 for i, c in enumerate(chunks))  # one bar a chunk, none lost
    assert stream.writer.score is not None and stream.writer.score.bar_count <= 9  # memory stays bounded


def test_a_lone_valence_or_arousal_keeps_the_other_in_force_and_the_later_of_arousal_and_intensity_wins(
        untrained: Path) -> None:
    from cadenza.compose.request import MOOD_CENTRES
    from cadenza.soundtrack.stream import Stream

    stream = Stream(untrained, ensemble="piano", seed=3)

    def steer(change: dict) -> tuple[float | None, float | None, str]:
        stream.control(change)
        stream._apply()
        segment = stream.segment()
        return segment.valence, segment.arousal, segment.name

    valence, arousal, name = steer({"valence": 0.8})  # it was calm: calm's arousal stays
    assert (valence, arousal) == (0.8, MOOD_CENTRES["calm"][1]) and name.startswith("v+0.8")
    assert steer({"intensity": 1.0})[:2] == (0.8, 1.0)
    assert steer({"arousal": -0.5})[:2] == (0.8, -0.5)  # sent after the intensity: it wins
    assert steer({"intensity": 0.25})[:2] == (0.8, -0.5)  # and an intensity sent later wins again
    assert steer({"mood": "tense"})[2] == "tense"
    assert steer({"arousal": 0.1})[:2] == (MOOD_CENTRES["tense"][0], 0.1)  # the mood's valence stays


def test_cli_stream_reads_controls_from_stdin(untrained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO('{"mood": "joyful"}\nnot json\n{"bogus": 1}\n'))
    out = tmp_path / "live"
    assert main(["soundtrack", "--stream", "--out", str(out), "--model", str(untrained), "--clock", "0",
                 "--max-duration", "30s"]) == 0
    cues = [json.loads(line) for line in (out / "cues.jsonl").read_text().splitlines()]
    assert len(cues) == len(list((out / "chunks").glob("*.mid"))) >= 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["chunks"] == len(cues)


def test_a_theme_returns_in_the_new_key_and_mode_then_develops(untrained: Path) -> None:
    import numpy as np

    from cadenza.score.ops import slice_bars
    from cadenza.soundtrack.themes import in_key

    segments = (Segment(bars=6, mood="joyful", theme="hero"), Segment(bars=4, mood="calm"),
                Segment(bars=6, mood="sad", theme="hero"))
    score, cues = write_soundtrack(Timeline(segments, ensemble="piano", seed=5), untrained)
    assert [c.theme for c in cues] == ["hero", None, "hero"] and [c.theme_return for c in cues] == [False, False,
                                                                                                      True]
    first_key, return_key = Key(*_key_of(cues[0].key)), Key(*_key_of(cues[2].key))
    bar_ticks = int(score.bar_starts()[1])
    stated = slice_bars(score, 0, 2).notes
    returned = slice_bars(score, cues[2].start_bar - 1, cues[2].start_bar + 1).notes
    moved = in_key(stated["pitch"], first_key, return_key)
    head = sorted(zip(stated["onset_ticks"].tolist(), (np.asarray(moved) % 12).tolist(), strict=True))
    heard = sorted(zip(returned["onset_ticks"].tolist(), (returned["pitch"] % 12).tolist(), strict=True))
    first_bar = [n for n in head if n[0] < bar_ticks]
    assert first_bar == [n for n in heard if n[0] < bar_ticks]  # the head's first bar, note for note, in the
    # new key and mode (octaves may move into range); its second bar varied by a note or two
    assert head != heard and len(set(head) ^ set(heard)) <= 3
    assert (returned["velocity"] < 80).all()  # played softly, as the sad return asks


def _key_of(name: str) -> tuple[int, str]:
    from cadenza.compose.request import parse_key

    key = parse_key(name)
    return key.tonic_pc, key.mode


def test_the_repeat_guard_finds_a_passage_written_twice() -> None:
    import numpy as np

    from cadenza.score import read_score
    from cadenza.score.ops import slice_bars
    from cadenza.soundtrack.repeats import RepeatGuard, repetition

    chorale = read_score("music21:bach/bwv66.6")
    passage = slice_bars(chorale, 1, 6)  # five whole bars
    twice = passage.replace(notes=np.concatenate([passage.notes, _shifted(passage.notes, passage.length_ticks)]),
                            length_ticks=2 * passage.length_ticks)
    guard = RepeatGuard()
    guard.remember(passage, 0)
    found = guard.check_for(passage.length_ticks)(twice)
    assert found is not None and found[0] == passage.length_ticks  # from the first bar of the copy
    fresh = RepeatGuard().check_for(passage.length_ticks)(passage)  # nothing new, nothing repeated
    assert fresh is None
    assert repetition(twice)["longest_repeated_bars"] == 5 and repetition(passage)["repeated_window_share"] == 0


def test_a_repeat_that_survives_resampling_is_varied_by_hand() -> None:
    import numpy as np

    from cadenza.score import read_score
    from cadenza.score.ops import slice_bars
    from cadenza.soundtrack.repeats import RepeatGuard, repetition

    chorale = read_score("music21:bach/bwv66.6")
    passage = slice_bars(chorale, 1, 6)
    three = passage.replace(notes=np.concatenate([passage.notes, _shifted(passage.notes, passage.length_ticks),
                                                  _shifted(passage.notes, 2 * passage.length_ticks)]),
                            length_ticks=3 * passage.length_ticks)
    assert repetition(three)["repeated_window_share"] > 0.5
    guard = RepeatGuard()
    guard.remember(passage, 0)
    varied = guard.vary(three, passage.length_ticks)
    assert repetition(varied)["repeated_window_share"] == 0  # the copies are copies no more
    assert guard.check_for(0)(varied) is not None  # and what was written is remembered
    assert 0 < guard.varied_bars <= 6  # one bar in every four-bar window, not the whole passage rewritten
    changed = len(np.setdiff1d(varied.notes, three.notes)) + len(np.setdiff1d(three.notes, varied.notes))
    assert changed <= 3 * guard.varied_bars  # a note or two a varied bar
    assert varied.bar_count == three.bar_count and varied.notes["part"].max() == three.notes["part"].max()


def _shifted(notes, ticks: int):  # noqa: ANN001, ANN202
    out = notes.copy()
    out["onset_ticks"] += ticks
    return out


def test_a_stream_outlives_every_bad_control_and_end_of_input_is_not_a_stop(untrained: Path, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    import io

    bad = ['{"tempo": -120}', '{"tempo": 0}', '{"tempo": NaN}', '{"key": "H# major"}', '{"density": "ultra"}',
           '{"mood": "bouncy"}', '{"mood": ["calm"], "intensity": "x"}', '{"valence": "high"}', '{"valence": null}',
           '{"tempo": "fast"}', '{"epoch": 1850}', '{"intensity": 1' + "0" * 5000 + '}', "[" * 100_000 + "]" * 100_000,
           '{"stop": "no"}', '{"arousal": Infinity}', '"calm"', "[1, 2]", '{"key": 7}']
    lines = [*bad, '{"mood": "sad", "tempo": 90}']
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    out = tmp_path / "live"
    assert main(["soundtrack", "--stream", "--out", str(out), "--model", str(untrained), "--clock", "0",
                 "--max-duration", "40s"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    summary = json.loads(captured.out)
    assert summary["music_s"] >= 40  # the end of input did not stop it: --max-duration did
    cues = [json.loads(line) for line in (out / "cues.jsonl").read_text().splitlines()]
    assert any("sad" in json.dumps(cue) for cue in cues)  # the good control after all the bad ones was heard


def test_a_soundtrack_of_an_epoch_sung_as_songs_is_for_piano_unless_a_song_is_asked() -> None:
    from dataclasses import replace

    romantic = parse_shorthand("romantic calm:20s, baroque tense:20s")
    plain = SoundtrackWriter(romantic)
    assert plain.plan(0)[1].ensemble.name == "piano"  # no singer under a picture (a compose would write a song)
    assert plain.plan(1)[1].ensemble.name == "satb"  # other epochs keep their usual ensemble
    sung = SoundtrackWriter(replace(romantic, ensemble="song"))
    assert sung.plan(0)[1].ensemble.name == "song"


def test_live_events_give_cues_controls_bars_beats_and_notes_in_time_order() -> None:
    from cadenza.score.model import Part, Score, Tempo, TimeSignature
    from cadenza.soundtrack.engine import Cue
    from cadenza.soundtrack.stream import Chunk, chunk_events

    q = 3360
    score = Score.build(parts=[Part("Piano", 0)], notes=[(0, q, 60, 80, 0), (4 * q, 2 * q, 64, 70, 0)],
                        time_signatures=[TimeSignature(0, 3, 4)], tempos=[Tempo(0, 120.0)], length_ticks=6 * q)
    cue = Cue(index=2, name="tense", start_bar=9, bars=2, start_s=12.0, end_s=15.0, asked_start_s=None,
              key="A minor", tempo_bpm=120.0, asked={}, heard={}, adherence={}, originality={}, seconds=0.1)
    chunk = Chunk(index=5, start_s=12.0, start_bar=9, score=score, cue=cue, controls=[{"mood": "tense"}])
    events = chunk_events(chunk)
    assert [e["type"] for e in events[:5]] == ["cue", "control", "bar", "beat", "note"]
    assert events[0] == {"type": "cue", "t": 12.0, "cue": 2, "name": "tense", "bar": 9, "key": "A minor",
                         "tempo_bpm": 120.0, "meter": "3/4"}
    bars = [e for e in events if e["type"] == "bar"]
    beats = [(e["bar"], e["beat"], e["t"]) for e in events if e["type"] == "beat"]
    assert [(b["bar"], b["t"]) for b in bars] == [(9, 12.0), (10, 13.5)]  # 3/4 at 120: a bar is 1.5 s
    assert beats == [(9, 1, 12.0), (9, 2, 12.5), (9, 3, 13.0), (10, 1, 13.5), (10, 2, 14.0), (10, 3, 14.5)]
    notes = [e for e in events if e["type"] == "note"]
    assert [(n["t"], n["pitch"], n["duration_s"]) for n in notes] == [(12.0, 60, 0.5), (14.0, 64, 1.0)]
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
    assert all(e["type"] != "cue" for e in chunk_events(chunk, new_cue=False))  # a cue line only as it begins


def test_a_timelines_numbers_are_checked_by_segment_and_field(tmp_path: Path) -> None:
    """A bar count of 4.5 was cut to 4 without a word; a valence of "x" said Python's "could not convert
    string to float", naming neither the segment nor the field."""
    for body, message in (('bars = 4.5', r"segment 1: bars 4\.5 is not a whole number"),
                          ('bars = 4\nvalence = "x"', "segment 1: valence: 'x' is not a number"),
                          ('bars = 4\ntempo = true', "segment 1: tempo: True is not a number")):
        path = tmp_path / "timeline.toml"
        path.write_text(f"[[segments]]\n{body}\n")
        with pytest.raises(InputError, match=message):
            load_timeline(path)


def test_a_segment_of_unknown_words_beside_its_settings_is_named_in_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    writer = SoundtrackWriter(Timeline((Segment(prompt="zzqx", mood="calm", duration_s=4),)))
    with caplog.at_level("WARNING"):
        writer.plan(0)
        writer.plan(0)
    said = [r.getMessage() for r in caplog.records if "no known words" in r.getMessage()]
    assert said == ["segment 1 'zzqx': no known words in it; written from its other settings"]
