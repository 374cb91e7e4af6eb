"""Ensembles: an exact step-by-step mixture of event models, weights fitted on held-out steps, saved as a
folder of float16 members, and scored by ``cadenza eval nll`` like one model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")

from cadenza.cli import main  # noqa: E402
from cadenza.corpus.rolls import roll_to_score  # noqa: E402
from cadenza.errors import InputError  # noqa: E402
from cadenza.lab.boulanger import canonical_masks, frame_nll  # noqa: E402
from cadenza.lab.mixture import (  # noqa: E402
    MixtureModel,
    fit_weights,
    load_scorer,
    mixture_nll,
    save_ensemble,
    select_members,
)
from cadenza.model.checkpoint import load_checkpoint, new_model, save_checkpoint  # noqa: E402
from cadenza.model.scoring import step_nlls  # noqa: E402
from cadenza.score import TICKS_PER_QUARTER as Q  # noqa: E402
from cadenza.tokens import encode  # noqa: E402
from cadenza.tokens.events import FIELD_SIZES, FIELDS, FIELDS_OF_KIND, KINDS  # noqa: E402


def _steps() -> np.ndarray:
    roll = np.zeros((40, 88), dtype=np.uint8)
    roll[np.arange(40), 39 + (np.arange(40) * 5 % 12)] = 1
    roll[::3, 27] = 1
    return np.asarray(encode(roll_to_score(roll, Q)), dtype=np.int64)


def _two_models() -> tuple:
    torch.manual_seed(0)
    first = new_model("tiny", context=64).eval()
    torch.manual_seed(1)
    second = new_model("tiny", context=64).eval()
    return first, second


def test_the_mixture_is_the_weighted_sum_of_step_probabilities() -> None:
    first, second = _two_models()
    steps = _steps()
    masks = canonical_masks(steps, Q)
    a, b = step_nlls(first, steps, masks=masks), step_nlls(second, steps, masks=masks)
    assert len(steps) > 64 + 1  # scored in windows
    mixed = step_nlls(MixtureModel([first, second], [3.0, 1.0]), steps, masks=masks)
    expected = -np.log(0.75 * np.exp(-a.astype(np.float64)) + 0.25 * np.exp(-b.astype(np.float64)))
    assert np.allclose(mixed, expected, atol=1e-4)
    assert np.allclose(step_nlls(MixtureModel([first, second], [1.0, 0.0]), steps, masks=masks), a, atol=1e-5)
    members = step_nlls(MixtureModel([first, second]), steps, masks=masks, members=True)
    assert members.shape == (2, len(steps) - 1) and np.allclose(members[1], b, atol=1e-5)


def test_a_mixture_of_two_models_is_a_distribution_over_the_next_step() -> None:
    """Every next step the canonical masks allow after a short prefix, enumerated field by field: the
    mixture's probabilities sum to one, as each member's do (the others have probability 0)."""
    first, second = _two_models()
    prefix = _steps()[:7]
    candidates = _allowed_steps(prefix)
    assert len(candidates) > 100  # notes at each frame and pitch, the bar, the end
    batch = np.stack([np.vstack([prefix, c]) for c in candidates])
    allowed = {i: torch.from_numpy(np.stack([canonical_masks(s, Q)[i] for s in batch]))
               for i in canonical_masks(batch[0], Q)}
    mixture = MixtureModel([first, second], [0.3, 0.7])
    with torch.no_grad():
        x = torch.from_numpy(batch)
        total = {name: float(torch.exp(-model.step_nll(x, allowed)[:, -1].double()).sum())
                 for name, model in (("first", first), ("second", second), ("mixture", mixture))}
    assert total == pytest.approx({"first": 1.0, "second": 1.0, "mixture": 1.0}, abs=1e-3)


def _allowed_steps(prefix: np.ndarray) -> list[np.ndarray]:
    out: list[np.ndarray] = []

    def extend(step: np.ndarray, field: int) -> None:
        if field == len(FIELDS):
            out.append(step)
            return
        if field and FIELDS[field] not in FIELDS_OF_KIND[KINDS[step[0]]]:
            extend(step, field + 1)  # a field the kind does not use stays 0 and does not count
            return
        mask = canonical_masks(np.vstack([prefix, step]), Q).get(field)
        values = np.nonzero(mask[-1])[0] if mask is not None else range(FIELD_SIZES[FIELDS[field]])
        for value in values:
            nxt = step.copy()
            nxt[field] = value
            extend(nxt, field + 1)

    extend(np.zeros(len(FIELDS), dtype=np.int64), 0)
    return out


def test_fitted_weights_minimise_the_held_out_nll() -> None:
    rng = np.random.default_rng(0)
    nll = np.stack([rng.gamma(2.0, 1.0, 500), rng.gamma(2.0, 1.2, 500), rng.gamma(2.0, 3.0, 500)])

    def total(weights: np.ndarray) -> float:
        return float(-np.log((weights[:, None] * np.exp(-nll)).sum(axis=0)).sum())

    fitted = np.asarray(fit_weights(nll))
    assert fitted.sum() == pytest.approx(1.0) and (fitted >= 0).all()
    grid = [np.array([a, b, 1 - a - b]) for a in np.linspace(0, 1, 21) for b in np.linspace(0, 1, 21) if a + b <= 1]
    assert total(fitted) <= min(total(w) for w in grid) + 1e-6
    assert total(fitted) < min(nll.sum(axis=1))  # better than the best member alone


def test_forward_selection_keeps_the_models_that_help() -> None:
    """A copy of a chosen model adds nothing; a model good where the others are bad is taken."""
    rng = np.random.default_rng(1)
    good = rng.gamma(2.0, 1.0, 400)
    other = good.copy()
    other[:200] += 3.0  # worse on the first half...
    other[200:] -= 0.9  # ...better on the second
    nll = np.stack([good + 0.5, good, good, other])
    chosen = select_members(nll, max_members=3)
    assert chosen[0] == 1 and 3 in chosen and not {1, 2} <= set(chosen)
    assert len(select_members(nll, max_members=1)) == 1
    assert mixture_nll(nll[chosen], fit_weights(nll[chosen])) < nll[1].sum()


def test_an_ensemble_folder_round_trips_and_is_not_a_composer_model(tmp_path: Path) -> None:
    first, second = _two_models()
    for name, model in (("a", first), ("b", second)):
        save_checkpoint(model, tmp_path / "ens" / "members" / name, half=True)
    save_ensemble(tmp_path / "ens", ["a", "b"], [0.25, 0.75], training={"benchmark": "jsb"})
    model, config = load_scorer(tmp_path / "ens")
    assert isinstance(model, MixtureModel) and model.weights == pytest.approx([0.25, 0.75])
    assert config["training"]["benchmark"] == "jsb" and set(config["member_training"]) == {"a", "b"}
    steps = _steps()
    reloaded = MixtureModel([load_checkpoint(tmp_path / "ens" / "members" / n)[0] for n in "ab"], [1, 3])
    assert np.allclose(step_nlls(model, steps), step_nlls(reloaded, steps))
    with pytest.raises(InputError, match="members/a"):
        load_checkpoint(tmp_path / "ens")
    with pytest.raises(InputError, match="missing"):
        save_ensemble(tmp_path / "ens", ["a", "c"], [0.5, 0.5])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "ensemble.json").write_text(json.dumps({"format": "cadenza-ensemble", "version": 1,
                                                                "members": ["a"], "weights": []}))
    with pytest.raises(InputError, match="one weight"):
        load_scorer(tmp_path / "bad")


def test_eval_nll_mixes_several_checkpoints_and_saves_the_ensemble(shared_dir: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Two models given: weights fitted on the valid split, the mixture scored on test below the worse
    member (here both are untrained, so the mixture sits near the better one), saved, and re-scored the same."""
    first, second = _two_models()
    save_checkpoint(first, tmp_path / "a")
    save_checkpoint(second, tmp_path / "b")
    args = ["eval", "nll", "--benchmark", "jsb", "--limit", "2", "--json"]
    assert main([*args, "--checkpoint", str(tmp_path / "a"), "--checkpoint", str(tmp_path / "b"),
                 "--save-ensemble", str(tmp_path / "ens")]) == 0
    report = json.loads(capsys.readouterr().out)
    weights = report["ensemble"]["weights"]
    assert math.fsum(weights) == pytest.approx(1.0) and len(weights) == len(report["ensemble"]["members"])
    singles = [frame_nll(load_checkpoint(tmp_path / n)[0], "jsb", "test", limit=2)["nll_per_frame"] for n in "ab"]
    assert report["test"]["nll_per_frame"] < max(singles)
    assert main([*args, "--checkpoint", str(tmp_path / "ens")]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["test"]["nll_per_frame"] == pytest.approx(report["test"]["nll_per_frame"], rel=1e-3)
    assert main(["eval", "nll", "--benchmark", "jsb", "--save-ensemble", str(tmp_path / "x")]) == 2


def test_the_ngram_baseline_can_join_an_ensemble(shared_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Offered beside two untrained models, the n-gram (fitted on the train split) is chosen and weighs
    most; the saved ensemble refits it on load and scores the same."""
    first, second = _two_models()
    save_checkpoint(first, tmp_path / "a")
    save_checkpoint(second, tmp_path / "b")
    args = ["eval", "nll", "--benchmark", "jsb", "--limit", "2", "--json"]
    assert main([*args, "--checkpoint", str(tmp_path / "a"), "--checkpoint", str(tmp_path / "b"),
                 "--ngram-member", "3", "--save-ensemble", str(tmp_path / "ens")]) == 0
    report = json.loads(capsys.readouterr().out)
    members = list(report["ensemble"]["members"])
    assert members[0] == "ngram-3" and report["ensemble"]["weights"][0] > 0.9
    assert not (tmp_path / "ens" / "members" / "ngram-3").exists()  # fitted when the ensemble loads
    untrained = frame_nll(first, "jsb", "test", limit=2)["nll_per_frame"]
    assert report["test"]["nll_per_frame"] < untrained / 2
    assert main([*args, "--checkpoint", str(tmp_path / "ens")]) == 0
    assert json.loads(capsys.readouterr().out)["test"]["nll_per_frame"] == pytest.approx(
        report["test"]["nll_per_frame"], rel=1e-4)
    assert main([*args, "--ngram-member", "3"]) == 2



def test_the_ngram_members_share_one_fit_and_score_at_their_own_order(shared_dir: Path, tmp_path: Path) -> None:
    """An ensemble with two n-gram members (as the shipped Nottingham one) fits the n-gram once, at the
    higher order, when it loads; each member scores at its own order, as a fit of that order alone does."""
    from cadenza.corpus.rolls import benchmark_steps
    from cadenza.errors import CadenzaError
    from cadenza.lab.mixture import NgramMember
    from cadenza.lab.ngram import StepNgram
    from cadenza.tokens import field_sizes

    try:
        train, test = benchmark_steps("jsb", "train"), benchmark_steps("jsb", "test")[0]
    except CadenzaError:
        pytest.skip("no benchmark rolls in ../shared/datasets")
    first, _ = _two_models()
    save_checkpoint(first, tmp_path / "ens" / "members" / "a", half=True)
    save_ensemble(tmp_path / "ens", ["a", "ngram-5", "ngram-2"], [0.6, 0.3, 0.1], training={"benchmark": "jsb"})
    model, config = load_scorer(tmp_path / "ens")
    ngrams = [m for m in model.members if isinstance(m, NgramMember)]
    assert [m.order for m in ngrams] == [5, 2] and ngrams[0].ngram is ngrams[1].ngram and ngrams[0].ngram.order == 5
    assert config["member_training"]["ngram-2"]["fitted_on"].startswith("jsb train split")
    x = torch.from_numpy(np.asarray(test, dtype=np.int64))[None]
    for member in ngrams:
        alone = StepNgram(member.order, field_sizes()).fit(train).step_probabilities(test)
        assert np.allclose(member.step_nll(x)[0].numpy(), -np.log(alone), rtol=1e-6)


@pytest.mark.parametrize(("members", "training", "message"), [
    (["a", "ngram-x"], {"benchmark": "jsb"}, "no n-gram member"),
    (["a", "ngram-0"], {"benchmark": "jsb"}, "no n-gram member"),
    (["a", "ngram-1000"], {"benchmark": "jsb"}, "no n-gram member"),
    (["a", "ngram-3"], {}, "needs the benchmark"),
    (["a", "ngram-3"], {"benchmark": "bach"}, "which is no benchmark"),
])
def test_a_malformed_ngram_member_is_a_clear_error(tmp_path: Path, members: list[str], training: dict,
                                                   message: str) -> None:
    first, _ = _two_models()
    save_checkpoint(first, tmp_path / "ens" / "members" / "a", half=True)
    (tmp_path / "ens" / "ensemble.json").write_text(json.dumps(
        {"format": "cadenza-ensemble", "version": 1, "members": members, "weights": [0.5, 0.5],
         "training": training}))
    with pytest.raises(InputError, match=message):
        load_scorer(tmp_path / "ens")


def test_an_ngram_member_order_is_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["eval", "nll", "--benchmark", "jsb", "--checkpoint", str(tmp_path / "a"), "--checkpoint",
            str(tmp_path / "b"), "--save-ensemble", str(tmp_path / "ens"), "--ngram-member"]
    assert main([*args, "33"]) == 2 and main([*args, "0"]) == 2
    assert "from 1 to 32" in capsys.readouterr().err


def test_a_choirs_upper_voices_sing_in_their_usual_register() -> None:
    """In 26 of Bach's chorales the soprano's, alto's and tenor's median pitches are 70, 65 and 59; left to the
    model ours sat at 67, 60.5 and 55, an alto crowding the tenor. Below a voice's usual register (the pitch a
    tenth of Bach's notes lie below) each semitone now costs REGISTER_NATS; with the shipped model (seeds 0-2,
    16 bars) the altos' medians averaged 63 or more (before: 60) and every soprano's was 67 or more (before: 64,
    68 and 65). Since the ear mends cadences in place seeds 0 and 2 write other chorales: over seeds 0-7 the
    altos' medians average 63.1 (62 to 66) and the sopranos' are 67 to 71."""
    import numpy as np

    import cadenza
    from cadenza.compose.ensembles import ENSEMBLES
    from cadenza.compose.registers import REGISTER_NATS, UsualRegister
    from cadenza.tokens.events import KIND

    voices = ENSEMBLES["satb"].voices
    rule = UsualRegister.of(voices)
    costs = rule.bias("pitch", {"kind": KIND["note"], "part": 1})
    assert costs is not None and costs[61] == 0 and costs[58] == -3 * np.float32(REGISTER_NATS)
    assert rule.bias("pitch", {"kind": KIND["note"], "part": 3}) is None  # the bass: free
    medians = []
    for seed in range(8):
        notes = cadenza.compose(ensemble="satb", bars=16, seed=seed, guard=False).score.notes
        medians.append([float(np.median(notes["pitch"][notes["part"] == part])) for part in range(4)])
    sopranos, altos = [m[0] for m in medians], [m[1] for m in medians]
    assert np.mean(altos) >= 62.5 and min(sopranos) >= 67


def test_a_songs_piano_keeps_under_the_voice_where_it_sings() -> None:
    """In a Lied the right hand lies under the voice or doubles it (24 held-out Lieder cross it on at most 20
    beats in 100): a note of the piano pays REGISTER_NATS a semitone above the sung note sounding at its onset,
    and nothing where the voice rests."""
    from types import SimpleNamespace

    from cadenza.compose.registers import REGISTER_NATS, UnderTheTune
    from cadenza.tokens.events import FIELDS, KIND, F

    plan = SimpleNamespace(bar_start_ticks=0, last_onset_ticks=0)
    rule = UnderTheTune(plan, 0, frozenset({1, 2}))
    sung = np.zeros(len(FIELDS), dtype=np.int64)
    sung[F["kind"]], sung[F["part"]], sung[F["pitch"]] = KIND["note"], 0, 67
    sung[F["duration"]] = 2  # two FINE units from tick 0
    rule.advance(sung)
    chosen = {"kind": KIND["note"], "part": 1, "position": 0, "position_fine": 0}
    costs = rule.bias("pitch", chosen)
    assert costs is not None and costs[67] == 0 and costs[60] == 0 and costs[70] == -3 * np.float32(REGISTER_NATS)
    assert rule.bias("pitch", {**chosen, "part": 0}) is None  # the voice itself is free
    assert rule.bias("pitch", {**chosen, "position": 2}) is None  # at the sung note's end (2 * FINE ticks): a rest


def test_a_pianos_right_hand_plays_in_its_usual_register() -> None:
    """In 36 sonata openings of Haydn, Mozart and Beethoven (kern) the right hand's median pitch lies between 67
    and 78 (p10-p90), a twentieth of its notes below MIDI 59 and a tenth above 81. Left to the model one of these
    four pieces (seed 2) wrote its right hand around D6 (median 86); with the usual register on both sides of the
    right hand (58-81) the medians lie in 66-80 (of eight seeds, all but one), and the left hand stays free."""
    import numpy as np

    import cadenza
    from cadenza.compose.ensembles import ENSEMBLES
    from cadenza.compose.registers import REGISTER_NATS, UsualRegister
    from cadenza.tokens.events import KIND

    rule = UsualRegister.of(ENSEMBLES["piano"].voices)
    costs = rule.bias("pitch", {"kind": KIND["note"], "part": 0})
    assert costs is not None and costs[58] == costs[81] == 0
    assert costs[56] == -2 * np.float32(REGISTER_NATS) and costs[84] == -3 * np.float32(REGISTER_NATS)
    assert rule.bias("pitch", {"kind": KIND["note"], "part": 1}) is None  # the left hand: free
    # a song's piano is free (a register under the voice left its left hand silent: the bass went to the right)
    assert UsualRegister.of(ENSEMBLES["song"].voices).bias("pitch", {"kind": KIND["note"], "part": 1}) is None
    medians = []
    for seed in range(8):  # (seeds 0-11: one median below 66 with either harmony table, 64 or 65; sonatas' p10 67)
        notes = cadenza.compose(ensemble="piano", epoch="classical", bars=8, seed=seed, guard=False).score.notes
        medians.append(float(np.median(notes["pitch"][notes["part"] == 0])))
    assert sum(not 66 <= m <= 80 for m in medians) <= 1 and min(medians) >= 60, medians
