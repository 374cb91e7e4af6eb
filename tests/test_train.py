"""Training at tiny size on a tiny corpus: the loss falls, checkpoints appear, and a killed run resumes to
exactly the result of an uninterrupted one."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cadenza.errors import UsageError  # noqa: E402
from cadenza.model.checkpoint import load_checkpoint, read_config  # noqa: E402
from cadenza.train.data import BatchConfig, make_batch, prepare_split, transpose_steps  # noqa: E402
from cadenza.train.loop import TrainConfig, train  # noqa: E402
from tests.conftest import MUSIC21_CORPUS, music21_corpus_home, train_killed_at  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def corpus(music21_home: Path) -> Iterator[Path]:
    yield from music21_corpus_home(music21_home)


def _config(out: Path, **changes: Any) -> TrainConfig:
    base = dict(corpus=MUSIC21_CORPUS, out=str(out), preset="tiny", max_steps=12, eval_every=4, batch_size=4,
                eval_batches=1, warmup_steps=3, seed=7)
    base.update(changes)
    return TrainConfig(**base)  # type: ignore[arg-type]


def test_batches_hold_header_labels_and_music(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(corpus))
    from cadenza.corpus import CorpusStore

    data = prepare_split(CorpusStore(MUSIC21_CORPUS), "train")
    batch = make_batch(data, BatchConfig(context=128, batch_size=6, label_keep=(1.0, 1.0)), np.random.default_rng(0))
    assert batch.shape == (6, 129, 12)
    assert (batch[:, 0, 0] == 1).all()  # bos first
    assert (batch[:, 1, 0] == 3).all()  # then labels
    notes = data.work(0)[data.work(0)[:, 0] == 9]
    moved = transpose_steps(data.work(0), 2)
    assert moved is not None and (moved[moved[:, 0] == 9][:, 5] == notes[:, 5] + 2).all()


def test_prepared_steps_follow_a_rebuilt_corpus(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The steps cache belongs to the split's works: after a rebuild that changes them, they are prepared anew."""
    monkeypatch.setenv("CADENZA_HOME", str(corpus))
    from cadenza.corpus import CorpusStore

    store = CorpusStore(MUSIC21_CORPUS)
    before = prepare_split(store, "train")
    manifest = store.manifest_path.read_text(encoding="utf-8")
    try:
        rows = manifest.splitlines()
        dropped = next(i for i, line in enumerate(rows) if '"split":"train"' in line)
        kept = rows[:dropped] + rows[dropped + 1:]
        store.manifest_path.write_text("\n".join(kept) + "\n", encoding="utf-8")
        after = prepare_split(store, "train")
        assert after.works == before.works - 1
        assert len(list(store.folder.glob("steps-train-*.npz"))) == 1  # the stale cache is gone
    finally:
        store.manifest_path.write_text(manifest, encoding="utf-8")
    assert prepare_split(store, "train").works == before.works


