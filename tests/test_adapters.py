"""Style adapters (cadenza.model.adapters): low-rank deltas over a frozen base, merged for sampling; their
folders checked as untrusted input; composing picks one by the request's labels; ``cadenza styles`` lists it."""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cadenza.errors import InputError, UsageError  # noqa: E402
from cadenza.model.adapters import (  # noqa: E402
    AdapterSpec,
    adapter_tensors,
    attach,
    load_adapter,
    load_merged,
    merge,
    save_adapter,
    weights_hash,
)
from cadenza.model.checkpoint import load_checkpoint, new_model  # noqa: E402
from cadenza.model.transformer import DecodeCache  # noqa: E402
from cadenza.tokens.events import FIELDS  # noqa: E402

MATCH = {"epoch": "classical", "ensemble": "solo-piano"}


def _steps(model: Any, length: int = 24, seed: int = 0) -> Any:
    """A random (1, length, fields) batch of field values within the model's vocabularies."""
    rng = np.random.default_rng(seed)
    sizes = [model.config.field_sizes[f] for f in FIELDS]
    return torch.from_numpy(np.stack([rng.integers(0, s, length) for s in sizes], axis=1)[None].astype(np.int64))


def _trained_like(model: Any, seed: int = 1, size: float = 0.05) -> dict[str, Any]:
    """Attach an adapter to ``model`` and give its B matrices random values (a fresh adapter's are zero)."""
    attach(model, rank=4, alpha=8.0, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("lora_b"):
                p.copy_(torch.randn(p.shape, generator=generator) * size)
    return adapter_tensors(model)


def test_the_merged_model_computes_what_the_unmerged_low_rank_forward_does() -> None:
    torch.manual_seed(0)
    base = new_model("tiny").eval()
    adapted = copy.deepcopy(base)
    tensors = _trained_like(adapted)
    adapted.eval()
    merged = merge(base, AdapterSpec("s", rank=4, alpha=8.0), tensors)
    x = _steps(base)
    with torch.no_grad():
        unmerged, _ = adapted.hidden(x)
        fused, _ = merged.hidden(x)
        plain, _ = base.hidden(x)
    assert torch.allclose(unmerged, fused, atol=1e-5)
    assert not torch.allclose(plain, fused, atol=1e-3)  # the adapter does change the model
    # the merged model is a plain EventTransformer: the sampler's fast path gives what hidden gives
    with torch.no_grad():
        _, cache = merged.hidden(x[:, :-1])
        step = merged.decode_step(x[0, -1].tolist(), DecodeCache(merged, cache))
    assert torch.allclose(step, fused[0, -1], atol=1e-5)


def test_a_zero_b_adapter_leaves_the_outputs_identical() -> None:
    torch.manual_seed(0)
    base = new_model("tiny").eval()
    fresh = copy.deepcopy(base)
    attach(fresh, rank=8, alpha=16.0)
    fresh.eval()
    tensors = adapter_tensors(fresh)
    assert all(not t.any() for name, t in tensors.items() if name.endswith("lora_b"))
    merged = merge(base, AdapterSpec("s", rank=8, alpha=16.0), tensors)
    x = _steps(base)
    with torch.no_grad():
        assert torch.equal(base.step_nll(x), merged.step_nll(x))
        assert torch.equal(base.step_nll(x), fresh.step_nll(x))
    assert all(torch.equal(a, b) for a, b in zip(base.state_dict().values(), merged.state_dict().values(),
                                                  strict=True))


def test_only_the_adapter_learns(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = new_model("tiny")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    params = attach(model, rank=2, alpha=4.0)
    assert {id(p) for p in model.parameters() if p.requires_grad} == {id(p) for p in params}
    optimizer = torch.optim.AdamW(params, lr=1e-2)
    model.train()
    model.loss(_steps(model, 32)).backward()
    optimizer.step()
    after = {k.replace(".base.", "."): v for k, v in model.state_dict().items() if "lora_" not in k}
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.fixture(scope="module")
def adapted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny base checkpoint with a classical-piano adapter (random B) in its adapters/ folder."""
    from cadenza.model.checkpoint import save_checkpoint

    torch.manual_seed(3)
    folder = save_checkpoint(new_model("tiny"), tmp_path_factory.mktemp("adapted") / "model")
    model, _ = load_checkpoint(folder)
    tensors = _trained_like(model, seed=5, size=1.0)  # large: an untrained tiny model's choices must change
    spec = AdapterSpec("classical-piano", 4, 8.0, weights_hash(folder), dict(MATCH),
                       {"base_valid": {"nll_per_step": 2.0}, "valid": {"nll_per_step": 1.9}})
    save_adapter(folder / "adapters" / "classical-piano", spec, tensors)
    return folder


def test_an_adapter_round_trips_and_merges(adapted: Path) -> None:
    base, _ = load_checkpoint(adapted)
    spec, tensors = load_adapter(adapted / "adapters" / "classical-piano", base, weights_hash(adapted))
    assert (spec.style, spec.rank, spec.alpha, spec.match) == ("classical-piano", 4, 8.0, MATCH)
    merged, _ = load_merged(base, adapted / "adapters" / "classical-piano")
    assert not torch.equal(merged.blocks[0].attn.qkv.weight, base.blocks[0].attn.qkv.weight)
    assert len(tensors) == 4 * 2 * base.config.n_layers


def _damaged(folder: Path, tmp: Path, change: Any) -> Path:
    copied = tmp / "bad"
    shutil.copytree(folder, copied)
    change(copied)
    return copied


def _json_edit(**fields: Any) -> Any:
    def edit(folder: Path) -> None:
        raw = json.loads((folder / "adapter.json").read_text())
        raw.update(fields)
        (folder / "adapter.json").write_text(json.dumps(raw))
    return edit


def _rewrite(tensors: Any) -> Any:
    def edit(folder: Path) -> None:
        from safetensors.torch import load_file, save_file

        save_file(tensors(load_file(str(folder / "adapter.safetensors"))), str(folder / "adapter.safetensors"))
    return edit


def _truncate(folder: Path) -> None:
    data = (folder / "adapter.safetensors").read_bytes()
    (folder / "adapter.safetensors").write_bytes(data[: len(data) // 2])


def _lying_header(folder: Path) -> None:
    data = bytearray((folder / "adapter.safetensors").read_bytes())
    data[:8] = (10**12).to_bytes(8, "little")
    (folder / "adapter.safetensors").write_bytes(bytes(data))


BAD = {
    "no adapter.json": (lambda f: (f / "adapter.json").unlink(), "adapter.json missing"),
    "not JSON": (lambda f: (f / "adapter.json").write_text("{oops"), "not valid JSON"),
    "another format": (_json_edit(format="cadenza-model"), "no Cadenza adapter"),
    "rank 0": (_json_edit(rank=0), "rank"),
    "rank of another adapter": (_json_edit(rank=8), "shape"),
    "another base": (_json_edit(base_hash="f" * 64), "another base model"),
    "no weights": (lambda f: (f / "adapter.safetensors").unlink(), "adapter.safetensors missing"),
    "truncated": (_truncate, "damaged"),
    "a lying header": (_lying_header, "damaged"),
    "float16": (_rewrite(lambda t: {k: v.half() for k, v in t.items()}), "float32"),
    "a wrong shape": (_rewrite(lambda t: {**t, "blocks.0.mlp.0.lora_a": torch.zeros(4, 3)}), "shape"),
    "a stray tensor": (_rewrite(lambda t: {**t, "heads.0.weight": torch.zeros(2, 2)}), "no place"),
    "a missing tensor": (_rewrite(lambda t: {k: v for k, v in t.items() if "mlp.2" not in k}), "lacks"),
    "not finite": (_rewrite(lambda t: {**t, "blocks.1.attn.proj.lora_b": t["blocks.1.attn.proj.lora_b"] / 0}),
                   "non-finite"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_adapter_folder_is_one_line(adapted: Path, tmp_path: Path, case: str) -> None:
    change, words = BAD[case]
    folder = _damaged(adapted / "adapters" / "classical-piano", tmp_path, change)
    base, _ = load_checkpoint(adapted)
    with pytest.raises(InputError) as caught:
        load_adapter(folder, base, weights_hash(adapted))
    assert words in str(caught.value) and "\n" not in str(caught.value)


def _compose(adapted: Path, **request: Any) -> Any:
    from cadenza.compose.generate import compose
    from cadenza.compose.request import ComposeRequest

    return compose(ComposeRequest(bars=4, seed=1, guard=False, key="C major", **request), checkpoint=adapted)


def test_compose_uses_the_matching_adapter_and_reports_it(adapted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    piano = _compose(adapted, ensemble="piano", epoch="classical")
    assert piano.report["model"]["adapter"]["used"] == "classical-piano"
    assert piano.report["model"]["adapter"]["valid_nll"] == {"base": 2.0, "adapter": 1.9}
    monkeypatch.setenv("CADENZA_ADAPTERS", "off")
    plain = _compose(adapted, ensemble="piano", epoch="classical")
    assert plain.report["model"]["adapter"]["used"] is None
    assert not np.array_equal(piano.score.notes, plain.score.notes)
    monkeypatch.delenv("CADENZA_ADAPTERS")
    quartet = _compose(adapted, ensemble="string-quartet", epoch="classical")  # labels it does not match
    assert "adapter" not in quartet.report["model"]


def test_cadenza_styles_lists_the_adapter(adapted: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from cadenza.cli import main
    from cadenza.compose import styles

    monkeypatch.setattr(styles, "SHIPPED_MODEL", adapted)
    assert main(["styles"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "adapter" in line)
    assert "classical-piano" in line and "ensemble solo-piano" in line and "rank 4" in line
    assert "2.000 -> 1.900" in line
    assert main(["styles", "--json"]) == 0
    found = {s["epoch"]: s["adapters"] for s in json.loads(capsys.readouterr().out)}
    assert [a["style"] for a in found["classical"]] == ["classical-piano"] and found["baroque"] == []


def test_train_adapter_writes_a_better_adapter_and_stops_on_request(tmp_path: Path, tiny: Path,
                                                                    chorale_splits: Any) -> None:
    from cadenza.train.adapt import AdaptConfig, train_adapter

    train, _valid = chorale_splits
    config = AdaptConfig(init=str(tiny), corpus="-", out=str(tmp_path / "a"), rank=4, alpha=8.0, lr=3e-2,
                         batch_size=2, max_steps=8, eval_every=4, eval_batches=1, warmup_steps=1,
                         label_keep=(1.0, 1.0), transpose=(0, 0))
    summary = train_adapter(config, splits=(train, train))  # learning its own works: the NLL must fall
    assert summary["improved"] and summary["best_valid"] < summary["base_valid"]["nll_per_step"]
    spec = json.loads((tmp_path / "a" / "adapter.json").read_text())
    assert spec["base_hash"] == weights_hash(tiny) and spec["training"]["step"] == summary["best_step"]
    base, _ = load_checkpoint(tiny)
    load_adapter(tmp_path / "a", base, weights_hash(tiny))
    # a second run into the folder replaced that adapter without a word: now it is refused, or --overwrite
    written = (tmp_path / "a" / "adapter.safetensors").read_bytes()
    with pytest.raises(UsageError, match=r"already holds an adapter.*--overwrite"):
        train_adapter(config, splits=(train, train))
    assert (tmp_path / "a" / "adapter.safetensors").read_bytes() == written
    again = train_adapter(replace(config, overwrite=True, seed=1), splits=(train, train))
    assert again["improved"] and (tmp_path / "a" / "adapter.safetensors").read_bytes() != written


def test_ctrl_c_stops_an_adapter_run_at_the_end_of_its_step_and_keeps_the_best(tmp_path: Path, tiny: Path,
                                                                               chorale_splits: Any) -> None:
    import os
    import signal

    from cadenza.train.adapt import AdaptConfig, train_adapter

    train, _valid = chorale_splits
    config = AdaptConfig(init=str(tiny), corpus="-", out=str(tmp_path / "a"), rank=4, alpha=8.0, lr=3e-2,
                         batch_size=2, max_steps=50, eval_every=3, eval_batches=1, warmup_steps=1)

    def interrupt(record: dict[str, Any]) -> None:
        if record["step"] == 3:
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C: the handler asks the run to stop

    summary = train_adapter(config, splits=(train, train), progress=interrupt)
    assert summary["stopped_by"] == "SIGINT" and summary["steps"] == 3  # no step after the request
    assert (tmp_path / "a" / "adapter.json").is_file() and summary["improved"]
