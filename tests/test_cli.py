"""The command line as a user meets it: the issue's commands, --help everywhere, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cadenza.cli import main
from cadenza.score import read_score
from tests.conftest import note_tuples


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cadenza", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def test_issue_commands_convert_chorale_to_midi_then_musicxml(tmp_path: Path) -> None:
    first = run_cli("convert", "music21:bach/bwv66.6", "a.mid", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run_cli("convert", "a.mid", "a.musicxml", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "wrote a.musicxml (4 parts" in second.stdout
    assert note_tuples(read_score(tmp_path / "a.musicxml")) == note_tuples(read_score(tmp_path / "a.mid"))


def test_info_json_describes_the_chorale() -> None:
    result = run_cli("info", "music21:bach/bwv66.6", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["key_signature"] == "F♯ minor" and info["meter"] == "4/4"
    assert info["part_count"] == 4 and info["notes"] == 163 and info["bars"] == 10
    assert [p["name"] for p in info["parts"]] == ["Soprano", "Alto", "Tenor", "Bass"]


def test_info_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "music21:essenFolksong/altdeu10#3"]) == 0
    out = capsys.readouterr().out
    assert "key signature  A major" in out and "notes          23" in out


@pytest.mark.parametrize("command", [[], ["info"], ["convert"]])
def test_help_everywhere(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main([*command, "--help"])
    assert stop.value.code == 0
    assert "usage: cadenza" in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["info", "missing.mid"], "no such file"),
        (["info", "music21:nobody/nothing"], "no work"),
        (["convert", "music21:bach/bwv66.6", "out.wav"], "cannot write .wav"),
        (["convert", "music21:bach/bwv66.6", "no/such/folder/x.mid"], "does not exist"),
        (["info", "music21:bach/bwv66.6", "--tune", "2"], "(--tune N, or #N after a music21: reference) applies to"),
        (["info", "music21:bach/bwv66.6#2"], "(--tune N, or #N after a music21: reference) applies to multi-tune ABC"),
        (["info", "music21:essenFolksong/altdeu10", "--tune", "99999"], "no tune with X:99999"),
        (["info", "music21:bach/bwv66.6", "--max-notes", "10"], "--max-notes"),
        (["info", "music21:bach/bwv66.6", "--max-notes", "-1"], "must be positive"),
    ],
)
def test_user_mistakes_give_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("cadenza: error:") and message in err


def test_bad_file_via_real_process_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.musicxml"
    bad.write_text("<score-partwise><part-list></part-list><part id='P1'><measure>")
    result = run_cli("info", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith("cadenza: error: not well-formed XML")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_convert_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t.mxl"
    assert main(["convert", "music21:essenFolksong/altdeu10", str(out), "--tune", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["output"] == str(out) and report["notes"] == 23
    assert out.read_bytes()[:2] == b"PK"


def test_a_requested_file_that_is_not_written_fails_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    from importlib import import_module

    from cadenza.render.pipeline import RenderResult

    render_stage = import_module("cadenza.render")  # (``cadenza.render`` is also the API's function)

    def full_disk(score: object, base: object, formats: object) -> RenderResult:
        failed = RenderResult()
        failed.errors["wav"] = "cannot write: No space left on device"
        return failed

    monkeypatch.setattr(render_stage, "render", full_disk)
    code = main(["compose", "--ensemble", "solo", "--bars", "2", "--seed", "1", "-o", str(tmp_path / "p.mid"),
                 "--render", "musicxml,wav"])
    captured = capsys.readouterr()
    assert code == 1 and "wav not written: cannot write" in captured.out and "cadenza: error: wav" in captured.err
    assert (tmp_path / "p.mid").is_file() and (tmp_path / "p.musicxml").is_file()  # the rest is still written


def test_a_stop_that_arrives_once_the_command_is_done_exits_with_the_commands_code(tmp_path: Path) -> None:
    """SIGTERM while the process winds down after its command (worker pools and caches closing) is not a kill:
    the work is done and written, so the process ends at once with the command's own code (0 here), where it
    used to die of the signal (-15) because the command line's handlers were already gone."""
    import os

    script = ("import os, signal, sys, time\n"
              "from cadenza.cli import main\n"
              "sys.argv = ['cadenza', 'styles']\n"
              "code = main()\n"
              "os.kill(os.getpid(), signal.SIGTERM)\n"
              "time.sleep(10)\n"
              "sys.exit(99)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "CADENZA_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-500:]
    assert "classical" in done.stdout and "Traceback" not in done.stderr
