"""What a style adapter is, read without torch: its ``adapter.json`` (:class:`AdapterSpec`, checked by
:func:`read_spec`) and the adapters a model folder ships (:func:`adapters_in`). The tensors, training and
merging are in :mod:`cadenza.model.adapters`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadenza.errors import InputError
from cadenza.files import read_json

FORMAT_NAME = "cadenza-adapter"
FORMAT_VERSION = 1
MAX_RANK = 64
MAX_HEADER_BYTES = 1024 * 1024
ADAPTERS_FOLDER = "adapters"  # beside a model's weights: adapters/<style>/
SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "models" / "default"  # the default model's folder
SWITCH = "CADENZA_ADAPTERS"  # "off" (or 0, no, false): compose with the base model alone


def shipped_models() -> dict[str, Path]:
    """The models that ship in the package, by the name ``--model`` takes: each folder of ``models/`` that holds a
    model (``default``, and others its card names; the benchmark checkpoints are not composers)."""
    return {folder.name: folder for folder in sorted(SHIPPED_MODEL.parent.iterdir())
            if (folder / "config.json").is_file()}


@dataclass(frozen=True)
class AdapterSpec:
    """What an adapter is: its style, rank and scale numerator, the base model it belongs to (hash of its
    weights file), the request labels that choose it, and how it was trained."""

    style: str
    rank: int = 8
    alpha: float = 16.0
    base_hash: str = ""
    match: dict[str, str] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def scale(self) -> float:
        return self.alpha / self.rank

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "style": self.style, "rank": self.rank,
                "alpha": self.alpha, "base_hash": self.base_hash, "match": dict(self.match),
                "training": dict(self.training)}


def read_spec(folder: str | os.PathLike[str]) -> AdapterSpec:
    """The adapter's ``adapter.json``, checked (format, style, rank, alpha, base hash, match labels)."""
    path = Path(folder) / "adapter.json"
    try:
        raw = read_json(path, MAX_HEADER_BYTES)
    except FileNotFoundError:
        raise InputError(f"no adapter in {folder} (adapter.json missing)") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT_NAME or raw.get("version") != FORMAT_VERSION:
        raise InputError(f"{folder} holds no Cadenza adapter of format version {FORMAT_VERSION}")
    rank, alpha, style = raw.get("rank"), raw.get("alpha"), raw.get("style")
    if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= MAX_RANK:
        raise InputError(f"the adapter in {folder} has rank {str(rank)[:40]!r}: 1 to {MAX_RANK} is expected")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha <= 1024:
        raise InputError(f"the adapter in {folder} has alpha {str(alpha)[:40]!r}: a number above 0 is expected")
    if not isinstance(style, str) or not 0 < len(style) <= 80:
        raise InputError(f"the adapter in {folder} names no style")
    base_hash, match = raw.get("base_hash"), raw.get("match", {})
    if not isinstance(base_hash, str) or len(base_hash) != 64:
        raise InputError(f"the adapter in {folder} names no base model (base_hash)")
    if not isinstance(match, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in match.items()):
        raise InputError(f"the adapter in {folder} has a malformed match (labels: text to text)")
    training = raw.get("training", {})
    return AdapterSpec(style, rank, float(alpha), base_hash, dict(match),
                       training if isinstance(training, dict) else {})


def adapters_in(checkpoint: str | os.PathLike[str]) -> list[tuple[Path, AdapterSpec]]:
    """The adapters a model folder holds (``<checkpoint>/adapters/<style>/``), by folder name; a folder that is
    not a readable adapter is an InputError (one line)."""
    root = Path(checkpoint) / ADAPTERS_FOLDER
    if not root.is_dir():
        return []
    return [(folder, read_spec(folder)) for folder in sorted(root.iterdir())
            if folder.is_dir() and not folder.name.startswith(".")]


def adapters_enabled() -> bool:
    """False where the environment turns style adapters off (``CADENZA_ADAPTERS=off``)."""
    return os.environ.get(SWITCH, "").strip().lower() not in ("off", "0", "no", "false")


def matching_adapter(checkpoint: str | os.PathLike[str], labels: dict[str, str]
                     ) -> tuple[Path, AdapterSpec] | None:
    """The adapter of ``checkpoint`` whose match labels all hold in ``labels`` (the most specific where several
    do), unless adapters are turned off; None where none matches."""
    if not adapters_enabled():
        return None
    found = [(folder, spec) for folder, spec in adapters_in(checkpoint)
             if spec.match and all(labels.get(k) == v for k, v in spec.match.items())]
    return max(found, key=lambda pair: len(pair[1].match)) if found else None


__all__ = ["ADAPTERS_FOLDER", "SWITCH", "AdapterSpec", "adapters_enabled", "adapters_in", "matching_adapter",
           "read_spec"]
