"""The cases of issue 21 that its audit (tests/test_issue21_cases.py) left open, each driven as a user (or a
crash) would meet it: a training run stopped by Ctrl-C, SIGTERM or SIGHUP before (or between) its checkpoints."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from cadenza.cli import main
from tests.conftest import model_weights, small_run, steps_folder

# ---------------------------------------------------------------- training stopped by a signal


def _same_weights(a: Path, b: Path) -> bool:
    import torch

    want, got = model_weights(a), model_weights(b)
    return want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)


def _signal_at(monkeypatch: pytest.MonkeyPatch, signum: int, at: int) -> None:
    """The process receives ``signum`` in the middle of the optimizer step ``at`` (as from a terminal or kill)."""
    from cadenza.train import loop

    real = loop.train_step

    def signalled(learner: Any, optimizer: Any, config: Any, step: int, *rest: Any) -> Any:
        if step == at:
            os.kill(os.getpid(), signum)
        return real(learner, optimizer, config, step, *rest)

    monkeypatch.setattr(loop, "train_step", signalled)


@pytest.fixture(scope="module")
def whole_run(chorale_splits: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    from cadenza.train.loop import train

    out = tmp_path_factory.mktemp("whole") / "run"
    return out, train(small_run(out, eval_every=4), splits=chorale_splits)


@pytest.mark.parametrize(("stop", "at", "workers"), [
    (signal.SIGINT, 1, 0), (signal.SIGTERM, 1, 0), (signal.SIGHUP, 2, 0), (signal.SIGTERM, 4, 0),
    (signal.SIGINT, 2, 2)], ids=["ctrl-c-before-the-first-checkpoint", "sigterm-before", "sighup-before",
                                 "sigterm-after-the-first-checkpoint", "ctrl-c-with-batch-workers"])
def test_a_run_stopped_by_a_signal_saves_its_step_and_resumes_to_the_uninterrupted_one(
        chorale_splits: Any, whole_run: tuple[Path, dict[str, Any]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, stop: signal.Signals, at: int, workers: int) -> None:
    from cadenza.train.loop import TrainingStopped, train

    whole, summary = whole_run
    run = tmp_path / "run"
    before = signal.getsignal(stop)
    _signal_at(monkeypatch, stop, at)
    with pytest.raises(TrainingStopped) as stopped:
        train(small_run(run, eval_every=4, batch_workers=workers), splits=chorale_splits)
    monkeypatch.undo()
    assert stopped.value.signal_name == stop.name and stopped.value.step == at + 1  # the step under way ends
    state = json.loads((run / "last" / "state.json").read_text(encoding="utf-8"))
    assert state["step"] == at + 1  # saved there, not at the checkpoint before (step 4) or nowhere
    assert sorted(p.name for p in run.iterdir()) == (["best", "last"] if at + 1 >= 4 else ["last"])
    assert signal.getsignal(stop) == before  # the handlers of before the run are back
    resumed = train(small_run(run, eval_every=4, batch_workers=workers), resume=True, splits=chorale_splits)
    assert resumed["steps"] == 6
    assert _same_weights(whole / "last", run / "last") and _same_weights(whole / "best", run / "best")
    history = json.loads((run / "last" / "state.json").read_text(encoding="utf-8"))["history"]
    assert [h["nll_per_step"] for h in history] == [h["nll_per_step"] for h in summary["history"]]


def test_cadenza_train_stopped_by_sigterm_says_in_one_line_how_to_resume(
        chorale_splits: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    steps = steps_folder(chorale_splits, tmp_path / "steps")
    run = tmp_path / "run"
    command = ["train", "--steps", str(steps), "--preset", "tiny", "--max-steps", "6", "--eval-every", "250",
               "--batch-size", "2", "--warmup-steps", "1", "--out", str(run), "--no-index"]
    _signal_at(monkeypatch, signal.SIGTERM, 2)
    assert main(command) == 143
    monkeypatch.undo()
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"cadenza: stopped by SIGTERM at step 3 of 6, saved in {run / 'last'}: run the same "
                       "command with --resume to continue it"), err
    assert "Traceback" not in "\n".join(err)
    assert main([*command, "--resume"]) == 0
    assert json.loads((run / "last" / "state.json").read_text(encoding="utf-8"))["step"] == 6


# ---------------------------------------------------------------- a story's movements already there

STORY = """
title = "Two rooms"
[[events]]
date = 2001
title = "First room"
mood = "calm"
duration = "2bars"
[[events]]
date = 2002
title = "Second room"
mood = "tense"
duration = "2bars"
"""


def test_a_suite_names_the_movements_it_replaces_and_keeps_a_read_only_one_untouched(
        tiny: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from cadenza import api
    from cadenza.errors import OutputError

    story = tmp_path / "story.toml"
    story.write_text(STORY, encoding="utf-8")
    out = tmp_path / "suite"
    api.soundtrack(None, out, model=tiny, seed=1, story=story)
    movements = sorted(p.name for p in (out / "movements").iterdir())
    assert movements == ["01-first-room.mid", "02-second-room.mid"]
    (out / "movements" / "03-an-older-suite.mid").write_bytes(b"MThd")  # left by another story
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cadenza.api"):
        api.soundtrack(None, out, model=tiny, seed=2, story=story)
    replacing = [r.getMessage() for r in caplog.records if "replacing what is there" in r.getMessage()]
    assert replacing and all(name in replacing[0] for name in movements), caplog.text
    assert "does not write, kept: 03-an-older-suite.mid" in caplog.text
    (out / "movements" / "02-second-room.mid").chmod(0o444)  # the user keeps this one
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(OutputError, match=r"02-second-room\.mid exists and is read-only: not replaced"):
        api.soundtrack(None, out, model=tiny, seed=3, story=story)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing written at all


# ---------------------------------------------------------------- a long MusicXML score read in time


def test_music21_reads_a_long_musicxml_score_in_time_that_grows_with_its_measures(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """music21 re-measured a part at every measure it inserted (quadratic: 2,000 measures took 9 s, 9,999 ran
    past their time limit); counted in the offsets it looks up, the work now doubles when the measures do.
    (tests/hostile.py's 9,999-measure file, inside the 10,000-measure limit, must now read: x07c.)"""
    from music21 import stream

    from cadenza.score import ReadLimits
    from cadenza.score.read import _parse_notation_quietly
    from tests.hostile import _long_score

    looked_up = [0]
    real = stream.Stream.elementOffset

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        looked_up[0] += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(stream.Stream, "elementOffset", counted)
    work = {}
    for measures in (400, 800):
        looked_up[0] = 0
        score, _ = _parse_notation_quietly(_long_score(measures), "musicxml", ReadLimits(), "long")
        assert len(score.notes) == measures
        work[measures] = looked_up[0]
    assert work[800] <= 2.3 * work[400], work  # quadratic: 3.9 times


# ---------------------------------------------------------------- a corpus build commits what it read at once


def test_a_corpus_build_commits_each_work_read_within_seconds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kill -9 of a build loses only what was read in the last few seconds: on a clock that moves 2 s per
    work read, every work read 7 s before any moment is in the log by then (it waited up to 60 s)."""
    import time
    import types

    import cadenza.corpus.build as build
    from cadenza.corpus import BuildConfig, CorpusStore, build_corpus

    clock = [1_000_000.0]
    monkeypatch.setattr(build, "time", types.SimpleNamespace(time=lambda: clock[0], strftime=time.strftime))
    store = CorpusStore("soon", home=tmp_path)
    seen: list[tuple[float, int, int]] = []  # (when, works read, works in the log)

    def progress(done: int, total: int) -> None:
        seen.append((clock[0], done, sum(1 for _ in store.read_log())))
        clock[0] += 2.0  # the next work takes 2 s

    report = build_corpus(BuildConfig(name="soon", sources=("music21",), limit=16, workers=1, chunk_size=1),
                          progress=progress, home=tmp_path)
    assert report["works_read_now"] == 16 and len(seen) == 17
    for when, _, logged in seen:
        read_by = max((done for t, done, _ in seen if t <= when - 7.0), default=0)
        assert logged >= read_by, (when - seen[0][0], logged, read_by, seen)
    shards = len(list((store.folder / "shards").glob("*.npz")))
    assert 3 <= shards <= 6, shards  # a shard every few seconds of reading, not one per work
