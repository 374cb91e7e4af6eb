"""Style adapters: small low-rank deltas over the shared model's linear layers (LoRA-like).

An adapter holds, for each adapted linear map ``W`` (out, in) of every block (``attn.qkv``, ``attn.proj``,
``mlp.0``, ``mlp.2``), two matrices ``A`` (rank, in) and ``B`` (out, rank); the adapted map is

    W' = W + (alpha / rank) · B · A

It is trained with the base frozen (:func:`attach`: the linear maps become :class:`LowRankLinear`, whose base
weights take no gradient) and used by **merging** it into a copy of the base weights (:func:`merge`): the
merged model is a plain :class:`~cadenza.model.transformer.EventTransformer`, so the sampler's fast path
(``decode_step``, ``addmm_form``, the caches) is unchanged and composing with an adapter costs nothing more a
step than without.

On disk an adapter is a folder:

    <dir>/adapter.safetensors   blocks.<i>.<layer>.lora_a / .lora_b, float32
    <dir>/adapter.json          {"format": "cadenza-adapter", "version": 1, "style": ..., "rank": r,
                                 "alpha": a, "base_hash": <sha256 of the base's model.safetensors>,
                                 "match": {label: value}, "training": {...}}

A folder from elsewhere is untrusted: :func:`load_adapter` checks the JSON, the file's size, the safetensors
header (read by hand before anything is allocated), every tensor's name, dtype and shape against the base,
and that the numbers are finite; anything wrong is a one-line :class:`~cadenza.errors.InputError`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import struct
from pathlib import Path
from typing import cast

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from cadenza.errors import InputError
from cadenza.model.adapter_spec import FORMAT_NAME, MAX_HEADER_BYTES, MAX_RANK, AdapterSpec, read_spec
from cadenza.model.transformer import Block, EventTransformer

LAYERS = ("attn.qkv", "attn.proj", "mlp.0", "mlp.2")  # the linear maps of a block an adapter changes
MAX_FILE_BYTES = 32 * 1024 * 1024  # an adapter is small; a bigger file is refused before it is read


class LowRankLinear(nn.Module):
    """A frozen linear map plus a trainable low-rank delta: ``base(x) + scale · (x Aᵀ) Bᵀ``. ``B`` starts at
    zero, so a fresh adapter leaves the model's outputs as they were."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.lora_a.t() @ self.lora_b.t()) * self.scale


def _parent_and_name(block: Block, layer: str) -> tuple[nn.Module, str]:
    head, _, tail = layer.rpartition(".")
    return cast(nn.Module, block.get_submodule(head)), tail


def attach(model: EventTransformer, rank: int, alpha: float, seed: int = 0) -> list[nn.Parameter]:
    """Freeze every parameter of ``model`` and replace its blocks' linear maps (:data:`LAYERS`) in place by
    :class:`LowRankLinear` wrappers; returns the adapter's parameters (the only trainable ones).
    The model's ``decode_step`` no longer applies (it reads plain linear maps): :func:`merge` for sampling."""
    if not 1 <= rank <= MAX_RANK:
        raise InputError(f"adapter rank {rank}: give 1 to {MAX_RANK}")
    for p in model.parameters():
        p.requires_grad_(False)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    params: list[nn.Parameter] = []
    try:
        for module in model.blocks:
            for layer in LAYERS:
                parent, name = _parent_and_name(cast(Block, module), layer)
                wrapped = LowRankLinear(cast(nn.Linear, getattr(parent, name)), rank, alpha)
                setattr(parent, name, wrapped)
                params += [wrapped.lora_a, wrapped.lora_b]
    finally:
        torch.random.set_rng_state(generator_state)
    return params


def adapter_tensors(model: EventTransformer) -> dict[str, torch.Tensor]:
    """The A/B matrices of a model with :func:`attach`'s wrappers, named ``blocks.<i>.<layer>.lora_a|b``."""
    out: dict[str, torch.Tensor] = {}
    for i, module in enumerate(model.blocks):
        for layer in LAYERS:
            wrapped = cast(Block, module).get_submodule(layer)
            if not isinstance(wrapped, LowRankLinear):
                raise ValueError(f"blocks.{i}.{layer} carries no adapter")
            out[f"blocks.{i}.{layer}.lora_a"] = wrapped.lora_a.detach().cpu().float().contiguous().clone()
            out[f"blocks.{i}.{layer}.lora_b"] = wrapped.lora_b.detach().cpu().float().contiguous().clone()
    return out


def expected_shapes(base: EventTransformer, rank: int) -> dict[str, tuple[int, int]]:
    """Every tensor an adapter of ``rank`` over ``base`` must hold, with its shape."""
    shapes: dict[str, tuple[int, int]] = {}
    for i, module in enumerate(base.blocks):
        for layer in LAYERS:
            linear = cast(nn.Linear, cast(Block, module).get_submodule(layer))
            shapes[f"blocks.{i}.{layer}.lora_a"] = (rank, linear.in_features)
            shapes[f"blocks.{i}.{layer}.lora_b"] = (linear.out_features, rank)
    return shapes


