"""Chord steps: the harmony plan written into each bar for a model that reads chords, and the models of the first
event vocabulary (no chord kind), which load and write as they did."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import cadenza
import cadenza.model.sample as sample
from cadenza.compose import chord_steps
from cadenza.listen.harmony import roman
from cadenza.model.checkpoint import default_checkpoint, learn_chord_kind, load_checkpoint, new_model, save_checkpoint
from cadenza.score.model import TICKS_PER_QUARTER
from cadenza.tokens.events import FINE, FIRST_VOCABULARY_KINDS, KIND, F, chord_of_value


def _composed_steps(monkeypatch: pytest.MonkeyPatch, **request: Any) -> tuple[Any, np.ndarray]:
    """A piece and the steps of its last sampling call (the whole sequence: the ear writes phrase by phrase)."""
    made: list[np.ndarray] = []
    original = sample.generate

    def keep(*args: Any, **kwargs: Any) -> np.ndarray:
        out = original(*args, **kwargs)
        made.append(out)
        return out

    monkeypatch.setattr(sample, "generate", keep)
    return cadenza.compose(**request), made[-1]


def _chord_bars(steps: np.ndarray, tonic: int, mode: str) -> list[list[tuple[int, str, int]]]:
    """Each bar's chord steps as (ticks into the bar, Roman numeral, cadence)."""
    bars: list[list[tuple[int, str, int]]] = []
    for step in steps:
        if step[0] == KIND["bar"]:
            bars.append([])
        elif step[0] == KIND["chord"]:
            root, quality = chord_of_value(int(step[F["value"]]))
            at = int(step[F["position"]]) * FINE + int(step[F["position_fine"]])
            bars[-1].append((at, roman(root, quality, tonic, mode), int(step[F["value_fine"]])))
    return bars


@pytest.mark.parametrize("arrivals_only", [False, True])
def test_the_harmony_plan_is_written_into_its_bars_as_chord_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  arrivals_only: bool) -> None:
    """Every bar planned, or (the default) the first bar and the bars around each arrival, the model's own
    chords between: a planned bar holds the plan's chords where they change, the cadences marked."""
    monkeypatch.setattr(chord_steps, "ARRIVALS_ONLY", arrivals_only)
    torch.manual_seed(0)
    save_checkpoint(new_model("tiny"), tmp_path)  # a model of today's vocabulary: it reads chord steps
    piece, steps = _composed_steps(monkeypatch, ensemble="string-quartet", key="D minor", meter="4/4", bars=8, seed=3,
                                   model=str(tmp_path))
    written = _chord_bars(steps, 2, "minor")
    planned = piece.plan["harmony"]  # per bar, "i VI" or "iv i64-V7" (the last beat's chord after a dash)
    assert len(written) == len(planned) == 8
    forced = {0, 2, 3, 6, 7} if arrivals_only else set(range(8))  # phrases end in bars 4 and 8
    last = None
    free_bars_as_planned = []
    for bar, (names, chords) in enumerate(zip(planned, written, strict=True)):
        if bar not in forced:
            free_bars_as_planned.append([n for _, n, _ in chords] == names.split()[:len(chords)])
            last = chords[-1][1] if chords else last
            continue
        expected = []
        for name in names.replace("-", " ").split():
            name = name.removesuffix("64")  # a six-four is its root's triad in a chord step
            if name != last:
                expected.append(name)
            last = name
        assert [name for _, name, _ in chords] == expected, bar
    assert not arrivals_only or not all(free_bars_as_planned)  # between the arrivals: the (untrained) model's own
    cadences = {bar: chords[0][2] for bar, chords in enumerate(written) if bar in forced and chords and chords[0][2]}
    assert cadences == {3: 2, 7: 1}  # a half cadence ends the first phrase, an authentic one the piece


def test_a_first_vocabulary_model_loads_as_it_was_and_never_writes_a_chord(monkeypatch: pytest.MonkeyPatch) -> None:
    model, _ = load_checkpoint(default_checkpoint())
    assert not model.chord_events and model.config.field_sizes["kind"] == FIRST_VOCABULARY_KINDS
    _, steps = _composed_steps(monkeypatch, ensemble="piano", key="F major", bars=4, seed=1)
    assert not (steps[:, 0] == KIND["chord"]).any() and (steps[:, 0] == KIND["note"]).sum() > 10
    # widened to learn chords, it reads a sequence without chords exactly as before
    wide = learn_chord_kind(model).eval()
    assert wide.chord_events and wide.config.field_sizes["kind"] == FIRST_VOCABULARY_KINDS + 1
    with torch.no_grad():
        seq = torch.from_numpy(steps[:200])[None]
        before, _ = model.hidden(seq)
        after, _ = wide.hidden(seq)
        assert torch.allclose(before, after, atol=1e-6)
        old, new = model.heads[0](before[0, -1]), wide.heads[0](after[0, -1])
        assert torch.allclose(old, new[:FIRST_VOCABULARY_KINDS], atol=1e-6)
        assert new[KIND["chord"]] == pytest.approx(float(model.heads[0].bias[KIND["note"]]) - 2.0, abs=1e-4)


def test_a_chorales_weak_beats_may_take_chords_of_the_models_own_between_the_planned_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a baroque chorale the plan holds the strong beats and the model the weak ones (WEAK_BEATS_FREE): every
    planned chord that changes the harmony is in force at its beat (written there, or already by the model's own
    chord step just before it), and the model's own come only between."""
    monkeypatch.setattr(chord_steps, "ARRIVALS_ONLY", False)  # every bar planned
    torch.manual_seed(1)
    save_checkpoint(new_model("tiny"), tmp_path)
    piece, steps = _composed_steps(monkeypatch, ensemble="satb", epoch="baroque", key="G major", meter="4/4",
                                   bars=4, seed=2, model=str(tmp_path))
    bars = [[(at, name) for at, name, _ in chords] for chords in _chord_bars(steps, 7, "major")]
    half = 2 * TICKS_PER_QUARTER  # the middle of a 4/4 bar
    last = None
    in_force = None  # the chord written last before the current bar
    for bar, names in enumerate(piece.plan["harmony"]):
        for slot, name in enumerate(names.replace("-", " ").split()[:2]):
            name = name.removesuffix("64")
            if name != last:
                written = [n for at, n in bars[bar] if at <= slot * half]
                assert (written[-1] if written else in_force) == name, (bar, slot, bars[bar])
            last = name
        in_force = bars[bar][-1][1] if bars[bar] else in_force
