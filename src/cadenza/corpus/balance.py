"""How often each work is drawn in training: styles balanced, duplicates counted once.

Left alone, a corpus is sampled in proportion to its notes, and the largest sources decide what the model
learns (in the v1 corpus folk tunes were 82% of the works and POP909 43% of the notes). Here each *style*
(the work's epoch label: folk, popular, baroque, classical, romantic …) gets a share of the draws that grows
with the square root of its notes (``power`` 0.5; 1 would be plain proportion, 0 an equal share for every
style), and within a style each work is drawn in proportion to its length. A work present in several
encodings (one duplicate group in the same split: a sonata from both the kern and the DCML editions) shares
its draws with its copies, so the movement is not learnt twice as often as the rest.
"""

from __future__ import annotations

import numpy as np

DEFAULT_POWER = 0.5


def balanced_weights(styles: list[str], lengths: np.ndarray, copies: np.ndarray | None = None,
                     power: float = DEFAULT_POWER) -> np.ndarray:
    """Draw probabilities of the works (summing to 1): each style's mass ∝ (its length share) ** power,
    works within a style ∝ length / copies."""
    lengths = np.asarray(lengths, dtype=float)
    if not len(lengths):
        return lengths
    per_work = lengths / (np.asarray(copies, dtype=float) if copies is not None else 1.0)
    totals: dict[str, float] = {}
    for style, value in zip(styles, per_work, strict=True):
        totals[style] = totals.get(style, 0.0) + float(value)
    grand = sum(totals.values()) or 1.0
    mass = {style: (total / grand) ** power for style, total in totals.items()}
    norm = sum(mass.values()) or 1.0
    weights = np.array([mass[s] / norm * v / (totals[s] or 1.0) for s, v in zip(styles, per_work, strict=True)])
    return weights / weights.sum()


def style_shares(styles: list[str], weights: np.ndarray, lengths: np.ndarray, context: int) -> dict[str, float]:
    """The share of training steps each style gets under ``weights``: a drawn work delivers a window of at
    most ``context`` steps."""
    shares: dict[str, float] = {}
    for style, w, n in zip(styles, weights, np.minimum(np.asarray(lengths), context), strict=True):
        shares[style] = shares.get(style, 0.0) + float(w) * float(n)
    total = sum(shares.values()) or 1.0
    return {s: round(v / total, 4) for s, v in sorted(shares.items(), key=lambda kv: -kv[1])}
