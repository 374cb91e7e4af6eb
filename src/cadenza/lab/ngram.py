"""The variable-order n-gram (Markov) baseline, the ILLIAC-suite approach, over the same compound steps as the
model, so the two are compared in one harness and one unit (nats per step and per note).

Each step is one symbol (the tuple of its fields). Probabilities interpolate the orders by Witten–Bell:

    P_n(s | h) = (c(h, s) + T(h) * P_{n-1}(s | h')) / (c(h) + T(h))

where c counts what followed the context h of n steps, T(h) is how many different steps followed it and h'
drops its oldest step. Below order 0 sits a base distribution over every possible step: the product of
add-one unigram distributions of each field. Every level is normalised, so the model gives a true
probability to any sequence, never zero.

Counting and scoring are vectorised (numpy sorts and binary searches, no Python loop over steps): the
Nottingham train split (724,574 steps) fits at order 6 in 1-2 s (16 s as a loop over steps), so a
benchmark ensemble with n-gram members refits them when it loads rather than storing them. A context of n
steps is numbered within its order by its parent (the context of its n-1 most recent steps) and its oldest
step, so every table is a sorted array of int64 keys: ``parent id * symbols + step`` for the contexts,
``context id * symbols + next step`` for the counts. The figures are the same, to the last bit, as a loop
over the formula above (``tests/test_ngram.py`` checks it against one).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from cadenza.tokens.events import FIELDS

KEY_LIMIT = 2**62  # int64 keys stay below this (products are checked before they are formed)


def _find(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of each key in ``sorted_keys``, whether it is there)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=np.int64), np.zeros(len(keys), dtype=bool)
    index = np.searchsorted(sorted_keys, keys)
    clipped = np.minimum(index, len(sorted_keys) - 1)
    return clipped, sorted_keys[clipped] == keys


class StepIndex:
    """Steps (rows of field values) numbered as symbols 0..n-1, vectorised: the fields are packed into one
    int64 key in mixed radix, interned (numbered by np.unique) whenever the next field would overflow it."""

    def __init__(self, sizes: list[int]) -> None:
        self.sizes = sizes
        self.stages: list[tuple[int, np.ndarray]] = []  # (field index packed next, sorted keys interned before it)
        self.symbol_keys = np.zeros(0, dtype=np.int64)  # the final keys, sorted: a symbol is its index here

    def fit(self, rows: np.ndarray) -> np.ndarray:
        """Number the distinct rows (the index is rebuilt from these rows alone); returns each row's symbol."""
        self.stages = []
        key, radix = np.zeros(len(rows), dtype=np.int64), 1
        for f, size in enumerate(self.sizes):
            if radix * size >= KEY_LIMIT:
                uniques, key = np.unique(key, return_inverse=True)
                self.stages.append((f, uniques))
                radix = max(len(uniques), 1)
            key = key * size + rows[:, f]
            radix *= size
        self.symbol_keys, symbols = np.unique(key, return_inverse=True)
        return symbols.astype(np.int64).reshape(-1)

    def lookup(self, rows: np.ndarray) -> np.ndarray:
        """Each row's symbol, -1 for a row never fitted."""
        key, seen = np.zeros(len(rows), dtype=np.int64), np.ones(len(rows), dtype=bool)
        stages = dict(self.stages)
        for f, size in enumerate(self.sizes):
            if f in stages:
                key, found = _find(stages[f], key)
                seen &= found
            key = key * size + rows[:, f]
        symbols, found = _find(self.symbol_keys, key)
        return np.where(seen & found, symbols, -1)


@dataclass(frozen=True)
class OrderTable:
    """The counts of one order n: its contexts (n steps) and what followed them."""

    context_keys: np.ndarray  # sorted: parent context id * symbols + oldest step; a context's id is its index
    context_totals: np.ndarray  # c(h): steps that followed each context
    context_types: np.ndarray  # T(h): distinct steps that followed it
    pair_keys: np.ndarray  # sorted: context id * symbols + next step
    pair_counts: np.ndarray  # c(h, s)


