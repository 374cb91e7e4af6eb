"""Generators of hostile (and a few valid edge-case) score files, written at test time.

Each generator takes a folder, writes one file into it and returns its path. :data:`CASES` lists them all
with the outcome a reader must give: ``"ok"`` (a Score), ``"error"`` (a one-line error) or ``"either"``
(both are acceptable; the file must only not hang, crash or blow up). The case ids follow the synthetic
list in ``../shared/badinputs/SOURCES.md`` (s = SMF, x = MusicXML/MXL, a = ABC, h = Humdrum); ``v`` cases
are valid files that must still read, ``j`` cases are Cadenza JSON, and ids with a letter suffix are
extra variants. Nothing here is large on disk except where the case is about size; everything is built
in a fraction of a second without holding the uncompressed payload of the archive bombs in memory.
"""

from __future__ import annotations

import json
import random
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# ---------------------------------------------------------------------------------------------- SMF


def vlq(value: int) -> bytes:
    """MIDI variable-length quantity (any length: hostile files use more than the legal 4 bytes)."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def mthd(fmt: int = 1, tracks: int = 1, division: int = 480, length: int = 6) -> bytes:
    return b"MThd" + struct.pack(">IHHH", length, fmt, tracks, division)


def mtrk(body: bytes, end: bool = True, length: int | None = None) -> bytes:
    if end:
        body += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body) if length is None else length) + body


def note(pitch: int = 60, length: int = 480, delta: int = 0, channel: int = 0, velocity: int = 90) -> bytes:
    return (vlq(delta) + bytes([0x90 | channel, pitch, velocity])
            + vlq(length) + bytes([0x80 | channel, pitch, 0]))


def tempo(usec: int, delta: int = 0) -> bytes:
    return vlq(delta) + b"\xff\x51\x03" + usec.to_bytes(3, "big")


def smf(*track_bodies: bytes, fmt: int | None = None, division: int = 480, declared: int | None = None) -> bytes:
    fmt = (0 if len(track_bodies) == 1 else 1) if fmt is None else fmt
    head = mthd(fmt, len(track_bodies) if declared is None else declared, division)
    return head + b"".join(mtrk(b) for b in track_bodies)


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def v01_valid_midi(folder: Path) -> Path:
    body = tempo(500_000) + b"\x00\xff\x03\x05Piano" + note(60) + note(64) + note(67)
    return _write(folder, "v01_valid.mid", smf(body))


def s01_truncated_header(folder: Path) -> Path:
    return _write(folder, "s01_truncated_header.mid", b"MThd\x00\x00\x00\x06\x00\x01")


def s02_header_length_4gib(folder: Path) -> Path:
    return _write(folder, "s02_header_length_4gib.mid", mthd(length=0xFFFFFFFF) + mtrk(note()))


def s03_65535_tracks_declared(folder: Path) -> Path:
    return _write(folder, "s03_65535_tracks_declared.mid", smf(note(), declared=65535))


def s03b_65535_real_tracks(folder: Path) -> Path:
    data = mthd(1, 65535, 480) + mtrk(b"") * 65535
    return _write(folder, "s03b_65535_real_tracks.mid", data)


def s04_track_length_2gib(folder: Path) -> Path:
    data = mthd(0, 1, 480) + mtrk(note(), length=0x7FFFFFFF)
    return _write(folder, "s04_track_length_2gib.mid", data)


def s05_max_deltas(folder: Path) -> Path:
    # every event 0x0FFFFFFF ticks (the largest legal delta) after the one before: 1000 such events
    body = b"".join(note(60, length=0x0FFFFFFF, delta=0x0FFFFFFF) for _ in range(500))
    return _write(folder, "s05_max_deltas.mid", smf(body))


def s05b_max_delta_end_of_track(folder: Path) -> Path:
    # a short note, then the end of the track 0x0FFFFFFF ticks later: a score of absurd length
    body = note() + vlq(0x0FFFFFFF) + b"\xff\x2f\x00"
    return _write(folder, "s05b_max_delta_end_of_track.mid", mthd(0, 1, 480) + mtrk(body, end=False))


def s06_vlq_8_bytes(folder: Path) -> Path:
    body = note() + b"\xff\xff\xff\xff\xff\xff\xff\x7f" + b"\x90\x40\x50" + note(62)
    return _write(folder, "s06_vlq_8_bytes.mid", smf(body))


def s07_tempo_zero(folder: Path) -> Path:
    return _write(folder, "s07_tempo_zero.mid", smf(tempo(0) + note()))


def s08_slowest_tempo_long_note(folder: Path) -> Path:
    body = tempo(0xFFFFFF) + note(60, length=9_000_000)
    return _write(folder, "s08_slowest_tempo_long_note.mid", smf(body, division=96))


def s09_division_zero(folder: Path) -> Path:
    return _write(folder, "s09_division_zero.mid", smf(note(), division=0))


def s10_smpte_division(folder: Path) -> Path:
    division = ((256 - 25) << 8) | 40  # -25 fps, 40 ticks per frame
    return _write(folder, "s10_smpte_division.mid", smf(note(60, 1000) + note(62, 1000), division=division))


def s11_overlapping_same_pitch(folder: Path) -> Path:
    ons = b"".join(b"\x00\x90\x3c\x40" for _ in range(100_000))
    offs = b"".join((b"\x01" if i == 0 else b"\x00") + b"\x80\x3c\x00" for i in range(100_000))
    return _write(folder, "s11_100k_overlapping_same_pitch.mid", smf(ons + offs))


def s12_note_on_without_off(folder: Path) -> Path:
    body = b"\x00\x90\x3c\x40\x00\x90\x40\x40\x00\x90\x43\x40" + vlq(960) + b"\xff\x01\x03end"
    return _write(folder, "s12_note_on_without_off.mid", smf(body))


def s13_running_status_at_track_start(folder: Path) -> Path:
    # the second track opens with data bytes and no status byte
    return _write(folder, "s13_running_status_at_track_start.mid", smf(note(), b"\x00\x3c\x40\x60\x3c\x00"))


def s14_sysex_length_268mb(folder: Path) -> Path:
    body = note() + b"\x00\xf0" + vlq(0x0FFFFFFF) + b"\x01\x02\x03"
    return _write(folder, "s14_sysex_length_268mb.mid", smf(body))


def s14b_meta_length_268mb(folder: Path) -> Path:
    body = note() + b"\x00\xff\x01" + vlq(0x0FFFFFFF) + b"text"
    return _write(folder, "s14b_meta_length_268mb.mid", smf(body))


def s15_data_bytes_over_127(folder: Path) -> Path:
    body = b"\x00\xc0\xd0" + b"\x00\x90\x3c\xff" + b"\x83\x60\x80\x3c\x00" + b"\x00\xb0\xa8\xff"
    return _write(folder, "s15_data_bytes_over_127.mid", smf(body))


def s16_random_body(folder: Path) -> Path:
    rng = random.Random(16)
    body = bytes(rng.getrandbits(8) for _ in range(65536))
    return _write(folder, "s16_random_body.mid", mthd(1, 1, 480) + mtrk(body, end=False))


def s16b_random_track_chunks(folder: Path) -> Path:
    rng = random.Random(161)
    data = mthd(1, 64, 480) + b"".join(
        mtrk(bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 2048))), end=False) for _ in range(64))
    return _write(folder, "s16b_random_track_chunks.mid", data)


def s17_200k_tempo_events(folder: Path) -> Path:
    body = b"".join(tempo(400_000 + (i % 2) * 100_000, delta=1) for i in range(200_000)) + note()
    return _write(folder, "s17_200k_tempo_events.mid", smf(body))


def s18_320k_notes(folder: Path) -> Path:
    one = b"\x00\x90\x3c\x40\x01\x80\x3c\x00"
    return _write(folder, "s18_320k_notes.mid", smf(one * 320_000, division=96))


def s18b_1m_note_ons(folder: Path) -> Path:
    # 1.1 million note-ons in running status (3 bytes each), never released: over the note limit
    body = b"\x00\x90\x3c\x40" + b"\x01\x3c\x40" * 1_100_000
    return _write(folder, "s18b_1m_note_ons.mid", smf(body, division=96))


def s19_riff_rmid(folder: Path) -> Path:
    inner = smf(note() + note(64))
    chunk = b"data" + struct.pack("<I", len(inner)) + inner + (b"\x00" if len(inner) & 1 else b"")
    data = b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"RMID" + chunk
    return _write(folder, "s19_riff_rmid.rmi", data)


def s20_trailing_junk(folder: Path) -> Path:
    return _write(folder, "s20_trailing_junk.mid", smf(note()) + b"this is junk \x00\xff\xfe" * 10)


def s21_not_midi(folder: Path) -> Path:
    return _write(folder, "s21_not_midi.mid", b"Hello, I am not a MIDI file at all.\n")


def s22_tiny_bars(folder: Path) -> Path:
    # 2000 bpm, 1/128 meter, a track that lasts just under the 6-hour limit: 23 million bars
    body = (tempo(30_000) + b"\x00\xff\x58\x04\x01\x07\x18\x08" + note()
            + vlq(0x0FFFFFFF) + b"\xff\x01\x01x" + vlq(0x0FFFFFFF) + b"\xff\x01\x01x")
    return _write(folder, "s22_tiny_bars.mid", smf(body, division=96 * 8))


def _meter_changes(count: int) -> bytes:
    """``count`` time-signature events, 2/4 and 3/4 alternating, one per bar (division 24), at 2000 bpm."""
    events = []
    for i in range(count):
        delta = 0 if i == 0 else (2 if i % 2 else 3) * 24
        events.append(vlq(delta) + b"\xff\x58\x04" + bytes([3 if i % 2 else 2, 2, 24, 8]))
    return tempo(30_000) + b"".join(events) + note(60, 24)


def s22b_meter_change_every_bar(folder: Path) -> Path:
    return _write(folder, "s22b_100k_meter_changes.mid", smf(_meter_changes(100_000), division=24))


def s22c_9k_meter_changes(folder: Path) -> Path:
    # under the bar limit: a legitimate (if odd) file whose summary must still come quickly
    return _write(folder, "s22c_9k_meter_changes.mid", smf(_meter_changes(9_000), division=24))


def s23_format_2_many_sequences(folder: Path) -> Path:
    return _write(folder, "s23_format_2.mid", smf(*[note(60 + i) for i in range(16)], fmt=2))


def s24_unknown_format(folder: Path) -> Path:
    return _write(folder, "s24_unknown_format.mid", smf(note(), fmt=7))


def s25_header_only_declares_tracks(folder: Path) -> Path:
    return _write(folder, "s25_header_only.mid", mthd(1, 3, 480))


# ----------------------------------------------------------------------------------------- MusicXML

XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
PART_LIST = ('<part-list><score-part id="P1"><part-name>Piano</part-name></score-part></part-list>')


def musicxml(measures: str, doctype: str = "", head: str = XML_HEAD) -> str:
    return f'{head}{doctype}<score-partwise version="4.0">{PART_LIST}<part id="P1">{measures}</part></score-partwise>\n'


def measure(number: int, notes: str, attributes: str = "") -> str:
    return f'<measure number="{number}">{attributes}{notes}</measure>'


def xnote(step: str = "C", octave: int = 4, duration: int | str = 1, kind: str = "quarter") -> str:
    return (f"<note><pitch><step>{step}</step><octave>{octave}</octave></pitch>"
            f"<duration>{duration}</duration><type>{kind}</type></note>")


def attributes(divisions: int | str = 1, beats: int = 4, beat_type: int = 4) -> str:
    return (f"<attributes><divisions>{divisions}</divisions><key><fifths>0</fifths></key>"
            f"<time><beats>{beats}</beats><beat-type>{beat_type}</beat-type></time>"
            "<clef><sign>G</sign><line>2</line></clef></attributes>")


def valid_score_text() -> str:
    return musicxml(measure(1, "".join(xnote(s) for s in "CDEF"), attributes())
                    + measure(2, xnote("G", duration=4, kind="whole")))


def v02_valid_musicxml(folder: Path) -> Path:
    return _write(folder, "v02_valid.musicxml", valid_score_text())


def x01_billion_laughs(folder: Path) -> Path:
    ents = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)]
    doctype = "<!DOCTYPE score-partwise [" + "".join(ents) + "]>"
    text = musicxml(measure(1, xnote()).replace("<step>C</step>", "<step>C</step><!--&lol9;-->"), doctype)
    text = text.replace("<part-name>Piano</part-name>", "<part-name>&lol9;</part-name>")
    return _write(folder, "x01_billion_laughs.musicxml", text)


def x02_quadratic_blowup(folder: Path) -> Path:
    doctype = '<!DOCTYPE score-partwise [<!ENTITY a "' + "a" * 50_000 + '">]>'
    text = musicxml(measure(1, xnote()), doctype).replace(
        "<part-name>Piano</part-name>", "<part-name>" + "&a;" * 50_000 + "</part-name>")
    return _write(folder, "x02_quadratic_blowup.musicxml", text)


def x03_xxe(folder: Path) -> Path:
    doctype = '<!DOCTYPE score-partwise [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    text = musicxml(measure(1, xnote()), doctype).replace(
        "<part-name>Piano</part-name>", "<part-name>&xxe;</part-name>")
    return _write(folder, "x03_xxe.musicxml", text)


def x03b_xxe_parameter_entity(folder: Path) -> Path:
    doctype = '<!DOCTYPE score-partwise [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]>'
    return _write(folder, "x03b_xxe_parameter_entity.musicxml", musicxml(measure(1, xnote()), doctype))


def x03c_external_dtd(folder: Path) -> Path:
    doctype = '<!DOCTYPE score-partwise SYSTEM "file:///etc/passwd">'
    return _write(folder, "x03c_external_dtd.musicxml", musicxml(measure(1, xnote()), doctype))


def x04_deep_nesting(folder: Path) -> Path:
    depth = 200_000
    text = XML_HEAD + "<score-partwise>" + "<a>" * depth + "</a>" * depth + "</score-partwise>"
    return _write(folder, "x04_deep_nesting.musicxml", text)


def x05_note_1e9_quarters(folder: Path) -> Path:
    text = musicxml(measure(1, xnote(duration=1_000_000_000, kind="whole"), attributes()))
    return _write(folder, "x05_note_1e9_quarters.musicxml", text)


def x05b_tiny_divisions(folder: Path) -> Path:
    text = musicxml(measure(1, xnote(duration=4, kind="whole"), attributes(divisions="1e-300")))
    return _write(folder, "x05b_tiny_divisions.musicxml", text)


def x06_prime_divisions(folder: Path) -> Path:
    d = 10007
    text = musicxml(measure(1, xnote("C", duration=d) + xnote("D", duration=d) + xnote("E", duration=2 * d,
                                                                                     kind="half"),
                            attributes(divisions=d))
                    + measure(2, xnote("F", duration=3, kind="256th") + xnote("G", duration=4 * d - 3,
                                                                                 kind="whole")))
    return _write(folder, "x06_prime_divisions.musicxml", text)


def x07_30k_measures(folder: Path) -> Path:
    body = measure(1, xnote(duration=4, kind="whole"), attributes()) + "".join(
        measure(i, '<note><rest/><duration>4</duration><type>whole</type></note>') for i in range(2, 30_001))
    return _write(folder, "x07_30k_measures.musicxml", musicxml(body))


def _long_score(measures: int) -> str:
    body = measure(1, xnote(duration=4, kind="whole"), attributes()) + "".join(
        measure(i, xnote("CDEFGAB"[i % 7], duration=4, kind="whole")) for i in range(2, measures + 1))
    return musicxml(body)


def x07b_2k_measures(folder: Path) -> Path:
    # well under the measure limit: a long but legitimate score must read in time
    return _write(folder, "x07b_2k_measures.musicxml", _long_score(2_000))


def x07c_9999_measures(folder: Path) -> Path:
    # just under the default measure limit: read in ~8 s (music21 inserted measures in quadratic time: minutes)
    return _write(folder, "x07c_9999_measures.musicxml", _long_score(9_999))


def x08_encoding_lie(folder: Path) -> Path:
    text = valid_score_text().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    return _write(folder, "x08_encoding_lie.musicxml", text.replace("Piano", "Pianö"))


def x08b_latin1_undeclared(folder: Path) -> Path:
    text = valid_score_text().replace("Piano", "Pian\u00f6 \u00e9t\u00e9")
    return _write(folder, "x08b_latin1_undeclared.musicxml", text.encode("latin-1"))


def x09_score_timewise(folder: Path) -> Path:
    text = (XML_HEAD + '<score-timewise version="4.0">' + PART_LIST + '<measure number="1"><part id="P1">'
            + attributes() + xnote() + "</part></measure></score-timewise>\n")
    return _write(folder, "x09_score_timewise.musicxml", text)


def x10_truncated(folder: Path) -> Path:
    text = valid_score_text()
    return _write(folder, "x10_truncated.musicxml", text[: len(text) // 2])


def x11_divisions_zero(folder: Path) -> Path:
    return _write(folder, "x11_divisions_zero.musicxml", musicxml(measure(1, xnote(), attributes(divisions=0))))


def x11b_divisions_nan(folder: Path) -> Path:
    return _write(folder, "x11b_divisions_nan.musicxml",
                  musicxml(measure(1, xnote(), attributes(divisions="NaN"))))


def x11c_negative_duration(folder: Path) -> Path:
    return _write(folder, "x11c_negative_duration.musicxml",
                  musicxml(measure(1, xnote(duration=-4) + xnote("D"), attributes())))


def x11d_duration_not_a_number(folder: Path) -> Path:
    return _write(folder, "x11d_duration_not_a_number.musicxml",
                  musicxml(measure(1, xnote(duration="lots"), attributes())))


def x11e_huge_meter(folder: Path) -> Path:
    # music21 builds a meter's beat hierarchy in time quadratic in its beats: 100000/1 takes hours
    text = musicxml(measure(1, xnote(), attributes(beats=100_000, beat_type=1)))
    return _write(folder, "x11e_huge_meter.musicxml", text)


def x11g_many_large_meters(folder: Path) -> Path:
    # each under the per-meter bound, together minutes of music21 time
    body = "".join(measure(i, xnote(duration=4 * (64 + i), kind="whole"),
                           attributes(beats=64 + i, beat_type=4 if i % 2 else 3)) for i in range(1, 60))
    return _write(folder, "x11g_many_large_meters.musicxml", musicxml(body))


def x11h_tiny_bars(folder: Path) -> Path:
    # a 1/128 meter and 100 notes of 4096 quarters: 100 measures in the file, 13 million bars of 1/128
    body = measure(1, xnote(duration=4096, kind="whole"), attributes(beats=1, beat_type=128)) + "".join(
        measure(i, xnote(duration=4096, kind="whole")) for i in range(2, 101))
    head = ('<direction placement="above"><direction-type><metronome><beat-unit>quarter</beat-unit>'
            '<per-minute>2000</per-minute></metronome></direction-type><sound tempo="2000"/></direction>')
    return _write(folder, "x11h_tiny_bars.musicxml", musicxml(body.replace("<note>", head + "<note>", 1)))


def x11i_composite_meter(folder: Path) -> Path:
    text = musicxml(measure(1, xnote(duration=7, kind="whole"),
                            "<attributes><divisions>2</divisions><time><beats>2+2+3</beats>"
                            "<beat-type>8</beat-type></time></attributes>"))
    return _write(folder, "x11i_composite_meter.musicxml", text)


def x11f_not_musicxml_root(folder: Path) -> Path:
    return _write(folder, "x11f_html.xml", "<?xml version='1.0'?><html><body>hello</body></html>")


# ------------------------------------------------------------------------------------- .mxl archives

CONTAINER = ('<?xml version="1.0" encoding="UTF-8"?><container><rootfiles>'
             '<rootfile full-path="{}" media-type="application/vnd.recordare.musicxml+xml"/>'
             "</rootfiles></container>")


def _mxl(path: Path, members: dict[str, bytes | str], root: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/vnd.recordare.musicxml")
        if root is not None:
            zf.writestr("META-INF/container.xml", CONTAINER.format(root))
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def v03_valid_mxl(folder: Path) -> Path:
    return _mxl(folder / "v03_valid.mxl", {"score.musicxml": valid_score_text()}, root="score.musicxml")


def _zero_deflate(total: int, chunk: int = 16 << 20) -> tuple[bytes, int]:
    """Raw deflate data for ``total`` zero bytes, and their CRC-32, without holding them in memory.

    One ``chunk`` is compressed once and ended with a full flush (byte-aligned, no back references across
    it), so the same compressed bytes can be repeated; a final empty block ends the stream."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = comp.compress(bytes(chunk)) + comp.flush(zlib.Z_FULL_FLUSH)
    count, rest = divmod(total, chunk)
    assert rest == 0, "total must be a whole number of chunks"
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    crc = 0
    zeros = bytes(chunk)
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    return piece * count + final, crc


