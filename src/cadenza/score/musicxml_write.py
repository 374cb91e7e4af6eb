"""Score -> MusicXML through music21, with the measures built here so that notation is faithful:
bars follow the Score's meter map (a pickup becomes a short first measure), notes that cross a bar line
are split and tied, overlapping notes in one part go to separate voices, and gaps are filled with rests.
music21's exporter then splits durations that need several note values into tied notes and adds beams.
Parts are named, and carry the instrument that their General MIDI program names; a keyboard's two hands (two
neighbouring parts of one keyboard instrument) become one part on a grand staff, as players read them.
"""

from __future__ import annotations

import logging
import re
import warnings
from fractions import Fraction
from typing import Any

import numpy as np

from cadenza.errors import OutputError
from cadenza.score.chord_symbols import ChordSymbol, chord_symbols
from cadenza.score.instruments import KEYBOARD_PROGRAMS, gm_program_name
from cadenza.score.model import TICKS_PER_QUARTER, Score

log = logging.getLogger(__name__)


#: parts written without the key signature: a drum kit's staff, and timpani (tuned to their notes, written with
#: accidentals, as orchestral scores write them)
NO_KEY_SIGNATURE_PROGRAMS = (47,)


def _ql(ticks: int) -> Fraction:
    return Fraction(ticks, TICKS_PER_QUARTER)


def _instrument(program: int, is_drum: bool, name: str) -> Any:
    from music21 import instrument

    inst: instrument.Instrument
    if is_drum:
        inst = instrument.UnpitchedPercussion()
    else:
        try:
            inst = instrument.instrumentFromMidiProgram(program)
        except Exception:  # noqa: BLE001 - music21 raises a generic error for unmapped programs
            inst = instrument.Instrument()
            inst.instrumentName = gm_program_name(program)
        inst.midiProgram = program
    inst.partName = name
    inst.partAbbreviation = None
    return inst


#: the usual abbreviations of instruments' and voices' names in scores (Violin, Viola and Violoncello are not
#: all "Vio.")
ABBREVIATIONS = {
    "violin": "Vln.", "viola": "Vla.", "violoncello": "Vc.", "cello": "Vc.", "contrabass": "Cb.", "flute": "Fl.",
    "piccolo": "Picc.", "oboe": "Ob.", "clarinet": "Cl.", "bassoon": "Bsn.", "horn": "Hn.", "trumpet": "Tpt.",
    "trombone": "Tbn.", "tuba": "Tba.", "timpani": "Timp.", "piano": "Pno.", "harpsichord": "Hpd.", "organ": "Org.",
    "harp": "Hp.", "guitar": "Gtr.", "soprano": "S.", "alto": "A.", "tenor": "T.", "bass": "B.", "voice": "V.",
}


def _abbreviation(name: str) -> str:
    """'Violin II' -> 'Vln. II', 'Violoncello' -> 'Vc.', 'Soprano' -> 'S.'; other names' first word cut to
    three letters ('Cantus' -> 'Can.'), short names as they are."""
    words = name.split()
    if not words:
        return name
    known = ABBREVIATIONS.get(words[0].lower())
    if known:
        return " ".join([known, *words[1:]])
    if len(name) <= 5:
        return name
    return " ".join([words[0][:3] + "." if len(words[0]) > 4 else words[0], *words[1:]])


# cello, contrabass, bassoon, tuba, trombone, bass guitars and synth basses
_BASS_CLEF_PROGRAMS = frozenset({42, 43, 70, 57, 58, *range(32, 40)})
# the upper voices of a choir, written in treble clef whatever they sing (a low alto line read in bass clef
# with ledger lines above it, a chorale's alto part on a bass staff), and a lead sheet's tune (a folk tune in 12/8
# that kept to G3-D4 was written in bass clef, its chord symbols over a bass staff)
_TREBLE_VOICES = ("soprano", "alto", "mezzo", "contralto", "treble", "melody", "tune")
# violin, trumpets, horns, reeds and pipes (not the bassoon): written in treble clef whatever they play
_TREBLE_CLEF_PROGRAMS = frozenset({40, 56, 59, 60, *range(64, 70), *range(71, 80)})


#: a grand staff's upper staff keeps the treble clef and its lower the bass unless the other clef needs fewer
#: than this share of their ledger lines (a left hand around middle C still reads in bass clef, as pianists expect)
GRAND_STAFF_CLEF_SHARE = 0.5


