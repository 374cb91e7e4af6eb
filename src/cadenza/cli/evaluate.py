"""``cadenza eval nll``: NLL in nats per frame on the polyphonic music benchmarks, beside published results."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cadenza.cli.common import emit_json, output_path
from cadenza.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate models: NLL on the benchmark sets",
                       description="Measure a model the way the literature does.")
    groups = p.add_subparsers(dest="eval_command", metavar="WHAT")
    n = groups.add_parser(
        "nll", help="test NLL in nats per frame on JSB, Nottingham, MuseData or Piano-midi.de",
        description="Test NLL (nats per frame) of a model on a benchmark's official test split, computed "
        "exactly from the model's event probabilities, renormalised over the sequences a roll can map to. "
        "Without --checkpoint the benchmark checkpoint that ships with Cadenza is used (an ensemble for some "
        "benchmarks: an exact step-by-step mixture of models); --train trains one on the official train split "
        "first (selected on valid). Needs ../shared/datasets/benchmarks.",
        epilog="Examples: cadenza eval nll --benchmark jsb --json | cadenza eval nll --benchmark jsb "
        "--checkpoint runs/a/best --checkpoint runs/b/best --save-ensemble ens")
    n.add_argument("--benchmark", required=True, choices=["jsb", "nottingham", "musedata", "piano"])
    n.add_argument("--checkpoint", action="append", metavar="DIR",
                   help="model or ensemble folder (default: the shipped benchmark checkpoint); give it more than "
                   "once to score an exact mixture of the models, its weights fitted on the valid split")
    n.add_argument("--save-ensemble", metavar="DIR", type=output_path,
                   help="with several --checkpoint: write the mixture as an ensemble folder (members float16)")
    n.add_argument("--ngram-member", type=int, action="append", default=[], metavar="ORDER",
                   help="with --save-ensemble: offer the n-gram baseline of this order (fitted on the train split) "
                   "as a member too; its raw probabilities make the figure an upper bound")
    n.add_argument("--max-members", type=int, default=4,
                   help="with --save-ensemble: keep at most N models, chosen by forward selection on valid "
                   "(default: 4)")
    n.add_argument("--train", action="store_true", help="train a model on the train split first")
    n.add_argument("--preset", default="small", choices=["tiny", "small", "base"], help="with --train")
    n.add_argument("--max-minutes", type=float, default=20.0, help="with --train (default: 20)")
    n.add_argument("--max-steps", type=int, default=2000, help="with --train: optimizer steps (default: 2000)")
    n.add_argument("--dropout", type=float, default=0.2, help="with --train (default: 0.2)")
    n.add_argument("--weight-decay", type=float, default=0.1, help="with --train (default: 0.1)")
    n.add_argument("--no-transpose", action="store_true",
                   help="with --train: no transposition augmentation (default: each example moved by -5..+6)")
    n.add_argument("--resume", action="store_true", help="with --train: continue the run in --out")
    n.add_argument("--overwrite", action="store_true",
                   help="with --train: start a new run in an --out that holds one, replacing it")
    n.add_argument("--init", metavar="DIR",
                   help="with --train: fine-tune this checkpoint (its model settings are kept) instead of a new model")
    n.add_argument("--lr", type=float, default=1e-3, help="with --train: peak learning rate (default: 1e-3)")
    n.add_argument("--warmup-steps", type=int, default=30, help="with --train (default: 30)")
    n.add_argument("--seed", type=int, default=0,
                   help="with --train: random seed (initial weights, batches; default: 0); ensemble members "
                   "differ by it")
    n.add_argument("--out", type=output_path, help="with --train: run folder (default: runs/bench-<benchmark>)")
    n.add_argument("--limit", type=int, help="only the first N test sequences (quick checks)")
    n.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    n.set_defaults(func=run_nll)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def run_nll(args: argparse.Namespace) -> int:
    from cadenza.lab.boulanger import PUBLISHED, frame_nll, shipped_checkpoint
    from cadenza.lab.mixture import load_scorer

    checkpoints = list(args.checkpoint or [])
    trained: dict[str, Any] = {}
    if args.ngram_member and not args.save_ensemble:
        raise UsageError("--ngram-member goes with --save-ensemble")
    if args.save_ensemble and len(checkpoints) < 2:
        raise UsageError("--save-ensemble needs two or more --checkpoint folders")
    if args.train:
        if checkpoints:
            raise UsageError("--train makes its own checkpoint; leave out --checkpoint")
        from cadenza.cli.progress import show_training
        from cadenza.train.loop import TrainConfig, train

        out = args.out or f"runs/bench-{args.benchmark}"
        run = TrainConfig(benchmark=args.benchmark, out=out, preset=args.preset, max_minutes=args.max_minutes,
                          transpose=(0, 0) if args.no_transpose else (-5, 6), label_keep=(0.0, 0.0), eval_every=25,
                          warmup_steps=args.warmup_steps, max_steps=args.max_steps, weight_decay=args.weight_decay,
                          overrides={"dropout": args.dropout}, init=args.init or "", lr=args.lr,
                          seed=args.seed)
        trained = train(run, resume=args.resume, progress=show_training, overwrite=args.overwrite)
        checkpoints = [f"{out}/best"]
    if not checkpoints:
        shipped = shipped_checkpoint(args.benchmark)
        if not any((shipped / f).is_file() for f in ("config.json", "ensemble.json")):
            raise UsageError(f"no benchmark checkpoint for {args.benchmark} ships yet; use --train or --checkpoint")
        checkpoints = [str(shipped)]
    ensemble: dict[str, Any] = {}
    if len(checkpoints) > 1:
        model, ensemble = _mixture(args.benchmark, checkpoints, args.save_ensemble, args.max_members,
                                   args.ngram_member)
        checkpoint, saved = args.save_ensemble or "+".join(checkpoints), dict[str, Any]()
    else:
        checkpoint = checkpoints[0]
        model, saved = load_scorer(checkpoint)
    result = frame_nll(model, args.benchmark, "test", limit=args.limit)
    report = {"benchmark": args.benchmark, "checkpoint": checkpoint, "test": result,
              "parameters": model.parameter_count(), "published": {k: v.get(args.benchmark)
                                                                   for k, v in PUBLISHED.items()},
              "training": {k: v for k, v in trained.items() if k != "history"} or saved.get("training", {})}
    if ensemble or "members" in saved:
        report["ensemble"] = ensemble or {"members": saved["members"], "weights": saved["weights"]}
    if args.json:
        emit_json(report)
        return 0
    print(f"{args.benchmark} test NLL: {result['nll_per_frame']:.3f} nats per frame "
          f"({result['nll_per_note']:.3f} per note; {result['sequences']} sequences, {result['frames']:,} frames)")
    if "ensemble" in report:
        weights = ", ".join(f"{w:.2f}" for w in report["ensemble"]["weights"])
        print(f"  an exact mixture of {len(report['ensemble']['weights'])} models (weights {weights}, fitted on valid)")
    for name, value in report["published"].items():
        if value is not None:
            print(f"  {name:<28} {value:.2f}")
    return 0


def _mixture(benchmark: str, checkpoints: list[str], save: str | None, max_members: int,
             ngram_orders: list[int]) -> tuple[Any, dict[str, Any]]:
    """Several checkpoints as one mixture, weights fitted on the valid split (and saved as an ensemble)."""
    from cadenza.lab.boulanger import build_ensemble, members_valid_nll
    from cadenza.lab.mixture import MAX_NGRAM_ORDER, MixtureModel, fit_weights, load_scorer
    from cadenza.model.checkpoint import load_checkpoint

    if save:
        if max_members < 1:
            raise UsageError("--max-members must be at least 1")
        if any(not 1 <= order <= MAX_NGRAM_ORDER for order in ngram_orders):
            raise UsageError(f"--ngram-member takes an order from 1 to {MAX_NGRAM_ORDER}")
        built = build_ensemble(benchmark, checkpoints, save, max_members=max_members, ngram_orders=ngram_orders)
        model, _ = load_scorer(save)
        return model, built
    members = [load_checkpoint(c)[0] for c in checkpoints]
    weights = fit_weights(members_valid_nll(benchmark, members))
    return MixtureModel(members, weights), {"members": checkpoints, "weights": weights}