def _raw_zip(path: Path, members: list[tuple[str, bytes, int, int, int]]) -> Path:
    """A zip file written by hand: members are (name, deflated data, crc, declared uncompressed size,
    method). Lets a member lie about its size, which :mod:`zipfile` does not."""
    out = bytearray()
    central = bytearray()
    for name, data, crc, size, method in members:
        raw_name = name.encode("utf-8")
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size,
                           len(raw_name), 0) + raw_name + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data),
                               size, len(raw_name), 0, 0, 0, 0, 0, offset) + raw_name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    path.write_bytes(bytes(out + central + end))
    return path


def x12_deflate_bomb(folder: Path) -> Path:
    size = 3 << 30  # 3 GiB of zeros, about 3 MB compressed
    data, crc = _zero_deflate(size)
    container = CONTAINER.format("score.musicxml").encode()
    return _raw_zip(folder / "x12_deflate_bomb_3gib.mxl", [
        ("META-INF/container.xml", container, zlib.crc32(container), len(container), 0),
        ("score.musicxml", data, crc, size, 8),
    ])


def x12b_deflate_bomb_lying_size(folder: Path) -> Path:
    # the same bomb, but the headers claim 60 MB: under the size and ratio limits, so only a bounded read
    # (and the CRC) can catch it
    size = 1 << 30
    data, crc = _zero_deflate(size)
    container = CONTAINER.format("score.musicxml").encode()
    return _raw_zip(folder / "x12b_deflate_bomb_lying_size.mxl", [
        ("META-INF/container.xml", container, zlib.crc32(container), len(container), 0),
        ("score.musicxml", data, crc, 60 << 20, 8),
    ])


