"""The critic: how much a phrase sounds like a real work of its style rather than like Cadenza's own writing.

A small learned real-versus-generated classifier, as the composer issue asks for its ear: per ensemble, a
logistic regression over :data:`FEATURES` — 44 local statistics of a phrase (a few bars, all parts) that a
listener hears without a plan: the tune's and the bass's intervals, the durations and where the onsets fall
in the beat, how full and how consonant the beats are, how the lines move against each other, density,
register and the scale. It is fitted (``python -m benchmarks.fit_critic``) on phrases of real works of the
ensemble's style that the craft benchmark never measures (:mod:`cadenza.lab.real_works`: mostly works the
model learned from) against phrases of pieces the shipped model composed; its weights are
``listen/models/critic.json``, with each critic's held-out accuracy.

:func:`critic_for` gives the critic of a request's ensemble and epoch (None where none was fitted for them), and
:func:`realness` a phrase's log-odds of being real under it (positive: heard as real).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from cadenza.listen.craft import FITS, beat_lines, texture
from cadenza.listen.features import View
from cadenza.score.model import Score

_INTERVAL_EDGES = (0.5, 2.5, 4.5, 7.5, 12.5)  # repeat | step | third | fourth-fifth | sixth-octave | more
_DURATION_EDGES = (-1.5, -0.5, 0.5, 1.5)  # log2 beats: <= 16ths-ish | eighths | beats | halves | longer
_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)

#: feature -> what it holds (every share is of the phrase's own events)
FEATURES: dict[str, str] = {
    **{f"tune_{name}": f"share of the tune's moves that are {name}s" for name in
       ("repeat", "step", "third", "fifth", "sixth", "wide")},
    **{f"bass_{name}": f"share of the bass line's moves that are {name}s" for name in
       ("repeat", "step", "third", "fifth", "sixth", "wide")},
    **{f"duration_{name}": f"share of notes lasting {name}" for name in
       ("under_half_beat", "half_beat", "a_beat", "two_beats", "longer")},
    "onset_on_beat": "share of onsets on a beat",
    "onset_half_beat": "share of onsets halfway through a beat",
    "onset_other": "share of onsets elsewhere in the beat",
    **{f"sonority_{n}": f"share of sounding beats with {n} pitch class(es)" for n in ("1", "2", "3", "4plus")},
    "empty_beats": "share of beats where nothing sounds",
    "chord_fit": "share of beats with 2+ pitch classes that fit a triad or a seventh chord",
    "outer_perfect": "share of beats whose outer lines make a unison, octave or fifth",
    "outer_imperfect": "share of beats whose outer lines make a third or a sixth",
    "outer_dissonant": "share of beats whose outer lines make any other interval",
    "contrary": "share of beat-to-beat moves where the outer lines move in opposite directions",
    "similar": "share of beat-to-beat moves where the outer lines move the same way",
    "oblique": "share of beat-to-beat moves where one outer line holds",
    "leap_recovered": "share of the tune's leaps (over 4 semitones) followed by a step the other way",
    "tune_rhythm_repeat": "share of the tune's gaps between onsets equal to the one before",
    "log_notes_per_part_beat": "log(1 + notes per sounding part per beat)",
    "parts_sounding": "mean share of the parts sounding on a beat",
    "tune_span": "the tune's range in octaves",
    "outer_distance": "mean distance between the outer lines in octaves",
    "pc_entropy": "entropy of the pitch classes (duration-weighted) over log2(12)",
    "scale_fit": "share of the duration in the best-fitting diatonic scale",
    "chromatic_moves": "share of the tune's moves of one semitone",
    "legato": "share of onsets whose notes are held until the part's next onset",
    "rests_per_part_bar": "silences inside a part's playing, per part per bar",
    "silent_parts": "share of (part, bar) pairs where the part plays nothing",
}
FEATURE_NAMES = tuple(FEATURES)


def _bins(values: np.ndarray, edges: tuple[float, ...]) -> list[float]:
    if not len(values):
        return [np.nan] * (len(edges) + 1)
    counts = np.bincount(np.searchsorted(edges, values), minlength=len(edges) + 1)
    return (counts / counts.sum()).tolist()


def _bass_line(view: View) -> np.ndarray:
    """The lowest note at each onset of the lowest part (by mean pitch), in onset order."""
    notes = view.pitched
    parts = np.unique(notes["part"])
    if len(parts) > 1:
        means = [notes["pitch"][notes["part"] == p].mean() for p in parts]
        notes = notes[notes["part"] == parts[int(np.argmin(means))]]
    order = np.lexsort((notes["pitch"].astype(int), notes["onset_ticks"]))
    notes = notes[order]
    first = np.ones(len(notes), dtype=bool)
    first[1:] = notes["onset_ticks"][1:] != notes["onset_ticks"][:-1]
    return notes["pitch"][first].astype(int)


def _motion(top: np.ndarray, bottom: np.ndarray) -> list[float]:
    both = (top >= 0) & (bottom >= 0)
    pairs = both[1:] & both[:-1]
    up, down = np.diff(top)[pairs], np.diff(bottom)[pairs]
    moving = (up != 0) | (down != 0)
    if not moving.any():
        return [np.nan] * 3
    up, down = np.sign(up[moving]), np.sign(down[moving])
    return [float((up * down < 0).mean()), float((up * down > 0).mean()), float((up * down == 0).mean())]


def _scale_fit(pc_histogram: np.ndarray) -> float:
    if not pc_histogram.sum():
        return float("nan")
    return max(float(pc_histogram[np.roll(_MAJOR, tonic)].sum()) for tonic in range(12))


def phrase_features(phrase: Score) -> np.ndarray:
    """The :data:`FEATURES` of a phrase (NaN where one does not apply, e.g. no tune moves)."""
    view = View(phrase)
    notes = view.pitched
    if not len(notes):
        return np.full(len(FEATURE_NAMES), np.nan)
    tune = view.top_voice["pitch"].astype(int)
    tune_moves = np.abs(np.diff(tune))
    bass_moves = np.abs(np.diff(_bass_line(view)))
    beat = view.beat_ticks
    durations = np.log2(np.maximum(notes["duration_ticks"], 1) / beat)
    onsets = np.unique(notes["onset_ticks"]) + view.phase_ticks
    where = (onsets % beat) / beat
    on_beat, half = where == 0, np.isclose(where, 0.5)
    lines = beat_lines(view)
    sounding = lines.top >= 0
    parts_per_beat = sounding.sum(axis=0)
    masks = np.zeros(len(view.beat_chroma), dtype=np.int64)
    for pc in range(12):
        masks |= (view.beat_chroma[:, pc] > 0).astype(np.int64) << pc
    sizes = np.array([bin(int(m)).count("1") for m in masks])
    heard = sizes > 0
    top, bottom = lines.line[0], lines.line[-1]
    both = (top >= 0) & (bottom >= 0)
    interval = (top[both] - bottom[both]) % 12
    leaps = np.flatnonzero(np.abs(np.diff(tune)) > 4)
    recovered = [np.sign(tune[i + 2] - tune[i + 1]) == -np.sign(tune[i + 1] - tune[i])
                 and 0 < abs(tune[i + 2] - tune[i + 1]) <= 2 for i in leaps if i + 2 < len(tune)]
    gaps = np.diff(view.top_voice["onset_ticks"])
    hist = view.pc_histogram
    entropy = float(-(hist[hist > 0] * np.log2(hist[hist > 0])).sum() / np.log2(12))
    shaped = texture(view, lines)
    values = [
        *_bins(tune_moves, _INTERVAL_EDGES), *_bins(bass_moves, _INTERVAL_EDGES),
        *_bins(durations, _DURATION_EDGES),
        float(on_beat.mean()), float(half.mean()), float((~on_beat & ~half).mean()),
        *(_bins(np.minimum(sizes[heard], 4) - 1, (0.5, 1.5, 2.5)) if heard.any() else [np.nan] * 4),
        float((~heard).mean()),
        float(FITS[masks[sizes >= 2]].mean()) if (sizes >= 2).any() else np.nan,
        *([float(np.isin(interval, (0, 7)).mean()), float(np.isin(interval, (3, 4, 8, 9)).mean()),
           float((~np.isin(interval, (0, 7, 3, 4, 8, 9))).mean())] if len(interval) and len(lines.order) > 1
          else [np.nan] * 3),
        *(_motion(top, bottom) if len(lines.order) > 1 else [np.nan] * 3),
        float(np.mean(recovered)) if recovered else np.nan,
        float((gaps[1:] == gaps[:-1]).mean()) if len(gaps) > 1 else np.nan,
        float(np.log1p(len(notes) / max(parts_per_beat.sum(), 1))),
        float(parts_per_beat.mean() / max(len(lines.order), 1)) if len(parts_per_beat) else np.nan,
        float((tune.max() - tune.min()) / 12) if len(tune) else np.nan,
        float((top[both] - bottom[both]).mean() / 12) if both.any() and len(lines.order) > 1 else np.nan,
        entropy, _scale_fit(hist),
        float((tune_moves == 1).mean()) if len(tune_moves) else np.nan,
        *(np.nan if shaped[name] is None else float(shaped[name])  # type: ignore[arg-type]
          for name in ("legato_share", "rests_per_part_bar", "silent_share")),
    ]
    assert len(values) == len(FEATURE_NAMES), (len(values), len(FEATURE_NAMES))
    return np.array(values, dtype=float)


@dataclass(frozen=True)
class Critic:
    """One ensemble's fitted critic: standardisation, weights and bias over :data:`FEATURE_NAMES`."""

    ensemble: str
    epochs: tuple[str, ...]  # the styles whose real works it learned from: it judges requests in these only
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    floor: float = float("-inf")  # log-odds under which the ear counts a phrase as a fault

    def log_odds(self, features: np.ndarray) -> float:
        """The log-odds that a phrase with these features is real (a missing feature counts as the mean)."""
        standard = np.nan_to_num((features - self.mean) / self.scale, nan=0.0)
        return float(np.clip(standard, -6.0, 6.0) @ self.weights + self.bias)


