"""Sampling under the grammar: any model's output is a valid sequence that decodes to a Score; a seed
reproduces it; sequences longer than the context are generated through the sliding window."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cadenza.model.checkpoint import new_model  # noqa: E402
from cadenza.model.sample import SampleConfig, generate  # noqa: E402
from cadenza.score import read_score  # noqa: E402
from cadenza.tokens import decode, encode, label_vocabulary  # noqa: E402
from cadenza.tokens.events import KIND  # noqa: E402
from cadenza.tokens.grammar import check_sequence  # noqa: E402


@pytest.fixture(scope="module")
def prompt() -> np.ndarray:
    return encode(read_score("music21:bach/bwv66.6"))[:30]


def test_an_untrained_model_still_writes_valid_music(prompt: np.ndarray) -> None:
    torch.manual_seed(0)
    model = new_model("tiny", context=64)  # a short context: the window slides several times
    out = generate(model, prompt, SampleConfig(max_steps=200, min_steps=200, seed=3), len(label_vocabulary()))
    assert len(out) == len(prompt) + 201 and out[-1, 0] == KIND["eos"]
    check_sequence(out, len(label_vocabulary()))
    score = decode(out)
    assert score.note_count >= 10 and len(score.parts) == 4
    assert np.array_equal(out[: len(prompt)], prompt)  # the prompt is kept as given


def test_seeds_reproduce_and_differ(prompt: np.ndarray) -> None:
    torch.manual_seed(0)
    model = new_model("tiny")
    sizes = len(label_vocabulary())
    a = generate(model, prompt, SampleConfig(max_steps=40, min_steps=40, seed=1), sizes)
    b = generate(model, prompt, SampleConfig(max_steps=40, min_steps=40, seed=1), sizes)
    c = generate(model, prompt, SampleConfig(max_steps=40, min_steps=40, seed=2), sizes)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_greedy_sampling_picks_the_most_likely_allowed_value(prompt: np.ndarray) -> None:
    torch.manual_seed(0)
    model = new_model("tiny")
    out = generate(model, prompt, SampleConfig(max_steps=1, temperature=0.0), len(label_vocabulary()))
    h, _ = model.hidden(torch.tensor(prompt, dtype=torch.long)[None])
    first_kind = int(out[len(prompt), 0])
    from cadenza.tokens.grammar import Grammar

    grammar = Grammar(len(label_vocabulary()))
    for step in prompt:
        grammar.advance(step)
    state = h[0, -1]
    logits = model.heads[0](state).detach().numpy()
    # a note's weight is the model's chance of it times the chance that its position is one the grammar allows
    note = KIND["note"]
    with torch.no_grad():
        after = state + model.chosen[0](torch.tensor(note)) + model.chosen[1](torch.tensor(0))
        position = torch.log_softmax(model.heads[2](after), dim=-1).numpy()
    logits[note] += np.logaddexp.reduce(position[grammar.allowed("position", {"kind": note, "label": 0})])
    logits[~grammar.allowed_kinds()] = -np.inf
    assert first_kind == int(np.argmax(logits))


def test_guidance_moves_the_logits_away_from_the_unlabelled_prediction() -> None:
    from cadenza.tokens.grammar import Grammar
    from cadenza.tokens.labels import label_ids

    torch.manual_seed(0)
    model = new_model("tiny", context=64)
    sizes = len(label_vocabulary())
    labelled = encode(read_score("music21:bach/bwv66.6"), label_ids({"mood": "sad", "epoch": "baroque"}))[:30]
    plain = labelled[labelled[:, 0] != KIND["label"]]
    assert len(plain) == len(labelled) - 2
    g = 3.0
    out = generate(model, labelled, SampleConfig(max_steps=1, temperature=0.0, guidance=g), sizes)
    grammar = Grammar(sizes)
    for step in labelled:
        grammar.advance(step)
    with torch.no_grad():
        cond = model.heads[0](model.hidden(torch.tensor(labelled)[None])[0][0, -1]).numpy()
        free = model.heads[0](model.hidden(torch.tensor(plain)[None])[0][0, -1]).numpy()
    guided = free + g * (cond - free)
    guided[~grammar.allowed_kinds()] = -np.inf
    assert int(out[len(labelled), 0]) == int(np.argmax(guided))
    unguided = generate(model, labelled, SampleConfig(max_steps=1, temperature=0.0), sizes)
    assert not np.array_equal(out, unguided)  # the later fields' choices move with guidance
    # both copies of the sequence slide through the short context, and the result stays valid
    long = generate(model, labelled, SampleConfig(max_steps=150, min_steps=150, seed=1, guidance=2.0), sizes)
    check_sequence(long, sizes)
    assert np.array_equal(long[: len(labelled)], labelled)
