"""music21 stream -> Score: the notation formats (MusicXML, ABC, Humdrum) are parsed by music21 and
converted here, in the guarded child process.

Tied notes are merged into one note (our own pass, ~10x faster than music21's stripTies). Grace notes have
no duration and are dropped, counted in a warning. Offsets become ticks exactly where the rhythm is a
whole number of ticks (all but exotic tuplets); the rest are rounded.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from cadenza.errors import CorruptFileError
from cadenza.score.instruments import program_from_name
from cadenza.score.limits import ReadLimits, over_limit
from cadenza.score.model import (
    NOTE_DTYPE,
    TICKS_PER_QUARTER,
    KeySignature,
    Metadata,
    Part,
    Score,
    Tempo,
    TimeSignature,
)

log = logging.getLogger(__name__)

DEFAULT_VELOCITY = 80

#: music21 builds the beat hierarchy of each distinct meter in time that grows with the square of its beat
#: count (256/4: 1 s, 1000/4: 20 s, 2000/4: 90 s; odd denominators are slower still), before any check of
#: ours can run. These bounds, checked on the text before parsing, keep the worst case near a second.
MAX_METER_BEATS = 128  # beats in one time signature (composite parts added up)
MAX_METER_COST = MAX_METER_BEATS**2  # sum of beats² over the distinct time signatures of a file
_BEAT_COUNT = re.compile(r"[0-9]+")


@contextlib.contextmanager
def measures_in_linear_time() -> Iterator[None]:
    """While music21 parses MusicXML, a part under construction is marked unsorted. music21 inserts each
    measure into its part with ``Stream.insert``, which, while the part is known to be sorted, first measures
    the part's whole length (``highestTime``, over every measure so far) to decide whether it stays sorted:
    a parse that grows with the square of the measures (2,000 measures: 9 s, 9,999: minutes). Unsorted, the
    part is sorted once when it is next read (the measures come in order, so in one pass): the same score."""
    from music21.musicxml import xmlToM21

    parser = getattr(xmlToM21, "PartParser", None)
    original = getattr(parser, "parseMeasures", None)
    if parser is None or original is None:  # another music21: parsed as it comes
        yield
        return

    def parse_measures(self: Any) -> Any:
        self.stream.isSorted = False
        return original(self)

    parser.parseMeasures = parse_measures
    try:
        yield
    finally:
        parser.parseMeasures = original


def check_meters(meters: Iterable[tuple[str, str]]) -> None:
    """Refuse time signatures, given as (beats, beat type) texts as written ("3+2", "8"), that no music
    needs and that music21 would take minutes to build."""
    cost = 0
    for beats, beat_type in sorted(set(meters)):
        total = sum(int(n) if len(n) <= 6 else 10**6 for n in _BEAT_COUNT.findall(beats))
        if total > MAX_METER_BEATS:
            raise CorruptFileError(f"time signature {beats[:20]}/{beat_type[:20]} has an implausible number "
                                   f"of beats ({total:,}; at most {MAX_METER_BEATS} are read)")
        cost += total * total
        if cost > MAX_METER_COST:
            raise CorruptFileError("too many distinct large time signatures for the notation parser "
                                   f"(the sum of their beats squared is over {MAX_METER_COST:,})")


def _ticks(quarter_length: Any) -> int:
    return int(round(Fraction(quarter_length) * TICKS_PER_QUARTER))


def _part_identity(part: Any, index: int) -> Part:
    from music21 import instrument

    inst = part.getInstrument(returnDefault=False)
    name = (getattr(part, "partName", None) or (inst.partName if inst else None)
            or (inst.instrumentName if inst else None)
            or f"Part {index + 1}")
    # (pitched percussion, a timpani or a xylophone, is no drum kit: read as one, a symphony's timpani went to
    # the drum channel, their G2 and D3 played as toms)
    is_drum = isinstance(inst, instrument.Percussion) and not isinstance(inst, instrument.PitchedPercussion)
    program = inst.midiProgram if inst is not None and inst.midiProgram is not None else None
    if program is None or (program == 0 and not isinstance(inst, instrument.Piano)):
        hinted = program_from_name(name, default=-1)
        if hinted < 0 and inst is not None and inst.instrumentName:
            hinted = program_from_name(inst.instrumentName, default=-1)
        program = hinted if hinted >= 0 else (program or 0)
    return Part(name=str(name).strip(), program=int(program), is_drum=is_drum)


def _part_notes(part: Any, part_index: int, warn: list[str]) -> list[tuple[int, int, int, int, int]]:
    """(onset, duration, pitch, velocity, part) for every sounding note of a music21 part, ties merged."""
    from music21 import chord, harmony

    out: list[list[int]] = []
    pending: dict[tuple[int, int], list[int]] = {}  # (pitch, end) -> indices in out of notes whose tie continues
    grace = 0
    for el in part.flatten().notes:
        if isinstance(el, harmony.Harmony):
            continue  # a chord symbol (a lead sheet's, an ABC tune's "G7"): printed above the staff, not played
        if el.duration.isGrace:
            grace += 1
            continue
        onset = _ticks(el.offset)
        dur = _ticks(el.duration.quarterLength)
        if dur <= 0:
            continue
        vol = el.volume.velocity if el.hasVolumeInformation() else None
        vel = int(min(max(vol, 1), 127)) if vol else DEFAULT_VELOCITY
        members = el.notes if isinstance(el, chord.Chord) else (el,)
        for n in members:
            if not hasattr(n, "pitch"):
                continue  # unpitched percussion without a display pitch
            midi = int(round(n.pitch.ps))
            if not 0 <= midi <= 127:
                continue
            tie = n.tie.type if n.tie is not None else (el.tie.type if el.tie is not None else None)
            waiting = pending.get((midi, onset)) if tie in ("stop", "continue") else None
            if waiting:  # the tied note of this pitch that ends here (not another of its pitch that overlaps it,
                index = waiting.pop(0)  # in another voice: a note split at a bar line was read as two)
                out[index][1] += dur
            else:
                out.append([onset, dur, midi, vel, part_index])
                index = len(out) - 1
            if tie in ("start", "continue"):
                pending.setdefault((midi, out[index][0] + out[index][1]), []).append(index)
    if grace:
        warn.append(f"{grace} grace notes dropped (they have no duration)")
    return [tuple(n) for n in out]  # type: ignore[misc]


def _has_transposition(obj: Any) -> bool:
    from music21 import instrument

    return any(inst.transposition is not None and inst.transposition.semitones != 0
               for inst in obj.recurse().getElementsByClass(instrument.Instrument))


def score_from_music21(obj: Any, limits: ReadLimits, source: str) -> tuple[Score, list[str]]:
    """Convert a music21 Score, Part or Opus (its first score) into a Score."""
    from music21 import key, meter, stream

    warn: list[str] = []
    if isinstance(obj, stream.Opus):
        scores = list(obj.scores)
        if not scores:
            raise CorruptFileError("the file holds no score")
        obj = scores[0]
    # MusicXML gives transposing instruments (clarinet, horn, trumpet, sax) at written pitch; a Score holds
    # what sounds
    if isinstance(obj, stream.Stream) and _has_transposition(obj):
        obj.toSoundingPitch(inPlace=True)
    if isinstance(obj, stream.Score) and not obj.parts and not obj.recurse().notes:  # e.g. Humdrum with no
        raise CorruptFileError("the file holds no part with music in it")  # **kern spine, MusicXML with no <part>
    m21_parts: list[Any] = (list(obj.parts) or [obj]) if isinstance(obj, stream.Score) else [obj]

    parts: list[Part] = []
    rows: list[tuple[int, int, int, int, int]] = []
    for i, p in enumerate(m21_parts):
        measures = list(p.getElementsByClass(stream.Measure))
        if len(measures) > limits.max_measures:
            raise over_limit("measures in one part", len(measures), "max_measures", limits)
        parts.append(_part_identity(p, i))
        rows.extend(_part_notes(p, i, warn))
        if len(rows) > limits.max_notes:
            raise over_limit("note count", len(rows), "max_notes", limits)

    # pickup: a first measure shorter than its bar, padded on the left
    first = m21_parts[0]
    pickup = 0
    first_measures = first.getElementsByClass(stream.Measure)
    if first_measures:
        m0 = first_measures[0]
        if m0.paddingLeft and m0.duration.quarterLength < m0.barDuration.quarterLength:
            pickup = _ticks(m0.duration.quarterLength)

    flat = first.flatten()
    time_sigs = []
    for ts in flat.getElementsByClass(meter.TimeSignature):
        try:
            time_sigs.append(TimeSignature(_ticks(ts.offset), int(ts.numerator), int(ts.denominator)))
        except (ValueError, TypeError, ZeroDivisionError):
            warn.append(f"unusable time signature {ts.ratioString!r} ignored")
    key_sigs = []
    for ks in flat.getElementsByClass(key.KeySignature):
        mode = ks.mode if isinstance(ks, key.Key) and ks.mode in ("major", "minor") else None
        if -7 <= ks.sharps <= 7:
            key_sigs.append(KeySignature(_ticks(ks.offset), int(ks.sharps), mode))
    tempos = []
    container = obj if isinstance(obj, stream.Score) else first
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boundaries = container.metronomeMarkBoundaries()
    for start, _end, mark in boundaries:
        bpm = mark.getQuarterBPM() if mark is not None else None
        if bpm and 1.0 <= bpm <= 2000.0 and getattr(mark, "number", None) is not None:
            tempos.append(Tempo(_ticks(start), float(bpm)))

    md = getattr(obj, "metadata", None)
    title = ""
    composer = ""
    if md is not None:
        title = str(md.title or md.movementName or "")
        composer = str(md.composer or "")
    notes = np.array(rows, dtype=NOTE_DTYPE) if rows else np.zeros(0, dtype=NOTE_DTYPE)
    if len(notes) and notes["duration_ticks"].max() > limits.max_note_quarters * TICKS_PER_QUARTER:
        longest = notes["duration_ticks"].max() / TICKS_PER_QUARTER
        raise over_limit("longest note in quarter notes", float(longest), "max_note_quarters", limits)
    length = _ticks(container.highestTime) if container.highestTime else 0
    if time_sigs and pickup >= time_sigs[0].bar_ticks:
        pickup = 0
    score = Score.build(
        parts=parts,
        notes=notes,
        time_signatures=time_sigs,
        key_signatures=key_sigs,
        tempos=tempos,
        metadata=Metadata(title=title, composer=composer, source=source),
        pickup_ticks=pickup,
        length_ticks=length,
    )
    if score.duration_s > limits.max_duration_s:
        raise over_limit("duration in seconds", score.duration_s, "max_duration_s", limits)
    return score, warn
