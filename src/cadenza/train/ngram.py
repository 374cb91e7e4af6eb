"""The variable-order n-gram (Markov) baseline, the ILLIAC-suite approach, over the same compound steps as the
model, so the two are compared in one harness and one unit (nats per step and per note).

Each step is one symbol (the tuple of its fields). Probabilities interpolate the orders by Witten–Bell:

    P_n(s | h) = (c(h, s) + T(h) * P_{n-1}(s | h')) / (c(h) + T(h))

where c counts what followed the context h of n steps, T(h) is how many different steps followed it and h'
drops its oldest step. Below order 0 sits a base distribution over every possible step: the product of
add-one unigram distributions of each field. Every level is normalised, so the model gives a true
probability to any sequence, never zero.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import numpy as np

from cadenza.tokens.events import FIELDS


class StepNgram:
    def __init__(self, order: int, field_sizes: dict[str, int]) -> None:
        if order < 1:
            raise ValueError("order must be at least 1")
        self.order = order
        self.sizes = [field_sizes[f] for f in FIELDS]
        self.symbols: dict[tuple[int, ...], int] = {}
        self.tables: list[dict[tuple[int, ...], tuple[Counter[int], list[int]]]] = [
            {} for _ in range(order)]  # n -> context of n steps -> (next-step counts, [total])
        self.field_counts = [np.zeros(size, dtype=np.int64) for size in self.sizes]
        self._field_totals = [len(c) for c in self.field_counts]

    def _symbols(self, sequence: np.ndarray) -> list[int]:
        """Each step as one int (steps are interned: contexts stay small tuples of ints)."""
        out = []
        for row in np.asarray(sequence).tolist():
            key = tuple(row)
            symbol = self.symbols.get(key)
            if symbol is None:
                symbol = self.symbols[key] = len(self.symbols)
            out.append(symbol)
        return out

    def fit(self, sequences: Iterable[np.ndarray]) -> StepNgram:
        for sequence in sequences:
            rows = np.asarray(sequence)
            for f in range(len(self.sizes)):
                self.field_counts[f] += np.bincount(rows[1:, f], minlength=self.sizes[f])[: self.sizes[f]]
            steps = self._symbols(rows)
            for i in range(1, len(steps)):
                for n in range(self.order):
                    if i - n < 0:
                        break
                    context = tuple(steps[i - n:i])
                    counts, total = self.tables[n].setdefault(context, (Counter(), [0]))
                    counts[steps[i]] += 1
                    total[0] += 1
        self._field_totals = [int(c.sum()) + len(c) for c in self.field_counts]
        return self

    def _base(self, step: list[int]) -> float:
        p = 1.0
        for f, value in enumerate(step):
            p *= (self.field_counts[f][value] + 1) / self._field_totals[f]
        return p

    def step_probabilities(self, sequence: np.ndarray, order: int | None = None) -> np.ndarray:
        """P(step i | the steps before it) for i >= 1; ``order`` uses only the lower orders (one fit serves
        every order up to the fitted one)."""
        order = self.order if order is None else min(order, self.order)
        rows = np.asarray(sequence).tolist()
        steps = [self.symbols.get(tuple(row), -1) for row in rows]  # -1: a step never seen in training
        out = np.zeros(max(len(steps) - 1, 0))
        for i in range(1, len(steps)):
            p = self._base(rows[i])
            for n in range(order):
                if i - n < 0:
                    break
                entry = self.tables[n].get(tuple(steps[i - n:i]))
                if entry is None:
                    break  # longer contexts were never seen either
                counts, total = entry
                types = len(counts)
                p = (counts.get(steps[i], 0) + types * p) / (total[0] + types)
            out[i - 1] = p
        return out

    def nll(self, sequence: np.ndarray, order: int | None = None) -> float:
        """Total NLL (nats) of steps[1:]."""
        return float(-sum(math.log(p) for p in self.step_probabilities(sequence, order)))