def x12c_high_ratio_member(folder: Path) -> Path:
    # a legitimate-looking score padded with 20 MB of whitespace: ratio far over 200
    text = valid_score_text().replace("</score-partwise>", " " * (20 << 20) + "</score-partwise>")
    return _mxl(folder / "x12c_high_ratio_member.mxl", {"score.musicxml": text}, root="score.musicxml")


def x13_nested_mxl(folder: Path) -> Path:
    inner = v03_valid_mxl(folder).read_bytes()
    return _mxl(folder / "x13_nested.mxl", {"inner.mxl": inner}, root="inner.mxl")


def x13b_nested_mxl_no_container(folder: Path) -> Path:
    inner = v03_valid_mxl(folder).read_bytes()
    return _mxl(folder / "x13b_nested_no_container.mxl", {"inner.mxl": inner})


def x14_zip_slip(folder: Path) -> Path:
    return _mxl(folder / "x14_zip_slip.mxl", {"../../evil.xml": valid_score_text()}, root="../../evil.xml")


def x14b_absolute_member(folder: Path) -> Path:
    return _mxl(folder / "x14b_absolute_member.mxl", {"/tmp/evil.xml": valid_score_text()},
                root="/tmp/evil.xml")


def x14c_rootfile_missing(folder: Path) -> Path:
    return _mxl(folder / "x14c_rootfile_missing.mxl", {"score.musicxml": valid_score_text()},
                root="../../etc/passwd")


