"""``cadenza bench``: every benchmark in one run, written as ``results.json`` and ``REPORT.md`` with PNG plots.

Sections (``--only`` picks some):

- **nll**: the Boulanger table (JSB, Nottingham, MuseData, Piano-midi.de; published rows beside the shipped
  benchmark checkpoints and the n-gram) and held-out NLL per note on the corpus vs the n-gram
  (:mod:`cadenza.lab.nll`);
- **control**: adherence per label of the compose grid, with goals and chance levels (:mod:`cadenza.lab.compose`);
- **originality**: longest runs shared with the training works, of pieces composed across styles, against the
  held-out human pieces' (:mod:`cadenza.lab.originality`);
- **quality**: musical metrics of the same pieces against real held-out works, per epoch, as distributions
  (:mod:`cadenza.listen.quality`);
- **craft**: how the pieces are written (voice leading, harmony, cadences, melody, texture, motifs, endings) per
  ensemble against real works of the same style (:mod:`cadenza.lab.craft`, :mod:`cadenza.listen.craft`);
- **speed**: reading, training, sampling (beside a ``transformers`` GPT-2 peer), composing, rendering and
  analysing on this machine (:mod:`cadenza.lab.speed`, :mod:`cadenza.lab.peer`).

``--quick`` shrinks every count (few seeds, bars and pieces, a subset of the test sequences, two training
steps of one shape) so that the whole run takes a few minutes on 2 cores; the report says which settings ran.
"""

from __future__ import annotations

import hashlib
import logging
import shlex
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.errors import CadenzaError, UsageError
from cadenza.lab.compose import AXES
from cadenza.lab.craft import ENSEMBLES as CRAFT_ENSEMBLES
from cadenza.lab.figures import distribution
from cadenza.listen.labels import EPOCHS
from cadenza.listen.quality import METRICS, quality
from cadenza.score.model import Score

log = logging.getLogger(__name__)
SECTIONS = ("nll", "control", "originality", "quality", "craft", "speed")
Progress = Callable[[int, int], None]
ProgressFactory = Callable[[str], Progress]


@dataclass(frozen=True)
class Settings:
    """How much of each benchmark runs (the full run's defaults; :data:`QUICK` for ``--quick``)."""

    nll_limit: int | None = None  # test (and valid) sequences per Boulanger benchmark; None: all
    nll_valid: bool = True
    heldout_limit: int | None = 300  # test and valid works of the corpus (an even spread)
    heldout_train_limit: int | None = None  # train works the n-gram learns from; None: all
    heldout_orders: tuple[int, ...] = (2, 3, 4, 5)
    control_seeds: int = 3
    control_bars: int = 8
    control_axes: tuple[str, ...] = tuple(AXES)
    pieces: int = 200  # composed across styles, for originality and quality
    piece_bars: int = 16
    real_per_epoch: int = 30
    read_midi: int = 200
    read_xml: int = 60
    read_repeats: int = 3
    train_steps: int = 4
    train_presets: tuple[str, ...] = ("model", "tiny", "small", "base")  # "model": the benchmarked model's shape
    train_threads: tuple[int, ...] = (0, 1)  # 0: torch's default (what `cadenza train` uses)
    speed_runs: int = 3
    speed_bars: int = 16
    peer_runs: int = 5
    peer_new_steps: int = 128
    render_pieces: int = 3
    analyse_pieces: int = 20
    cost_works: int = 500  # real works the encodings' cost (steps and tokens per note) is measured on
    craft_ensembles: tuple[str, ...] = CRAFT_ENSEMBLES
    craft_seeds: int = 8  # pieces per ensemble in the craft section
    craft_real: int = 24  # real works per ensemble there
    craft_bars: int = 16


FULL = Settings()
QUICK = Settings(nll_limit=20, nll_valid=False, heldout_limit=40, heldout_train_limit=1500, control_seeds=1,
                 control_bars=4, pieces=39, piece_bars=8, real_per_epoch=10, read_midi=30, read_xml=5,
                 read_repeats=1, train_steps=2, train_presets=("model",), speed_runs=1, speed_bars=8, peer_runs=3,
                 peer_new_steps=96, render_pieces=1, analyse_pieces=5, cost_works=100, craft_seeds=2,
                 craft_real=3, craft_bars=8)


