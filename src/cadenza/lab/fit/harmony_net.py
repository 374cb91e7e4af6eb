"""Fitting the harmony networks (:mod:`cadenza.listen.harmony_net`): the chord of every beat and the local key,
learned from the DCML piano corpora's human Roman numerals.

Every annotated movement is read once (:func:`extract`: what the networks read per beat, from the product's own
:func:`~cadenza.listen.harmony_net.beat_arrays`, and the label in force at each beat), kept in a cache folder so a
refit reads nothing. Movements of the pieces the harmony benchmark compares (:func:`cadenza.lab.harmony.
dcml_movements`) are left out whole: a sonata of which one movement is measured gives no movement to learning.
One movement in eight of the rest is held out to choose each network's change cost and to report its figures;
then both networks are fitted again on all the rest with that cost (``--no-refit``: keep the first fit). The
chord network is three members fitted from three seeds, their probabilities averaged: on the held-out movements
two members found the root on 0.5-0.7 more beats in a hundred than one.

    python -m benchmarks.fit_harmony_net [--datasets DIR] [--cache DIR] [--epochs 20] [--dry-run]

Writes ``listen/models/harmony_net.safetensors`` (the settings, the held-out figures and the command in its
metadata) and ``benchmarks/results/harmony_net.json``. Takes about 35 minutes on the 2 cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.files import atomic_write_bytes
from cadenza.lab.fit import CHECKOUT, PACKAGE
from cadenza.lab.harmony import aligned_labels, beat_labels, clean_label, dcml_movements, has_labels
from cadenza.lab.speed import describe_machine
from cadenza.listen.features import View
from cadenza.listen.harmony_net import (
    FEATURE_VERSION,
    MODEL_FILE,
    QUALITY_ORDER,
    beat_arrays,
    chord_inputs,
    key_inputs,
    turned,
)

log = logging.getLogger(__name__)
MODEL = PACKAGE / "listen" / MODEL_FILE
RESULTS = CHECKOUT / "benchmarks" / "results" / "harmony_net.json"
#: corpora whose files are movements of one piece named before the first '-' (a sonata, an opus of mazurkas)
MOVEMENT_CORPORA = ("beethoven_piano_sonatas", "mozart_sonatas", "chopin_mazurkas")
NO_LABEL = -100  # a beat's target where no label is in force (torch's ignore_index)


@dataclass(frozen=True)
class NetFitConfig:
    """How one network is fitted."""

    hidden: int
    epochs: int
    seeds: tuple[int, ...]  # one member fitted from each seed; their probabilities are averaged
    window_beats: int  # training windows of this many beats, overlapping by half
    change_costs: tuple[float, ...]  # the decoding costs tried on the held-out movements


@dataclass(frozen=True)
class HarmonyNetFitConfig:
    chord: NetFitConfig = NetFitConfig(hidden=96, epochs=20, seeds=(0, 1, 2), window_beats=64,
                                       change_costs=(0.0, 0.25, 0.5, 1.0))
    key: NetFitConfig = NetFitConfig(hidden=64, epochs=12, seeds=(0,), window_beats=192, change_costs=(1.0, 3.0, 6.0))
    held_out_share: float = 0.125
    learning_rate: float = 3e-3
    batch: int = 32
    split_seed: int = 0  # which movements are held out
    refit: bool = True


def piece_of(path: Path) -> str:
    """The piece a DCML movement belongs to: its corpus and, in :data:`MOVEMENT_CORPORA`, the name before the
    first '-'; else the file itself."""
    corpus = path.parent.name
    return f"{corpus}/{path.stem.split('-')[0]}" if corpus in MOVEMENT_CORPORA else f"{corpus}/{path.stem}"


def training_movements(root: Path) -> tuple[list[Path], list[str]]:
    """(annotated movements the fit may learn from, the pieces left out because the benchmark reads them)."""
    measured = {piece_of(p) for p in dcml_movements(root, 6)}
    movements = [f for corpus in sorted(p for p in root.iterdir() if p.is_dir())
                 for f in sorted(corpus.glob("*.mxl")) if has_labels(f) and piece_of(f) not in measured]
    return movements, sorted(measured)


def extract(path: Path) -> dict[str, np.ndarray]:
    """What the networks read of one movement and its targets per beat: ``chord`` (root * qualities + quality)
    and ``key`` (tonic * 2 + minor), :data:`NO_LABEL` where no label is in force."""
    from cadenza.score import read_score

    score = read_score(path)
    labels = [(t, text) for t, text in aligned_labels(path, score) if clean_label(text)]
    view = View(score)
    arrays = beat_arrays(view)
    humans, _ = beat_labels(view, labels)
    chord = np.full(len(humans), NO_LABEL)
    key = np.full(len(humans), NO_LABEL)
    for b, human in enumerate(humans):
        if human is None:
            continue
        key[b] = human.tonic * 2 + (human.mode == "minor")
        if human.root >= 0 and human.quality:
            chord[b] = human.root * len(QUALITY_ORDER) + QUALITY_ORDER.index(human.quality)
    return {**arrays, "chord_target": chord, "key_target": key}


def _extract_cached(job: tuple[Path, Path]) -> Path | None:
    path, cache = job
    out = cache / f"{path.parent.name}__{path.stem}.npz"
    if not out.is_file():
        try:
            arrays = extract(path)
        except Exception as exc:  # noqa: BLE001 - an unreadable movement is left out and said
            log.warning("harmony net: %s not read (%s)", path.name, exc)
            return None
        kept: dict[str, Any] = arrays
        np.savez(out.with_suffix(".tmp.npz"), **kept)
        out.with_suffix(".tmp.npz").replace(out)
    return out


def extract_all(movements: list[Path], cache: Path, workers: int = 2) -> list[Path]:
    """Every movement's arrays in ``cache`` (read where missing, ``workers`` at a time)."""
    cache.mkdir(parents=True, exist_ok=True)
    found: list[Path] = []
    with ProcessPoolExecutor(workers) as pool:
        for i, out in enumerate(pool.map(_extract_cached, [(p, cache) for p in movements])):
            if out is not None:
                found.append(out)
            if (i + 1) % 25 == 0:
                log.info("harmony net: %d/%d movements read", i + 1, len(movements))
    return found


