"""Harmony: a chord for every beat by template matching on the beat's chroma, then the vocabulary, harmonic
rhythm, Roman numerals in the key, cadences, dissonance and 12-bar-blues detection.

:func:`decoded_beat_chords` is the harmony as the DCML annotators hear it, from the learned chord network
(:mod:`cadenza.listen.harmony_net`): against their Roman numerals on movements it never learned from (``python -m
benchmarks.harmony``) it finds the root on 80.6% of the beats, where the template matching finds it on 61%.
The chords of the event vocabulary (:func:`chord_events`, what a model that reads chords learns from) are those.
:func:`beat_chords`, which the composer's plan, its ear, the style classifier and the craft benchmark read, stays
the template matching: the classifiers were fitted on it (with an earlier, hand-tuned decoding in its place the
refitted epoch classifier heard the composer's classical quartets as romantic or baroque), and the composer's
own music is plain enough for templates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.listen.chord_decode import QUALITIES, chord_names
from cadenza.listen.features import View
from cadenza.listen.harmony_net import beat_arrays, chord_path

SEVENTHS = ("7", "maj7", "min7", "hdim7", "dim7")
MIN_MATCH = 0.55  # cosine similarity below which a beat's sound is no recognisable chord


def _templates() -> tuple[np.ndarray, list[tuple[int, str]]]:
    rows, names = [], []
    for quality, intervals in QUALITIES.items():
        for root in range(12):
            t = np.zeros(12)
            t[[(root + i) % 12 for i in intervals]] = 1.0
            t[root] += 0.3  # roots weigh a little more, which settles inversions and shared tones
            rows.append(t / np.linalg.norm(t))
            names.append((root, quality))
    return np.array(rows), names


_TEMPLATES, _NAMES = _templates()


@dataclass(frozen=True)
class BeatChords:
    roots: np.ndarray  # (beats,) root pitch class, -1 where no chord
    qualities: list[str]  # per beat, "" where no chord
    match: np.ndarray  # (beats,) best cosine similarity


def beat_chords(view: View) -> BeatChords:
    chroma = view.beat_chroma
    norms = np.linalg.norm(chroma, axis=1)
    sounding = norms > 0
    sims = np.zeros((len(chroma), len(_NAMES)))
    sims[sounding] = (chroma[sounding] / norms[sounding, None]) @ _TEMPLATES.T
    # a seventh chord must beat its triad clearly, or the triad wins
    best = sims.argmax(axis=1)
    match = sims[np.arange(len(sims)), best]
    roots = np.full(len(chroma), -1)
    qualities = [""] * len(chroma)
    polyphonic = (chroma > 0).sum(axis=1) >= 2
    for i in np.nonzero(sounding & polyphonic & (match >= MIN_MATCH))[0]:
        root, quality = _NAMES[best[i]]
        roots[i] = root
        qualities[i] = quality
    return BeatChords(roots, qualities, match)


def decoded_beat_chords(view: View, arrays: dict[str, np.ndarray] | None = None) -> BeatChords:
    """The chord of every beat as the learned chord network hears it (:func:`cadenza.listen.harmony_net.
    chord_path`): a chord holds through rests and beats of melody alone, as an annotator's label does; only a
    piece with no notes has none. ``match`` is the cosine similarity of the beat's sound with the chord chosen
    (0 where silent). ``arrays``: the view's :func:`cadenza.listen.harmony_net.beat_arrays`, where the caller
    has them (the key network reads the same)."""
    arrays = arrays if arrays is not None else beat_arrays(view)
    plain = arrays["plain"]
    if not plain.any():
        return BeatChords(np.full(len(plain), -1), [""] * len(plain), np.zeros(len(plain)))
    path = chord_path(view, arrays)
    names = chord_names()
    norms = np.linalg.norm(plain, axis=1)
    sounding = norms > 0
    match = np.zeros(len(plain))
    match[sounding] = ((plain[sounding] / norms[sounding, None]) * _TEMPLATES[path[sounding]]).sum(axis=1)
    return BeatChords(path % 12, [names[s][1] for s in path.tolist()], match)


def vocabulary(chords: BeatChords) -> tuple[str, float, float]:
    """(harmonic vocabulary, share of triads, share of seventh chords) over the beats where anything
    sounds."""
    named = [q for q in chords.qualities if q]
    heard = int((chords.match > 0).sum())
    if heard == 0 or len(named) < 0.2 * heard:
        return "none", 0.0, 0.0
    triads = sum(q in ("maj", "min", "dim", "aug") for q in named) / heard
    sevenths = sum(q in SEVENTHS for q in named) / heard
    unmatched = 1 - len(named) / heard
    if unmatched > 0.4:
        return "chromatic", triads, sevenths
    if sevenths > 0.25:
        return "seventh-chords", triads, sevenths
    return "triadic", triads, sevenths


def changes(chords: BeatChords) -> list[int]:
    """Beat indices where the chord changes (the first chord counts)."""
    out = []
    prev = None
    for i, (root, quality) in enumerate(zip(chords.roots.tolist(), chords.qualities, strict=True)):
        if root < 0:
            continue
        if (root, quality) != prev:
            out.append(i)
            prev = (root, quality)
    return out


_MAJOR_DEGREES = {0: "I", 2: "II", 4: "III", 5: "IV", 7: "V", 9: "VI", 11: "VII"}
_MINOR_DEGREES = {0: "I", 2: "II", 3: "III", 5: "IV", 7: "V", 8: "VI", 10: "VII", 11: "VII"}


def roman(root: int, quality: str, tonic: int, mode: str) -> str:
    """Roman numeral of a chord in a key: case by quality, ♭/♯ for chromatic roots, ° ø and 7 marks."""
    degree = (root - tonic) % 12
    table = _MAJOR_DEGREES if mode == "major" else _MINOR_DEGREES
    if degree in table and not (mode == "minor" and degree == 11 and quality not in ("dim", "dim7", "hdim7")):
        numeral = table[degree]
        prefix = "♯" if (mode == "minor" and degree == 11) else ""
    else:
        up = (degree + 1) % 12
        if up in table:
            numeral, prefix = table[up], "♭"
        else:
            numeral, prefix = table[(degree - 1) % 12], "♯"
    lower = quality in ("min", "min7", "dim", "dim7", "hdim7")
    text = prefix + (numeral.lower() if lower else numeral)
    suffix = {"dim": "°", "dim7": "°7", "hdim7": "ø7", "aug": "+", "7": "7", "maj7": "maj7", "min7": "7"}
    return text + suffix.get(quality, "")


def progression(chords: BeatChords, tonic: int, mode: str, limit: int = 16) -> list[str]:
    return [roman(int(chords.roots[i]), chords.qualities[i], tonic, mode) for i in changes(chords)[:limit]]


CADENCE_KINDS = ("authentic", "half", "plagal", "deceptive")


def cadence_beats(view: View, chords: BeatChords, tonic: int, mode: str,
                  keys: list[tuple[int, str]] | None = None) -> list[tuple[int, str]]:
    """Cadences where a chord change lands on a strong beat (a bar's first beat, or its middle in 4/4 and
    other even meters) and is held there: the chord lasts 2 beats or more, or the melody holds a note that
    long (a chorale's fermata), or the piece ends. V→I authentic, IV→I plagal, V→vi deceptive, anything→V
    half, in the key ``tonic``/``mode`` (or in ``keys``, a (tonic, mode) per beat of the grid, where given).
    As (beat index on the chord grid, kind), in time order."""
    idx = changes(chords)
    if len(idx) < 2:
        return []
    beat, phase = view.beat_ticks, view.phase_ticks  # beat indices of the (phase-shifted) chord grid
    starts = view.score.bar_starts()
    strong: set[int] = set()
    for i, s in enumerate(starts.tolist()):
        strong.add((s + phase) // beat)
        sig = view.score.time_signature_at(s)
        bar_beats = (starts[i + 1] - s) // beat if i + 1 < len(starts) else sig.bar_ticks // beat
        if bar_beats >= 4 and bar_beats % 2 == 0:
            strong.add((s + phase) // beat + bar_beats // 2)
    top = view.top_voice
    held_melody = set(((top["onset_ticks"][top["duration_ticks"] >= 2 * beat] + phase) // beat).tolist())
    out = []
    for k in range(1, len(idx)):
        here = idx[k]
        held = (idx[k + 1] - here) if k + 1 < len(idx) else len(chords.roots) - here
        if here not in strong or (held < 2 and here not in held_melody):
            continue
        if keys:
            tonic, mode = keys[min(here, len(keys) - 1)]
        before = (int(chords.roots[idx[k - 1]]) - tonic) % 12
        after = (int(chords.roots[here]) - tonic) % 12
        kind = ""
        if after == 0 and before == 7:
            kind = "authentic"
        elif after == 0 and before == 5:
            kind = "plagal"
        elif before == 7 and after == (9 if mode == "major" else 8):
            kind = "deceptive"
        elif after == 7 and before != 7:
            kind = "half"
        if kind:
            out.append((here, kind))
    return out


def cadences(view: View, chords: BeatChords, tonic: int, mode: str) -> list[str]:
    """The cadences of :func:`cadence_beats`, written like 'authentic@9' (bar numbers as printed: a pickup
    is bar 0)."""
    beat, phase = view.beat_ticks, view.phase_ticks
    starts = view.score.bar_starts()
    out = []
    for here, kind in cadence_beats(view, chords, tonic, mode):
        bar = view.score.bar_number(int(np.searchsorted(starts, here * beat - phase, side="right")) - 1)
        out.append(f"{kind}@{bar}")
    return out


def chord_events(view: View, tonic: int, mode: str) -> list[tuple[int, int, str, str]]:
    """The harmony as the event vocabulary holds it: (onset ticks, root pitch class, quality, cadence) at every
    beat where the chord heard (:func:`decoded_beat_chords`) changes (:func:`changes`), the cadence ("" or one
    of :data:`CADENCE_KINDS`) where that change completes one (:func:`cadence_beats`, in the key
    ``tonic``/``mode``)."""
    chords = decoded_beat_chords(view)
    beat, phase = view.beat_ticks, view.phase_ticks
    arrivals = dict(cadence_beats(view, chords, tonic, mode))
    return [(max(i * beat - phase, 0), int(chords.roots[i]), chords.qualities[i], arrivals.get(i, ""))
            for i in changes(chords)]


_DISSONANT = np.zeros(7, dtype=bool)  # by interval class: minor/major 2nds (and 7ths), tritones
_DISSONANT[[1, 2, 6]] = True


def dissonance(view: View) -> float:
    """Share of pitch-class pairs sounding together (over sixteenth steps) that form 2nds, 7ths or tritones."""
    grid = view.sounding
    if not grid.any():
        return 0.0
    pcs = np.zeros((len(grid), 12), dtype=bool)
    for pc in range(12):
        pcs[:, pc] = grid[:, pc::12].any(axis=1)
    rows = pcs[pcs.sum(axis=1) >= 2].astype(np.int32)
    if not len(rows):
        return 0.0
    total = dissonant = 0
    for interval in range(1, 7):
        pairs = (rows * np.roll(rows, -interval, axis=1)).sum()
        if interval == 6:
            pairs //= 2  # the tritone pairs each pitch class with itself rolled both ways
        total += pairs
        if _DISSONANT[interval]:
            dissonant += pairs
    return float(dissonant / total) if total else 0.0


# 12-bar blues, in scale degrees of the bar roots; the 10th bar may be IV or V, the 12th I or V
_BLUES = [(0,), (0, 5), (0,), (0,), (5,), (5,), (0,), (0,), (7,), (5, 7), (0,), (0, 7)]


def is_blues(view: View, tonic: int) -> bool:
    """True if some run of 12 bars follows the 12-bar blues roots (at most one bar off)."""
    starts = view.score.bar_starts()
    if len(starts) < 12:
        return False
    beat, phase = view.beat_ticks, view.phase_ticks
    chroma = view.beat_chroma
    bar_roots = []
    for i, s in enumerate(starts):
        lo = (s + phase) // beat
        hi = (starts[i + 1] + phase) // beat if i + 1 < len(starts) else len(chroma)
        bar = chroma[lo:hi].sum(axis=0)
        if not bar.any():
            bar_roots.append(-1)
            continue
        sims = (bar / np.linalg.norm(bar)) @ _TEMPLATES.T
        root, _ = _NAMES[int(sims.argmax())]
        bar_roots.append((root - tonic) % 12)
    for offset in range(len(bar_roots) - 11):
        misses = sum(bar_roots[offset + j] not in allowed for j, allowed in enumerate(_BLUES))
        if misses <= 1:
            return True
    return False
