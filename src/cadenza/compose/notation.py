"""How a written piece is notated: a piece whose beats run in triplets is written in the compound meter that
has them as its pulse, the way a composer would write it, rather than with a tuplet bracket on every beat.

The meter a request leaves open is drawn for its style before a note is written (:mod:`cadenza.compose.meters`),
and the model then chooses the rhythm. A slow G-minor quartet drawn in 4/4 ran in triplet eighths through 69% of
its quarters: 158 tuplet marks on its pages, for music a composer writes in 12/8 (the first 16 bars of 30 real
quartets in simple meters have triplets in a median 0% of their quarters, p90 4%). Capping the triplets instead
while sampling made the model, which heard a slow 12/8, write busy sixteenth-note double stops in the lower parts:
the label kept, the music damaged. Here the sound is unchanged: every quarter becomes a dotted quarter (ticks and
tempo scaled by 3/2, so each note keeps its time in seconds), the triplet eighths become plain eighths and the
piece's few duple figures dotted values. Only a meter the plan chose is rewritten; one the user asked is kept.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np

from cadenza.score.model import DEFAULT_TEMPO_BPM, TICKS_PER_QUARTER, Score, Tempo, TimeSignature

#: a piece is rewritten in its compound meter when at least this share of its quarters with notes in them run in
#: triplets (start or end a note on the triplet eighths' grid and not on the duple one)
COMPOUND_SHARE = 0.5
_SCALE = 1.5  # a quarter becomes a dotted quarter


def triplet_share(score: Score) -> float:
    """The share of the quarters with a note starting or ending in them whose notes lie on the triplet eighths'
    grid (a third or two thirds into the quarter) and not on a 32nd note's."""
    third = TICKS_PER_QUARTER // 3
    duple = TICKS_PER_QUARTER // 8
    points = np.concatenate([score.notes["onset_ticks"],
                             score.notes["onset_ticks"] + score.notes["duration_ticks"]]).astype(np.int64)
    if not len(points):
        return 0.0
    offsets = points % TICKS_PER_QUARTER
    triplet = (offsets % third == 0) & (offsets % duple != 0)
    quarters = np.unique(points // TICKS_PER_QUARTER)
    return len(np.unique(points[triplet] // TICKS_PER_QUARTER)) / len(quarters)


def compound_of(meter: TimeSignature) -> tuple[int, int] | None:
    """The compound meter whose dotted-quarter beats are ``meter``'s quarters (4/4 and 2/2: 12/8, 3/4: 9/8,
    2/4: 6/8), or None for a meter whose beat is not a quarter or half note (6/8 is compound already)."""
    quarters = Fraction(4 * meter.numerator, meter.denominator)
    if meter.is_compound or meter.denominator not in (2, 4) or quarters.denominator != 1:
        return None
    return 3 * int(quarters), 8


def compound_notation(score: Score) -> Score | None:
    """``score`` written in the compound meter of its beats' triplets (see the module docstring), sounding the
    same; None where it is not mostly in triplets (:data:`COMPOUND_SHARE`) or a meter has no compound form."""
    meters = [compound_of(sig) for sig in score.time_signatures]
    if any(m is None for m in meters) or triplet_share(score) < COMPOUND_SHARE:
        return None

    def scaled(ticks: Any) -> Any:  # (ticks x 3/2, the half tick rounded up)
        return (np.asarray(ticks, dtype=np.int64) * 3 + 1) // 2

    notes = score.notes.copy()
    notes["onset_ticks"] = scaled(notes["onset_ticks"])
    notes["duration_ticks"] = np.maximum(scaled(notes["duration_ticks"]), 1)
    signatures = [TimeSignature(int(scaled(sig.onset_ticks)), *meter)
                  for sig, meter in zip(score.time_signatures, meters, strict=True) if meter is not None]
    keys = [replace(key, onset_ticks=int(scaled(key.onset_ticks))) for key in score.key_signatures]
    tempos = [Tempo(int(scaled(t.onset_ticks)), t.bpm * _SCALE) for t in score.tempos] \
        or [Tempo(0, DEFAULT_TEMPO_BPM * _SCALE)]
    if tempos[0].onset_ticks > 0:
        tempos.insert(0, Tempo(0, DEFAULT_TEMPO_BPM * _SCALE))
    return Score.build(score.parts, notes, signatures, keys, tempos, score.metadata,
                       pickup_ticks=int(scaled(score.pickup_ticks)), length_ticks=int(scaled(score.length_ticks)))
