"""The meter a piece is planned in when the request leaves it open: drawn, like a composer's choice for the
style, from how often each meter is heard in the corpus' works of the request's epoch and ensemble.

The table (``models/meters.json``, fitted by ``python -m benchmarks.fit_meters``) counts the meters of the
train split's works per (epoch, ensemble), per epoch and per ensemble. The narrowest group the table holds is
used: a baroque chorale is planned in 4/4 nine times in ten and in 3/4 otherwise, where the model left to
itself wrote chorales in 5/4, 2/4 or 3/2 (Bach wrote almost all of his in common time).
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from importlib import resources

import numpy as np

from cadenza.compose.request import Plan, parse_meter
from cadenza.listen.labels import METERS


@cache
def _tables() -> dict[str, dict[str, int]]:
    text = resources.files("cadenza.compose").joinpath("models/meters.json").read_text(encoding="utf-8")
    tables: dict[str, dict[str, int]] = json.loads(text)["tables"]
    return tables


def meter_table(epoch: str | None, ensemble: str | None) -> tuple[str, dict[str, int]] | None:
    """The narrowest group of works the table holds for an epoch and an ensemble label (either may be None)
    and its meter counts; None when it holds neither."""
    tables = _tables()
    names = []
    if epoch and ensemble:
        names.append(f"epoch={epoch}/ensemble={ensemble}")
    if epoch:
        names.append(f"epoch={epoch}")
    if ensemble:
        names.append(f"ensemble={ensemble}")
    return next(((name, tables[name]) for name in names if name in tables), None)


def style_meter(epoch: str | None, ensemble: str | None,
                seed: int) -> tuple[tuple[int, int], str, float] | None:
    """A meter drawn (seeded) for the style, the group of works it was drawn from and its share of them."""
    found = meter_table(epoch, ensemble)
    if found is None:
        return None
    group, counts = found
    meters = sorted(counts)
    weights = np.array([counts[m] for m in meters], dtype=float) / sum(counts.values())
    chosen = int(np.random.default_rng(seed).choice(len(meters), p=weights))
    return parse_meter(meters[chosen]), group, float(weights[chosen])


def with_style_meter(plan: Plan, seed: int) -> Plan:
    """The plan with a meter for its style where it has none (see :func:`style_meter`); unchanged otherwise."""
    if plan.meter is not None:
        return plan
    drawn = style_meter(plan.labels.get("epoch"), plan.model_labels.get("ensemble"), seed)
    if drawn is None:
        return plan
    meter, group, share = drawn
    name = f"{meter[0]}/{meter[1]}"
    what = group.replace("epoch=", "").replace("ensemble=", "").replace("/", " ")
    note = f"{what} works -> meter {name} ({share:.0%} of them; give --meter to choose)"
    return replace(plan, meter=meter, labels={**plan.labels, "meter": name if name in METERS else "other"},
                   notes=[*plan.notes, note], implied=plan.implied | {"meter"})
