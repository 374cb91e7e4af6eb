"""What training draws: styles balanced and duplicates counted once, and batches made ahead in worker
processes that equal the ones made in line (so a GPU run fed by workers resumes exactly, and learns what a
run without workers learns)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cadenza.corpus import CorpusStore  # noqa: E402
from cadenza.corpus.balance import balanced_weights, style_shares  # noqa: E402
from cadenza.model.checkpoint import load_checkpoint  # noqa: E402
from cadenza.train.data import BatchConfig, load_steps, prepare_split, save_steps  # noqa: E402
from cadenza.train.loop import TrainConfig, train  # noqa: E402
from cadenza.train.prefetch import BatchStream, step_batch  # noqa: E402
from tests.conftest import MUSIC21_CORPUS, music21_corpus_home, train_killed_at  # noqa: E402


def test_balance_tempers_a_dominant_style_and_shares_duplicate_draws() -> None:
    styles = ["folk"] * 90 + ["classical"] * 10
    lengths = np.array([100] * 90 + [100] * 10)
    plain = balanced_weights(styles, lengths, power=1.0)
    assert np.allclose(plain, 1 / 100)  # power 1: in proportion to length, as without balance
    shares = style_shares(styles, balanced_weights(styles, lengths, power=0.5), lengths, context=512)
    assert shares["classical"] == pytest.approx(0.25, abs=1e-3)  # sqrt(.1) / (sqrt(.9) + sqrt(.1))
    equal = style_shares(styles, balanced_weights(styles, lengths, power=0.0), lengths, context=512)
    assert equal["classical"] == pytest.approx(0.5)
    # a style of short tunes and one of long movements: each draw of a movement delivers a whole window, so
    # the tunes are drawn more often for the same share of steps
    mixed = ["folk"] * 50 + ["romantic"] * 5
    sizes = np.array([100] * 50 + [5000] * 5)
    kept = style_shares(mixed, balanced_weights(mixed, sizes, power=1.0, context=512), sizes, context=512)
    assert kept["folk"] == pytest.approx(5000 / 30000, abs=1e-3)  # power 1: the corpus' own proportions
    copies = np.array([1] * 88 + [2, 2] + [1] * 10)  # the last two folk works are one piece in two encodings
    w = balanced_weights(styles, lengths, copies, power=1.0)
    assert w[88] == pytest.approx(w[0] / 2) and w.sum() == pytest.approx(1.0)


@pytest.fixture(scope="module")
def corpus(music21_home: Path) -> Iterator[Path]:
    yield from music21_corpus_home(music21_home)


def test_steps_files_round_trip_with_styles(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(corpus))
    data = prepare_split(CorpusStore(MUSIC21_CORPUS), "train")
    assert len(data.styles) == data.works and set(data.styles) <= {"folk", "baroque", "renaissance", "classical",
                                                                   "romantic", "medieval", "modern", "popular"}
    save_steps(tmp_path / "train.npz", data)
    again = load_steps(tmp_path / "train.npz")
    assert np.array_equal(again.steps, data.steps) and again.styles == data.styles and again.labels == data.labels


def test_worker_batches_equal_batches_made_in_line(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(corpus))
    data = prepare_split(CorpusStore(MUSIC21_CORPUS), "train").balanced(0.5)
    config = BatchConfig(context=64, batch_size=3)
    stream = BatchStream(data, config, seed=5, first_step=10, workers=2, ahead=3)
    try:
        made = [stream.next() for _ in range(5)]
    finally:
        stream.close()
    for offset, batch in enumerate(made):
        assert np.array_equal(batch, step_batch(data, config, 5, 10 + offset))
    assert not np.array_equal(made[0], made[1])


def _config(out: Path, **changes: Any) -> TrainConfig:
    base = dict(corpus=MUSIC21_CORPUS, out=str(out), preset="tiny", max_steps=8, eval_every=4, batch_size=3,
                eval_batches=1, warmup_steps=2, seed=3, batch_workers=2)
    base.update(changes)
    return TrainConfig(**base)  # type: ignore[arg-type]


def test_a_run_fed_by_workers_resumes_exactly(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(corpus))
    whole = train(_config(tmp_path / "whole"))

    train_killed_at(_config(tmp_path / "killed"), 4)
    resumed = train(_config(tmp_path / "killed"), resume=True)
    assert resumed["steps"] == whole["steps"] == 8
    a, _ = load_checkpoint(tmp_path / "whole" / "last")
    b, _ = load_checkpoint(tmp_path / "killed" / "last")
    for (name, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(p, q), name
    train(_config(tmp_path / "inline", batch_workers=0))  # the same batches made in line: the same run
    c, _ = load_checkpoint(tmp_path / "inline" / "last")
    for (name, p), (_, q) in zip(a.state_dict().items(), c.state_dict().items(), strict=True):
        assert torch.equal(p, q), name


def test_steps_folder_trains_where_no_corpus_is(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """cadenza corpus steps writes what cadenza train --steps reads on a machine without the corpus."""
    from cadenza.cli import main

    monkeypatch.setenv("CADENZA_HOME", str(corpus))
    assert main(["corpus", "steps", MUSIC21_CORPUS, "--out", str(tmp_path / "steps")]) == 0
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "empty"))  # the corpus is not here any more
    assert main(["train", "--steps", str(tmp_path / "steps"), "--preset", "tiny", "--max-steps", "4",
                 "--eval-every", "2", "--batch-size", "2", "--out", str(tmp_path / "run"), "--batch-workers", "1"]) == 0
    _model, config = load_checkpoint(tmp_path / "run" / "best")
    training = config["training"]["config"]
    assert training["corpus"] == MUSIC21_CORPUS and training["batch_workers"] == 1
    assert "no originality index" in caplog.text
    assert main(["train", "--steps", str(tmp_path / "nothing"), "--out", str(tmp_path / "r2")]) == 2
