"""The styles a request can name, and what the composer takes from each: the rules of a style, as Cadenza has
learned or set them — the ensemble, the meters, the harmony and the form it plans in.

A style is an epoch label (``--epoch``). What it brings: the ensemble its corpus works are most often for
(:data:`cadenza.compose.ensembles.EPOCH_ENSEMBLES`), the meters drawn for it (``models/meters.json``), the
chords its harmony plan walks (``models/harmony.json``: the commonest on the strong beats of its works, per
mode), how often the harmony changes (:mod:`cadenza.compose.harmony`), the form (periods, or a folk tune's
strains: :mod:`cadenza.compose.plan`) and whether its weak beats' chords are left to the model
(:mod:`cadenza.compose.rules`). One model writes every style; a style family may also have an adapter of its
own (small low-rank deltas over the shared weights, :mod:`cadenza.model.adapters`), which a request whose labels
match it composes with: ``adapters`` lists them (``CADENZA_ADAPTERS=off`` turns them off).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cadenza.compose.ensembles import ENSEMBLES, EPOCH_ENSEMBLES
from cadenza.compose.harmony import CHORDS_EVERY_HALF_BAR, chord_of, harmony_table
from cadenza.compose.meters import meter_table
from cadenza.compose.plan import (
    INTRO_BARS,
    INTRO_ENSEMBLES,
    INTRO_MIN_BARS,
    INTRO_SHARE,
    PHRASE_BARS,
    STRAIN_STYLES,
    phrase_bars_for,
)
from cadenza.compose.rules import WEAK_BEATS_FREE
from cadenza.listen.labels import EPOCHS
from cadenza.model.adapter_spec import SHIPPED_MODEL, adapters_enabled, adapters_in

COMMONEST_CHORDS = 6  # chords named per mode


@dataclass(frozen=True)
class Style:
    """What the composer plans for an epoch asked for (see the module docstring)."""

    epoch: str
    ensemble: str  # the ensemble used when none is asked (cadenza.compose.ensembles)
    parts: tuple[str, ...]
    meters: dict[str, float]  # meter -> share of the works it is drawn from
    meters_from: str  # the group of corpus works the meters are counted in
    major_chords: tuple[str, ...]  # the commonest chords on strong beats in major, as Roman numerals
    minor_chords: tuple[str, ...]
    harmony_changes: str  # how often the planned chord changes
    form: str
    weak_beats: str  # whose the weak beats' chords are
    adapters: tuple[dict[str, Any], ...] = field(default=())  # the model's style adapters for this epoch

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _commonest(style: str, mode: str) -> tuple[str, ...]:
    table = harmony_table(style, mode)
    order = sorted(range(len(table.chords)), key=lambda i: -table.start[i])[:COMMONEST_CHORDS]
    return tuple(chord_of(table.chords[i], 0, mode).name for i in order)


def adapters(checkpoint: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """The style adapters of a model folder (the shipped model's by default): style, the labels that choose it,
    rank, size on disk, the validation NLL of its style's held-out works (base and adapter) and whether
    composing uses them now (``CADENZA_ADAPTERS``)."""
    out = []
    for folder, spec in adapters_in(Path(checkpoint) if checkpoint else SHIPPED_MODEL):
        weights = folder / "adapter.safetensors"
        valid = {"base": spec.training.get("base_valid", {}).get("nll_per_step"),
                 "adapter": spec.training.get("valid", {}).get("nll_per_step")}
        out.append({"style": spec.style, "match": dict(spec.match), "rank": spec.rank, "alpha": spec.alpha,
                    "bytes": weights.stat().st_size if weights.is_file() else 0,
                    "valid_nll_per_step": valid, "enabled": adapters_enabled()})
    return out


def _periods(epoch: str, label: str) -> str:
    """The form of a style's pieces in words: phrase lengths as :func:`phrase_bars_for` plans them, and the
    introduction of the ensembles that open with one (:func:`intro_bars_for`)."""
    broad = phrase_bars_for(epoch, 4 * PHRASE_BARS, label)
    size = f"{PHRASE_BARS}-bar phrases"
    if broad != PHRASE_BARS:
        size += f" ({broad}-bar in pieces of {4 * PHRASE_BARS} bars or more)"
    form = f"{size} in periods, a a' b a'' (half cadence, then authentic)"
    if label in INTRO_ENSEMBLES:
        form += (f"; {INTRO_SHARE:.0%} of pieces of {INTRO_MIN_BARS} bars or more open with {INTRO_BARS} bars of the "
                 "accompaniment alone")
    return form


def style(epoch: str, mine: list[dict[str, Any]] | None = None) -> Style:
    """The style of an epoch label (one of :data:`cadenza.listen.labels.EPOCHS`); ``mine``: the model's
    adapters (:func:`adapters`, read once for every style)."""
    ensemble = ENSEMBLES[EPOCH_ENSEMBLES[epoch]]
    found = meter_table(epoch, ensemble.label)
    counts = found[1] if found else {}
    total = sum(counts.values()) or 1
    if epoch in CHORDS_EVERY_HALF_BAR:
        changes = "a chord every half bar, in every meter"
    else:
        changes = "a chord a bar, two in even meters of four beats or more"
    form = "eight-bar strains (a b) played twice" if epoch in STRAIN_STYLES else _periods(epoch, ensemble.label)
    weak = ("the model's (the plan holds the strong beats)" if epoch in WEAK_BEATS_FREE
            else "the plan's, on every beat")
    return Style(epoch, ensemble.name, tuple(v.name for v in ensemble.voices),
                 {m: round(n / total, 3) for m, n in counts.items()},
                 found[0] if found else "", _commonest(epoch, "major"), _commonest(epoch, "minor"), changes, form, weak,
                 tuple(a for a in (adapters() if mine is None else mine) if a["match"].get("epoch") == epoch))


def styles() -> list[Style]:
    """Every style a request can name, in the order of the epochs."""
    mine = adapters()
    return [style(epoch, mine) for epoch in EPOCHS]
