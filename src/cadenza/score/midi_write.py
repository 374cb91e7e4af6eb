"""Standard MIDI File writer: format 1, a conductor track (meter, key, tempo, metadata) and one track per
part with its name and program. Written at the Score's own resolution, so ticks survive exactly.

A pickup bar is written as a full bar with silence before it, so a DAW's bar lines fall where the score's
do; reading such a file back gives the same notes shifted by that silence and no pickup.
"""

from __future__ import annotations

import logging
import struct

from cadenza.score.midi_read import DRUM_CHANNEL, TEXT_PREFIX
from cadenza.score.model import TICKS_PER_QUARTER, Score

log = logging.getLogger(__name__)

_MELODIC_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]


def _vlq(value: int) -> bytes:
    out = bytearray([value & 0x7F])
    value >>= 7
    while value:
        out.insert(0, 0x80 | (value & 0x7F))
        value >>= 7
    return bytes(out)


def _meta(mtype: int, body: bytes) -> bytes:
    return bytes([0xFF, mtype]) + _vlq(len(body)) + body


def _track(events: list[tuple[int, int, bytes]], end_tick: int) -> bytes:
    """events: (tick, order, message bytes), sorted so that at one tick meta events come first and
    note-offs precede note-ons; the track ends at ``end_tick`` or its last event."""
    events.sort(key=lambda e: (e[0], e[1]))
    out = bytearray()
    last = 0
    for tick, _, msg in events:
        out += _vlq(tick - last) + msg
        last = tick
    out += _vlq(max(end_tick - last, 0)) + _meta(0x2F, b"")
    return b"MTrk" + struct.pack(">I", len(out)) + bytes(out)


def midi_bytes(score: Score) -> bytes:
    """The Score as Standard MIDI File bytes."""
    shift = 0
    if score.pickup_ticks:
        shift = score.time_signatures[0].bar_ticks - score.pickup_ticks
    conductor: list[tuple[int, int, bytes]] = []
    md = score.metadata
    if md.title:
        conductor.append((0, 0, _meta(0x03, md.title.encode("utf-8"))))
    for key in ("title", "composer", "source", "licence"):
        value = getattr(md, key)
        if value:
            conductor.append((0, 1, _meta(0x01, f"{TEXT_PREFIX}{key}={value}".encode())))
    if md.licence:
        conductor.append((0, 1, _meta(0x02, md.licence.encode("utf-8"))))
    for ts in score.time_signatures:
        dd = ts.denominator.bit_length() - 1
        tick = ts.onset_ticks + shift if ts.onset_ticks else 0
        conductor.append((tick, 2, _meta(0x58, bytes([ts.numerator, dd, 24, 8]))))
    for ks in score.key_signatures:
        tick = ks.onset_ticks + shift if ks.onset_ticks else 0
        body = bytes([ks.sharps & 0xFF, 1 if ks.mode == "minor" else 0])
        conductor.append((tick, 3, _meta(0x59, body)))
    for tempo in score.tempos:
        usec = max(1, min(0xFFFFFF, round(60_000_000 / tempo.bpm)))
        tick = tempo.onset_ticks + shift if tempo.onset_ticks else 0
        conductor.append((tick, 4, _meta(0x51, usec.to_bytes(3, "big"))))
    end_tick = score.length_ticks + shift
    tracks = [_track(conductor, end_tick)]

    notes = score.notes
    melodic = 0
    for index, part in enumerate(score.parts):
        if part.is_drum:
            channel = DRUM_CHANNEL
        else:
            channel = _MELODIC_CHANNELS[melodic % len(_MELODIC_CHANNELS)]
            melodic += 1
        events: list[tuple[int, int, bytes]] = [
            (0, 0, _meta(0x03, part.name.encode("utf-8"))),
            (0, 1, bytes([0xC0 | channel, part.program])),
        ]
        mine = notes[notes["part"] == index]
        for onset, dur, pitch, vel in zip(
            mine["onset_ticks"].tolist(), mine["duration_ticks"].tolist(),
            mine["pitch"].tolist(), mine["velocity"].tolist(), strict=True,
        ):
            events.append((onset + shift, 3, bytes([0x90 | channel, pitch, vel])))
            events.append((onset + shift + dur, 2, bytes([0x80 | channel, pitch, 0])))
        tracks.append(_track(events, end_tick))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), TICKS_PER_QUARTER)
    return header + b"".join(tracks)
