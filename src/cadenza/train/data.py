"""Training data: a corpus split prepared once into flat step arrays, and batches drawn from it.

Preparation (cached next to the corpus, per split and vocabulary version): every work of the split encoded
without labels, concatenated into one (steps, fields) int32 array with per-work offsets, and each work's
label token ids. A training example is the work's header (bos, a random subset of its labels, its parts)
followed by a window of its music that starts at a bar, cut to the model's context: the conditioning is
always in view, and dropping labels at random teaches the model to follow any subset of them: each example
draws its own keep rate, so it sees everything from no labels to all of them. Pitched parts are transposed
at random (key signatures and the key label follow), the augmentation the styles here allow.
Everything random comes from one NumPy generator whose state is saved with the checkpoint.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from cadenza.corpus.store import CorpusStore
from cadenza.listen.labels import TONICS
from cadenza.score.ops import transpose_sharps
from cadenza.score.write import atomic_write_bytes
from cadenza.tokens.events import FIELDS, KIND, TokenizeError, encode
from cadenza.tokens.labels import VOCABULARY_VERSION, label_ids, label_vocabulary

log = logging.getLogger(__name__)

F = {name: i for i, name in enumerate(FIELDS)}
DATA_VERSION = 1


@dataclass
class SplitData:
    steps: np.ndarray  # (total steps, fields) int32, works concatenated
    offsets: np.ndarray  # (works + 1,) start of each work in ``steps``
    labels: list[list[int]]  # label token ids of each work
    notes: np.ndarray  # (works,) notes of each work

    @property
    def works(self) -> int:
        return len(self.offsets) - 1

    def work(self, i: int) -> np.ndarray:
        return self.steps[self.offsets[i]:self.offsets[i + 1]]


def prepare_split(store: CorpusStore, split: str, limit: int | None = None) -> SplitData:
    """The split's works as step arrays (computed once, then read from the corpus folder while the split's
    works and labels stay the same: a rebuilt corpus gets a new cache)."""
    rows = [r for r in store.manifest() if r["split"] == split][:limit]
    fingerprint = hashlib.sha1("\n".join(
        f"{r['id']} {r['content_hash']} {json.dumps(r['labels'], sort_keys=True)}" for r in rows).encode()).hexdigest()
    cache = store.folder / f"steps-{split}-v{DATA_VERSION}.{VOCABULARY_VERSION}-{limit or 'all'}-{fingerprint[:12]}.npz"
    if cache.is_file():
        with np.load(cache) as data:
            labels = [list(map(int, row[row > 0])) for row in data["labels"]]
            return SplitData(data["steps"], data["offsets"], labels, data["notes"])
    chunks, labels, notes, skipped = [], [], [], 0
    for row in rows:
        score = store.load_score(row)
        try:
            chunks.append(encode(score))
        except TokenizeError:
            skipped += 1
            continue
        labels.append(label_ids(row["labels"]))
        notes.append(score.note_count)
    if skipped:
        log.info("%s: %d works outside the event vocabulary's bounds left out", split, skipped)
    if not chunks:
        raise ValueError(f"the corpus {store.name!r} has no usable works in its {split} split")
    data = split_from_steps(chunks, labels, notes)
    width = max(len(x) for x in labels) or 1
    padded = np.zeros((len(labels), width), dtype=np.int32)
    for i, ids in enumerate(labels):
        padded[i, :len(ids)] = ids
    buf = io.BytesIO()
    np.savez(buf, steps=data.steps, offsets=data.offsets, labels=padded, notes=data.notes)
    atomic_write_bytes(cache, buf.getvalue())
    for stale in store.folder.glob(f"steps-{split}-*.npz"):
        if stale != cache:
            stale.unlink(missing_ok=True)
    return data


def split_from_steps(chunks: list[np.ndarray], labels: list[list[int]] | None = None,
                     notes: list[int] | None = None) -> SplitData:
    """Works already encoded (one step array each) as a SplitData."""
    offsets = np.cumsum([0] + [len(c) for c in chunks]).astype(np.int64)
    return SplitData(np.concatenate(chunks).astype(np.int32), offsets, labels or [[] for _ in chunks],
                     np.array(notes if notes is not None else [0] * len(chunks), dtype=np.int64))


_KEY_LABELS = {token: i for i, token in enumerate(label_vocabulary()) if token.startswith("key=")}


def _transposed_key_label(label: int, semitones: int) -> int:
    token = label_vocabulary()[label]
    if token not in _KEY_LABELS:
        return label
    tonic, mode = token.removeprefix("key=").rsplit(" ", 1)
    shifted = TONICS[(TONICS.index(tonic) + semitones) % 12]
    return _KEY_LABELS.get(f"key={shifted} {mode}", label)


def transpose_steps(work: np.ndarray, semitones: int) -> np.ndarray | None:
    """A work's steps moved by ``semitones`` (drum parts stay); None if a note would leave 0..127."""
    if semitones == 0:
        return work
    out = work.copy()
    kinds = out[:, F["kind"]]
    part_rows = out[kinds == KIND["part"]]
    drums = set(part_rows[part_rows[:, F["value_fine"]] == 1][:, F["part"]].tolist())
    notes = kinds == KIND["note"]
    if drums:
        notes &= ~np.isin(out[:, F["part"]], list(drums))
    pitches = out[notes, F["pitch"]] + semitones
    if len(pitches) and (pitches.min() < 0 or pitches.max() > 127):
        return None
    out[notes, F["pitch"]] = pitches
    keys = kinds == KIND["key_signature"]
    out[keys, F["value"]] = [transpose_sharps(int(v) - 7, semitones) + 7 for v in out[keys, F["value"]]]
    return out


