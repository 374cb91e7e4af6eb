"""``cadenza train``: train a model on a built corpus (``cadenza corpus build`` first)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from cadenza.api import write_training_index
from cadenza.cli.common import emit_json, output_path

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on a corpus, with validation NLL, best checkpoint and exact resume",
        description="Train the event transformer on a built corpus. Progress shows loss, validation NLL, notes "
        "per second and time left; the run folder keeps last/ (resumable) and best/ (lowest validation NLL).",
        epilog="Example: cadenza corpus build --limit 2000 && cadenza train --preset tiny --max-minutes 10. "
        "On several processes or GPUs: torchrun --nproc-per-node 2 -m cadenza train … (the same options; "
        "process 0 writes the checkpoints and the summary).",
    )
    p.add_argument("--corpus", default="default", help="corpus name (default: default)")
    p.add_argument("--preset", default="small", choices=["tiny", "small", "base"], help="model size (default: small)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to train (default: auto)")
    p.add_argument("--max-minutes", type=float, default=150.0, help="stop after this long (default: 150)")
    p.add_argument("--max-steps", type=int, default=20_000, help="optimizer steps (default: 20000)")
    p.add_argument("--batch-size", type=int, default=16,
                   help="examples per optimizer step, shared among the processes of a torchrun (default: 16)")
    p.add_argument("--accumulate", type=int, default=1, metavar="K",
                   help="learn from each process's share of a batch in K micro-batches (less memory, the same "
                   "result; default: 1)")
    p.add_argument("--out", default=None, type=output_path, help="run folder (default: runs/<corpus>-<preset>)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="start a new run in an --out that holds one, replacing its last/ and best/ (without it, "
                   "such a folder is refused)")
    p.add_argument("--init", metavar="DIR", help="start from this checkpoint's weights (a new run that fine-tunes it)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (default: 1e-3)")
    p.add_argument("--warmup-steps", type=int, default=200, help="linear warm-up steps (default: 200)")
    p.add_argument("--eval-every", type=int, default=250, help="validate and checkpoint every N steps (default: 250)")
    p.add_argument("--balance", type=float, default=0.5, metavar="POWER",
                   help="style balance: each style (epoch) is drawn in proportion to its notes to this power; 1 "
                   "keeps the corpus's own proportions, 0 gives every style an equal share (default: 0.5)")
    p.add_argument("--batch-workers", type=int, default=0, metavar="N",
                   help="make batches ahead in N processes (for a GPU that one process cannot feed; default: 0)")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                   help="arithmetic on the device (default: auto = bf16 on CUDA, fp32 on CPU)")
    p.add_argument("--steps", type=Path, metavar="DIR",
                   help="train on step arrays written by 'cadenza corpus steps' (train.npz, valid.npz) instead of "
                   "reading the corpus: for a GPU machine that holds no corpus")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--no-index", action="store_true",
                   help="do not build the originality index of the training works beside the checkpoints "
                   "(the composer's copy guard needs it; build it later with cadenza corpus index --out)")
    p.add_argument("--adapter-rank", type=int, metavar="R",
                   help="train a style adapter (low-rank deltas of rank R over the frozen --init model) instead of "
                   "the whole model; the adapter folder goes to --out (default: runs/adapter-<style>)")
    p.add_argument("--adapter-style", default=None,
                   help="the style family the adapter learns, from the corpus works labelled with it "
                   "(default: classical-piano = epoch classical, ensemble solo-piano)")
    p.add_argument("--adapter-alpha", type=float, default=None,
                   help="the adapter's scale numerator: deltas are scaled by alpha / rank (default: 16)")
    p.set_defaults(func=run)


def run_adapter(args: argparse.Namespace) -> int:
    """``cadenza train --adapter-rank R --init DIR``: a style adapter over a frozen base (cadenza.train.adapt)."""
    from cadenza.errors import UsageError
    from cadenza.train.adapt import AdaptConfig, train_adapter

    if not args.init:
        raise UsageError("--adapter-rank needs --init: the base model the adapter is trained over")
    if args.resume:  # (taken and ignored: the adapter run started afresh)
        raise UsageError("--resume: an adapter run keeps no optimizer state and cannot be resumed; give --overwrite "
                         "to train its adapter again")
    style = args.adapter_style or AdaptConfig.style  # (the config's defaults where not given)
    alpha = AdaptConfig.alpha if args.adapter_alpha is None else args.adapter_alpha
    config = AdaptConfig(init=args.init, corpus=args.corpus, out=args.out or f"runs/adapter-{style}",
                         style=style, rank=args.adapter_rank, alpha=alpha, lr=args.lr,
                         batch_size=args.batch_size, max_steps=args.max_steps, max_minutes=args.max_minutes,
                         warmup_steps=min(args.warmup_steps, max(args.max_steps // 10, 1)),
                         eval_every=args.eval_every, seed=args.seed, overwrite=args.overwrite)
    summary = train_adapter(config)
    if args.json:
        emit_json(summary)
        return 0
    base, best = summary["base_valid"]["nll_per_step"], summary["best_valid"]
    where = f"adapter in {summary['out']}" if summary["out"] else "no adapter written (never better than the base)"
    print(f"{summary['steps']} steps in {summary['minutes']} min on {summary['train_works']} works; validation NLL "
          f"on {summary['valid_works']} works: base {base:.4f}, adapter {best:.4f} nats/step; {where}")
    return 130 if summary["stopped_by"] == "SIGINT" else 0


def run(args: argparse.Namespace) -> int:
    from cadenza.cli.progress import show_training

    if args.adapter_rank is not None:
        return run_adapter(args)
    for option, value in (("--adapter-style", args.adapter_style), ("--adapter-alpha", args.adapter_alpha)):
        if value is not None:  # (taken and ignored: the whole model was trained)
            from cadenza.errors import UsageError

            raise UsageError(f"{option} goes with --adapter-rank R (a style adapter); without it the whole model "
                             "is trained")
    from cadenza.train.loop import TrainConfig, TrainingStopped, train

    splits, corpus = None, args.corpus
    if args.steps:
        from cadenza.train.data import read_steps_folder

        splits, corpus = read_steps_folder(args.steps)
    config = TrainConfig(corpus=corpus, preset=args.preset, device=args.device, max_minutes=args.max_minutes,
                         max_steps=args.max_steps, batch_size=args.batch_size, seed=args.seed,
                         init=args.init or "", lr=args.lr, warmup_steps=args.warmup_steps, eval_every=args.eval_every,
                         balance=args.balance, batch_workers=args.batch_workers, precision=args.precision,
                         accumulate=args.accumulate, out=args.out or f"runs/{corpus}-{args.preset}")

    try:
        summary = train(config, resume=args.resume, progress=show_training, splits=splits,
                        overwrite=args.overwrite)
    except TrainingStopped as stop:
        return _stopped(stop)
    if summary["rank"]:  # one of several torchrun processes: process 0 reports and builds the index
        return 0
    if args.steps and not args.no_index:
        log.warning("no originality index written: it is built from the corpus (on its machine: cadenza corpus "
                    "index %s --out %s/best)", corpus, summary["out"])
    elif not args.no_index:  # the originality index of exactly the works this model learned from
        summary["originality_index"] = write_training_index(config, Path(summary["out"]))
    if args.json:
        emit_json(summary)
        return 0
    on = summary["device"] if summary["processes"] == 1 else f"{summary['processes']} processes"
    print(f"{summary['steps']} steps, best validation NLL {summary['best_valid_nll_per_step']:.4f} nats/step, "
          f"{summary['notes_per_s']:,.0f} notes/s on {on}; "
          f"{summary['parameters']:,} parameters; checkpoints in {summary['out']}")
    return 0


def _stopped(stop: Any) -> int:
    """One line for a run stopped by a signal once its step was saved (a :class:`TrainingStopped`); the exit
    code is the shell's for the signal (130 for Ctrl-C, 143 otherwise)."""
    if not stop.rank:  # under torchrun, process 0 speaks for them all
        if stop.step < stop.max_steps:
            what = "run the same command with --resume to continue it"
        else:
            what = "the run is complete (its originality index not built: cadenza corpus index … --out …/best)"
        print(f"cadenza: stopped by {stop.signal_name} at step {stop.step:,} of {stop.max_steps:,}, saved in "
              f"{stop.folder}: {what}", file=sys.stderr)
    return 130 if stop.signal_name == "SIGINT" else 143