class StepNgram:
    def __init__(self, order: int, field_sizes: dict[str, int]) -> None:
        if order < 1:
            raise ValueError("order must be at least 1")
        self.order = order
        self.sizes = [field_sizes[f] for f in FIELDS]
        self.index = StepIndex(self.sizes)
        self.symbol_rows = np.zeros((0, len(self.sizes)), dtype=np.int64)  # each symbol's step, for a refit
        self.fitted_symbols = np.zeros(0, dtype=np.int64)  # every fitted step as its symbol, sequence after sequence
        self.fitted_lengths = np.zeros(0, dtype=np.int64)
        self.tables: list[OrderTable] = []
        self.field_counts = [np.zeros(size, dtype=np.int64) for size in self.sizes]
        self._field_totals = [len(c) for c in self.field_counts]

    def _rows(self, sequence: np.ndarray) -> np.ndarray:
        rows = np.asarray(sequence, dtype=np.int64).reshape(-1, len(self.sizes))
        if len(rows) and ((rows < 0).any() or (rows >= np.asarray(self.sizes)).any()):
            raise ValueError("a step has a field value outside its vocabulary")
        return rows

    def fit(self, sequences: Iterable[np.ndarray]) -> StepNgram:
        """Count the steps of ``sequences`` (added to those fitted before, if any)."""
        parts = [self._rows(s) for s in sequences]
        lengths = np.asarray([len(p) for p in parts], dtype=np.int64)
        if len(self.fitted_lengths):  # refit on what was fitted before and the new sequences
            parts.insert(0, self.symbol_rows[self.fitted_symbols])
            lengths = np.concatenate([self.fitted_lengths, lengths])
        rows = np.concatenate(parts) if parts else np.zeros((0, len(self.sizes)), dtype=np.int64)
        symbols = self.index.fit(rows)
        self.symbol_rows = np.zeros((len(self.index.symbol_keys), len(self.sizes)), dtype=np.int64)
        self.symbol_rows[symbols] = rows
        self.fitted_symbols, self.fitted_lengths = symbols, lengths
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        position = np.arange(len(rows), dtype=np.int64) - starts  # of each step within its sequence
        targets = np.flatnonzero(position >= 1)  # every step after a sequence's first is counted
        self.field_counts = [np.bincount(rows[targets, f], minlength=size)
                             for f, size in enumerate(self.sizes)]
        self._field_totals = [int(c.sum()) + len(c) for c in self.field_counts]
        self.tables = self._count(symbols, position, targets)
        return self

    def _count(self, symbols: np.ndarray, position: np.ndarray, targets: np.ndarray) -> list[OrderTable]:
        n_symbols = max(len(self.index.symbol_keys), 1)
        following = symbols[targets]
        context = np.zeros(len(targets), dtype=np.int64)  # order 0: the empty context, id 0
        context_keys = np.zeros(1 if len(targets) else 0, dtype=np.int64)
        tables = []
        for n in range(self.order):
            if n:  # the context of n steps: its parent (the n-1 most recent) and the step before those
                keep = position[targets] >= n
                targets, following, context = targets[keep], following[keep], context[keep]
                if len(context_keys) * n_symbols >= KEY_LIMIT:
                    raise ValueError("too many contexts for the n-gram's int64 keys")
                context_keys, context = np.unique(context * n_symbols + symbols[targets - n], return_inverse=True)
                context = context.reshape(-1)
            pair_keys, pair_counts = np.unique(context * n_symbols + following, return_counts=True)
            tables.append(OrderTable(context_keys, np.bincount(context, minlength=len(context_keys)),
                                     np.bincount(pair_keys // n_symbols, minlength=len(context_keys)),
                                     pair_keys, pair_counts))
        return tables

    def step_probabilities(self, sequence: np.ndarray, order: int | None = None) -> np.ndarray:
        """P(step i | the steps before it) for i >= 1; ``order`` uses only the lower orders (one fit serves
        every order up to the fitted one)."""
        order = self.order if order is None else min(order, self.order)
        rows = self._rows(sequence)
        if len(rows) < 2:
            return np.zeros(0)
        p = np.ones(len(rows) - 1)
        for f, counts in enumerate(self.field_counts):  # the base: a product of add-one unigrams, field by field
            p *= (counts[rows[1:, f]] + 1) / self._field_totals[f]
        symbols = self.index.lookup(rows)  # -1: a step never seen in training
        n_symbols = max(len(self.index.symbol_keys), 1)
        at = np.arange(1, len(rows))
        target = symbols[1:]
        context = np.zeros(len(at), dtype=np.int64)
        alive = np.ones(len(at), dtype=bool)  # the context of this order was seen (else longer ones were not)
        for n, table in enumerate(self.tables[:order]):
            if n:
                oldest = symbols[np.maximum(at - n, 0)]
                alive &= (at >= n) & (oldest >= 0)
                context, found = _find(table.context_keys, np.where(alive, context * n_symbols + oldest, -1))
                alive &= found
            elif not len(table.context_keys):
                alive[:] = False
            if not alive.any():
                break
            index, found = _find(table.pair_keys, np.where(target >= 0, context * n_symbols + target, -1))
            counts = np.where(found & (target >= 0), table.pair_counts[index], 0)
            types, total = table.context_types[context], table.context_totals[context]
            p = np.where(alive, (counts + types * p) / np.maximum(total + types, 1), p)
        return p

    def nll(self, sequence: np.ndarray, order: int | None = None) -> float:
        """Total NLL (nats) of steps[1:]."""
        return float(-sum(math.log(p) for p in self.step_probabilities(sequence, order)))
