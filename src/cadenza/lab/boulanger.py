"""The polyphonic music benchmarks (Boulanger-Lewandowski et al. 2012): JSB chorales, Nottingham, MuseData,
Piano-midi.de, and their metric: NLL in nats per frame (the rolls themselves, and their event steps, are read
by :mod:`cadenza.corpus.rolls`; models train on them with ``cadenza train --benchmark``).

A roll becomes a Score whose every frame holds its sounding keys as notes one frame long, in one part, in
4/4; encoded, that is one event sequence for the roll: its *canonical* sequence. Scoring renormalises the
model's probabilities over the canonical sequences (:func:`canonical_masks`: notes on the frame grid, one
frame long, pitches rising within a frame, one piano part, the fixed header), so the model is scored as a
distribution over rolls and the NLL is the roll's own, exactly. Every step counts, the bars and the end
included. Sequences longer than the model's context are scored with overlapping windows (each step once,
with at least half a context before it), which is still a true probability under the model restricted to
that context.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cadenza.corpus.rolls import BENCHMARKS, benchmark_steps, load_rolls
from cadenza.lab.mixture import NgramMember, Scorer
from cadenza.model.scoring import sequence_nll, step_nlls
from cadenza.model.transformer import EventTransformer
from cadenza.score.model import TICKS_PER_QUARTER
from cadenza.tokens.events import FIELD_SIZES, FIELDS, FINE, KIND, F

PUBLISHED = {  # test NLL, nats per frame (../shared/datasets/README.md)
    "RNN-NADE (Boulanger 2012)": {"piano": 7.05, "nottingham": 2.31, "musedata": 5.60, "jsb": 5.19},
    "RNN-RBM (Boulanger 2012)": {"piano": 7.09, "nottingham": 2.39, "musedata": 6.01, "jsb": 6.27},
    "TCN (Bai 2018)": {"nottingham": 3.07, "jsb": 8.10},
    "LSTM (Chung 2014)": {"piano": 9.03, "nottingham": 3.20, "musedata": 6.23, "jsb": 8.67},
}


LOWEST_KEY, HIGHEST_KEY = 21, 108  # the 88 keys of a roll
VELOCITY = 80


def canonical_masks(steps: np.ndarray, frame_ticks: int) -> dict[int, np.ndarray]:
    """Where a canonical roll sequence may go: for each step after the first, {field index: (steps - 1,
    field size) bool} of the values allowed given the steps before it and the fields of the same step
    chosen before that field (the order of the model's heads: kind first). The header (bos, the piano part,
    the first bar, 4/4) is fixed; then each step is a note on the frame grid (one frame long, at or after
    the last note's frame in the bar; above the last note's pitch in the same frame), a full bar, or the
    end (after the bar's last note, on the grid). Everything but the step before is irrelevant, so this is
    vectorised. Fields a kind does not use are left unrestricted (they do not count)."""
    target, before = steps[1:], steps[:-1]
    n = len(target)
    frame, bar = frame_ticks // FINE, 4 * TICKS_PER_QUARTER // FINE  # in the position field's units
    kind = target[:, F["kind"]]
    prev_kind, prev_pos, prev_pitch = before[:, F["kind"]], before[:, F["position"]], before[:, F["pitch"]]
    prev_prev_kind = np.concatenate([[-1], steps[:-2, F["kind"]]])[:n]
    header = {1: ("part", {"part": 0, "value": 0, "value_fine": 0}),  # step index: kind, fields
              2: ("bar", {"position": bar, "position_fine": 0}),
              3: ("time_signature", {"position": 0, "position_fine": 0, "value": 4, "value_fine": 2})}
    index = np.arange(1, n + 1)
    is_header = ((index == 1) & (prev_kind == KIND["bos"])) | ((index == 2) & (prev_kind == KIND["part"])) | (
        (index == 3) & (prev_kind == KIND["bar"]) & (prev_prev_kind == KIND["part"]))
    masks = {i: np.ones((n, FIELD_SIZES.get(f, 1) if f != "label" else 1), dtype=bool)
             for i, f in enumerate(FIELDS) if f != "label"}

    def only(field: str, rows: np.ndarray, value: int | np.ndarray) -> None:
        masks[F[field]][rows] = False
        masks[F[field]][np.nonzero(rows)[0], value] = True

    masks[F["kind"]][:] = False
    for row, (kind_name, fields) in header.items():
        rows = is_header & (index == row)
        only("kind", rows, KIND[kind_name])
        for field, value in fields.items():
            only(field, rows & (kind == KIND[kind_name]), value)
    music = ~is_header
    after_note = music & (prev_kind == KIND["note"])
    units = np.arange(masks[F["position"]].shape[1])
    on_grid = (units % frame == 0)
    # notes: from the last note's frame (if a higher key is left) or the bar's start, up to its last frame
    first_note_pos = np.where(after_note, np.where(prev_pitch < HIGHEST_KEY, prev_pos, prev_pos + frame), 0)
    room_for_note = first_note_pos < bar
    masks[F["kind"]][music, KIND["bar"]] = True
    masks[F["kind"]][music, KIND["eos"]] = True
    masks[F["kind"]][music & room_for_note, KIND["note"]] = True
    notes = music & (kind == KIND["note"])
    masks[F["position"]][notes] = on_grid & (units[None] >= first_note_pos[notes, None]) & (
        units[None] < bar)
    for field, value in (("position_fine", 0), ("part", 0), ("duration", frame), ("duration_fine", 0),
                         ("velocity", VELOCITY), ("tie", 0)):
        only(field, notes, value)
    keys = np.arange(FIELD_SIZES["pitch"])
    lowest = np.where(after_note & (target[:, F["position"]] == prev_pos), prev_pitch + 1, LOWEST_KEY)
    masks[F["pitch"]][notes] = (keys[None] >= lowest[notes, None]) & (keys[None] <= HIGHEST_KEY)
    only("position", music & (kind == KIND["bar"]), bar)
    only("position_fine", music & (kind == KIND["bar"]), 0)
    ends = music & (kind == KIND["eos"])  # the end reaches past the bar's last note, up to the bar's end
    reach_from = np.where(after_note, prev_pos + frame, frame)
    masks[F["position"]][ends] = on_grid & (units[None] >= reach_from[ends, None]) & (
        units[None] <= bar)
    only("position_fine", ends, 0)
    return masks


def frame_nll(model: Scorer, name: str, split: str = "test", limit: int | None = None,
              device: str = "cpu", canonical: bool = True) -> dict[str, float]:
    """The benchmark metric: total NLL over the split's sequences / total frames (and per note). With
    ``canonical`` (the default and the reported figure) the model is renormalised over canonical
    sequences; without, it is the raw probability of the canonical sequence (a looser upper bound)."""
    rolls = load_rolls(name)[split][:limit]
    steps = benchmark_steps(name, split)[:limit]
    frame = BENCHMARKS[name][1]
    total = sum(sequence_nll(model, s, device, canonical_masks(s, frame) if canonical else None) for s in steps)
    frames = sum(len(r) for r in rolls)
    notes = sum(int(r.sum()) for r in rolls)
    return {"nll_per_frame": total / frames, "nll_per_note": total / max(notes, 1), "frames": frames,
            "notes": notes, "sequences": len(rolls)}


def shipped_checkpoint(name: str) -> Path:
    """Where the package keeps its benchmark checkpoint for ``name``."""
    return Path(__file__).resolve().parents[1] / "models" / "benchmarks" / name


def members_valid_nll(name: str, models: Sequence[EventTransformer | NgramMember], device: str = "cpu") -> np.ndarray:
    """(models, steps): each model's NLL of every step of the valid split (canonical masks; an n-gram
    member's raw probabilities, as it scores in a mixture)."""
    frame = BENCHMARKS[name][1]
    steps = benchmark_steps(name, "valid")
    rows = []
    for model in models:
        if isinstance(model, NgramMember):  # no context to window: each step sees its whole past
            rows.append(np.concatenate([model.step_nll(torch.from_numpy(s.astype(np.int64))[None])[0].numpy()
                                        for s in steps]))
        else:
            rows.append(np.concatenate([step_nlls(model, s, device, canonical_masks(s, frame)) for s in steps]))
    return np.stack(rows)


def build_ensemble(name: str, checkpoints: Sequence[str | Path], out: str | Path,
                   note: dict[str, Any] | None = None, max_members: int = 4,
                   ngram_orders: Sequence[int] = ()) -> dict[str, Any]:
    """An ensemble folder for benchmark ``name`` from at most ``max_members`` of ``checkpoints`` (and of
    the n-grams of ``ngram_orders``, see :mod:`cadenza.lab.mixture`), chosen by forward selection on the
    valid split (never test), with mixture weights fitted there too; each chosen model exported as float16
    under ``out``/members, ensemble.json written last (atomic). Returns the weights, the members' sources
    and the valid NLL per frame of each member and of the mixture."""
    from cadenza.lab.mixture import (
        NGRAM_PREFIX,
        fit_weights,
        mixture_nll,
        ngram_member,
        save_ensemble,
        select_members,
    )
    from cadenza.model.checkpoint import export_checkpoint, load_checkpoint

    candidates: list[tuple[str, EventTransformer | NgramMember]] = [
        *((str(c), load_checkpoint(c)[0]) for c in checkpoints),
        *((f"{NGRAM_PREFIX}{order}", ngram_member(name, order)) for order in ngram_orders)]
    nll = members_valid_nll(name, [model for _, model in candidates])
    chosen = select_members(nll, max_members)
    nll = nll[chosen]
    weights = fit_weights(nll)
    frames = sum(len(r) for r in load_rolls(name)["valid"])
    names, sources, letters = [], [], iter("abcdefghijklmnopqrstuvwxyz")
    for source, model in (candidates[i] for i in chosen):
        sources.append(source)
        if isinstance(model, NgramMember):
            names.append(source)
        else:
            names.append(next(letters))
            export_checkpoint(source, Path(out) / "members" / names[-1], {"source": source})
    valid = {"members": [round(float(v) / frames, 4) for v in nll.sum(axis=1)],
             "mixture": round(mixture_nll(nll, weights) / frames, 4), "metric": "valid NLL per frame"}
    save_ensemble(out, names, weights, training={"benchmark": name, "valid": valid, **(note or {})})
    return {"weights": weights, "valid": valid, "members": dict(zip(names, sources, strict=True))}
