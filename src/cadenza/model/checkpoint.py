"""Checkpoints: the weights as safetensors and everything needed to use them in config.json (model shape,
field vocabularies, label vocabulary, training data summary). No pickle anywhere. Writes go to temporary
files that are renamed into place; a training run's folders (``last/``, ``best/``) are written whole into a
new folder that then takes the old one's place (:func:`write_folder`), so a crash leaves one complete
checkpoint, never files of two steps (:func:`settled_folder` finds it).

    <dir>/model.safetensors
    <dir>/config.json   {"format": "cadenza-model", "version": 1, "model": {...}, "label_vocabulary": [...],
                         "training": {...}}
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from cadenza.errors import InputError, OutputError
from cadenza.files import atomic_write_bytes, read_json
from cadenza.model.adapter_spec import SHIPPED_MODEL
from cadenza.model.transformer import EventTransformer, ModelConfig
from cadenza.threads import ensure_threads
from cadenza.tokens import field_sizes, label_vocabulary
from cadenza.tokens.events import FIRST_VOCABULARY_KINDS, KIND
from cadenza.versions import software_versions

FORMAT_NAME = "cadenza-model"
DEFAULT_MODEL = SHIPPED_MODEL  # shipped in the package
FORMAT_VERSION = 1


def save_checkpoint(model: EventTransformer, folder: str | os.PathLike[str],
                    training: dict[str, Any] | None = None, half: bool = False) -> Path:
    """Write the model; ``half`` stores the weights as float16 (half the size, for shipping; they load back
    into float32 parameters)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    if half:
        tensors = {name: t.half() if t.is_floating_point() else t for name, t in tensors.items()}
    tmp = out / ".model.safetensors.tmp"
    save_file(tensors, str(tmp), metadata={"format": FORMAT_NAME})
    tmp.replace(out / "model.safetensors")
    config = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "model": model.config.to_dict(),
              "label_vocabulary": list(label_vocabulary()), "training": training or {},
              "software": software_versions()}
    atomic_write_bytes(out / "config.json", json.dumps(config, indent=2, ensure_ascii=False).encode("utf-8"))
    return out


def _aside(final: Path) -> Path:
    return final.parent / f"{final.name}.old"