def keyboard_staves(score: Score) -> dict[int, int]:
    """The grand staves of ``score``: upper part's index -> lower part's, for neighbouring pitched parts of one
    keyboard program and one name (a hand's "(right hand)"/"(left hand)" aside), taken in pairs from the top."""
    staves: dict[int, int] = {}
    index = 0
    while index + 1 < len(score.parts):
        upper, lower = score.parts[index], score.parts[index + 1]
        if (upper.program == lower.program and upper.program in KEYBOARD_PROGRAMS
                and not upper.is_drum and not lower.is_drum
                and _instrument_name(upper.name) == _instrument_name(lower.name)):
            staves[index] = index + 1
            index += 2
        else:
            index += 1
    return staves


def _instrument_name(part_name: str) -> str:
    """'Piano (left hand)' -> 'Piano'."""
    return part_name.split("(", 1)[0].strip()


def _clef(part_notes: np.ndarray, program: int, is_drum: bool, name: str, staff: str | None = None) -> Any:
    """A readable clef for a part: percussion, alto for violas, treble-8vb for tenor voices, treble for the upper
    voices (soprano, alto), bass for the low
    strings, winds and brass, treble for violins and the other winds and brass, else (keyboards, voices,
    guitars) treble or bass, whichever needs fewer ledger lines (a piano's left hand from F2 to F4 reads in
    bass). ``staff`` "upper" or "lower" for a grand staff's: the clef of its place unless the other needs far
    fewer ledger lines (:data:`GRAND_STAFF_CLEF_SHARE`)."""
    from music21 import clef

    if is_drum:
        return clef.PercussionClef()
    lowered = name.lower()
    if program == 41 or (program == 0 and ("viola" in lowered or lowered.startswith("vla"))):
        return clef.AltoClef()  # (a viola named but given no instrument: music21's Haydn quartets)
    if not len(part_notes):
        return clef.BassClef() if staff == "lower" else clef.TrebleClef()
    median = float(np.median(part_notes["pitch"]))
    if "tenor" in name.lower() and median >= 52:
        return clef.Treble8vbClef()
    if any(word in name.lower() for word in _TREBLE_VOICES):
        return clef.TrebleClef()
    if program in _BASS_CLEF_PROGRAMS or "bass" in lowered or "cello" in lowered:  # in bass clef unless very high
        return clef.TrebleClef() if median >= 67 else clef.BassClef()
    if program in _TREBLE_CLEF_PROGRAMS or (program == 0 and "violin" in lowered):  # (a violin named, unsounded)
        return clef.TrebleClef()
    if staff:
        return clef.TrebleClef() if _grand_staff_sign(part_notes, staff) == "G" else clef.BassClef()
    return clef.TrebleClef() if _ledger_lines(part_notes, *TREBLE_STAFF) <= _ledger_lines(part_notes, *BASS_STAFF) \
        else clef.BassClef()


def _grand_staff_sign(notes: np.ndarray, staff: str) -> str:
    """The clef sign ("G" or "F") a grand staff's ``staff`` ("upper" or "lower") writes ``notes`` in: its own
    (treble above, bass below) unless the other needs under :data:`GRAND_STAFF_CLEF_SHARE` of its ledger lines."""
    treble, bass = _ledger_lines(notes, *TREBLE_STAFF), _ledger_lines(notes, *BASS_STAFF)
    if staff == "lower":
        return "G" if treble < GRAND_STAFF_CLEF_SHARE * bass else "F"
    return "F" if bass < GRAND_STAFF_CLEF_SHARE * treble else "G"


#: ledger lines a stroke (a note, or a chord struck together) of a bar needs on average in its staff's own clef
#: before that one bar, alone, moves to the other clef (a left hand's chords around middle C sent a page's lower
#: staff to treble and back in bars 1-5)
LEDGER_LINES_FOR_ONE_BAR = 2.5


def _bar_notes(part_notes: np.ndarray, start_ticks: int, end_ticks: int) -> np.ndarray:
    return part_notes[(part_notes["onset_ticks"] >= start_ticks) & (part_notes["onset_ticks"] < end_ticks)]


def _strokes(notes: np.ndarray) -> int:
    return len(np.unique(notes["onset_ticks"]))


