"""A progress bar on stderr for the ``(done, total)`` callbacks of long jobs: count, rate and ETA.
Drawn in place on a terminal; on a pipe or in CI, a line every 10%."""

from __future__ import annotations

import sys
import time
from typing import Any


class ProgressBar:
    def __init__(self, label: str, width: int = 30) -> None:
        self.label = label
        self.width = width
        self.start = time.monotonic()
        self.first_done: int | None = None
        self.last_draw = 0.0
        self.last_decile = -1
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.first_done is None:
            self.first_done, self.start = done, now
        finished = done >= total
        if self.tty and not finished and now - self.last_draw < 0.2:
            return
        self.last_draw = now
        fraction = done / total if total else 1.0
        worked = done - (self.first_done or 0)
        elapsed = now - self.start
        rate = worked / elapsed if elapsed > 0 and worked > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else float("nan")
        eta_text = "--:--" if eta != eta else f"{int(eta) // 60:02d}:{int(eta) % 60:02d}"
        filled = int(self.width * fraction)
        text = (f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {done:,}/{total:,} "
                f"{rate:5.1f}/s ETA {eta_text}")
        if self.tty:
            sys.stderr.write("\r" + text + ("\n" if finished else ""))
        else:
            decile = int(fraction * 10)
            if decile == self.last_decile and not finished:
                return
            self.last_decile = decile
            sys.stderr.write(text + "\n")
        sys.stderr.flush()


def show_training(record: dict[str, Any]) -> None:
    """One line per validation of a training run: step, losses, throughput and the time left."""
    minutes, step = float(record["minutes"]), int(record["step"])
    left = min((record["max_steps"] - step) * minutes / max(step - record.get("first_step", 0), 1),
               record.get("max_minutes", float("inf")) - minutes)
    eta = f"{int(left) // 60}:{int(left) % 60:02d} h left" if left > 0 else "finishing"
    sys.stderr.write(f"step {step:>6}/{record['max_steps']}  loss {record['train_loss']:.3f}  "
                     f"valid {record['nll_per_step']:.3f} nats/step ({record['nll_per_note']:.3f}/note)  "
                     f"{record['notes_per_s']:,.0f} notes/s  {minutes:.1f} min  {eta}\n")
    sys.stderr.flush()
