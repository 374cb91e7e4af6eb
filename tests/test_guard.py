"""The originality guard in the composer: a copy of a training work is resampled from the bar where it
began; only new material counts in a continuation; every output's report carries the check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cadenza.compose import ComposeRequest, compose, continue_piece  # noqa: E402
from cadenza.compose.guard import guarded_sample, new_material  # noqa: E402
from cadenza.model.checkpoint import new_model, save_checkpoint  # noqa: E402
from cadenza.model.sample import SampleConfig, generate  # noqa: E402
from cadenza.originality import build_index, save_index  # noqa: E402
from cadenza.score import read_score  # noqa: E402
from cadenza.tokens import decode, encode, label_vocabulary  # noqa: E402
from cadenza.tokens.events import KIND  # noqa: E402

CHORALE = "music21:bach/bwv66.6"


@pytest.fixture(scope="module")
def chorale_index():  # noqa: ANN201
    return build_index([({"id": "bach/bwv66.6", "title": "Christ unser Herr"}, read_score(CHORALE))])


def test_a_memorised_chorale_is_resampled_from_the_bar_where_the_copy_began(chorale_index) -> None:  # noqa: ANN001
    torch.manual_seed(0)
    model = new_model("tiny")
    copy = encode(read_score(CHORALE))  # what a model that memorised its training data would write
    header = int(np.nonzero(copy[:, 0] == KIND["bar"])[0][0])  # bos and the parts
    prompt = copy[:header]
    calls: list[int] = []

    def sample(prefix: np.ndarray, seed: int, attempt: int = 0) -> np.ndarray:
        calls.append(len(prefix))
        if len(calls) == 1:
            return copy  # the first attempt reproduces the training work note for note
        return generate(model, prefix, SampleConfig(max_steps=300, seed=seed), len(label_vocabulary()))

    guarded = guarded_sample(sample, decode, prompt, seed=1, index=chorale_index)
    assert guarded.resamples >= 1
    assert guarded.violations[0]["work_id"] == "bach/bwv66.6" and guarded.violations[0]["bar"] <= 2
    assert calls[1] >= len(prompt)  # resampled from a bar line at or after the prompt, never into it
    assert np.array_equal(guarded.steps[: calls[1]], copy[: calls[1]])  # what came before the copy is kept
    assert chorale_index.first_violation(guarded.score) is None  # the returned piece passes


def test_only_the_new_bars_of_a_continuation_are_judged(chorale_index, tmp_path: Path) -> None:  # noqa: ANN001
    torch.manual_seed(3)
    folder = save_checkpoint(new_model("tiny"), tmp_path / "tiny")
    save_index(chorale_index, folder)  # the model "was trained on" the chorale it is asked to continue
    primer = read_score(CHORALE)
    made = continue_piece(primer, ComposeRequest(seed=2), bars=2, checkpoint=folder)
    originality = made.report["originality"]
    assert originality["checked"] and originality["verdict"] == "original"  # the primer itself is not a copy
    assert "shared_with_primer_notes" in originality
    assert new_material(made.score, primer.length_ticks).note_count == \
        made.score.note_count - primer.note_count


def test_a_model_without_an_index_says_so_and_the_guard_can_be_turned_off(tmp_path: Path) -> None:
    torch.manual_seed(3)
    folder = save_checkpoint(new_model("tiny"), tmp_path / "bare")
    made = compose(ComposeRequest(ensemble="piano", bars=2, seed=1), checkpoint=folder)
    assert made.report["originality"]["checked"] is False and "index" in made.report["originality"]["why"]
    off = compose(ComposeRequest(ensemble="piano", bars=2, seed=1, guard=False))
    assert off.report["originality"] == {"checked": False, "why": "the guard was turned off (--no-guard)"}


def test_the_shipped_model_writes_original_music_and_reports_its_training_data() -> None:
    made = compose(ComposeRequest(ensemble="satb", key="G major", bars=8, seed=4))
    originality = made.report["originality"]
    assert originality["checked"] and originality["verdict"] == "original"
    assert originality["threshold_notes"]["top"] >= 10  # calibrated on held-out human music
    assert originality["against"]["works"] > 10_000


def test_a_stricter_threshold_is_used_by_the_guard_and_reported() -> None:
    from cadenza.compose import resolve
    from cadenza.errors import UsageError

    made = compose(ComposeRequest(ensemble="solo", bars=8, seed=2, max_shared_notes=7))
    originality = made.report["originality"]
    assert originality["threshold_notes"] == {"top": 7, "bass": 7}
    for copy in originality["copies_resampled"]:  # whatever the guard resampled was over the threshold
        assert copy["notes"] > 7
    if originality["verdict"] == "original":
        assert (originality["longest"]["longest_notes"] or 0) <= 7
    with pytest.raises(UsageError):
        resolve(ComposeRequest(max_shared_notes=3))
