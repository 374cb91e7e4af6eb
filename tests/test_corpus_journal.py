"""The journal of a corpus build: a work is on disk the moment it is read, a torn or damaged record is dropped
on replay (its work read again), and the next build replays what a killed one left."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cadenza.corpus import journal
from cadenza.score.model import NOTE_DTYPE


def _work(number: int, notes: int) -> tuple[dict[str, Any], np.ndarray]:
    row = {"id": f"w{number}", "status": "ok", "notes": notes, "title": "Lä ♪", "labels": {"mood": "calm"}}
    array = np.zeros(notes, dtype=NOTE_DTYPE)
    array["onset_ticks"] = np.arange(notes) * 480
    array["pitch"] = 60 + number
    return row, array


def test_records_read_back_as_written_failures_without_notes(tmp_path: Path) -> None:
    path = tmp_path / "000001.rec"
    written = [_work(1, 5), ({"id": "w2", "status": "failed", "reason": "bad"}, None), _work(3, 0)]
    for row, notes in written:
        journal.append_record(path, row, notes)
    back = journal.read_records(path)
    assert [row for row, _ in back] == [row for row, _ in written]
    assert back[1][1] is None
    for (_, got), (_, want) in zip(back, written, strict=True):
        if want is not None:
            assert got is not None and got.dtype == NOTE_DTYPE and np.array_equal(got, want)


def test_a_record_cut_anywhere_is_dropped_and_the_ones_before_it_kept(tmp_path: Path) -> None:
    """A reader killed inside its write leaves the start of a record: at every cut, the whole records before
    it are read back and the torn one is not (nor misread)."""
    whole = tmp_path / "whole.rec"
    for number in range(3):
        journal.append_record(whole, *_work(number, 7))
    data = whole.read_bytes()
    two = len(journal.encode_record(*_work(0, 7))) * 2  # the records are the same size
    cut = tmp_path / "cut.rec"
    for end in range(two, len(data)):
        cut.write_bytes(data[:end])
        assert [row["id"] for row, _ in journal.read_records(cut)] == ["w0", "w1"], end
    cut.write_bytes(data)
    assert len(journal.read_records(cut)) == 3


@pytest.mark.parametrize("where", ["magic", "length", "row", "notes"])
def test_a_damaged_record_ends_the_replay_of_its_file(tmp_path: Path, where: str) -> None:
    path = tmp_path / "000001.rec"
    for number in range(3):
        journal.append_record(path, *_work(number, 4))
    size = len(journal.encode_record(*_work(0, 4)))
    data = bytearray(path.read_bytes())
    offset = {"magic": 0, "length": 4, "row": 30, "notes": size - 3}[where]
    data[size + offset] ^= 0xFF  # the second record
    path.write_bytes(bytes(data))
    assert [row["id"] for row, _ in journal.read_records(path)] == ["w0"]


def test_missing_and_empty_journals_hold_nothing(tmp_path: Path) -> None:
    assert journal.journal_files(tmp_path / "nowhere") == []
    (tmp_path / "000002.rec").write_bytes(b"")
    (tmp_path / "000001.rec").write_bytes(b"CJR")
    assert [p.name for p in journal.journal_files(tmp_path)] == ["000001.rec", "000002.rec"]
    assert all(journal.read_records(p) == [] for p in journal.journal_files(tmp_path))
    journal.remove([*journal.journal_files(tmp_path), tmp_path / "gone.rec"])
    assert journal.journal_files(tmp_path) == []
