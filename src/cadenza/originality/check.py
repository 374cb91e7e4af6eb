"""The originality check: which index a piece is checked against, and the report.

``against`` names what to check against: a shipped model (``default``, ``jsb``, ``nottingham``), a model
folder or an index file, or ``corpus:NAME`` for the index built beside a corpus (``cadenza corpus index``).
Every index ships beside its model (``originality.npz``) and reflects exactly the data that model was
trained on; the report carries the model, its training-data summary and the sources' licences.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from cadenza.errors import InputError, UsageError
from cadenza.originality.calibrate import human_rank
from cadenza.originality.index import INDEX_FILE, K_NOTES, OriginalityIndex, VoiceRun, load_index
from cadenza.score.model import TICKS_PER_QUARTER, Score

MODELS = Path(__file__).resolve().parents[1] / "models"
SHIPPED = {"default": MODELS / "default", "jsb": MODELS / "benchmarks" / "jsb",
           "nottingham": MODELS / "benchmarks" / "nottingham"}


def corpus_index_path(name: str, split: str = "train") -> Path:
    from cadenza.corpus.store import CorpusStore

    return CorpusStore(name).folder / f"originality-{split}.npz"


def index_path_for(against: str | os.PathLike[str] | None) -> Path:
    """The index file that ``against`` names (see the module docstring)."""
    if against is None:
        return SHIPPED["default"] / INDEX_FILE
    text = os.fspath(against)
    if text.startswith("corpus:"):
        path = corpus_index_path(text.removeprefix("corpus:"))
        if not path.is_file():
            name = text.removeprefix("corpus:")
            raise InputError(f"corpus {name!r} has no originality index yet "
                             f"(build it with: cadenza corpus index {name})")
        return path
    path = Path(text)
    if path.is_dir():
        return path / INDEX_FILE
    if path.is_file():
        return path
    if text in SHIPPED:
        return SHIPPED[text] / INDEX_FILE
    raise UsageError(f"--against {text}: not a model folder, an index file, a shipped model "
                     f"({', '.join(SHIPPED)}) or corpus:NAME")


@lru_cache(maxsize=8)
def _model_summary(folder: str, mtime_ns: int) -> dict[str, Any]:
    path = Path(folder)
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    training = config.get("training") or {}
    weights = path / "model.safetensors"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16] if weights.is_file() else None
    return {"model": str(path), "hash": digest, "trained_on": (training.get("config") or {}).get("corpus"),
            "benchmark": (training.get("config") or {}).get("benchmark") or None,
            "training_data": training.get("training_data")}


def provenance(index: OriginalityIndex, path: Path) -> dict[str, Any]:
    """What the index stands for: its file, the model beside it, the works it holds and their licences."""
    built = index.meta.get("built_from") or {}
    cal = index.meta.get("calibration") or {}
    doc: dict[str, Any] = {"index": str(path), "works": len(index.works), "notes": index.note_count,
                           "built_from": built, "calibrated_on": cal.get("heldout"),
                           "human_percentiles": {kind: {k: v for k, v in (cal.get(kind) or {}).items() if k != "values"}
                                                 for kind in ("top", "bass") if cal.get(kind)}}
    config = path.parent / "config.json"
    if config.is_file():
        doc.update(_model_summary(str(path.parent), config.stat().st_mtime_ns))
    return doc


def _voice(score: Score, index: OriginalityIndex, run: VoiceRun, limit: int) -> dict[str, Any]:
    part = score.parts[run.part]
    doc: dict[str, Any] = {"part": run.part, "part_name": part.name, "voice": run.voice, "line_notes": run.line_notes,
                           "ngram_share": run.ngram_share, "longest_notes": run.notes, "longest_bars": run.bars,
                           "threshold_notes": limit, "over": run.notes > limit,
                           "human_rank": human_rank(index, run.voice, run.notes), "match": None}
    if run.notes:
        work = index.works[run.work]
        doc["match"] = {"work_id": work["id"], "title": work.get("title", ""), "bars_here": list(run.bars_here),
                        "bars_there": list(run.bars_there),
                        "quarters_here": [run.onset_ticks / TICKS_PER_QUARTER, run.end_ticks / TICKS_PER_QUARTER]}
    return doc


def check_score(score: Score, against: str | os.PathLike[str] | OriginalityIndex | None = None,
                threshold: int | None = None) -> dict[str, Any]:
    """The originality report of ``score`` against an index (see :func:`index_path_for`); ``threshold`` (notes)
    overrides the calibrated ones. ``report["verdict"]`` is "copied" or "original"."""
    if isinstance(against, OriginalityIndex):
        index, path = against, None
    else:
        path = index_path_for(against)
        index = load_index(path)
    start = time.perf_counter()
    limits = index.thresholds() if threshold is None else {"top": threshold, "bass": threshold}
    runs = index.longest_runs(score)
    voices = [_voice(score, index, run, limits[run.voice]) for run in runs]
    texture = index.texture_run(score)
    elapsed = time.perf_counter() - start
    worst = max(voices, key=lambda v: (v["over"], v["longest_notes"] - v["threshold_notes"]), default=None)
    total = sum(v["line_notes"] for v in voices)
    return {
        "source": score.metadata.source, "title": score.metadata.title,
        "verdict": "copied" if any(v["over"] for v in voices) else "original",
        "threshold_notes": limits,
        "threshold_from": "given" if threshold is not None else (
            "calibrated" if index.meta.get("calibration") else "default (index not calibrated)"),
        "longest": worst, "voices": voices,
        "ngram_share": round(sum(v["ngram_share"] * v["line_notes"] for v in voices) / total, 4) if total else 0.0,
        "min_run_notes": K_NOTES, "texture": texture,
        "against": provenance(index, path) if path else {"index": None, "works": len(index.works)},
        "timing": {"index_load_s": round(index.load_s, 4), "check_s": round(elapsed, 4)},
    }


def _title(match: dict[str, Any]) -> str:
    title = match.get("title") or ""
    return f" ({title})" if title and title not in match["work_id"] else ""


def model_index(checkpoint: str | os.PathLike[str] | None = None) -> OriginalityIndex | None:
    """The index shipped beside a model (the default model when None); None when the folder has none (a
    model trained here and not yet given one: build it with ``cadenza corpus index --out``)."""
    folder = Path(checkpoint) if checkpoint is not None else SHIPPED["default"]
    path = folder / INDEX_FILE if folder.is_dir() or folder.suffix != ".npz" else folder
    return load_index(path) if path.is_file() else None


def report_text(report: dict[str, Any]) -> str:
    """The report as a few lines for a terminal."""
    name = report["title"] or report["source"] or "the piece"
    lines = [f"{name}: {report['verdict'].upper()}  (threshold: more than {report['threshold_notes']['top']} notes "
             f"shared by a top line, {report['threshold_notes']['bass']} by a bass line; {report['threshold_from']})"]
    for v in report["voices"]:
        head = f"  {v['part_name'] or 'part ' + str(v['part'] + 1)} ({v['voice']}, {v['line_notes']} notes): "
        m = v["match"]
        if not m:
            lines.append(head + f"no run of {report['min_run_notes']}+ notes shared; "
                         f"{v['ngram_share']:.0%} of its {report['min_run_notes']}-grams occur in the corpus")
            continue
        rank = f", longer than {v['human_rank']:.0%} of held-out human pieces" if v["human_rank"] is not None else ""
        lines.append(head + f"{v['longest_notes']} notes in bars {m['bars_here'][0]}–{m['bars_here'][1]} = "
                     f"{m['work_id']} bars {m['bars_there'][0]}–{m['bars_there'][1]}"
                     f"{_title(m)}{rank}{'  ← over' if v['over'] else ''}")
    t = report["texture"]
    if t:
        lines.append(f"  harmony/texture: bars {t['bars_here'][0]}–{t['bars_here'][1]} = {t['work_id']} "
                     f"bars {t['bars_there'][0]}–{t['bars_there'][1]}")
    a = report["against"]
    built = a.get("built_from") or {}
    sources = ", ".join(f"{s} {d['works']:,}" for s, d in (built.get("sources") or {}).items())
    what = a.get("model") or a.get("index") or "the given index"
    lines.append(f"against {what}: {a['works']:,} works ({sources}) in {report['timing']['check_s'] * 1000:.0f} ms")
    return "\n".join(lines)
