"""Craft: how a score is written, measured the way a teacher reads a student's score — voice leading,
harmony, phrase arrivals, melody, texture, motifs and tonality. Pure NumPy over a :class:`View`.

Every measure is a number for one score (``None`` where it does not apply, e.g. spacing with fewer than three
parts); :data:`MEASURES` documents each in one line. Parts are read as *lines*, ordered from the highest to
the lowest by mean pitch: each part's line is its highest sounding note, the lowest part's its lowest (so a
piano's two hands give the outer voices). Lines are sampled at every beat of the main meter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from cadenza.listen import harmony
from cadenza.listen.features import View
from cadenza.listen.key import estimate_key
from cadenza.listen.structure import self_similarity
from cadenza.score.model import TICKS_PER_QUARTER, Score

#: measure -> one line on what it counts (compared against real works by the craft benchmark)
MEASURES: dict[str, str] = {
    "parallels": "parallel fifths/octaves (both lines move the same way into the same perfect interval) per 100 beats",
    "crossings": "beats where a part sounds below the next lower part's highest note (piano: hands overlap), per 100",
    "spacing": "share of beats where two adjacent upper parts lie more than an octave apart (3+ parts)",
    "unisons": "share of beats (2+ parts sounding) where two parts' lines sound the same pitch",
    "chord_share": "share of strong-beat sonorities (2+ pitch classes) that fit a triad or a seventh chord",
    "harmonic_rhythm": "chord changes per bar (listen's chord per beat)",
    "chord_vocabulary": "distinct chords (root and quality) heard",
    "seventh_share": "share of the beats where something sounds that listen hears as a seventh chord",
    "dissonance": "share of pitch-class pairs sounding together (sixteenth steps) that are 2nds, 7ths or tritones",
    "phrase_arrivals": "share of 4-bar phrase ends (bars 4, 8, 12, ...) where listen hears a cadence",
    "cadences_per_phrase": "cadences heard per 4 bars, wherever they fall",
    "authentic_share": "share of the heard cadences that are authentic or plagal (closing)",
    "step_share": "share of the top line's moves (repeats left out) of at most two semitones",
    "mean_interval": "mean absolute interval of the top line in semitones (repeats included)",
    "melody_range": "range of the top line in semitones",
    "melody_pitch": "mean MIDI pitch of the top line (where the tune sits: a right hand in the tenor reads low)",
    "rests_per_part_bar": "silences inside a part's playing, per part per bar where it plays",
    "legato_share": "share of a part's onsets whose notes are held until its next onset (within a 32nd)",
    "silent_share": "share of (part, bar) pairs where the part plays nothing",
    "onsets_per_part_bar": "distinct onsets per part per bar where it plays",
    "repeated_notes": "share of a part's moves from one onset to its next that strike its highest pitch again",
    "bass_pitch": "mean MIDI pitch of the lowest line",
    "motif_recurrence": "share of bars after the first phrase where a 4-note figure of the first phrase "
                        "(intervals and rhythm, any transposition) starts",
    "self_similarity": "listen's self-similarity of 4-bar windows (1: every window recurs)",
    "key_agreement": "1 when the written key signature is the heard key's (or its relative's), else 0",
    "ends_on_tonic": "1 when the last sonority has the tonic in the bass and only tonic-triad pitch classes, else 0",
}
#: piece-level yes/no measures: reported as shares, not as distributions
BINARY = ("key_agreement", "ends_on_tonic")
ENSEMBLE_TEXTURE = ("rests_per_part_bar", "legato_share", "silent_share", "onsets_per_part_bar", "repeated_notes")
PERFECT = (0, 7)  # interval classes of unisons/octaves and fifths
LEGATO_TOLERANCE = TICKS_PER_QUARTER // 8  # a 32nd note
PHRASE_BARS = 4
MOTIF_NOTES = 4
_CHORD_SETS = [frozenset((root + i) % 12 for i in intervals)
               for intervals in harmony.QUALITIES.values() for root in range(12)]
_TRIAD_SETS = [s for s in _CHORD_SETS if len(s) == 3]


def _fits(pcs: frozenset[int]) -> bool:
    if len(pcs) >= 3:
        return any(pcs <= chord for chord in _CHORD_SETS)
    return any(pcs <= chord for chord in _TRIAD_SETS)


#: FITS[mask] for every set of pitch classes as a 12-bit mask (bit pc): the answer of :func:`fits_chord`
FITS = np.array([_fits(frozenset(pc for pc in range(12) if mask >> pc & 1)) for mask in range(4096)])


def pc_mask(pcs: Iterable[int]) -> int:
    out = 0
    for pc in pcs:
        out |= 1 << (pc % 12)
    return out


def fits_chord(pcs: frozenset[int]) -> bool:
    """A sonority that is (part of) a triad or seventh chord: 3+ pitch classes inside one chord, or 2 inside a
    triad (a bare third, fifth or sixth)."""
    return bool(FITS[pc_mask(pcs)])


def key_sharps(tonic: int, mode: str) -> int:
    """Sharps (flats negative) of a key's signature (C♯/D♭ major and relatives as five flats): the inverse of
    the major tonic 7 × sharps mod 12 that :func:`cadenza.listen.key.signature_bonus` reads a signature by."""
    major = tonic if mode == "major" else (tonic + 3) % 12
    return (7 * major + 5) % 12 - 5


@dataclass(frozen=True)
class Lines:
    """Each part's line sampled at every beat: ``top[p, b]`` and ``bottom[p, b]`` are the highest and lowest
    pitch part ``p`` sounds at beat ``b`` (-1: silent); parts ordered from the highest to the lowest."""

    top: np.ndarray
    bottom: np.ndarray
    order: list[int]  # score part index of each row

    @cached_property
    def line(self) -> np.ndarray:
        """The voice each part contributes: its top note, the lowest part's bottom note."""
        out = self.top.copy()
        if len(out):
            out[-1] = self.bottom[-1]
        return out


