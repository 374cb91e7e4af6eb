"""The n-gram baseline: true probabilities, and it learns what it saw."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from cadenza.lab.ngram import StepNgram
from cadenza.score import read_score
from cadenza.tokens import encode, field_sizes
from cadenza.tokens.events import FIELDS


def test_probabilities_sum_to_one_over_a_small_step_space() -> None:
    sizes = {name: 1 for name in field_sizes()} | {"kind": 3, "pitch": 4}
    seqs = [np.array([[1, 0, 0, 0, 0, p, 0, 0, 0, 0, 0, 0] for p in (0, 1, 2, 1, 2, 3)])]
    model = StepNgram(3, sizes).fit(seqs)
    prefix = seqs[0][:4]
    total = 0.0
    for kind, pitch in itertools.product(range(3), range(4)):
        step = np.array([[kind, 0, 0, 0, 0, pitch, 0, 0, 0, 0, 0, 0]])
        total += model.step_probabilities(np.concatenate([prefix, step]))[-1]
    assert abs(total - 1.0) < 1e-9


def test_it_learns_what_it_saw_and_never_gives_zero() -> None:
    chorale = encode(read_score("music21:bach/bwv66.6"))
    other = encode(read_score("music21:essenFolksong/altdeu10#3"))
    model = StepNgram(4, field_sizes()).fit([chorale])
    seen = model.nll(chorale) / (len(chorale) - 1)
    unseen = model.nll(other) / (len(other) - 1)
    assert seen < 2.0 < unseen < float("inf")


def test_one_fit_serves_every_lower_order() -> None:
    chorale = encode(read_score("music21:bach/bwv66.6"))
    other = encode(read_score("music21:essenFolksong/altdeu10#3"))
    high = StepNgram(5, field_sizes()).fit([chorale])
    for order in (1, 3):
        assert high.nll(other, order) == StepNgram(order, field_sizes()).fit([chorale]).nll(other)


def _reference(order: int, sizes: list[int], train: list[np.ndarray]) -> Callable[[np.ndarray], list[float]]:
    """The Witten-Bell formula of cadenza.lab.ngram's docstring, step by step with dicts (the loop the
    vectorised counting replaced): fitted on ``train``, it gives P(step i | the steps before it) for i >= 1."""
    tables: list[dict[tuple, dict[tuple, int]]] = [{} for _ in range(order)]
    field_counts = [np.zeros(size, dtype=np.int64) for size in sizes]
    for seq in train:
        rows = [tuple(r) for r in np.asarray(seq).tolist()]
        for row in rows[1:]:
            for f, value in enumerate(row):
                field_counts[f][value] += 1
        for i in range(1, len(rows)):
            for n in range(min(order, i + 1)):
                following = tables[n].setdefault(tuple(rows[i - n:i]), {})
                following[rows[i]] = following.get(rows[i], 0) + 1
    totals = [int(c.sum()) + len(c) for c in field_counts]

    def probabilities(sequence: np.ndarray) -> list[float]:
        rows = [tuple(r) for r in np.asarray(sequence).tolist()]
        out = []
        for i in range(1, len(rows)):
            p = 1.0
            for f, value in enumerate(rows[i]):
                p *= (field_counts[f][value] + 1) / totals[f]
            for n in range(min(order, i + 1)):
                following = tables[n].get(tuple(rows[i - n:i]))
                if following is None:
                    break  # longer contexts were never seen either
                p = (following.get(rows[i], 0) + len(following) * p) / (sum(following.values()) + len(following))
            out.append(p)
        return out

    return probabilities


def test_the_vectorised_counts_give_the_formula_to_the_last_bit() -> None:
    """Fitted on two pieces, scoring a third (steps never seen, contexts that break off) and the first."""
    train = [encode(read_score("music21:bach/bwv66.6")), encode(read_score("music21:essenFolksong/altdeu10#3"))]
    other = encode(read_score("music21:bach/bwv7.7"))
    sizes = [field_sizes()[f] for f in FIELDS]
    model = StepNgram(5, field_sizes()).fit(train)
    for order in (1, 3, 5):
        reference = _reference(order, sizes, train)
        for sequence in (other, train[0]):
            assert model.step_probabilities(sequence, order).tolist() == reference(sequence)
    first_then_second = StepNgram(5, field_sizes()).fit(train[:1]).fit(train[1:])  # fit adds to what it holds
    assert first_then_second.step_probabilities(other).tolist() == model.step_probabilities(other).tolist()


def test_a_step_outside_the_vocabulary_is_refused() -> None:
    chorale = encode(read_score("music21:bach/bwv66.6"))
    bad = chorale.copy()
    bad[3, FIELDS.index("pitch")] = field_sizes()["pitch"]  # one past the last pitch
    with pytest.raises(ValueError, match="outside its vocabulary"):
        StepNgram(3, field_sizes()).fit([bad])
    model = StepNgram(3, field_sizes()).fit([chorale])
    bad[3, FIELDS.index("pitch")] = -1
    with pytest.raises(ValueError, match="outside its vocabulary"):
        model.nll(bad)


def test_a_benchmark_fit_scores_as_the_formula(shared_dir: Path) -> None:
    """JSB's whole train split (229 chorales), order 4: the vectorised fit scores test chorales exactly as
    the step-by-step formula does."""
    from cadenza.corpus.rolls import benchmark_steps
    from cadenza.errors import CadenzaError

    try:
        train, test = benchmark_steps("jsb", "train"), benchmark_steps("jsb", "test")[:4]
    except CadenzaError:
        pytest.skip("no benchmark rolls in ../shared/datasets")
    model = StepNgram(4, field_sizes()).fit(train)
    sizes = [field_sizes()[f] for f in FIELDS]
    reference = _reference(4, sizes, train)
    for sequence in test:
        assert model.step_probabilities(sequence).tolist() == reference(sequence)