@dataclass(frozen=True)
class SuiteConfig:
    quick: bool = False
    only: tuple[str, ...] = SECTIONS
    model: str | None = None  # a model folder; None: the shipped default model
    corpus: str = "default"
    out: str = "bench"
    settings: Settings | None = None  # None: QUICK or FULL by ``quick``
    command: str = ""  # how the run was started (the report names it); derived when empty

    def __post_init__(self) -> None:
        unknown = [s for s in self.only if s not in SECTIONS]
        if unknown or not self.only:
            raise UsageError(f"unknown --only value {unknown[0]!r}: choose from {','.join(SECTIONS)}" if unknown
                             else f"--only needs at least one of {','.join(SECTIONS)}")

    @property
    def resolved(self) -> Settings:
        return self.settings or (QUICK if self.quick else FULL)


def parse_only(text: str | None) -> tuple[str, ...]:
    """``nll,control`` -> ("nll", "control"), checked (a UsageError names a bad value)."""
    if text is None:
        return SECTIONS
    chosen = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    SuiteConfig(only=chosen)  # validates
    return chosen


def command_for(config: SuiteConfig, only: tuple[str, ...] | None = None) -> str:
    """The ``cadenza bench`` command that reproduces ``config`` (restricted to ``only`` sections)."""
    parts = ["cadenza", "bench"]
    if config.quick:
        parts.append("--quick")
    sections = only or config.only
    if tuple(sections) != SECTIONS:
        parts += ["--only", ",".join(sections)]
    if config.model:
        parts += ["--model", config.model]
    if config.corpus != "default":
        parts += ["--corpus", config.corpus]
    parts += ["--out", config.out]
    return " ".join(shlex.quote(p) for p in parts)


# --------------------------------------------------------------------------------------------- helpers
def _progress(factory: ProgressFactory | None, label: str) -> Progress | None:
    return factory(label) if factory else None