def _clef_change(part_notes: np.ndarray, start_ticks: int, end_ticks: int, current: Any, staff: str,
                 next_bar: tuple[int, int] | None = None) -> Any:
    """The clef a grand staff's bar from ``start_ticks`` to ``end_ticks`` changes to from ``current``, None where
    it stays: the staff's own clef (treble for the ``staff`` "upper", bass for the "lower"), or the other where
    the bar's notes (two or more) need under :data:`GRAND_STAFF_CLEF_SHARE` of the ledger lines in it that they
    need in its own, as an engraver moves a left hand that climbs into the treble staff and brings it back. It
    leaves its own clef for a passage (``next_bar``, its ticks, wants the other clef too), or for one bar whose
    notes need :data:`LEDGER_LINES_FOR_ONE_BAR` ledger lines a note in it, not to flip clefs bar by bar."""
    from music21 import clef

    bar_notes = _bar_notes(part_notes, start_ticks, end_ticks)
    if len(bar_notes) < 2 or current.sign not in ("G", "F"):
        return None
    wanted = _grand_staff_sign(bar_notes, staff)
    if wanted == current.sign:
        return None
    if wanted != ("G" if staff == "upper" else "F"):  # leaving the staff's own clef
        own = TREBLE_STAFF if staff == "upper" else BASS_STAFF
        following = _bar_notes(part_notes, *next_bar) if next_bar is not None else bar_notes[:0]
        passage = len(following) >= 2 and _grand_staff_sign(following, staff) == wanted
        if not passage and _ledger_lines(bar_notes, *own) < LEDGER_LINES_FOR_ONE_BAR * _strokes(bar_notes):
            return None
    return clef.TrebleClef() if wanted == "G" else clef.BassClef()


#: a passage in treble clef that would need two ledger lines and more is written an octave lower under an 8va
#: line (the pitches stay as they sound: MusicXML's octave shift changes only how they are shown): strokes (a
#: chord by its lowest note) at F5 or above in a row, from the first to the last at C6 or above, with at least
#: :data:`OTTAVA_MIN_STROKES` of them at C6 or above
OTTAVA_FROM_PITCH = 84
OTTAVA_STAYS_FROM_PITCH = 77
OTTAVA_MIN_STROKES = 4


def _ottavas(part: Any) -> list[Any]:
    """8va lines for ``part``'s high passages (see :data:`OTTAVA_FROM_PITCH`), as music21 spanners."""
    from music21 import spanner

    strokes = sorted(((float(element.getOffsetInHierarchy(part)), element) for element in part.recurse().notes),
                     key=lambda pair: pair[0])
    lines: list[Any] = []
    run: list[tuple[Any, int]] = []
    for _, element in [*strokes, (None, None)]:
        lowest = min(p.midi for p in element.pitches) if element is not None else -1
        if lowest >= OTTAVA_STAYS_FROM_PITCH:
            run.append((element, lowest))
            continue
        high = [i for i, (_, pitch) in enumerate(run) if pitch >= OTTAVA_FROM_PITCH]
        if len(high) >= OTTAVA_MIN_STROKES:
            lines.append(spanner.Ottava([e for e, _ in run[high[0]:high[-1] + 1]], type="8va", transposing=False))
        run = []
    return lines


TREBLE_STAFF = (64, 77)  # the pitches on the outer lines of a treble staff (E4, F5) and of a bass staff (G2, A3)
BASS_STAFF = (43, 57)


def _ledger_lines(notes: np.ndarray, low: int, high: int) -> float:
    """About how many ledger lines ``notes`` need on a staff whose outer lines are ``low`` and ``high`` (seven
    diatonic steps to twelve semitones, two steps a line): per stroke (the notes struck together), those its
    highest note needs above the staff and its lowest below, as a chord's notes share their ledger lines (a
    waltz's left-hand chord C4 F4 G4 needs three lines in bass clef, not six)."""
    if not len(notes):
        return 0.0
    onsets, stroke = np.unique(notes["onset_ticks"], return_inverse=True)
    pitches = notes["pitch"].astype(int)
    above, below = np.zeros(len(onsets), dtype=int), np.zeros(len(onsets), dtype=int)
    np.maximum.at(above, stroke, np.maximum(pitches - high, 0))
    np.maximum.at(below, stroke, np.maximum(low - pitches, 0))
    return float((above + below).sum() * 7 / 24)


_NATURAL_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}  # position on the line of fifths


