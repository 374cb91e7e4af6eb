"""The fast sampler (issue 19) draws exactly what the sampler it replaced drew: the transformer's decoding
step equals ``hidden`` with a cache bit for bit, the draws and masks equal the old ones (the reference in
``tests/reference_sampler.py``) for the same seed, under the grammar alone and under the composer's rules, and
what is kept between calls (a prefix read, the rules' answers within a step) is what a fresh reckoning gives."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cadenza.compose.generate import _constraint, load_model, plan_prompt  # noqa: E402
from cadenza.compose.request import ComposeRequest, resolve  # noqa: E402
from cadenza.model.checkpoint import new_model  # noqa: E402
from cadenza.model.draw import nucleus, nucleus_by_sort  # noqa: E402
from cadenza.model.sample import SampleConfig, generate  # noqa: E402
from cadenza.model.transformer import DecodeCache  # noqa: E402
from cadenza.score import read_score  # noqa: E402
from cadenza.tokens import encode, label_vocabulary  # noqa: E402
from cadenza.tokens.events import FIELDS, KIND  # noqa: E402
from cadenza.tokens.grammar import Grammar  # noqa: E402
from cadenza.tokens.labels import label_ids  # noqa: E402
from tests.reference_sampler import reference_allowed, reference_generate  # noqa: E402

LABELS = len(label_vocabulary())


@pytest.fixture(scope="module")
def chorale() -> np.ndarray:
    return encode(read_score("music21:bach/bwv66.6")).astype(np.int64)


def test_the_decoding_step_equals_hidden_with_a_cache_bit_for_bit(chorale: np.ndarray) -> None:
    torch.manual_seed(0)
    for model in (new_model("tiny"), load_model()[0]):
        model.eval()
        steps = torch.from_numpy(chorale[:120])[None]
        with torch.inference_mode():
            _, cache = model.hidden(steps[:, :40])
            fast = DecodeCache(model, cache)
            for t in range(40, 120):
                h, cache = model.hidden(steps[:, t:t + 1], cache)
                assert torch.equal(model.decode_step(steps[0, t].tolist(), fast), h[0, -1]), t
        assert fast.length == 120


@pytest.mark.parametrize("settings", [
    {"max_steps": 150, "min_steps": 150, "seed": 3},  # top-p 0.95: the window slides (context 64)
    {"max_steps": 120, "min_steps": 100, "seed": 4, "temperature": 0.7, "top_p": 0.6},
    {"max_steps": 120, "min_steps": 100, "seed": 5, "top_p": 1.0, "guidance": 2.5},
    {"max_steps": 20, "min_steps": 20, "seed": 6, "temperature": 0.0},
])
def test_the_fast_sampler_draws_what_the_old_one_drew(chorale: np.ndarray, settings: dict) -> None:
    torch.manual_seed(1)
    model = new_model("tiny", context=64)
    prompt = encode(read_score("music21:bach/bwv66.6"), label_ids({"mood": "sad", "epoch": "baroque"}))[:30]
    config = SampleConfig(**settings)
    fast = generate(model, prompt, config, LABELS)
    assert np.array_equal(fast, reference_generate(model, prompt, config, LABELS))
    assert len(fast) > len(prompt) + 10


@pytest.mark.parametrize("request_fields", [
    {"ensemble": "piano", "key": "D major", "meter": "3/4", "bars": 4, "seed": 2},
    {"ensemble": "lead-sheet", "key": "G minor", "bars": 4, "density": "high", "seed": 3},
])
def test_the_fast_sampler_draws_what_the_old_one_drew_under_the_composers_rules(request_fields: dict) -> None:
    model = load_model()[0]
    plan = resolve(ComposeRequest(**request_fields))
    voices = plan.ensemble.voices if plan.ensemble else ()
    prompt = plan_prompt(plan)
    config = SampleConfig(max_steps=400, temperature=1.0, top_p=1.0, seed=request_fields["seed"])
    made = [generate(model, prompt, config, LABELS, constraint=_constraint(plan, voices, 500, None, True)[0]),
            reference_generate(model, prompt, config, LABELS, constraint=_constraint(plan, voices, 500, None, True)[0])]
    assert np.array_equal(made[0], made[1])
    assert made[0][-1, 0] == KIND["eos"] and (made[0][:, 0] == KIND["note"]).sum() > 8


def test_the_shipped_model_draws_what_the_old_sampler_drew_under_top_p(chorale: np.ndarray,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A trained model is sure of most values (one holds more than top-p of the mass): the fast draw takes
    that value without the nucleus's reckoning, and the random stream moves on as before."""
    import cadenza.model.draw as draw

    model = load_model()[0]
    prompt = encode(read_score("music21:bach/bwv66.6"), label_ids({"epoch": "baroque"}))[:40]
    reckoned = []
    monkeypatch.setattr(draw, "nucleus", lambda probs, top_p: reckoned.append(1) or nucleus(probs, top_p))
    config = SampleConfig(max_steps=120, min_steps=120, seed=11)
    fast = generate(model, prompt, config, LABELS)
    assert np.array_equal(fast, reference_generate(model, prompt, config, LABELS))
    drawn = int(np.count_nonzero(fast[len(prompt):, 0] == KIND["note"]))
    assert drawn > 60 and 0 < len(reckoned) < 3 * drawn  # a note draws ~7 fields: most without the nucleus


