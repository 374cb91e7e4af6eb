"""The Score: Cadenza's one in-memory representation of a piece.

Times are integers in ticks at :data:`TICKS_PER_QUARTER`. Tick 0 is the start of bar 1; when the piece
opens with an anacrusis, bar 1 is a short bar of ``pickup_ticks``. Notes live in one NumPy structured
array (see :data:`NOTE_DTYPE`), sorted by onset, part, pitch and duration, and marked read-only: a Score
never changes after it is built; the operations in :mod:`cadenza.score.ops` return new ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

#: Ticks per quarter note. 3360 = 2^5 * 3 * 5 * 7: 128th notes, triplets, quintuplets and septuplets
#: (Beethoven's quartets have them) are all whole numbers of ticks, so scores read from notation are exact.
TICKS_PER_QUARTER = 3360

NOTE_DTYPE = np.dtype(
    [
        ("onset_ticks", np.int64),
        ("duration_ticks", np.int64),
        ("pitch", np.int16),  # MIDI pitch 0..127 (for drum parts: the GM drum key)
        ("velocity", np.int16),  # 1..127
        ("part", np.int16),  # index into Score.parts
    ]
)

MODES = ("major", "minor")


def bar_length_ticks(numerator: int, denominator: int) -> int:
    """Length in ticks of one bar of ``numerator/denominator``."""
    return numerator * TICKS_PER_QUARTER * 4 // denominator


@dataclass(frozen=True)
class Part:
    """One instrument or voice: a name, a General MIDI program (0..127) and whether it is a drum kit."""

    name: str
    program: int = 0
    is_drum: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.program <= 127:
            raise ValueError(f"program {self.program} out of range 0..127")


@dataclass(frozen=True)
class TimeSignature:
    onset_ticks: int
    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        d = self.denominator
        if self.numerator < 1 or self.numerator > 256 or d < 1 or d > 128 or d & (d - 1):
            raise ValueError(f"invalid time signature {self.numerator}/{d}")
        if self.onset_ticks < 0:
            raise ValueError("time signature before the start")

    @property
    def bar_ticks(self) -> int:
        return bar_length_ticks(self.numerator, self.denominator)

    @property
    def beat_ticks(self) -> int:
        """The felt beat: a dotted quarter in 6/8, 9/8, 12/8 (compound meters), else the denominator's unit."""
        unit = TICKS_PER_QUARTER * 4 // self.denominator
        return unit * 3 if self.denominator >= 8 and self.numerator in (6, 9, 12, 15, 18, 24) else unit

    @property
    def is_compound(self) -> bool:
        """Whether the felt beat is a dotted value (6/8, 9/8, 12/8 ...): three of the denominator's unit."""
        return self.beat_ticks != TICKS_PER_QUARTER * 4 // self.denominator

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


@dataclass(frozen=True)
class KeySignature:
    """Sharps (>0) or flats (<0) in the signature, and the mode when the source says it."""

    onset_ticks: int
    sharps: int
    mode: str | None = None

    def __post_init__(self) -> None:
        if not -7 <= self.sharps <= 7:
            raise ValueError(f"key signature with {self.sharps} sharps")
        if self.mode is not None and self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}")

    def __str__(self) -> str:
        return key_signature_name(self.sharps, self.mode)


_MAJOR_SHARPS = (0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5)  # key signature of the major key on each pitch class


def key_signature_sharps(tonic_pc: int, mode: str) -> int:
    """Sharps (>0) or flats (<0) in the signature of the key on ``tonic_pc`` (0 = C) in ``mode``; of two
    enharmonic spellings, the one with fewer accidentals (F♯ major's six sharps, not G♭'s six flats)."""
    return _MAJOR_SHARPS[(tonic_pc + (3 if mode == "minor" else 0)) % 12]


_MAJOR_BY_SHARPS = ["C♭", "G♭", "D♭", "A♭", "E♭", "B♭", "F", "C", "G", "D", "A", "E", "B", "F♯", "C♯"]
_MINOR_BY_SHARPS = ["A♭", "E♭", "B♭", "F", "C", "G", "D", "A", "E", "B", "F♯", "C♯", "G♯", "D♯", "A♯"]


def key_signature_name(sharps: int, mode: str | None) -> str:
    """``'A major'``, ``'F♯ minor'``, or ``'3♯'`` when the mode is unknown."""
    if mode == "minor":
        return f"{_MINOR_BY_SHARPS[sharps + 7]} minor"
    if mode == "major":
        return f"{_MAJOR_BY_SHARPS[sharps + 7]} major"
    if sharps == 0:
        return "no sharps or flats"
    return f"{abs(sharps)}{'♯' if sharps > 0 else '♭'}"


@dataclass(frozen=True)
class Tempo:
    onset_ticks: int
    bpm: float  # quarter notes per minute

    def __post_init__(self) -> None:
        if not 1.0 <= self.bpm <= 2000.0:
            raise ValueError(f"tempo {self.bpm} bpm out of range 1..2000")


