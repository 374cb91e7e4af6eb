"""The event transformer at a tiny size: cached decoding equals full recomputation, the NLL is a real
log-probability that training lowers, and checkpoints round-trip through safetensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cadenza.errors import InputError  # noqa: E402
from cadenza.model.checkpoint import load_checkpoint, new_model, save_checkpoint  # noqa: E402
from cadenza.score import read_score  # noqa: E402
from cadenza.tokens import FIELDS, encode  # noqa: E402


def _chorale_steps(length: int = 120) -> torch.Tensor:
    steps = encode(read_score("music21:bach/bwv66.6"))[:length]
    return torch.tensor(np.asarray(steps, dtype=np.int64))[None]  # (1, time, fields)


def test_cached_decoding_equals_full_recomputation() -> None:
    torch.manual_seed(0)
    model = new_model("tiny").eval()
    steps = _chorale_steps(60)
    with torch.no_grad():
        full, _ = model.hidden(steps)
        cache = None
        incremental = []
        for t in range(steps.shape[1]):
            h, cache = model.hidden(steps[:, t:t + 1], cache)
            incremental.append(h)
    assert torch.allclose(torch.cat(incremental, dim=1), full, atol=1e-5)


def test_step_nll_is_a_normalised_log_probability() -> None:
    """For one position, the probabilities of all values of the first field sum to 1, and the step NLL
    equals the sum of the per-field NLLs of the fields the kind uses."""
    torch.manual_seed(0)
    model = new_model("tiny").eval()
    steps = _chorale_steps(40)
    with torch.no_grad():
        nll = model.step_nll(steps)
        h, _ = model.hidden(steps[:, :-1])
        logits = model.field_logits(h, steps[:, 1:])
    assert nll.shape == (1, 39) and torch.all(nll > 0)
    assert torch.allclose(logits[0].softmax(-1).sum(-1), torch.ones(1, 39))
    target = steps[0, 1:]
    t = 20
    used = model.field_mask[target[t, 0]]
    by_field = sum(-logits[i][0, t].log_softmax(-1)[target[t, i]] * used[i] for i in range(len(FIELDS)))
    assert torch.allclose(nll[0, t], by_field, atol=1e-5)


def test_training_lowers_the_loss() -> None:
    torch.manual_seed(0)
    model = new_model("tiny", dropout=0.0)
    steps = _chorale_steps(100)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(40):
        loss = model.loss(steps)
        first = first if first is not None else float(loss.detach())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert float(loss.detach()) < 0.5 * first


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = new_model("tiny").eval()
    save_checkpoint(model, tmp_path / "ckpt", training={"notes": 163})
    loaded, config = load_checkpoint(tmp_path / "ckpt")
    steps = _chorale_steps(30)
    with torch.no_grad():
        assert torch.equal(model.step_nll(steps), loaded.step_nll(steps))
    assert config["training"] == {"notes": 163} and config["model"]["d_model"] == 64
    assert not list((tmp_path / "ckpt").glob("*.tmp"))
    with pytest.raises(InputError, match="no model checkpoint"):
        load_checkpoint(tmp_path / "nothing")


def test_context_is_enforced() -> None:
    model = new_model("tiny")
    with pytest.raises(ValueError, match="context"):
        model.hidden(torch.zeros(1, 300, len(FIELDS), dtype=torch.long))
