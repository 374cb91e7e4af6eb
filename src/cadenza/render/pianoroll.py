"""A piano-roll picture of a Score: time across in bars, pitch up, one colour per part, drawn by matplotlib.

Uses matplotlib's Agg canvas directly (no pyplot, so no global state and no display is needed). The x
axis is notated time in quarter notes, so bars of different meters have their true lengths; bar lines
are drawn at the score's bar starts and labelled with the bar numbers a musician reads.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.errors import UsageError
from cadenza.files import atomic_write_bytes
from cadenza.render.common import check_folder, display_title, require
from cadenza.score.model import TICKS_PER_QUARTER, Score

log = logging.getLogger(__name__)

DEFAULT_WIDTH_PX = 1600
DEFAULT_HEIGHT_PX = 800
DEFAULT_DPI = 100
_NOTE_NAMES = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")
_LABEL_SPACING_PX = 45  # room for a three-digit bar number


def pitch_name(pitch: int) -> str:
    """Scientific pitch name: 60 -> 'C4'."""
    return f"{_NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def _bar_label_step(bar_count: int, max_labels: int) -> int:
    """Label every bar, or every 2nd, 4th, 8th … so that at most ``max_labels`` labels show."""
    step = 1
    while bar_count / step > max_labels:
        step *= 2
    return step


def _title(score: Score) -> str:
    title = display_title(score)
    return f"{title} — {score.metadata.composer}" if score.metadata.composer else title


def piano_roll_figure(score: Score, width_px: int = DEFAULT_WIDTH_PX, height_px: int = DEFAULT_HEIGHT_PX,
                      dpi: int = DEFAULT_DPI) -> Any:
    """A matplotlib Figure (with an Agg canvas attached) of the score's piano roll."""
    matplotlib = require("matplotlib", "the piano-roll picture")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    if not (100 <= width_px <= 20000 and 100 <= height_px <= 20000):
        raise UsageError(f"picture size {width_px} x {height_px} px out of range 100..20000")
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)

    notes = score.notes
    beats = TICKS_PER_QUARTER
    end_q = max(score.length_ticks, 1) / beats
    cmap = matplotlib.colormaps["tab10" if len(score.parts) <= 10 else "tab20"]
    handles = []
    for index, part in enumerate(score.parts):
        chosen = notes[notes["part"] == index]
        if not len(chosen):
            continue
        colour = cmap(index % cmap.N)
        x0 = chosen["onset_ticks"] / beats
        x1 = (chosen["onset_ticks"] + chosen["duration_ticks"]) / beats
        y = chosen["pitch"].astype(np.float64)
        low, high = y - 0.4, y + 0.4
        corners = np.stack([np.stack([x0, low], 1), np.stack([x1, low], 1),
                            np.stack([x1, high], 1), np.stack([x0, high], 1)], axis=1)
        alpha = 0.45 + 0.55 * chosen["velocity"] / 127.0
        faces = np.tile(np.asarray(colour, dtype=np.float64), (len(chosen), 1))
        faces[:, 3] = alpha
        axes.add_collection(PolyCollection(list(corners), facecolors=faces, edgecolors=[colour],
                                           linewidths=0.3))
        label = f"{part.name or f'Part {index + 1}'}" + (" (drums)" if part.is_drum else "")
        handles.append(Patch(facecolor=colour, label=label))

    starts = score.bar_starts() / beats
    max_labels = max(4, width_px // _LABEL_SPACING_PX)
    step = _bar_label_step(len(starts), max_labels)
    first = 1 if score.pickup_ticks and len(starts) > 1 else 0  # a pickup's '0' would crowd bar 1's label
    shown = list(range(first, len(starts), step))
    lines = starts if len(starts) <= 2 * max_labels else starts[shown]  # too many lines make a grey wash
    axes.vlines(lines, 0, 128, colors="0.75", linewidths=0.6, zorder=0)
    axes.set_xticks([float(starts[i]) for i in shown])
    axes.set_xticklabels([str(score.bar_number(i)) for i in shown])
    axes.set_xlim(0, end_q)
    axes.set_xlabel("bar")

    if len(notes):
        low_pitch, high_pitch = int(notes["pitch"].min()), int(notes["pitch"].max())
    else:
        low_pitch, high_pitch = 60, 72
    low_pitch, high_pitch = max(low_pitch - 2, 0), min(high_pitch + 2, 127)
    if high_pitch - low_pitch < 12:
        middle = (low_pitch + high_pitch) // 2
        low_pitch, high_pitch = max(middle - 6, 0), min(middle + 6, 127)
    octave_span = (high_pitch - low_pitch) > 36
    ticks = [p for p in range(low_pitch, high_pitch + 1) if p % 12 == 0 or (not octave_span and p % 12 == 7)]
    axes.set_yticks(ticks)
    axes.set_yticklabels([pitch_name(p) for p in ticks])
    axes.set_ylim(low_pitch - 0.5, high_pitch + 0.5)
    axes.set_ylabel("pitch")
    axes.grid(axis="y", color="0.9", linewidth=0.5)
    axes.set_axisbelow(True)

    axes.set_title(_title(score))
    if handles:
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize="small",
                    frameon=False)
    figure.tight_layout()
    return figure


def png_bytes(score: Score, width_px: int = DEFAULT_WIDTH_PX, height_px: int = DEFAULT_HEIGHT_PX,
              dpi: int = DEFAULT_DPI) -> bytes:
    """The piano roll as PNG bytes of exactly ``width_px`` x ``height_px`` pixels."""
    figure = piano_roll_figure(score, width_px, height_px, dpi)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Title": _title(score), "Software": "Cadenza"})
    return buffer.getvalue()


def render_png(score: Score, path: str | os.PathLike[str], width_px: int = DEFAULT_WIDTH_PX,
               height_px: int = DEFAULT_HEIGHT_PX, dpi: int = DEFAULT_DPI) -> Path:
    """Write the score's piano roll as a PNG file (written atomically); returns the path."""
    out = Path(path)
    check_folder(out)
    atomic_write_bytes(out, png_bytes(score, width_px, height_px, dpi))
    return out
