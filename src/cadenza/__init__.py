"""Cadenza: an open-source AI composer.

    import cadenza
    score = cadenza.read_score("music21:bach/bwv66.6")
    cadenza.write_score(score, "chorale.mid")
"""

from cadenza.api import analyse, info, read_score, write_score
from cadenza.errors import CadenzaError
from cadenza.score import ReadLimits, Score

__version__ = "0.1.0"

__all__ = ["CadenzaError", "ReadLimits", "Score", "__version__", "analyse", "info", "read_score", "write_score"]
