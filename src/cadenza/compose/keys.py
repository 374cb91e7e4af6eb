"""The key a piece is planned in when the request leaves it open: drawn, like a composer's choice for the
style, from the key signatures the corpus' works of the request's epoch write and how many of them are in
major and in minor.

The table (``models/keys.json``, fitted by ``python -m benchmarks.fit_keys``) counts per epoch, and over all
works, each signature as the scores write it. The model cannot make this choice itself: it was trained on
transposed copies of every work, so left to write a key signature it wrote seven sharps as readily as none (a
classical piano piece in C♯ major at 208 beats a minute). A drawn key is planned from the first bar, as an
asked one is: its signature written, its cadences planned, its last chord the tonic.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from importlib import resources

import numpy as np

from cadenza.compose.request import Key, Plan
from cadenza.listen.craft import key_sharps
from cadenza.listen.key import key_correlations

KEY_SEED_OFFSET = 7717  # the key's draw is seeded apart from the meter's (same seed, independent choices)


@cache
def _tables() -> dict[str, dict[str, dict[str, int]]]:
    text = resources.files("cadenza.compose").joinpath("models/keys.json").read_text(encoding="utf-8")
    tables: dict[str, dict[str, dict[str, int]]] = json.loads(text)["tables"]
    return tables


def key_table(epoch: str | None) -> tuple[str, dict[str, dict[str, int]]]:
    """The group of works (an epoch's, else all of them) and its signature and mode counts."""
    tables = _tables()
    group = f"epoch={epoch}" if epoch and f"epoch={epoch}" in tables else "all"
    return group, tables[group]


def style_key(epoch: str | None, seed: int) -> tuple[Key, str, float]:
    """A key drawn (seeded) for the style: the mode by the group's share of major and minor works, the signature
    by its share of the group's works; with the group's name and the signature's share."""
    group, table = key_table(epoch)
    rng = np.random.default_rng(seed + KEY_SEED_OFFSET)
    modes = table["modes"]
    minor_share = modes.get("minor", 0) / max(sum(modes.values()), 1)
    mode = "minor" if rng.random() < minor_share else "major"
    sharps = sorted(table["signatures"], key=int)
    counts = np.array([table["signatures"][s] for s in sharps], dtype=float)
    chosen = int(rng.choice(len(sharps), p=counts / counts.sum()))
    signature = int(sharps[chosen])
    major_pc = (7 * signature) % 12
    tonic = major_pc if mode == "major" else (major_pc + 9) % 12
    spelled = "#" if signature > 0 else "b" if signature < 0 else ""
    return Key(tonic, mode, spelled), group, float(counts[chosen] / counts.sum())


def with_style_key(plan: Plan, seed: int) -> Plan:
    """The plan with a key for its style where it has none (see :func:`style_key`); unchanged otherwise."""
    if plan.key is not None or plan.scale_key is not None:
        return plan
    key, group, share = style_key(plan.labels.get("epoch"), seed)
    what = group.replace("epoch=", "") if group != "all" else "all"
    signature = key.sharps
    written = f"{abs(signature)} {'sharp' if signature > 0 else 'flat'}{'s' if abs(signature) != 1 else ''}" \
        if signature else "no sharps or flats"
    note = f"{what} works -> key {key.name} ({share:.0%} of them write {written}; give --key to choose)"
    return replace(plan, key=key, labels={**plan.labels, "key": key.name, "mode": key.mode},
                   notes=[*plan.notes, note], implied=plan.implied | {"key"})


def heard_key(pc_weights: np.ndarray, signature: int | None) -> Key:
    """The key of notes whose pitch classes sounded ``pc_weights`` (Krumhansl-Kessler), one of the two that the
    written key signature (``signature`` sharps, None: none written) allows."""
    scores = key_correlations(pc_weights / max(pc_weights.sum(), 1e-9))
    keys = [Key(i % 12, "major" if i < 12 else "minor") for i in range(24)]
    if signature is not None:
        scores = np.where([key_sharps(k.tonic_pc, k.mode) == signature for k in keys], scores, -np.inf)
    return keys[int(np.argmax(scores))]
