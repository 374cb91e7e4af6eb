"""The MIDI writer and reader: exact round trips, and what other tools see in our files."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from cadenza.errors import CorruptFileError
from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import ReadLimits, Score, read_score, write_score
from cadenza.score.midi_read import read_midi_bytes
from cadenza.score.midi_write import midi_bytes
from tests.conftest import note_tuples


def test_round_trip_is_exact_apart_from_the_pickup_shift(waltz: Score, tmp_path: Path) -> None:
    path = write_score(waltz, tmp_path / "w.mid")
    back = read_score(path)
    shift = 3 * Q - Q  # the pickup becomes a full bar with two beats of silence before it
    assert note_tuples(back) == [(o + shift, d, p, part) for o, d, p, part in note_tuples(waltz)]
    assert back.parts == waltz.parts
    assert back.metadata.title == "Test waltz" and back.metadata.composer == "Nobody"
    assert back.metadata.licence == "CC0"
    assert [str(k) for k in back.key_signatures] == ["G major", "D minor"]
    assert [t.bpm for t in back.tempos] == pytest.approx([96.0, 72.0], rel=1e-5)
    assert back.key_signatures[1].onset_ticks == 7 * Q + shift
    assert back.length_ticks == waltz.length_ticks + shift
    # a second trip changes nothing
    again = read_score(write_score(back, tmp_path / "w2.mid"))
    assert note_tuples(again) == note_tuples(back) and again.parts == back.parts


def test_mido_reads_our_file_with_the_same_notes(waltz: Score, tmp_path: Path) -> None:
    path = write_score(waltz, tmp_path / "w.mid")
    mid = mido.MidiFile(path)
    assert mid.type == 1 and mid.ticks_per_beat == Q and len(mid.tracks) == 3
    names = [t.name for t in mid.tracks[1:]]
    assert names == ["Violin", "Cello"]
    programs = [m.program for t in mid.tracks for m in t if m.type == "program_change"]
    assert programs == [40, 42]
    ons = sum(1 for t in mid.tracks for m in t if m.type == "note_on" and m.velocity > 0)
    assert ons == waltz.note_count


def _smf(tracks: list[bytes], fmt: int = 1, division: int = 480) -> bytes:
    out = b"MThd" + (6).to_bytes(4, "big") + fmt.to_bytes(2, "big") + len(tracks).to_bytes(2, "big")
    out += division.to_bytes(2, "big")
    for body in tracks:
        out += b"MTrk" + len(body).to_bytes(4, "big") + body
    return out


def test_type0_splits_channels_and_marks_drums() -> None:
    body = bytes([0x00, 0xC0, 24, 0x00, 0x90, 60, 100, 0x00, 0x99, 36, 100,
                  0x83, 0x60, 0x80, 60, 0, 0x00, 0x89, 36, 0, 0x00, 0xFF, 0x2F, 0x00])
    score, warnings = read_midi_bytes(_smf([body], fmt=0), ReadLimits())
    assert warnings == []
    assert [(p.program, p.is_drum) for p in score.parts] == [(24, False), (0, True)]
    assert note_tuples(score) == [(0, Q, 36, 1), (0, Q, 60, 0)]


def test_running_status_velocity_zero_and_dangling_notes() -> None:
    # note-on C, running-status note-on E, C off via velocity 0, E never released
    body = bytes([0x00, 0x90, 60, 90, 0x00, 64, 90, 0x83, 0x60, 60, 0, 0x83, 0x60, 0xFF, 0x2F, 0x00])
    score, warnings = read_midi_bytes(_smf([body]), ReadLimits())
    assert note_tuples(score) == [(0, Q, 60, 0), (0, 2 * Q, 64, 0)]
    assert any("without a note-off" in w for w in warnings)


def test_overlapping_unisons_pair_first_on_first_off() -> None:
    body = bytes([0x00, 0x90, 60, 90, 0x60, 0x90, 60, 90, 0x60, 0x80, 60, 0, 0x60, 0x80, 60, 0,
                  0x00, 0xFF, 0x2F, 0x00])
    score, _ = read_midi_bytes(_smf([body], division=96), ReadLimits())
    assert note_tuples(score) == [(0, 2 * Q, 60, 0), (Q, 2 * Q, 60, 0)]


def test_not_midi_and_limits() -> None:
    with pytest.raises(CorruptFileError, match="not a MIDI file"):
        read_midi_bytes(b"hello, world!!!", ReadLimits())
    long_note = bytes([0x00, 0x90, 60, 90, 0x8F, 0xFF, 0xFF, 0x7F, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00])
    with pytest.raises(Exception, match="--max-duration-s"):
        read_midi_bytes(_smf([long_note], division=24), ReadLimits())
    score, _ = read_midi_bytes(_smf([long_note], division=24), ReadLimits(max_duration_s=1e9,
                                                                           max_note_quarters=1e9))
    assert score.note_count == 1


def test_rewriting_what_was_read_gives_identical_bytes(waltz: Score) -> None:
    no_pickup = waltz.replace(pickup_ticks=0)
    data = midi_bytes(no_pickup)
    score, warnings = read_midi_bytes(data, ReadLimits())
    assert warnings == []
    assert midi_bytes(score) == data
