"""The n-gram baseline: true probabilities, and it learns what it saw."""

from __future__ import annotations

import itertools

import numpy as np

from cadenza.score import read_score
from cadenza.tokens import encode, field_sizes
from cadenza.train.ngram import StepNgram


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
