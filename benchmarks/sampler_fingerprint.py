"""A fingerprint of what the sampler writes: varied requests composed with the shipped model and fixed seeds,
each piece's notes (pitch, onset, duration, part) hashed. A speed change to the sampler, the grammar or the
rules must leave every hash as it was (the same draws for the same seed).

    python -m benchmarks.sampler_fingerprint --out /tmp/before.json
    python -m benchmarks.sampler_fingerprint --compare /tmp/before.json

Run it against another source tree (the code before a change) with ``PYTHONPATH=/that/tree/src``. Besides the
composer's requests it hashes raw ``generate`` runs (the grammar alone, and with classifier-free guidance) and
a continuation, so every path of the sampler is covered. Seconds per piece are printed too (not compared).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: name -> the ComposeRequest's fields (guard off except where named: its index is slow to load)
REQUESTS: dict[str, dict[str, Any]] = {
    "piano_c_major_4_4": {"ensemble": "piano", "key": "C major", "meter": "4/4", "bars": 16, "tempo_bpm": 100,
                          "seed": 0, "guard": False},
    "quartet_d_minor_3_4": {"ensemble": "string-quartet", "key": "D minor", "meter": "3/4", "bars": 16,
                            "tempo_bpm": 100, "seed": 1, "guard": False},
    "satb_f_major_chorale": {"ensemble": "satb", "key": "F major", "bars": 8, "epoch": "baroque", "seed": 2,
                             "guard": False},
    "orchestra_eb_major_6_8": {"ensemble": "orchestra", "key": "Eb major", "meter": "6/8", "bars": 8, "seed": 3,
                               "guard": False},
    "lead_sheet_g_major": {"ensemble": "lead-sheet", "key": "G major", "bars": 12, "seed": 4, "guard": False},
    "song_a_minor_sad": {"ensemble": "song", "mood": "sad", "bars": 8, "seed": 5, "guard": False},
    "piano_dense_e_minor_guarded": {"ensemble": "piano", "key": "E minor", "density": "high", "bars": 8,
                                    "seed": 6, "guard": True},
    "model_chooses_everything": {"ensemble": "any", "bars": 8, "seed": 7, "guard": False},
    "quartet_two_candidates_2_4": {"ensemble": "string-quartet", "meter": "2/4", "bars": 8, "seed": 8,
                                   "candidates": 2, "guard": False},
}


def notes_hash(score: Any) -> str:
    """sha256 (16 hex digits) of the notes' pitch, onset, duration and part, in the Score's order."""
    notes = score.notes
    table = np.stack([notes["pitch"], notes["onset_ticks"], notes["duration_ticks"], notes["part"]]).astype(np.int64)
    return hashlib.sha256(table.tobytes()).hexdigest()[:16]


def steps_hash(steps: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(steps, dtype=np.int64).tobytes()).hexdigest()[:16]


def _raw(guidance: float, seed: int) -> Callable[[], str]:
    def run() -> str:
        from cadenza.compose.generate import load_model, plan_prompt
        from cadenza.compose.request import ComposeRequest, resolve
        from cadenza.model.sample import SampleConfig, generate
        from cadenza.tokens.labels import label_vocabulary

        model = load_model()[0]
        prompt = plan_prompt(resolve(ComposeRequest(ensemble="piano", key="A major", meter="3/4", bars=8)))
        steps = generate(model, prompt, SampleConfig(max_steps=200, min_steps=200, seed=seed, guidance=guidance),
                         len(label_vocabulary()))
        return steps_hash(steps)
    return run


def _continued() -> str:
    from cadenza.compose import ComposeRequest, compose
    from cadenza.compose.generate import continue_piece

    primer = compose(ComposeRequest(ensemble="piano", key="Bb major", bars=4, seed=9, guard=False)).score
    return notes_hash(continue_piece(primer, ComposeRequest(seed=10, guard=False), bars=4).score)


def _composed(fields: dict[str, Any]) -> Callable[[], str]:
    def run() -> str:
        from cadenza.compose import ComposeRequest, compose

        return notes_hash(compose(ComposeRequest(**fields)).score)
    return run


def jobs() -> dict[str, Callable[[], str]]:
    out = {name: _composed(fields) for name, fields in REQUESTS.items()}
    out["raw_grammar_only"] = _raw(1.0, 11)
    out["raw_guidance_2"] = _raw(2.0, 12)
    out["continue_piano_4_bars"] = _continued
    return out


def fingerprint(only: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """name -> {"hash", "seconds"} for every job (or the ``only`` ones)."""
    import torch

    torch.set_num_threads(1)
    out = {}
    for name, run in jobs().items():
        if only and name not in only:
            continue
        start = time.perf_counter()
        digest = run()
        out[name] = {"hash": digest, "seconds": round(time.perf_counter() - start, 2)}
        log.info("%-32s %s  %.2f s", name, digest, out[name]["seconds"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the fingerprint here (JSON)")
    parser.add_argument("--compare", type=Path, help="a fingerprint to compare with: exit 1 on any difference")
    parser.add_argument("--only", nargs="*", help="these jobs only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    found = fingerprint(args.only)
    if args.out:
        args.out.write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
    if args.compare:
        wanted = json.loads(args.compare.read_text(encoding="utf-8"))
        differ = [name for name in found if name in wanted and wanted[name]["hash"] != found[name]["hash"]]
        for name in differ:
            log.error("%s: %s, was %s", name, found[name]["hash"], wanted[name]["hash"])
        log.info("%d of %d hashes identical", len(found) - len(differ), len(found))
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