def parse_critics(data: dict[str, Any]) -> dict[str, Critic]:
    """The critics of a ``critic.json`` document, by ensemble (only those fitted on today's features)."""
    if tuple(data.get("features", ())) != FEATURE_NAMES:
        return {}
    return {name: Critic(name, tuple(entry["epochs"]), np.array(entry["mean"]), np.array(entry["scale"]),
                         np.array(entry["weights"]), float(entry["bias"]), float(entry["floor"]))
            for name, entry in data.get("critics", {}).items()}


@cache
def critics() -> dict[str, Critic]:
    """The shipped critics (``listen/models/critic.json``), by ensemble; empty when none is shipped."""
    source = resources.files("cadenza.listen").joinpath("models/critic.json")
    if not source.is_file():
        return {}
    return parse_critics(json.loads(source.read_text(encoding="utf-8")))


def critic_for(ensemble: str | None, epoch: str | None) -> Critic | None:
    """The critic that judges a request for ``ensemble`` in ``epoch``, or None."""
    found = critics().get(ensemble or "")
    return found if found is not None and epoch in found.epochs else None


def realness(phrase: Score, critic: Critic) -> float:
    """A phrase's log-odds of being a real work of the critic's style (positive: heard as real)."""
    return critic.log_odds(phrase_features(phrase))
