"""A model folder from elsewhere is checked before it costs anything: every bad one is a one-line error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from cadenza.errors import InputError  # noqa: E402
from cadenza.model.checkpoint import load_checkpoint, new_model, save_checkpoint  # noqa: E402


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_checkpoint(new_model("tiny"), tmp_path_factory.mktemp("good") / "m")


def _with_config(good: Path, into: Path, change: Any) -> Path:
    shutil.copytree(good, into)
    config = json.loads((into / "config.json").read_text())
    (into / "config.json").write_text(json.dumps(change(config)))
    return into


@pytest.mark.parametrize(("name", "change"), [
    ("huge width", lambda c: {**c, "model": {**c["model"], "d_model": 1_000_000}}),
    ("ten million layers", lambda c: {**c, "model": {**c["model"], "n_layers": 10_000_000}}),
    ("no heads", lambda c: {**c, "model": {**c["model"], "n_heads": 0}}),
    ("negative context", lambda c: {**c, "model": {**c["model"], "context": -5}}),
    ("a size as text", lambda c: {**c, "model": {**c["model"], "d_model": "64"}}),
    ("an unknown setting", lambda c: {**c, "model": {**c["model"], "evil": 1}}),
    ("heads that do not divide", lambda c: {**c, "model": {**c["model"], "n_heads": 3}}),
    ("a list for a config", lambda c: [c]),
    ("a model that is a list", lambda c: {**c, "model": [1, 2]}),
])
def test_a_bad_model_shape_is_refused_before_anything_is_built(good: Path, tmp_path: Path, name: str,
                                                               change: Any) -> None:
    folder = _with_config(good, tmp_path / "m", change)
    with pytest.raises(InputError) as error:
        load_checkpoint(folder)
    assert "\n" not in str(error.value), name


def test_damaged_or_retyped_weights_are_refused(good: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    for case in ("truncated", "empty", "lying header", "int8"):
        folder = tmp_path / case.replace(" ", "-")
        shutil.copytree(good, folder)
        weights = folder / "model.safetensors"
        data = weights.read_bytes()
        if case == "truncated":
            weights.write_bytes(data[: len(data) // 2])
        elif case == "empty":
            weights.write_bytes(b"")
        elif case == "lying header":
            weights.write_bytes((10**12).to_bytes(8, "little") + data[8:])
        else:
            save_file({k: v.to(torch.int8) for k, v in load_file(str(weights)).items()}, str(weights))
        with pytest.raises(InputError, match="cannot load the weights"):
            load_checkpoint(folder)
    (tmp_path / "badutf8").mkdir()
    (tmp_path / "badutf8" / "config.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(InputError, match="not valid JSON"):
        load_checkpoint(tmp_path / "badutf8")
    assert load_checkpoint(good)[0].parameter_count() > 0  # the good one still loads


def test_an_originality_index_that_would_blow_up_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile
    import zlib

    import numpy as np

    from cadenza.originality import index

    load_index = index.load_index
    monkeypatch.setattr(index, "MAX_INDEX_BYTES", 16 * 2**20)  # the cap scaled down with the bomb (2 GiB real)
    bomb = tmp_path / "bomb.npz"  # one member that inflates to 64 MiB from a few kB
    with (zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive,
          archive.open("huge.npy", "w") as member):
        for _ in range(64):
            member.write(bytes(2**20))
    with pytest.raises(InputError, match="unpack"):
        load_index(bomb)
    meta_bomb = tmp_path / "meta.npz"  # metadata that inflates beyond any index's
    monkeypatch.setattr(index, "MAX_META_BYTES", 2**20)
    np.savez(meta_bomb, meta=np.frombuffer(zlib.compress(b"{" + b" " * (8 * 2**20)), dtype=np.uint8))
    with pytest.raises(InputError, match="metadata"):
        load_index(meta_bomb)
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="not a readable originality index"):
        load_index(tmp_path / "junk.npz")