def _spelling_table(sharps: int) -> dict[int, tuple[str, int]]:
    """pitch class -> (letter, alteration) for a key signature of ``sharps``.

    Each spelling sits on the line of fifths (C=0, G=1, F♯=6, B♭=-2…); the key's seven diatonic notes span
    ``sharps-1 .. sharps+5``. The spelling nearest ``sharps+3`` wins, ties going sharpwards: diatonic notes
    keep the signature's spelling, and chromatic ones lean to raised notes, as tonal music's leading tones do
    (B♮ in C minor, E♯ in F♯ minor, but B♭ in C major)."""
    center = sharps + 3
    table = {}
    for pc in range(12):
        candidates = [(letter, alter) for letter in _NATURAL_PC for alter in (-2, -1, 0, 1, 2)
                      if (_NATURAL_PC[letter] + alter) % 12 == pc]
        table[pc] = min(candidates, key=lambda c: (abs(_FIFTHS[c[0]] + 7 * c[1] - center),
                                                   -(_FIFTHS[c[0]] + 7 * c[1])))
    return table


_TABLES = {k: _spelling_table(k) for k in range(-7, 8)}
_ACCIDENTAL_TEXT = {-2: "--", -1: "-", 0: "", 1: "#", 2: "##"}  # an alteration as music21 writes it in a name


def _pitch(midi: int, sharps: int) -> Any:
    """A music21 Pitch for a MIDI number, spelled for the key signature in force."""
    from music21 import pitch

    letter, alt = _TABLES[sharps][midi % 12]
    octave = (midi - (_NATURAL_PC[letter] + alt)) // 12 - 1
    p = pitch.Pitch(letter + _ACCIDENTAL_TEXT[alt] + str(octave))
    return p


def _root_spelling(pc: int, sharps: int, kind: str) -> tuple[str, int]:
    """(letter, alteration) of a chord symbol's root: the key's own spelling for its seven notes; a chromatic root
    flat (B♭ and A♭ in C major: borrowed chords, the Neapolitan), but sharp for a diminished chord (F♯dim7 in C
    major leads to G)."""
    letter, alter = _TABLES[sharps][pc]
    if sharps - 1 <= _FIFTHS[letter] + 7 * alter <= sharps + 5:
        return letter, alter
    raised = kind.startswith("diminished") or kind == "half-diminished"
    candidates = [(name, shift) for name in _NATURAL_PC for shift in ((1,) if raised else (-1,))
                  if (_NATURAL_PC[name] + shift) % 12 == pc]
    return candidates[0] if candidates else (letter, alter)


#: semitones above a chord's root -> letters above the root's letter, for the chord tone a slash chord's bass is
_TONE_STEPS = {2: 1, 3: 2, 4: 2, 5: 3, 6: 4, 7: 4, 8: 4, 9: 6, 10: 6, 11: 6}


def _bass_spelling(root: tuple[str, int], interval: int, fallback: tuple[str, int]) -> tuple[str, int]:
    """(letter, alteration) of a slash chord's bass ``interval`` semitones above its spelled ``root``: the chord
    tone's own letter (A/C♯ in D minor, not A/D♭ as the key's flat would spell it), else ``fallback``."""
    letters = "CDEFGAB"
    if interval not in _TONE_STEPS:
        return fallback
    letter = letters[(letters.index(root[0]) + _TONE_STEPS[interval]) % 7]
    alter = (_NATURAL_PC[root[0]] + root[1] + interval - _NATURAL_PC[letter] + 6) % 12 - 6
    return (letter, alter) if abs(alter) <= 1 else fallback


def _chord_symbol(symbol: ChordSymbol, sharps: int) -> Any:
    """A music21 ChordSymbol (written as MusicXML ``<harmony>``) for ``symbol`` in a key of ``sharps``."""
    from music21 import harmony, pitch

    def written(spelled: tuple[str, int]) -> Any:
        return pitch.Pitch(spelled[0] + _ACCIDENTAL_TEXT[spelled[1]])

    root = _root_spelling(symbol.root_pc, sharps, symbol.kind)
    bass = _bass_spelling(root, (symbol.bass_pc - symbol.root_pc) % 12,
                          _root_spelling(symbol.bass_pc, sharps, symbol.kind))
    made = harmony.ChordSymbol(root=written(root), kind=symbol.kind,
                               bass=written(bass) if symbol.bass_pc != symbol.root_pc else None)
    if symbol.suffix:
        made.chordKindStr = symbol.suffix  # printed as a player writes it (Fmaj7, not FMaj7)
    return made