def test_nucleus_filtering_keeps_what_sorting_kept() -> None:
    import cadenza.model.draw as draw

    generator = torch.Generator().manual_seed(0)
    ties = few = 0
    for trial in range(600):
        size = (2, 10, 70, 128, 768)[trial % 5]
        logits = torch.randn(size, generator=generator) * (4, 4, 9)[trial % 3 - 1]
        if trial % 3 == 0:
            logits = logits.round()  # equal probabilities, some across the cut
        allowed = torch.rand(size, generator=generator) < 0.7
        allowed[0] = True
        probs = torch.softmax(logits.masked_fill(~allowed, float("-inf")), dim=0)
        probs = probs.double() if trial % 7 == 0 else probs
        ordered = probs.sort(descending=True)[0]
        edge = (ordered.cumsum(0) - ordered)[int(torch.randint(1, size, (1,), generator=generator))].numpy()
        # a cut at a mass torch reckons exactly (and a hair either side): the accumulator's rounding decides
        for top_p in ((0.95, 0.9, 0.5, 0.99, 0.2)[trial % 5], float(edge), float(np.nextafter(edge, edge + 1)),
                      float(np.nextafter(edge, edge - 1))):
            assert torch.equal(nucleus(probs, top_p), nucleus_by_sort(probs, top_p)), (trial, top_p)
        ties += int(len(torch.unique(probs[probs > 0])) < int((probs > 0).sum()))
        few += int(probs[probs > probs.max() * draw._FEW].sum() >= 0.95 + draw._ROOM and bool(probs.min() > 0))
    assert ties > 50  # the equal-probability cases were exercised
    assert few > 50  # and cuts found among the largest values only, the smallest left unsorted


def test_the_grammar_allows_what_its_old_masks_allowed_and_checks_agree(chorale: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    grammar = Grammar(LABELS)
    for step in chorale:
        for trial in range(3):
            chosen: dict[str, int] = {}
            for i, field in enumerate(FIELDS):
                mask = reference_allowed(grammar, field, chosen)
                assert np.array_equal(grammar.allowed(field, chosen), mask), (field, chosen)
                options = np.flatnonzero(mask)
                chosen[field] = int(step[i]) if trial == 0 or not len(options) else int(rng.choice(options))
            wrong = step.copy()
            wrong[rng.integers(len(FIELDS))] = rng.integers(0, 300)
            assert (grammar.check(wrong) is None) == _allowed_by_old_masks(grammar, wrong)
        grammar.advance(step)


def _allowed_by_old_masks(grammar: Grammar, step: np.ndarray) -> bool:
    chosen: dict[str, int] = {}
    for i, field in enumerate(FIELDS):
        mask = reference_allowed(grammar, field, chosen)
        if not 0 <= step[i] < len(mask) or not mask[step[i]]:
            return False
        chosen[field] = int(step[i])
    return True


def test_a_prefix_read_before_the_weights_changed_is_read_afresh(chorale: np.ndarray) -> None:
    torch.manual_seed(2)
    model = new_model("tiny")
    config = SampleConfig(max_steps=40, min_steps=40, seed=7)
    first = generate(model, chorale[:50], config, LABELS)
    with torch.no_grad():
        for parameter in model.blocks.parameters():
            parameter.mul_(-2.0)  # in place, as an optimizer step: the prefix now reads otherwise
    second = generate(model, chorale[:50], config, LABELS)
    assert np.array_equal(second, reference_generate(model, chorale[:50], config, LABELS))
    assert not np.array_equal(first, second)


def test_the_rules_answers_kept_within_a_step_are_those_of_a_fresh_reckoning() -> None:
    model = load_model()[0]
    plan = resolve(ComposeRequest(ensemble="string-quartet", key="A minor", meter="4/4", bars=4, seed=1))
    constraint, voice_rules = _constraint(plan, plan.ensemble.voices, 600, None, True)
    base = constraint.base
    checked = {"plan": 0, "parts": 0, "chords": 0, "sounding": 0}
    kept_allowed, kept_sounding = base.allowed, voice_rules._sounding

    def allowed(field: str, chosen: dict[str, int], grammar: Grammar) -> np.ndarray | None:
        answer = kept_allowed(field, chosen, grammar)
        fresh = base._allowed(field, chosen, grammar)
        assert (answer is None and fresh is None) or np.array_equal(answer, fresh), (field, chosen)
        checked["plan"] += 1
        full = np.array([not base._full(p) for p in range(16)])
        assert np.array_equal(base._parts_not_full(16), full)
        checked["parts"] += 1
        cadences = voice_rules.cadences
        if cadences is not None:
            bar = voice_rules._bar_index()
            assert voice_rules._cadence_chords() == (cadences.arrival_at(bar), cadences.final_chord(bar),
                                                     cadences.chord_at(bar))
            checked["chords"] += 1
        return answer

    def sounding(now: int) -> dict[int, list[int]]:
        answer = kept_sounding(now)
        assert answer == voice_rules._sounding_now(now)
        checked["sounding"] += 1
        return answer

    base.allowed, voice_rules._sounding = allowed, sounding  # type: ignore[method-assign]
    steps = generate(model, plan_prompt(plan), SampleConfig(max_steps=500, top_p=1.0, seed=1), LABELS,
                     constraint=constraint)
    assert (steps[:, 0] == KIND["note"]).sum() > 20
    assert min(checked.values()) > 50, checked
