"""Label tokens: the conditioning in front of the music, one ``name=value`` token per label.

Every category, bucket and flag label of the label set gets one token per value (numbers enter through
their buckets); composers are the ones Cadenza names (``listen.style.COMPOSERS``). Index 0 is "no label".
The vocabulary is derived from the label set, so it changes only when the label set's version does.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cadenza.listen.labels import LABEL_SET_VERSION, LABELS
from cadenza.listen.style import COMPOSERS


@lru_cache(maxsize=1)
def label_vocabulary() -> tuple[str, ...]:
    """All label tokens, index 0 being the empty token."""
    tokens = [""]
    for spec in LABELS:
        if spec.name == "composer":
            tokens += [f"composer={name}" for name in sorted({display for display, _ in COMPOSERS.values()})]
        elif spec.kind in ("category", "bucket") and spec.values:
            tokens += [f"{spec.name}={value}" for value in spec.values]
        elif spec.kind == "flag":
            tokens += [f"{spec.name}=true", f"{spec.name}=false"]
    return tuple(tokens)


@lru_cache(maxsize=1)
def _index() -> dict[str, int]:
    return {token: i for i, token in enumerate(label_vocabulary())}


def label_ids(labels: dict[str, Any]) -> list[int]:
    """Token ids for the labels that have one, in the label set's order (others are left out)."""
    index = _index()
    out = []
    for spec in LABELS:
        value = labels.get(spec.name)
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        token = index.get(f"{spec.name}={text}")
        if token:
            out.append(token)
    return out


def label_tokens(ids: list[int]) -> dict[str, str]:
    """Token ids back to ``{name: value}``."""
    vocabulary = label_vocabulary()
    return dict(vocabulary[i].split("=", 1) for i in ids if 0 < i < len(vocabulary))


VOCABULARY_VERSION = LABEL_SET_VERSION
