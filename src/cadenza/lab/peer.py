"""Sampling speed, measured beside a peer: Cadenza's compound-step sampler against a Hugging Face
``transformers`` GPT-2 of the same size sampling a flat event stream with ``generate()`` and its KV cache
(how the Anticipatory Music Transformer and Text2midi sample).

**The peer.** ``GPT2LMHeadModel`` with Cadenza's model's width, layers, heads, MLP ratio and context, and a
vocabulary of the *sum of Cadenza's field sizes* (every value any field can take is one flat token: the same
vocabulary, flattened; 2,720 tokens). Its weights are random: speed does not depend on them. It samples with
``generate(do_sample=True, use_cache=True, top_p=0.95, top_k=0)``, never stopping early.

**The flat encoding's length.** A flat stream needs more tokens for the same notes: REMI-style, a bar token
per bar, a position token per distinct onset in a bar, a part token whenever the part changes, and pitch,
duration and velocity tokens per note (:func:`remi_tokens`); Cadenza needs one compound step per note and a
few more (bars, meters, parts). Both are measured on real works in the same run (:func:`flat_cost`), so
steps and tokens become notes the same way.

**The runs.** One thread for both (``torch.set_num_threads(1)``), medians of several runs, the same prompt
(Cadenza: the first ``prompt_steps`` steps of a real piece; the peer: as many random tokens as the flat
stream needs for that music), and the same music: Cadenza writes N new steps, the peer the N × (tokens per
note / steps per note) tokens those notes cost it (and, for the raw rate, N tokens). Cadenza is measured
twice: the raw model step rate (grammar only, no constraints) and the composer's path
(:func:`cadenza.compose.compose`, its constraints, decoding included, the originality guard off).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.score.model import Score

Progress = Callable[[int, int], None]


def remi_tokens(score: Score) -> int:
    """Tokens a flat REMI-style stream needs for ``score`` (see the module's notes)."""
    notes = score.notes
    order = np.lexsort((notes["part"], notes["onset_ticks"]))
    onsets, parts = notes["onset_ticks"][order], notes["part"][order]
    part_changes = int((np.diff(parts) != 0).sum()) + 1 if len(parts) else 0
    return int(score.bar_count + len(np.unique(onsets)) + part_changes + 3 * len(notes))


def flat_cost(scores: Sequence[Score]) -> dict[str, Any]:
    """Cadenza's compound steps per note and a flat REMI stream's tokens per note over ``scores`` (works the
    event vocabulary cannot hold are left out)."""
    from cadenza.tokens.events import TokenizeError, encodable, encode

    steps = tokens = notes = works = 0
    for score in map(encodable, scores):
        try:
            steps += len(encode(score))
        except TokenizeError:
            continue
        tokens += remi_tokens(score)
        notes += score.note_count
        works += 1
    if not notes:
        raise ValueError("no encodable notes to measure the encodings' cost on")
    return {"works": works, "notes": notes, "compound_steps_per_note": round(steps / notes, 4),
            "remi_tokens_per_note": round(tokens / notes, 4)}


def peer_model(model_config: Any, vocabulary: int) -> Any:
    """A randomly initialised GPT-2 the size of Cadenza's model, with a flat vocabulary of ``vocabulary``."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=vocabulary, n_positions=model_config.context, n_embd=model_config.d_model,
                        n_layer=model_config.n_layers, n_head=model_config.n_heads,
                        n_inner=model_config.mlp_ratio * model_config.d_model, bos_token_id=0, eos_token_id=None,
                        pad_token_id=0)
    return GPT2LMHeadModel(config).eval()


def _median_time(run: Callable[[int], Any], runs: int) -> tuple[float, list[Any]]:
    times, outputs = [], []
    for r in range(runs):
        start = time.perf_counter()
        outputs.append(run(r))
        times.append(time.perf_counter() - start)
    return statistics.median(times), outputs


def _prompt(steps: int) -> np.ndarray:
    """The first ``steps`` steps of Bach's chorale BWV 66.6 (music21's corpus): a prompt with notes in it."""
    from cadenza.score import read_score
    from cadenza.tokens.events import encode

    return encode(read_score("music21:bach/bwv66.6"))[:steps].astype(np.int64)


def sampling_speed(checkpoint: str | Path | None = None, cost: dict[str, Any] | None = None, runs: int = 5,
                   new_steps: int = 128, prompt_steps: int = 16, compose_bars: int = 8,
                   progress: Progress | None = None) -> dict[str, Any]:
    """Cadenza's sampling (raw and through the composer) against the GPT-2 peer; see the module's notes.
    ``cost`` is :func:`flat_cost`'s result (steps and tokens per note)."""
    import torch

    from cadenza.compose import ComposeRequest, compose
    from cadenza.model.checkpoint import default_checkpoint, load_checkpoint
    from cadenza.model.sample import SampleConfig, generate
    from cadenza.tokens import field_sizes
    from cadenza.tokens.events import KIND, encode
    from cadenza.tokens.labels import label_vocabulary

    folder = Path(checkpoint) if checkpoint else default_checkpoint()
    model, _ = load_checkpoint(folder)
    shape = model.config
    cost = cost or {}
    steps_per_note = float(cost.get("compound_steps_per_note") or 1.2281)
    tokens_per_note = float(cost.get("remi_tokens_per_note") or 4.3403)
    ratio = tokens_per_note / steps_per_note
    prompt = _prompt(prompt_steps)
    peer_prompt = max(1, round(len(prompt) * ratio))
    # the peer's stream for the same music must fit its context (the same as Cadenza's)
    new_steps = max(8, min(new_steps, math.floor((shape.context - 1) / ratio) - len(prompt)))
    peer_same_music = round(new_steps * ratio)
    total = 4 * runs
    done = [0]

    def tick() -> None:
        done[0] += 1
        if progress:
            progress(done[0], total)

    # Cadenza, raw: the grammar only
    def raw(r: int) -> np.ndarray:
        out = generate(model, prompt, SampleConfig(max_steps=new_steps, min_steps=new_steps, seed=r),
                       len(label_vocabulary()))
        tick()
        return out

    raw_s, raw_out = _median_time(raw, runs)
    raw_notes = statistics.median(int((o[len(prompt):, 0] == KIND["note"]).sum()) for o in raw_out)

    # Cadenza, the composer: constraints, decoding; the guard off (it is measured in the originality section)
    composed = []
    for r in range(runs):
        made = compose(ComposeRequest(ensemble="piano", bars=compose_bars, tempo_bpm=100, seed=r, guard=False),
                       checkpoint=folder)
        sample_s = sum(c["sample_s"] for c in made.report["timings"]["candidates"])
        music_steps = len(encode(made.score)) - 2 - len(made.score.parts)  # less bos, parts and eos
        composed.append((sample_s, made.score.note_count, music_steps, made.score.duration_s))
        tick()
    c_s = statistics.median(c[0] for c in composed)
    c_notes = statistics.median(c[1] / c[0] for c in composed)
    c_steps = statistics.median(c[2] / c[0] for c in composed)
    c_music = statistics.median(c[3] / c[0] for c in composed)

    cadenza_notes_per_s = new_steps / raw_s / steps_per_note
    result: dict[str, Any] = {
        "model": {"checkpoint": str(folder), "parameters": model.parameter_count(), "d_model": shape.d_model,
                  "n_layers": shape.n_layers, "n_heads": shape.n_heads, "context": shape.context},
        "threads": 1, "runs": runs, "prompt": {"cadenza_steps": len(prompt), "peer_tokens": peer_prompt,
                                               "source": "the opening of BWV 66.6 (music21 corpus)"},
        "encoding_cost": {"compound_steps_per_note": steps_per_note, "remi_tokens_per_note": tokens_per_note,
                          "tokens_per_step": round(ratio, 3),
                          **{k: v for k, v in cost.items() if k in ("works", "notes", "source")}},
        "cadenza_raw": {"new_steps": new_steps, "wall_s_median": round(raw_s, 4),
                        "steps_per_s": round(new_steps / raw_s, 1), "notes_per_s": round(cadenza_notes_per_s, 1),
                        "ms_per_step": round(1000 * raw_s / new_steps, 3), "notes_written_median": raw_notes,
                        "what": "generate() with the grammar only (constraint=None), no end before N steps"},
        "cadenza_composer": {"bars": compose_bars, "ensemble": "piano", "sample_s_median": round(c_s, 3),
                             "steps_per_s": round(c_steps, 1), "notes_per_s": round(c_notes, 1),
                             "music_s_per_wall_s": round(c_music, 1),
                             "what": "cadenza.compose.compose: the composer's constraints, decoding; guard off; "
                                     "notes counted in the pieces written"},
        "goal_ratio": 2.0,
    }
    try:
        import transformers
    except ImportError:
        result["peer"] = {"skipped": "transformers is not installed (pip install transformers)"}
        return result
    vocabulary = sum(field_sizes().values())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        peer = peer_model(shape, vocabulary)
        ids = torch.randint(0, vocabulary, (1, peer_prompt), generator=torch.Generator().manual_seed(0))

        def peer_run(tokens: int) -> Callable[[int], Any]:
            def go(r: int) -> None:
                torch.manual_seed(r)
                with torch.no_grad():
                    out = peer.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True, use_cache=True,
                                        max_new_tokens=tokens, top_p=0.95, top_k=0, temperature=1.0)
                if out.shape[1] - peer_prompt != tokens:
                    raise RuntimeError(f"the peer wrote {out.shape[1] - peer_prompt} tokens, not {tokens}")
                tick()
            return go

        peer_same_s, _ = _median_time(peer_run(peer_same_music), runs)
        peer_raw_s, _ = _median_time(peer_run(new_steps), runs)
        peer_parameters = sum(p.numel() for p in peer.parameters())
    finally:
        torch.set_num_threads(threads)
    peer_notes_per_s = peer_same_music / peer_same_s / tokens_per_note
    result["peer"] = {"library": f"transformers {transformers.__version__}", "torch": torch.__version__,
                      "model": "GPT2LMHeadModel (random weights)", "parameters": peer_parameters,
                      "vocabulary": vocabulary,
                      "vocabulary_choice": "the sum of Cadenza's field sizes: every field value one flat token",
                      "sampling": "generate(do_sample=True, use_cache=True, top_p=0.95, top_k=0, temperature=1)"}
    result["peer_same_music"] = {"new_tokens": peer_same_music, "wall_s_median": round(peer_same_s, 4),
                                 "tokens_per_s": round(peer_same_music / peer_same_s, 1),
                                 "notes_per_s": round(peer_notes_per_s, 1)}
    result["peer_same_count"] = {"new_tokens": new_steps, "wall_s_median": round(peer_raw_s, 4),
                                 "tokens_per_s": round(new_steps / peer_raw_s, 1),
                                 "ms_per_token": round(1000 * peer_raw_s / new_steps, 3)}
    result["ratio_notes_per_s"] = round(cadenza_notes_per_s / peer_notes_per_s, 2)
    result["ratio_composer_notes_per_s"] = round(c_notes / peer_notes_per_s, 2)
    result["ratio_raw_steps_per_token"] = round((new_steps / raw_s) / (new_steps / peer_raw_s), 2)
    return result