def test_resume_after_a_kill_ends_where_an_uninterrupted_run_ends(corpus: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(corpus))
    whole = train(_config(tmp_path / "whole"))
    assert whole["steps"] == 12 and whole["history"][-1]["nll_per_step"] < whole["history"][0]["nll_per_step"] + 1

    train_killed_at(_config(tmp_path / "killed"), 8)
    resumed = train(_config(tmp_path / "killed"), resume=True)
    assert resumed["steps"] == 12
    a, _ = load_checkpoint(tmp_path / "whole" / "last")
    b, _ = load_checkpoint(tmp_path / "killed" / "last")
    for (name, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(p, q), name
    assert [h["nll_per_step"] for h in resumed["history"]] == [h["nll_per_step"] for h in whole["history"]]
    assert (tmp_path / "whole" / "best" / "model.safetensors").is_file()


def test_a_crash_inside_a_checkpoint_swap_leaves_one_whole_step_to_resume(corpus: Path, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(corpus))
    whole = train(_config(tmp_path / "whole"))

    train_killed_at(_config(tmp_path / "killed"), 8)
    run = tmp_path / "killed"
    (run / "last" / "originality.npz").write_bytes(b"index")  # a file the index writer put beside it
    (run / "last").rename(run / "last.old")  # killed between the swap's two renames: no last/ ...
    (run / ".last.x1y2.tmp").mkdir()  # ... and a half-written next step
    (run / ".last.x1y2.tmp" / "model.safetensors").write_bytes(b"partial")
    resumed = train(_config(run), resume=True)
    assert resumed["steps"] == 12
    assert [h["nll_per_step"] for h in resumed["history"]] == [h["nll_per_step"] for h in whole["history"]]
    assert sorted(p.name for p in run.iterdir()) == ["best", "last"]  # nothing stale left
    assert (run / "last" / "originality.npz").read_bytes() == b"index"  # kept across the swaps
    state = json.loads((run / "last" / "state.json").read_text(encoding="utf-8"))
    assert state["step"] == 12 and read_config(run / "last")["training"]["step"] == 12  # one step's files


def test_resume_refuses_other_settings_or_nothing(corpus: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(corpus))
    with pytest.raises(UsageError, match="nothing to resume"):
        train(_config(tmp_path / "none"), resume=True)
    train(_config(tmp_path / "r", max_steps=4))
    with pytest.raises(UsageError, match="other settings"):
        train(_config(tmp_path / "r", max_steps=4, lr=0.5), resume=True)
    shutil.rmtree(tmp_path / "r")


def test_fine_tuning_starts_from_the_given_checkpoint(corpus: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(corpus))
    from cadenza.model.checkpoint import load_checkpoint

    train(_config(tmp_path / "a", max_steps=4))
    start, _ = load_checkpoint(tmp_path / "a" / "last")
    train(_config(tmp_path / "b", max_steps=1, eval_every=1, init=str(tmp_path / "a" / "last"), lr=1e-12))
    tuned, _ = load_checkpoint(tmp_path / "b" / "last")
    fresh = train(_config(tmp_path / "c", max_steps=1, eval_every=1, lr=1e-12))
    for (name, p), q in zip(start.state_dict().items(), tuned.state_dict().values(), strict=True):
        assert torch.allclose(p, q, atol=1e-6), name
    assert fresh["best_valid_nll_per_step"] > train(
        _config(tmp_path / "d", max_steps=1, eval_every=1, init=str(tmp_path / "a" / "last"), lr=1e-12)
    )["best_valid_nll_per_step"]


def test_cli_train_ships_the_index_of_exactly_its_training_works(corpus: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from cadenza.cli import main
    from cadenza.corpus import CorpusStore
    from cadenza.model.checkpoint import export_checkpoint
    from cadenza.originality import load_index

    monkeypatch.setenv("CADENZA_HOME", str(corpus))
    out = tmp_path / "run"
    assert main(["train", "--corpus", MUSIC21_CORPUS, "--preset", "tiny", "--max-steps", "2", "--batch-size", "2",
                 "--warmup-steps", "1", "--out", str(out), "--json"]) == 0
    index = load_index(out / "best" / "originality.npz")
    train_rows = [r for r in CorpusStore(MUSIC21_CORPUS).manifest() if r["split"] == "train"]
    built = index.meta["built_from"]
    assert built["split"] == "train" and built["works"] + built.get("left_out_unencodable", 0) == len(train_rows)
    shipped = export_checkpoint(out / "best", tmp_path / "shipped")
    assert (shipped / "originality.npz").read_bytes() == (out / "best" / "originality.npz").read_bytes()
    assert json.loads((shipped / "config.json").read_text())["format"] == "cadenza-model"


def test_training_on_a_corpus_with_an_empty_split_says_so_in_one_line(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from cadenza.cli import main

    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "home"))
    assert main(["corpus", "build", "--source", "music21", "--limit", "3", "--name", "tiny"]) == 0
    capsys.readouterr()
    code = main(["train", "--corpus", "tiny", "--preset", "tiny", "--max-steps", "1", "--out", str(tmp_path / "r"),
                 "--no-index"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "no usable works in its valid split" in err and "Traceback" not in err


def test_a_run_folder_that_cannot_be_written_is_one_line_before_any_training(corpus: Path, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from cadenza.errors import OutputError

    monkeypatch.setenv("CADENZA_HOME", str(corpus))
    with pytest.raises(OutputError, match="cannot write the run folder") as error:
        train(_config(tmp_path / ("x" * 300)))
    assert "\n" not in str(error.value)
    (tmp_path / "file").write_text("a file, not a folder")
    with pytest.raises(OutputError, match="cannot write the run folder"):
        train(_config(tmp_path / "file" / "run"))


def test_a_run_stopped_before_its_first_validation_still_leaves_a_best_model(corpus: Path, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(corpus))
    summary = train(_config(tmp_path / "short", max_steps=3, eval_every=100))
    _model, config = load_checkpoint(tmp_path / "short" / "best")
    assert summary["steps"] == 3 and config["training"]["step"] == 3 and config["training"]["valid"]["nll_per_step"] > 0
    state = json.loads((tmp_path / "short" / "last" / "state.json").read_text(encoding="utf-8"))
    assert state["best"] is None or state["best"] > 0  # strict JSON: no Infinity


def test_a_first_vocabulary_model_fine_tunes_into_one_that_reads_chords(corpus: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A model trained before the chord kind (kind head of 10) is widened by --init and learns the chord steps:
    its music weights start where they were, and its chance of a chord step where one comes rises."""
    from dataclasses import replace

    from cadenza.corpus import CorpusStore
    from cadenza.model.checkpoint import save_checkpoint
    from cadenza.model.transformer import EventTransformer
    from cadenza.tokens import field_sizes
    from cadenza.tokens.events import FIRST_VOCABULARY_KINDS, KIND

    monkeypatch.setenv("CADENZA_HOME", str(corpus))
    train(_config(tmp_path / "a", max_steps=2))
    today, _ = load_checkpoint(tmp_path / "a" / "last")
    first = EventTransformer(replace(today.config, field_sizes={**field_sizes(), "kind": FIRST_VOCABULARY_KINDS}))
    first.load_state_dict({name: t[:FIRST_VOCABULARY_KINDS] if t.shape[0] == FIRST_VOCABULARY_KINDS + 1 and
                           ("inputs.0." in name or "heads.0." in name or "chosen.0." in name) else t
                           for name, t in today.state_dict().items()})
    save_checkpoint(first, tmp_path / "first")
    loaded, _ = load_checkpoint(tmp_path / "first")
    assert not loaded.chord_events
    train(_config(tmp_path / "b", max_steps=8, eval_every=8, init=str(tmp_path / "first"), lr=3e-3))
    tuned, _ = load_checkpoint(tmp_path / "b" / "last")
    assert tuned.chord_events and tuned.config.field_sizes["kind"] == FIRST_VOCABULARY_KINDS + 1
    assert torch.allclose(tuned.inputs[2].weight, first.inputs[2].weight, atol=0.1)  # fine-tuned, not fresh
    data = prepare_split(CorpusStore(MUSIC21_CORPUS), "train")
    work = torch.from_numpy(data.work(0)[:200].astype(np.int64))[None]
    chord_next = (work[0, 1:, 0] == KIND["chord"])
    assert chord_next.any()
    with torch.no_grad():
        chance = [torch.softmax(m.heads[0](m.hidden(work[:, :-1])[0][0]), -1)[chord_next, KIND["chord"]].mean()
                  for m in (learn_chord_kind_of(tmp_path / "first"), tuned.eval())]
    assert chance[1] > chance[0]


def learn_chord_kind_of(folder: Path) -> Any:
    from cadenza.model.checkpoint import learn_chord_kind

    return learn_chord_kind(load_checkpoint(folder)[0]).eval()
