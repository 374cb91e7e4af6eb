"""Score -> MusicXML through music21, with the measures built here so that notation is faithful:
bars follow the Score's meter map (a pickup becomes a short first measure), notes that cross a bar line
are split and tied, overlapping notes in one part go to separate voices, and gaps are filled with rests.
music21's exporter then splits durations that need several note values into tied notes and adds beams.
Parts are named, and carry the instrument that their General MIDI program names.
"""

from __future__ import annotations

import warnings
from fractions import Fraction
from typing import Any

import numpy as np

from cadenza.score.instruments import gm_program_name
from cadenza.score.model import TICKS_PER_QUARTER, Score


def _ql(ticks: int) -> Fraction:
    return Fraction(ticks, TICKS_PER_QUARTER)


def _instrument(program: int, is_drum: bool, name: str) -> Any:
    from music21 import instrument

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


def _fill_voice(container: Any, events: list[tuple[Any, ...]], bar_start: int, bar_len: int) -> None:
    from music21 import chord, note, tie

    pos = 0
    for onset, dur, tie_in, tie_out, pitches in events:
        rel = onset - bar_start
        if rel > pos:
            container.insert(_ql(pos), note.Rest(quarterLength=_ql(rel - pos)))
        if len(pitches) == 1:
            el: Any = note.Note(pitches[0][0], quarterLength=_ql(dur))
        else:
            el = chord.Chord([p for p, _ in sorted(pitches)], quarterLength=_ql(dur))
        el.volume.velocity = max(v for _, v in pitches)
        if tie_in or tie_out:
            el.tie = tie.Tie("continue" if tie_in and tie_out else ("stop" if tie_in else "start"))
        container.insert(_ql(rel), el)
        pos = rel + dur
    if pos < bar_len:
        container.insert(_ql(pos), note.Rest(quarterLength=_ql(bar_len - pos)))


def score_to_music21(score: Score) -> Any:
    """A music21 Score with measures, ready for MusicXML export."""
    from music21 import key, metadata, meter, stream, tempo

    starts = score.bar_starts().tolist()
    ends = starts[1:] + [max(score.length_ticks, starts[-1] + 1)]
    # last bar: as long as its signature says
    last_sig = score.time_signature_at(starts[-1])
    if not (len(starts) == 1 and score.pickup_ticks):
        ends[-1] = starts[-1] + last_sig.bar_ticks
    out = stream.Score()
    out.metadata = metadata.Metadata()
    out.metadata.title = score.metadata.title or ""
    if score.metadata.composer:
        out.metadata.composer = score.metadata.composer
    notes = score.notes
    sig_at = {ts.onset_ticks: ts for ts in score.time_signatures}
    keys = list(score.key_signatures)
    for index, part in enumerate(score.parts):
        m21_part = stream.Part()
        m21_part.id = f"P{index + 1}"
        m21_part.partName = part.name or gm_program_name(part.program)
        m21_part.insert(0, _instrument(part.program, part.is_drum, m21_part.partName))
        mine = notes[notes["part"] == index]
        note_ends = mine["onset_ticks"] + mine["duration_ticks"]
        for bar, (b0, b1) in enumerate(zip(starts, ends, strict=True)):
            measure = stream.Measure(number=bar if score.pickup_ticks else bar + 1)
            if bar == 0 and score.pickup_ticks:
                measure.paddingLeft = float(_ql(score.time_signatures[0].bar_ticks - score.pickup_ticks))
            sig = sig_at.get(b0)
            if sig is not None:
                measure.insert(0, meter.TimeSignature(f"{sig.numerator}/{sig.denominator}"))
            for ks in keys:
                if b0 <= ks.onset_ticks < b1 or (bar == 0 and ks.onset_ticks == 0):
                    k = (key.KeySignature(ks.sharps) if ks.mode is None
                         else key.KeySignature(ks.sharps).asKey(ks.mode))
                    measure.insert(_ql(max(ks.onset_ticks - b0, 0)), k)
            if index == 0:
                for t in score.tempos:
                    if b0 <= t.onset_ticks < b1:
                        mark = tempo.MetronomeMark(number=round(t.bpm, 2), referent=1.0)
                        measure.insert(_ql(t.onset_ticks - b0), mark)
            sel = np.nonzero((mine["onset_ticks"] < b1) & (note_ends > b0))[0]
            segments = []
            for i in sel.tolist():
                on, end = int(mine["onset_ticks"][i]), int(note_ends[i])
                seg_on, seg_end = max(on, b0), min(end, b1)
                segments.append((seg_on, seg_end - seg_on, int(mine["pitch"][i]), int(mine["velocity"][i]),
                                 on < b0, end > b1))
            voices = _voices(segments)
            bar_len = b1 - b0
            if len(voices) <= 1:
                _fill_voice(measure, voices[0] if voices else [], b0, bar_len)
            else:
                for v, events in enumerate(voices):
                    voice = stream.Voice(id=str(v + 1))
                    _fill_voice(voice, events, b0, bar_len)
                    measure.insert(0, voice)
            m21_part.append(measure)
        out.insert(0, m21_part)
    return out


def musicxml_bytes(score: Score) -> bytes:
    """The Score as uncompressed MusicXML."""
    from music21.musicxml import m21ToXml

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exporter = m21ToXml.GeneralObjectExporter(score_to_music21(score))
        return bytes(exporter.parse())