def merge(base: EventTransformer, spec: AdapterSpec, tensors: dict[str, torch.Tensor]) -> EventTransformer:
    """A copy of ``base`` (the base itself untouched) whose linear maps hold ``W + scale · B · A``: a plain
    EventTransformer, in eval mode, for the sampler's fast path."""
    merged = copy.deepcopy(base)
    with torch.no_grad():
        for i, module in enumerate(merged.blocks):
            for layer in LAYERS:
                linear = cast(nn.Linear, cast(Block, module).get_submodule(layer))
                a, b = tensors[f"blocks.{i}.{layer}.lora_a"], tensors[f"blocks.{i}.{layer}.lora_b"]
                delta = (b.to(linear.weight.dtype) @ a.to(linear.weight.dtype)) * spec.scale
                linear.weight.add_(delta.to(linear.weight.device))
    merged.eval()
    return merged


def weights_hash(checkpoint: str | os.PathLike[str]) -> str:
    """The content hash (sha256, hex) of a checkpoint's ``model.safetensors``: what an adapter is tied to."""
    try:
        return hashlib.sha256((Path(checkpoint) / "model.safetensors").read_bytes()).hexdigest()
    except OSError as exc:
        raise InputError(f"cannot read the model weights in {checkpoint}: {exc.strerror or exc}") from None


def save_adapter(folder: str | os.PathLike[str], spec: AdapterSpec, tensors: dict[str, torch.Tensor]) -> Path:
    """Write the adapter folder whole (a new folder takes the old one's place: a crash leaves one complete
    adapter, never files of two)."""
    from cadenza.model.checkpoint import write_folder

    def write(into: Path) -> None:
        save_file({k: v.detach().cpu().float().contiguous() for k, v in tensors.items()},
                  str(into / "adapter.safetensors"), metadata={"format": FORMAT_NAME})
        (into / "adapter.json").write_bytes(json.dumps(spec.to_json(), indent=1, ensure_ascii=False).encode("utf-8"))

    return write_folder(folder, write)


def _check_header(path: Path, shapes: dict[str, tuple[int, int]]) -> None:
    """The safetensors header read by hand: its length against the file's, every tensor float32 with the
    expected name, shape and byte range, before safetensors allocates anything."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputError(f"{path} is {size:,} bytes: too large for an adapter")
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise InputError(f"{path} is not a safetensors file (too short)")
        (length,) = struct.unpack("<Q", head)
        if not 2 <= length <= min(MAX_HEADER_BYTES, size - 8):
            raise InputError(f"{path} has a header of {length:,} bytes in a file of {size:,}: damaged")
        try:
            header = json.loads(fh.read(length).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise InputError(f"{path} has an unreadable header: damaged") from None
    if not isinstance(header, dict):
        raise InputError(f"{path} has an unreadable header: damaged")
    header.pop("__metadata__", None)
    missing, unknown = sorted(set(shapes) - set(header)), sorted(set(header) - set(shapes))
    if unknown:
        raise InputError(f"{path} holds a tensor {unknown[0][:60]!r} that the base model has no place for")
    if missing:
        raise InputError(f"{path} lacks the tensor {missing[0]} (an adapter of another shape or rank?)")
    data = size - 8 - length
    for name, info in header.items():
        if not isinstance(info, dict) or info.get("dtype") != "F32":
            raise InputError(f"{path}: tensor {name} is not stored as float32")
        if info.get("shape") != list(shapes[name]):
            raise InputError(f"{path}: tensor {name} has shape {str(info.get('shape'))[:40]}, the base needs "
                             f"{list(shapes[name])}")
        offsets = info.get("data_offsets")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(isinstance(o, int) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data
                or offsets[1] - offsets[0] != 4 * shapes[name][0] * shapes[name][1]):
            raise InputError(f"{path}: tensor {name} lies outside the file: damaged or truncated")


def load_adapter(folder: str | os.PathLike[str], base: EventTransformer,
                 base_hash: str | None = None) -> tuple[AdapterSpec, dict[str, torch.Tensor]]:
    """The adapter in ``folder``, checked against ``base`` (and, given ``base_hash``, tied to those weights):
    its description, then its file (see the module docstring); a one-line InputError where anything is off.
    ``base_hash``: the base's :func:`weights_hash`, or its first 16 or more hex digits."""
    spec = read_spec(folder)
    if base_hash is not None and not (len(base_hash) >= 16 and spec.base_hash.startswith(base_hash)):
        raise InputError(f"the adapter in {folder} was trained for another base model "
                         f"({spec.base_hash[:12]}, not {base_hash[:12]}): retrain it")
    path = Path(folder) / "adapter.safetensors"
    shapes = expected_shapes(base, spec.rank)
    try:
        _check_header(path, shapes)
        tensors = load_file(str(path))
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"no adapter weights in {folder} (adapter.safetensors missing)") from None
    except Exception as exc:  # noqa: BLE001 - safetensors' own errors on a damaged file
        raise InputError(f"cannot load the adapter in {folder}: {str(exc).splitlines()[0][:200]}") from None
    for name, tensor in tensors.items():
        if not torch.isfinite(tensor).all():
            raise InputError(f"the adapter in {folder} holds non-finite numbers in {name}")
    return spec, tensors


def load_merged(base: EventTransformer, folder: str | os.PathLike[str], base_hash: str | None = None
                ) -> tuple[EventTransformer, AdapterSpec]:
    """The base with the adapter in ``folder`` merged in (a copy), and the adapter's description."""
    spec, tensors = load_adapter(folder, base, base_hash)
    return merge(base, spec, tensors), spec


__all__ = ["LAYERS", "AdapterSpec", "LowRankLinear", "adapter_tensors", "attach", "expected_shapes", "load_adapter",
           "load_merged", "merge", "read_spec", "save_adapter", "weights_hash"]