@dataclass(frozen=True)
class BatchConfig:
    context: int
    batch_size: int
    label_keep: tuple[float, float] = (0.0, 1.0)  # each example keeps each label at a rate drawn from this range
    transpose: tuple[int, int] = (-5, 6)  # semitone range of the random transposition (inclusive)


def make_example(data: SplitData, index: int, config: BatchConfig, rng: np.random.Generator) -> np.ndarray:
    """One training sequence (context + 1 steps, padded with kind 0)."""
    work = data.work(index)
    shift = int(rng.integers(config.transpose[0], config.transpose[1] + 1))
    moved = transpose_steps(work, shift)
    if moved is None:
        moved, shift = work, 0
    kinds = moved[:, F["kind"]]
    first_music = int(np.argmax((kinds != KIND["bos"]) & (kinds != KIND["part"])))
    head = moved[:first_music]  # bos and the parts
    low, high = config.label_keep
    rate = low + (high - low) * rng.random() if high > low else low
    labels = [label for label in data.labels[index] if rng.random() < rate]
    label_rows = np.zeros((len(labels), len(FIELDS)), dtype=np.int32)
    label_rows[:, F["kind"]] = KIND["label"]
    label_rows[:, F["label"]] = [_transposed_key_label(label, shift) for label in labels]
    music = moved[first_music:]
    room = config.context + 1 - len(head) - len(labels)
    if len(music) > room:
        bars = np.nonzero(music[:, F["kind"]] == KIND["bar"])[0]
        starts = bars[bars <= len(music) - room] if len(bars) else np.array([0])
        begin = int(rng.choice(starts)) if len(starts) else 0
        music = music[begin:begin + room]
    sequence = np.concatenate([head[:1], label_rows, head[1:], music])[: config.context + 1]
    out = np.zeros((config.context + 1, len(FIELDS)), dtype=np.int64)
    out[: len(sequence)] = sequence
    return out


def _unpadded(example: np.ndarray) -> np.ndarray:
    real = np.nonzero(example[:, F["kind"]] != KIND["pad"])[0]
    return example[: real[-1] + 1] if len(real) else example[:0]


def make_batch(data: SplitData, config: BatchConfig, rng: np.random.Generator) -> np.ndarray:
    """A (batch, context + 1, fields) array. Each row is packed with whole examples, one after another (each
    starts with its own bos and header), the last one cut at the row's end: short tunes fill a row instead
    of padding it. Works are drawn in proportion to their length."""
    weights = np.diff(data.offsets).astype(float)
    weights /= weights.sum()
    rows = np.zeros((config.batch_size, config.context + 1, len(FIELDS)), dtype=np.int64)
    for row in rows:
        filled = 0
        while filled < len(row):
            example = _unpadded(make_example(data, int(rng.choice(data.works, p=weights)), config, rng))
            take = min(len(example), len(row) - filled)
            row[filled:filled + take] = example[:take]
            filled += take
    return rows


def generator_state(rng: np.random.Generator) -> dict[str, Any]:
    return dict(rng.bit_generator.state)


def generator_from_state(state: dict[str, Any]) -> np.random.Generator:
    rng = np.random.default_rng()
    rng.bit_generator.state = state
    return rng

