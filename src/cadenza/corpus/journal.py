"""The journal of a corpus build: every work is on disk the moment its reading finishes.

A reader (a worker process, or the build itself with one worker) appends one record per work to the journal
file of its task, ``<corpus>/journal/NNNNNN.rec``, as soon as the work is read: its build-log row and its notes.
The build commits works to the log and a notes shard every few seconds and then deletes the journal files of
the tasks it committed; a build killed before that (kill -9, a power cut of the parent only) leaves the
records behind, and the next build replays them into a shard and the log before it decides what to read, so
it reads again only the works that were still being read.

A record is written with a single ``write`` on a file opened for appending and is not fsynced: a kill -9
loses nothing the kernel was given, and a whole-machine crash is not covered. Its layout::

    b"CJR1"  uint32 row length  uint64 notes length  uint32 CRC-32 of both   row (JSON)  notes (.npy bytes)

A record cut short (the reader killed inside its write) or whose checksum does not match ends the replay of
its file: the records before it are kept, it and anything after it are dropped (its work is read again).
"""

from __future__ import annotations

import io
import json
import logging
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.score.model import NOTE_DTYPE

log = logging.getLogger(__name__)

MAGIC = b"CJR1"
_HEADER = struct.Struct("<4sIQI")  # magic, row length, notes length, CRC-32 of row and notes
MAX_ROW_BYTES = 64 * 1024 * 1024  # a longer length field is damage, not a record
MAX_NOTES_BYTES = 8 * 1024 * 1024 * 1024

Finished = tuple[dict[str, Any], np.ndarray | None]  # a work read: its log row, and its notes if it was read


def encode_record(row: dict[str, Any], notes: np.ndarray | None) -> bytes:
    """The bytes of one journal record (``notes`` None for a work that failed)."""
    row_bytes = json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    notes_bytes = b""
    if notes is not None:
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(notes, dtype=NOTE_DTYPE), allow_pickle=False)
        notes_bytes = buf.getvalue()
    crc = zlib.crc32(notes_bytes, zlib.crc32(row_bytes))
    return _HEADER.pack(MAGIC, len(row_bytes), len(notes_bytes), crc) + row_bytes + notes_bytes


def append_record(path: Path, row: dict[str, Any], notes: np.ndarray | None) -> None:
    """Append one work to the journal file ``path`` in a single write (kept by the kernel even if this
    process is killed right after; a kill inside the write leaves a torn record that replay drops)."""
    data = encode_record(row, notes)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def read_records(path: Path) -> list[Finished]:
    """The whole records of one journal file, in order; reading stops at the first torn or damaged one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.warning("journal %s cannot be read (%s): its works are read again", path.name, exc)
        return []
    records: list[Finished] = []
    pos = 0
    while pos < len(data):
        record, pos_after = _decode_at(data, pos)
        if record is None:
            log.warning("journal %s: a torn or damaged record at byte %d of %d dropped (its work is read "
                        "again)", path.name, pos, len(data))
            break
        records.append(record)
        pos = pos_after
    return records


def _decode_at(data: bytes, pos: int) -> tuple[Finished | None, int]:
    if len(data) - pos < _HEADER.size:
        return None, pos
    magic, row_len, notes_len, crc = _HEADER.unpack_from(data, pos)
    start = pos + _HEADER.size
    end = start + row_len + notes_len
    if magic != MAGIC or row_len > MAX_ROW_BYTES or notes_len > MAX_NOTES_BYTES or end > len(data):
        return None, pos
    row_bytes = data[start:start + row_len]
    notes_bytes = data[start + row_len:end]
    if zlib.crc32(notes_bytes, zlib.crc32(row_bytes)) != crc:
        return None, pos
    try:
        row = json.loads(row_bytes.decode("utf-8"))
        notes = np.load(io.BytesIO(notes_bytes), allow_pickle=False) if notes_len else None
    except (ValueError, UnicodeDecodeError, OSError, EOFError):
        return None, pos
    if not isinstance(row, dict) or (notes is not None and notes.dtype != NOTE_DTYPE):
        return None, pos
    return (row, notes), end


def journal_files(folder: Path) -> list[Path]:
    """The journal files left in ``folder``, oldest task first."""
    return sorted(folder.glob("*.rec")) if folder.is_dir() else []


def remove(paths: list[Path]) -> None:
    """Delete journal files whose works are committed (missing ones are fine)."""
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
