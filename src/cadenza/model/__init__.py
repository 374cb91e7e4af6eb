"""The model: a transformer over compound event steps, and its checkpoints. Imports torch."""
