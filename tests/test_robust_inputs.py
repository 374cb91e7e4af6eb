"""Bad and edge-case input met the way a new user or a hostile tester meets it: each case a clear one-line
error (a CadenzaError, exit code 2 at the command line) before any work is done, never a traceback, a wrong
success or a misleading message."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadenza.cli import main
from cadenza.score import Score, write_score
from cadenza.score.read import read_score


@pytest.fixture()
def primer(tmp_path: Path, waltz: Score) -> Path:
    path = tmp_path / "primer.mid"
    write_score(waltz, path)
    return path


def test_continue_with_zero_bars_is_refused_not_eight_bars_written(primer: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "more.mid"
    assert main(["continue", str(primer), "--bars", "0", "-o", str(out)]) == 2
    assert "bars: give 1 to 2000" in capsys.readouterr().err
    assert not out.exists()


def test_revising_bars_after_silent_opening_bars_says_where_the_music_starts() -> None:
    from cadenza import revise
    from cadenza.errors import UsageError
    from cadenza.score import TICKS_PER_QUARTER as Q
    from cadenza.score import Part, TimeSignature

    bar = 4 * Q  # a song whose first two bars are silent, as many MIDI files begin
    late = Score.build(parts=[Part("Piano", 0)], notes=[(2 * bar + i * Q, Q, 60 + i, 80, 0) for i in range(8)],
                       time_signatures=[TimeSignature(0, 4, 4)], length_ticks=4 * bar)
    with pytest.raises(UsageError, match=r"hold no notes to follow \(the music starts in bar 3\)"):
        revise(late, "2")


def test_a_duration_of_one_minute_ninety_nine_is_refused_not_read_as_159_seconds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cadenza.compose.request import parse_duration

    assert parse_duration("1:59") == 119
    out = tmp_path / "long.mid"
    assert main(["compose", "--duration", "1:99", "-o", str(out)]) == 2
    assert "duration '1:99': the seconds after ':' run from 00 to 59" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_a_device_or_a_pipe_is_named_as_such_not_called_empty(kind: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import os

    path = tmp_path / "piece.mid"
    if kind == "device":
        path.symlink_to("/dev/zero")  # endless bytes behind a size of 0
    else:
        os.mkfifo(path)  # reading would wait for a writer
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path} is a device, pipe or socket, not a score file" in err and "empty" not in err


@pytest.mark.parametrize(("options", "message"), [
    ({"bars": "8"}, "bars '8': expected a whole number"),
    ({"bars": 2.5}, "bars 2.5: expected a whole number"),
    ({"bars": True}, "bars True: expected a whole number"),
    ({"key": 5}, "key 5: expected text"),
    ({"meter": (3, 4)}, "meter (3, 4): expected text"),
    ({"mood": 1}, "mood 1: expected text"),
    ({"ensemble": ["piano"]}, "ensemble ['piano']: expected text"),
    ({"prompt": b"a waltz"}, "prompt b'a waltz': expected text"),
    ({"tempo": "fast"}, "tempo_bpm 'fast': expected a number"),
    ({"seed": "1"}, "seed '1': expected a whole number"),
    ({"seed": 1.5}, "seed 1.5: expected a whole number"),
    ({"candidates": 1.5}, "candidates 1.5: expected a whole number"),
    ({"top_p": None}, "top_p None: expected a number"),
    ({"duration": [90]}, "duration_s [90]: expected a number"),
    ({"no_guard": "no"}, "no_guard 'no': expected true or false"),
    ({"like": "music21:bach/bwv66.6", "like_strength": "a"}, "like strength: give 0 to 1"),
    ({"output": 5}, "output: give a file path (str or Path), not int 5"),
    ({"model": 5}, "model: give a file path (str or Path), not int 5"),
    ({"like": 5}, "give a score file's path (str or Path) or a music21: reference, not int 5"),
])
def test_the_api_refuses_a_wrong_type_with_a_usage_error_naming_the_option(options: dict[str, object],
                                                                            message: str) -> None:
    import cadenza
    from cadenza.errors import UsageError

    with pytest.raises(UsageError) as refused:
        cadenza.compose(**options)  # type: ignore[arg-type]
    assert message in str(refused.value)


def test_the_api_refuses_a_request_of_another_type_or_beside_keywords() -> None:
    import cadenza
    from cadenza.compose import ComposeRequest
    from cadenza.errors import UsageError

    with pytest.raises(UsageError, match="give a ComposeRequest or keywords"):
        cadenza.compose("a sad waltz")
    with pytest.raises(UsageError, match=r"key 5: expected text"):
        cadenza.compose(ComposeRequest(key=5))  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"not both \(bars beside a request\)"):  # bars=4 was ignored
        cadenza.compose(ComposeRequest(key="D minor"), bars=4)


def test_the_api_refuses_wrong_types_for_files_bars_and_limits(primer: Path, tmp_path: Path) -> None:
    import cadenza
    from cadenza.errors import UsageError

    for call in (lambda: cadenza.info(5), lambda: cadenza.analyse(None), lambda: cadenza.info(b"x.mid")):
        with pytest.raises(UsageError, match="give a score file's path"):
            call()
    with pytest.raises(UsageError, match="write_score: give a Score to write"):
        cadenza.write_score(str(primer), tmp_path / "copy.mid")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"bars '2': expected a whole number"):
        cadenza.continue_(primer, bars="2")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"bars \[2, 3\]: give the bars to write again"):
        cadenza.revise(primer, [2, 3])  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="versions: give 1 to 16"):
        cadenza.revise(primer, "2", versions="2")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="limit max_notes 'x': expected a number"):
        cadenza.ReadLimits(max_notes="x")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="limit max_notes must be positive"):
        cadenza.ReadLimits(max_notes=-1)


def test_formats_as_one_string_are_read_as_names_not_letters(tmp_path: Path) -> None:
    import cadenza
    from cadenza.errors import UsageError

    with pytest.raises(UsageError, match="unknown render format 'nope'"):  # was: 'n'
        cadenza.compose(bars=2, output=tmp_path / "x.mid", formats="nope")  # type: ignore[arg-type]


def test_a_prompt_over_ten_thousand_characters_is_refused_before_its_slow_embedding(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import random

    rng = random.Random(0)
    garbage = "".join(chr(rng.randint(33, 255)) for _ in range(100_000))  # no known words: every phrase embedded
    out = tmp_path / "p.mid"
    assert main(["compose", "--prompt", garbage, "--bars", "2", "-o", str(out)]) == 2  # took over a minute
    assert "prompt: give at most 10,000 characters (a few words are enough), not 100,000" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(("meter", "message"), [
    ("999/4", "meter '999/4': bars must be shorter than 16 quarter notes"),  # was: "is not like 3/4"
    ("7/128", "meter '7/128': the denominator must be 1, 2, 4, 8, 16 or 32"),
    ("3/4/4", "meter '3/4/4' is not like 3/4"),
])
def test_a_meter_out_of_range_is_told_what_is_wrong_with_it(meter: str, message: str) -> None:
    from cadenza.compose.request import parse_meter
    from cadenza.errors import UsageError

    with pytest.raises(UsageError) as refused:
        parse_meter(meter)
    assert str(refused.value) == message


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_output_folder_that_refuses_files_is_found_before_composing(monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    def composed(*args: object, **kwargs: object) -> None:
        raise AssertionError("composed before finding that the output cannot be written")

    monkeypatch.setattr(sys.modules["cadenza.compose"], "compose", composed)
    assert main(["compose", "--bars", "2", "-o", "/proc/x.mid"]) == 2
    assert "cannot write /proc/x.mid" in capsys.readouterr().err


def test_a_parsers_error_names_no_music21_objects(tmp_path: Path) -> None:
    from cadenza.errors import InputError

    words = tmp_path / "words.abc"
    words.write_text("just some words\nno header\n")  # its error went on "tPrev: None, token: <music21.abc...>"
    with pytest.raises(InputError) as caught:
        read_score(words)
    assert "music21 cannot parse this abc file" in str(caught.value) and "<music21." not in str(caught.value)
    assert "tPrev" not in str(caught.value)