def x15_50k_members(folder: Path) -> Path:
    body = b"<a/>"
    crc = zlib.crc32(body)
    members = [(f"m{i:05d}.xml", body, crc, len(body), 0) for i in range(50_000)]
    return _raw_zip(folder / "x15_50k_members.mxl", members)


def x16_fake_zip(folder: Path) -> Path:
    return _write(folder, "x16_fake_zip.mxl", "This is not a zip archive, just text with an .mxl name.\n")


def x16b_truncated_zip(folder: Path) -> Path:
    data = v03_valid_mxl(folder).read_bytes()
    return _write(folder, "x16b_truncated_zip.mxl", data[: len(data) - 30])


def x16d_unsupported_compression(folder: Path) -> Path:
    text = valid_score_text().encode()
    return _raw_zip(folder / "x16d_unsupported_compression.mxl",
                    [("score.musicxml", text, zlib.crc32(text), len(text), 1)])  # method 1: "shrink"


def x16e_encrypted_member(folder: Path) -> Path:
    path = _raw_zip(folder / "x16e_encrypted_member.mxl", [("score.musicxml", b"\x00" * 64, 0, 52, 0)])
    data = bytearray(path.read_bytes())
    data[6] |= 1  # general-purpose flag bit 0: encrypted (local header)
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1  # and in the central directory
    path.write_bytes(bytes(data))
    return path


