"""Harmony heard by two small learned networks: the chord of every beat and the local key, as the DCML
annotators write them.

What a beat sounds like is summed up per pitch class (:func:`beat_arrays`): its notes weighed by time and attack,
its halves, what sounds at its start, what the left hand's register holds, the bass, and the notes a few beats
either side; with the local key that the key profiles hear (:func:`cadenza.listen.key.local_keys`). Each network
reads those figures twelve times, turned so that one pitch class after another stands at 0, and a recurrent layer
carries them along the beats both ways: the chord network then scores every quality with that pitch class as its
root (108 chords a beat), the key network every major and minor key with it as the tonic (24 keys). Turning the
input rather than learning every transposition makes the networks hear all keys alike. A Viterbi pass with a cost
for every change (:func:`cadenza.listen.chord_decode.decode`) picks the sequence.

The weights (``listen/models/harmony_net.safetensors``) are fitted by :mod:`cadenza.lab.fit.harmony_net` on DCML
piano movements, none of whose pieces the harmony benchmark (:mod:`cadenza.lab.harmony`) reads; the resolved
settings and the held-out figures are kept in the file's metadata. numpy runs the networks: no torch here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

import numpy as np

from cadenza.listen.chord_decode import QUALITIES, beat_evidence, decode
from cadenza.listen.features import View
from cadenza.listen.key import estimate_key, local_key_path

LOW_REGISTER = 60  # notes below middle C are the left hand's register (their own chroma)
NEAR_BEATS = 2  # the beat's neighbours read one by one, this many either side
CHORD_WINDOWS = (2, 4, 16)  # windows (beats either side) of summed sound the chord network reads
KEY_WINDOWS = (2, 4, 8, 16, 32, 64)  # ... the key network reads
KEY_SIDE_BEATS = 8  # the key network also hears this many beats before and after apart
KEY_BASS_WINDOWS = (4, 16)  # windows of bass notes the key network reads
FEATURE_VERSION = 1  # the layout below; a weights file fitted on another is refused


def _share(rows: np.ndarray) -> np.ndarray:
    """Each row scaled to sum 1 (rows of zeros stay zeros)."""
    total = rows.sum(axis=-1, keepdims=True)
    return rows / np.where(total > 0, total, 1.0)


def _onehot(pcs: np.ndarray, size: int = 12) -> np.ndarray:
    out = np.zeros((len(pcs), size))
    known = pcs >= 0
    out[np.nonzero(known)[0], pcs[known]] = 1.0
    return out


def _grid_chroma(start: np.ndarray, end: np.ndarray, pcs: np.ndarray, step: int, cells: int) -> np.ndarray:
    """(cells, 12): each pitch class's sounding time, in cells, in each cell of ``step`` ticks."""
    first = start // step
    last = np.minimum((end - 1) // step, cells - 1)
    span = np.maximum(last - first + 1, 0)
    note = np.repeat(np.arange(len(start)), span)
    cell = first[note] + np.arange(len(note)) - np.repeat(np.cumsum(span) - span, span)
    share = (np.minimum(end[note], (cell + 1) * step) - np.maximum(start[note], cell * step)) / step
    return np.bincount(cell * 12 + pcs[note], weights=share, minlength=cells * 12).reshape(cells, 12)


def _at_beat_starts(start: np.ndarray, end: np.ndarray, pitch: np.ndarray, beat: int,
                    beats: int) -> tuple[np.ndarray, np.ndarray]:
    """(notes of each pitch class sounding at each beat's start (beats, 12), the lowest one's pitch class
    (beats,), -1 where none)."""
    first = -(-start // beat)
    last = np.minimum((end - 1) // beat, beats - 1)
    span = np.maximum(last - first + 1, 0)
    note = np.repeat(np.arange(len(start)), span)
    b = first[note] + np.arange(len(note)) - np.repeat(np.cumsum(span) - span, span)
    counts = np.bincount(b * 12 + pitch[note] % 12, minlength=beats * 12).reshape(beats, 12).astype(float)
    lowest = np.full(beats, -1)
    if len(note):
        order = np.lexsort((pitch[note], b))
        firsts = order[np.r_[True, b[order][1:] != b[order][:-1]]]
        lowest[b[firsts]] = pitch[note][firsts] % 12
    return counts, lowest


def beat_arrays(view: View) -> dict[str, np.ndarray]:
    """What the networks read of a piece, per beat of the chord grid (:func:`beat_evidence`'s beats): the
    weighted chroma, the bass, the plain chroma, each half of the beat, the low register, what sounds at the
    beat's start and its lowest note, the bar lines, the profile-heard local key (0-11 major, 12-23 minor) and
    the key of the whole piece."""
    chroma, bass, plain = beat_evidence(view)
    beats, beat, phase = len(chroma), view.beat_ticks, view.phase_ticks
    notes = view.pitched
    start = (notes["onset_ticks"] + phase).astype(np.int64)
    end = np.maximum(start + notes["duration_ticks"], start + 1)
    pitch = notes["pitch"].astype(np.int64)
    halves = _grid_chroma(start, end, pitch % 12, max(beat // 2, 1), 2 * beats)
    low = pitch < LOW_REGISTER
    low_chroma = _grid_chroma(start[low], end[low], pitch[low] % 12, beat, beats)
    onset_chroma, low_at_start = _at_beat_starts(start, end, pitch, beat, beats)
    downbeat = np.zeros(beats, dtype=bool)
    bars = (view.score.bar_starts() + phase) // beat
    downbeat[bars[(bars >= 0) & (bars < beats)]] = True
    home = estimate_key(view)
    home_index = home.tonic + (12 if home.mode == "minor" else 0)
    return {"chroma": chroma, "bass": bass, "plain": plain, "first_half": halves[0::2], "second_half": halves[1::2],
            "low": low_chroma, "onset_chroma": onset_chroma, "low_at_start": low_at_start, "downbeat": downbeat,
            "local_key": local_key_path(plain, home_index), "global_key": np.array([home_index])}


def _window(cumulative: np.ndarray, before: int, after: int) -> np.ndarray:
    """Rows summed from ``before`` beats back to ``after`` beats on, from a cumulative sum with a zero row."""
    beats = len(cumulative) - 1
    i = np.arange(beats)
    return cumulative[np.minimum(i + after + 1, beats)] - cumulative[np.maximum(i - before, 0)]


def _key_onehots(keys: np.ndarray) -> list[np.ndarray]:
    """A key index per beat as two rows of pitch classes: its tonic if major, its tonic if minor."""
    return [_onehot(np.where(keys < 12, keys, -1)), _onehot(np.where(keys >= 12, keys - 12, -1))]


def chord_inputs(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(channels (beats, C, 12) to turn by the root, plain (beats, P)): what the chord network reads."""
    chroma, beats = arrays["chroma"], len(arrays["chroma"])
    padded = np.vstack([np.zeros((NEAR_BEATS, 12)), chroma, np.zeros((NEAR_BEATS, 12))])
    near = [_share(padded[NEAR_BEATS + d:NEAR_BEATS + d + beats]) for d in (-1, 1, -2, 2)]
    bass = _onehot(arrays["bass"])
    bass_padded = np.vstack([np.zeros((1, 12)), bass, np.zeros((1, 12))])
    cumulative = np.vstack([np.zeros(12), np.cumsum(chroma, axis=0)])
    windows = [_share(_window(cumulative, w, w)) for w in CHORD_WINDOWS]
    channels = [_share(chroma), _share(arrays["onset_chroma"]), bass, _onehot(arrays["low_at_start"]),
                near[0], near[1], windows[0], *_key_onehots(arrays["local_key"]), near[2], near[3],
                bass_padded[:-2], bass_padded[2:], windows[1], windows[2], _share(arrays["first_half"]),
                _share(arrays["second_half"]), _share(arrays["low"]), _share(arrays["plain"])]
    pcs = (chroma > 0).sum(axis=1)
    plain = np.stack([np.minimum(pcs, 6) / 6, arrays["downbeat"].astype(float),
                      (arrays["bass"] < 0).astype(float)], axis=1)
    return np.stack(channels, axis=1), plain


def key_inputs(arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(channels (beats, C, 12) to turn by the tonic, plain (beats, P)): what the key network reads."""
    plain_chroma, beats = arrays["plain"], len(arrays["plain"])
    cumulative = np.vstack([np.zeros(12), np.cumsum(plain_chroma, axis=0)])
    bass_cumulative = np.vstack([np.zeros(12), np.cumsum(_onehot(arrays["bass"]), axis=0)])
    whole = np.repeat(_share(plain_chroma.sum(axis=0, keepdims=True)), beats, axis=0)
    global_key = np.repeat(arrays["global_key"], beats)
    channels = [_share(plain_chroma), *(_share(_window(cumulative, w, w)) for w in KEY_WINDOWS),
                _share(_window(cumulative, KEY_SIDE_BEATS, 0)), _share(_window(cumulative, 0, KEY_SIDE_BEATS)),
                *(_share(_window(bass_cumulative, w, w)) for w in KEY_BASS_WINDOWS), whole,
                *_key_onehots(arrays["local_key"]), *_key_onehots(global_key)]
    plain = np.stack([arrays["downbeat"].astype(float), (arrays["bass"] < 0).astype(float)], axis=1)
    return np.stack(channels, axis=1), plain


def turned(channels: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """(beats, 12, C * 12 + P) float32: the channels read with each pitch class in turn at 0, and the plain
    figures beside them."""
    beats = len(channels)
    index = (np.arange(12)[:, None] + np.arange(12)[None, :]) % 12  # [root, interval]
    rows = channels[:, :, index].transpose(0, 2, 1, 3).reshape(beats, 12, -1)
    return np.concatenate([rows, np.repeat(plain[:, None, :], 12, axis=1)], axis=2).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _stack(members: list[dict[str, np.ndarray]], name: str) -> np.ndarray:
    """One weight of every member and both directions, stacked as (members * 2, ...), forward first."""
    return np.stack([m[f"gru.{name}_l0{suffix}"] for m in members for suffix in ("", "_reverse")])


@dataclass(frozen=True)
class Net:
    """A network of one or more members (torch's layout each: a linear layer, a bidirectional GRU, a linear
    read-out), their probabilities averaged, and the cost its decoding charges for a change."""

    members: tuple[dict[str, np.ndarray], ...]
    outputs: int  # scores per turn (qualities, or the two modes)
    change_cost: float

    @cached_property
    def _gru_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(input weights transposed, recurrent weights transposed, input biases, recurrent biases) of every
        member's GRU, both ways, stacked once (see :func:`_stack`)."""
        members = list(self.members)
        w_ih_t = np.ascontiguousarray(_stack(members, "weight_ih").transpose(0, 2, 1))
        w_hh_t = np.ascontiguousarray(_stack(members, "weight_hh").transpose(0, 2, 1))
        return w_ih_t, w_hh_t, _stack(members, "bias_ih"), _stack(members, "bias_hh")

    def _recurrent(self, h: list[np.ndarray]) -> np.ndarray:
        """(members * 2, beats, 12, hidden): every member's GRU over its layer's output ``h`` (beats, 12, hidden),
        both ways, run together (one step of all of them at a time)."""
        w_ih_t, w_hh_t, b_ih, b_hh = self._gru_weights
        hidden = w_hh_t.shape[1]
        streams = np.stack([x[::step] for x in h for step in (1, -1)])  # the reverse streams read backwards
        count, beats, turns, _ = streams.shape
        gates_in = np.matmul(streams.reshape(count, beats * turns, -1), w_ih_t)
        gates_in = gates_in.reshape(count, beats, turns, -1) + b_ih[:, None, None, :]
        state = np.zeros((count, turns, hidden), dtype=np.float32)
        out = np.empty((count, beats, turns, hidden), dtype=np.float32)
        for t in range(beats):
            gates_h = np.matmul(state, w_hh_t) + b_hh[:, None, :]
            g = gates_in[:, t]
            rz = _sigmoid(g[..., :2 * hidden] + gates_h[..., :2 * hidden])
            r, z = rz[..., :hidden], rz[..., hidden:]
            n = np.tanh(g[..., 2 * hidden:] + r * gates_h[..., 2 * hidden:])
            state = (1.0 - z) * n + z * state
            out[:, t] = state
        out[1::2] = out[1::2, ::-1]  # the reverse streams back in time order
        return out

    def log_probs(self, x: np.ndarray) -> np.ndarray:
        """(beats, 12 * outputs) log-probabilities, turn-major, from :func:`turned` inputs: the log of the
        members' mean probability."""
        if not len(x):
            return np.zeros((0, 12 * self.outputs), dtype=np.float32)
        layers = [np.maximum(x @ m["inp.weight"].T + m["inp.bias"], 0.0) for m in self.members]
        recurrent = self._recurrent(layers)
        probs = np.zeros((len(x), 12 * self.outputs))
        for i, (m, h) in enumerate(zip(self.members, layers, strict=True)):
            both = np.concatenate([recurrent[2 * i], recurrent[2 * i + 1], h], axis=2)
            scores = (both @ m["out.weight"].T + m["out.bias"]).reshape(len(x), -1).astype(np.float64)
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            probs += scores / scores.sum(axis=1, keepdims=True)
        return np.log(np.maximum(probs / len(self.members), 1e-30))

    def decode(self, x: np.ndarray) -> np.ndarray:
        """The state per beat (turn * outputs + output) that the Viterbi pass picks."""
        return decode(self.log_probs(x), self.change_cost)


MODEL_FILE = "models/harmony_net.safetensors"


def parse_nets(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> dict[str, Net]:
    """The networks of a weights file's tensors ("chord.<member>.…", "key.<member>.…") and metadata (its
    "settings" JSON)."""
    settings = json.loads(metadata.get("settings", "{}"))
    if settings.get("feature_version") != FEATURE_VERSION:
        raise ValueError(f"harmony network weights of feature version {settings.get('feature_version')}, "
                         f"not {FEATURE_VERSION}")
    nets = {}
    for name in ("chord", "key"):
        members: dict[str, dict[str, np.ndarray]] = {}
        for key, value in tensors.items():
            net, member, weight = key.split(".", 2)
            if net == name:
                members.setdefault(member, {})[weight] = value.astype(np.float32)
        nets[name] = Net(tuple(members[m] for m in sorted(members, key=int)), int(settings[name]["outputs"]),
                         float(settings[name]["change_cost"]))
    return nets


@cache
def shipped() -> tuple[dict[str, Net], dict[str, Any]]:
    """The shipped networks ("chord", "key") and the file's settings and figures."""
    from safetensors import safe_open

    path = resources.files("cadenza.listen").joinpath(MODEL_FILE)
    with resources.as_file(path) as real, safe_open(str(real), framework="np") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 - safe_open is no mapping
        metadata = handle.metadata() or {}
    return parse_nets(tensors, metadata), json.loads(metadata.get("settings", "{}"))


def chord_path(view: View, arrays: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """(beats,) the chord heard on every beat, as an index into :func:`cadenza.listen.chord_decode.chord_names`
    (quality-major: quality * 12 + root)."""
    arrays = arrays if arrays is not None else beat_arrays(view)
    net = shipped()[0]["chord"]
    states = net.decode(turned(*chord_inputs(arrays)))
    root, quality = states // net.outputs, states % net.outputs
    return quality * 12 + root


def learned_local_keys(view: View, arrays: dict[str, np.ndarray] | None = None) -> list[tuple[int, str]]:
    """(tonic, mode) of every beat of the chord grid, as the key network hears it."""
    arrays = arrays if arrays is not None else beat_arrays(view)
    states = shipped()[0]["key"].decode(turned(*key_inputs(arrays)))
    return [(s // 2, "minor" if s % 2 else "major") for s in states.tolist()]


QUALITY_ORDER = tuple(QUALITIES)  # the chord network's outputs per root, in this order
