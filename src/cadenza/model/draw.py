"""Drawing one value of a field from the model's logits: the grammar's and the rules' mask, their bias,
temperature and nucleus (top-p) filtering, then a draw from a seeded generator.

The draw is ``torch.multinomial``'s own written out (the exponential race: argmax of p / E with one E ~ Exp(1)
per value, from the generator): the same numbers and the same random stream, in fewer torch calls and
without its checks of the distribution, which cost more than the draw itself (two reductions and two syncs).
Where one value holds more than ``top_p`` of the mass (most draws of a trained model) the nucleus is that value
alone: it is drawn without the reckoning, the generator's exponentials drawn all the same.
Nucleus filtering reckons in numpy what sorting, cumulative sums and a scatter did in torch, the same numbers
(:func:`nucleus`; tested against :func:`nucleus_by_sort`).
"""

from __future__ import annotations

import numpy as np
import torch

#: values below this share of the largest are left out of the nucleus's sort where the rest hold enough mass
_FEW = 1e-3
_ROOM = 1e-3  # the mass the sorted values hold beyond top_p at least (float32 sums round by ~1e-7)
_SHIFT = np.array([-np.inf, 0.0], dtype=np.float32)  # added to a score: not allowed, allowed


class Draw:
    """Draws values (at least two allowed) for one sampling run: ``temperature`` and ``top_p`` as in
    :class:`cadenza.model.sample.SampleConfig`, from ``generator``; one buffer of exponentials per field size."""

    def __init__(self, temperature: float, top_p: float, generator: torch.Generator) -> None:
        self.temperature, self.top_p, self.generator = temperature, top_p, generator
        self.races: dict[tuple[int, torch.dtype], torch.Tensor] = {}

    def __call__(self, logits: torch.Tensor, allowed: np.ndarray, bias: np.ndarray | None = None) -> int:
        """The value drawn: ``logits`` (1-D) plus ``bias`` (nats, or None), only where ``allowed``."""
        shift = _SHIFT[allowed.view(np.uint8)]  # one addition masks: 0 where allowed, else -inf
        if bias is not None:  # logits + (bias + 0) is logits + bias; a float64 bias promotes the scores, as it did
            shift = shift + bias
        scores = logits.float() + torch.from_numpy(shift)
        if self.temperature <= 0:
            return int(scores.argmax())
        probs = torch.softmax(scores if self.temperature == 1.0 else scores / self.temperature, dim=-1)
        race = self.races.get((len(probs), probs.dtype))
        if race is None:
            race = self.races[len(probs), probs.dtype] = torch.empty_like(probs)
        if self.top_p < 1.0:
            top = int(probs.argmax())
            if float(probs[top]) >= self.top_p + _ROOM:  # the nucleus is that value alone (most draws)
                race.exponential_(1, generator=self.generator)  # the random stream moves on as a draw's does
                return top
            probs = nucleus(probs, self.top_p)
        total = probs.sum()
        race.exponential_(1, generator=self.generator)
        # (p / total) / E elementwise, as multinomial's own divisions; the first of equal maxima, as torch.argmax
        return int(np.argmax(probs.numpy() / total.numpy() / race.numpy()))


def nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """``probs`` (1-D) zeroed outside the smallest set of most probable values holding ``top_p`` of the mass: a
    value is kept while the mass before it, in descending order, is below ``top_p``. The same numbers as the
    torch way (sort, cumsum, scatter; :func:`nucleus_by_sort`), reckoned in numpy on the values above zero
    (zeros come last and change nothing): a stable sort, and the cumulative sums with a double accumulator as
    torch's CPU cumsum has. Only the values above a small share of the largest are sorted where they hold more
    than ``top_p`` of the mass with room to spare: they are the first of the descending order (the same sums
    before the cut), and every value after them has more than ``top_p`` before it. Where equal values lie on
    both sides of the cut, which of them is kept depends on the order torch's (unstable) sort gives ties: then
    the torch way decides."""
    p = probs.numpy()
    positive = np.flatnonzero(p > p.max() * _FEW)  # the largest values: the nucleus is their first few
    values = p[positive]
    if values.sum(dtype=np.float64) < top_p + _ROOM:  # their mass may not reach top_p: every value above zero
        positive = np.flatnonzero(p)
        values = p[positive]
    order = np.argsort(-values, kind="stable")
    ordered = values[order]
    keep = np.cumsum(ordered, dtype=np.float64).astype(p.dtype) - ordered < top_p
    if np.count_nonzero((ordered[1:] == ordered[:-1]) & (keep[1:] != keep[:-1])):
        return nucleus_by_sort(probs, top_p)
    out = torch.zeros_like(probs)
    kept = positive[order[keep]]
    out.numpy()[kept] = p[kept]
    return out


def nucleus_by_sort(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """:func:`nucleus` the torch way: sort, cumulative sums, scatter."""
    ordered, index = probs.sort(descending=True)
    keep = ordered.cumsum(0) - ordered < top_p  # the smallest set holding top_p of the mass
    return torch.zeros_like(probs).scatter(0, index[keep], ordered[keep])


