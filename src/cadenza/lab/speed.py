"""Speed on this machine: reading scores, training, rendering and analysing (sampling is in
:mod:`cadenza.lab.peer` and :mod:`cadenza.lab.compose`), and a description of the machine.

``benchmarks/read_speed.py``, ``benchmarks/train_speed.py`` and ``cadenza bench --only speed`` call these.

- **read**: MIDI and MusicXML files per second through Cadenza's readers. MIDI: the Nottingham MIDI
  collection in ``../shared/datasets`` (real-world files) when present, else MIDI files that Cadenza writes
  from music21's Bach chorales. MusicXML: compressed .mxl files from music21's bundled corpus (a fixed
  sample). Each file is read R times; the figure per format is the median per-file time (files/s = 1 / it).
- **train**: notes per second learned, for model shapes, on batches of the corpus' train split (batch 16,
  full context) after two warm-up steps.
- **render**: seconds of music rendered per wall second for each format (MIDI, MusicXML, WAV…).
- **analyse**: ``listen``'s full label set per piece: seconds per piece and notes per second.
"""

from __future__ import annotations

import logging
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.score.model import Score
from cadenza.threads import ensure_threads

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


# ------------------------------------------------------------------------------------------- the machine
def describe_machine() -> dict[str, Any]:
    """CPU (count and model), memory, OS, Python, torch and its threads, and the load when asked (the cores
    may be shared with other work: the load average says how busy they were)."""
    info: dict[str, Any] = {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                            "platform": platform.platform(), "python": platform.python_version()}
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024 ** 2, 1)
                break
    except OSError:
        pass
    if hasattr(os, "sched_getaffinity"):
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    try:
        import torch

        info["torch"] = torch.__version__
        info["threads"] = ensure_threads()  # what the models run on: --threads, CADENZA_THREADS or the default
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    if hasattr(os, "getloadavg"):
        info["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
    return info


# ---------------------------------------------------------------------------------------------- reading
def corpus_mxl(n: int) -> list[Path]:
    """A fixed random sample (seed 0) of ``n`` .mxl files from music21's bundled corpus."""
    from music21 import corpus

    paths = sorted(Path(p) for p in corpus.getPaths(fileExtensions=(".mxl",)))
    random.Random(0).shuffle(paths)
    return paths[:n]


def midi_files(n: int, scratch: Path) -> tuple[list[Path], str]:
    """``n`` MIDI files and where they come from: Nottingham's when ../shared/datasets is here, else Bach
    chorales written as MIDI by Cadenza into ``scratch``."""
    from cadenza.corpus.sources import find_datasets
    from cadenza.score import read_score, write_score

    datasets = find_datasets()
    folder = datasets / "nottingham" / "MIDI" if datasets else None
    if folder is not None and folder.is_dir():
        files = sorted(folder.glob("*.mid"))
        random.Random(0).shuffle(files)
        return files[:n], "../shared/datasets/nottingham/MIDI"
    from music21 import corpus

    chorales = [Path(p) for p in corpus.getComposer("bach") if str(p).endswith(".mxl")][:n]
    return ([write_score(read_score(p), scratch / f"c{i}.mid") for i, p in enumerate(chorales)],
            "MIDI written by Cadenza from music21's Bach chorales")


def time_reads(files: list[Path], repeats: int, progress: Progress | None = None) -> dict[str, Any]:
    """Median seconds per file (over ``repeats`` reads), files/s and notes/s; failures are counted."""
    from cadenza.score import ReadLimits, read_score

    limits = ReadLimits()
    per_file: list[float] = []
    notes = total_bytes = failures = 0
    for i, path in enumerate(files):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            try:
                score = read_score(path, limits)
            except Exception as exc:  # noqa: BLE001 - a benchmark counts failures, it does not stop
                log.warning("%s: %s", path.name, exc)
                failures += 1
                break
            times.append(time.perf_counter() - start)
        if times:
            per_file.append(statistics.median(times))
            notes += score.note_count
            total_bytes += path.stat().st_size
        if progress:
            progress(i + 1, len(files))
    if not per_file:
        return {"files": 0, "failures": failures}
    total = sum(per_file)
    median = statistics.median(per_file)
    return {"files": len(per_file), "failures": failures, "median_s_per_file": round(median, 5),
            "files_per_s_from_median": round(1 / median, 2), "files_per_s_overall": round(len(per_file) / total, 2),
            "notes_per_s_overall": round(notes / total), "mean_file_kb": round(total_bytes / len(per_file) / 1024, 1),
            "mean_notes_per_file": round(notes / len(per_file))}


def read_speed(midi: int = 200, xml: int = 60, repeats: int = 3, progress: Progress | None = None) -> dict[str, Any]:
    """Reading speed for MIDI and MusicXML (see the module's notes)."""
    quiet = logging.getLogger("cadenza.score")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # reader warnings are not the point here
    try:
        with tempfile.TemporaryDirectory() as tmp:
            files, source = midi_files(midi, Path(tmp))
            out: dict[str, Any] = {"midi": {"source": source, **time_reads(files, repeats, progress)}}
            out["musicxml"] = {"source": "music21 bundled corpus .mxl (random sample, seed 0)",
                               **time_reads(corpus_mxl(xml), repeats, progress)}
    finally:
        quiet.setLevel(level)
    out["repeats"] = repeats
    return out


# --------------------------------------------------------------------------------------------- training
def train_data(corpus: str = "default", fallback_works: int = 12) -> tuple[Any, str]:
    """Training examples: the corpus' train split (the trainer's cached steps), else Bach chorales from
    music21's bundled corpus, encoded (so the figure can be taken without a corpus)."""
    from cadenza.corpus import CorpusStore
    from cadenza.train.data import prepare_split, split_from_steps

    store = CorpusStore(corpus)
    if store.exists():
        try:
            return prepare_split(store, "train"), f"corpus {corpus!r} train split"
        except ValueError:
            pass
    from music21 import corpus as m21

    from cadenza.score import read_score
    from cadenza.tokens.events import encode

    paths = [p for p in m21.getComposer("bach") if str(p).endswith(".mxl")][:fallback_works]
    scores = [read_score(p) for p in paths]
    return (split_from_steps([encode(s) for s in scores], notes=[s.note_count for s in scores]),
            f"{len(scores)} Bach chorales from music21's corpus (no corpus {corpus!r})")


def train_speed(shapes: dict[str, dict[str, Any]], data: Any, steps: int = 8, batch_size: int = 16,
                progress: Progress | None = None, threads: Sequence[int] = (0,)) -> list[dict[str, Any]]:
    """For each named model shape (settings of :class:`cadenza.model.transformer.ModelConfig`) and each thread
    count (0: torch's default, what ``cadenza train`` uses), ``steps`` optimizer steps after two warm-up steps:
    notes and steps per second learned. (On cores that other work keeps busy, two threads can be many times
    slower than one: they spin-wait on each other.)"""
    import torch

    default = torch.get_num_threads()
    jobs = list(dict.fromkeys((name, n or default) for name in shapes for n in threads))
    rows = []
    try:
        for done, (name, n) in enumerate(jobs, 1):
            torch.set_num_threads(n)
            rows.append(_train_rate(name, shapes[name], data, steps, batch_size))
            if progress:
                progress(done, len(jobs))
    finally:
        torch.set_num_threads(default)
    return rows


def _train_rate(name: str, shape: dict[str, Any], data: Any, steps: int, batch_size: int) -> dict[str, Any]:
    import torch

    from cadenza.model.checkpoint import new_model
    from cadenza.tokens.events import KIND
    from cadenza.train.data import BatchConfig, make_batch

    torch.manual_seed(0)
    model = new_model("tiny", **shape)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = BatchConfig(context=model.config.context, batch_size=batch_size)
    rng = np.random.default_rng(0)
    notes = learned = 0
    start = 0.0
    for i in range(steps + 2):
        if i == 2:
            start, notes, learned = time.perf_counter(), 0, 0
        x = torch.from_numpy(make_batch(data, batch, rng))
        loss = model.loss(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        notes += int((x[:, 1:, 0] == KIND["note"]).sum())
        learned += int((x[:, 1:, 0] != KIND["pad"]).sum())
    seconds = time.perf_counter() - start
    return {"preset": name, "parameters": model.parameter_count(), "context": model.config.context,
            "d_model": model.config.d_model, "n_layers": model.config.n_layers,
            "notes_per_s": round(notes / seconds, 1), "steps_per_s": round(learned / seconds, 1),
            "seconds_per_optimizer_step": round(seconds / steps, 3), "batch_size": batch_size,
            "threads": torch.get_num_threads()}


def model_shape(config: dict[str, Any]) -> dict[str, Any]:
    """The shape settings of a checkpoint's model config (what :func:`train_speed` needs)."""
    return {k: config[k] for k in ("d_model", "n_layers", "n_heads", "context", "mlp_ratio") if k in config}


# ---------------------------------------------------------------------------------- rendering, analysing
def render_speed(scores: Sequence[Score], formats: Sequence[str] = ("mid", "musicxml", "wav")) -> dict[str, Any]:
    """Per format: median wall seconds per piece and seconds of music per wall second, over ``scores``; the
    audio engine used."""
    from cadenza.render.audio import resolve_engine
    from cadenza.render.pipeline import render

    times: dict[str, list[float]] = {f: [] for f in formats}
    ratios: dict[str, list[float]] = {f: [] for f in formats}
    errors: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, score in enumerate(scores):
            result = render(score, Path(tmp) / f"piece{i}", list(formats))
            errors.update(result.errors)
            for fmt in formats:
                if fmt in result.seconds and fmt not in result.errors:
                    times[fmt].append(result.seconds[fmt])
                    ratios[fmt].append(score.duration_s / max(result.seconds[fmt], 1e-9))
    out: dict[str, Any] = {"pieces": len(scores), "music_s_per_piece_median": round(
        statistics.median(s.duration_s for s in scores), 2) if scores else None, "audio_engine": resolve_engine()[0]}
    for fmt in formats:
        if times[fmt]:
            out[fmt] = {"wall_s_median": round(statistics.median(times[fmt]), 4),
                        "music_s_per_wall_s_median": round(statistics.median(ratios[fmt]), 1)}
        else:
            out[fmt] = {"error": errors.get(fmt, "not rendered")}
    return out


def analyse_speed(scores: Sequence[Score], repeats: int = 1) -> dict[str, Any]:
    """``listen``'s whole label set: median seconds per piece and notes per second over ``scores``."""
    from cadenza.listen.analyse import analyse_timed

    per_piece, notes, total = [], 0, 0.0
    for score in scores:
        times = [analyse_timed(score)[1] for _ in range(repeats)]
        per_piece.append(statistics.median(times))
        total += per_piece[-1]
        notes += score.note_count
    return {"pieces": len(scores), "seconds_per_piece_median": round(statistics.median(per_piece), 4) if per_piece
            else None, "notes_per_s": round(notes / total) if total else None,
            "mean_notes_per_piece": round(notes / max(len(scores), 1))}
