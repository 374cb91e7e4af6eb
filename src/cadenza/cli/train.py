"""``cadenza train``: train a model on a built corpus (``cadenza corpus build`` first)."""

from __future__ import annotations

import argparse

from cadenza.cli.common import emit_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on a corpus, with validation NLL, best checkpoint and exact resume",
        description="Train the event transformer on a built corpus. Progress shows loss, validation NLL, notes "
        "per second and time left; the run folder keeps last/ (resumable) and best/ (lowest validation NLL).",
        epilog="Example: cadenza corpus build --limit 2000 && cadenza train --preset tiny --max-minutes 10",
    )
    p.add_argument("--corpus", default="default", help="corpus name (default: default)")
    p.add_argument("--preset", default="small", choices=["tiny", "small", "base"], help="model size (default: small)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to train (default: auto)")
    p.add_argument("--max-minutes", type=float, default=150.0, help="stop after this long (default: 150)")
    p.add_argument("--max-steps", type=int, default=20_000, help="optimizer steps (default: 20000)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--out", default=None, help="run folder (default: runs/<corpus>-<preset>)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--init", metavar="DIR", help="start from this checkpoint's weights (a new run that fine-tunes it)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (default: 1e-3)")
    p.add_argument("--warmup-steps", type=int, default=200, help="linear warm-up steps (default: 200)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cadenza.cli.progress import show_training
    from cadenza.train.loop import TrainConfig, train

    config = TrainConfig(corpus=args.corpus, preset=args.preset, device=args.device, max_minutes=args.max_minutes,
                         max_steps=args.max_steps, batch_size=args.batch_size, seed=args.seed,
                         init=args.init or "", lr=args.lr, warmup_steps=args.warmup_steps,
                         out=args.out or f"runs/{args.corpus}-{args.preset}")

    summary = train(config, resume=args.resume, progress=show_training)
    if args.json:
        emit_json(summary)
        return 0
    print(f"{summary['steps']} steps, best validation NLL {summary['best_valid_nll_per_step']:.4f} nats/step, "
          f"{summary['notes_per_s']:,.0f} notes/s on {summary['device']}; "
          f"{summary['parameters']:,} parameters; checkpoints in {summary['out']}")
    return 0
