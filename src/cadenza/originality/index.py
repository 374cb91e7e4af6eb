"""The originality index: the fingerprints of every training work, compact enough to ship beside a model.

On disk (``originality.npz``, compressed) it holds, for every line of every work (see
:mod:`cadenza.originality.fingerprint`), its symbols as two int8 arrays (interval, duration-ratio code;
both -128 for a line's first note), the bar number of each note as deltas, which work, part and kind each
line is, every work's bar codes, and a JSON document: the works (id, title), where they came from (corpus,
split, sources with licences, a fingerprint of the rows), the settings and the calibration. The lookup
tables (sorted k-gram hashes) are built when the index is loaded (:func:`load_index`; ~0.7 s for the
default model's 6.7 M notes on these cores) and kept per process.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.errors import InputError
from cadenza.files import atomic_write_bytes
from cadenza.originality.fingerprint import KINDS, START, Line, bar_codes, line_symbols, lines
from cadenza.originality.table import KGramTable, Run
from cadenza.score.model import Score

FORMAT_NAME = "cadenza-originality"
FORMAT_VERSION = 1
INDEX_FILE = "originality.npz"
K_NOTES = 6  # seed length in notes: runs shorter than this are not looked for
K_BARS = 4  # seed length in bars for the bar-code (texture) runs
DEFAULT_THRESHOLD = 20  # notes, for an index without a calibration
#: the shipped default model's calibrated thresholds (the held-out human pieces' 90th percentile its
#: originality.npz stores): the most notes a top or bass line may share with one training work. The help texts
#: name these; a test holds them to the shipped index.
SHIPPED_THRESHOLD_NOTES = {"top": 28, "bass": 29}


@dataclass(frozen=True)
class VoiceRun:
    """The longest run one line of a query shares with a training work (``notes`` 0 when it shares none of
    at least K_NOTES). Bars are the numbers a musician reads, first and last, in both pieces."""

    part: int
    voice: str  # "top" | "bass"
    line_notes: int
    ngram_share: float  # share of the line's K_NOTES-grams found anywhere in the index
    notes: int = 0
    onset_ticks: int = 0  # where the shared run begins in the query (its first note, interval base)
    end_ticks: int = 0  # onset of its last note
    bars_here: tuple[int, int] = (0, 0)
    work: int = -1  # index into OriginalityIndex.works
    bars_there: tuple[int, int] = (0, 0)

    @property
    def bars(self) -> int:
        return self.bars_here[1] - self.bars_here[0] + 1 if self.notes else 0


@dataclass(frozen=True)
class Violation:
    """Where a query first shares more than the threshold with a training work."""

    part: int
    voice: str
    onset_ticks: int  # the copied run's first note
    end_ticks: int  # the onset of its last note
    notes: int
    work_id: str


class OriginalityIndex:
    """Fingerprints of a set of works and the lookups over them."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], file: str | None = None) -> None:
        self.meta = meta
        self.works: list[dict[str, str]] = meta["works"]
        interval, ratio = arrays["interval"].astype(np.int32), arrays["ratio"].astype(np.int32)
        self.symbols = (((interval + 128) << 8) | (ratio + 128)).astype(np.uint32)  # START where both are -128
        self.arrays = arrays
        self.load_s = 0.0
        self.line_starts = np.nonzero(self.symbols == START)[0]
        self.bar_delta = arrays["bar_delta"]
        self.line_first_bar = arrays["line_first_bar"].astype(np.int64)
        self.line_work = arrays["line_work"].astype(np.int64)
        self.line_part = arrays["line_part"].astype(np.int64)
        self.bar_codes = arrays["bar_codes"].astype(np.uint32)
        self.work_bar_start = np.concatenate([[0], np.cumsum(arrays["work_bars"].astype(np.int64))])
        self.work_first_bar = arrays["work_first_bar"].astype(np.int64)
        self.melodic, self.texture = self._tables(file)

    def _tables(self, file: str | None) -> tuple[KGramTable, KGramTable]:
        """The melodic and texture k-gram tables: mapped from the cache where an earlier load of ``file`` left
        them (:mod:`cadenza.originality.cache`), else built (and cached, for an index read from a file)."""
        from cadenza.originality import cache

        streams = {"melodic": (self.symbols, self.symbols == START, K_NOTES),
                   "texture": (self.bar_codes, self.bar_codes == 0, K_BARS)}
        folder = None
        if file is not None and len(self.symbols) < 2**31:
            try:
                folder = cache.table_folder(file, f"k_notes={K_NOTES} k_bars={K_BARS}")
            except (OSError, RuntimeError):  # (no home folder to cache in)
                folder = None
        found: dict[str, KGramTable | None] = {}
        if folder is not None and folder.is_dir():
            found = {name: cache.load_table(folder, name, stream, k) for name, (stream, _, k) in streams.items()}
        tables = {name: found.get(name) or KGramTable(stream, breaks, k)
                  for name, (stream, breaks, k) in streams.items()}
        if folder is not None and any(found.get(name) is None for name in streams):
            cache.save_tables(folder, tables)
        return tables["melodic"], tables["texture"]

    # ---------------------------------------------------------------- facts
    @property
    def note_count(self) -> int:
        return len(self.symbols)

    def thresholds(self) -> dict[str, int]:
        """Notes a top or bass line may share with a training work before it counts as copied: the
        calibrated human 90th percentiles (see :mod:`cadenza.originality.calibrate`), else
        :data:`DEFAULT_THRESHOLD`."""
        given = (self.meta.get("calibration") or {}).get("threshold_notes") or {}
        return {kind: int(given.get(kind, DEFAULT_THRESHOLD)) for kind in KINDS}

    def work_id(self, work: int) -> str:
        return self.works[work]["id"]

    def _locate(self, pos: int) -> tuple[int, int]:
        """(line, work) holding stored position ``pos``."""
        line = int(np.searchsorted(self.line_starts, pos, side="right")) - 1
        return line, int(self.line_work[line])

    # ---------------------------------------------------------------- queries
    def longest_runs(self, score: Score) -> list[VoiceRun]:
        """For every line of ``score``, its longest run shared with one training work."""
        return [self._line_run(line) for line in lines(score)]

    def _line_run(self, line: Line) -> VoiceRun:
        sym = line_symbols(line).astype(np.uint32)
        runs, share = self.melodic.runs(sym, sym == START)
        base = VoiceRun(line.part, line.kind, len(line), round(share, 4))
        if not runs:
            return base
        best = max(runs, key=lambda r: (r.length, -r.query_start))
        return self._describe(base, line, best)

    def _describe(self, base: VoiceRun, line: Line, run: Run) -> VoiceRun:
        a, b = run.query_start - 1, run.query_start + run.length - 1  # notes a..b (a: the interval's base)
        _, work = self._locate(run.store_start)
        sa, sb = run.store_start - 1, run.store_start + run.length - 1
        return VoiceRun(base.part, base.voice, base.line_notes, base.ngram_share, run.length,
                        int(line.onsets[a]), int(line.onsets[b]), (int(line.bars[a]), int(line.bars[b])), work,
                        (self.note_bar(sa), self.note_bar(sb)))

    def note_bar(self, pos: int) -> int:
        """The bar number of the note at stored position ``pos``: its line's first bar and the bar lines
        crossed since (summed for the one note asked, not for every stored note at load)."""
        line = int(np.searchsorted(self.line_starts, pos, side="right")) - 1
        if line < 0:
            return int(self.bar_delta[:pos + 1].astype(np.int64).sum())
        start = int(self.line_starts[line])
        return int(self.line_first_bar[line]) + int(self.bar_delta[start + 1:pos + 1].astype(np.int64).sum())

    def first_violation(self, score: Score, threshold_notes: int | dict[str, int] | None = None) -> Violation | None:
        """The earliest place (by onset) where a line of ``score`` shares more than ``threshold_notes`` (one
        number for every line, or one per line kind; the index's calibrated thresholds when None) with a
        training work; None when nothing does."""
        limits = threshold_notes if isinstance(threshold_notes, dict) else (
            self.thresholds() if threshold_notes is None else dict.fromkeys(KINDS, threshold_notes))
        found: Violation | None = None
        for line in lines(score):
            sym = line_symbols(line).astype(np.uint32)
            runs, _ = self.melodic.runs(sym, sym == START)
            over = [r for r in runs if r.length > limits[line.kind]]
            if not over:
                continue
            first = min(over, key=lambda r: r.query_start)
            onset = int(line.onsets[first.query_start - 1])
            if found is None or onset < found.onset_ticks:
                work = self._locate(first.store_start)[1]
                end = int(line.onsets[first.query_start + first.length - 1])
                found = Violation(line.part, line.kind, onset, end, first.length, self.work_id(work))
        return found

    def texture_run(self, score: Score) -> dict[str, Any] | None:
        """The longest run of bars (at least K_BARS) whose harmony/texture codes match one training work's
        consecutive bars, with bar numbers in both pieces; None when there is none."""
        codes = bar_codes(score)
        runs, _ = self.texture.runs(codes, codes == 0)
        if not runs:
            return None
        best = max(runs, key=lambda r: (r.length, -r.query_start))
        work = int(np.searchsorted(self.work_bar_start, best.store_start, side="right")) - 1
        first_here = score.bar_number(best.query_start)
        first_there = int(self.work_first_bar[work] + best.store_start - self.work_bar_start[work])
        return {"bars": best.length, "work_id": self.work_id(work), "title": self.works[work].get("title", ""),
                "bars_here": [first_here, first_here + best.length - 1],
                "bars_there": [first_there, first_there + best.length - 1]}