def _inputs(arrays: dict[str, np.ndarray], net: str) -> np.ndarray:
    return turned(*(chord_inputs(arrays) if net == "chord" else key_inputs(arrays)))


def _windows(files: list[Path], net: str, beats: int) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for f in files:
        with np.load(f) as data:
            arrays = dict(data)
        x, y = _inputs(arrays, net), arrays[f"{net}_target"]
        for start in range(0, max(len(x) - beats, 0) + 1, beats // 2):
            wx, wy = x[start:start + beats], y[start:start + beats]
            pad = beats - len(wx)
            xs.append(np.concatenate([wx, np.zeros((pad, *wx.shape[1:]), np.float32)]))
            ys.append(np.concatenate([wy, np.full(pad, NO_LABEL)]))
    return np.stack(xs), np.stack(ys)


def _network(features: int, hidden: int, outputs: int) -> Any:
    import torch

    class Network(torch.nn.Module):
        """The layout :class:`cadenza.listen.harmony_net.Net` runs: per turn, a linear layer, a bidirectional
        GRU over the beats and a read-out of both directions and the layer's own output."""

        def __init__(self) -> None:
            super().__init__()
            self.inp = torch.nn.Linear(features, hidden)
            self.gru = torch.nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
            self.out = torch.nn.Linear(3 * hidden, outputs)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            batch, beats, turns, _ = x.shape
            h = torch.relu(self.inp(x)).permute(0, 2, 1, 3).reshape(batch * turns, beats, hidden)
            both, _ = self.gru(h)
            scores = self.out(torch.cat([both, h], -1)).reshape(batch, turns, beats, outputs)
            return scores.permute(0, 2, 1, 3).reshape(batch, beats, turns * outputs)

    return Network()


def fit_member(files: list[Path], net: str, config: HarmonyNetFitConfig, seed: int) -> dict[str, np.ndarray]:
    """One member of a network fitted on the movements' windows; its weights as numpy arrays (torch's names)."""
    import torch

    from cadenza.threads import ensure_threads

    ensure_threads()
    fit = getattr(config, net)
    outputs = len(QUALITY_ORDER) if net == "chord" else 2
    torch.manual_seed(seed)
    x, y = _windows(files, net, fit.window_beats)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y).long()
    model = _network(x.shape[-1], fit.hidden, outputs)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    steps = fit.epochs * -(-len(tx) // config.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=steps)
    for epoch in range(fit.epochs):
        order = torch.randperm(len(tx))
        total = 0.0
        for i in range(0, len(order), config.batch):
            batch = order[i:i + config.batch]
            scores = model(tx[batch])
            loss = torch.nn.functional.cross_entropy(scores.reshape(-1, scores.shape[-1]), ty[batch].reshape(-1),
                                                     ignore_index=NO_LABEL)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            total += loss.item() * len(batch)
        log.info("harmony net %s (seed %d): epoch %d/%d, loss %.4f", net, seed, epoch + 1, fit.epochs,
                 total / len(tx))
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def fit_net(files: list[Path], net: str, config: HarmonyNetFitConfig) -> list[dict[str, np.ndarray]]:
    """Every member of a network (one per seed of its config)."""
    return [fit_member(files, net, config, seed) for seed in getattr(config, net).seeds]


def held_out_figures(files: list[Path], net: str, members: list[dict[str, np.ndarray]],
                     costs: tuple[float, ...]) -> dict[str, dict[str, float]]:
    """Per change cost, the share of labelled beats of the movements whose root (tonic) is right, and whose
    root and quality (tonic and mode) are."""
    from cadenza.listen.chord_decode import decode
    from cadenza.listen.harmony_net import Net

    outputs = len(QUALITY_ORDER) if net == "chord" else 2
    right = {c: np.zeros(3) for c in costs}
    for f in files:
        with np.load(f) as data:
            arrays = dict(data)
        target = arrays[f"{net}_target"]
        labelled = target != NO_LABEL
        log_probs = Net(tuple(members), outputs, 0.0).log_probs(_inputs(arrays, net))
        for cost in costs:
            states = decode(log_probs, cost) if cost else log_probs.argmax(1)
            first = states[labelled] // outputs == target[labelled] // outputs
            right[cost] += (first.sum(), (states[labelled] == target[labelled]).sum(), labelled.sum())
    names = ("root", "chord") if net == "chord" else ("tonic", "key")
    return {str(c): {names[0]: round(r[0] / max(r[2], 1), 4), names[1]: round(r[1] / max(r[2], 1), 4),
                     "beats": int(r[2])} for c, r in right.items()}


def run(config: HarmonyNetFitConfig, root: Path, cache: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Fit both networks: (their tensors, named "chord.…" and "key.…", the settings and figures)."""
    movements, left_out = training_movements(root)
    files = extract_all(movements, cache)
    order = np.random.default_rng(config.split_seed).permutation(len(files))
    held = max(int(len(files) * config.held_out_share), 1)
    held_files = [files[i] for i in sorted(order[:held])]
    fit_files = [files[i] for i in sorted(order[held:])]
    tensors: dict[str, np.ndarray] = {}
    settings: dict[str, Any] = {"feature_version": FEATURE_VERSION, "config": asdict(config),
                                "movements": len(files), "held_out_movements": len(held_files),
                                "pieces_left_out_for_the_benchmark": left_out}
    for net in ("chord", "key"):
        fit = getattr(config, net)
        members = fit_net(fit_files, net, config)
        figures = held_out_figures(held_files, net, members, fit.change_costs)
        first = "root" if net == "chord" else "tonic"
        cost = max(fit.change_costs, key=lambda c: (figures[str(c)][first], c))
        log.info("harmony net %s: held out %s; change cost %s", net, figures, cost)
        if config.refit:
            members = fit_net(files, net, config)
        settings[net] = {"outputs": len(QUALITY_ORDER) if net == "chord" else 2, "change_cost": cost,
                         "held_out": figures}
        tensors.update({f"{net}.{i}.{k}": v for i, weights in enumerate(members) for k, v in weights.items()})
    return tensors, settings


def main(argv: list[str] | None = None) -> int:
    """Fit the networks, write them (unless ``--dry-run``) and their held-out figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, help="the shared datasets folder (default: beside the checkout)")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/cadenza-harmony-net"),
                        help="keep each movement's arrays here for refits (delete it after the features change)")
    parser.add_argument("--epochs", type=int, help="epochs of the chord network (default 20; the key's: 12)")
    parser.add_argument("--no-refit", action="store_true", help="ship the fit that left movements out")
    parser.add_argument("--dry-run", action="store_true", help="report the figures, leave the shipped networks")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("cadenza").setLevel(logging.ERROR)
    log.setLevel(logging.INFO)
    from cadenza.corpus.sources import find_datasets
    from cadenza.threads import set_threads

    set_threads()
    datasets = args.datasets or find_datasets()
    root = datasets / "classical" / "dcml-piano" if datasets else None
    if root is None or not root.is_dir():
        log.error("fit_harmony_net: ../shared/datasets/classical/dcml-piano is not here")
        return 1
    config = HarmonyNetFitConfig(refit=not args.no_refit)
    if args.epochs:
        config = HarmonyNetFitConfig(chord=NetFitConfig(**{**asdict(config.chord), "epochs": args.epochs}),
                                     refit=config.refit)
    started = time.time()
    tensors, settings = run(config, root, args.cache)
    command = "python -m benchmarks.fit_harmony_net " + " ".join(sys.argv[1:] if argv is None else argv)
    settings.update(command=command.strip(), date=time.strftime("%Y-%m-%d"), wall_s=round(time.time() - started))
    report = {"benchmark": "harmony_net", "machine": describe_machine(), **settings}
    atomic_write_bytes(RESULTS, (json.dumps(report, indent=1, ensure_ascii=False) + "\n").encode())
    if not args.dry_run:
        from safetensors.numpy import save

        atomic_write_bytes(MODEL, save({k: np.ascontiguousarray(v) for k, v in tensors.items()},
                                       metadata={"settings": json.dumps(settings)}))
        log.info("wrote %s", MODEL)
    log.info("wrote %s", RESULTS)
    return 0
