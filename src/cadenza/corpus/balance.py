"""How often each work is drawn in training: styles balanced, duplicates counted once.

Left alone, a corpus is sampled in proportion to its notes, and the largest sources decide what the model
learns (in the v1 corpus folk tunes were 82% of the works and POP909 43% of the notes). Here each *style*
(the work's epoch label: folk, popular, baroque, classical, romantic …) gets a share of the training steps
that grows with the square root of its share of the corpus (``power`` 0.5; 1 keeps the corpus' own
proportions, 0 gives every style an equal share). Within a style every step of every work is equally likely
(works drawn in proportion to their length). A draw delivers one window of at most ``context`` steps, so a
style of short tunes needs more draws than a style of long movements for the same share of steps: the draw
probabilities account for that. A work present in several encodings (one duplicate group in the same split:
a sonata from both the kern and the DCML editions) shares its draws with its copies, so the movement is not
learnt twice as often as the rest.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

DEFAULT_POWER = 0.5


def copies_in(rows: list[dict[str, Any]]) -> list[int]:
    """For each manifest row, how many rows of ``rows`` (one split) share its duplicate group."""
    sizes = Counter(r.get("group", r["id"]) for r in rows)
    return [sizes[r.get("group", r["id"])] for r in rows]


def _by_style(styles: list[str], values: np.ndarray) -> dict[str, float]:
    totals: dict[str, float] = {}
    for style, value in zip(styles, values, strict=True):
        totals[style] = totals.get(style, 0.0) + float(value)
    return totals


def balanced_weights(styles: list[str], lengths: np.ndarray, copies: np.ndarray | None = None,
                     power: float = DEFAULT_POWER, context: int = 512) -> np.ndarray:
    """Draw probabilities of the works (summing to 1) that give each style a share of the delivered steps
    ∝ (its share of the corpus) ** power; works within a style ∝ length / copies."""
    lengths = np.asarray(lengths, dtype=float)
    if not len(lengths):
        return lengths
    per_work = lengths / (np.asarray(copies, dtype=float) if copies is not None else 1.0)
    totals = _by_style(styles, per_work)
    grand = sum(totals.values()) or 1.0
    target = {style: (total / grand) ** power for style, total in totals.items()}
    within = np.array([v / (totals[s] or 1.0) for s, v in zip(styles, per_work, strict=True)])
    delivered = _by_style(styles, within * np.minimum(lengths, context))  # steps per draw of each style
    weights = np.array([target[s] / (delivered[s] or 1.0) * w for s, w in zip(styles, within, strict=True)])
    return weights / weights.sum()


def style_shares(styles: list[str], weights: np.ndarray, lengths: np.ndarray, context: int) -> dict[str, float]:
    """The share of training steps each style gets under ``weights``: a drawn work delivers a window of at
    most ``context`` steps."""
    shares = _by_style(styles, np.asarray(weights, dtype=float) * np.minimum(np.asarray(lengths), context))
    total = sum(shares.values()) or 1.0
    return {s: round(v / total, 4) for s, v in sorted(shares.items(), key=lambda kv: -kv[1])}
