"""Duplicates and splits.

Works that share a ``content_hash`` (exact or transposed copies) or a ``melody_hash`` (the same tune,
harmonised or arranged differently), or that ``corpus.encodings`` finds to be one work in two editions, are
joined into one group (union-find, so chains join too). Whole
groups go to one split, so no duplicate crosses from train to valid or test. A group is placed by a hash
of its smallest work id: deterministic, about 90/5/5, and stratified by source because every source's
groups are spread by the same hash. A group that holds a work with an official split (the benchmark sets)
takes that split (the strictest one, test over valid over train, when its works disagree).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

SPLIT_SHARES = {"test": 0.05, "valid": 0.05}  # the rest is train
_STRICTNESS = {"test": 2, "valid": 1, "train": 0}


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _unit(text: str) -> float:
    """A stable number in [0, 1) from a string (salted: the --limit sample hashes ids too, and the two must
    not agree, or a small sample lands in one split)."""
    return int(hashlib.sha1(f"split:{text}".encode()).hexdigest()[:12], 16) / 16**12


def assign_groups_and_splits(rows: list[dict[str, Any]],
                             same_music: list[tuple[int, int]] | None = None) -> dict[str, Any]:
    """Set ``group`` and ``split`` on every row (in place); return a summary of what was found.
    ``same_music``: index pairs known to be one work in two encodings (``corpus.encodings``), joined too."""
    uf = _UnionFind(len(rows))
    for a, b in same_music or ():
        uf.union(a, b)
    first_with: dict[tuple[str, str], int] = {}
    for i, row in enumerate(rows):
        for kind in ("content_hash", "melody_hash"):
            value = row.get(kind) or ""
            if not value:
                continue
            j = first_with.setdefault((kind, value), i)
            if j != i:
                uf.union(i, j)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(rows)):
        members[uf.find(i)].append(i)

    crossing_official = 0
    for indices in members.values():
        ids = sorted(rows[i]["id"] for i in indices)
        group_id = ids[0]
        official = [rows[i].get("official_split") or "" for i in indices]
        named = [s for s in official if s]
        if named:
            split = max(named, key=lambda s: _STRICTNESS[s])
            if len(set(named)) > 1:
                crossing_official += 1
        else:
            u = _unit(group_id)
            split = "test" if u < SPLIT_SHARES["test"] else (
                "valid" if u < SPLIT_SHARES["test"] + SPLIT_SHARES["valid"] else "train")
        for i in indices:
            rows[i]["group"] = group_id
            # an official split is kept as the benchmark defines it, even when a duplicate sits elsewhere
            rows[i]["split"] = official[indices.index(i)] or split
    groups = [g for g in members.values() if len(g) > 1]
    spanning = sum(1 for g in groups if len({rows[i].get("source") for i in g}) > 1)
    crossing = sum(1 for g in members.values() if len({rows[i]["split"] for i in g}) > 1)
    return {
        "works": len(rows),
        "groups": len(members),
        "duplicate_groups": len(groups),
        "works_in_duplicate_groups": sum(len(g) for g in groups),
        "groups_spanning_sources": spanning,
        "encoding_pairs": len(same_music or ()),
        "groups_crossing_splits": crossing,
        "groups_crossing_official_splits": crossing_official,
        "split_counts": {s: sum(1 for r in rows if r["split"] == s) for s in ("train", "valid", "test")},
    }