def write_folder(final: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Write a folder whole: ``write`` fills a new folder beside ``final`` (its files flushed to disk), then
    the old ``final`` steps aside to ``<final>.old``, the new one takes its name and the old one is removed.
    Files of the old folder that ``write`` did not make (an originality index) are kept. A crash at any point
    leaves a complete folder as ``final`` or as ``<final>.old``; a write cut short leaves a hidden folder that
    the next write removes."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tidy_folder(final)
    aside = _aside(final)
    fresh = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        write(fresh)
        current = settled_folder(final)
        if current.is_dir():
            for kept in current.iterdir():
                if kept.is_file() and not (fresh / kept.name).exists():
                    shutil.copy2(kept, fresh / kept.name)
        for made in fresh.iterdir():
            with made.open("rb") as fh:
                os.fsync(fh.fileno())
        if final.is_dir():
            if aside.exists():
                shutil.rmtree(aside)
            final.replace(aside)
        fresh.replace(final)
        shutil.rmtree(aside, ignore_errors=True)
    except (OSError, SafetensorError) as exc:  # a full disk (which safetensors reports as a SafetensorError), a
        shutil.rmtree(fresh, ignore_errors=True)  # folder taken away
        reason = getattr(exc, "strerror", None) or (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise OutputError(f"cannot write {str(final)[:120]}: {reason}") from None
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return final


def tidy_folder(final: str | os.PathLike[str]) -> None:
    """Remove what a crash inside :func:`write_folder` left beside ``final``: half-written hidden folders, and
    ``<final>.old`` once ``final`` is whole (a crash after the new folder took its name)."""
    final = Path(final)
    for stale in final.parent.glob(f".{final.name}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    aside = _aside(final)
    if aside.is_dir() and final.is_dir():
        shutil.rmtree(aside)


def settled_folder(final: str | os.PathLike[str]) -> Path:
    """The complete folder that ``final`` names: itself, or ``<final>.old`` where a crash between
    :func:`write_folder`'s two renames left no ``final``."""
    final = Path(final)
    aside = _aside(final)
    return aside if not final.exists() and aside.is_dir() else final


def settled_file(final: str | os.PathLike[str], name: str) -> Path | None:
    """The file ``name`` of the complete folder ``final`` names (:func:`settled_folder`), None where there is
    none, or where the file system refuses the name (a caller's own check says so in one line)."""
    try:
        path = settled_folder(final) / name
        return path if path.is_file() else None
    except OSError:
        return None


def read_config(folder: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(folder) / "config.json"
    try:
        config: dict[str, Any] = read_json(path)
    except FileNotFoundError:
        if (Path(folder) / "ensemble.json").is_file():
            raise InputError(f"{folder} holds an ensemble, which scores benchmarks (cadenza eval nll); to compose, "
                             f"use one of its members: {Path(folder) / 'members' / 'a'}") from None
        from cadenza.model.adapter_spec import shipped_models

        raise InputError(f"no model checkpoint in {folder} (config.json missing; give a model folder or the name of a "
                         f"shipped model: {', '.join(shipped_models())})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME or config.get("version") != FORMAT_VERSION:
        raise InputError(f"{folder} holds no Cadenza model of format version {FORMAT_VERSION}")
    labels = config.get("label_vocabulary", ())
    if not isinstance(labels, list | tuple) or tuple(labels) != label_vocabulary():
        raise InputError(f"the model in {folder} was trained with another label vocabulary; retrain it")
    return config


#: bounds on a model's shape, checked before anything is allocated (a folder from elsewhere may claim any size)
SHAPE_BOUNDS = {"d_model": (8, 4096), "n_layers": (1, 64), "n_heads": (1, 64), "context": (16, 16384),
                "mlp_ratio": (1, 16)}
MAX_PARAMETERS = 2_000_000_000


def model_config_of(folder: str | os.PathLike[str], config: dict[str, Any]) -> ModelConfig:
    """The checkpoint's model shape, checked (known keys, whole numbers within :data:`SHAPE_BOUNDS`, heads that
    divide the width, this Cadenza's event vocabulary, a plausible size) before a model is built; a one-line
    InputError otherwise."""
    shape = config.get("model")
    if not isinstance(shape, dict):
        raise InputError(f"the config.json in {folder} holds no model shape")
    unknown = sorted(set(shape) - {"field_sizes", "dropout", *SHAPE_BOUNDS})
    if unknown:
        raise InputError(f"the model shape in {folder} has an unknown setting {unknown[0][:40]!r}")
    for name, (low, high) in SHAPE_BOUNDS.items():
        value = shape.get(name, getattr(ModelConfig, name))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InputError(f"the model in {folder} has {name} {str(value)[:40]!r}: a whole number "
                             f"from {low} to {high} is expected")
    dropout = shape.get("dropout", 0.1)
    if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
        raise InputError(f"the model in {folder} has dropout {str(dropout)[:40]!r}: 0 to 1 is expected")
    if shape.get("field_sizes") not in (field_sizes(), {**field_sizes(), "kind": FIRST_VOCABULARY_KINDS}):
        raise InputError(f"the model in {folder} was trained with another event vocabulary; retrain it")
    width, layers = shape.get("d_model", ModelConfig.d_model), shape.get("n_layers", ModelConfig.n_layers)
    if width % shape.get("n_heads", ModelConfig.n_heads):
        raise InputError(f"the model in {folder} has a width ({width}) its heads do not divide")
    ratio = shape.get("mlp_ratio", ModelConfig.mlp_ratio)
    if layers * width * width * (4 + 2 * ratio) > MAX_PARAMETERS:
        raise InputError(f"the model in {folder} would have over {MAX_PARAMETERS:,} parameters: not loaded")
    return ModelConfig(**shape)


def load_checkpoint(folder: str | os.PathLike[str], device: str = "cpu") -> tuple[EventTransformer, dict[str, Any]]:
    """The model (in eval mode) and its config. Everything is checked before it costs anything: the shape
    (:func:`model_config_of`), then the weights file (its header against its size, every tensor's name,
    shape and floating-point type against the model's)."""
    config = read_config(folder)
    ensure_threads()  # torch's thread count, chosen once per process (cadenza.threads)
    shape = model_config_of(folder, config)
    model = EventTransformer(shape)
    model.chord_events = shape.field_sizes["kind"] > FIRST_VOCABULARY_KINDS
    try:
        state = load_file(str(Path(folder) / "model.safetensors"), device=device)
        expected = model.state_dict()
        for name, tensor in state.items():
            if name in expected and (not tensor.is_floating_point()) != (not expected[name].is_floating_point()):
                raise ValueError(f"tensor {name} is stored as {tensor.dtype}, not as floating point")
        model.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001 - safetensors' own errors (a lying or truncated header) included
        raise InputError(f"cannot load the weights in {folder}: {str(exc).splitlines()[0][:200]}") from None
    model.eval()
    return model.to(device), config


#: a chord kind's head bias below a note's when a first-vocabulary model starts to learn chords (about one step in
#: nine is a chord)
CHORD_KIND_START = 2.0


def learn_chord_kind(model: EventTransformer) -> EventTransformer:
    """A model of the first event vocabulary (no chord kind: it loads as it was, and the sampler never offers it
    a chord) widened to today's, to be trained further (``--init``): the chord kind's embeddings are zero and
    its head's bias :data:`CHORD_KIND_START` below a note's, where training can move it. A model that knows
    chords comes back as it is."""
    if model.chord_events:
        return model
    wide = EventTransformer(replace(model.config, field_sizes=field_sizes()))
    state = model.state_dict()
    kinds = FIRST_VOCABULARY_KINDS
    with torch.no_grad():
        for name, tensor in wide.state_dict().items():
            old = state[name].to(tensor.device)
            if tensor.shape == old.shape:
                tensor.copy_(old)
                continue
            tensor.zero_()
            tensor[:kinds].copy_(old)
            if name == "heads.0.bias":
                tensor[kinds:] = old[KIND["note"]] - CHORD_KIND_START
    return wide


def export_checkpoint(source: str | os.PathLike[str], target: str | os.PathLike[str],
                      note: dict[str, Any] | None = None) -> Path:
    """A shippable copy of a checkpoint: float16 weights, the training summary without its history, and
    ``note`` (how it was made) added to the summary."""
    model, config = load_checkpoint(source)
    training = {k: v for k, v in config.get("training", {}).items() if k != "history"}
    folder = save_checkpoint(model, target, training={**training, **(note or {})}, half=True)
    index = Path(source) / "originality.npz"  # the copy guard's index of the training works travels with it
    if index.is_file():
        atomic_write_bytes(folder / index.name, index.read_bytes())
    return folder


def default_checkpoint() -> Path:
    """The folder of the default model that ships with Cadenza (see MODEL_CARD.md)."""
    if not (DEFAULT_MODEL / "config.json").is_file():
        raise InputError(f"the default model is missing from this installation ({DEFAULT_MODEL}); reinstall Cadenza")
    return DEFAULT_MODEL


def new_model(preset: str = "tiny", **overrides: Any) -> EventTransformer:
    from cadenza.model.transformer import PRESETS

    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}: {', '.join(PRESETS)}")
    settings = {**PRESETS[preset], **overrides}
    ensure_threads()  # torch's thread count, chosen once per process (cadenza.threads)
    return EventTransformer(ModelConfig(field_sizes=field_sizes(), **settings))


__all__ = ["default_checkpoint", "export_checkpoint", "learn_chord_kind", "load_checkpoint", "new_model", "read_config",
           "save_checkpoint"]