def beat_lines(view: View) -> Lines:
    notes = view.pitched
    parts = [int(p) for p in np.unique(notes["part"])] if len(notes) else []
    parts.sort(key=lambda p: -float(notes["pitch"][notes["part"] == p].mean()))
    beat, phase = view.beat_ticks, view.phase_ticks
    beats = max(int(np.ceil((view.end_ticks + phase) / beat)), 1)
    points = np.arange(beats) * beat - phase  # the tick of every beat
    top = np.full((len(parts), beats), -1, dtype=np.int32)
    bottom = np.full((len(parts), beats), 128, dtype=np.int32)
    for row, part in enumerate(parts):
        mine = notes[notes["part"] == part]
        first = np.searchsorted(points, mine["onset_ticks"], side="left")
        last = np.searchsorted(points, mine["onset_ticks"] + mine["duration_ticks"], side="left")
        for lo, hi, pitch in zip(first.tolist(), last.tolist(), mine["pitch"].tolist(), strict=True):
            if hi > lo:
                top[row, lo:hi] = np.maximum(top[row, lo:hi], pitch)
                bottom[row, lo:hi] = np.minimum(bottom[row, lo:hi], pitch)
    bottom[bottom == 128] = -1
    return Lines(top, bottom, parts)


def _per_100(count: int, beats: int) -> float | None:
    return 100.0 * count / beats if beats else None


def voice_leading(lines: Lines) -> dict[str, float | None]:
    line, n = lines.line, len(lines.order)
    if n < 2:
        return {"parallels": None, "crossings": None, "spacing": None, "unisons": None}
    sounding = line >= 0
    two = sounding.sum(axis=0) >= 2
    parallels = 0
    for a in range(n):
        for b in range(a + 1, n):
            x, y = line[a], line[b]
            both = sounding[a] & sounding[b]
            ok = both[1:] & both[:-1]
            dx, dy = np.diff(x), np.diff(y)
            before, after = (x[:-1] - y[:-1]) % 12, (x[1:] - y[1:]) % 12
            moving = (dx != 0) & (np.sign(dx) == np.sign(dy))
            parallels += int((ok & moving & (before == after) & np.isin(after, PERFECT)).sum())
    crossing_beats = np.zeros(line.shape[1], dtype=bool)
    for a in range(n - 1):
        both = (lines.bottom[a] >= 0) & (lines.top[a + 1] >= 0)
        crossing_beats |= both & (lines.bottom[a] < lines.top[a + 1])
    unison_beats = np.zeros(line.shape[1], dtype=bool)
    for a in range(n):
        for b in range(a + 1, n):
            unison_beats |= sounding[a] & sounding[b] & (line[a] == line[b])
    spacing = None
    if n >= 3:
        wide = np.zeros(line.shape[1], dtype=bool)
        for a in range(n - 2):  # adjacent pairs above the bass
            wide |= sounding[a] & sounding[a + 1] & (line[a] - line[a + 1] > 12)
        upper = (sounding[: n - 1].sum(axis=0) >= 2)
        spacing = float(wide[upper].mean()) if upper.any() else None
    beats_two = int(two.sum())
    return {"parallels": _per_100(parallels, beats_two), "crossings": _per_100(int(crossing_beats.sum()), beats_two),
            "spacing": spacing, "unisons": float(unison_beats[two].mean()) if beats_two else None}


