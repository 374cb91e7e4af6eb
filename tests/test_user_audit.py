"""A user audit's robustness and honesty defects, each driven as the user met it: no option silently dropped
(by continue or revise), keys spelled as asked or said otherwise, a prompt's German H, a soundtrack's unknown
words and length, the guard's threshold in the help, an empty output path."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from cadenza import api
from cadenza.cli import main
from cadenza.errors import UsageError

CHORALE = "music21:bach/bwv66.6"  # F# minor, 4/4, four voices, no tempo (120 bpm assumed)


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# ---------------------------------------------------------------- continue: no option silently dropped


@pytest.mark.parametrize("option", [["--key", "F major"], ["--meter", "3/4"], ["--ensemble", "piano"]])
def test_continue_refuses_the_primers_key_meter_and_parts_in_one_line(option: list[str], tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # (where it wrote cadenza-<time>.mid)
    with pytest.raises(SystemExit) as stop:  # (taken and ignored before: the primer's own were written)
        main(["continue", CHORALE, "--bars", "1", *option])
    assert stop.value.code == 2
    err = _one_line_error(capsys)
    assert err.startswith(f"cadenza continue: error: {option[0]}: a continuation keeps the key, meter and parts")


@pytest.mark.parametrize("option", [{"key": "F major"}, {"meter": "3/4"}, {"ensemble": "piano"}])
def test_the_api_continue_refuses_them_too(option: dict[str, str]) -> None:
    with pytest.raises(UsageError, match="a continuation keeps the key, meter and parts"):
        api.continue_(CHORALE, bars=1, no_guard=True, **option)


def test_continue_writes_the_new_bars_at_the_tempo_asked() -> None:
    primer = api.read_score(CHORALE)
    made = api.continue_(primer, bars=1, tempo=60, no_guard=True)
    assert not primer.tempos  # the primer gives none: 120 bpm assumed
    new_bar = int(made.score.bar_starts()[-1])
    assert [(t.onset_ticks, t.bpm) for t in made.score.tempos] == [(new_bar, 60.0)]
    assert made.score.duration_s - float(made.score.seconds_at(new_bar)) == pytest.approx(4.0)  # 4/4 at 60 bpm


def test_a_continuation_at_a_new_tempo_is_not_reported_as_missing_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["continue", CHORALE, "--tempo", "60", "--bars", "2", "--no-guard", "-o", "more.mid"]) == 0
    assert "tempo_class" not in capsys.readouterr().out  # ("not heard as asked: tempo_class (asked adagio, heard
    # allegro)": listen heard the whole piece, at its opening's tempo, the primer's 120 bpm)
    report = json.loads((tmp_path / "more.cadenza.json").read_text(encoding="utf-8"))
    assert report["adherence"]["tempo_class"] == {"asked": "adagio", "heard": "adagio", "met": True,
                                                  "heard_in": "the new bars, at 60 bpm"}
    assert report["heard"]["tempo_class"] == "allegro"  # the piece as heard: from its opening, the primer's


def test_continue_leaves_out_a_key_its_prompt_names_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        made = api.continue_(CHORALE, bars=1, prompt="a sad piece in D major", no_guard=True)
    said = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("prompt: 'D major' -> key=D major, left out: a continuation keeps") for m in said)
    assert made.report["primer"]["labels"]["key"] == "F♯ minor"  # the model is told the primer's key


def test_the_server_refuses_a_continue_job_with_a_meter_when_it_is_posted(tmp_path: Path) -> None:
    from cadenza.serve.jobs import check_job

    with pytest.raises(UsageError, match=r"^meter '3/4': a continuation keeps"):
        check_job({"kind": "continue", "request": {"meter": "3/4", "bars": 4}}, tmp_path)


# ---------------------------------------------------------------- revise: no option silently dropped


@pytest.mark.parametrize(("option", "why"), [
    (["--key", "F major"], api.PRIMER_KEEPS), (["--meter", "3/4"], api.PRIMER_KEEPS),
    (["--ensemble", "piano"], api.PRIMER_KEEPS), (["--tempo", "60"], "revised bars keep the piece's tempo")],
    ids=["key", "meter", "ensemble", "tempo"])
def test_revise_refuses_the_pieces_key_meter_parts_and_tempo_in_one_line(
        option: list[str], why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # (argparse's "unrecognized arguments" before, saying not why)
    with pytest.raises(SystemExit) as stop:
        main(["revise", "piece.mid", "--bars", "2", *option])
    assert stop.value.code == 2
    assert _one_line_error(capsys).startswith(f"cadenza revise: error: {option[0]}: {why}")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("option", "why"), [
    ({"key": "F major"}, "a continuation keeps the key, meter and parts"),
    ({"meter": "3/4"}, "a continuation keeps the key, meter and parts"),
    ({"ensemble": "piano"}, "a continuation keeps the key, meter and parts"),
    ({"tempo": 60}, "revised bars keep the piece's tempo"), ({"duration": "30s"}, "a revision writes again the bars")],
    ids=["key", "meter", "ensemble", "tempo", "duration"])
def test_the_api_revise_refuses_them_too(option: dict[str, object], why: str) -> None:
    with pytest.raises(UsageError, match=f"^{next(iter(option))} .*: {why}"):  # (taken: labels, written nowhere)
        api.revise(CHORALE, "2", versions=1, no_guard=True, **option)


def test_revise_leaves_out_a_key_its_prompt_names_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        made = api.revise(CHORALE, "2", versions=1, prompt="a sad piece in D major", no_guard=True)
    said = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("prompt: 'D major' -> key=D major, left out: a continuation keeps") for m in said)
    assert made.report["primer"]["labels"]["key"] == "A major"  # bar 1 as heard (the model was told D major)
    assert made.report["primer"]["labels"]["mood"] == "sad" and made.report["prompt"]["text"].endswith("D major")



def test_revise_keeps_the_tempo_and_key_changes_of_the_bars_after() -> None:
    """Revising bars 2-3 of a piece that slows to 60 bpm and turns to D major at bar 5 kept neither change: only
    the bars before the revision gave the piece its tempo and key maps."""
    from cadenza.score import KeySignature, Tempo, read_score

    chorale = read_score(CHORALE)
    bar5 = int(chorale.bar_starts()[4])
    changed = chorale.replace(tempos=(Tempo(0, 100.0), Tempo(bar5, 60.0)),
                              key_signatures=(*chorale.key_signatures, KeySignature(bar5, 2, "major")))
    made = api.revise(changed, "2-3", versions=1, no_guard=True).score
    at5 = int(made.bar_starts()[4])
    assert [(t.onset_ticks, t.bpm) for t in made.tempos] == [(0, 100.0), (at5, 60.0)]
    assert (at5, 2) in [(k.onset_ticks, k.sharps) for k in made.key_signatures]


def test_the_server_refuses_a_revise_job_with_a_key_when_it_is_posted(tmp_path: Path) -> None:
    from cadenza.serve.jobs import check_job

    upload = "0" * 32
    (tmp_path / "uploads").mkdir()
    api.convert(CHORALE, tmp_path / "uploads" / f"{upload}.mid")
    body = {"kind": "revise", "source": upload, "request": {"bars": "2", "seed": 1}}
    assert check_job(body, tmp_path)["kind"] == "revise"
    with pytest.raises(UsageError, match=r"^key 'F major': a continuation keeps"):  # (a job that ran and dropped it)
        check_job({**body, "request": {"bars": "2", "key": "F major"}}, tmp_path)


# ---------------------------------------------------------------- keys spelled as asked, or said otherwise


@pytest.mark.parametrize(("asked", "written", "needed"), [
    ("Fb major", "E major", "8 flats"), ("E# major", "F major", "11 sharps"), ("B# major", "C major", "12 sharps"),
    ("E# minor", "F minor", "8 sharps"), ("Cb minor", "B minor", "10 flats")])
def test_a_key_no_signature_writes_is_written_as_its_enharmonic_and_said(
        asked: str, written: str, needed: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        made = api.compose(key=asked, bars=1, no_guard=True)
    spelled = asked.replace("b ", "♭ ").replace("# ", "♯ ")
    assert [r.getMessage() for r in caplog.records] == [
        f"key {spelled} is written as its enharmonic {written} ({spelled} would need {needed} in its signature)"]
    assert made.report["plan"]["key"] == written


def test_cb_major_keeps_its_spelling_and_the_report_says_so() -> None:
    made = api.compose(key="Cb major", bars=1, no_guard=True)
    assert made.score.key_signatures[0].sharps == -7  # (written so before too, but reported as B major)
    assert made.report["plan"]["key"] == "C♭ major"
    assert "key C♭ major: its signature is written so; listen (and the model's label) calls it B major" in \
        made.report["plan"]["prompt_reading"]


def test_a_soundtrack_in_d_flat_major_is_written_in_d_flat_major() -> None:
    from cadenza.soundtrack import Segment, Timeline

    made = api.soundtrack(Timeline((Segment(key="Db major", mood="calm", bars=2),)))
    assert made.score.key_signatures[0].sharps == -5  # (its first segment was written in C# major: 7 sharps)
    assert made.cues[0]["key"] == "D♭ major"


# ---------------------------------------------------------------- a prompt's German H


@pytest.mark.parametrize("words", ["a sad piece in H minor", "a sad piece in h minor"])
def test_a_prompts_german_h_is_read_as_b_and_said(words: str) -> None:
    made = api.compose(prompt=words, bars=1, no_guard=True)  # (no key was read: the mood's A minor was written)
    assert made.report["plan"]["key"] == "B minor" and made.report["plan"]["labels"]["mood"] == "sad"
    assert f"{words[-7:]!r} -> key=B minor (H: the German name of B)" in made.report["plan"]["prompt_reading"]


@pytest.mark.parametrize("words", ["a sad piece in Hb minor", "a sad piece in Q major"])
def test_a_prompts_key_of_an_unknown_tonic_is_not_guessed_and_said(words: str,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):  # (no key was read, and nothing said: the mood's A minor was written)
        made = api.compose(prompt=words, bars=1, no_guard=True)
    tonic, mode = words.split()[-2:]
    line = (f"'{tonic} {mode}': no key read: '{tonic}' is no tonic known (give A to G, with # or b as in F# or Bb; "
            "H alone is read as the German B)")
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("prompt:")] == [f"prompt: {line}"]
    assert line in made.report["plan"]["prompt_reading"]
    assert made.report["plan"]["prompt"]["not_read"] == [line] and "key" not in made.report["plan"]["prompt"]["fields"]


def test_a_german_h_given_as_the_key_option_is_refused_saying_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compose", "--key", "H minor", "--bars", "1"]) == 2
    assert _one_line_error(capsys).endswith("use a note name like D, F#, Bb (H is the German name of B: write B)")


# ---------------------------------------------------------------- a soundtrack: unknown words, and its length


def test_a_soundtrack_timelines_unknown_mood_is_refused_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "st"  # (it warned, and wrote the typo's segment from the defaults)
    assert main(["soundtrack", "--timeline", "calm:4s,tnese:4s", "--out", str(out)]) == 2
    assert _one_line_error(capsys) == ("cadenza: error: segment 2 'tnese': no mood or other word known in it: give "
                                       "a mood (joyful, tense, sad, calm) or words like triumphant, slow, baroque, "
                                       "strings")
    assert not list(out.glob("*"))


@pytest.mark.parametrize("timeline", ["calm:5s", "calm:5s,calm:5s,calm:5s,calm:5s", "calm:30s,tense:20s,joyful:15s"])
def test_a_soundtrack_ends_within_half_a_bar_of_the_length_asked(timeline: str) -> None:
    made = api.soundtrack(timeline)  # (calm:5s ran 7.5 s: a 2-bar phrase at 64 bpm; four of them 30 s, not 20)
    report = made.to_json()
    asked, last = report["timeline"]["asked_duration_s"], report["cues"][-1]
    bar_s = 60 / last["tempo_bpm"] * 4  # the last segment's 4/4 bar
    assert abs(report["result"]["duration_s"] - asked) <= bar_s / 2 + 1e-6
    for cue in report["cues"][1:]:  # each change within a bar of where the timeline puts it
        assert abs(cue["start_s"] - cue["asked_start_s"]) <= 60 / cue["tempo_bpm"] * 4 + 1e-6


def test_a_soundtrack_that_cannot_be_as_short_as_asked_says_how_long_it_runs(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        made = api.soundtrack("calm:1s,tense:1s")
    assert made.to_json()["result"]["duration_s"] == pytest.approx(5.3, abs=0.05)  # a bar each
    assert [r.getMessage() for r in caplog.records] == [
        "the soundtrack runs 5.3 s against the 2.0 s asked: each segment is at least a bar long"]


# ---------------------------------------------------------------- the guard's threshold, one number everywhere


def test_the_shipped_thresholds_named_in_the_help_are_the_shipped_index_calibration() -> None:
    from cadenza.compose.guard import guard_index
    from cadenza.originality.index import SHIPPED_THRESHOLD_NOTES, load_index

    path = guard_index(None)
    assert path is not None and load_index(path).thresholds() == SHIPPED_THRESHOLD_NOTES == {"top": 28, "bass": 29}
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8").split())
    assert "than the threshold (28 notes for a top line, 29 for a bass line with the default model;" in readme


@pytest.mark.parametrize(("command", "option"), [("compose", "--max-shared"), ("check", "--threshold")])
def test_compose_and_check_help_name_the_guards_true_threshold(command: str, option: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    helped = text[text.index(f"{option} NOTES "):]
    assert "28 for a top line, 29 for a bass line" in helped[:400]  # (compose's said 27)
    assert " 27 " not in helped[:400]


# ---------------------------------------------------------------- an empty output path


@pytest.mark.parametrize("args", [
    ["compose", "--bars", "1", "-o", ""], ["continue", CHORALE, "--bars", "1", "--output", ""],
    ["revise", "piece.mid", "--bars", "1", "-o", ""], ["convert", CHORALE, ""],
    ["soundtrack", "--timeline", "calm:4s", "--out", ""], ["bench", "--quick", "--out", ""],
    ["corpus", "index", "--out", ""], ["corpus", "steps", "--out", ""], ["corpus", "stats", "--chart", ""],
    ["eval", "nll", "--out", ""], ["eval", "nll", "--save-ensemble", ""], ["train", "--out", " "],
    ["serve", "--data", ""]], ids=lambda args: " ".join([args[0], *(a for a in args[1:-1] if a in (
        "index", "steps", "stats", "nll", "-o", "--output", "--out", "--chart", "--save-ensemble", "--data"))]))
def test_an_empty_output_path_is_refused_in_one_line(args: list[str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # (compose wrote cadenza-<time>.mid here, a soundtrack its files, convert a traceback)
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = _one_line_error(capsys)
    assert err.startswith(f"cadenza {args[0]}") and "an empty path: give a file or folder name" in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("call", ["soundtrack", "convert", "compose"])
def test_the_api_refuses_an_empty_output_path(call: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="an empty path: give a file or folder name"):
        if call == "soundtrack":
            api.soundtrack("calm:4s", out="")  # (wrote soundtrack.mid and cues.json into the current folder)
        elif call == "convert":
            api.convert(CHORALE, "")  # (Python's ValueError: PosixPath('.') has an empty name)
        else:
            api.compose(bars=1, no_guard=True, output="")
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- train: bad options in one line, no folder left


@pytest.mark.parametrize(("option", "said"), [
    (["--lr", "-1"], "--lr -1.0: give a positive learning rate, e.g. 1e-3"),
    (["--lr", "nan"], "--lr nan: give a positive learning rate, e.g. 1e-3"),
    (["--eval-every", "0"], "--eval-every 0: give 1 or more steps"),
    (["--warmup-steps", "-5"], "--warmup-steps -5: give 0 or more steps")], ids=["lr", "lr-nan", "eval", "warmup"])
def test_train_refuses_a_schedule_it_cannot_follow_in_one_line(option: list[str], said: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path))  # (torch's ValueError and a ZeroDivisionError, as tracebacks;
    # --warmup-steps -5 was taken as 0)
    assert main(["train", "--preset", "tiny", "--max-steps", "2", "--out", str(tmp_path / "run"), *option]) == 2
    assert _one_line_error(capsys) == f"cadenza: error: {said}"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("option", [["--adapter-style", "romantic-piano"], ["--adapter-alpha", "4"]])
def test_train_refuses_an_adapters_option_without_an_adapter(option: list[str], tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path))  # (taken and ignored:
    assert main(["train", "--preset", "tiny", "--max-steps", "2", "--out", str(tmp_path / "run"), *option]) == 2
    assert _one_line_error(capsys) == (f"cadenza: error: {option[0]} goes with --adapter-rank R (a style adapter); "
                                       "without it the whole model is trained")  # the whole model was trained)



def test_an_adapter_run_refuses_resume_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path))  # (--resume was taken, and a fresh adapter trained)
    assert main(["train", "--adapter-rank", "4", "--init", str(tmp_path / "base"), "--resume",
                 "--out", str(tmp_path / "a")]) == 2
    assert "an adapter run keeps no optimizer state and cannot be resumed" in _one_line_error(capsys)
    assert not (tmp_path / "a").exists()

@pytest.mark.parametrize("args", [["--corpus", "nowhere"], ["--resume"]], ids=["no-corpus", "nothing-to-resume"])
def test_a_training_run_that_cannot_start_leaves_no_empty_run_folder(args: list[str], tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # (runs/nowhere-tiny was made, and left empty)
    assert main(["train", "--preset", "tiny", "--max-steps", "2", *args]) == 2
    _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ---------------------------------------------------------------- serve: a --data folder that cannot be made


def test_serve_with_a_data_folder_that_cannot_be_made_is_one_line(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")  # (FileNotFoundError or NotADirectoryError
    data = tmp_path / "a-file" / "data"  # from mkdir, as a traceback)
    assert main(["serve", "--port", "0", "--data", str(data)]) == 2
    assert _one_line_error(capsys) == f"cadenza: error: --data {data}: cannot keep the jobs there: Not a directory"


# ---------------------------------------------------------------- --render stems, as the README says


def test_compose_renders_stems_as_the_readme_lists_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "q.mid"  # (refused: "unknown render format 'stems'", though the API wrote them)
    assert main(["compose", "--bars", "1", "--no-guard", "-o", str(out), "--render", "stems"]) == 0
    assert sorted(p.name for p in (tmp_path / "q-stems").iterdir()) == ["01-Piano.wav", "02-Piano.wav"]
    assert "stems: " in capsys.readouterr().out
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8").split())
    assert "Renders: `mid`, `musicxml`, `wav`, `flac`, `pdf`, `svg`, `png`, `stems`;" in readme


# ---------------------------------------------------------------- soundtrack: the live options without --stream


@pytest.mark.parametrize("option", [["--mood", "tense"], ["--events"], ["--max-duration", "3s"], ["--clock", "0"]])
def test_a_soundtracks_live_options_without_stream_are_refused(option: list[str], tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "st"  # (taken and ignored: the timeline's calm soundtrack was written, and the exit was 0)
    assert main(["soundtrack", "--timeline", "calm:4s", "--out", str(out), *option]) == 2
    assert _one_line_error(capsys) == (f"cadenza: error: {option[0]} goes with --stream (a live soundtrack); a "
                                       "timeline or a story gives its own moods and length")
    assert not out.exists()


def test_a_stream_with_a_bad_max_duration_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "st"  # (refused after OUT/chunks/ was made)
    assert main(["soundtrack", "--stream", "--max-duration", "-1", "--out", str(out)]) == 2
    assert _one_line_error(capsys) == "cadenza: error: duration '-1' is not like 90s, 1:30 or 2m"
    assert not out.exists()


def test_the_server_refuses_a_check_job_with_a_threshold_of_0_when_it_is_posted(tmp_path: Path) -> None:
    from cadenza.serve.jobs import check_job

    upload = "0" * 32
    (tmp_path / "uploads").mkdir()
    api.convert(CHORALE, tmp_path / "uploads" / f"{upload}.mid")
    assert check_job({"kind": "check", "source": upload, "request": {"threshold": 1}}, tmp_path)["kind"] == "check"
    with pytest.raises(UsageError, match=r"^threshold 0: give a whole number, 1 or more$"):  # (a job, which failed:
        check_job({"kind": "check", "source": upload, "request": {"threshold": 0}}, tmp_path)  # "at least 1")


# ---------------------------------------------------------------- corpus steps: nothing written when it fails


def test_corpus_steps_of_a_corpus_without_valid_works_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "home"))
    (tmp_path / "scores").mkdir()
    api.convert(CHORALE, tmp_path / "scores" / "one.mid")  # one work: the train split's
    assert main(["corpus", "build", "--source", str(tmp_path / "scores"), "--name", "one", "--workers", "1"]) == 0
    capsys.readouterr()
    out = tmp_path / "steps"  # (refused once train.npz was written there)
    assert main(["corpus", "steps", "one", "--out", str(out)]) == 2
    assert "has no usable works in its valid split" in _one_line_error(capsys)
    assert not out.exists()


@pytest.mark.parametrize("heldout", ["tset", "train"])
def test_corpus_index_refuses_a_heldout_split_it_cannot_calibrate_on(heldout: str, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "home"))
    (tmp_path / "scores").mkdir()
    api.convert(CHORALE, tmp_path / "scores" / "one.mid")
    assert main(["corpus", "build", "--source", str(tmp_path / "scores"), "--name", "one", "--workers", "1"]) == 0
    capsys.readouterr()  # (a typo calibrated on no pieces, and the default threshold was written as if measured)
    assert main(["corpus", "index", "one", "--heldout", heldout]) == 2
    assert _one_line_error(capsys) == (f"cadenza: error: --heldout {heldout}: give another split than the indexed "
                                       "one (train, valid or test) or none")
    assert not list((tmp_path / "home" / "corpora" / "one").glob("originality*"))


# ---------------------------------------------------------------- train: a run folder's checkpoints kept


def test_a_new_run_into_a_folder_that_holds_one_is_refused_and_overwrite_replaces_it(
        chorale_splits: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cadenza.model.checkpoint import read_config
    from tests.conftest import steps_folder

    run = tmp_path / "run"
    command = ["train", "--steps", str(steps_folder(chorale_splits, tmp_path / "steps")), "--preset", "tiny",
               "--max-steps", "2", "--eval-every", "1", "--batch-size", "2", "--warmup-steps", "1", "--out", str(run),
               "--no-index"]
    assert main(command) == 0
    kept = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    capsys.readouterr()  # (started again without --resume, it replaced last/ and best/ as it trained)
    assert main([*command, "--seed", "1"]) == 2
    assert _one_line_error(capsys) == (f"cadenza: error: {run} already holds a run (last/ and best/): --resume to "
                                       "continue it, another --out to start a new one, or --overwrite to replace it")
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == kept
    assert main([*command, "--seed", "1", "--overwrite"]) == 0
    assert [read_config(run / f)["training"]["config"]["seed"] for f in ("last", "best")] == [1, 1]


# ---------------------------------------------------------------- corpus build: a source of no scores


def test_corpus_build_of_an_empty_folder_is_refused_and_writes_nothing(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "home"))
    (tmp_path / "empty").mkdir()  # (a corpus of 0 works was built, and the exit was 0)
    assert main(["corpus", "build", "--source", str(tmp_path / "empty"), "--name", "e", "--workers", "1"]) == 2
    assert _one_line_error(capsys) == (f"cadenza: error: --source {tmp_path / 'empty'}: no readable scores in it "
                                       "(no .mid, .midi, .kar, .smf, .rmi, .musicxml, .xml, .mxl, .abc, .krn, "
                                       ".json files)")
    assert not (tmp_path / "home").exists()


def test_corpus_build_of_a_folder_of_unreadable_files_is_refused_and_keeps_no_corpus(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "home"))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.mid").write_bytes(b"not a MIDI file")
    assert main(["corpus", "build", "--source", str(tmp_path / "junk"), "--name", "j", "--workers", "1"]) != 0
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (f"cadenza: error: --source {tmp_path / 'junk'}: no readable scores in it (1 work listed, none "
                   "read: CorruptFileError 1); no corpus written")
    assert not (tmp_path / "home" / "corpora" / "j").exists()


def test_resume_with_other_settings_names_each_one_old_and_new(chorale_splits: Any, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import steps_folder

    run = tmp_path / "run"
    command = ["train", "--steps", str(steps_folder(chorale_splits, tmp_path / "steps")), "--preset", "tiny",
               "--max-steps", "2", "--eval-every", "1", "--batch-size", "2", "--warmup-steps", "1", "--out", str(run),
               "--no-index"]
    assert main(command) == 0
    capsys.readouterr()  # ("was started with other settings", naming none)
    assert main([*command, "--resume", "--lr", "5e-4", "--seed", "3", "--max-minutes", "5"]) == 2
    assert _one_line_error(capsys) == (f"cadenza: error: the run in {run} was started with other settings (--seed "
                                       "0 → 3, --lr 0.001 → 0.0005); resume it with the same ones")


# ---------------------------------------------------------------- an unknown option: the command's help named


@pytest.mark.parametrize(("args", "command"), [
    (["check", "x.mid", "--index", "foo"], "cadenza check"), (["corpus", "stats", "--bogus"], "cadenza corpus stats"),
    (["--bogus", "info", "x.mid"], "cadenza")], ids=["check", "corpus-stats", "before-the-command"])
def test_an_unknown_option_names_the_help_of_the_command_it_follows(args: list[str], command: str,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:  # (every one said "see 'cadenza --help'")
        main(args)
    assert stop.value.code == 2
    unknown = " ".join(a for a in args if a.startswith("--") or a == "foo")
    assert _one_line_error(capsys) == (f"{command}: error: unrecognized arguments: {unknown} "
                                       f"(see '{command} --help')")


# ---------------------------------------------------------------- wording: one bar, an analyse job, a 0 s segment


def test_convert_of_one_part_and_one_bar_says_so_in_the_singular(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from cadenza.score import TICKS_PER_QUARTER, Part, Score, write_score

    one = Score.build(parts=[Part("Piano", 0)], notes=[(0, 4 * TICKS_PER_QUARTER, 60, 80, 0)],
                      length_ticks=4 * TICKS_PER_QUARTER)
    write_score(one, tmp_path / "one.mid")
    assert main(["convert", str(tmp_path / "one.mid"), str(tmp_path / "one.json")]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'one.json'} (1 part, 1 bar, 1 note)"  # (1 parts,
    # 1 bars, 1 notes)


def test_the_server_says_an_analyse_job(tmp_path: Path) -> None:
    from cadenza.serve.jobs import check_job

    with pytest.raises(UsageError, match=r"^an analyse job needs a source"):  # (a analyse job)
        check_job({"kind": "analyse", "request": {}}, tmp_path)


@pytest.mark.parametrize("length", ["0s", "0:00"])
def test_a_soundtrack_segment_of_0_s_is_refused_as_too_short(length: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["soundtrack", "--timeline", f"calm:{length}", "--out", str(tmp_path / "st")]) == 2
    assert _one_line_error(capsys) == (f"cadenza: error: timeline item 1: length '{length}': a segment must last "
                                       "more than 0 s")  # ("is not like 90s, 1:30, 2m or 16bars")


def test_convert_help_lists_the_inputs_the_readme_lists(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for suffix in (".kar", ".rmi", ".wav", ".flac", ".mp3", ".ogg", ".aif"):  # (none of them was named)
        assert f"{suffix} " in text


# ---------------------------------------------------------------- MusicXML: overlapping notes of one pitch


def test_overlapping_notes_of_one_pitch_tied_over_a_bar_line_come_back_from_musicxml_whole(tmp_path: Path) -> None:
    from cadenza.score import TICKS_PER_QUARTER as Q
    from cadenza.score import Part, Score, TimeSignature, read_score, write_score
    from tests.conftest import note_tuples

    piece = Score.build(parts=[Part("Piano", 0)], notes=[(2 * Q, 4 * Q, 60, 80, 0), (3 * Q, Q // 2, 60, 80, 0),
                                                          (4 * Q, 3 * Q, 64, 80, 0), (7 * Q, 2 * Q, 64, 80, 0),
                                                          (6 * Q, Q, 64, 80, 0)],
                        time_signatures=[TimeSignature(0, 4, 4)], length_ticks=12 * Q)
    back = read_score(write_score(piece, tmp_path / "p.musicxml"))  # (a note tied over a bar line beside another
    assert note_tuples(back) == note_tuples(piece)  # of its pitch was read back as two: 764 notes as 898 in a file)
