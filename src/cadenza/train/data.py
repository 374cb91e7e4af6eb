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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.corpus.balance import balanced_weights, copies_in
from cadenza.corpus.store import CorpusStore
from cadenza.errors import UsageError
from cadenza.files import atomic_write_bytes
from cadenza.listen.labels import TONICS
from cadenza.score.ops import transpose_sharps
from cadenza.tokens.events import FIELDS, KIND, F, TokenizeError, corpus_steps, transposed_chord_value
from cadenza.tokens.labels import VOCABULARY_VERSION, label_ids, label_vocabulary

log = logging.getLogger(__name__)

DATA_VERSION = 7  # 4: works of more than 16 parts are reduced (encodable), no longer left out; 5: chord steps;
# 6: the chord steps are the decoded analysis (listen.harmony.decoded_beat_chords); 7: ... heard by the learned
# chord network (listen.harmony_net)


@dataclass
class SplitData:
    steps: np.ndarray  # (total steps, fields) int32, works concatenated
    offsets: np.ndarray  # (works + 1,) start of each work in ``steps``
    labels: list[list[int]]  # label token ids of each work
    notes: np.ndarray  # (works,) notes of each work
    styles: list[str] = field(default_factory=list)  # each work's style (its epoch label), for the balance
    copies: np.ndarray | None = None  # (works,) works of the split in each work's duplicate group
    weights: np.ndarray | None = None  # draw probabilities; None: in proportion to length
    _cdf: np.ndarray | None = field(default=None, init=False, repr=False)

    @property
    def works(self) -> int:
        return len(self.offsets) - 1

    def work(self, i: int) -> np.ndarray:
        return self.steps[self.offsets[i]:self.offsets[i + 1]]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def balanced(self, power: float, context: int = 512) -> SplitData:
        """The same works drawn with styles balanced and duplicates counted once (see ``corpus.balance``)."""
        styles = self.styles or ["?"] * self.works
        return replace(self, weights=balanced_weights(styles, self.lengths, self.copies, power, context))

    def draw(self, rng: np.random.Generator) -> int:
        """One work index drawn by ``weights`` (the same draw as ``rng.choice(works, p=weights)``)."""
        if self._cdf is None:
            p = self.weights if self.weights is not None else self.lengths / max(self.lengths.sum(), 1)
            cdf = np.cumsum(p, dtype=float)
            self._cdf = cdf / cdf[-1]
        return int(self._cdf.searchsorted(rng.random(), side="right"))


def save_steps(path: Path, data: SplitData, compress: bool = False) -> None:
    """Write a split's step arrays (atomically) as an .npz that :func:`load_steps` reads."""
    width = max((len(x) for x in data.labels), default=0) or 1
    padded = np.zeros((len(data.labels), width), dtype=np.int32)
    for i, ids in enumerate(data.labels):
        padded[i, :len(ids)] = ids
    copies = data.copies if data.copies is not None else np.ones(data.works, dtype=np.int32)
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(
        buf, steps=data.steps, offsets=data.offsets, labels=padded, notes=data.notes,
        styles=np.array(data.styles or ["?"] * data.works), copies=copies)
    atomic_write_bytes(path, buf.getvalue())


def load_steps(path: Path) -> SplitData:
    """A split written by :func:`save_steps`."""
    with np.load(path) as data:
        labels = [list(map(int, row[row > 0])) for row in data["labels"]]
        return SplitData(data["steps"], data["offsets"], labels, data["notes"], [str(s) for s in data["styles"]],
                         data["copies"])


def write_steps_folder(store: CorpusStore, folder: Path) -> dict[str, Any]:
    """The train and valid splits' step arrays as ``train.npz`` and ``valid.npz`` (compressed) with a
    ``steps.json`` naming the corpus: what ``cadenza train --steps`` reads on a machine without the corpus."""
    splits = {split: prepare_split(store, split) for split in ("train", "valid")}  # both before anything is
    folder.mkdir(parents=True, exist_ok=True)  # written (a corpus without valid works left the folder, train.npz)
    info: dict[str, Any] = {"corpus": store.name, "data_version": DATA_VERSION, "vocabulary": VOCABULARY_VERSION}
    for split, data in splits.items():
        save_steps(folder / f"{split}.npz", data, compress=True)
        info[split] = {"works": data.works, "steps": int(len(data.steps)), "notes": int(data.notes.sum())}
    atomic_write_bytes(folder / "steps.json", json.dumps(info, indent=1).encode("utf-8"))
    return info