def x16c_corrupt_member(folder: Path) -> Path:
    path = v03_valid_mxl(folder)
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo("score.musicxml")
    start = info.header_offset + 30 + len(info.filename) + 10
    data[start : start + 40] = b"\xff" * 40
    return _write(folder, "x16c_corrupt_member.mxl", bytes(data))


# ----------------------------------------------------------------------------------------------- ABC

ABC_TUNE = "X:{n}\nT:Tune {n}\nM:4/4\nL:1/8\nK:G\nGABc dedB|dedB dedB|c2ec B2dB|c2A2 A4|\n"


def v04_valid_abc(folder: Path) -> Path:
    return _write(folder, "v04_valid.abc", ABC_TUNE.format(n=1))


def a01_latin1_nul(folder: Path) -> Path:
    text = "X:1\nT:Caf\xe9 \x00cr\xe8me\nM:4/4\nL:1/4\nK:C\nCDEF|\x00GABc|\n"
    return _write(folder, "a01_latin1_nul.abc", text.encode("latin-1"))


def a02_note_1e9_units(folder: Path) -> Path:
    return _write(folder, "a02_note_1e9_units.abc", "X:1\nT:Long\nM:4/4\nL:1/4\nK:C\nC1000000000|\n")


def a02b_long_note_5_digits(folder: Path) -> Path:
    # under the 6-digit pre-check, still 99999 whole notes: the note-length limit must catch it
    return _write(folder, "a02b_long_note_5_digits.abc", "X:1\nT:Long\nM:4/4\nL:1/1\nK:C\nC99999|\n")


