"""The same work in several encodings: a Beethoven sonata movement from the kern and the DCML editions, a
quartet from music21's corpus and from OpenScore. Such copies differ in grace notes, ornaments, chord
spellings and part layout, so their content hashes differ; what they share is the tune. Each work's top line
(the highest pitch at each onset) is cut into 6-note pitch runs; two works of the same composer from
different sources are one work when most runs of the shorter are found in the longer (a movement inside a
whole-quartet file counts too). Only composers present in more than one source are compared.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

RUN = 6  # notes per pitch run
MIN_RUNS = 24  # shorter works are not compared (short figures recur by chance)
MIN_SHARED = 60  # and at least this many runs shared: a short exposition met 37 runs of scales in a whole
# quartet by chance (0.32 of its own), where every true movement-in-a-whole-work match shared 94 or more
CONTAINED = 0.3  # share of the shorter work's runs found in the longer: the same music (measured: 0.63-1.0
# for one movement in the kern and DCML editions, at most 0.02 between different movements)


def top_line_runs(notes: np.ndarray) -> np.ndarray:
    """Sorted unique hashes of the RUN-note pitch runs of the top line (highest pitch per onset)."""
    if not len(notes):
        return np.zeros(0, dtype=np.uint64)
    order = np.lexsort((-notes["pitch"].astype(np.int64), notes["onset_ticks"]))
    onsets = notes["onset_ticks"][order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = onsets[1:] != onsets[:-1]
    top = notes["pitch"][order][first].astype(np.uint64)
    if len(top) < RUN:
        return np.zeros(0, dtype=np.uint64)
    windows = np.lib.stride_tricks.sliding_window_view(top, RUN)
    hashes = np.zeros(len(windows), dtype=np.uint64)
    for i in range(RUN):
        hashes = hashes * np.uint64(131) + windows[:, i]
    return np.unique(hashes)


def composer_key(name: str) -> str:
    """A composer's surname in lower case ('Ludwig van Beethoven (1770–1827)' and 'L. van Beethoven' agree)."""
    name = re.sub(r"\(.*?\)", " ", name.lower())
    words = [w for w in re.split(r"[^a-zà-ÿ]+", name) if len(w) > 2 and w not in ("van", "von", "der", "den")]
    return words[-1] if words else ""


def encoding_pairs(rows: list[dict[str, Any]],
                   load_notes: Callable[[dict[str, Any]], np.ndarray]) -> list[tuple[int, int]]:
    """Index pairs of rows that hold the same music in different sources."""
    by_composer: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        key = composer_key(str(row.get("composer") or ""))
        if key:
            by_composer[key].append(i)
    groups = [m for m in by_composer.values() if len({rows[i]["source"] for i in m}) >= 2]
    wanted = sorted({i for m in groups for i in m},
                    key=lambda i: (rows[i].get("shard", 0), rows[i].get("shard_index", 0)))
    runs = {i: top_line_runs(load_notes(rows[i])) for i in wanted}  # in shard order: each shard read once
    pairs: list[tuple[int, int]] = []
    for members in groups:
        members = [i for i in members if len(runs[i]) >= MIN_RUNS]
        for a_pos, a in enumerate(members):
            for b in members[a_pos + 1:]:
                if rows[a]["source"] == rows[b]["source"]:
                    continue
                small, large = (runs[a], runs[b]) if len(runs[a]) <= len(runs[b]) else (runs[b], runs[a])
                shared = len(np.intersect1d(small, large, assume_unique=True))
                if shared >= max(CONTAINED * len(small), MIN_SHARED):
                    pairs.append((a, b))
    return pairs
