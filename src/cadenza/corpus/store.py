"""A corpus on disk: one folder per corpus under the corpus home.

    <home>/<name>/corpus.json        format name and version, sources, dates, counts
    <home>/<name>/log.jsonl          every work read, appended as the build goes (resume reads it back)
    <home>/<name>/shards/NNNNN.npz   the works' notes, concatenated, with offsets
    <home>/<name>/journal/*.rec      works read but not yet in the log (see corpus.journal; a build replays them)
    <home>/<name>/manifest.jsonl     the finished manifest: one row per work, with its split and group
    <home>/<name>/failures.jsonl     the works that could not be read, with the reason

The home is ``$CADENZA_HOME/corpora``, else ``$XDG_CACHE_HOME/cadenza/corpora``, else
``~/.cache/cadenza/corpora``. The format is versioned: a corpus written by another version is rebuilt, not
misread.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.errors import InputError, UsageError
from cadenza.files import atomic_write_bytes
from cadenza.score.json_io import NOTE_FIELDS, score_from_dict
from cadenza.score.limits import ReadLimits
from cadenza.score.model import NOTE_DTYPE, Score

FORMAT_NAME = "cadenza-corpus"
FORMAT_VERSION = 1
DEFAULT_NAME = "default"


def corpus_home() -> Path:
    if os.environ.get("CADENZA_HOME"):
        return Path(os.environ["CADENZA_HOME"]) / "corpora"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "cadenza" / "corpora"


def _check_name(name: str) -> str:
    if not name or "/" in name or name.startswith(".") or len(name) > 64:
        raise UsageError(f"invalid corpus name {name!r}: use letters, digits, '-' or '_'")
    return name


class CorpusStore:
    """Reading and writing one corpus folder."""

    def __init__(self, name: str = DEFAULT_NAME, home: Path | None = None) -> None:
        self._shard: tuple[int, np.ndarray, np.ndarray] | None = None  # the last shard read by load_notes
        self.name = _check_name(name)
        self.folder = (home or corpus_home()) / self.name

    # ------------------------------------------------------------------ paths
    @property
    def info_path(self) -> Path:
        return self.folder / "corpus.json"

    @property
    def log_path(self) -> Path:
        return self.folder / "log.jsonl"

    @property
    def manifest_path(self) -> Path:
        return self.folder / "manifest.jsonl"

    @property
    def failures_path(self) -> Path:
        return self.folder / "failures.jsonl"

    @property
    def journal_folder(self) -> Path:
        return self.folder / "journal"

    def shard_path(self, number: int) -> Path:
        return self.folder / "shards" / f"{number:05d}.npz"

    # ------------------------------------------------------------------ corpus.json
    def exists(self) -> bool:
        return self.info_path.is_file()

    def info(self) -> dict[str, Any]:
        if not self.exists():
            raise InputError(f"no corpus named {self.name!r} in {self.folder.parent} "
                             f"(build one with: cadenza corpus build --name {self.name})")
        info = json.loads(self.info_path.read_text(encoding="utf-8"))
        if info.get("format") != FORMAT_NAME or info.get("version") != FORMAT_VERSION:
            raise InputError(f"corpus {self.name!r} was written in format version {info.get('version')}; this "
                             f"Cadenza reads version {FORMAT_VERSION}: rebuild it with cadenza corpus build")
        return info

    def write_info(self, info: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        doc = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **info}
        atomic_write_bytes(self.info_path, json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8"))

    def compatible(self) -> bool:
        """True if the folder holds a corpus in this format (or nothing yet)."""
        if not self.exists():
            return True
        try:
            self.info()
        except (InputError, json.JSONDecodeError):
            return False
        return True

    def wipe(self) -> None:
        if self.folder.is_dir():
            shutil.rmtree(self.folder)

    # ------------------------------------------------------------------ the build log
    def read_log(self) -> Iterator[dict[str, Any]]:
        """Rows of the build log; a torn last line (a crash mid-write) is skipped."""
        if not self.log_path.is_file():
            return
        with self.log_path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue

    def lock(self) -> Any:
        """An exclusive lock on the corpus for a build (two builds at once would overwrite each other's
        shards); raises UsageError if another build holds it. Use as a context manager."""
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        handle = (self.folder.parent / f".{self.name}.lock").open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise UsageError(f"corpus {self.name!r} is being built by another process; wait for it to "
                             "finish") from None
        return handle

    def append_log(self, rows: list[dict[str, Any]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        torn = False
        if self.log_path.is_file() and self.log_path.stat().st_size:
            with self.log_path.open("rb") as fh:  # a crash mid-line left a torn row: end it first
                fh.seek(-1, os.SEEK_END)
                torn = fh.read(1) != b"\n"
        with self.log_path.open("a", encoding="utf-8") as fh:
            if torn:
                fh.write("\n")
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def next_shard_number(self) -> int:
        shards = sorted((self.folder / "shards").glob("*.npz")) if (self.folder / "shards").is_dir() else []
        return int(shards[-1].stem) + 1 if shards else 0

    def write_shard(self, number: int, notes: list[np.ndarray]) -> None:
        """Notes of several works, concatenated, with each work's start offset."""
        (self.folder / "shards").mkdir(parents=True, exist_ok=True)
        offsets = np.cumsum([0] + [len(n) for n in notes]).astype(np.int64)
        merged = np.concatenate(notes) if notes else np.zeros(0, dtype=NOTE_DTYPE)
        import io

        buf = io.BytesIO()
        np.savez(buf, notes=merged, offsets=offsets)
        atomic_write_bytes(self.shard_path(number), buf.getvalue())

    # ------------------------------------------------------------------ the finished corpus
    def write_jsonl(self, path: Path, rows: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in rows)
        atomic_write_bytes(path, text.encode("utf-8"))

    def manifest(self) -> list[dict[str, Any]]:
        self.info()
        if not self.manifest_path.is_file():
            raise InputError(f"corpus {self.name!r} has no manifest yet: its build did not finish "
                             f"(run cadenza corpus build --name {self.name} again to resume)")
        with self.manifest_path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def failures(self) -> list[dict[str, Any]]:
        if not self.failures_path.is_file():
            return []
        with self.failures_path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def load_notes(self, row: dict[str, Any]) -> np.ndarray:
        """The note array of a manifest row (the last shard read is kept: read rows in shard order)."""
        if self._shard is None or self._shard[0] != row["shard"]:
            with np.load(self.shard_path(row["shard"])) as shard:
                self._shard = (row["shard"], shard["notes"], shard["offsets"])
        _, notes, offsets = self._shard
        return notes[offsets[row["shard_index"]]:offsets[row["shard_index"] + 1]].copy()

    def load_score(self, row: dict[str, Any]) -> Score:
        """The Score of a manifest row."""
        notes = self.load_notes(row)
        doc = dict(row["score"])
        doc["notes"] = {name: notes[name].tolist() for name in NOTE_FIELDS}
        return score_from_dict(doc, ReadLimits(max_notes=10**8, max_duration_s=1e9, max_measures=10**8))
