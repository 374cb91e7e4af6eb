"""Music "like" a reference: the reference's labels, texture and motifs bias a new piece or a continuation.

A :class:`Reference` is what ``listen`` hears in the reference piece plus its melodic and rhythmic habits:

- **labels**: the reference's labels (epoch, form, ensemble, key, meter, tempo class, density, texture, mood,
  …) condition the model wherever the request leaves them open; what the user asks for always wins;
- **texture**: with no ensemble asked for, the new piece is written for the reference's parts (their
  instruments, ranges and polyphony), in its meter, key and tempo;
- **motifs**: while sampling, :class:`MotifBias` nudges each part's line toward the reference's interval
  habits (which interval follows which, so transposed motifs count), its note values, where in the bar its
  notes start, and its pitch classes (moved to the new key). ``strength`` (0..1) scales these nudges; 0
  leaves only the labels.

The report measures the result against the reference (:func:`closeness`): how many of its labels the new
piece has, the share of the new piece's melodic four-note shapes found in the reference, and the longest run
of notes that follows the reference exactly (transposition-invariant): a copy, not a likeness, when long.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cadenza.compose.ensembles import Ensemble, Voice
from cadenza.compose.request import ComposeRequest, Plan, parse_key
from cadenza.errors import UsageError
from cadenza.listen.labels import TONICS
from cadenza.score.model import Score
from cadenza.tokens.events import FIELD_SIZES, FINE, KIND, F

LIKE_LABELS = ("composer", "epoch", "form", "ensemble", "key", "mode", "meter", "tempo_class", "density", "texture",
               "register", "rhythmic_complexity", "harmonic_vocabulary", "dynamics", "mood")
MAX_INTERVAL = 24  # semitones; wider leaps count as the widest
MOTIF_LENGTH = 4  # notes in a "motif" for the shared-motif share
BIAS_SCALE = 1.5  # nats at strength 1 for a value the reference uses half as often as its favourite
BIAS_FLOOR = 4.0  # the most a never-used value is pushed down, in nats at strength 1


def voices_of(score: Score, margin: int = 2) -> tuple[Voice, ...]:
    """Each part of ``score`` as a voice: its instrument, the range it uses (widened by ``margin``
    semitones) and the most notes it sounds at once."""
    voices = []
    for index, part in enumerate(score.parts):
        pitches = score.notes[score.notes["part"] == index]["pitch"]
        low, high = (max(int(pitches.min()) - margin, 0), min(int(pitches.max()) + margin, 127)) if len(pitches) \
            else (21, 108)
        voices.append(Voice(part.name or f"Part {index + 1}", part.program, low, high, max_polyphony(score, index),
                            part.is_drum))
    return tuple(voices)


MAX_CHORD = 10  # the most notes a part may start at once, whatever a primer did


def max_polyphony(score: Score, part: int) -> int:
    """The most notes ``part`` starts at one instant (its largest chord; what a Voice's polyphony means),
    at most :data:`MAX_CHORD`. Notes held under later ones do not count: a pedal point is not a chord."""
    onsets = score.notes[score.notes["part"] == part]["onset_ticks"]
    if not len(onsets):
        return 1
    return int(min(np.unique(onsets, return_counts=True)[1].max(), MAX_CHORD))


def lines(score: Score) -> list[np.ndarray]:
    """Each pitched part's line: its lowest note at every onset (the note a part starts an instant with, as
    the sampler writes it), as MIDI pitches in time order."""
    out = []
    for index, part in enumerate(score.parts):
        if part.is_drum:
            continue
        notes = score.notes[score.notes["part"] == index]
        if len(notes) < 2:
            continue
        order = np.lexsort((notes["pitch"], notes["onset_ticks"]))
        onsets, pitches = notes["onset_ticks"][order], notes["pitch"][order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = onsets[1:] != onsets[:-1]
        out.append(pitches[first].astype(np.int64))
    return out


def _intervals(line: np.ndarray) -> np.ndarray:
    return np.clip(np.diff(line), -MAX_INTERVAL, MAX_INTERVAL)


def _bias_from_counts(counts: np.ndarray, strength: float, smoothing: float = 0.1) -> np.ndarray:
    """Logit bias: 0 for the most used value, less for rarer ones, at least -floor × strength."""
    probs = (counts + smoothing) / (counts.sum() + smoothing * len(counts))
    bias = BIAS_SCALE * strength * np.log2(probs / probs.max())
    return np.maximum(bias, -BIAS_FLOOR * strength).astype(np.float32)


@dataclass(frozen=True)
class Reference:
    score: Score
    heard: dict[str, Any]
    name: str
    strength: float = 0.5

    def __post_init__(self) -> None:
        if isinstance(self.strength, bool) or not isinstance(self.strength, int | float) or not 0 <= self.strength <= 1:
            raise UsageError("like strength: give 0 to 1")
        if self.score.note_count < 2:
            raise UsageError(f"the reference {self.name} has too few notes to be like")

    @property
    def labels(self) -> dict[str, str]:
        return {name: str(self.heard[name]) for name in LIKE_LABELS
                if self.heard.get(name) not in (None, "", "other")}

    def apply(self, plan: Plan, request: ComposeRequest) -> Plan:
        """The plan with what the request leaves open taken from the reference: labels, parts, meter, key,
        tempo."""
        dropped = ({"key", "mode"} if "key" in plan.implied else set()) | (
            {"tempo_class"} if "tempo_bpm" in plan.implied else set()) | (
            {"ensemble", "epoch"} & plan.implied)  # the reference's, not a guess from the mood or composer
        labels = {**self.labels, **{k: v for k, v in plan.labels.items() if k not in dropped}}
        forces = plan.ensemble if "ensemble" not in plan.implied else None
        if forces is None:
            forces = Ensemble("like reference", self.labels.get("ensemble", "other"), voices_of(self.score))
        meter = plan.meter
        if meter is None:
            first = self.score.time_signatures[0]
            meter = (first.numerator, first.denominator)
            labels["meter"] = f"{meter[0]}/{meter[1]}" if labels.get("meter") in (None, "other") else labels["meter"]
        key = plan.key if "key" not in plan.implied else None
        key = key or (parse_key(self.heard["key"]) if self.heard.get("key") else plan.key)
        if key is not None:
            labels["key"], labels["mode"] = key.name, key.mode
        tempo = plan.tempo_bpm if "tempo_bpm" not in plan.implied else None
        if tempo is None and request.duration_s is None and self.score.tempos:
            tempo = float(min(max(self.score.tempos[0].bpm, 30.0), 240.0))
        tempo = tempo if tempo is not None else plan.tempo_bpm
        return replace(plan, labels=labels, ensemble=forces, meter=meter, key=key, tempo_bpm=tempo)

    def motif_bias(self, key_tonic_pc: int | None, parts: int) -> MotifBias | None:
        return None if self.strength <= 0 else MotifBias(self, key_tonic_pc, parts)


class MotifBias:
    """Logit biases toward the reference's intervals, note values, onsets in the bar and pitch classes (see
    the module's docstring); follows the sequence through :meth:`advance` like a constraint."""

    def __init__(self, reference: Reference, key_tonic_pc: int | None, parts: int) -> None:
        s = reference.strength
        score = reference.score
        after: dict[int, Counter[int]] = {}
        alone: Counter[int] = Counter()
        for line in lines(score):
            steps = _intervals(line)
            alone.update(steps.tolist())
            for prev, nxt in zip(steps[:-1].tolist(), steps[1:].tolist(), strict=True):
                after.setdefault(prev, Counter())[nxt] += 1
        size = 2 * MAX_INTERVAL + 1
        base = np.array([alone[i - MAX_INTERVAL] for i in range(size)], dtype=np.float64)
        self.interval_bias = _bias_from_counts(base, s)
        self.interval_after = {prev: _bias_from_counts(
            np.array([c[i - MAX_INTERVAL] for i in range(size)], dtype=np.float64) + base / max(base.sum(), 1), s)
            for prev, c in after.items() if sum(c.values()) >= 3}
        notes = score.notes[~np.isin(score.notes["part"], [i for i, p in enumerate(score.parts) if p.is_drum])]
        durations = np.minimum(notes["duration_ticks"] // FINE, FIELD_SIZES["duration"] - 1)
        self.duration_bias = _bias_from_counts(np.bincount(durations, minlength=FIELD_SIZES["duration"]), s)
        self.bar_ticks = score.time_signatures[0].bar_ticks
        starts = score.bar_starts()
        bar_of = np.searchsorted(starts, notes["onset_ticks"], side="right") - 1
        into_bar = (notes["onset_ticks"] - starts[np.maximum(bar_of, 0)]) // FINE
        self.position_bias = _bias_from_counts(
            np.bincount(np.minimum(into_bar, FIELD_SIZES["position"] - 1), minlength=FIELD_SIZES["position"]), s)
        pcs = np.bincount(notes["pitch"] % 12, minlength=12).astype(np.float64)
        own_tonic = TONICS.index(reference.heard["key"].split()[0]) if reference.heard.get("key") else 0
        shift = 0 if key_tonic_pc is None else (key_tonic_pc - own_tonic) % 12
        self.pc_bias = np.resize(0.5 * _bias_from_counts(np.roll(pcs, shift), s), FIELD_SIZES["pitch"])
        self.history: dict[int, list[int]] = {}  # part -> its line's last two pitches
        self.instant_of: dict[int, tuple[int, int]] = {}  # part -> (bar, position) of its last onset
        self.bar = 0
        self.bar_length = 0

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        return None  # a bias only

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        if chosen.get("kind") != KIND["note"]:
            return None
        if field == "position" and self.bar_length == self.bar_ticks:
            return self.position_bias
        if field == "duration":
            return self.duration_bias
        if field != "pitch":
            return None
        part = chosen["part"]
        at = (self.bar, chosen["position"] * FINE + chosen["position_fine"])
        history = self.history.get(part, [])
        if not history or self.instant_of.get(part) == at:  # not the first note of the part's onset
            return self.pc_bias
        previous = _last_interval(history)
        table = self.interval_bias if previous is None else self.interval_after.get(previous, self.interval_bias)
        out = np.full(FIELD_SIZES["pitch"], table[0], dtype=np.float32)
        last = history[-1]
        low, high = max(last - MAX_INTERVAL, 0), min(last + MAX_INTERVAL, FIELD_SIZES["pitch"] - 1)
        out[low:high + 1] = table[low - last + MAX_INTERVAL:high - last + MAX_INTERVAL + 1]
        return out + self.pc_bias

    def advance(self, step: np.ndarray) -> None:
        kind = int(step[F["kind"]])
        if kind == KIND["bar"]:
            self.bar += 1
            self.bar_length = int(step[F["position"]]) * FINE + int(step[F["position_fine"]])
        elif kind == KIND["note"]:
            part = int(step[F["part"]])
            at = (self.bar, int(step[F["position"]]) * FINE + int(step[F["position_fine"]]))
            if self.instant_of.get(part) != at:
                self.instant_of[part] = at
                self.history[part] = [*self.history.get(part, []), int(step[F["pitch"]])][-2:]


def _last_interval(history: list[int]) -> int | None:
    return None if len(history) < 2 else int(np.clip(history[-1] - history[-2], -MAX_INTERVAL, MAX_INTERVAL))


def _shapes(score: Score, length: int) -> list[tuple[int, ...]]:
    out = []
    for line in lines(score):
        steps = _intervals(line).tolist()
        out += [tuple(steps[i:i + length]) for i in range(len(steps) - length + 1)]
    return out


def longest_shared_run(score: Score, reference: Score) -> int:
    """The most notes in a row of one of ``score``'s lines that follow one of ``reference``'s lines interval
    for interval (so a transposed copy counts); 1 when no interval is shared."""
    theirs = ["," + ",".join(map(str, _intervals(line).tolist())) + "," for line in lines(reference)]
    best = 1
    for line in lines(score):
        steps = _intervals(line).tolist()
        for start in range(len(steps)):
            length = best  # only a longer run is worth finding: try best intervals, then grow
            while start + length <= len(steps):
                probe = "," + ",".join(map(str, steps[start:start + length])) + ","
                if not any(probe in t for t in theirs):
                    break
                length += 1
                best = max(best, length)
    return best


def closeness(score: Score, heard: dict[str, Any], reference: Reference) -> dict[str, Any]:
    """How close a piece is to the reference: labels shared, motifs shared, longest exact run."""
    wanted = reference.labels
    shared = {name: value for name, value in wanted.items() if str(heard.get(name)) == value}
    mine, theirs = _shapes(score, MOTIF_LENGTH - 1), set(_shapes(reference.score, MOTIF_LENGTH - 1))
    return {"reference": reference.name, "strength": reference.strength,
            "labels_shared": f"{len(shared)}/{len(wanted)}",
            "label_distance": round(1 - len(shared) / max(len(wanted), 1), 3),
            "labels_differing": {name: {"reference": value, "heard": heard.get(name)}
                                 for name, value in wanted.items() if name not in shared},
            "shared_motif_share": round(sum(s in theirs for s in mine) / max(len(mine), 1), 3),
            "longest_run_from_reference_notes": longest_shared_run(score, reference.score)}