def a02c_huge_unit_length(folder: Path) -> Path:
    return _write(folder, "a02c_huge_unit_length.abc", "X:1\nT:Long\nM:4/4\nL:100000/1\nK:C\nCDEF|\n")


def a02d_unit_length_5000_digits(folder: Path) -> Path:
    return _write(folder, "a02d_unit_length_5000_digits.abc", "X:1\nM:4/4\nL:1/" + "9" * 5000 + "\nK:C\nCDEF|\n")


def a03_20k_tunes(folder: Path) -> Path:
    return _write(folder, "a03_20k_tunes.abc", "".join(ABC_TUNE.format(n=i) + "\n" for i in range(1, 20_001)))


def a04_bracket_garbage(folder: Path) -> Path:
    body = "[[[[((((({{{{" * 2000 + "]]]])))))}}}}" * 500 + "|:" * 1000 + "[|]" * 1000
    return _write(folder, "a04_bracket_garbage.abc", f"X:1\nT:Garbage\nM:4/4\nK:C\n{body}\n")


def a05_meter_zero(folder: Path) -> Path:
    return _write(folder, "a05_meter_zero.abc", "X:1\nT:Zero\nM:0/0\nL:1/4\nK:C\nCDEF|\n")


def a05b_inline_meter_zero(folder: Path) -> Path:
    return _write(folder, "a05b_inline_meter_zero.abc", "X:1\nT:Zero\nM:4/4\nL:1/4\nK:C\nCDEF|[M:0/0]CDEF|\n")


def a05c_huge_meter(folder: Path) -> Path:
    return _write(folder, "a05c_huge_meter.abc", "X:1\nT:Huge\nM:100000/4\nL:1/4\nK:C\nCDEF|\n")


def a05d_huge_inline_meter(folder: Path) -> Path:
    return _write(folder, "a05d_huge_inline_meter.abc", "X:1\nT:Huge\nM:4/4\nL:1/4\nK:C\nCDEF|[M:1000/4]CDEF|\n")


def a05e_meter_5000_digits(folder: Path) -> Path:
    return _write(folder, "a05e_meter_5000_digits.abc", "X:1\nM:" + "9" * 5000 + "/4\nL:1/4\nK:C\nCDEF|\n")


def a05f_meter_denominator_5000_digits(folder: Path) -> Path:
    return _write(folder, "a05f_meter_denominator_5000_digits.abc",
                  "X:1\nM:4/" + "9" * 5000 + "\nL:1/4\nK:C\nCDEF|\n")


def a06_no_tunes(folder: Path) -> Path:
    return _write(folder, "a06_whitespace_only.abc", "\n\n   \n\t\n")


def a07_binary_as_abc(folder: Path) -> Path:
    rng = random.Random(7)
    return _write(folder, "a07_binary.abc", b"X:1\n" + bytes(rng.getrandbits(8) for _ in range(20_000)))


# ------------------------------------------------------------------------------------------- Humdrum


def v05_valid_kern(folder: Path) -> Path:
    text = "**kern\n*M4/4\n*k[]\n=1-\n4c\n4d\n4e\n4f\n=2\n1g\n==\n*-\n"
    return _write(folder, "v05_valid.krn", text)


def h01_spine_garbage(folder: Path) -> Path:
    lines = ["**kern\t**kern", "*^\t*", "4c\t4d\t4e", "*v\t*v\t*^\t*^", "4c", "*x\t*x\t*x\t*x\t*x",
             "=1\t=1\t=1\t=1\t=1\t=1\t=1", "4cc\t*-"] * 50 + ["*-"]
    return _write(folder, "h01_spine_garbage.krn", "\n".join(lines) + "\n")


def h02_huge_duration(folder: Path) -> Path:
    text = "**kern\n*M4/4\n=1\n1%1000000000c\n4d\n==\n*-\n"
    return _write(folder, "h02_huge_duration.krn", text)


def h02b_many_dots(folder: Path) -> Path:
    text = "**kern\n*M4/4\n=1\n0000" + "." * 5000 + "c\n==\n*-\n"
    return _write(folder, "h02b_many_dots.krn", text)


def h03_huge_meter(folder: Path) -> Path:
    return _write(folder, "h03_huge_meter.krn", "**kern\n*M100000/1\n=1\n4c\n4d\n==\n*-\n")


def h04_not_humdrum(folder: Path) -> Path:
    return _write(folder, "h04_not_humdrum.krn", "just some words\nand more\n")


# ---------------------------------------------------------------------------------------------- JSON


def _json_doc(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "format": "cadenza-score", "version": 1, "ticks_per_quarter": 3360,
        "metadata": {"title": "t"}, "pickup_ticks": 0, "length_ticks": 0,
        "parts": [{"name": "Piano", "program": 0, "is_drum": False}],
        "time_signatures": [[0, 4, 4]], "key_signatures": [], "tempos": [[0, 120.0]],
        "notes": {"onset_ticks": [0], "duration_ticks": [3360], "pitch": [60], "velocity": [80], "part": [0]},
    }
    doc.update(changes)
    return doc


