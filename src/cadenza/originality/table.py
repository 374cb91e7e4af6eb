"""Longest shared runs between a query sequence and a stored one, by k-gram seeds extended both ways.

The stored stream is every line (or every work's bars) concatenated, each starting with a *breaker*
symbol that matches nothing. At load the table hashes every k-gram that holds no breaker (a 64-bit
polynomial hash, vectorised) and sorts the hashes; a query hashes its own k-grams and finds their
occurrences with ``searchsorted``. Hits on one diagonal (stored position − query position) with
consecutive query positions are one shared run; each run is then extended symbol by symbol in both
directions (through k-grams too common to enumerate, see :data:`MAX_HITS`) and measured exactly.

A k-gram that occurs more than :data:`MAX_HITS` times in the store (repeated notes, plain scales) is not
enumerated: a run made of nothing but such k-grams is not reported (it copies nothing in particular),
though a run that passes through them is measured whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_HITS = 400  # occurrences above which a k-gram is too common to enumerate
_PRIME = np.uint64(0x9E3779B97F4A7C15)
QUERY_BREAK = np.uint32(0xFFFFFFFE)


@dataclass(frozen=True)
class Run:
    """A shared run: ``length`` symbols from ``query_start`` in the query and ``store_start`` in the store."""

    length: int
    query_start: int
    store_start: int


def kgram_hashes(stream: np.ndarray, k: int) -> np.ndarray:
    """Hash of stream[p:p+k] for every p in 0..len-k (uint64; wraps around, which is what we want)."""
    n = len(stream) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    s = stream.astype(np.uint64)
    s += np.uint64(1)
    h = s[:n].copy()  # in place from here: a shipped index's millions of k-grams, each pass without a new array
    with np.errstate(over="ignore"):
        for j in range(1, k):
            h *= _PRIME
            h += s[j:j + n]
        h ^= h >> np.uint64(31)  # finish: spread the high bits
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(29)
    return h


def valid_starts(breaks: np.ndarray, k: int) -> np.ndarray:
    """Positions p whose window stream[p:p+k] holds no breaker (each breaker rules out the k windows that hold
    it: fewer operations than a running count over the whole stream, where breakers are one symbol in many)."""
    n = len(breaks) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    at = np.flatnonzero(breaks)
    ruled_out = np.zeros(n, dtype=bool)
    for j in range(k):
        windows = at - j
        ruled_out[windows[(windows >= 0) & (windows < n)]] = True
    return np.flatnonzero(~ruled_out)


class KGramTable:
    """Sorted k-gram hashes of a stored stream (uint32 symbols; ``breaks`` marks breaker positions)."""

    def __init__(self, stream: np.ndarray, breaks: np.ndarray, k: int) -> None:
        self.k = k
        self.stream = stream.astype(np.uint32)
        starts = valid_starts(breaks, k)
        # one sort of (hash prefix | position): faster than an argsort, and the key keeps the position
        self.shift = np.uint64(max(int(len(stream)).bit_length(), 1))
        packed = (kgram_hashes(self.stream, k)[starts] >> self.shift << self.shift) | starts.astype(np.uint64)
        packed.sort()
        self.keys = packed >> self.shift
        self.positions = (packed & ((np.uint64(1) << self.shift) - np.uint64(1))).astype(np.int64)

    @classmethod
    def from_sorted(cls, stream: np.ndarray, k: int, keys: np.ndarray, positions: np.ndarray,
                    shift: int) -> KGramTable:
        """A table over ``stream`` from its sorted ``keys`` and ``positions``, as built before (see
        :mod:`cadenza.originality.cache`)."""
        table = cls.__new__(cls)
        table.k, table.stream, table.shift = k, stream.astype(np.uint32), np.uint64(shift)
        table.keys, table.positions = keys, positions
        return table

    def __len__(self) -> int:
        return len(self.keys)

    def lookup(self, query: np.ndarray, query_breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query window starts, first match index, match count) for each breaker-free query k-gram."""
        starts = valid_starts(query_breaks, self.k)
        hashes = kgram_hashes(query.astype(np.uint32), self.k)[starts] >> self.shift
        lo = np.searchsorted(self.keys, hashes, side="left")
        hi = np.searchsorted(self.keys, hashes, side="right")
        return starts, lo, hi - lo

    def runs(self, query: np.ndarray, query_breaks: np.ndarray) -> tuple[list[Run], float]:
        """Every maximal shared run of at least k symbols (one per diagonal segment), and the share of the
        query's k-grams found in the store."""
        q = np.where(query_breaks, QUERY_BREAK, query.astype(np.uint32))
        starts, lo, count = self.lookup(q, query_breaks)
        share = float((count > 0).mean()) if len(count) else 0.0
        use = (count > 0) & (count <= MAX_HITS)
        if not use.any():
            return [], share
        starts, lo, count = starts[use], lo[use], count[use]
        total = int(count.sum())
        qpos = np.repeat(starts, count)
        offset = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
        spos = self.positions[np.repeat(lo, count) + offset]
        diag = spos - qpos
        order = np.lexsort((qpos, diag))
        qpos, diag = qpos[order], diag[order]
        new = np.ones(len(qpos), dtype=bool)
        new[1:] = (diag[1:] != diag[:-1]) | (qpos[1:] != qpos[:-1] + 1)
        heads = np.nonzero(new)[0]
        tails = np.append(heads[1:], len(qpos)) - 1
        q0, q1 = qpos[heads], qpos[tails] + self.k  # [q0, q1) in the query
        d = diag[heads]
        real = np.ones(len(heads), dtype=bool)  # a hash prefix can collide: check each run's first k-gram
        for j in range(self.k):
            real &= q[q0 + j] == self.stream[q0 + d + j]
        q0, q1, d = q0[real], q1[real], d[real]
        q0, q1 = self._extend(q, q0, q1, d)
        # runs that grew into each other along a diagonal are one run
        key = np.unique(np.stack([d, q0, q1], axis=1), axis=0)
        return [Run(int(b - a), int(a), int(a + dd)) for dd, a, b in key.tolist()], share

    def _extend(self, q: np.ndarray, q0: np.ndarray, q1: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s, n, m = self.stream, len(q), len(self.stream)
        q0, q1 = q0.copy(), q1.copy()
        active = np.ones(len(q0), dtype=bool)
        while active.any():  # backwards
            idx = np.nonzero(active)[0]
            a = q0[idx] - 1
            ok = (a >= 0) & (a + d[idx] >= 0)
            ok[ok] = q[a[ok]] == s[a[ok] + d[idx][ok]]
            q0[idx[ok]] -= 1
            active[idx[~ok]] = False
        active[:] = True
        while active.any():  # forwards
            idx = np.nonzero(active)[0]
            b = q1[idx]
            ok = (b < n) & (b + d[idx] < m)
            ok[ok] = q[b[ok]] == s[b[ok] + d[idx][ok]]
            q1[idx[ok]] += 1
            active[idx[~ok]] = False
        return q0, q1
