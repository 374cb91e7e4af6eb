"""Values a player can play: the notation grid is as fine as the tempo allows (no note shorter than
``grid.SHORTEST_NOTE_S``, or ``SUNG_SHORTEST_S`` for a voice), the density's gaps follow it, and a drawn meter
leaves a high density room for it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from cadenza.compose.grid import SHORTEST_NOTE_S, SUNG_PROGRAMS, SUNG_SHORTEST_S, NotationGrid, playable_grid
from cadenza.tokens.events import FIELDS, KIND, F


def test_the_finest_value_follows_the_tempo() -> None:
    assert playable_grid(None) == (6, True)  # the tempo not known: 32nd notes and triplet eighths
    assert playable_grid(90) == (6, True)  # a 32nd at 90 bpm lasts 0.083 s
    assert playable_grid(155) == (12, True)  # a 32nd would last 0.048 s, a sixteenth 0.097 s
    assert playable_grid(220) == (24, True)  # a sixteenth would last 0.068 s
    assert playable_grid(300) == (24, False)  # a triplet eighth would last 0.067 s
    assert playable_grid(155, SUNG_SHORTEST_S) == (24, True)  # a voice: no sixteenths at 155 bpm (0.097 s)


def _tempo_step(bpm: int) -> np.ndarray:
    step = np.zeros(len(FIELDS), dtype=np.int64)
    step[F["kind"]], step[F["value"]] = KIND["tempo"], bpm
    return step


def test_a_fast_piece_starts_and_ends_notes_on_sixteenths_and_triplets_only() -> None:
    plan = SimpleNamespace(meter=(4, 4), bar_start_ticks=0, tempo_bpm=155.0,
                           allowed=lambda field, chosen, grammar: None)
    grid = NotationGrid(plan)
    grammar = SimpleNamespace(position=0)
    note = {"kind": KIND["note"], "label": 0}
    positions = grid.allowed("position", note, grammar)
    assert positions[12] and positions[24] and not positions[6] and not positions[18] and not positions[42]
    lengths = grid.allowed("duration", {**note, "position": 0}, grammar)
    assert lengths[12] and lengths[16] and lengths[48] and not lengths[6] and not lengths[18]
    slow = NotationGrid(SimpleNamespace(meter=(4, 4), bar_start_ticks=0, tempo_bpm=60.0,
                                        allowed=lambda field, chosen, grammar: None))
    assert slow.allowed("position", note, grammar)[6] and slow.allowed("duration", {**note, "position": 0},
                                                                        grammar)[6]
    # a tempo the model writes itself sets the grid as well
    plan.tempo_bpm = 60.0
    grid.advance(_tempo_step(60))
    assert grid.allowed("position", note, grammar)[6]


@pytest.mark.parametrize(("ensemble", "seed"), [("lead-sheet", 15), ("satb", 1), ("string-quartet", 2)])
def test_a_joyful_piece_at_155_bpm_writes_no_note_faster_than_a_player_plays(ensemble: str, seed: int) -> None:
    pytest.importorskip("torch")
    import cadenza

    # these wrote 32nd notes at 155 bpm, 0.048 s a note: a lead sheet's tune drawn in 3/8 (whose high density
    # asked for gaps under a sixteenth), a chorale's voices, a quartet's violin; the chorale's voices sang runs of
    # sixteenths, 0.097 s a note
    piece = cadenza.compose(ensemble=ensemble, mood="joyful", density="high", seed=seed, bars=16)
    score = piece.score
    # joyful's 155 in quarter notes, paced in the meter's beat (a 4/2 chorale's half notes: 219) or written in a
    # compound meter (232.5: ♩. = 155)
    assert len(score.tempos) == 1 and score.tempos[0].bpm >= 155.0
    for part in np.unique(score.notes["part"]):
        onsets = np.unique(score.notes["onset_ticks"][score.notes["part"] == part])
        gaps_s = np.diff(np.asarray(score.seconds_at(onsets)))
        shortest = SUNG_SHORTEST_S if score.parts[part].program in SUNG_PROGRAMS else SHORTEST_NOTE_S
        assert gaps_s.min() >= shortest - 1e-6, (ensemble, int(part), float(gaps_s.min()))
    assert piece.heard["density"] == "high" and piece.heard["mood"] == "joyful"
