"""Tokens: the event vocabulary (a Score as compound steps, about one per note) and the label tokens."""

from cadenza.tokens.events import FIELDS, KINDS, TokenizeError, decode, encode
from cadenza.tokens.labels import label_ids, label_tokens, label_vocabulary


def field_sizes() -> dict[str, int]:
    """Vocabulary size of every field, the label field included (one output head each)."""
    from cadenza.tokens.events import FIELD_SIZES

    return {**FIELD_SIZES, "label": len(label_vocabulary())}


__all__ = ["FIELDS", "KINDS", "TokenizeError", "decode", "encode", "field_sizes", "label_ids", "label_tokens",
           "label_vocabulary"]
