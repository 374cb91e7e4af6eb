"""Fitting the ear's critic (:mod:`cadenza.listen.critic`): per ensemble, phrases of real works of its style
against phrases of pieces the shipped model composes, a logistic regression between them, and its accuracy
on works and pieces it did not learn from.

Real phrases come from the critic's side of the craft benchmark's pools (:func:`cadenza.lab.real_works.sides`:
works the model learned from, which the benchmark never measures); generated ones from pieces composed as the
benchmark composes them, with other seeds. Every phrase is :data:`PHRASE_BARS` bars of all parts.

    python -m benchmarks.fit_critic [--datasets DIR] [--real 24] [--pieces 24] [--ensembles satb,piano]
                                    [--cache DIR] [--dry-run]

Run it again after the default model changes (the critic learns its samples).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.files import atomic_write_bytes
from cadenza.lab.craft import ENSEMBLES, KEYS, STYLE_OF
from cadenza.lab.fit import CHECKOUT, PACKAGE
from cadenza.lab.real_works import read_real, sides, spread
from cadenza.lab.speed import describe_machine
from cadenza.listen.critic import FEATURE_NAMES, Critic, phrase_features
from cadenza.score.model import Score
from cadenza.score.ops import slice_bars

log = logging.getLogger(__name__)
MODEL = PACKAGE / "listen" / "models" / "critic.json"
RESULTS = CHECKOUT / "benchmarks" / "results" / "critic.json"
Progress = Callable[[str, int, int], None]
PHRASE_BARS = 4
REAL_BARS = 32  # phrases are taken from a real work's first bars (its exposition, not its development)
FIRST_SEED = 1000  # the craft benchmark composes seeds 1, 2, ...: the critic learns from others
#: the styles each critic judges: those of its real works (the orchestra's symphonies span both)
EPOCHS = {"satb": ("baroque",), "string-quartet": ("classical",), "piano": ("classical",),
          "orchestra": ("classical", "romantic"), "lead-sheet": ("folk",)}
L2 = 1.0  # ridge penalty on the standardised weights
#: the ear's floor: the log-odds under which this share of the model's own phrases fall (each costs an attempt)
FLOOR_QUANTILE = 0.25
FOLDS = 5


@dataclass(frozen=True)
class CriticFitConfig:
    ensembles: tuple[str, ...] = ENSEMBLES
    real_works: int = 24  # per ensemble
    pieces: int = 24  # composed per ensemble
    bars: int = 16
    checkpoint: str | None = None
    datasets: str | None = None


def phrases(score: Score, most_bars: int | None = None) -> list[np.ndarray]:
    """The features of every whole :data:`PHRASE_BARS`-bar phrase of a score (after a pickup bar)."""
    first = 1 if score.pickup_ticks else 0
    end = min(score.bar_count, first + most_bars) if most_bars else score.bar_count
    return [phrase_features(slice_bars(score, start, start + PHRASE_BARS))
            for start in range(first, end - PHRASE_BARS + 1, PHRASE_BARS)]


def real_phrases(ensemble: str, config: CriticFitConfig, datasets: Path | None,
                 progress: Progress | None = None) -> tuple[list[np.ndarray], list[int], list[str]]:
    """Features of real phrases, the work each came from (an index), and the works read."""
    paths = [str(p) for p in spread(sides(ensemble, datasets, config.checkpoint).critic, config.real_works)]
    rows: list[np.ndarray] = []
    groups: list[int] = []
    for i, path in enumerate(paths):
        try:
            found = phrases(read_real(Path(path)), REAL_BARS)
        except CadenzaError as exc:
            log.warning("critic: %s not read (%s)", path, exc)
            found = []
        rows += found
        groups += [i] * len(found)
        if progress:
            progress(f"{ensemble}: real", i + 1, len(paths))
    return rows, groups, paths


def made_phrases(ensemble: str, config: CriticFitConfig,
                 progress: Progress | None = None) -> tuple[list[np.ndarray], list[int]]:
    """Features of phrases of pieces composed for ``ensemble`` in its style (half in an asked key)."""
    from cadenza.compose import ComposeRequest, compose

    rows: list[np.ndarray] = []
    groups: list[int] = []
    for i in range(config.pieces):
        key = KEYS[(i // 2) % len(KEYS)] if i % 2 == 0 else None
        request = ComposeRequest(ensemble=ensemble, epoch=STYLE_OF[ensemble], key=key, bars=config.bars,
                                 seed=FIRST_SEED + i)
        found = phrases(compose(request, checkpoint=config.checkpoint).score)
        rows += found
        groups += [i] * len(found)
        if progress:
            progress(f"{ensemble}: composed", i + 1, config.pieces)
    return rows, groups


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """Ridge-penalised logistic regression by Newton's method on standardised features (no NaN)."""
    n, d = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ theta))
        gradient = design.T @ (p - y) + penalty * theta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        update = np.linalg.solve(hessian, gradient)
        theta -= update
        if np.abs(update).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def fit_critic(ensemble: str, real: np.ndarray, made: np.ndarray) -> Critic:
    """A critic from real and generated phrase features."""
    both = np.vstack([real, made])
    mean = np.nanmean(both, axis=0)
    mean = np.where(np.isnan(mean), 0.0, mean)
    scale = np.nanstd(both, axis=0)
    scale = np.where(~np.isfinite(scale) | (scale < 1e-6), 1.0, scale)
    x = np.clip(np.nan_to_num((both - mean) / scale, nan=0.0), -6.0, 6.0)
    y = np.r_[np.ones(len(real)), np.zeros(len(made))]
    weights, bias = fit_logistic(x, y)
    critic = Critic(ensemble, EPOCHS[ensemble], mean, scale, weights, bias)
    floor = float(np.quantile([critic.log_odds(row) for row in made], FLOOR_QUANTILE))
    return replace(critic, floor=floor)


