"""The event vocabulary: a Score as a sequence of compound steps, about one step per note.

Every step has the same fields (the model predicts each with its own output head); a field a step does not
use holds 0. Kinds and the fields they use:

    bos, eos          eos: position/position_fine = how far the last bar reaches (restores the length)
    label             label = index of a ``name=value`` label token (see :mod:`cadenza.tokens.labels`)
    part              part = index, value = GM program, value_fine = 1 for a drum kit
    bar               a new bar; position/position_fine = its length (a pickup is a short first bar)
    time_signature    value = numerator, value_fine = log2(denominator), at the bar's start
    key_signature     position…, value = sharps + 7, value_fine = mode (0 unknown, 1 major, 2 minor)
    tempo             position…, value = whole bpm, value_fine = hundredths
    note              position…, part, pitch, duration/duration_fine, velocity, tie (1 = continues in the
                      next note step of the same part and pitch: how notes longer than the duration field
                      are written)
    chord             position… = where in the bar the chord starts, value = the chord (:func:`chord_value`:
                      root pitch class and quality), value_fine = the cadence it completes (0 none, then
                      :data:`CADENCES`); a bar's chords come right after its start's meter/key/tempo steps,
                      before any note (the bar's harmony, read before its notes are written)

The chords are the harmony ``listen`` hears in the work (:func:`cadenza.listen.harmony.chord_events`: a chord
step wherever the chord heard on a beat changes, with its cadence); the composer writes its planned harmony
into the same steps, so the model writes notes that the harmony it was given would be heard in. A model of the
first event vocabulary (no chord kind) still loads; it is never given chords.

Times are ticks at the Score's resolution split into a coarse unit (``FINE`` ticks = a 48th of a quarter,
so every 16th, 32nd and triplet is a whole number of units) and a remainder, so encoding is lossless. The
bounds (bars of up to ``MAX_BAR_QUARTERS`` quarters, ``MAX_PARTS`` parts, tempo below ``VALUE_SIZE`` bpm)
cover real music; a score outside them raises :class:`TokenizeError` with the reason. An orchestral score
has more parts than that: :func:`encodable` reduces them as a short score does. Every path from a corpus to
steps (training data, the originality index, the lab's held-out sets) takes a work through
:func:`corpus_steps`, so all of them hold the same works, as the model sees them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.listen.features import View
from cadenza.listen.harmony import CADENCE_KINDS, QUALITIES, chord_events
from cadenza.listen.key import estimate_key
from cadenza.score.instruments import gm_program_name, numbered_names
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
from cadenza.score.reduce import reduce_parts

FINE = TICKS_PER_QUARTER // 48  # 70 ticks
MAX_BAR_QUARTERS = 16
POSITION_SIZE = MAX_BAR_QUARTERS * 48  # coarse positions within a bar (and bar lengths)
DURATION_SIZE = POSITION_SIZE  # coarse durations; longer notes continue in tied steps
MAX_PARTS = 16
VALUE_SIZE = 512

KINDS = ("pad", "bos", "eos", "label", "part", "bar", "time_signature", "key_signature", "tempo", "note", "chord")
KIND = {name: i for i, name in enumerate(KINDS)}
FIRST_VOCABULARY_KINDS = KIND["chord"]  # the first event vocabulary's kinds (no chords): the kinds before this
# order of kinds at one instant: meter, key, tempo, the bar's chords (at its start), then notes
ORDER_AT_INSTANT = {KIND["time_signature"]: 0, KIND["key_signature"]: 1, KIND["tempo"]: 2, KIND["chord"]: 3,
                    KIND["note"]: 4}
CHORD_QUALITIES = tuple(QUALITIES)  # the qualities ``listen`` hears, in the order of :func:`chord_value`
CADENCES = CADENCE_KINDS  # a chord step's value_fine - 1
CHORD_VALUES = 1 + 12 * len(CHORD_QUALITIES)  # chord values are 1 .. CHORD_VALUES - 1

FIELDS = ("kind", "label", "position", "position_fine", "part", "pitch", "duration", "duration_fine",
          "velocity", "tie", "value", "value_fine")
FIELD_SIZES = {"kind": len(KINDS), "position": POSITION_SIZE, "position_fine": FINE, "part": MAX_PARTS,
               "pitch": 128, "duration": DURATION_SIZE, "duration_fine": FINE, "velocity": 128, "tie": 2,
               "value": VALUE_SIZE, "value_fine": 100}  # "label" is sized by the label vocabulary
F = {name: i for i, name in enumerate(FIELDS)}
_UPPER = np.array([FIELD_SIZES.get(name, 1 << 30) for name in FIELDS])  # a field's values lie in [0, size)
MODES = (None, "major", "minor")
# the fields each kind uses; the others hold 0
FIELDS_OF_KIND: dict[str, tuple[str, ...]] = {
    "pad": (), "bos": (), "eos": ("position", "position_fine"), "label": ("label",),
    "part": ("part", "value", "value_fine"), "bar": ("position", "position_fine"),
    "time_signature": ("position", "position_fine", "value", "value_fine"),
    "key_signature": ("position", "position_fine", "value", "value_fine"),
    "tempo": ("position", "position_fine", "value", "value_fine"),
    "note": ("position", "position_fine", "part", "pitch", "duration", "duration_fine", "velocity", "tie"),
    "chord": ("position", "position_fine", "value", "value_fine"),
}  # fmt: skip


class TokenizeError(CadenzaError):
    """A score that the event vocabulary cannot hold exactly (the message says which bound)."""


def chord_value(root_pc: int, quality: str) -> int:
    """A chord step's value: 1 + root pitch class + 12 × the quality's index in :data:`CHORD_QUALITIES`."""
    return 1 + root_pc % 12 + 12 * CHORD_QUALITIES.index(quality)


def chord_of_value(value: int) -> tuple[int, str]:
    """(root pitch class, quality) of a chord step's value (the inverse of :func:`chord_value`)."""
    return (value - 1) % 12, CHORD_QUALITIES[(value - 1) // 12]


def transposed_chord_value(value: int, semitones: int) -> int:
    """A chord step's value with its root moved by ``semitones``."""
    root, quality = chord_of_value(value)
    return chord_value(root + semitones, quality)


def step_bpm(step: np.ndarray) -> float:
    """The tempo a tempo step writes, in quarters a minute (its value the whole bpm, its fine value hundredths)."""
    return int(step[F["value"]]) + int(step[F["value_fine"]]) / 100


def step_row(kind: str, **fields: int) -> np.ndarray:
    """One step: ``kind`` and the given fields, every other field 0."""
    row = np.zeros(len(FIELDS), dtype=np.int64)
    row[F["kind"]] = KIND[kind]
    for name, value in fields.items():
        row[F[name]] = value
    return row


def _split(ticks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return ticks // FINE, ticks % FINE


#: the fastest tempo the vocabulary writes, in bpm: a faster mark (a stray 520 in an OpenScore quartet) is read so
FASTEST_TEMPO_BPM = VALUE_SIZE - 0.01


def encodable(score: Score) -> Score:
    """``score`` with its parts reduced to the vocabulary's ``MAX_PARTS`` when it has more (doubled
    instruments, then adjacent parts of a family, share a part: :func:`cadenza.score.reduce.reduce_parts`), and
    a tempo mark faster than the vocabulary's fastest read as that (:data:`FASTEST_TEMPO_BPM`); the score itself
    when it has neither. :func:`encode` stays exact and refuses a score with too many parts or too fast a tempo."""
    if any(t.bpm > FASTEST_TEMPO_BPM for t in score.tempos):
        score = score.replace(tempos=tuple(replace(t, bpm=min(t.bpm, FASTEST_TEMPO_BPM)) for t in score.tempos))
    return reduce_parts(score, MAX_PARTS)


def heard_chords(score: Score) -> np.ndarray:
    """The chords ``listen`` hears in ``score`` as :data:`CHORD_DTYPE` rows (none for a single line: one
    note at a time names no chord), in the key it hears."""
    view = View(score)
    if not len(view.pitched):
        return np.zeros(0, dtype=CHORD_DTYPE)
    key = estimate_key(view)
    events = chord_events(view, key.tonic, key.mode)
    return np.array([(t, chord_value(root, quality), CADENCES.index(cadence) + 1 if cadence else 0)
                     for t, root, quality, cadence in events], dtype=CHORD_DTYPE)


def corpus_steps(score: Score, chords: bool = True) -> tuple[Score, np.ndarray]:
    """A corpus work as training, the originality index and the lab's held-out sets take it: the Score as the
    vocabulary holds it (:func:`encodable`) and its steps without labels, with the chords heard in it
    (:func:`heard_chords`) unless ``chords`` is False (for a model of the first vocabulary). Raises
    :class:`TokenizeError` for a score outside the vocabulary's bounds, and for one whose steps would hold a
    value outside a field's range (a note before its bar's start in a damaged edition)."""
    score = encodable(score)
    steps = encode(score, chords=heard_chords(score) if chords else None)
    outside = (steps < 0) | (steps >= _UPPER)
    if outside.any():
        field = FIELDS[int(np.nonzero(outside.any(axis=0))[0][0])]
        raise TokenizeError(f"a {field} value outside the vocabulary's range")
    return score, steps


#: a chord as :func:`encode` takes it: where it starts, its :func:`chord_value` and its cadence (value_fine)
CHORD_DTYPE = np.dtype([("onset_ticks", np.int64), ("value", np.int64), ("cadence", np.int64)])


def encode(score: Score, label_ids: list[int] | None = None, chords: np.ndarray | None = None) -> np.ndarray:
    """The Score as an (steps, len(FIELDS)) int32 array: bos, labels, parts, then the music, then eos.
    ``chords`` (:data:`CHORD_DTYPE`) become chord steps, each in the header of the bar it starts in."""
    if len(score.parts) > MAX_PARTS:
        raise TokenizeError(f"{len(score.parts)} parts; the vocabulary holds {MAX_PARTS}")
    starts = score.bar_starts()
    # every bar's nominal length (the last one's too, though the music may stop inside it: eos says where)
    last = score.pickup_ticks if (len(starts) == 1 and score.pickup_ticks) else \
        score.time_signature_at(int(starts[-1])).bar_ticks
    lengths = np.append(np.diff(starts), last)
    if lengths.max() >= POSITION_SIZE * FINE:
        raise TokenizeError(f"a bar of {lengths.max() / TICKS_PER_QUARTER:g} quarters; the vocabulary holds "
                            f"bars shorter than {MAX_BAR_QUARTERS}")
    rows: list[np.ndarray] = []

    def block(n: int) -> np.ndarray:
        out = np.zeros((n, len(FIELDS)), dtype=np.int64)
        rows.append(out)
        return out

    head = block(1 + len(label_ids or []) + len(score.parts))
    head[0, F["kind"]] = KIND["bos"]
    for i, label in enumerate(label_ids or [], start=1):
        head[i, F["kind"]], head[i, F["label"]] = KIND["label"], label
    for i, part in enumerate(score.parts):
        r = 1 + len(label_ids or []) + i
        head[r, F["kind"]], head[r, F["part"]] = KIND["part"], i
        head[r, F["value"]], head[r, F["value_fine"]] = part.program, int(part.is_drum)

    # the timed steps, each with (time, order) to sort by; bars come before anything at their start
    timed: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (ticks, order, rows)

    bars = np.zeros((len(starts), len(FIELDS)), dtype=np.int64)
    bars[:, F["kind"]] = KIND["bar"]
    bars[:, F["position"]], bars[:, F["position_fine"]] = _split(lengths)
    timed.append((starts, np.full(len(starts), -1), bars))

    def control(kind: str, onsets: list[int], values: list[int], fines: list[int]) -> None:
        if not onsets:
            return
        t = np.array(onsets, dtype=np.int64)
        r = np.zeros((len(t), len(FIELDS)), dtype=np.int64)
        r[:, F["kind"]] = KIND[kind]
        r[:, F["value"]], r[:, F["value_fine"]] = values, fines
        timed.append((t, np.full(len(t), ORDER_AT_INSTANT[KIND[kind]]), r))

    control("time_signature", [t.onset_ticks for t in score.time_signatures],
            [t.numerator for t in score.time_signatures],
            [t.denominator.bit_length() - 1 for t in score.time_signatures])
    control("key_signature", [k.onset_ticks for k in score.key_signatures],
            [k.sharps + 7 for k in score.key_signatures], [MODES.index(k.mode) for k in score.key_signatures])
    cents = [round(t.bpm * 100) for t in score.tempos]
    if any(c // 100 >= VALUE_SIZE for c in cents):
        raise TokenizeError(f"a tempo of {max(cents) / 100:g} bpm; the vocabulary holds tempos below {VALUE_SIZE}")
    control("tempo", [t.onset_ticks for t in score.tempos], [c // 100 for c in cents], [c % 100 for c in cents])

    timed.append(_note_rows(score.notes))
    ticks = np.concatenate([t for t, _, _ in timed])
    order = np.concatenate([o for _, o, _ in timed])
    body = np.concatenate([r for _, _, r in timed])
    bar_index = np.searchsorted(starts, ticks, side="right") - 1
    timed_kinds = body[:, F["kind"]]
    not_bar = timed_kinds != KIND["bar"]
    position = ticks - starts[bar_index]
    body[not_bar, F["position"]], body[not_bar, F["position_fine"]] = _split(position[not_bar])
    within = np.zeros(len(ticks), dtype=np.int64)  # a chord's place among its bar's chords
    if chords is not None and len(chords):
        inside = (chords["onset_ticks"] >= 0) & (chords["onset_ticks"] < max(score.length_ticks, 1))
        kept = chords[inside]
        onsets = kept["onset_ticks"].astype(np.int64)
        bar_of = np.searchsorted(starts, onsets, side="right") - 1
        rows_of_chords = np.zeros((len(onsets), len(FIELDS)), dtype=np.int64)
        rows_of_chords[:, F["kind"]] = KIND["chord"]
        rows_of_chords[:, F["position"]], rows_of_chords[:, F["position_fine"]] = _split(onsets - starts[bar_of])
        rows_of_chords[:, F["value"]], rows_of_chords[:, F["value_fine"]] = kept["value"], kept["cadence"]
        ticks = np.concatenate([ticks, starts[bar_of]])  # sorted at the bar's start, in their own order
        order = np.concatenate([order, np.full(len(onsets), ORDER_AT_INSTANT[KIND["chord"]])])
        within = np.concatenate([within, onsets])
        body = np.concatenate([body, rows_of_chords])
    sort = np.lexsort((body[:, F["pitch"]], body[:, F["part"]], within, order, ticks))
    rows.append(body[sort])

    tail = block(1)
    tail[0, F["kind"]] = KIND["eos"]
    tail[0, F["position"]], tail[0, F["position_fine"]] = _split(np.array(score.length_ticks - starts[-1]))
    return np.concatenate(rows).astype(np.int32)


def _note_rows(notes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Note steps; a note longer than the duration field holds becomes tied steps."""
    limit = (DURATION_SIZE - 1) * FINE + (FINE - 1)
    onsets, durations = notes["onset_ticks"].astype(np.int64), notes["duration_ticks"].astype(np.int64)
    pieces = np.maximum((durations + limit - 1) // limit, 1)
    index = np.repeat(np.arange(len(notes)), pieces)
    k = np.arange(len(index)) - np.repeat(np.cumsum(pieces) - pieces, pieces)  # piece number within the note
    start = onsets[index] + k * limit
    length = np.minimum(durations[index] - k * limit, limit)
    rows = np.zeros((len(index), len(FIELDS)), dtype=np.int64)
    rows[:, F["kind"]] = KIND["note"]
    rows[:, F["part"]] = notes["part"][index]
    rows[:, F["pitch"]] = notes["pitch"][index]
    rows[:, F["duration"]], rows[:, F["duration_fine"]] = _split(length)
    rows[:, F["velocity"]] = notes["velocity"][index]
    rows[:, F["tie"]] = (k < pieces[index] - 1).astype(np.int64)
    return start, np.full(len(index), ORDER_AT_INSTANT[KIND["note"]]), rows


def decode(steps: np.ndarray, metadata: Metadata | None = None) -> Score:
    """Steps back to a Score (the inverse of :func:`encode`); label steps are skipped."""
    steps = np.asarray(steps, dtype=np.int64)

    def ticks(row: np.ndarray, coarse: str = "position", fine: str = "position_fine") -> int:
        return int(row[F[coarse]]) * FINE + int(row[F[fine]])

    parts: dict[int, Part] = {}
    sigs, keys, tempos = [], [], []
    notes: list[tuple[int, int, int, int, int]] = []
    open_ties: dict[tuple[int, int], int] = {}  # (part, pitch) -> index in notes of a note that continues
    bar_start, bar_length, first_bar_length = -1, 0, None
    length = 0
    for row in steps:
        kind = KINDS[int(row[F["kind"]])]
        if kind == "part":
            program, drum = int(row[F["value"]]), bool(row[F["value_fine"]])
            parts[int(row[F["part"]])] = Part("Drums" if drum else gm_program_name(program), program, drum)
        elif kind == "bar":
            bar_start = 0 if bar_start < 0 else bar_start + bar_length
            bar_length = ticks(row)
            first_bar_length = bar_length if first_bar_length is None else first_bar_length
        elif kind == "eos":
            length = max(bar_start, 0) + ticks(row)
            break
        elif kind in ("time_signature", "key_signature", "tempo", "note"):
            at = max(bar_start, 0) + ticks(row)
            value, fine = int(row[F["value"]]), int(row[F["value_fine"]])
            if kind == "time_signature":
                sigs.append(TimeSignature(at, value, 1 << fine))
            elif kind == "key_signature":
                keys.append(KeySignature(at, value - 7, MODES[fine]))
            elif kind == "tempo":
                tempos.append(Tempo(at, step_bpm(row)))
            else:
                key = (int(row[F["part"]]), int(row[F["pitch"]]))
                dur = ticks(row, "duration", "duration_fine")
                prev = open_ties.pop(key, None)
                if prev is not None and notes[prev][0] + notes[prev][1] == at:
                    o, d, p, v, pt = notes[prev]
                    notes[prev] = (o, d + dur, p, v, pt)
                    index = prev
                else:
                    notes.append((at, dur, key[1], int(row[F["velocity"]]), key[0]))
                    index = len(notes) - 1
                if row[F["tie"]]:
                    open_ties[key] = index
    ordered_parts = [parts[i] for i in sorted(parts)]
    names = numbered_names([p.name for p in ordered_parts], [-1 if p.is_drum else p.program for p in ordered_parts])
    ordered_parts = [replace(p, name=n) for p, n in zip(ordered_parts, names, strict=True)]  # "Violin 1", "Violin 2"
    pickup = 0
    if sigs and first_bar_length is not None and first_bar_length < sigs[0].bar_ticks:
        pickup = first_bar_length
    return Score.build(parts=ordered_parts, notes=np.array(notes, dtype=NOTE_DTYPE) if notes else [],
                       time_signatures=sigs, key_signatures=keys, tempos=tempos,
                       metadata=metadata or Metadata(), pickup_ticks=pickup, length_ticks=length)