def v06_valid_json(folder: Path) -> Path:
    return _write(folder, "v06_valid.json", json.dumps(_json_doc()))


def j01_deep_nesting(folder: Path) -> Path:
    return _write(folder, "j01_deep_nesting.json", "[" * 200_000 + "]" * 200_000)


def j02_bad_values(folder: Path) -> Path:
    notes = {"onset_ticks": [0], "duration_ticks": [-5], "pitch": [900], "velocity": [0], "part": [7]}
    return _write(folder, "j02_bad_values.json", json.dumps(_json_doc(notes=notes)))


def j03_tiny_bars(folder: Path) -> Path:
    # 2000 bpm, 1/128 meter, just under 6 hours long: 23 million bars
    doc = _json_doc(time_signatures=[[0, 1, 128]], tempos=[[0, 2000.0]], length_ticks=700_000 * 3360)
    return _write(folder, "j03_tiny_bars.json", json.dumps(doc))


def j04_wrong_types(folder: Path) -> Path:
    return _write(folder, "j04_wrong_types.json", json.dumps(_json_doc(parts="Piano", tempos=[["x", None]])))


# ----------------------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[Path], Path]
    expect: str  # "ok", "error" or "either"
    message: str = ""  # for "error": a fragment the error message must contain
    known_failure: str = ""  # why the case fails today (outside the readers); the test marks it xfail


