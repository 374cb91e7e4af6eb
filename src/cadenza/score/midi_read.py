"""Standard MIDI File reader: bounded, tolerant of the damage real files carry, strict about the rest.

Checked before any event is decoded: the header, the chunk table (unknown chunks are skipped, a chunk
that claims more bytes than the file has is read as far as it goes), the track count and the file size.
While decoding: the event count and the note-on count (no file has more notes than note-ons, so a file
over the note limit stops here, before its notes take memory); afterwards the note count and the total
duration. Damage that a player would shrug off (a junk byte at the end, a truncated last track, undefined
system bytes, data bytes over 127) becomes a warning; a file with no decodable MIDI at all is an error.

Parts come from (track, channel) pairs that hold notes; channel 10 is a drum kit. Overlapping notes of the
same pitch on one channel pair first-on with first-off. A note left sounding ends at its track's end.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from cadenza.errors import CorruptFileError, LimitExceededError
from cadenza.score.instruments import gm_program_name
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

DRUM_CHANNEL = 9
TEXT_PREFIX = "cadenza:"  # text events written by our writer to carry metadata

# data bytes that follow each channel-message status (by high nibble)
_CHANNEL_DATA_LEN = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}
# data bytes after system-common status bytes F1..F6 (F4, F5 are undefined: none)
_SYSTEM_COMMON_LEN = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF4: 0, 0xF5: 0, 0xF6: 0}


@dataclass
class _Track:
    index: int
    name: str = ""
    end_tick: int = 0
    # note events: (tick, channel, pitch, velocity) with velocity 0 meaning note-off
    note_events: list[tuple[int, int, int, int]] = field(default_factory=list)
    programs: dict[int, int] = field(default_factory=dict)  # channel -> first program
    tempos: list[tuple[int, int]] = field(default_factory=list)  # (tick, microseconds per quarter)
    time_sigs: list[tuple[int, int, int]] = field(default_factory=list)
    key_sigs: list[tuple[int, int, int]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    copyright: str = ""


class _Warnings:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, message: str) -> None:
        self.counts[message] = self.counts.get(message, 0) + 1

    def lines(self) -> list[str]:
        return [m if n == 1 else f"{m} ({n} times)" for m, n in self.counts.items()]


def _unwrap_riff(data: bytes) -> bytes:
    """RIFF RMID files wrap a plain SMF in a 'data' chunk."""
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":
        pos = 12
        while pos + 8 <= len(data):
            cid, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
            if cid == b"data":
                return data[pos + 8 : pos + 8 + size]
            pos += 8 + size + (size & 1)
        raise CorruptFileError("RIFF MIDI file without a 'data' chunk")
    return data


def _read_vlq(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = 0
    for i in range(4):
        if pos >= end:
            raise EOFError
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos
        if i == 3:
            raise ValueError("variable-length number longer than 4 bytes")
    raise AssertionError("unreachable")


def _parse_track(data: bytes, start: int, end: int, track: _Track, warn: _Warnings, budget: list[int]) -> None:
    """Decode one MTrk body into ``track``; ``budget`` counts down the events and the note-ons allowed."""
    pos, tick, status = start, 0, 0
    notes = track.note_events
    while pos < end:
        try:
            delta, pos = _read_vlq(data, pos, end)
        except EOFError:
            warn.add("track ends in the middle of an event (truncated file)")
            break
        except ValueError as exc:
            warn.add(f"corrupt track: {exc}; rest of the track skipped")
            break
        tick += delta
        if pos >= end:
            warn.add("track ends in the middle of an event (truncated file)")
            break
        budget[0] -= 1
        if budget[0] < 0:
            raise LimitExceededError("events")  # message filled in by the caller
        byte = data[pos]
        if byte == 0xFF:  # meta event
            if pos + 2 > end:
                warn.add("track ends in the middle of an event (truncated file)")
                break
            mtype = data[pos + 1]
            try:
                length, pos = _read_vlq(data, pos + 2, end)
            except (EOFError, ValueError):
                warn.add("corrupt meta event; rest of the track skipped")
                break
            if pos + length > end:
                warn.add("meta event longer than its track (truncated file); rest of the track skipped")
                break
            body = data[pos : pos + length]
            pos += length
            if mtype == 0x2F:  # end of track
                break
            _meta(mtype, body, tick, track, warn)
            continue
        if byte in (0xF0, 0xF7):  # sysex: skipped, cancels running status
            try:
                length, pos = _read_vlq(data, pos + 1, end)
            except (EOFError, ValueError):
                warn.add("corrupt system-exclusive event; rest of the track skipped")
                break
            if pos + length > end:
                warn.add("system-exclusive event longer than its track; rest of the track skipped")
                break
            pos += length
            status = 0
            continue
        if byte >= 0xF8:  # real-time bytes do not belong in files: skip, keep running status
            warn.add("real-time status byte inside a track (skipped)")
            pos += 1
            continue
        if byte >= 0xF1:  # system common / undefined: skip its data, cancel running status
            warn.add(f"system status byte 0x{byte:02X} inside a track (skipped)")
            pos += 1 + _SYSTEM_COMMON_LEN[byte]
            status = 0
            continue
        if byte & 0x80:
            status = byte
            pos += 1
        elif not status:
            warn.add("data byte without a status byte; rest of the track skipped")
            break
        kind, channel = status >> 4, status & 0x0F
        nbytes = _CHANNEL_DATA_LEN[kind]
        if pos + nbytes > end:
            warn.add("track ends in the middle of an event (truncated file)")
            break
        d1 = data[pos]
        d2 = data[pos + 1] if nbytes == 2 else 0
        pos += nbytes
        if d1 > 127 or d2 > 127:
            warn.add("data byte over 127 (clamped)")
            d1, d2 = min(d1, 127), min(d2, 127)
        if kind == 0x9:
            notes.append((tick, channel, d1, d2))
            if d2:
                budget[1] -= 1
                if budget[1] < 0:
                    raise LimitExceededError("notes")  # message filled in by the caller
        elif kind == 0x8:
            notes.append((tick, channel, d1, 0))
        elif kind == 0xC and channel not in track.programs:
            track.programs[channel] = d1
    track.end_tick = tick


def _meta(mtype: int, body: bytes, tick: int, track: _Track, warn: _Warnings) -> None:
    if mtype == 0x03 and not track.name:
        track.name = _text(body)
    elif mtype == 0x01:
        track.texts.append(_text(body))
    elif mtype == 0x02:
        track.copyright = _text(body)
    elif mtype == 0x51 and len(body) == 3:
        usec = int.from_bytes(body, "big")
        if usec == 0:
            warn.add("tempo event of 0 µs per quarter (ignored)")
        else:
            track.tempos.append((tick, usec))
    elif mtype == 0x58 and len(body) >= 2:
        if body[0] == 0 or body[1] > 7:
            warn.add("invalid time signature event (ignored)")
        else:
            track.time_sigs.append((tick, body[0], 1 << body[1]))
    elif mtype == 0x59 and len(body) == 2:
        sharps = body[0] - 256 if body[0] > 127 else body[0]
        if -7 <= sharps <= 7 and body[1] in (0, 1):
            track.key_sigs.append((tick, sharps, body[1]))
        else:
            warn.add("invalid key signature event (ignored)")


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8").strip("\x00 ").strip()
    except UnicodeDecodeError:
        return body.decode("latin-1").strip("\x00 ").strip()


def read_midi_bytes(data: bytes, limits: ReadLimits, source: str = "") -> tuple[Score, list[str]]:
    """Parse SMF bytes into a Score and a list of warnings about damage that was repaired or skipped."""
    warn = _Warnings()
    data = _unwrap_riff(data)
    if len(data) < 14 or data[:4] != b"MThd":
        raise CorruptFileError("not a MIDI file (no MThd header)" if data[:4] != b"MThd" else
                               "MIDI header is truncated")
    header_len = int.from_bytes(data[4:8], "big")
    if header_len < 6 or 8 + header_len > len(data):
        raise CorruptFileError(f"MIDI header declares {header_len} bytes; the file is truncated or corrupt")
    fmt = int.from_bytes(data[8:10], "big")
    declared_tracks = int.from_bytes(data[10:12], "big")
    division = int.from_bytes(data[12:14], "big")
    if fmt > 2:
        raise CorruptFileError(f"unknown MIDI file format {fmt}")
    if division == 0:
        raise CorruptFileError("MIDI division (ticks per quarter) is 0")

    # chunk table
    chunks: list[tuple[int, int]] = []
    pos = 8 + header_len
    while pos + 8 <= len(data):
        cid = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "big")
        body = pos + 8
        if cid == b"MTrk":
            if body + size > len(data):
                warn.add("last track is shorter than its header says (truncated file)")
            chunks.append((body, min(body + size, len(data))))
            if len(chunks) > limits.max_tracks:
                raise over_limit("MIDI track count", declared_tracks or len(chunks), "max_tracks", limits)
        elif not cid.isalnum():
            warn.add("junk bytes after the last chunk (ignored)")
            break
        pos = body + size
    if pos < len(data) and pos + 8 > len(data) and chunks:
        warn.add("junk bytes after the last chunk (ignored)")
    if not chunks:
        raise CorruptFileError("MIDI file holds no tracks")
    if declared_tracks != len(chunks):
        warn.add(f"header declares {declared_tracks} tracks, file holds {len(chunks)}")

    tracks: list[_Track] = []
    budget = [limits.max_events, limits.max_notes]
    for i, (start, end) in enumerate(chunks):
        track = _Track(index=i)
        try:
            _parse_track(data, start, end, track, warn, budget)
        except LimitExceededError as exc:
            if str(exc) == "notes":
                raise over_limit("note count", limits.max_notes + 1, "max_notes", limits) from None
            raise over_limit("MIDI event count", limits.max_events + 1, "max_events", limits) from None
        tracks.append(track)

    return _assemble(tracks, fmt, division, limits, warn, source)


def _scale(ticks: np.ndarray, division: int) -> np.ndarray:
    """File ticks to Score ticks, rounding to nearest."""
    if division & 0x8000:  # SMPTE: frames per second x ticks per frame; read as 120 bpm
        fps = 256 - (division >> 8)
        per_frame = division & 0xFF
        ticks_per_second = (29.97 if fps == 29 else fps) * max(per_frame, 1)
        return np.rint(ticks * (2.0 * TICKS_PER_QUARTER / ticks_per_second)).astype(np.int64)
    return (ticks * TICKS_PER_QUARTER + division // 2) // division


def _assemble(
    tracks: list[_Track], fmt: int, division: int, limits: ReadLimits, warn: _Warnings, source: str
) -> tuple[Score, list[str]]:
    # format 2 holds independent sequences: lay them end to end
    offsets = [0] * len(tracks)
    if fmt == 2:
        total = 0
        for i, t in enumerate(tracks):
            offsets[i] = total
            total += t.end_tick

    on_events: list[tuple[int, int, int, int, int]] = []  # (onset, end, pitch, velocity, part)
    parts: list[Part] = []
    part_of: dict[tuple[int, int], int] = {}
    global_programs: dict[int, int] = {}
    for t in tracks:
        for ch, prog in t.programs.items():
            global_programs.setdefault(ch, prog)
    dropped_zero = 0
    for t, off in zip(tracks, offsets, strict=True):
        channels = sorted({ch for _, ch, _, _ in t.note_events})
        for ch in channels:
            drum = ch == DRUM_CHANNEL
            prog = t.programs.get(ch, global_programs.get(ch, 0))
            name = t.name or ("Drums" if drum else gm_program_name(prog))
            if len(channels) > 1:
                name = f"{name} (channel {ch + 1})"
            part_of[(t.index, ch)] = len(parts)
            parts.append(Part(name=name, program=prog, is_drum=drum))
        open_notes: dict[tuple[int, int], deque[tuple[int, int]]] = {}
        track_end = max(t.end_tick, t.note_events[-1][0] if t.note_events else 0)
        for tick, ch, pitch, vel in t.note_events:
            key = (ch, pitch)
            if vel:
                open_notes.setdefault(key, deque()).append((tick, vel))
            else:
                queue = open_notes.get(key)
                if queue:
                    on_tick, on_vel = queue.popleft()
                    if tick > on_tick:
                        on_events.append((on_tick + off, tick + off, pitch, on_vel, part_of[(t.index, ch)]))
                    else:
                        dropped_zero += 1
        dangling = 0
        for (ch, pitch), queue in open_notes.items():
            for on_tick, on_vel in queue:
                dangling += 1
                if track_end > on_tick:
                    on_events.append((on_tick + off, track_end + off, pitch, on_vel, part_of[(t.index, ch)]))
        if dangling:
            warn.add(f"{dangling} note-on events without a note-off (ended at the track's end)")
    if dropped_zero:
        warn.add(f"{dropped_zero} zero-length notes dropped")
    if len(on_events) > limits.max_notes:
        raise over_limit("note count", len(on_events), "max_notes", limits)

    raw = np.array(on_events, dtype=np.int64).reshape(-1, 5)
    onsets = _scale(raw[:, 0], division)
    ends = _scale(raw[:, 1], division)
    notes = np.zeros(len(raw), dtype=NOTE_DTYPE)
    notes["onset_ticks"] = onsets
    notes["duration_ticks"] = np.maximum(ends - onsets, 1)
    notes["pitch"] = raw[:, 2]
    notes["velocity"] = raw[:, 3]
    notes["part"] = raw[:, 4]

    smpte = bool(division & 0x8000)
    tempos, time_sigs, key_sigs = [], [], []
    for t, off in zip(tracks, offsets, strict=True):
        if not smpte:
            tempos += [(tick + off, 60_000_000 / usec) for tick, usec in t.tempos]
        time_sigs += [(tick + off, num, den) for tick, num, den in t.time_sigs]
        key_sigs += [(tick + off, sf, mi) for tick, sf, mi in t.key_sigs]

    def conv(tick: int) -> int:
        return int(_scale(np.array([tick], dtype=np.int64), division)[0])

    tempo_objs = []
    for tick, bpm in tempos:
        if not 1.0 <= bpm <= 2000.0:
            warn.add(f"tempo {bpm:.3g} bpm outside 1..2000 (clamped)")
            bpm = min(max(bpm, 1.0), 2000.0)
        tempo_objs.append(Tempo(conv(tick), bpm))
    meta = _metadata(tracks, source)
    end_tick = max((t.end_tick + off for t, off in zip(tracks, offsets, strict=True)), default=0)
    score = Score.build(
        parts=parts,
        notes=notes,
        time_signatures=[TimeSignature(conv(tk), n, d) for tk, n, d in time_sigs],
        key_signatures=[KeySignature(conv(tk), sf, "minor" if mi else "major") for tk, sf, mi in key_sigs],
        tempos=tempo_objs,
        metadata=meta,
        length_ticks=conv(end_tick),
    )
    seconds = score.duration_s
    if seconds > limits.max_duration_s:
        raise over_limit("duration in seconds", seconds, "max_duration_s", limits)
    longest = int(notes["duration_ticks"].max()) / TICKS_PER_QUARTER if len(notes) else 0
    if longest > limits.max_note_quarters:
        raise over_limit("longest note in quarter notes", longest, "max_note_quarters", limits)
    return score, warn.lines()


def _metadata(tracks: list[_Track], source: str) -> Metadata:
    fields: dict[str, str] = {"source": source}
    for t in tracks:
        for text in t.texts:
            if text.startswith(TEXT_PREFIX) and "=" in text:
                key, _, value = text[len(TEXT_PREFIX) :].partition("=")
                if key in ("title", "composer", "source", "licence"):
                    fields[key] = value
        if t.copyright and "licence" not in fields:
            fields["licence"] = t.copyright
    if "title" not in fields and tracks and tracks[0].name and not tracks[0].note_events:
        fields["title"] = tracks[0].name
    return Metadata(**fields)
