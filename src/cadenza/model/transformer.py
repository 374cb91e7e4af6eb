"""A small decoder-only transformer over compound event steps (nanoGPT-like; shapes in comments).

Input: each step is a row of field values (see :mod:`cadenza.tokens.events`); its embedding is the sum of
one embedding per field plus a learned position embedding.

Output: one head per field. Field i's head reads the transformer state *plus* embeddings of the fields
before it in the same step (teacher-forced in training, sampled one by one when generating), so

    P(step | past) = prod_i P(field_i | past, fields_<i of this step)

is an exact factorisation: the model's NLL of a sequence is a true log-probability (what the benchmark
tables need). Fields a step's kind does not use are fixed to 0 by the grammar, so they are left out of the
loss and of the probability.

A KV cache makes generation cost one position per step; ``forward`` with a cache gives exactly what a full
forward gives (tested). For sampling, :meth:`EventTransformer.decode_step` reads one new step into a
:class:`DecodeCache` (keys and values preallocated to the context, written in place): the same arithmetic
as ``hidden`` with a cache, bit for bit (tested), without the module calls and the cache's copy at every step.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F  # the usual torch alias
from torch import nn

from cadenza.tokens.events import FIELDS, FIELDS_OF_KIND, KIND, KINDS


def field_mask_table() -> torch.Tensor:
    """(kinds, fields) 1.0 where a kind uses a field; the kind field itself always counts."""
    table = torch.zeros(len(KINDS), len(FIELDS))
    for kind, names in FIELDS_OF_KIND.items():
        table[KIND[kind], FIELDS.index("kind")] = 1.0 if kind != "pad" else 0.0
        for name in names:
            table[KIND[kind], FIELDS.index(name)] = 1.0
    return table


@dataclass(frozen=True)
class ModelConfig:
    field_sizes: dict[str, int] = field(default_factory=dict)  # vocabulary of every field
    d_model: int = 256
    n_layers: int = 6
    n_heads: int = 4
    context: int = 1024  # steps the model sees at once
    dropout: float = 0.1
    mlp_ratio: int = 4

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")
        missing = [f for f in FIELDS if f not in self.field_sizes]
        if missing:
            raise ValueError(f"field sizes missing for {missing}")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


PRESETS = {
    "tiny": {"d_model": 64, "n_layers": 2, "n_heads": 2, "context": 256},
    "small": {"d_model": 192, "n_layers": 4, "n_heads": 4, "context": 512},
    "base": {"d_model": 256, "n_layers": 6, "n_heads": 4, "context": 1024},
}

KVCache = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: keys, values (batch, heads, time, head_dim)


def addmm_form(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """A linear map as ``torch.addmm(bias, x, weight_t)`` takes it: what ``F.linear`` computes for rows ``x``,
    without its dispatch and the transpose it makes at every call."""
    linear = cast(nn.Linear, module)
    return linear.bias, linear.weight.t()


def _norm(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor, float]:
    norm = cast(nn.LayerNorm, module)
    return norm.weight, norm.bias, norm.eps


class DecodeCache:
    """What decoding one sequence step by step needs: per layer, keys and values in a (1, heads, context,
    head_dim) buffer filled up to :attr:`length`, so a new step writes its own in place (``hidden``'s cache is
    copied whole by ``torch.cat`` at every step); and the model's weights, fetched once (each
    ``module.attribute`` costs a Python lookup). Made from ``hidden``'s cache of the steps read at once."""

    def __init__(self, model: EventTransformer, cache: KVCache) -> None:
        batch, heads, length, head_dim = cache[0][0].shape
        if batch != 1:
            raise ValueError("a DecodeCache holds one sequence")
        context = model.config.context
        self.keys = [torch.empty(batch, heads, context, head_dim) for _ in cache]
        self.values = [torch.empty(batch, heads, context, head_dim) for _ in cache]
        for (k, v), keys, values in zip(cache, self.keys, self.values, strict=True):
            keys[:, :, :length] = k
            values[:, :, :length] = v
        self.length = length
        self.heads = heads
        # the input embeddings as numpy views of the weights (no copy: never stale), summed there exactly as
        # torch would (an elementwise float32 sum is the same in both)
        self.inputs = [cast(nn.Embedding, table).weight.detach().numpy() for table in model.inputs]
        self.position = model.position.weight.detach().numpy()
        # per layer: layer norms (weight, bias, eps) and linear maps as addmm takes them (bias, weight.t(): what
        # F.linear calls, less its own dispatch and transpose at every step)
        self.layers: list[tuple[torch.Tensor, torch.Tensor, float, torch.Tensor, torch.Tensor, torch.Tensor,
                                torch.Tensor, torch.Tensor, torch.Tensor, float, torch.Tensor, torch.Tensor,
                                torch.Tensor, torch.Tensor]] = []
        for module in model.blocks:
            block = cast(Block, module)
            self.layers.append((*_norm(block.ln1), *addmm_form(block.attn.qkv), *addmm_form(block.attn.proj),
                                *_norm(block.ln2), *addmm_form(block.mlp[0]), *addmm_form(block.mlp[2])))
        self.final = _norm(model.ln_f)


