"""The meter a piece is planned in when the request leaves it open: drawn, like a composer's choice for the
style, from how often each meter is heard in the corpus' works of the request's epoch and ensemble.

The table (``models/meters.json``, fitted by ``python -m benchmarks.fit_meters``) counts the meters of the
train split's works per (epoch, ensemble), per epoch and per ensemble. The narrowest group the table holds is
used: a baroque chorale is planned in 4/4 nine times in ten and in 3/4 otherwise, where the model left to
itself wrote chorales in 5/4, 2/4 or 3/2 (Bach wrote almost all of his in common time).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from importlib import resources

import numpy as np

from cadenza.compose.constraints import DENSITY_GAPS
from cadenza.compose.grid import shortest_gap_ticks, sung_parts
from cadenza.compose.request import Plan, parse_meter
from cadenza.listen.labels import METERS
from cadenza.score.model import TimeSignature


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


def ensemble_epochs(ensemble: str) -> dict[str, int]:
    """Epoch -> how many of the table's works for ``ensemble`` (a label) are in it (over every meter), for the
    epochs the table holds a group of that ensemble's works for."""
    prefix, suffix = "epoch=", f"/ensemble={ensemble}"
    return {name[len(prefix):-len(suffix)]: sum(counts.values()) for name, counts in _tables().items()
            if name.startswith(prefix) and name.endswith(suffix)}


def style_meter(epoch: str | None, ensemble: str | None, seed: int,
                fits: Callable[[tuple[int, int]], bool] | None = None) -> tuple[tuple[int, int], str, float] | None:
    """A meter drawn (seeded) for the style, the group of works it was drawn from and its share of them; only
    among the meters that ``fits`` accepts, where it accepts any."""
    found = meter_table(epoch, ensemble)
    if found is None:
        return None
    group, counts = found
    rng = np.random.default_rng(seed)
    meters = sorted(counts)
    weights = np.array([counts[m] for m in meters], dtype=float) / sum(counts.values())
    chosen = int(rng.choice(len(meters), p=weights))
    if fits is not None and not fits(parse_meter(meters[chosen])) and any(fits(parse_meter(m)) for m in meters):
        # drawn again among the meters that fit (a seed whose first draw fits keeps its meter)
        meters = [m for m in meters if fits(parse_meter(m))]
        weights = np.array([counts[m] for m in meters], dtype=float) / sum(counts[m] for m in meters)
        chosen = int(rng.choice(len(meters), p=weights))
    return parse_meter(meters[chosen]), group, float(weights[chosen])


def _dense_enough(plan: Plan) -> Callable[[tuple[int, int]], bool] | None:
    """For a high density at a known tempo, whether a meter's beat holds the density's notes in values a player
    plays (:func:`cadenza.compose.grid.playable_grid`): a joyful lead sheet drawn in 3/8 at 155 bpm, whose beat
    is an eighth, ran in 32nd notes, 0.048 s a note (with playable values it is heard at a medium density)."""
    if plan.labels.get("density") != "high" or not plan.tempo_bpm:
        return None
    voices = plan.ensemble.voices if plan.ensemble else ()
    unit_ticks = shortest_gap_ticks(plan.tempo_bpm, len(voices), sung_parts([v.program for v in voices]))
    longest_gap = DENSITY_GAPS["high"][1] or 1.0
    return lambda meter: unit_ticks <= longest_gap * TimeSignature(0, *meter).beat_ticks


def with_style_meter(plan: Plan, seed: int) -> Plan:
    """The plan with a meter for its style where it has none (see :func:`style_meter`); unchanged otherwise."""
    if plan.meter is not None:
        return plan
    drawn = style_meter(plan.labels.get("epoch"), plan.model_labels.get("ensemble"), seed, _dense_enough(plan))
    if drawn is None:
        return plan
    meter, group, share = drawn
    name = f"{meter[0]}/{meter[1]}"
    what = group.replace("epoch=", "").replace("ensemble=", "").replace("/", " ")
    note = f"{what} works -> meter {name} ({share:.0%} of them; give --meter to choose)"
    return replace(plan, meter=meter, labels={**plan.labels, "meter": name if name in METERS else "other"},
                   notes=[*plan.notes, note], implied=plan.implied | {"meter"})
