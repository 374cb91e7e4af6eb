"""Listening: features and ~50 category labels for any Score (no torch here)."""

from cadenza.listen.analyse import analyse
from cadenza.listen.labels import LABELS, LABELS_BY_NAME, LabelSpec

__all__ = ["LABELS", "LABELS_BY_NAME", "LabelSpec", "analyse"]