class SelfAttention(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        b, t, d = x.shape  # (batch, new steps, d_model)
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2) for z in (q, k, v))
        if past is not None:  # cached keys and values of the earlier steps
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        total = k.shape[2]
        dropout = self.dropout if self.training else 0.0
        if past is None:  # the usual causal case: the fast kernels apply
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=dropout)
        else:  # new queries sit at positions total-t .. total-1: each sees itself and everything before
            mask = torch.ones(t, total, dtype=torch.bool, device=x.device).tril(diagonal=total - t)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        y = y.transpose(1, 2).contiguous().view(b, t, d)  # (batch, new steps, d_model)
        return self.proj(y), (k, v)


class Block(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model)
        self.attn = SelfAttention(config)
        self.ln2 = nn.LayerNorm(config.d_model)
        self.mlp = nn.Sequential(nn.Linear(config.d_model, config.mlp_ratio * config.d_model), nn.GELU(),
                                 nn.Linear(config.mlp_ratio * config.d_model, config.d_model),
                                 nn.Dropout(config.dropout))

    def forward(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        attended, present = self.attn(self.ln1(x), past)
        x = x + attended
        return x + self.mlp(self.ln2(x)), present


class EventTransformer(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.chord_events = True  # it learned the chord steps (False: a widened first-vocabulary model)
        d = config.d_model
        self.inputs = nn.ModuleList(nn.Embedding(config.field_sizes[f], d) for f in FIELDS)
        self.position = nn.Embedding(config.context, d)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(d)
        # heads, and the embeddings of already chosen fields that condition the later heads
        self.heads = nn.ModuleList(nn.Linear(d, config.field_sizes[f]) for f in FIELDS)
        self.chosen = nn.ModuleList(nn.Embedding(config.field_sizes[f], d) for f in FIELDS[:-1])
        self.field_mask: torch.Tensor
        self.register_buffer("field_mask", field_mask_table(), persistent=False)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2's scaled init of residual projections
            if name.endswith("proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * config.n_layers))

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def hidden(self, steps: torch.Tensor, cache: KVCache | None = None) -> tuple[torch.Tensor, KVCache]:
        """Transformer states for ``steps`` (batch, time, fields) following ``cache`` (the earlier steps)."""
        _b, t, _ = steps.shape
        start = cache[0][0].shape[2] if cache else 0
        if start + t > self.config.context:
            raise ValueError(f"{start + t} steps exceed the model's context of {self.config.context}")
        x = sum(emb(steps[:, :, i]) for i, emb in enumerate(self.inputs))  # (batch, time, d_model)
        x = x + self.position(torch.arange(start, start + t, device=steps.device))
        x = self.drop(x)
        present: KVCache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, cache[i] if cache else None)
            present.append(kv)
        return self.ln_f(x), present

    def decode_step(self, step: list[int], cache: DecodeCache) -> torch.Tensor:
        """The transformer state (d_model,) after one new step (``step``: its field values) following
        ``cache``, which it extends. In eval mode and without autograd (the sampler's), exactly what
        :meth:`hidden` gives with the cache, bit for bit: the same operations on the same numbers, called
        directly (a single row through ``addmm`` is what ``F.linear`` computes for it; several rows at once
        would round otherwise)."""
        start = cache.length
        if self.training:
            raise ValueError("decode_step is for sampling: put the model in eval mode (no dropout)")
        if start + 1 > self.config.context:
            raise ValueError(f"{start + 1} steps exceed the model's context of {self.config.context}")
        d, heads = self.config.d_model, cache.heads
        head_dim = d // heads
        inputs = cache.inputs
        summed = inputs[0][step[0]]
        for i in range(1, len(inputs)):
            summed = summed + inputs[i][step[i]]
        x = torch.empty(1, d)  # torch's own (aligned) memory, as hidden's
        np.add(summed, cache.position[start], out=x.numpy()[0])
        shape = (d,)
        for (ln1_w, ln1_b, ln1_eps, qkv_b, qkv_wt, proj_b, proj_wt, ln2_w, ln2_b, ln2_eps, up_b, up_wt, down_b, down_wt
             ), keys, values in zip(cache.layers, cache.keys, cache.values, strict=True):
            # one (1, d) row: F.linear on hidden's (1, 1, d) is addmm on this very row
            h = torch.layer_norm(x, shape, ln1_w, ln1_b, ln1_eps)
            q, k, v = torch.addmm(qkv_b, h, qkv_wt).view(1, 3, heads, head_dim).unbind(1)
            keys.select(2, start).copy_(k)
            values.select(2, start).copy_(v)
            # one query sees every cached step: no mask (hidden's all-true mask adds nothing)
            y = F.scaled_dot_product_attention(q.unsqueeze(2), keys.narrow(2, 0, start + 1),
                                               values.narrow(2, 0, start + 1))
            x = x + torch.addmm(proj_b, y.reshape(1, d), proj_wt)
            h = torch.layer_norm(x, shape, ln2_w, ln2_b, ln2_eps)
            x = x + torch.addmm(down_b, F.gelu(torch.addmm(up_b, h, up_wt)), down_wt)
        cache.length = start + 1
        return torch.layer_norm(x, shape, *cache.final)[0]

    def head_forms(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Every field's head in :func:`addmm_form`."""
        return [addmm_form(head) for head in self.heads]

    def chosen_tables(self) -> list[torch.Tensor]:
        """The embeddings (weights) of the fields already chosen, that condition the later heads."""
        return [cast(nn.Embedding, table).weight for table in self.chosen]

    def field_logits(self, h: torch.Tensor, target: torch.Tensor) -> list[torch.Tensor]:
        """Logits of every field of the next step: h (batch, time, d), target (batch, time, fields) gives the
        fields already chosen (teacher forcing). Returns one (batch, time, size) tensor per field."""
        out = []
        condition = h
        for i, head in enumerate(self.heads):
            out.append(head(condition))
            if i < len(self.chosen):
                condition = condition + self.chosen[i](target[:, :, i])
        return out

    def step_nll(self, steps: torch.Tensor, allowed: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        """Negative log-likelihood (nats) of each step after the first: (batch, time-1). Padding (kind 0)
        steps get 0. ``allowed`` restricts fields to a support: {field index: (batch, time-1, size) bool},
        each row a function of the earlier steps and the fields of this step before that field; the model's
        probabilities are renormalised over it (a distribution over the sequences that obey it)."""
        h, _ = self.hidden(steps[:, :-1])
        target = steps[:, 1:]
        mask = self.field_mask[target[:, :, 0]]  # (batch, time-1, fields): fields this kind uses
        if allowed is not None:
            return self._masked_step_nll(h, target, mask, allowed)
        logits = self.field_logits(h, target)
        nll = torch.zeros(target.shape[:2], device=steps.device)
        for i, lg in enumerate(logits):
            if allowed is not None and i in allowed:
                lg = lg.masked_fill(~allowed[i], float("-inf"))
            part = F.cross_entropy(lg.transpose(1, 2), target[:, :, i], reduction="none")
            nll = nll + part * mask[:, :, i]
        return nll

    def _masked_step_nll(self, h: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                         allowed: dict[int, torch.Tensor]) -> torch.Tensor:
        """:meth:`step_nll` with supports: a field's head runs only on the steps that use the field and leave it
        a choice (a support of one value that holds the target costs 0 nats: the head is skipped there). Scoring
        a benchmark's canonical sequences, most fields of most steps are fixed: about 1.3x faster; the sums
        match the all-heads computation to about 1e-6 nats a step (other matrix shapes)."""
        nll = torch.zeros(target.shape[:2], device=h.device)
        condition = h
        for i, head in enumerate(self.heads):
            need = mask[:, :, i].bool()
            if i in allowed:
                support = allowed[i]
                fixed = (support.sum(-1) == 1) & support.gather(-1, target[:, :, i:i + 1]).squeeze(-1)
                need &= ~fixed
            if need.any():
                logits = head(condition[need])
                if i in allowed:  # (a first-vocabulary model's kind head is shorter than today's masks)
                    logits = logits.masked_fill(~allowed[i][need][:, :logits.shape[-1]], float("-inf"))
                nll[need] += F.cross_entropy(logits, target[:, :, i][need], reduction="none")
            if i < len(self.chosen):
                condition = condition + self.chosen[i](target[:, :, i])
        return nll

    def loss(self, steps: torch.Tensor) -> torch.Tensor:
        """Mean NLL per real (non-padding) step."""
        nll = self.step_nll(steps)
        real = (steps[:, 1:, 0] != KIND["pad"]).float()
        return (nll * real).sum() / real.sum().clamp(min=1.0)
