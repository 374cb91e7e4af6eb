"""Cadenza: an open-source AI composer.

    import cadenza
    piece = cadenza.compose(key="D minor", meter="3/4", ensemble="string-quartet", bars=16, seed=1)
    cadenza.write_score(piece.score, "quartet.mid")    # piece.heard, piece.originality, piece.to_json()
    more = cadenza.continue_("music21:bach/bwv66.6", bars=8, output="chorale-more.mid")
"""

# The stages whose names the API's functions share are imported first, so that importing them later (as the
# functions do) cannot rebind ``cadenza.compose``, ``cadenza.render``, ``cadenza.soundtrack`` or ``cadenza.train``
# from the function to the package. (So a stage's module is imported as ``from cadenza.train import loop``:
# ``import cadenza.train.loop as loop`` would look ``loop`` up on the function.)
import cadenza.compose as _compose_stage  # noqa: F401
import cadenza.render as _render_stage  # noqa: F401
import cadenza.soundtrack as _soundtrack_stage  # noqa: F401
import cadenza.train as _train_stage  # noqa: F401
from cadenza.api import (
    Composer,
    analyse,
    check,
    compose,
    continue_,
    info,
    read_score,
    render,
    revise,
    soundtrack,
    styles,
    train,
    write_score,
)
from cadenza.compose.generate import Composition
from cadenza.errors import CadenzaError
from cadenza.reports import Analysis, OriginalityCheck, Soundtrack
from cadenza.score import ReadLimits, Score
from cadenza.threads import set_threads

__version__ = "0.1.0"

__all__ = ["Analysis", "CadenzaError", "Composer", "Composition", "OriginalityCheck", "ReadLimits", "Score",
           "Soundtrack", "__version__", "analyse", "check", "compose", "continue_", "info", "read_score", "render",
           "revise", "set_threads", "soundtrack", "styles", "train", "write_score"]