def _voices(segments: list[tuple[int, int, int, int, bool, bool]]) -> list[list[tuple[Any, ...]]]:
    """Group (onset, duration, pitch, velocity, tie_in, tie_out) segments into chords, and chords into voices
    in which nothing overlaps."""
    chords: dict[tuple[int, int, bool, bool], list[tuple[int, int]]] = {}
    for onset, dur, pitch, vel, tie_in, tie_out in segments:
        chords.setdefault((onset, dur, tie_in, tie_out), []).append((pitch, vel))
    voices: list[list[tuple[Any, ...]]] = []
    ends: list[int] = []
    for (onset, dur, tie_in, tie_out), pitches in sorted(chords.items()):
        for i, end in enumerate(ends):
            if end <= onset:
                voices[i].append((onset, dur, tie_in, tie_out, pitches))
                ends[i] = onset + dur
                break
        else:
            voices.append([(onset, dur, tie_in, tie_out, pitches)])
            ends.append(onset + dur)
    return voices


def _next_beat_line(start: int, beat: int, phase: int) -> int:
    """The first beat line after ``start`` (ticks into a bar whose beats are shifted by ``phase``)."""
    return ((start + phase) // beat + 1) * beat - phase


def _rest_spans(start: int, end: int, beat: int, phase: int, paired: bool = False) -> list[tuple[int, int]]:
    """The rests that fill ``start``..``end`` (ticks into a bar) as a score groups them: one that starts off the
    beat ends at the next beat line (a dotted-quarter rest from an off-beat eighth hid the beat); from there a rest
    a beat (``paired``, in a bar of an even number of beats: two beats from an odd beat, a half rest on 1 or 3 of
    4/4), then what is left of a beat (a double-dotted quarter rest in 6/8 and a double-dotted half in 4/4 had hid
    the beats they crossed). ``phase``: ticks the bar's beats are shifted by (a pickup's beats count back from its
    end)."""
    spans = []
    line = _next_beat_line(start, beat, phase)
    if (start + phase) % beat:
        if line >= end:
            return [(start, end)]
        spans.append((start, line))
        start = line
    whole_end = start + (end - start) // beat * beat
    while start < whole_end:
        two = paired and ((start + phase) // beat) % 2 == 0 and start + 2 * beat <= whole_end
        spans.append((start, start + (2 if two else 1) * beat))
        start = spans[-1][1]
    if start < end:
        spans.append((start, end))
    return spans


#: the lengths (ticks) one written value with at most two dots has: a whole note down to a 64th, plain, dotted
#: (3/2 of it) or double-dotted (7/4)
_DOTTED_AT_MOST_TWICE = frozenset(value * num // den for value in (4 * TICKS_PER_QUARTER >> k for k in range(7))
                                  for num, den in ((1, 1), (3, 2), (7, 4)) if value * num % den == 0)


def _note_spans(start: int, end: int, beat: int, phase: int, compound: bool) -> list[tuple[int, int]]:
    """The written pieces (tied) of a note sounding ``start``..``end`` (ticks into a bar), as a score groups them:
    one that starts off the beat and sounds past the next beat line is tied at that line, so the beat shows (a
    dotted eighth from a beat's second sixteenth, a quarter from a compound beat's third eighth); a simple
    meter's syncopation of one beat from the middle of a beat (eighth, quarter, eighth) is written whole. A
    piece from a beat that no value of two dots or fewer writes is tied at its last beat line (a cello's note
    of fifteen sixteenths in 4/4 came out as a triple-dotted half: now a dotted half tied to a dotted eighth).
    ``phase``: as :func:`_rest_spans`; ``compound``: the beat is a dotted note."""
    offset = (start + phase) % beat
    line = _next_beat_line(start, beat, phase)
    if not offset or end <= line:
        return _at_last_beat_line(start, end, beat) if not offset else [(start, end)]
    if not compound and beat % 2 == 0 and offset == beat // 2 and end - start == beat:
        return [(start, end)]
    return [(start, line), *_at_last_beat_line(line, end, beat)]


def _at_last_beat_line(start: int, end: int, beat: int) -> list[tuple[int, int]]:
    """A note from a beat line to ``end`` (ticks), tied at its last beat line where one value with at most two
    dots cannot write it whole."""
    whole_beats = start + (end - start) // beat * beat
    if end - start in _DOTTED_AT_MOST_TWICE or whole_beats in (start, end):
        return [(start, end)]
    return [(start, whole_beats), (whole_beats, end)]


def _split_at_beats(segments: list[tuple[int, int, int, int, bool, bool]], bar_start: int, beat: int, phase: int,
                    compound: bool) -> list[tuple[int, int, int, int, bool, bool]]:
    """(onset, duration, pitch, velocity, tie_in, tie_out) segments of a bar, each tied at a beat line where
    :func:`_note_spans` says."""
    out = []
    for onset, dur, pitch, velocity, tie_in, tie_out in segments:
        spans = _note_spans(onset - bar_start, onset - bar_start + dur, beat, phase, compound)
        for k, (lo, hi) in enumerate(spans):
            out.append((bar_start + lo, hi - lo, pitch, velocity, tie_in or k > 0,
                        tie_out or k < len(spans) - 1))
    return out


def _fill_voice(container: Any, events: list[tuple[Any, ...]], bar_start: int, bar_len: int, sharps: int,
                beat: int = TICKS_PER_QUARTER, phase: int = 0, hidden_rests: bool = False) -> None:
    """Write a voice's notes and chords into ``container`` (a measure or a voice), its gaps as rests grouped at the
    beat (:func:`_rest_spans`); ``hidden_rests``: the rests are not printed (a second voice's: notes of one staff
    that overlap in time are written in voices, and the second's rests floated above and below the staff, eighth
    and sixteenth rests in two layers around a held note)."""
    from music21 import chord, note, tie

    beats = (bar_len + phase) // beat  # a bar of an even number of beats writes a rest of two from an odd beat
    paired = beats >= 4 and beats % 2 == 0 and not phase and bar_len % beat == 0

    def rest(start: int, end: int) -> None:
        made = note.Rest(quarterLength=_ql(end - start))
        if hidden_rests:
            made.style.hideObjectOnPrint = True
        container.insert(_ql(start), made)

    pos = 0
    for onset, dur, tie_in, tie_out, pitches in events:
        rel = onset - bar_start
        if rel > pos:
            for rest_on, rest_end in _rest_spans(pos, rel, beat, phase, paired):
                rest(rest_on, rest_end)
        if len(pitches) == 1:
            el: Any = note.Note(_pitch(pitches[0][0], sharps), quarterLength=_ql(dur))
        else:
            el = chord.Chord([_pitch(p, sharps) for p, _ in sorted(pitches)], quarterLength=_ql(dur))
        el.volume.velocity = max(v for _, v in pitches)
        if tie_in or tie_out:
            el.tie = tie.Tie("continue" if tie_in and tie_out else ("stop" if tie_in else "start"))
        container.insert(_ql(rel), el)
        pos = rel + dur
    if pos < bar_len:
        for rest_on, rest_end in _rest_spans(pos, bar_len, beat, phase, paired) if pos else [(0, bar_len)]:
            rest(rest_on, rest_end)


_SCORE_EXTENSIONS = ("mid", "midi", "kar", "musicxml", "xml", "mxl", "abc", "krn", "json")


def _tempo_beat_quarters(score: Score, mark: Any) -> float:
    """The note a metronome mark counts, in quarters: the dotted quarter of a compound meter (6/8, 12/8 …) where
    its tempo in dotted quarters is a number of at most two decimals (46, not 66.67: it re-reads as written),
    else the quarter."""
    beat = score.time_signature_at(mark.onset_ticks).beat_ticks / TICKS_PER_QUARTER
    if beat != 1.5 or abs(round(mark.bpm / beat, 2) * beat - mark.bpm) > 1e-9:
        return 1.0
    return beat


def _display_title(score: Score) -> str:
    """The title, else the source's file name without its extension ('music21:bach/bwv66.6' -> 'bwv66.6')."""
    if score.metadata.title:
        return score.metadata.title
    name = score.metadata.source.removeprefix("music21:").rsplit("/", 1)[-1]
    stem, dot, extension = name.rpartition(".")
    return stem if dot and extension.lower().split("#")[0] in _SCORE_EXTENSIONS else name


def score_to_music21(score: Score) -> Any:
    """A music21 Score with measures, ready for MusicXML export."""
    from music21 import key, layout, metadata, meter, stream, tempo

    starts = score.bar_starts().tolist()
    ends = [*starts[1:], max(score.length_ticks, starts[-1] + 1)]
    # last bar: as long as its signature says
    last_sig = score.time_signature_at(starts[-1])
    if not (len(starts) == 1 and score.pickup_ticks):
        ends[-1] = starts[-1] + last_sig.bar_ticks
    out = stream.Score()
    out.atSoundingPitch = True  # our pitches sound as written here; readers transpose for the players
    out.metadata = metadata.Metadata()
    out.metadata.title = _display_title(score)
    out.metadata.composer = score.metadata.composer or ""
    notes = score.notes
    sig_at = {ts.onset_ticks: ts for ts in score.time_signatures}
    keys = list(score.key_signatures)
    symbols = chord_symbols(score)  # a lead sheet's, written above its tune (cadenza.score.chord_symbols)
    grand_upper = keyboard_staves(score)
    grand_lower = {lower: upper for upper, lower in grand_upper.items()}
    staves: dict[int, Any] = {}
    for index, part in enumerate(score.parts):
        staff = "upper" if index in grand_upper else "lower" if index in grand_lower else None
        m21_part = stream.PartStaff() if staff else stream.Part()
        m21_part.id = f"P{index + 1}"
        m21_part.partName = part.name or gm_program_name(part.program)
        m21_part.partAbbreviation = _abbreviation(m21_part.partName)
        m21_part.insert(0, _instrument(part.program, part.is_drum, m21_part.partName))
        mine = notes[notes["part"] == index]
        part_clef = _clef(mine, part.program, part.is_drum, m21_part.partName, staff)
        if staff:
            staves[index] = m21_part
        bar_clef = part_clef  # a grand staff's clef in force: it may change from bar to bar (_clef_change)
        note_ends = mine["onset_ticks"] + mine["duration_ticks"]
        for bar, (b0, b1) in enumerate(zip(starts, ends, strict=True)):
            measure = stream.Measure(number=bar if score.pickup_ticks else bar + 1)
            if bar == 0 and score.pickup_ticks:
                measure.paddingLeft = float(_ql(score.time_signatures[0].bar_ticks - score.pickup_ticks))
            elif b1 - b0 < score.time_signature_at(b0).bar_ticks and bar < len(starts) - 1:
                # a bar cut short by a meter change inside it: say so, or readers pad it to full length
                measure.paddingRight = float(_ql(score.time_signature_at(b0).bar_ticks - (b1 - b0)))
            if bar == 0:
                measure.insert(0, part_clef)
            elif staff:
                change = _clef_change(mine, b0, b1, bar_clef, staff,
                                      (starts[bar + 1], ends[bar + 1]) if bar + 1 < len(starts) else None)
                if change is not None:
                    measure.insert(0, change)
                    bar_clef = change
            sig = sig_at.get(b0)
            if sig is not None:
                measure.insert(0, meter.TimeSignature(f"{sig.numerator}/{sig.denominator}"))
            for ks in keys if not (part.is_drum or part.program in NO_KEY_SIGNATURE_PROGRAMS) else ():
                if b0 <= ks.onset_ticks < b1 or (bar == 0 and ks.onset_ticks == 0):
                    k = (key.KeySignature(ks.sharps) if ks.mode is None
                         else key.KeySignature(ks.sharps).asKey(ks.mode))
                    measure.insert(_ql(max(ks.onset_ticks - b0, 0)), k)
            if index == 0:
                for t in score.tempos:
                    if b0 <= t.onset_ticks < b1:
                        mark = tempo.MetronomeMark(number=round(t.bpm / beat, 2), referent=beat) \
                            if (beat := _tempo_beat_quarters(score, t)) != 1.0 \
                            else tempo.MetronomeMark(number=round(t.bpm, 2), referent=1.0)
                        measure.insert(_ql(t.onset_ticks - b0), mark)
            if index == 0:
                for symbol in symbols:
                    if b0 <= symbol.onset_ticks < b1:
                        in_force = score.key_signature_at(symbol.onset_ticks)
                        measure.insert(_ql(symbol.onset_ticks - b0),
                                       _chord_symbol(symbol, in_force.sharps if in_force else 0))
            sel = np.nonzero((mine["onset_ticks"] < b1) & (note_ends > b0))[0]
            segments = []
            for i in sel.tolist():
                on, end = int(mine["onset_ticks"][i]), int(note_ends[i])
                seg_on, seg_end = max(on, b0), min(end, b1)
                segments.append((seg_on, seg_end - seg_on, int(mine["pitch"][i]), int(mine["velocity"][i]),
                                 on < b0, end > b1))
            bar_len = b1 - b0
            in_force = score.key_signature_at(b0)
            sharps = in_force.sharps if in_force else 0
            signature = score.time_signature_at(b0)  # (a pickup's beats count back from its end)
            beat, phase = signature.beat_ticks, (signature.bar_ticks - bar_len) % signature.beat_ticks \
                if bar == 0 and score.pickup_ticks else 0
            if not part.is_drum:
                segments = _split_at_beats(segments, b0, beat, phase, signature.is_compound)
            voices = _voices(segments)
            if len(voices) <= 1:
                _fill_voice(measure, voices[0] if voices else [], b0, bar_len, sharps, beat, phase)
            else:
                for v, events in enumerate(voices):
                    voice = stream.Voice(id=str(v + 1))
                    _fill_voice(voice, events, b0, bar_len, sharps, beat, phase, hidden_rests=v > 0)
                    measure.insert(0, voice)
            m21_part.append(measure)
        if part_clef.sign == "G" and not part.is_drum:
            for line in _ottavas(m21_part):
                m21_part.insert(0, line)
        out.insert(0, m21_part)
    for upper, lower in grand_upper.items():
        name = _instrument_name(score.parts[upper].name) or gm_program_name(score.parts[upper].program)
        out.insert(0, layout.StaffGroup([staves[upper], staves[lower]], name=name, abbreviation=_abbreviation(name),
                                        symbol="brace", barTogether=True))
    return out


NOTATION_GRID_TICKS = TICKS_PER_QUARTER // 12  # a 32nd-note triplet: the finest grid the fallback uses
#: note values a score writes as they are: multiples of a 64th-note triplet (every triplet value down to the event
#: vocabulary's finest step), of a 128th note, of a quintuplet 16th or 32nd, or of a septuplet 16th or 32nd
WRITABLE_TICKS = tuple(TICKS_PER_QUARTER // n for n in (48, 32, 20, 40, 28, 56))


def writable_as_is(score: Score) -> bool:
    """Whether every onset and end of ``score``'s notes is a multiple of one of :data:`WRITABLE_TICKS` (music
    written on a grid; a performance recorded as MIDI is not, and music21 spends tens of seconds failing on it)."""
    notes = score.notes
    times = np.concatenate([notes["onset_ticks"], notes["onset_ticks"] + notes["duration_ticks"]])
    off = np.ones(len(times), dtype=bool)
    for unit in WRITABLE_TICKS:
        off &= times % unit != 0
    return not off.any()


def musicxml_bytes(score: Score) -> bytes:
    """The Score as uncompressed MusicXML. Durations no note value can write (a few ticks long, as in
    unquantized or machine-made music: :func:`writable_as_is`) are written quantized to a 32nd-note-triplet
    grid, with a note in the log; so is a score music21 gives up on."""
    from music21.musicxml import m21ToXml
    from music21.musicxml.xmlObjects import MusicXMLExportException

    from cadenza.score.ops import quantize

    def export(written: Score) -> bytes:
        return bytes(m21ToXml.GeneralObjectExporter(score_to_music21(written)).parse())

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_grid = writable_as_is(score)
        if not on_grid:
            log.info("MusicXML: durations off every note value's grid; writing the score quantized to 1/12 of a "
                     "quarter note")
            score = quantize(score, NOTATION_GRID_TICKS)
        try:
            xml = export(score)
        except MusicXMLExportException as exc:
            if not on_grid:  # already the quantized score: music21 would fail on it again
                raise OutputError(f"cannot write this score as MusicXML: {exc}") from None
            log.info("MusicXML: %s; writing the score quantized to 1/12 of a quarter note", exc)
            try:
                xml = export(quantize(score, NOTATION_GRID_TICKS))
            except MusicXMLExportException as again:
                raise OutputError(f"cannot write this score as MusicXML: {again}") from None
    if not score.metadata.composer:  # music21 fills in its own name as the composer
        xml = xml.replace(b'<creator type="composer">Music21</creator>', b"", 1)
    # a chord symbol's root or bass without an accidental: music21 writes an alteration of 0, which engravers
    # print as a natural sign (F♮)
    return re.sub(rb"\s*<(root|bass)-alter>0</(?:root|bass)-alter>", b"", xml)