def model_facts(model: str | None) -> dict[str, Any]:
    from cadenza.model.checkpoint import default_checkpoint, read_config

    folder = Path(model) if model else default_checkpoint()
    config = read_config(folder)
    digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()[:16]
    training = config.get("training", {})
    try:
        shown = str(folder.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        shown = str(folder)
    return {"folder": shown, "shipped_default": model is None, "hash": digest, "config": config["model"],
            "trained_on": (training.get("config") or {}).get("corpus"), "made_by": training.get("made_by"),
            "training_data": training.get("training_data")}


def corpus_facts(corpus: str) -> dict[str, Any]:
    from cadenza.corpus import CorpusStore

    store = CorpusStore(corpus)
    if not store.exists():
        return {"name": corpus, "present": False}
    info = store.info()
    build = info.get("last_build", {})
    return {"name": corpus, "present": True, "sources": info.get("sources"), "works": build.get("works_ok"),
            "splits": (build.get("dedupe") or {}).get("split_counts")}


def real_works(corpus: str, n: int) -> tuple[list[tuple[dict[str, Any], Score]], str]:
    """An even spread of ``n`` works of the corpus' test split (labels, score); without a corpus, Bach
    chorales from music21's bundled corpus (labelled baroque)."""
    from cadenza.corpus import CorpusStore

    store = CorpusStore(corpus)
    if store.exists():
        rows = [r for r in store.manifest() if r["split"] == "test"]
        if rows:
            if len(rows) > n:
                rows = [rows[i] for i in np.linspace(0, len(rows) - 1, n).astype(int)]
            return [(r["labels"], store.load_score(r)) for r in rows], f"corpus {corpus!r} test split"
    from music21 import corpus as m21

    from cadenza.score import read_score

    paths = [p for p in m21.getComposer("bach") if str(p).endswith(".mxl")][-max(n, 1):]
    return ([({"epoch": "baroque"}, read_score(p)) for p in paths],
            f"{len(paths)} Bach chorales from music21's corpus (no corpus {corpus!r})")


def _real_quality(corpus: str, per_epoch: int) -> tuple[dict[str, list[dict[str, float]]], str]:
    from cadenza.corpus import CorpusStore
    from cadenza.lab.compose import real_quality

    if CorpusStore(corpus).exists():
        found = real_quality(corpus, per_epoch)
        if found:
            return found, f"corpus {corpus!r} test split, up to {per_epoch} works per epoch (an even spread)"
    works, source = real_works(corpus, per_epoch)
    real: dict[str, list[dict[str, float]]] = {}
    for labels, score in works:
        real.setdefault(str(labels.get("epoch")), []).append(quality(score))
    return real, source


# ---------------------------------------------------------------------------------------------- sections
def section_nll(config: SuiteConfig, progress: ProgressFactory | None) -> dict[str, Any]:
    from cadenza.lab.nll import BOULANGER, boulanger_table, heldout_nll

    s = config.resolved
    out: dict[str, Any] = {"boulanger": boulanger_table(BOULANGER, limit=s.nll_limit, valid=s.nll_valid,
                                                        progress=_progress(progress, "nll: Boulanger table"))}
    try:
        out["heldout"] = heldout_nll(config.corpus, config.model, s.heldout_orders, s.heldout_limit,
                                     s.heldout_train_limit, _progress(progress, "nll: held-out works"))
    except CadenzaError as exc:
        out["heldout"] = {"skipped": str(exc)}
    return out


def section_control(config: SuiteConfig, progress: ProgressFactory | None) -> dict[str, Any]:
    from cadenza.lab.compose import ComposeBenchConfig, control

    s = config.resolved
    bench = ComposeBenchConfig(seeds=s.control_seeds, bars=s.control_bars, axes=s.control_axes, corpus=config.corpus,
                               checkpoint=config.model)
    table, pieces = control(bench, _progress(progress, "control: composing"))
    return {"seeds": s.control_seeds, "bars": s.control_bars, "table": table,
            "pieces": [{k: v for k, v in p.items() if k != "quality"} for p in pieces]}


def compose_styles(config: SuiteConfig,
                   progress: ProgressFactory | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Pieces across styles (epochs with their usual ensembles, moods), checked by the originality guard as they
    are written; the originality summary, and each piece's request and quality."""
    from cadenza.lab.originality import OriginalityBenchConfig, run

    s = config.resolved
    pieces: list[dict[str, Any]] = []

    def keep(request: Any, made: Any) -> None:
        pieces.append({"epoch": request.epoch, "mood": request.mood, "seed": request.seed,
                       "quality": quality(made.score), "seconds": made.score.duration_s})

    result = run(OriginalityBenchConfig(pieces=s.pieces, bars=s.piece_bars, checkpoint=config.model),
                 _progress(progress, "originality/quality: composing"), keep)
    return result, pieces


def section_originality(result: dict[str, Any], model: str | None) -> dict[str, Any]:
    from cadenza.compose.guard import guard_index, load_guard

    rows = result.get("rows", [])
    checked = [r for r in rows if r["verdict_after_guard"] is not None]
    out = {k: v for k, v in result.items() if k != "rows"}
    out["checked"] = bool(checked)
    out["longest_run_per_piece"] = [r["longest_notes"] or 0 for r in rows]
    out["rows"] = rows
    index = load_guard(guard_index(model))
    if index is not None:
        calibration = index.meta.get("calibration") or {}
        out["human"] = {kind: {k: v for k, v in (calibration.get(kind) or {}).items()}
                        for kind in ("top", "bass") if calibration.get(kind)}
        out["human_heldout"] = calibration.get("heldout")
        top = (calibration.get("top") or {}).get("values") or []
        if top:
            mine = np.asarray(out["longest_run_per_piece"], dtype=float)
            human = np.sort(np.asarray(top, dtype=float))
            # each generated piece's rank among the human pieces: the share of human pieces sharing fewer notes
            ranks = np.searchsorted(human, mine, side="left") / len(human)
            out["generated_rank_among_human"] = distribution(ranks.tolist())
            out["generated_over_human_p50"] = round(float(np.mean(mine > np.percentile(human, 50))), 4)
            out["generated_over_human_p90"] = round(float(np.mean(mine > np.percentile(human, 90))), 4)
    else:
        out["why_unchecked"] = "the model has no originality index beside it"
    return out


def section_quality(pieces: list[dict[str, Any]], config: SuiteConfig) -> dict[str, Any]:
    from cadenza.lab.compose import compare_quality

    s = config.resolved
    real, source = _real_quality(config.corpus, s.real_per_epoch)
    epoch_pieces = [{"axis": "epoch", "asked": p["epoch"], "quality": p["quality"]} for p in pieces if p["epoch"]]
    compared = compare_quality(epoch_pieces, real)
    distributions: dict[str, Any] = {}
    for epoch in EPOCHS:
        made = [p["quality"] for p in pieces if p["epoch"] == epoch]
        works = real.get(epoch, [])
        if not made and not works:
            continue
        distributions[epoch] = {metric: {"generated": [m[metric] for m in made], "real": [w[metric] for w in works]}
                                for metric in METRICS}
    all_real = [w for works in real.values() for w in works]
    overall = {metric: {"generated": distribution([p["quality"][metric] for p in pieces]),
                        "real": distribution([w[metric] for w in all_real])} for metric in METRICS}
    return {"real_source": source, "pieces": len(pieces), "real_works": len(all_real),
            "per_epoch": compared["per_epoch"], "inside_share": compared["inside_share"], "overall": overall,
            "values": distributions,
            "rule": "per epoch and metric: the generated median should lie inside the real works' 10th-90th "
                    "percentile range"}


def section_craft(config: SuiteConfig, progress: ProgressFactory | None) -> dict[str, Any]:
    from cadenza.lab.craft import CraftBenchConfig, run

    s = config.resolved
    craft_config = CraftBenchConfig(ensembles=s.craft_ensembles, seeds=s.craft_seeds, bars=s.craft_bars,
                                    real_per_ensemble=s.craft_real, checkpoint=config.model, pages=config.out)
    return run(craft_config, _progress(progress, "craft: real works and composing"))


def section_speed(config: SuiteConfig, progress: ProgressFactory | None) -> dict[str, Any]:
    from cadenza.compose import ComposeRequest, compose
    from cadenza.lab.compose import ComposeBenchConfig
    from cadenza.lab.compose import speed as compose_speed
    from cadenza.lab.peer import flat_cost, sampling_speed
    from cadenza.lab.speed import analyse_speed, model_shape, read_speed, render_speed, train_data, train_speed
    from cadenza.model.checkpoint import default_checkpoint, read_config
    from cadenza.model.transformer import PRESETS

    s = config.resolved
    out: dict[str, Any] = {}
    started = time.perf_counter()
    out["read"] = read_speed(s.read_midi, s.read_xml, s.read_repeats, _progress(progress, "speed: reading"))
    out["read"]["seconds"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    shape = model_shape(read_config(config.model or default_checkpoint())["model"])
    shapes: dict[str, dict[str, Any]] = {}
    for name in s.train_presets:
        wanted = shape if name == "model" else dict(PRESETS[name])
        same = [k for k, v in shapes.items() if all(v.get(f) == wanted.get(f) for f in ("d_model", "n_layers",
                                                                                        "n_heads", "context"))]
        if same:
            continue
        label = name
        if name == "model":
            presets = [p for p, v in PRESETS.items() if all(shape.get(f) == v[f] for f in v)]
            label = f"{presets[0]} (the model's shape)" if presets else "the model's shape"
        shapes[label] = wanted
    data, data_source = train_data(config.corpus)
    out["train"] = {"data": data_source, "optimizer_steps": s.train_steps, "warmup_steps": 2,
                    "rows": train_speed(shapes, data, s.train_steps, progress=_progress(progress, "speed: training"),
                                        threads=s.train_threads)}
    out["train"]["seconds"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    works, source = real_works(config.corpus, max(s.cost_works, s.analyse_pieces))
    cost = flat_cost([w for _, w in works[: s.cost_works]])
    cost["source"] = source
    out["sampling"] = sampling_speed(config.model, cost, s.peer_runs, s.peer_new_steps,
                                     progress=_progress(progress, "speed: sampling vs peer"))
    out["sampling"]["seconds"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    out["compose"] = compose_speed(ComposeBenchConfig(speed_bars=s.speed_bars, speed_runs=s.speed_runs,
                                                      checkpoint=config.model))
    out["compose"]["seconds"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    pieces = [compose(ComposeRequest(ensemble="string-quartet", bars=s.speed_bars, tempo_bpm=100, seed=i, guard=False),
                      checkpoint=config.model).score for i in range(s.render_pieces)]
    out["render"] = render_speed(pieces)
    out["render"]["what"] = f"string-quartet pieces of {s.speed_bars} bars at 100 bpm"
    out["render"]["seconds"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    spread = [w for _, w in works]
    if len(spread) > s.analyse_pieces:
        spread = [spread[i] for i in np.linspace(0, len(spread) - 1, s.analyse_pieces).astype(int)]
    out["analyse"] = analyse_speed(spread)
    out["analyse"]["source"] = source
    out["analyse"]["seconds"] = round(time.perf_counter() - started, 1)
    return out


# ------------------------------------------------------------------------------------------------ the run
def run_suite(config: SuiteConfig, progress: ProgressFactory | None = None) -> dict[str, Any]:
    """Every chosen section; the result is what ``results.json`` holds."""
    from cadenza import __version__
    from cadenza.lab.speed import describe_machine

    started = time.perf_counter()
    command = config.command or command_for(config)
    results: dict[str, Any] = {
        "suite": "cadenza bench", "cadenza": __version__, "date": time.strftime("%Y-%m-%d"),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "command": command, "quick": config.quick,
        "only": list(config.only), "settings": asdict(config.resolved), "machine": describe_machine(),
        "model": model_facts(config.model), "corpus": corpus_facts(config.corpus),
        "commands": {section: command_for(config, (section,)) for section in config.only},
        "sections": {}, "seconds": {}}
    sections: dict[str, Any] = results["sections"]

    def timed(name: str, work: Callable[[], Any]) -> Any:
        begun = time.perf_counter()
        log.info("bench: %s", name)
        value = work()
        results["seconds"][name] = round(time.perf_counter() - begun, 1)
        return value

    if "nll" in config.only:
        sections["nll"] = timed("nll", lambda: section_nll(config, progress))
    if "control" in config.only:
        sections["control"] = timed("control", lambda: section_control(config, progress))
    if "originality" in config.only or "quality" in config.only:
        summary, pieces = timed("compose_styles", lambda: compose_styles(config, progress))
        if "originality" in config.only:
            sections["originality"] = section_originality(summary, config.model)
        if "quality" in config.only:
            sections["quality"] = timed("quality", lambda: section_quality(pieces, config))
    if "craft" in config.only:
        sections["craft"] = timed("craft", lambda: section_craft(config, progress))
    if "speed" in config.only:
        sections["speed"] = timed("speed", lambda: section_speed(config, progress))
    results["machine"]["load_average_at_end"] = describe_machine().get("load_average_1_5_15")
    results["seconds"]["total"] = round(time.perf_counter() - started, 1)
    return results


def bench(config: SuiteConfig, progress: ProgressFactory | None = None) -> dict[str, Any]:
    """Run the suite and write ``results.json``, ``REPORT.md`` and the plots into ``config.out``; returns the
    results with ``files`` (what was written)."""
    from cadenza.lab.report import write_outputs

    results = run_suite(config, progress)
    results["files"] = [str(p) for p in write_outputs(results, Path(config.out))]
    return results


def headline(results: dict[str, Any]) -> list[str]:
    """A few lines for the terminal: the figures a reader looks for first."""
    lines = []
    sections = results["sections"]
    nll = sections.get("nll", {})
    for name, row in nll.get("boulanger", {}).items():
        if row.get("status") == "trained":
            lines.append(f"nll {name}: {row['test']['nll_per_frame']:.3f} nats/frame (n-gram "
                         f"{row['ngram_baseline']['test_nll_per_frame']:.3f})")
    held = (nll.get("heldout") or {}).get("table", {}).get("all")
    if held:
        lines.append(f"held-out: {held['transformer_no_labels']:.3f} nats/note vs n-gram {held['ngram']:.3f}")
    for axis, row in (sections.get("control", {}).get("table") or {}).items():
        lines.append(f"control {axis}: {row['share']:.0%} (chance {row['chance']:.0%})")
    if "originality" in sections and not sections["originality"]["checked"]:
        lines.append("originality: not checked (the model has no originality index)")
    elif "originality" in sections:
        o = sections["originality"]
        lines.append(f"originality: copied before guard {o['copied_share_before_guard']:.1%}, after "
                     f"{o['copied_share_after_guard']:.1%}; longest run median {o['longest_run_notes']['median']}")
    if "quality" in sections:
        lines.append(f"quality: generated medians inside the real 10-90% range: {sections['quality']['inside_share']}")
    if "craft" in sections:
        from cadenza.lab.craft import summary_lines

        lines += summary_lines(sections["craft"])
    sampling = sections.get("speed", {}).get("sampling")
    if sampling and "ratio_notes_per_s" in sampling:
        lines.append(f"sampling: {sampling['cadenza_raw']['notes_per_s']:.0f} notes/s vs peer "
                     f"{sampling['peer_same_music']['notes_per_s']:.0f} ({sampling['ratio_notes_per_s']:.2f}x)")
    lines.append(f"total {results['seconds']['total']:.0f} s")
    return lines


__all__ = ["FULL", "QUICK", "SECTIONS", "Settings", "SuiteConfig", "bench", "command_for", "headline",
           "parse_only", "run_suite"]