# -------------------------------------------------------------------- building and storing
def fingerprint_arrays(works: Iterable[tuple[dict[str, str], Score]]) -> tuple[dict[str, np.ndarray], list[dict[str, str]]]:  # noqa: E501
    """The stored arrays for (work description, Score) pairs."""
    interval: list[np.ndarray] = []
    ratio: list[np.ndarray] = []
    deltas: list[np.ndarray] = []
    first_bar: list[int] = []
    line_work: list[int] = []
    line_part: list[int] = []
    line_kind: list[int] = []
    codes: list[np.ndarray] = []
    work_bars: list[int] = []
    work_first: list[int] = []
    described: list[dict[str, str]] = []
    for number, (info, score) in enumerate(works):
        described.append(info)
        for line in lines(score):
            sym = line_symbols(line).astype(np.int32)
            interval.append(((sym >> 8) - 128).astype(np.int8))
            ratio.append(((sym & 0xFF) - 128).astype(np.int8))
            d = np.diff(line.bars, prepend=line.bars[0])
            deltas.append(np.clip(d, 0, 65535).astype(np.uint16))
            first_bar.append(int(line.bars[0]))
            line_work.append(number)
            line_part.append(line.part)
            line_kind.append(KINDS.index(line.kind))
        bc = bar_codes(score)
        codes.append(bc)
        work_bars.append(len(bc))
        work_first.append(0 if score.pickup_ticks else 1)

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    arrays = {
        "interval": cat(interval, np.int8), "ratio": cat(ratio, np.int8), "bar_delta": cat(deltas, np.uint16),
        "line_first_bar": np.minimum(first_bar, 65535).astype(np.uint16),
        "line_work": np.asarray(line_work, dtype=np.uint32),
        "line_part": np.asarray(line_part, dtype=np.uint16), "line_kind": np.asarray(line_kind, dtype=np.uint8),
        "bar_codes": cat(codes, np.uint32),
        "work_bars": np.asarray(work_bars, dtype=np.uint32), "work_first_bar": np.asarray(work_first, dtype=np.uint8),
    }
    return arrays, described