def strong_points(view: View) -> np.ndarray:
    """Ticks of the strong beats: every bar's downbeat, and its middle in even meters of 4+ beats."""
    score, beat = view.score, view.beat_ticks
    starts = score.bar_starts()
    out = []
    for i, start in enumerate(starts.tolist()):
        end = int(starts[i + 1]) if i + 1 < len(starts) else start + score.time_signature_at(start).bar_ticks
        out.append(start)
        bar_beats = (end - start) // beat
        if bar_beats >= 4 and bar_beats % 2 == 0:
            out.append(start + bar_beats // 2 * beat)
    return np.array(out, dtype=np.int64)


def chord_share(view: View) -> float | None:
    notes = view.pitched
    if not len(notes):
        return None
    ends = notes["onset_ticks"] + notes["duration_ticks"]
    fits = total = 0
    for tick in strong_points(view).tolist():
        pcs = frozenset((notes["pitch"][(notes["onset_ticks"] <= tick) & (ends > tick)] % 12).tolist())
        if len(pcs) >= 2:
            total += 1
            fits += fits_chord(pcs)
    return fits / total if total else None


def harmony_measures(view: View, tonic: int, mode: str) -> dict[str, float | None]:
    chords = harmony.beat_chords(view)
    bars = max(view.score.bar_count, 1)
    named = {(int(r), q) for r, q in zip(chords.roots.tolist(), chords.qualities, strict=True) if q}
    cadences = harmony.cadences(view, chords, tonic, mode)
    kinds = [c.split("@")[0] for c in cadences]
    cadence_bars = {int(c.split("@")[1]) for c in cadences}
    last_bar = view.score.bar_number(view.score.bar_count - 1)
    phrase_ends = list(range(PHRASE_BARS, last_bar + 1, PHRASE_BARS))
    return {
        "chord_share": chord_share(view),
        "harmonic_rhythm": len(harmony.changes(chords)) / bars,
        "chord_vocabulary": float(len(named)),
        "seventh_share": harmony.vocabulary(chords)[2],
        "dissonance": harmony.dissonance(view),
        "phrase_arrivals": (sum(b in cadence_bars for b in phrase_ends) / len(phrase_ends)) if phrase_ends else None,
        "cadences_per_phrase": len(cadences) * PHRASE_BARS / bars,
        "authentic_share": (sum(k in ("authentic", "plagal") for k in kinds) / len(kinds)) if kinds else None,
    }


def melody(view: View) -> dict[str, float | None]:
    top = view.top_voice
    if len(top) < 2:
        return {"step_share": None, "mean_interval": None, "melody_range": None, "melody_pitch": None}
    moves = np.diff(top["pitch"].astype(int))
    real = moves[moves != 0]
    return {"step_share": float((np.abs(real) <= 2).mean()) if len(real) else None,
            "mean_interval": float(np.abs(moves).mean()),
            "melody_range": float(top["pitch"].max() - top["pitch"].min()),
            "melody_pitch": float(top["pitch"].mean())}


def texture(view: View, lines: Lines) -> dict[str, float | None]:
    score = view.score
    starts = score.bar_starts()
    bars = len(starts)
    notes = view.pitched
    pitched_parts = [i for i, p in enumerate(score.parts) if not p.is_drum]
    if not len(notes) or not bars or not pitched_parts:
        empty: dict[str, float | None] = {name: None for name in (*ENSEMBLE_TEXTURE, "bass_pitch")}
        return empty
    playing_pairs = rests = onset_total = legato = onset_count = repeats = 0
    silent = 0
    for part in pitched_parts:
        mine = notes[notes["part"] == part]
        if not len(mine):
            silent += bars
            continue
        onsets, first = np.unique(mine["onset_ticks"], return_index=True)
        ends = np.maximum.reduceat(mine["onset_ticks"] + mine["duration_ticks"], first)
        reach = np.maximum.accumulate(ends)  # how far the part has sounded by each onset
        gaps = onsets[1:] - reach[:-1]
        onset_count += len(onsets) - 1
        repeats += int((np.diff(np.maximum.reduceat(mine["pitch"], first)) == 0).sum())
        legato += int((gaps <= LEGATO_TOLERANCE).sum())
        bar_of_onset = np.searchsorted(starts, onsets, side="right") - 1
        # a bar is played when a note starts in it or one sounds into it
        played = np.zeros(bars, dtype=bool)
        bar_end_of = np.searchsorted(starts, np.maximum(ends - 1, onsets), side="right") - 1
        for lo, hi in zip(bar_of_onset.tolist(), bar_end_of.tolist(), strict=True):
            played[max(lo, 0):hi + 1] = True
        silent += int((~played).sum())
        playing_pairs += int(played.sum())
        rest_starts = reach[:-1][gaps > LEGATO_TOLERANCE]
        rest_bars = np.searchsorted(starts, rest_starts, side="right") - 1
        rests += int(played[np.clip(rest_bars, 0, bars - 1)].sum())
        onset_total += len(onsets)
    bass = lines.line[-1]
    return {"rests_per_part_bar": rests / playing_pairs if playing_pairs else None,
            "legato_share": legato / onset_count if onset_count else None,
            "silent_share": silent / (bars * len(pitched_parts)),
            "onsets_per_part_bar": onset_total / playing_pairs if playing_pairs else None,
            "repeated_notes": repeats / onset_count if onset_count else None,
            "bass_pitch": float(bass[bass >= 0].mean()) if (bass >= 0).any() else None}


def motif_recurrence(view: View) -> float | None:
    """See :data:`MEASURES`: figures are (intervals, gaps between onsets) of 4 consecutive top-line notes."""
    top = view.top_voice
    starts = view.score.bar_starts()
    first_phrase_bars = PHRASE_BARS + (1 if view.score.pickup_ticks else 0)
    if len(starts) <= first_phrase_bars or len(top) < MOTIF_NOTES + 1:
        return None
    phrase_end = int(starts[first_phrase_bars])
    pitch, onset = top["pitch"].astype(int), top["onset_ticks"]
    k = MOTIF_NOTES
    figures = [(tuple(np.diff(pitch[i:i + k]).tolist()), tuple(np.diff(onset[i:i + k]).tolist()))
               for i in range(len(top) - k + 1)]
    early = {f for f, i in zip(figures, range(len(figures)), strict=True) if onset[i + k - 1] < phrase_end}
    later_bars = set((np.searchsorted(starts, onset[onset >= phrase_end], side="right") - 1).tolist())
    if not later_bars or not early:
        return 0.0 if later_bars else None
    hit_bars = {int(np.searchsorted(starts, onset[i], side="right") - 1)
                for i, f in enumerate(figures) if onset[i] >= phrase_end and f in early}
    return len(hit_bars) / len(later_bars)


def ends_on_tonic(score: Score, tonic: int, mode: str) -> float:
    notes = View(score).pitched
    if not len(notes):
        return 0.0
    last = int(notes["onset_ticks"].max())
    sounding = notes[(notes["onset_ticks"] <= last) & (notes["onset_ticks"] + notes["duration_ticks"] > last)]
    pcs = set((sounding["pitch"] % 12).tolist())
    triad = {tonic, (tonic + 3) % 12, (tonic + 4) % 12, (tonic + 7) % 12}  # either third (a Picardy third too)
    return float(int(sounding["pitch"].min()) % 12 == tonic and pcs <= triad)


def key_agreement(view: View, tonic: int, mode: str) -> float:
    """See :data:`MEASURES`; an enharmonic signature agrees too (six flats for E♭ minor, six sharps for D♯
    minor: twelve sharps apart), where comparing the count alone marked E♭ minor's own signature wrong."""
    sig = view.score.key_signatures[0] if view.score.key_signatures else None
    return float(((sig.sharps if sig is not None else 0) - key_sharps(tonic, mode)) % 12 == 0)


def craft(score: Score, key: tuple[int, str] | None = None) -> dict[str, float | None]:
    """Every measure of :data:`MEASURES` for one score. ``key`` (tonic pitch class, mode): the key the piece is
    judged in (a requested key); None: the key listen hears."""
    view = View(score)
    if key is None:
        estimate = estimate_key(view)
        key = (estimate.tonic, estimate.mode)
    tonic, mode = key
    lines = beat_lines(view)
    out: dict[str, float | None] = {}
    out.update(voice_leading(lines))
    out.update(harmony_measures(view, tonic, mode))
    out.update(melody(view))
    out.update(texture(view, lines))
    out["motif_recurrence"] = motif_recurrence(view)
    out["self_similarity"] = self_similarity(view) if score.bar_count >= 8 else None
    out["key_agreement"] = key_agreement(view, tonic, mode)
    out["ends_on_tonic"] = ends_on_tonic(score, tonic, mode)
    return {name: (None if out[name] is None else round(float(out[name]), 4)) for name in MEASURES}  # type: ignore[arg-type]