def held_out(ensemble: str, real: np.ndarray, real_groups: np.ndarray, made: np.ndarray,
             made_groups: np.ndarray) -> dict[str, float]:
    """Accuracy and AUC over :data:`FOLDS` folds, whole works and pieces held out together."""
    right, scores, labels = [], [], []
    for fold in range(FOLDS):
        critic = fit_critic(ensemble, real[real_groups % FOLDS != fold], made[made_groups % FOLDS != fold])
        for rows, label in ((real[real_groups % FOLDS == fold], 1), (made[made_groups % FOLDS == fold], 0)):
            for row in rows:
                odds = critic.log_odds(row)
                scores.append(odds)
                labels.append(label)
                right.append((odds > 0) == bool(label))
    s, lab = np.array(scores), np.array(labels)
    pos, neg = s[lab == 1], s[lab == 0]
    auc = float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())
    return {"accuracy": round(float(np.mean(right)), 4), "auc": round(auc, 4),
            "real_recall": round(float((pos > 0).mean()), 4), "generated_recall": round(float((neg <= 0).mean()), 4)}


def run(config: CriticFitConfig, progress: Progress | None = None,
        cache: Path | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit every ensemble's critic: (the ``critic.json`` document, the results with held-out figures).
    ``cache``: a folder keeping each ensemble's phrase features, so that a refit reads and composes nothing
    (delete it after the model or the real works change)."""
    from cadenza.corpus.sources import find_datasets

    datasets = Path(config.datasets) if config.datasets else find_datasets()
    model: dict[str, Any] = {"features": list(FEATURE_NAMES), "critics": {}}
    results: dict[str, Any] = {"ensembles": {}}
    for ensemble in config.ensembles:
        kept = cache / f"{ensemble}.npz" if cache else None
        if kept is not None and kept.is_file():
            with np.load(kept) as data:
                real, made = data["real"], data["made"]
                real_groups, made_groups, works = data["real_groups"], data["made_groups"], data["works"].tolist()
        else:
            real_rows, real_groups, works = real_phrases(ensemble, config, datasets, progress)
            made_rows, made_groups = made_phrases(ensemble, config, progress)
            real, made = np.array(real_rows), np.array(made_rows)
            if kept is not None:
                kept.parent.mkdir(parents=True, exist_ok=True)
                np.savez(kept, real=real, made=made, real_groups=np.array(real_groups),
                         made_groups=np.array(made_groups), works=np.array(works))
        critic = fit_critic(ensemble, real, made)
        model["critics"][ensemble] = {"epochs": list(critic.epochs), "mean": _rounded(critic.mean),
                                      "scale": _rounded(critic.scale), "weights": _rounded(critic.weights),
                                      "bias": round(critic.bias, 6), "floor": round(critic.floor, 6),
                                      "real_phrases": len(real),
                                      "generated_phrases": len(made)}
        order = np.argsort(-np.abs(critic.weights))
        results["ensembles"][ensemble] = {
            "real_works": works, "real_phrases": len(real), "generated_phrases": len(made),
            "held_out": held_out(ensemble, real, np.array(real_groups), made, np.array(made_groups)),
            "strongest": [{"feature": FEATURE_NAMES[i], "weight": round(float(critic.weights[i]), 3),
                           "real_mean": round(float(np.nanmean(real[:, i])), 3),
                           "generated_mean": round(float(np.nanmean(made[:, i])), 3)} for i in order[:8]]}
        log.info("critic %s: %s", ensemble, results["ensembles"][ensemble]["held_out"])
    return model, results


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


def main(argv: list[str] | None = None) -> int:
    """Fit every ensemble's critic, write it (unless ``--dry-run``) and its held-out figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", help="the shared datasets folder (default: found beside the working directory)")
    parser.add_argument("--real", type=int, default=24, help="real works per ensemble")
    parser.add_argument("--pieces", type=int, default=24, help="pieces composed per ensemble")
    parser.add_argument("--ensembles", default=",".join(ENSEMBLES))
    parser.add_argument("--checkpoint", help="model folder (default: the shipped default model)")
    parser.add_argument("--cache", type=Path, help="keep each ensemble's phrase features here for refits")
    parser.add_argument("--dry-run", action="store_true", help="report the figures, leave the shipped critic")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("cadenza").setLevel(logging.ERROR)
    logging.getLogger("cadenza.lab.fit.critic").setLevel(logging.INFO)
    config = CriticFitConfig(ensembles=tuple(e.strip() for e in args.ensembles.split(",") if e.strip()),
                             real_works=args.real, pieces=args.pieces, checkpoint=args.checkpoint,
                             datasets=args.datasets)
    model, results = run(config, lambda what, d, t: log.info("critic %s %d/%d", what, d, t), args.cache)
    command = "python -m benchmarks.fit_critic " + " ".join(sys.argv[1:] if argv is None else argv)
    report = {"benchmark": "critic", "date": time.strftime("%Y-%m-%d"), "machine": describe_machine(),
              "command": command, **results}
    atomic_write_bytes(RESULTS, (json.dumps(report, indent=1, ensure_ascii=False) + "\n").encode())
    if not args.dry_run:
        model["command"] = command
        atomic_write_bytes(MODEL, (json.dumps(model, indent=1) + "\n").encode())
        log.info("wrote %s", MODEL)
    log.info("wrote %s", RESULTS)
    return 0