@dataclass(frozen=True)
class Metadata:
    title: str = ""
    composer: str = ""
    source: str = ""  # where it came from: a music21: reference, the source a Cadenza file records, else the path
    licence: str = ""


DEFAULT_TEMPO_BPM = 120.0


@dataclass(frozen=True, eq=False)
class Score:
    """A piece: parts, notes in ticks, meter/key/tempo maps and metadata. Build with :meth:`build`."""

    parts: tuple[Part, ...]
    notes: np.ndarray
    time_signatures: tuple[TimeSignature, ...]
    key_signatures: tuple[KeySignature, ...] = ()
    tempos: tuple[Tempo, ...] = ()
    metadata: Metadata = field(default_factory=Metadata)
    pickup_ticks: int = 0
    length_ticks: int = 0

    __hash__ = None  # type: ignore[assignment]

    # ---------------------------------------------------------------- construction and validation
    @classmethod
    def build(
        cls,
        parts: Sequence[Part],
        notes: np.ndarray | Iterable[tuple[int, int, int, int, int]],
        time_signatures: Iterable[TimeSignature] = (),
        key_signatures: Iterable[KeySignature] = (),
        tempos: Iterable[Tempo] = (),
        metadata: Metadata | None = None,
        pickup_ticks: int = 0,
        length_ticks: int = 0,
    ) -> Score:
        """Normalise and validate: sort notes and maps, default to 4/4 at tick 0, drop map entries that
        repeat the one before, extend ``length_ticks`` to the last note's end."""
        if isinstance(notes, np.ndarray):
            arr = np.asarray(notes, dtype=NOTE_DTYPE).reshape(-1)
        else:
            arr = np.array(list(notes), dtype=NOTE_DTYPE).reshape(-1)
        order = np.lexsort((arr["duration_ticks"], arr["pitch"], arr["part"], arr["onset_ticks"]))
        arr = arr[order].copy()
        arr.flags.writeable = False
        sigs = _dedupe_map(list(time_signatures), lambda t: (t.numerator, t.denominator))
        if not sigs or sigs[0].onset_ticks != 0:
            first = sigs[0] if sigs else TimeSignature(0, 4, 4)
            sigs = [TimeSignature(0, first.numerator, first.denominator), *sigs]
            sigs = _dedupe_map(sigs, lambda t: (t.numerator, t.denominator))
        keys = _dedupe_map(list(key_signatures), lambda k: (k.sharps, k.mode))
        temps = _dedupe_map(list(tempos), lambda t: t.bpm)
        end = int((arr["onset_ticks"] + arr["duration_ticks"]).max()) if len(arr) else 0
        return cls(
            parts=tuple(parts),
            notes=arr,
            time_signatures=tuple(sigs),
            key_signatures=tuple(keys),
            tempos=tuple(temps),
            metadata=metadata or Metadata(),
            pickup_ticks=int(pickup_ticks),
            length_ticks=max(int(length_ticks), end),
        )

    def __post_init__(self) -> None:
        n = self.notes
        if n.dtype != NOTE_DTYPE:
            raise ValueError("notes must use NOTE_DTYPE; build scores with Score.build")
        if len(n):
            if n["onset_ticks"].min() < 0:
                raise ValueError("note before the start of the score")
            if n["duration_ticks"].min() <= 0:
                raise ValueError("note with zero or negative duration")
            if n["pitch"].min() < 0 or n["pitch"].max() > 127:
                raise ValueError("pitch out of range 0..127")
            if n["velocity"].min() < 1 or n["velocity"].max() > 127:
                raise ValueError("velocity out of range 1..127")
            if n["part"].min() < 0 or n["part"].max() >= len(self.parts):
                raise ValueError("note refers to a part that does not exist")
        if not self.time_signatures or self.time_signatures[0].onset_ticks != 0:
            raise ValueError("the time-signature map must start at tick 0")
        if self.pickup_ticks < 0 or (self.pickup_ticks and self.pickup_ticks >= self.time_signatures[0].bar_ticks):
            raise ValueError("a pickup must be shorter than the first bar")

    # ---------------------------------------------------------------- equality
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Score):
            return NotImplemented
        return (
            self.parts == other.parts
            and np.array_equal(self.notes, other.notes)
            and self.time_signatures == other.time_signatures
            and self.key_signatures == other.key_signatures
            and self.tempos == other.tempos
            and self.metadata == other.metadata
            and self.pickup_ticks == other.pickup_ticks
            and self.length_ticks == other.length_ticks
        )

    def replace(self, **changes: Any) -> Score:
        """A copy with some fields changed, normalised again through :meth:`build`."""
        fields: dict[str, Any] = {
            "parts": self.parts,
            "notes": self.notes,
            "time_signatures": self.time_signatures,
            "key_signatures": self.key_signatures,
            "tempos": self.tempos,
            "metadata": self.metadata,
            "pickup_ticks": self.pickup_ticks,
            "length_ticks": self.length_ticks,
        }
        fields.update(changes)
        return Score.build(**fields)

    def with_metadata(self, **changes: str) -> Score:
        return replace(self, metadata=replace(self.metadata, **changes))

    # ---------------------------------------------------------------- derived facts
    @property
    def note_count(self) -> int:
        return len(self.notes)

    def part_notes(self, part_index: int) -> np.ndarray:
        return self.notes[self.notes["part"] == part_index]

    def bar_starts(self) -> np.ndarray:
        """Start tick of every bar, the last one ending at or after ``length_ticks`` (at least one bar).

        A time-signature change that falls inside a bar ends that bar early: the new meter starts a bar.
        Computed once per Score (read-only array).
        """
        cached = self.__dict__.get("_bar_starts")
        if cached is None:
            cached = self._compute_bar_starts()
            cached.flags.writeable = False
            self.__dict__["_bar_starts"] = cached  # the Score is frozen; this cache is derived state
        return cached

    def _compute_bar_starts(self) -> np.ndarray:
        sigs = self.time_signatures
        starts: list[int] = []
        pos = 0
        i = 0
        end = max(self.length_ticks, 1)
        while pos < end:
            while i + 1 < len(sigs) and sigs[i + 1].onset_ticks <= pos:
                i += 1
            length = self.pickup_ticks if (pos == 0 and self.pickup_ticks) else sigs[i].bar_ticks
            if i + 1 < len(sigs) and pos + length > sigs[i + 1].onset_ticks:
                length = sigs[i + 1].onset_ticks - pos
            starts.append(pos)
            pos += length
        return np.asarray(starts or [0], dtype=np.int64)

    @property
    def bar_count(self) -> int:
        return len(self.bar_starts())

    def bar_number(self, bar_index: int) -> int:
        """The bar number a musician reads for a bar index from 0: a pickup is bar 0, else bars count from 1."""
        return bar_index if self.pickup_ticks else bar_index + 1

    def key_signature_at(self, tick: int) -> KeySignature | None:
        current = None
        for sig in self.key_signatures:
            if sig.onset_ticks > tick:
                break
            current = sig
        return current

    def time_signature_at(self, tick: int) -> TimeSignature:
        current = self.time_signatures[0]
        for sig in self.time_signatures:
            if sig.onset_ticks > tick:
                break
            current = sig
        return current

    def locate(self, tick: int) -> tuple[int, float]:
        """(bar index from 0, beat within the bar from 0) of ``tick``; beats count the signature's
        denominator unit, and a pickup bar's beats are counted back from its end, as a musician does."""
        starts = self.bar_starts()
        bar = int(np.searchsorted(starts, tick, side="right")) - 1
        bar = max(bar, 0)
        sig = self.time_signature_at(tick)
        beat_ticks = TICKS_PER_QUARTER * 4 // sig.denominator
        into = tick - int(starts[bar])
        if bar == 0 and self.pickup_ticks:
            into += sig.bar_ticks - self.pickup_ticks
        return bar, into / beat_ticks

    def seconds_at(self, ticks: np.ndarray | int) -> np.ndarray | float:
        """Seconds from the start at the given tick(s), following the tempo map (120 bpm if none)."""
        tempos = self.tempos if self.tempos and self.tempos[0].onset_ticks == 0 else (
            Tempo(0, DEFAULT_TEMPO_BPM), *self.tempos)
        onsets = np.array([t.onset_ticks for t in tempos], dtype=np.float64)
        sec_per_tick = np.array([60.0 / (t.bpm * TICKS_PER_QUARTER) for t in tempos])
        seg_secs = np.diff(onsets) * sec_per_tick[:-1]
        start_secs = np.concatenate([[0.0], np.cumsum(seg_secs)])
        t = np.asarray(ticks, dtype=np.float64)
        idx = np.searchsorted(onsets, t, side="right") - 1
        idx = np.clip(idx, 0, len(onsets) - 1)
        out = start_secs[idx] + (t - onsets[idx]) * sec_per_tick[idx]
        return float(out) if np.ndim(out) == 0 else out

    @property
    def duration_s(self) -> float:
        return float(self.seconds_at(self.length_ticks))


def _dedupe_map(items: list[Any], key: Any) -> list[Any]:
    """Order by tick (stable), keep the last entry given at each tick, drop entries equal to the one before."""
    by_tick: dict[int, Any] = {}
    for item in sorted(items, key=lambda e: e.onset_ticks):
        by_tick[item.onset_ticks] = item
    out: list[Any] = []
    for tick in sorted(by_tick):
        item = by_tick[tick]
        if out and key(out[-1]) == key(item):
            continue
        out.append(item)
    return out
