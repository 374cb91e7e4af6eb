"""The sorted k-gram tables of an originality index, kept on disk between runs.

Every ``compose``, ``continue`` and ``check`` loads the index of its model's training works, and building its
tables (hashing some 6.5 million k-grams and sorting them) took most of that load: 1.3 s of a 3.4 s ``cadenza
compose`` of 16 bars on the 2-core machine. The first load writes each table's sorted keys and positions as
plain ``.npy`` files in a folder named for the index file's content hash; later loads map them from disk
(``mmap_mode="r"``: a lookup reads only the pages it searches).

The folder is ``$CADENZA_CACHE/originality`` (default ``$XDG_CACHE_HOME/cadenza`` or ``~/.cache/cadenza``). It
holds nothing a user made: it can be deleted at any time, and where it cannot be written or read (a read-only
home, a damaged file) the tables are built as before, and nothing else changes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from cadenza.originality.table import KGramTable

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bumped when the tables' layout or hashing changes


def cache_root() -> Path:
    """Where cached tables live: ``$CADENZA_CACHE``, else ``$XDG_CACHE_HOME/cadenza``, else ``~/.cache/cadenza``."""
    if os.environ.get("CADENZA_CACHE"):
        return Path(os.environ["CADENZA_CACHE"])
    base = Path(os.environ["XDG_CACHE_HOME"]) if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "cadenza"


def table_folder(index_file: str | os.PathLike[str], settings: str) -> Path:
    """The folder of one index file's tables: named for its content and the tables' ``settings`` (the k's)."""
    digest = hashlib.sha256()
    with Path(index_file).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    digest.update(f"v{CACHE_VERSION} {settings}".encode())
    return cache_root() / "originality" / digest.hexdigest()[:32]


def load_table(folder: Path, name: str, stream: np.ndarray, k: int) -> KGramTable | None:
    """The table ``name`` cached in ``folder`` over ``stream``, or None where it is missing or does not fit."""
    try:
        keys = np.load(folder / f"{name}.keys.npy", mmap_mode="r", allow_pickle=False)
        positions = np.load(folder / f"{name}.positions.npy", mmap_mode="r", allow_pickle=False)
        shift = int(np.load(folder / f"{name}.shift.npy", allow_pickle=False))
    except (OSError, ValueError, TypeError):
        return None
    if keys.dtype != np.uint64 or positions.dtype != np.int32 or keys.shape != positions.shape or keys.ndim != 1 \
            or not 1 <= shift < 64 or (len(positions) and int(positions.max()) >= len(stream)):
        log.info("originality cache %s: %s does not fit; building it", folder, name)
        return None
    return KGramTable.from_sorted(stream, k, keys, positions, shift)


def save_tables(folder: Path, tables: dict[str, KGramTable]) -> None:
    """Write ``tables`` into ``folder`` whole (a new folder takes its place at once), or nothing where it fails."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=folder.parent))
        try:
            for name, table in tables.items():
                np.save(staging / f"{name}.keys.npy", np.ascontiguousarray(table.keys, dtype=np.uint64))
                np.save(staging / f"{name}.positions.npy", np.ascontiguousarray(table.positions, dtype=np.int32))
                np.save(staging / f"{name}.shift.npy", np.array(int(table.shift), dtype=np.int64))
            if folder.exists():  # a damaged one (a table that did not fit): replaced whole
                shutil.rmtree(folder, ignore_errors=True)
            staging.replace(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        log.info("originality cache %s not written: %s", folder, exc)