CASES: tuple[Case, ...] = (
    # valid edge files
    Case("v01-valid-midi", v01_valid_midi, "ok"),
    Case("v02-valid-musicxml", v02_valid_musicxml, "ok"),
    Case("v03-valid-mxl", v03_valid_mxl, "ok"),
    Case("v04-valid-abc", v04_valid_abc, "ok"),
    Case("v05-valid-kern", v05_valid_kern, "ok"),
    Case("v06-valid-json", v06_valid_json, "ok"),
    # SMF
    Case("s01-truncated-header", s01_truncated_header, "error", "truncated"),
    Case("s02-header-length-4gib", s02_header_length_4gib, "error", "header"),
    Case("s03-65535-tracks-declared", s03_65535_tracks_declared, "ok"),
    Case("s03b-65535-real-tracks", s03b_65535_real_tracks, "error", "--max-tracks"),
    Case("s04-track-length-2gib", s04_track_length_2gib, "ok"),
    Case("s05-max-deltas", s05_max_deltas, "error", "--max-"),
    Case("s05b-max-delta-end-of-track", s05b_max_delta_end_of_track, "error", "--max-duration-s"),
    Case("s06-vlq-8-bytes", s06_vlq_8_bytes, "ok"),
    Case("s07-tempo-zero", s07_tempo_zero, "ok"),
    Case("s08-slowest-tempo-long-note", s08_slowest_tempo_long_note, "error", "--max-"),
    Case("s09-division-zero", s09_division_zero, "error", "division"),
    Case("s10-smpte-division", s10_smpte_division, "ok"),
    Case("s11-100k-overlapping-same-pitch", s11_overlapping_same_pitch, "ok"),
    Case("s12-note-on-without-off", s12_note_on_without_off, "ok"),
    Case("s13-running-status-at-track-start", s13_running_status_at_track_start, "ok"),
    Case("s14-sysex-length-268mb", s14_sysex_length_268mb, "ok"),
    Case("s14b-meta-length-268mb", s14b_meta_length_268mb, "ok"),
    Case("s15-data-bytes-over-127", s15_data_bytes_over_127, "ok"),
    Case("s16-random-body", s16_random_body, "either"),
    Case("s16b-random-track-chunks", s16b_random_track_chunks, "either"),
    Case("s17-200k-tempo-events", s17_200k_tempo_events, "ok"),
    Case("s18-320k-notes", s18_320k_notes, "ok"),
    Case("s18b-1m-note-ons", s18b_1m_note_ons, "error", "--max-notes"),
    Case("s19-riff-rmid", s19_riff_rmid, "ok"),
    Case("s20-trailing-junk", s20_trailing_junk, "ok"),
    Case("s21-not-midi", s21_not_midi, "error", "not a MIDI file"),
    Case("s22-tiny-bars", s22_tiny_bars, "error", "--max-measures"),
    Case("s22b-100k-meter-changes", s22b_meter_change_every_bar, "error", "--max-measures"),
    Case("s22c-9k-meter-changes", s22c_9k_meter_changes, "ok"),
    Case("s23-format-2", s23_format_2_many_sequences, "ok"),
    Case("s24-unknown-format", s24_unknown_format, "error", "format"),
    Case("s25-header-only", s25_header_only_declares_tracks, "error", "no tracks"),
    # MusicXML
    Case("x01-billion-laughs", x01_billion_laughs, "error", "entit"),
    Case("x02-quadratic-blowup", x02_quadratic_blowup, "error", "entit"),
    Case("x03-xxe", x03_xxe, "error", "entit"),
    Case("x03b-xxe-parameter-entity", x03b_xxe_parameter_entity, "error", "entit"),
    Case("x03c-external-dtd", x03c_external_dtd, "either"),
    Case("x04-deep-nesting", x04_deep_nesting, "error", "--max-xml-depth"),
    Case("x05-note-1e9-quarters", x05_note_1e9_quarters, "error", "--max-note-quarters"),
    Case("x05b-tiny-divisions", x05b_tiny_divisions, "error", "--max-note-quarters"),
    Case("x06-prime-divisions", x06_prime_divisions, "ok"),
    Case("x07-30k-measures", x07_30k_measures, "error", "--max-measures"),
    Case("x07b-2k-measures", x07b_2k_measures, "ok"),
    # music21 inserts measures in quadratic time (~30 s for 10,000): the default --timeout-s (8) stops it
    Case("x07c-9999-measures", x07c_9999_measures, "ok"),
    Case("x08-encoding-lie", x08_encoding_lie, "either"),
    Case("x08b-latin1-undeclared", x08b_latin1_undeclared, "either"),
    Case("x09-score-timewise", x09_score_timewise, "either"),
    Case("x10-truncated", x10_truncated, "error", "XML"),
    Case("x11-divisions-zero", x11_divisions_zero, "error", "divisions"),
    Case("x11b-divisions-nan", x11b_divisions_nan, "error", "divisions"),
    Case("x11c-negative-duration", x11c_negative_duration, "either"),
    Case("x11d-duration-not-a-number", x11d_duration_not_a_number, "error", "duration"),
    Case("x11e-huge-meter", x11e_huge_meter, "error", "implausible"),
    Case("x11g-many-large-meters", x11g_many_large_meters, "error", "time signatures"),
    Case("x11h-tiny-bars", x11h_tiny_bars, "error", "--max-measures"),
    Case("x11i-composite-meter", x11i_composite_meter, "ok"),
    Case("x11f-not-musicxml-root", x11f_not_musicxml_root, "error", "not a MusicXML score"),
    # .mxl
    Case("x12-deflate-bomb-3gib", x12_deflate_bomb, "error", "--max-"),
    Case("x12b-deflate-bomb-lying-size", x12b_deflate_bomb_lying_size, "error"),
    Case("x12c-high-ratio-member", x12c_high_ratio_member, "error", "--max-compression-ratio"),
    Case("x13-nested-mxl", x13_nested_mxl, "error", "nested"),
    Case("x13b-nested-mxl-no-container", x13b_nested_mxl_no_container, "error"),
    Case("x14-zip-slip", x14_zip_slip, "either"),
    Case("x14b-absolute-member", x14b_absolute_member, "either"),
    Case("x14c-rootfile-missing", x14c_rootfile_missing, "error"),
    Case("x15-50k-members", x15_50k_members, "error", "--max-archive-members"),
    Case("x16-fake-zip", x16_fake_zip, "error", "zip"),
    Case("x16b-truncated-zip", x16b_truncated_zip, "error"),
    Case("x16c-corrupt-member", x16c_corrupt_member, "error"),
    Case("x16d-unsupported-compression", x16d_unsupported_compression, "error"),
    Case("x16e-encrypted-member", x16e_encrypted_member, "error"),
    # ABC
    Case("a01-latin1-nul", a01_latin1_nul, "ok"),
    Case("a02-note-1e9-units", a02_note_1e9_units, "error", "length"),
    Case("a02b-long-note-5-digits", a02b_long_note_5_digits, "error", "--max-"),
    Case("a02c-huge-unit-length", a02c_huge_unit_length, "either"),
    Case("a02d-unit-length-5000-digits", a02d_unit_length_5000_digits, "either"),
    Case("a03-20k-tunes", a03_20k_tunes, "ok"),
    Case("a04-bracket-garbage", a04_bracket_garbage, "either"),
    Case("a05-meter-zero", a05_meter_zero, "error", "M:0/0"),
    Case("a05b-inline-meter-zero", a05b_inline_meter_zero, "either"),
    Case("a05c-huge-meter", a05c_huge_meter, "error", "implausible"),
    Case("a05d-huge-inline-meter", a05d_huge_inline_meter, "error", "implausible"),
    Case("a05e-meter-5000-digits", a05e_meter_5000_digits, "error"),
    Case("a05f-meter-denominator-5000-digits", a05f_meter_denominator_5000_digits, "either"),
    Case("a06-whitespace-only", a06_no_tunes, "error", "empty"),
    Case("a07-binary", a07_binary_as_abc, "either"),
    # Humdrum
    Case("h01-spine-garbage", h01_spine_garbage, "either"),
    Case("h02-huge-duration", h02_huge_duration, "either"),
    Case("h02b-many-dots", h02b_many_dots, "either"),
    Case("h03-huge-meter", h03_huge_meter, "error", "implausible"),
    Case("h04-not-humdrum", h04_not_humdrum, "either"),
    # Cadenza JSON
    Case("j01-deep-nesting", j01_deep_nesting, "error"),
    Case("j02-bad-values", j02_bad_values, "error"),
    Case("j03-tiny-bars", j03_tiny_bars, "error", "--max-measures"),
    Case("j04-wrong-types", j04_wrong_types, "error"),
)


def generate_all(folder: Path) -> dict[str, Path]:
    """Write every case into ``folder`` (each in its own subfolder); case id -> file."""
    out = {}
    for case in CASES:
        sub = folder / case.id
        sub.mkdir(parents=True, exist_ok=True)
        out[case.id] = case.make(sub)
    return out
