"""Bad and edge-case input met the way a new user or a hostile tester meets it: each case a clear one-line
error (a CadenzaError, exit code 2 at the command line) before any work is done, never a traceback, a wrong
success or a misleading message."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadenza.cli import main
from cadenza.score import Score, write_score


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
