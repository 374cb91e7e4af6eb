"""An authentic cadence stands on the dominant in the bass (cadenza.compose.cadence_bass)."""

from __future__ import annotations

import pytest

from cadenza.compose import ComposeRequest, compose
from cadenza.compose.request import resolve


def _basses_before_authentic_arrivals(request: ComposeRequest) -> list[tuple[int, int]]:
    """(arrival bar, the lowest pitch class sounding on the last beat of the bar before it) per authentic cadence
    the plan asked."""
    made = compose(request)
    score, starts, notes = made.score, made.score.bar_starts(), made.score.notes
    out = []
    for cadence in made.report["plan"]["cadences"]:
        kind, bar = cadence.split("@")
        if kind != "authentic":
            continue
        before = int(bar) - 2 + (1 if score.pickup_ticks else 0)
        last_beat = int(starts[before + 1]) - score.time_signature_at(int(starts[before])).beat_ticks
        ends = notes["onset_ticks"] + notes["duration_ticks"]
        sounding = notes[(notes["onset_ticks"] <= last_beat) & (ends > last_beat)]
        out.append((int(bar), int(sounding["pitch"].min()) % 12 if len(sounding) else -1))
    return out


@pytest.mark.parametrize(("ensemble", "epoch", "key", "seed"), [
    ("piano", "classical", "A minor", 4),  # its bass held B (ii) under the dominant seventh, then A
    ("satb", "baroque", "E minor", 6),  # its bass sang D-sharp in bar 8 and C in bar 16 before the tonic
])
def test_the_beat_before_an_authentic_arrival_has_the_dominant_in_the_bass(ensemble: str, epoch: str, key: str,
                                                                           seed: int) -> None:
    request = ComposeRequest(ensemble=ensemble, epoch=epoch, key=key, bars=16, seed=seed)
    dominant = (resolve(request).key.tonic_pc + 7) % 12
    found = _basses_before_authentic_arrivals(request)
    assert found and all(pc == dominant for _, pc in found), (found, dominant)
