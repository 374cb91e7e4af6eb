"""What a corpus holds: counts per source, composer, epoch and split, and the distribution of every label
(category counts; quantiles of numbers), plus a PNG chart of the main distributions."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.corpus.balance import DEFAULT_POWER, balanced_weights, copies_in, style_shares
from cadenza.corpus.sources import licence_of
from cadenza.corpus.store import CorpusStore
from cadenza.errors import OutputError
from cadenza.listen.labels import LABELS

CHART_LABELS = ("epoch", "ensemble", "form", "mode", "meter", "density", "texture", "mood", "tempo_class",
                "register")


def corpus_stats(store: CorpusStore) -> dict[str, Any]:
    rows = store.manifest()
    failures = store.failures()
    info = store.info()
    labels: dict[str, Any] = {}
    for spec in LABELS:
        values = [r["labels"].get(spec.name) for r in rows]
        values = [v for v in values if v is not None]
        if spec.kind in ("category", "bucket", "flag"):
            labels[spec.name] = dict(Counter(str(v) for v in values).most_common(40))
        elif spec.kind == "list":
            labels[spec.name] = dict(Counter(x for v in values for x in v[:1]).most_common(20))  # first item
        elif values:
            arr = np.array(values, dtype=float)
            q = np.quantile(arr, [0.0, 0.1, 0.5, 0.9, 1.0])
            labels[spec.name] = {"min": round(q[0], 4), "p10": round(q[1], 4), "median": round(q[2], 4),
                                 "p90": round(q[3], 4), "max": round(q[4], 4), "mean": round(float(arr.mean()), 4)}
    return {
        "name": store.name,
        "folder": str(store.folder),
        "updated": info.get("updated"),
        "works": len(rows),
        "failed": len(failures),
        "failures_by_kind": dict(Counter(f.get("kind", "") for f in failures).most_common()),
        "notes": sum(r.get("notes", 0) for r in rows),
        "by_source": dict(Counter(r["source"] for r in rows).most_common()),
        "by_composer": dict(Counter(r.get("composer") or "unknown" for r in rows).most_common(40)),
        "by_epoch": dict(Counter(r.get("epoch") or "unknown" for r in rows).most_common()),
        "by_split": dict(Counter(r.get("split") for r in rows).most_common()),
        "notes_by_source": _notes_by(rows, "source"),
        "notes_by_epoch": _notes_by(rows, "epoch"),
        "notes_by_ensemble": _notes_by(rows, "ensemble"),
        "licences": {source: licence_of(source) for source in sorted({r["source"] for r in rows})},
        "balance": balance_table([r for r in rows if r.get("split") == "train"]),
        "encoding_groups": info.get("last_build", {}).get("dedupe", {}).get("groups_spanning_sources"),
        "duplicate_groups": sum(1 for c in Counter(r["group"] for r in rows).values() if c > 1),
        "groups_crossing_splits": _crossing(rows),
        "labels": labels,
        "last_build": info.get("last_build", {}),
    }


def _notes_by(rows: list[dict[str, Any]], key: str) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for r in rows:
        value = r.get(key) if key in r else r.get("labels", {}).get(key)
        counts[str(value or "unknown")] += int(r.get("notes", 0))
    return dict(counts.most_common())


CONTEXT_NOTES = 400  # the notes a training window of 512 steps holds (about 1.25 steps per note)


def balance_table(rows: list[dict[str, Any]], power: float = DEFAULT_POWER) -> dict[str, dict[str, float]]:
    """Per style (epoch): its works, its share of the notes, and its share of what training draws with the
    default balance (duplicates counted once; in notes, which the steps follow closely)."""
    styles = [str(r.get("epoch") or "unknown") for r in rows]
    notes = np.array([max(int(r.get("notes", 0)), 1) for r in rows], dtype=float)
    copies = np.array(copies_in(rows), dtype=float)
    if not rows:
        return {}
    weights = balanced_weights(styles, notes, copies, power, CONTEXT_NOTES)
    drawn = style_shares(styles, weights, notes, CONTEXT_NOTES)
    total = notes.sum()
    return {style: {"works": styles.count(style),
                    "notes_share": round(float(notes[[s == style for s in styles]].sum() / total), 4),
                    "drawn_share": drawn.get(style, 0.0)}
            for style in sorted(set(styles), key=lambda s: -drawn.get(s, 0.0))}


def _crossing(rows: list[dict[str, Any]]) -> int:
    splits: dict[str, set[str]] = {}
    for r in rows:
        splits.setdefault(r["group"], set()).add(r["split"])
    return sum(1 for s in splits.values() if len(s) > 1)


def stats_chart(stats: dict[str, Any], path: Path) -> Path:
    """A grid of bar charts of the main label distributions, as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("source", stats["by_source"])] + [(n, stats["labels"].get(n, {})) for n in CHART_LABELS]
    cols = 4
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows))
    for ax, (title, counts) in zip(np.ravel(axes), panels, strict=False):
        items = list(counts.items())[:12]
        ax.barh([str(k) for k, _ in items][::-1], [v for _, v in items][::-1], color="#4c72b0")
        ax.set_title(title, fontsize=11)
        ax.tick_params(labelsize=8)
    for ax in np.ravel(axes)[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"corpus {stats['name']}: {stats['works']:,} works, {stats['notes']:,} notes", fontsize=13)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(tmp, dpi=90)
        tmp.replace(path)
    except OSError as exc:
        raise OutputError(f"cannot write the chart {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return path
