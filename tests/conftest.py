"""Shared fixtures: small hand-built scores, paths to music21's corpus and to ../shared (skipped if absent)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# the originality index's cached tables (cadenza.originality.cache) go to a folder of the test run's own, not the
# user's cache
os.environ.setdefault("CADENZA_CACHE", tempfile.mkdtemp(prefix="cadenza-test-cache-"))

from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import KeySignature, Metadata, Part, Score, Tempo, TimeSignature

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


@pytest.fixture()
def waltz() -> Score:
    """A two-part 3/4 piece with a one-beat pickup, a key and tempo change, a chord and a tied-over note."""
    notes = [
        # onset, duration, pitch, velocity, part
        (0, Q, 67, 90, 0),  # pickup beat
        (Q, 2 * Q, 72, 90, 0), (Q, 2 * Q, 76, 90, 0),  # chord at bar 1
        (3 * Q, Q, 74, 80, 0),
        (4 * Q, 4 * Q, 71, 80, 0),  # crosses the bar line at 7Q
        (Q, 3 * Q, 48, 70, 1), (4 * Q, 3 * Q, 43, 70, 1), (7 * Q, Q // 2, 45, 70, 1),
        (7 * Q + Q // 2, Q // 3, 47, 70, 1), (7 * Q + Q // 2 + Q // 3, Q // 3 * 2, 48, 70, 1),  # triplet-ish
    ]
    return Score.build(
        parts=[Part("Violin", 40), Part("Cello", 42)],
        notes=notes,
        time_signatures=[TimeSignature(0, 3, 4)],
        key_signatures=[KeySignature(0, 1, "major"), KeySignature(7 * Q, -1, "minor")],
        tempos=[Tempo(0, 96.0), Tempo(7 * Q, 72.0)],
        metadata=Metadata(title="Test waltz", composer="Nobody", licence="CC0"),
        pickup_ticks=Q,
        length_ticks=10 * Q,
    )


def note_tuples(score: Score) -> list[tuple[int, int, int, int]]:
    """(onset, duration, pitch, part) of every note, sorted: what a round trip must keep."""
    n = score.notes
    return sorted(zip(n["onset_ticks"].tolist(), n["duration_ticks"].tolist(), n["pitch"].tolist(),
                      n["part"].tolist(), strict=True))


MUSIC21_CORPUS = "m21"  # the name of the session's corpus of music21 works (:func:`music21_home`)


@pytest.fixture(scope="session")
def music21_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CADENZA_HOME holding a corpus :data:`MUSIC21_CORPUS` of 60 music21 works, built once for the session
    (the training tests share it; a test that changes it puts it back)."""
    from cadenza.corpus import BuildConfig, build_corpus

    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("CADENZA_HOME", str(home))
    try:
        build_corpus(BuildConfig(name=MUSIC21_CORPUS, sources=("music21",), workers=2, limit=60))
    finally:
        mp.undo()
    return home


def music21_corpus_home(home: Path) -> Iterator[Path]:
    """:func:`music21_home`'s ``home``, set as CADENZA_HOME for the scope of the fixture that yields from this."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CADENZA_HOME", str(home))
    yield home
    mp.undo()


def train_killed_at(config: object, step: int) -> None:
    """Start a training run with ``config`` and stop it (as Ctrl-C would) once it has saved step ``step``."""

    from cadenza.train.loop import train

    def kill(record: dict[str, Any]) -> None:
        if record["step"] == step:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config, progress=kill)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny untrained model's checkpoint (seeded), for tests of the server and the live bridges."""
    torch = pytest.importorskip("torch")
    from cadenza.model.checkpoint import new_model, save_checkpoint

    torch.manual_seed(3)
    return save_checkpoint(new_model("tiny"), tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def chorale_splits() -> Any:
    """Train and valid step arrays of three Bach chorales (the loop's own encoding: no corpus build)."""
    pytest.importorskip("torch")
    from cadenza.score import read_score
    from cadenza.tokens import encode
    from cadenza.train.data import split_from_steps

    works = [encode(read_score(f"music21:bach/{name}")) for name in ("bwv66.6", "bwv1.6", "bwv10.7")]
    return split_from_steps(works[:2]), split_from_steps(works[2:])


def small_run(out: Path, eval_every: int = 2, **changes: Any) -> Any:
    """A tiny model's TrainConfig of six steps on the chorales of :func:`chorale_splits`."""
    from cadenza.train.loop import TrainConfig

    settings: dict[str, Any] = dict(corpus="chorales", out=str(out), preset="tiny", max_steps=6,
                                    eval_every=eval_every, batch_size=2, eval_batches=1, warmup_steps=2, seed=7,
                                    overrides={"context": 64})
    settings.update(changes)
    return TrainConfig(**settings)


def model_weights(folder: Path) -> dict[str, Any]:
    """The tensors of a checkpoint folder's model.safetensors."""
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def steps_folder(splits: Any, folder: Path) -> Path:
    """A training-data folder holding ``splits`` (train, valid) as `cadenza train` reads it."""
    import json

    from cadenza.train.data import DATA_VERSION, VOCABULARY_VERSION, save_steps

    folder.mkdir()
    save_steps(folder / "train.npz", splits[0])
    save_steps(folder / "valid.npz", splits[1])
    (folder / "steps.json").write_text(json.dumps({"corpus": "chorales", "data_version": DATA_VERSION,
                                                   "vocabulary": VOCABULARY_VERSION}))
    return folder
