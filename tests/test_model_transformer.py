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


def test_scoring_with_supports_skips_fixed_fields_and_keeps_the_sums() -> None:
    """With supports, a field's head runs only where the field is used and left a choice; the NLL equals the
    all-heads computation (every head, its support masked in) step by step."""
    import torch.nn.functional as F

    torch.manual_seed(1)
    model = new_model("tiny", context=256).eval()
    steps = _chorale_steps()
    target = steps[:, 1:]
    generator = torch.Generator().manual_seed(2)
    allowed = {}
    for i in (0, 2, 3, 5):  # supports holding the target: some wide, some of the target alone (fixed)
        size = model.config.field_sizes[FIELDS[i]]
        wide = torch.rand(*target.shape[:2], size, generator=generator) < 0.5
        alone = torch.rand(*target.shape[:2], 1, generator=generator) < 0.6
        allowed[i] = (wide & ~alone) | torch.nn.functional.one_hot(target[:, :, i], size).bool()
    assert any(bool(((a.sum(-1) == 1) & model.field_mask[target[:, :, 0]][:, :, i].bool()).any())
               for i, a in allowed.items())  # the test exercises skipped heads
    with torch.no_grad():
        fast = model.step_nll(steps, allowed)
        h, _ = model.hidden(steps[:, :-1])
        used = model.field_mask[target[:, :, 0]]
        slow = torch.zeros(target.shape[:2])
        for i, logits in enumerate(model.field_logits(h, target)):
            if i in allowed:
                logits = logits.masked_fill(~allowed[i], float("-inf"))
            slow += F.cross_entropy(logits.transpose(1, 2), target[:, :, i], reduction="none") * used[:, :, i]
    assert torch.allclose(fast, slow, atol=1e-4)
