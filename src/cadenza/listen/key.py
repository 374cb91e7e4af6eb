"""Key: tonic and mode from the pitch-class content, correlated with corpus key profiles, plus the cues a
listener uses: the bass (its share of time on the tonic, the first and the last bass note) and, when the
file has one, the key signature. Also key clarity and a count of modulations from windowed estimates.

Validated in benchmarks/listen/key_eval.py (Bach chorales against music21's encoded keys, POP909 against
its key annotations); the weights below were tuned on the chorales and POP909's dev half only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cadenza.listen.chord_decode import beat_evidence, decode
from cadenza.listen.features import View
from cadenza.listen.labels import TONICS
from cadenza.score.model import TICKS_PER_QUARTER, KeySignature, Score, key_signature_sharps

# Krumhansl & Kessler probe-tone profiles (1982), tonic first: key clarity is measured against these
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# Albrecht & Shanahan (2013) corpus profiles, tonic first: they choose the key. Of the profiles tried
# (Krumhansl-Kessler, Temperley-Kostka-Payne, Aarden-Essen, Bellman-Budge, Sapp's simple weights) they
# were the most accurate on both test sets, most clearly on telling minor keys from their relative majors.
AS_MAJOR = np.array([0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081])
AS_MINOR = np.array([0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052])

MINOR_BIAS = 0.04  # added to every minor key: profiles alone lean to the relative major
BASS_SHARE_WEIGHT = 0.10  # times the share of time the lowest sounding note is the tonic
FIRST_BASS_WEIGHT = 0.08  # added to keys whose tonic is the first bass note
FINAL_BASS_WEIGHT = 0.05  # added to keys whose tonic is the last bass note
SIGNATURE_WEIGHT = 0.15  # added to the two keys the key signature names ...
SIGNATURE_MODE_WEIGHT = 0.30  # ... and this to the one it names when it carries a mode
SIGNATURE_GAP = 0.50  # a signature key this far below the best key by content gets no bonus
DEFAULT_SIGNATURE_GAP = 0.10  # the same for a plain C-major signature, the default sequencers write

MIN_SIGNED_NOTES = 8  # a transcription with fewer notes gets no key signature (key_signature_of)

# modulations: windows of at least MIN_WINDOW_BARS bars and WINDOW_QUARTERS quarter notes, hop one bar; a
# new diatonic collection must fit SWITCH_MARGIN more of the notes than the current one in every window
# for HOLD_QUARTERS quarter notes running (tuned on POP909 dev's annotated key changes, Nottingham jigs
# and reels, chorales and a few sonata-form movements)
MIN_WINDOW_BARS = 4
WINDOW_QUARTERS = 12
SWITCH_MARGIN = 0.05
HOLD_QUARTERS = 20


@dataclass(frozen=True)
class KeyEstimate:
    tonic: int  # pitch class 0..11
    mode: str  # major | minor
    clarity: float  # correlation of the pitch-class profile with the best key's Krumhansl-Kessler profile, -1..1
    confidence: float  # margin over the runner-up, 0..1
    scores: np.ndarray  # (24,) score of every key: majors on C..B, then minors

    @property
    def name(self) -> str:
        return f"{TONICS[self.tonic]} {self.mode}"


def _profiles(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    rows = np.array([np.roll(major, t) for t in range(12)] + [np.roll(minor, t) for t in range(12)])
    return rows - rows.mean(axis=1, keepdims=True)


_KK = _profiles(MAJOR_PROFILE, MINOR_PROFILE)
_AS = _profiles(AS_MAJOR, AS_MINOR)
_MINOR = np.r_[np.zeros(12), np.ones(12)]


def key_correlations(histogram: np.ndarray, profiles: np.ndarray | None = None) -> np.ndarray:
    """Pearson correlation of a 12-bin histogram with each of the 24 key profiles (majors, then minors);
    Krumhansl-Kessler unless ``profiles`` (24 centred rows) is given."""
    p = _KK if profiles is None else profiles
    if not histogram.any():
        return np.zeros(len(p))
    h = histogram - histogram.mean()
    denom = np.sqrt((h**2).sum() * (p**2).sum(axis=1))
    return (p @ h) / np.where(denom == 0, 1, denom)


def _per_key(pc_weights: np.ndarray) -> np.ndarray:
    """A (12,) weight per tonic spread over the 24 keys (major and minor on each tonic)."""
    return np.tile(pc_weights, 2)


def _onehot(pc: int) -> np.ndarray:
    v = np.zeros(12)
    v[pc] = 1.0
    return v


def content_scores(view: View) -> np.ndarray:
    """(24,) key scores from the notes alone: profile correlation of the note-count histogram, the bass's
    time on each tonic, the first and last bass notes and the minor bias."""
    notes = view.pitched
    if not len(notes):
        return np.zeros(24)
    counts = np.bincount(notes["pitch"] % 12, minlength=12).astype(float)
    scores = key_correlations(counts, _AS) + MINOR_BIAS * _MINOR
    grid = view.sounding > 0
    heard = grid.any(axis=1)
    if heard.any():
        bass = np.bincount(np.argmax(grid[heard], axis=1) % 12, minlength=12) / heard.sum()
        scores += BASS_SHARE_WEIGHT * _per_key(bass)
    onsets = notes["onset_ticks"]
    first_bass = int(notes["pitch"][onsets == onsets.min()].min()) % 12
    last = onsets.max()
    final_bass = int(notes["pitch"][onsets + notes["duration_ticks"] > last].min()) % 12
    scores += FIRST_BASS_WEIGHT * _per_key(_onehot(first_bass)) + FINAL_BASS_WEIGHT * _per_key(_onehot(final_bass))
    return scores


def signature_bonus(view: View, content: np.ndarray) -> np.ndarray:
    """(24,) evidence from the first key signature: its two keys (and the one its mode names) gain, unless
    the notes contradict it (the key scores far below the best by content)."""
    bonus = np.zeros(24)
    if not view.score.key_signatures or not content.any():
        return bonus
    sig = view.score.key_signatures[0]
    major = (7 * sig.sharps) % 12
    minor = 12 + (major + 9) % 12
    limit = DEFAULT_SIGNATURE_GAP if sig.sharps == 0 and sig.mode != "minor" else SIGNATURE_GAP
    best = content.max()
    for k, mode in ((major, "major"), (minor, "minor")):
        if best - content[k] <= limit:
            bonus[k] = SIGNATURE_WEIGHT + (SIGNATURE_MODE_WEIGHT if sig.mode == mode else 0.0)
    return bonus


def estimate_key(view: View) -> KeyEstimate:
    """The best of the 24 keys by content plus key-signature evidence; clarity is the Krumhansl-Kessler
    correlation of the duration-weighted profile with that key, confidence its margin over the runner-up."""
    content = content_scores(view)
    scores = content + signature_bonus(view, content)
    order = np.argsort(-scores, kind="stable")  # ties (and silence) go to the lower key: C major first
    best = int(order[0])
    margin = float(scores[order[0]] - scores[order[1]])
    return KeyEstimate(
        tonic=best % 12,
        mode="major" if best < 12 else "minor",
        clarity=float(key_correlations(view.pc_histogram)[best]),
        confidence=float(min(max(margin / 0.2, 0.0), 1.0)),
        scores=scores,
    )


def key_signature_of(score: Score) -> KeySignature | None:
    """The key signature of the key heard in ``score``, for a score that came without one (a recording's
    transcription: :attr:`cadenza.score.read.ReadResult.transcribed`); None for fewer than
    :data:`MIN_SIGNED_NOTES` notes, too few to hear a key in."""
    if score.note_count < MIN_SIGNED_NOTES:
        return None
    key = estimate_key(View(score))
    return KeySignature(0, key_signature_sharps(key.tonic, key.mode), key.mode)


def _bar_ticks(view: View) -> float:
    starts = view.score.bar_starts()
    return max(float(np.median(np.diff(starts))), 1.0) if len(starts) > 1 else 4.0 * TICKS_PER_QUARTER


# _DIATONIC[c, pc]: whether pitch class pc is in diatonic collection c, the scale of the major key on
# 7c mod 12 (c sharps, or 12 - c flats) and of its relative minor
_DIATONIC = np.array([[(pc - 7 * c) % 12 in (0, 2, 4, 5, 7, 9, 11) for pc in range(12)] for c in range(12)], float)


def window_collections(view: View) -> np.ndarray:
    """(windows, 12): the share of each window's sounding time that falls in each diatonic collection.
    Windows of at least MIN_WINDOW_BARS bars and WINDOW_QUARTERS quarter notes start on every bar; near
    the end they run to the end while at least half a window is left. Silent windows are left out."""
    starts = view.score.bar_starts()
    notes = view.pitched
    if not len(notes) or len(starts) < 2:
        return np.zeros((0, 12))
    window = max(MIN_WINDOW_BARS, int(np.ceil(WINDOW_QUARTERS * TICKS_PER_QUARTER / _bar_ticks(view))))
    bounds = np.r_[starts, max(view.score.length_ticks, starts[-1] + 1)]
    bar_of = np.clip(np.searchsorted(bounds, notes["onset_ticks"], side="right") - 1, 0, len(starts) - 1)
    per_bar = np.zeros((len(starts), 12))
    np.add.at(per_bar, (bar_of, notes["pitch"] % 12), notes["duration_ticks"].astype(float))
    first = np.arange(max(len(starts) - (window + 1) // 2 + 1, 1))
    cum = np.vstack([np.zeros(12), np.cumsum(per_bar, axis=0)])
    hists = cum[np.minimum(first + window, len(starts))] - cum[first]
    hists = hists[hists.sum(axis=1) > 0]
    return (hists / hists.sum(axis=1, keepdims=True)) @ _DIATONIC.T


def count_modulations(view: View) -> int:
    """Changes of key that last, heard as changes of diatonic collection (the notes a key's scale
    uses). The collection that fits the first windows best is the current one; another takes over when it
    fits SWITCH_MARGIN more of the notes in every window for HOLD_QUARTERS quarter notes running
    (hysteresis), so a bar or two on the dominant does not count and a key held for a phrase does. Moves
    between relative major and minor share a collection and are not counted."""
    fit = window_collections(view)
    if len(fit) < 2:
        return 0
    hold = max(2, int(np.ceil(HOLD_QUARTERS * TICKS_PER_QUARTER / _bar_ticks(view))))
    current = int(np.argmax(fit[:hold].mean(axis=0)))
    changes = 0
    challenger, run = -1, 0
    for row in fit:
        best = int(np.argmax(row))
        if best == current or row[best] - row[current] < SWITCH_MARGIN:
            challenger, run = -1, 0
            continue
        run = run + 1 if best == challenger else 1
        challenger = best
        if run >= hold:
            current, challenger, run = best, -1, 0
            changes += 1
    return changes


LOCAL_WINDOW_BEATS = 16  # a beat's local key is heard in the notes this many beats either side of it
LOCAL_KEY_CHANGE = 2.0  # score a change of local key costs (in summed correlations over beats)
GLOBAL_KEY_WEIGHT = 0.1  # score added on every beat to the key of the whole piece (estimate_key)
SCALE_WEIGHT = 0.5  # times the share of the window's notes in the key's scale (a foreign note marks a new key)
# _SCALES[k, pc]: pitch class pc is in key k's scale (a minor key's with both its sixths and sevenths)
_SCALES = np.array([[(pc - k) % 12 in ((0, 2, 4, 5, 7, 9, 11) if k < 12 else (0, 2, 3, 5, 7, 8, 9, 10, 11))
                     for pc in range(12)] for k in range(24)], float)


def local_key_path(chroma: np.ndarray, home: int | None = None) -> np.ndarray:
    """(beats,) the local key of every beat (0-11 major on C..B, 12-23 minor) from a (beats, 12) chroma: the
    Albrecht-Shanahan profile correlation of the notes within LOCAL_WINDOW_BEATS beats and the share of them in
    the key's scale, decoded with a cost
    for every change of key so that a key lasts (a few chromatic beats do not modulate), and with a bonus for the
    ``home`` key (the whole piece's) where given."""
    if not len(chroma):
        return np.zeros(0, dtype=np.int64)
    cum = np.vstack([np.zeros(12), np.cumsum(chroma, axis=0)])
    idx = np.arange(len(chroma))
    hist = cum[np.minimum(idx + LOCAL_WINDOW_BEATS + 1, len(chroma))] - cum[np.maximum(idx - LOCAL_WINDOW_BEATS, 0)]
    centred = hist - hist.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True) * np.linalg.norm(_AS, axis=1)
    scores = (centred @ _AS.T) / np.where(norms > 0, norms, 1.0) + MINOR_BIAS * _MINOR
    totals = hist.sum(axis=1, keepdims=True)
    scores += SCALE_WEIGHT * (hist / np.where(totals > 0, totals, 1.0)) @ _SCALES.T
    if home is not None:
        scores[:, home] += GLOBAL_KEY_WEIGHT
    return decode(scores, LOCAL_KEY_CHANGE)


def local_keys(view: View) -> list[tuple[int, str]]:
    """(tonic, mode) of every beat of the chord grid (see :func:`local_key_path`)."""
    home = estimate_key(view)
    path = local_key_path(beat_evidence(view)[2], home.tonic + (12 if home.mode == "minor" else 0))
    return [(k % 12, "major" if k < 12 else "minor") for k in path.tolist()]