def read_steps_folder(folder: Path) -> tuple[tuple[SplitData, SplitData], str]:
    """(train, valid) from a folder :func:`write_steps_folder` wrote, and the corpus's name."""
    try:
        info = json.loads((folder / "steps.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{folder} holds no readable steps.json (write it with cadenza corpus steps): {exc}") from None
    if info.get("data_version") != DATA_VERSION or info.get("vocabulary") != VOCABULARY_VERSION:
        raise UsageError(f"the steps in {folder} were written by another version of Cadenza: write them again")
    return (load_steps(folder / "train.npz"), load_steps(folder / "valid.npz")), str(info["corpus"])


def prepare_split(store: CorpusStore, split: str, limit: int | None = None) -> SplitData:
    """The split's works as step arrays (computed once, then read from the corpus folder while the split's
    works and labels stay the same: a rebuilt corpus gets a new cache)."""
    rows = [r for r in store.manifest() if r["split"] == split][:limit]
    fingerprint = hashlib.sha1("\n".join(
        f"{r['id']} {r['content_hash']} {r.get('group', '')} {json.dumps(r['labels'], sort_keys=True)}"
        for r in rows).encode()).hexdigest()
    cache = store.folder / f"steps-{split}-v{DATA_VERSION}.{VOCABULARY_VERSION}-{limit or 'all'}-{fingerprint[:12]}.npz"
    if cache.is_file():
        return load_steps(cache)
    chunks, labels, notes, styles, copies, skipped = [], [], [], [], [], 0
    for row, row_copies in zip(rows, copies_in(rows), strict=True):
        try:
            score, steps = corpus_steps(store.load_score(row))
        except TokenizeError:
            skipped += 1
            continue
        chunks.append(steps)
        labels.append(label_ids(row["labels"]))
        notes.append(score.note_count)
        styles.append(str(row["labels"].get("epoch") or "?"))
        copies.append(row_copies)
    if skipped:
        log.warning("%s: %d works outside the event vocabulary's bounds left out", split, skipped)
    if not chunks:
        raise UsageError(f"the corpus {store.name!r} has no usable works in its {split} split (each split takes a "
                         f"share of the works: build it with more, e.g. cadenza corpus build --limit 200)")
    data = split_from_steps(chunks, labels, notes)
    data.styles, data.copies = styles, np.array(copies, dtype=np.int32)
    save_steps(cache, data)
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


def benchmark_split(name: str, split: str, limit: int | None = None) -> SplitData:
    """A benchmark's official split (:mod:`cadenza.corpus.rolls`) as training data."""
    from cadenza.corpus.rolls import benchmark_steps, load_rolls

    chunks = benchmark_steps(name, split)[:limit]
    rolls = load_rolls(name)[split][:limit]
    return split_from_steps(chunks, notes=[int(r.sum()) for r in rolls])


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
    chords = kinds == KIND["chord"]
    out[chords, F["value"]] = [transposed_chord_value(int(v), semitones) for v in out[chords, F["value"]]]
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


def _fill_row(row: np.ndarray, data: SplitData, config: BatchConfig, rng: np.random.Generator) -> None:
    filled = 0
    while filled < len(row):
        example = _unpadded(make_example(data, data.draw(rng), config, rng))
        take = min(len(example), len(row) - filled)
        row[filled:filled + take] = example[:take]
        filled += take


def make_batch(data: SplitData, config: BatchConfig, rng: np.random.Generator) -> np.ndarray:
    """A (batch, context + 1, fields) array. Each row is packed with whole examples, one after another (each
    starts with its own bos and header), the last one cut at the row's end: short tunes fill a row instead
    of padding it (so every row holds context + 1 real steps). Works are drawn by the split's weights (in
    proportion to their length unless balanced)."""
    rows = np.zeros((config.batch_size, config.context + 1, len(FIELDS)), dtype=np.int64)
    for row in rows:
        _fill_row(row, data, config, rng)
    return rows


#: how training draws its batches (saved with each run: a run drawn otherwise cannot resume exactly)
BATCH_SCHEME = "seeded-rows-1"


def seeded_rows(data: SplitData, config: BatchConfig, seed: int, step: int, rows: range | None = None
                ) -> np.ndarray:
    """Rows ``rows`` (all ``config.batch_size`` of them by default) of training step ``step``'s batch, each
    row packed as :func:`make_batch` packs it from its own generator, seeded by (``seed``, ``step``, row): the
    same rows whichever process or batch worker makes them and however the batch is shared out."""
    rows = range(config.batch_size) if rows is None else rows
    out = np.zeros((len(rows), config.context + 1, len(FIELDS)), dtype=np.int64)
    for row, index in zip(out, rows, strict=True):
        _fill_row(row, data, config, np.random.default_rng([seed, step, index]))
    return out


def generator_state(rng: np.random.Generator) -> dict[str, Any]:
    return dict(rng.bit_generator.state)


def generator_from_state(state: dict[str, Any]) -> np.random.Generator:
    rng = np.random.default_rng()
    rng.bit_generator.state = state
    return rng

