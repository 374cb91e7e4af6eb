"""Cadenza: an open-source AI composer.

    import cadenza
    piece = cadenza.compose(key="D minor", meter="3/4", ensemble="string-quartet", bars=16, seed=1)
    cadenza.write_score(piece["score"], "quartet.mid")
    more = cadenza.continue_("music21:bach/bwv66.6", bars=8, output="chorale-more.mid")
"""

from cadenza.api import analyse, compose, continue_, info, read_score, write_score
from cadenza.errors import CadenzaError
from cadenza.score import ReadLimits, Score

__version__ = "0.1.0"

__all__ = ["CadenzaError", "ReadLimits", "Score", "__version__", "analyse", "compose", "continue_", "info",
           "read_score", "write_score"]
