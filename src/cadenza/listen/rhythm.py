"""Rhythm, dynamics and melodic motion: densities, syncopation, note-value entropy, rests, articulation,
velocity, steps and leaps, contour."""

from __future__ import annotations

import numpy as np

from cadenza.listen.features import View
from cadenza.score.model import TICKS_PER_QUARTER


def densities(view: View) -> tuple[float, float]:
    """(notes per beat, distinct onsets per beat), all parts."""
    notes = view.score.notes
    beats = view.length_beats
    return len(notes) / beats, len(np.unique(notes["onset_ticks"])) / beats


def syncopation(view: View) -> float:
    """Share of notes that start off the beat and sound across the next beat without a new attack there
    in the same part (the classic tie-over-the-beat syncopation)."""
    notes = view.score.notes
    if not len(notes):
        return 0.0
    beat = view.beat_ticks
    onsets = notes["onset_ticks"] + view.phase_ticks  # beats fall on multiples of ``beat``
    ends, parts = onsets + notes["duration_ticks"], notes["part"]
    off_beat = onsets % beat != 0
    next_beat = (onsets // beat + 1) * beat
    crosses = off_beat & (ends > next_beat)
    if not crosses.any():
        return 0.0
    attacks = set(zip(parts.tolist(), onsets.tolist(), strict=True))
    syncopated = sum(1 for p, nb in zip(parts[crosses].tolist(), next_beat[crosses].tolist(), strict=True)
                     if (p, nb) not in attacks)
    return syncopated / len(notes)


def note_value_entropy(view: View) -> float:
    """Shannon entropy (bits) of note durations rounded to a 32nd-note triplet grid."""
    notes = view.score.notes
    if not len(notes):
        return 0.0
    unit = TICKS_PER_QUARTER // 24
    values = np.maximum(np.rint(notes["duration_ticks"] / unit), 1).astype(np.int64)
    _, counts = np.unique(values, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def rest_ratio(view: View) -> float:
    """Share of beats in which nothing sounds (drums count as sound)."""
    score = view.score
    beat, phase = view.beat_ticks, view.phase_ticks
    beats = max(int(np.ceil((score.length_ticks + phase) / beat)), 1)
    covered = np.zeros(beats + 1, dtype=np.int32)
    notes = score.notes
    if len(notes):
        onsets = notes["onset_ticks"] + phase
        start = onsets // beat
        end = np.maximum((onsets + notes["duration_ticks"] - 1) // beat + 1, start + 1)
        np.add.at(covered, start, 1)
        np.add.at(covered, np.minimum(end, beats), -1)
    silent = np.cumsum(covered)[:beats] == 0
    return float(silent.mean())


def articulation(view: View) -> float:
    """Mean of sounding duration / time to the part's next onset, capped at 1 (1 = legato, 0.5 = staccato)."""
    notes = view.pitched
    ratios = []
    for part in np.unique(notes["part"]):
        mine = notes[notes["part"] == part]
        onsets = np.unique(mine["onset_ticks"])
        if len(onsets) < 2:
            continue
        nxt = np.searchsorted(onsets, mine["onset_ticks"], side="right")
        has_next = nxt < len(onsets)
        ioi = onsets[nxt[has_next]] - mine["onset_ticks"][has_next]
        ratios.append(np.minimum(mine["duration_ticks"][has_next] / ioi, 1.0))
    return float(np.concatenate(ratios).mean()) if ratios else 1.0


def velocity_stats(view: View) -> tuple[float, float]:
    vel = view.score.notes["velocity"].astype(float)
    return (float(vel.mean()), float(vel.std())) if len(vel) else (0.0, 0.0)


def melodic_motion(view: View) -> tuple[float, float]:
    """(step ratio, leap ratio) of the top voice's intervals; repeated notes are left out."""
    pitches = view.top_voice["pitch"].astype(int)
    intervals = np.abs(np.diff(pitches))
    moving = intervals[intervals > 0]
    if not len(moving):
        return 0.0, 0.0
    return float((moving <= 2).mean()), float((moving > 4).mean())


def contour(view: View, margin_semitones: float = 1.5) -> str:
    """ascending, descending, arch, valley or level: mean pitch of the top voice in thirds of its length."""
    top = view.top_voice
    if len(top) < 3:
        return "level"
    thirds = np.array_split(top["pitch"].astype(float), 3)
    a, b, c = (float(t.mean()) for t in thirds)
    if b - max(a, c) > margin_semitones:
        return "arch"
    if min(a, c) - b > margin_semitones:
        return "valley"
    if c - a > margin_semitones:
        return "ascending"
    if a - c > margin_semitones:
        return "descending"
    return "level"



#: a chord under the tune, struck on a waltz's second and third beats: at least this many notes below the
#: highest sounding there (a quartet's second violin and viola, a left hand's two or three notes)
WALTZ_CHORD_NOTES = 2
#: the "pah" sits above the bar's bass: its lowest note at least this many semitones over the downbeat's lowest
WALTZ_BASS_GAP = 3


def waltz_share(view: View) -> float:
    """Share of the bars of a piece in three (3/4, 3/8, 3/2) that carry a waltz accompaniment: a bass note on
    the downbeat, then a chord of :data:`WALTZ_CHORD_NOTES` notes or more under the tune on the second beat
    and again on the third, the bass not striking again (its lowest note :data:`WALTZ_BASS_GAP` semitones or
    more above the downbeat's bass). The last bar (the final chord) does not count; 0.0 in any other meter.
    Real waltzes (Joplin's, Grieg's, Debussy's "La plus que lente") against other pieces in three (Chopin's
    mazurkas, sonata movements, quartet movements, Lieder): ``benchmarks/results/listen_waltz.json``."""
    return _accompaniment_share(view, 3, ((0, "bass"), (1, "chord"), (2, "chord")))


def march_share(view: View) -> float:
    """Share of the bars of a piece in two (2/4, 2/2) that carry a march's "oom-pah": a bass note on each beat (the
    second within a fifth above the first, or below it) and a chord under the tune on each off-beat between, as
    :func:`waltz_share` hears a waltz's (a ragtime's left hand is one); 0.0 in any other meter."""
    return _accompaniment_share(view, 2, ((0, "bass"), (0.5, "chord"), (1, "bass"), (1.5, "chord")))


#: a march's second bass note lies at most this many semitones above the first (a fifth: root, then fifth)
MARCH_BASS_RISE = 7


def _accompaniment_share(view: View, beats: int, slots: tuple[tuple[float, str], ...]) -> float:
    """Share of the bars of a piece of ``beats`` beats a bar whose ``slots`` (beat, "bass" | "chord") are struck so
    (see :func:`waltz_share`); the last bar does not count."""
    sig, notes = view.main_signature, view.pitched
    if sig.numerator != beats or not len(notes):
        return 0.0
    bar = sig.bar_ticks
    beat = bar // beats
    onsets = notes["onset_ticks"].astype(np.int64) - view.score.pickup_ticks
    ends, pitches = onsets + notes["duration_ticks"], notes["pitch"].astype(np.int64)
    index, at = np.floor_divide(onsets, bar), np.mod(onsets, bar)
    bars = np.unique(index[onsets >= 0])[:-1]
    if not len(bars):
        return 0.0
    matching = 0
    for b in bars.tolist():
        in_bar = index == b
        first = in_bar & (at == 0)
        if not first.any():
            continue
        bass = low = int(pitches[first].min())
        ok = True
        for offset, role in slots[1:]:
            tick = int(offset * beat)
            struck = in_bar & (at == tick)
            if role == "bass":
                ok = struck.any() and int(pitches[struck].min()) <= low + MARCH_BASS_RISE
                bass = int(pitches[struck].min()) if ok else bass
            else:
                ok = _after_chord(pitches, onsets, ends, struck, b * bar + tick, bass)
            if not ok:
                break
        matching += bool(ok)
    return matching / len(bars)


def _after_chord(pitches: np.ndarray, onsets: np.ndarray, ends: np.ndarray, struck: np.ndarray, tick: int,
                 bass: int) -> bool:
    """Whether the notes ``struck`` at ``tick`` are an accompaniment's chord over ``bass``: :data:`WALTZ_CHORD_NOTES`
    notes or more under the highest sounding there, the lowest :data:`WALTZ_BASS_GAP` semitones or more above
    the bass."""
    if not struck.any() or int(pitches[struck].min()) < bass + WALTZ_BASS_GAP:
        return False
    top = int(pitches[(onsets <= tick) & (ends > tick)].max())
    return int(np.count_nonzero(pitches[struck] < top)) >= WALTZ_CHORD_NOTES
