"""What the lab's sections and its report share: a share as percent text, a distribution's summary, and a PNG
plot that carries the command regenerating it. A leaf of the lab (it imports none of it), so that the craft
section, the suite and the report need not import one another in a circle."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def pct(value: float | None) -> str:
    """A share (0-1) as percent text with one decimal; a dash for None."""
    return "–" if value is None else f"{100 * value:.1f}%"


def distribution(values: list[float]) -> dict[str, Any]:
    """n, p10, median, p90 and mean of ``values`` (only n when there are none)."""
    if not values:
        return {"n": 0}
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {"n": len(values), "p10": round(float(p10), 4), "median": round(float(p50), 4),
            "p90": round(float(p90), 4), "mean": round(float(np.mean(values)), 4)}


def figure(path: Path, command: str, draw: Callable[[Any], None], size: tuple[float, float] = (9, 4)) -> Path | None:
    """A PNG at ``path`` drawn by ``draw(fig)``, its footer naming ``command``; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig = plt.figure(figsize=size, dpi=80)
    try:
        draw(fig)
        fig.text(0.01, 0.005, f"regenerate: {command}", fontsize=7, color="0.35", ha="left", va="bottom")
        fig.tight_layout(rect=(0, 0.04, 1, 1))
        fig.savefig(path, dpi=80)
    finally:
        plt.close(fig)
    return path
