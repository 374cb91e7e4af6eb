"""Composing: requests and text prompts, constraints on sampling, new pieces and continuations."""

from cadenza.compose.ensembles import ENSEMBLES, Ensemble, Voice
from cadenza.compose.generate import Composition, compose, continue_piece
from cadenza.compose.request import ComposeRequest, Plan, resolve

__all__ = ["ENSEMBLES", "ComposeRequest", "Composition", "Ensemble", "Plan", "Voice", "compose", "continue_piece",
           "resolve"]
