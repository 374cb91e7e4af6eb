"""Originality: transposition- and tempo-invariant fingerprints of the training works, a compact index that
ships beside each model, and the check that reports what a piece shares with them."""

from cadenza.originality.check import check_score, index_path_for, model_index, report_text
from cadenza.originality.index import (
    OriginalityIndex,
    Violation,
    VoiceRun,
    build_index,
    load_index,
    save_index,
)

__all__ = [
    "OriginalityIndex",
    "Violation",
    "VoiceRun",
    "build_index",
    "check_score",
    "index_path_for",
    "load_index",
    "model_index",
    "report_text",
    "save_index",
]
