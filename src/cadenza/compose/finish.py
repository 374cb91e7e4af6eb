"""Finishing a sampled piece as a score: the sequence decoded and cut at its end, each part kept to its
ensemble's polyphony, lines written as lines (held to their next note), and the final chord held to the end.
These steps change how notes are *written* (their lengths; a part's notes beyond its polyphony are
dropped), never where the model started them."""

from __future__ import annotations

import numpy as np

from cadenza.compose.ensembles import Voice, doubling_parts
from cadenza.listen.features import beat_ticks_of
from cadenza.score.model import NOTE_DTYPE, TICKS_PER_QUARTER, Metadata, Part, Score
from cadenza.tokens.events import FINE, KIND, F, decode


def fit_voices(score: Score, voices: tuple[Voice, ...]) -> Score:
    """Name the parts after the ensemble and keep each part's polyphony: at one onset a part keeps its
    highest notes (its lowest, for the lowest pitched part), and in a single line (polyphony 1) a note is
    cut where the next one starts. Polyphony counts notes that start together: a held note under a new
    chord is allowed, as players do."""
    if not voices:
        return score
    pitched = [i for i, v in enumerate(voices) if not v.is_drum]
    lowest = min(pitched, key=lambda i: (voices[i].low, -i)) if len(pitched) > 1 else -1
    kept = []
    for index in range(len(score.parts)):
        notes = score.notes[score.notes["part"] == index]
        if not len(notes) or index >= len(voices):
            kept.append(notes)
            continue
        limit = voices[index].polyphony
        lowest_part = index == lowest
        chosen = []
        for onset in np.unique(notes["onset_ticks"]):
            chord = notes[notes["onset_ticks"] == onset]
            chord = chord[np.argsort(chord["pitch"])]
            chosen.append(chord[:limit] if lowest_part else chord[-limit:])
        part = np.concatenate(chosen).copy()
        if limit == 1 and len(part) > 1:  # a single line: each note ends where the next begins
            ends = np.minimum(part["onset_ticks"] + part["duration_ticks"], np.append(part["onset_ticks"][1:], 1 << 62))
            part["duration_ticks"] = np.maximum(ends - part["onset_ticks"], 1)
        kept.append(part)
    notes = np.concatenate(kept).astype(NOTE_DTYPE) if kept else np.zeros(0, dtype=NOTE_DTYPE)
    parts = [Part(voices[i].name, voices[i].program, voices[i].is_drum) if i < len(voices) else p
             for i, p in enumerate(score.parts)]
    return Score.build(parts=parts, notes=notes, time_signatures=score.time_signatures,
                       key_signatures=score.key_signatures, tempos=score.tempos, metadata=score.metadata,
                       pickup_ticks=score.pickup_ticks, length_ticks=score.length_ticks)


#: a line whose notes are followed by a rest more often than this plays them detached (real quartet parts rest
#: after 9% of their notes in the median, 16% at p90; a quartet of ours wrote every part as eighth, eighth rest):
#: its rests under a beat are filled as a voice's are, and the detachment left to the performer
CHOPPY_LINE_SHARE = 0.4


