"""The harmony networks (listen.harmony_net): numpy runs the networks exactly as torch fitted them, the input
is turned so every key is heard alike, and the shipped weights name the chord and the key of plain music."""

from __future__ import annotations

import numpy as np
import pytest

from cadenza.listen.features import View
from cadenza.listen.harmony_net import (
    FEATURE_VERSION,
    Net,
    beat_arrays,
    chord_inputs,
    key_inputs,
    learned_local_keys,
    parse_nets,
    shipped,
    turned,
)
from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import Part, Score, TimeSignature

Note = tuple[int, int, int, int, int]
C, D, E, F, G, A, B = 0, 2, 4, 5, 7, 9, 11
CADENCE = ((0, 4, 7), (5, 9, 12), (7, 11, 14, 17), (0, 4, 7))  # I IV V7 I above the tonic


def _build(notes: list[Note]) -> Score:
    return Score.build(parts=[Part("P")], notes=notes, time_signatures=[TimeSignature(0, 4, 4)])


def _cadences(tonics: list[int]) -> list[Note]:
    """A bar of I IV V7 I's chords per entry of ``tonics`` (a bass, and the chord above the tonic)."""
    notes: list[Note] = []
    for bar, tonic in enumerate(tonics):
        chord = CADENCE[bar % 4]
        notes += [(bar * 4 * Q, 4 * Q, p, 80, 0) for p in (tonic - 12 + chord[0], *(tonic + i for i in chord))]
    return notes


def test_numpy_runs_the_network_as_torch_does() -> None:
    torch = pytest.importorskip("torch")
    from cadenza.lab.fit.harmony_net import _network

    torch.manual_seed(3)
    networks = [_network(20, 8, 3), _network(20, 8, 3)]
    x = np.random.default_rng(0).normal(size=(11, 12, 20)).astype(np.float32)
    with torch.no_grad():
        probs = [torch.softmax(n(torch.from_numpy(x)[None])[0], -1).numpy() for n in networks]
    members = tuple({k: v.numpy() for k, v in n.state_dict().items()} for n in networks)
    assert np.allclose(Net(members[:1], 3, 0.0).log_probs(x), np.log(probs[0]), atol=1e-5)
    # two members: the log of their mean probability
    assert np.allclose(Net(members, 3, 0.0).log_probs(x), np.log((probs[0] + probs[1]) / 2), atol=1e-5)


def test_each_pitch_class_is_read_in_turn_at_zero() -> None:
    channels = np.zeros((1, 2, 12))
    channels[0, 0, 7] = 1.0  # G in the first channel
    x = turned(channels, np.array([[0.5]]))
    assert x.shape == (1, 12, 2 * 12 + 1)
    assert x[0, 7, 0] == 1.0  # turned to G: the G is at 0
    assert x[0, 0, 7] == 1.0 and x[0, 2, 5] == 1.0  # turned to C it is a fifth up; to D a fourth
    assert (x[0, :, -1] == 0.5).all()  # the plain figures beside every turn


def test_the_inputs_have_the_layout_the_weights_were_fitted_on() -> None:
    nets, settings = shipped()
    arrays = beat_arrays(View(_build(_cadences([60] * 4))))
    for name, inputs in (("chord", chord_inputs), ("key", key_inputs)):
        x = turned(*inputs(arrays))
        assert x.shape[:2] == (16, 12)
        assert all(x.shape[2] == member["inp.weight"].shape[1] for member in nets[name].members)
    assert len(nets["chord"].members) == 3 and len(nets["key"].members) == 1
    assert settings["feature_version"] == FEATURE_VERSION
    assert settings["chord"]["held_out"] and settings["pieces_left_out_for_the_benchmark"]


def test_weights_of_another_feature_layout_are_refused() -> None:
    with pytest.raises(ValueError, match="feature version"):
        parse_nets({}, {"settings": '{"feature_version": 0}'})


def test_every_key_is_heard_alike() -> None:
    # the same cadences a whole tone higher: every chord root and every tonic moves up a whole tone
    from cadenza.listen.harmony import decoded_beat_chords

    low, high = _build(_cadences([60] * 8)), _build(_cadences([62] * 8))
    roots_low = decoded_beat_chords(View(low)).roots
    roots_high = decoded_beat_chords(View(high)).roots
    assert ((roots_low + 2) % 12 == roots_high).all()
    keys_low, keys_high = learned_local_keys(View(low)), learned_local_keys(View(high))
    assert [((t + 2) % 12, m) for t, m in keys_low] == keys_high


def test_the_chords_of_a_cadence_and_its_key_are_named() -> None:
    from cadenza.listen.harmony import decoded_beat_chords

    chords = decoded_beat_chords(View(_build(_cadences([60] * 8))))
    bars = [(int(chords.roots[b * 4]), chords.qualities[b * 4]) for b in range(4)]
    assert bars == [(C, "maj"), (F, "maj"), (G, "7"), (C, "maj")]


def test_the_key_network_follows_a_modulation() -> None:
    # eight bars of I IV V7 I in C major, then eight in G major (the F sharps make the new key)
    keys = learned_local_keys(View(_build(_cadences([60] * 8 + [67] * 8))))
    assert keys[:12] == [(C, "major")] * 12 and keys[-12:] == [(G, "major")] * 12
