"""Scores: the in-memory model, readers and writers for every format, and pure operations."""

from cadenza.score.limits import ReadLimits
from cadenza.score.model import (
    NOTE_DTYPE,
    TICKS_PER_QUARTER,
    KeySignature,
    Metadata,
    Part,
    Score,
    Tempo,
    TimeSignature,
)
from cadenza.score.read import ReadResult, read_score, read_score_result, read_scores
from cadenza.score.write import write_score

__all__ = [
    "NOTE_DTYPE", "TICKS_PER_QUARTER", "KeySignature", "Metadata", "Part", "ReadLimits", "ReadResult",
    "Score", "Tempo", "TimeSignature", "read_score", "read_score_result", "read_scores", "write_score",
]  # fmt: skip