def _next_onsets(notes: np.ndarray, part: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``part``'s onsets, the rows of its notes that the part strikes again after, and each one's next onset
    (None where the part starts fewer than two instants)."""
    rows = np.flatnonzero(notes["part"] == part)
    onsets = np.unique(notes["onset_ticks"][rows])
    if len(onsets) < 2:
        return None
    following = np.searchsorted(onsets, notes["onset_ticks"][rows], side="right")
    has_next = following < len(onsets)
    return onsets, rows[has_next], onsets[following[has_next]]


def legato_lines(score: Score, voices: tuple[Voice, ...], rests_kept: frozenset[int] = frozenset()) -> Score:
    """Lines (parts that start at most two notes at once: voices, winds, strings, a melody) written as lines:
    each note (or double stop) lasts until the part's next onset — not past it, where it would sound under the
    next note as a second voice of the staff, and not short of it by less than the voice's shortest rest (a
    beat; half a beat for strings, a beat again in a line that rests after most of its notes: see
    :data:`CHOPPY_LINE_SHARE`), a rest inside a phrase that the style does not write (the model's
    note-rest-note alternation). Longer rests (breaths, phrase ends) stay, and a double stop's notes end
    together; chordal parts (keyboards) keep their held notes, and so do the parts of ``rests_kept`` (a dance's
    accompaniment: a march's off-beat chords, each followed by its rest, became quarters across the beat)."""
    lines = [i for i, v in enumerate(voices) if v.polyphony <= 2 and not v.is_drum and i not in rests_kept]
    if not lines or not len(score.notes):
        return score
    beat = beat_ticks_of(score.time_signatures[0])
    notes = score.notes.copy()
    for part in lines:
        found = _next_onsets(notes, part)
        if found is None:
            continue
        onsets, rows, nxt = found
        ends = notes["onset_ticks"][rows] + notes["duration_ticks"][rows]
        shortest = voices[part].shortest_rest_beats
        if (ends < nxt).mean() > CHOPPY_LINE_SHARE:  # note, rest, note, rest: detached playing, written as notes
            shortest = max(shortest, 1.0)
        # (a rest under an eighth note is always filled in a line that keeps rests of half a beat or more: in 3/8 half
        # a beat is a sixteenth, and an orchestra's strings ran sixteenth, sixteenth rest through their first bars;
        # one that keeps quarter-beat rests keeps sixteenth rests)
        floor = min(TICKS_PER_QUARTER // 2, int(TICKS_PER_QUARTER * shortest))
        join = (ends > nxt) | ((ends < nxt) & (nxt - ends < max(beat * shortest, floor)))
        starts = notes["onset_ticks"][rows]
        # in a compound meter a note filling its rest stops at the beat line after it (an off-beat eighth held into
        # the next beat is a syncopation the model did not write: a jig's "d r c" in 6/8 became quarters across
        # its beats; in simple meters a note tied over the beat is every style's, and a chorale writes no rest)
        line = next_beat_lines(score, starts, beat)
        compound = score.time_signatures[0].is_compound
        cut = join & (ends < nxt) & (nxt > line) & (ends <= line) & compound
        notes["duration_ticks"][rows[join]] = nxt[join] - starts[join]
        notes["duration_ticks"][rows[cut]] = line[cut] - starts[cut]
        mine = np.flatnonzero(notes["part"] == part)  # a double stop's notes end together
        group = np.searchsorted(onsets, notes["onset_ticks"][mine])
        longest = np.zeros(len(onsets), dtype=np.int64)
        np.maximum.at(longest, group, notes["duration_ticks"][mine])
        notes["duration_ticks"][mine] = longest[group]
    return score.replace(notes=notes)


def next_beat_lines(score: Score, onsets: np.ndarray, beat: int) -> np.ndarray:
    """The first beat line (ticks) after each onset: beats counted from its bar's start, or, in a pickup, back
    from the first full bar."""
    starts = score.bar_starts()
    bar = np.maximum(np.searchsorted(starts, onsets, side="right") - 1, 0)
    origin = starts[bar].astype(np.int64)
    if score.pickup_ticks:
        origin = np.where(bar == 0, score.pickup_ticks, origin)
    return origin + ((onsets - origin) // beat + 1) * beat


#: a keyboard hand's note that sounds on past the hand's next stroke by less than this many beats ends there: the
#: model's eighth-note chord under a sixteenth struck a sixteenth later, which the score writes as a second voice
#: of the staff with rests of its own (a page of ours had such layers in most bars); one held longer (a bass
#: under a figure) stays
KEYBOARD_HELD_BEATS = 1.0
#: a keyboard hand's rest shorter than this many beats before its next stroke is not written: the chord lasts
#: to it (the model's chord, sixteenth rest, chord: scattered rests that a pianist plays as detached notes)
KEYBOARD_SHORTEST_REST_BEATS = 0.5


def keyboard_hands(score: Score, voices: tuple[Voice, ...]) -> Score:
    """Keyboard hands (parts that strike three notes or more at once) written as a pianist reads them: a note
    still sounding at the hand's next stroke ends there unless it is held on for a beat or more
    (:data:`KEYBOARD_HELD_BEATS`), and a rest of less than half a beat before the next stroke
    (:data:`KEYBOARD_SHORTEST_REST_BEATS`) is the note held to it. Where the model struck notes is unchanged."""
    hands = [i for i, v in enumerate(voices) if v.polyphony > 2 and not v.is_drum]
    if not hands or not len(score.notes):
        return score
    beat = beat_ticks_of(score.time_signatures[0])
    notes = score.notes.copy()
    for part in hands:
        found = _next_onsets(notes, part)
        if found is None:
            continue
        _, rows, nxt = found
        beyond = notes["onset_ticks"][rows] + notes["duration_ticks"][rows] - nxt
        join = ((beyond > 0) & (beyond < beat * KEYBOARD_HELD_BEATS)) | (
            (beyond < 0) & (-beyond < beat * KEYBOARD_SHORTEST_REST_BEATS))
        notes["duration_ticks"][rows[join]] = nxt[join] - notes["onset_ticks"][rows[join]]
    return score.replace(notes=notes)


def doubled_lines(score: Score, voices: tuple[Voice, ...]) -> Score:
    """Parts that double another (:func:`cadenza.compose.ensembles.doubling_parts`: an orchestra's cellos over its
    basses) written from that part's notes at their interval, an octave nearer where that leaves the part's range;
    whatever the model wrote in them is replaced (the sampler leaves them silent)."""
    doubling = doubling_parts(voices)
    if not doubling or not len(score.notes):
        return score
    notes = score.notes[~np.isin(score.notes["part"], list(doubling))]
    added = []
    for part, (source, semitones) in doubling.items():
        copy = notes[notes["part"] == source].copy()
        pitch = copy["pitch"].astype(np.int64) + semitones
        low, high = voices[part].low, voices[part].high
        pitch = np.where(pitch > high, pitch - 12, np.where(pitch < low, pitch + 12, pitch))
        copy["pitch"] = np.clip(pitch, 0, 127)
        copy["part"] = part
        added.append(copy)
    return score.replace(notes=np.concatenate([notes, *added]))  # (Score.build sorts them)


def no_held_restrikes(score: Score) -> Score:
    """A note that sounds on where its part strikes the same pitch again ends there: a key or a string struck
    while it is held down cannot be (a piano's held bass under its figures met the figure's own note: 43 such
    notes in one joyful piece, its MusicXML in 14 voices and 99 ties), and two notes of one pitch overlapping
    on a MIDI channel end together in most players. The same note struck twice at one instant is kept once."""
    notes = score.notes
    if len(notes) < 2:
        return score
    order = np.lexsort((notes["onset_ticks"], notes["pitch"], notes["part"]))
    ranked = notes[order].copy()
    same = (ranked["part"][1:] == ranked["part"][:-1]) & (ranked["pitch"][1:] == ranked["pitch"][:-1])
    ends = ranked["onset_ticks"][:-1] + ranked["duration_ticks"][:-1]
    cut = same & (ends > ranked["onset_ticks"][1:])
    if not cut.any():
        return score
    ranked["duration_ticks"][:-1][cut] = ranked["onset_ticks"][1:][cut] - ranked["onset_ticks"][:-1][cut]
    kept = ranked["duration_ticks"] > 0  # (a twin struck at the same instant: one note)
    return score.replace(notes=ranked[kept])


def written_parts(score: Score, voices: tuple[Voice, ...], rests_kept: frozenset[int] = frozenset()) -> Score:
    """A decoded piece's parts as they are written: each part's polyphony kept (:func:`fit_voices`), lines
    (:func:`legato_lines`; but the parts of ``rests_kept``) and keyboard hands (:func:`keyboard_hands`) written as
    players read them, parts that double another written from it (:func:`doubled_lines`), and no key struck while
    it is held (:func:`no_held_restrikes`)."""
    lines = keyboard_hands(legato_lines(fit_voices(score, voices), voices, rests_kept), voices)
    return no_held_restrikes(doubled_lines(lines, voices))


def block_chords(score: Score, part: int | None) -> Score:
    """A lead sheet's chord part written as block chords: each chord held until the part's next one (the model
    struck it where the harmony changes; its lengths were its own, often a sixteenth of a running figure)."""
    if part is None or not len(score.notes):
        return score
    notes = score.notes.copy()
    rows = np.flatnonzero(notes["part"] == part)
    onsets = np.unique(notes["onset_ticks"][rows])
    if not len(onsets):
        return score
    following = np.searchsorted(onsets, notes["onset_ticks"][rows], side="right")
    ends = np.append(onsets, score.length_ticks)[following]
    notes["duration_ticks"][rows] = np.maximum(ends - notes["onset_ticks"][rows], 1)
    return score.replace(notes=notes)


def hold_final_chord(score: Score) -> Score:
    """Every part's last note in the last bar held to the end, so the piece closes on one chord (the final
    sonority, as every style writes it, not one part left alone after the others stopped); a part's notes that
    would ring over the bar line into its final chord end there."""
    notes = score.notes
    if not len(notes) or score.bar_count < 1:
        return score
    last_bar = int(score.bar_starts()[-1])
    notes = notes.copy()
    in_chord = np.unique(notes["part"][notes["onset_ticks"] == last_bar])
    ringing = np.isin(notes["part"], in_chord) & (notes["onset_ticks"] < last_bar) & (
        notes["onset_ticks"] + notes["duration_ticks"] > last_bar)
    notes["duration_ticks"][ringing] = last_bar - notes["onset_ticks"][ringing]  # the chord replaces them
    for part in np.unique(notes["part"]):
        rows = np.flatnonzero(notes["part"] == part)
        last_onset = notes["onset_ticks"][rows].max()
        if last_onset < last_bar:
            continue
        final = rows[notes["onset_ticks"][rows] == last_onset]
        notes["duration_ticks"][final] = score.length_ticks - last_onset
    return score.replace(notes=notes)


def written_length(steps: np.ndarray) -> int:
    """Ticks from the start to the end the sequence's eos marks (its bars, the last one as far as eos says)."""
    bar_start, bar_length = -1, 0
    for row in steps:
        kind = int(row[F["kind"]])
        if kind == KIND["bar"]:
            bar_start = 0 if bar_start < 0 else bar_start + bar_length
            bar_length = int(row[F["position"]]) * FINE + int(row[F["position_fine"]])
        elif kind == KIND["eos"]:
            return max(bar_start, 0) + int(row[F["position"]]) * FINE + int(row[F["position_fine"]])
    return max(bar_start, 0) + bar_length


def decode_piece(steps: np.ndarray, metadata: Metadata) -> Score:
    """The Score of a sampled sequence, notes that would ring past its end cut at the end."""
    score = decode(steps, metadata)
    end = written_length(steps)
    notes = score.notes.copy()
    notes = notes[notes["onset_ticks"] < end]
    notes["duration_ticks"] = np.minimum(notes["duration_ticks"], end - notes["onset_ticks"])
    return score.replace(notes=notes, length_ticks=end)