def build_index(works: Iterable[tuple[dict[str, str], Score]],
                provenance: dict[str, Any] | None = None) -> OriginalityIndex:
    """An index of (work description, Score) pairs; a description holds at least ``id`` (and ``title``)."""
    arrays, described = fingerprint_arrays(works)
    meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "k_notes": K_NOTES, "k_bars": K_BARS,
            "works": described, "notes": int(len(arrays["interval"])), **(provenance or {})}
    return OriginalityIndex(arrays, meta)


def save_index(index: OriginalityIndex, path: str | os.PathLike[str]) -> Path:
    """Write ``index`` (compressed npz; the JSON document zlib-compressed inside it)."""
    arrays = index.arrays
    out = Path(path)
    if out.suffix != ".npz":
        out = out / INDEX_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = np.frombuffer(zlib.compress(json.dumps(index.meta, ensure_ascii=False).encode("utf-8"), 9), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, meta=doc, **arrays)  # type: ignore[arg-type]
    atomic_write_bytes(out, buf.getvalue())
    return out


def load_index(path: str | os.PathLike[str]) -> OriginalityIndex:
    """The index in ``path`` (an .npz, or a folder holding originality.npz); cached per file version."""
    file = Path(path)
    if file.is_dir():
        file = file / INDEX_FILE
    try:
        stat = file.stat()
    except OSError:
        raise InputError(f"no originality index at {file}") from None
    return _load(str(file), stat.st_mtime_ns, stat.st_size)


MAX_INDEX_BYTES = 2 * 2**30  # an index's arrays unpacked, at most (the shipped one: about 60 MB)
MAX_META_BYTES = 64 * 2**20  # its metadata unpacked, at most


def _check_unpacked_size(file: str) -> None:
    """Refuse an index whose members would unpack beyond :data:`MAX_INDEX_BYTES` (a zip bomb) before reading."""
    try:
        with zipfile.ZipFile(file) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
        raise ValueError(f"not an .npz archive ({exc})") from None
    if total > MAX_INDEX_BYTES:
        raise InputError(f"{file} would unpack to {total / 2**30:.1f} GiB: not an originality index this size")


@lru_cache(maxsize=4)
def _load(file: str, mtime_ns: int, size: int) -> OriginalityIndex:
    start = time.perf_counter()
    try:
        _check_unpacked_size(file)
        with np.load(file, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        unpack = zlib.decompressobj()
        packed = unpack.decompress(arrays.pop("meta").tobytes(), MAX_META_BYTES)
        if unpack.unconsumed_tail:
            raise ValueError(f"its metadata unpacks beyond {MAX_META_BYTES // 2**20} MiB")
        meta = json.loads(packed.decode("utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("its metadata is no JSON object")
    except InputError:
        raise
    except (OSError, ValueError, KeyError, zlib.error, MemoryError, RecursionError, EOFError, NotImplementedError,
            zipfile.BadZipFile) as exc:
        raise InputError(f"{file} is not a readable originality index: {str(exc)[:200]}") from None
    if meta.get("format") != FORMAT_NAME or meta.get("version") != FORMAT_VERSION:
        raise InputError(f"{file} holds no originality index of format version {FORMAT_VERSION}; rebuild it")
    if meta.get("k_notes") != K_NOTES or meta.get("k_bars") != K_BARS:
        raise InputError(f"{file} was built with other settings; rebuild it")
    index = OriginalityIndex(arrays, meta, file)
    index.load_s = time.perf_counter() - start
    return index
