"""The style a piece is planned in when the request names an ensemble but no style: drawn, like a composer's
choice, from the styles the corpus' works for that ensemble are written in.

A composer asked for "a piece for piano" picks a style and writes in it; the model, conditioned on the
ensemble alone, drifts between the styles it learned for it (a Mozart opening, then a pop ballad's held
chords), and the style's plan — its meters, harmony table, phrase lengths and critic — is never used. The
counts are the meters table's (``models/meters.json``: the train split's works per epoch and ensemble,
summed over their meters), so no table of its own is fitted: solo piano works are classical 46%, romantic
41%, popular 7% and baroque 6%; string quartets classical 77% and romantic 23%; a choir's renaissance 58% and
baroque 42%; voices renaissance 93% and medieval 7%. An ensemble the table holds in one style or none (an
orchestra, a lead sheet) is left as it is. A song's label, chamber, is the corpus' label for Lieder, trios and
quintets alike: too broad to choose a style by on its own, so a song's style is drawn among the styles whose
usual ensemble the song is (:data:`cadenza.compose.ensembles.EPOCH_ENSEMBLES`: the corpus' songs are its
OpenScore Lieder), by their chamber works: romantic 85%, modern 15%. Left undrawn, a song came out as a pop
ballad's syncopated block chords. A request that names a style, a composer, a form or a reference keeps the
style it gave.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cadenza.compose.ensembles import EPOCH_ENSEMBLES
from cadenza.compose.meters import ensemble_epochs
from cadenza.compose.request import Plan

EPOCH_SEED_OFFSET = 4409  # the style's draw is seeded apart from the meter's and the key's
MIN_STYLES = 2  # an ensemble whose works the table holds in fewer styles keeps the model's own choice
BROAD_LABELS = ("chamber",)  # ensemble labels the corpus gives to many kinds of forces (see style_epoch)


def style_epoch(ensemble: str, seed: int, name: str | None = None) -> tuple[str, float] | None:
    """An epoch drawn (seeded) for an ensemble label by its share of the ensemble's works, with that share;
    None where the table holds the ensemble's works in fewer than :data:`MIN_STYLES` styles. For a label of
    :data:`BROAD_LABELS`, only among the styles whose usual ensemble is ``name`` (the ensemble asked: a song)."""
    counts = ensemble_epochs(ensemble)
    if ensemble in BROAD_LABELS:
        counts = {epoch: n for epoch, n in counts.items() if name is not None and EPOCH_ENSEMBLES.get(epoch) == name}
    if len(counts) < MIN_STYLES:
        return None
    epochs = sorted(counts)
    weights = np.array([counts[e] for e in epochs], dtype=float)
    weights /= weights.sum()
    chosen = int(np.random.default_rng(seed + EPOCH_SEED_OFFSET).choice(len(epochs), p=weights))
    return epochs[chosen], float(weights[chosen])


def with_style_epoch(plan: Plan, seed: int) -> Plan:
    """The plan with an epoch for its ensemble where it has none (see :func:`style_epoch`); unchanged
    otherwise. Said in the plan's notes, as a drawn meter or key is."""
    if "epoch" in plan.labels or "composer" in plan.labels or "form" in plan.labels or plan.ensemble is None:
        return plan
    label = plan.labels.get("ensemble")
    drawn = style_epoch(label, seed, plan.ensemble.name) if label else None
    if drawn is None:
        return plan
    epoch, share = drawn
    note = f"{plan.ensemble.name} works -> style {epoch} ({share:.0%} of them; give --epoch to choose)"
    return replace(plan, labels={**plan.labels, "epoch": epoch}, notes=[*plan.notes, note],
                   implied=plan.implied | {"epoch"})
