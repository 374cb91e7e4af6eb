"""``cadenza compose`` (a new piece from labels or words) and ``cadenza continue PRIMER`` (new bars after a
primer), both thin over :mod:`cadenza.api`. Each writes the piece, any renders asked for, and a JSON report
beside the piece (the request, the plan, what ``listen`` hears, adherence, seed, model hash, timings)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cadenza import api
from cadenza.cli.common import (
    MODEL_HELP,
    add_limit_flags,
    add_tune_flags,
    counted,
    emit_json,
    limits_from,
    output_path,
    print_warnings,
)
from cadenza.cli.progress import ProgressBar
from cadenza.compose.ensembles import ENSEMBLES
from cadenza.compose.request import ComposeRequest, parse_duration
from cadenza.originality.index import SHIPPED_THRESHOLD_NOTES
from cadenza.render.pipeline import RENDER_FORMATS, parse_formats
from cadenza.tokens.events import MAX_PARTS

if TYPE_CHECKING:
    from cadenza.compose.generate import Composition

RENDER_HELP = f"also write these, comma-separated: {','.join(RENDER_FORMATS)} (stems: a WAV a part, in a folder)"


class _Refused(argparse.Action):
    """An option of compose's that continue (or revise) refuses, in one line saying why (its ``const``, else
    :data:`cadenza.api.PRIMER_KEEPS`; argparse's "unrecognized arguments" would not say; taken and ignored, it
    had been conditioned on against the primer's own)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        parser.error(f"{option_string}: {self.const or api.PRIMER_KEEPS}")


def _add_request_flags(p: argparse.ArgumentParser, continuing: bool = False) -> None:
    what = p.add_argument_group("what to write (every option may be left out)")
    what.add_argument("--prompt", help='a few words, e.g. "a tender waltz for strings in D minor"')
    what.add_argument("--composer", help="a composer of the corpus, e.g. Bach, Mozart, Joplin")
    what.add_argument("--epoch", help="medieval, renaissance, baroque, classical, romantic, modern, folk, popular"
                      + ("" if continuing else " (left out: drawn for a piano, quartet, choir or voices from the "
                                               "styles of the corpus' works for it, and said)"))
    what.add_argument("--mood", help="joyful, tense, sad or calm")
    what.add_argument("--valence", type=float, help="-1 (negative) .. 1 (positive), with --arousal")
    what.add_argument("--arousal", type=float, help="-1 (calm) .. 1 (excited), with --valence")
    if continuing:  # the primer's: refused (hidden from the help, whose description says why)
        for flag in ("--key", "--meter", "--ensemble"):
            what.add_argument(flag, action=_Refused, help=argparse.SUPPRESS)
    else:
        what.add_argument("--key", help='e.g. "D minor", "F# major", Bb')
        what.add_argument("--meter", help="e.g. 3/4, 6/8")
    what.add_argument("--tempo", type=float, metavar="BPM", help="quarter notes per minute" + (
        " for the new bars (default: the primer's last tempo)" if continuing else ""))
    what.add_argument("--density", help="low, medium or high (notes per beat)")
    if not continuing:
        what.add_argument("--ensemble", help=", ".join(ENSEMBLES) + " (default: piano, or the epoch's usual "
                          "ensemble); any: the model chooses the parts")
    what.add_argument("--form", help="chorale, hymn, reel, jig, waltz, march, polka, song, …; a form named alone "
                      "brings the forces and style of the corpus' works of that form (a chorale: four voices, "
                      "baroque; a jig: a folk tune); a waltz and a march bring their meter, tempo and "
                      "accompaniment (oom-pah-pah, oom-pah)")
    length = what.add_mutually_exclusive_group()
    length.add_argument("--bars", type=int, help="length in bars (default: 16, or 8 new bars for continue)")
    length.add_argument("--duration", help="length in time: 90s, 1:30, 2m (at the tempo asked, else 100 bpm)")
    like = p.add_argument_group("in the style of")
    like.add_argument("--like", metavar="REFERENCE",
                      help="lean toward this piece (any readable score or music21: reference): its labels, "
                      "parts, meter, key and tempo where you leave them open, and its motifs and rhythms")
    like.add_argument("--like-strength", type=float, default=0.5, metavar="S",
                      help="0..1, how hard its motifs and rhythms pull (default 0.5; 0: its labels only)")
    how = p.add_argument_group("sampling")
    how.add_argument("--seed", type=int, default=0, help="the same seed and options give the same piece")
    how.add_argument("--temperature", type=float, default=1.0, help="below 1: safer; above: wilder")
    how.add_argument("--top-p", type=float, default=1.0,
                     help="nucleus sampling mass: below 1 the least likely choices are cut (default 1)")
    how.add_argument("--candidates", type=int, default=1, metavar="K",
                     help="write K pieces and keep the one listen finds closest to the request")
    how.add_argument("--guidance", type=float, default=1.0, metavar="G",
                     help="weigh the labels more (classifier-free guidance): 1 = off (default), 2-3 = "
                     "stronger mood, density and epoch, at twice the sampling time")
    how.add_argument("--no-guard", action="store_true",
                     help="do not check the piece against the training corpus while composing (the report "
                     "then has no originality result); by default a span that copies a training work beyond "
                     "what human composers share with it is resampled")
    how.add_argument("--max-shared", type=int, metavar="NOTES",
                     help="the guard's threshold: most notes a line may share with one training work "
                     "(default: what 90%% of held-out human pieces stay within: for the shipped model "
                     f"{SHIPPED_THRESHOLD_NOTES['top']} for a top line, {SHIPPED_THRESHOLD_NOTES['bass']} for "
                     "a bass line)")
    how.add_argument("--model", help=MODEL_HELP)
    out = p.add_argument_group("output")
    out.add_argument("-o", "--output", type=output_path,
                     help="the piece: .mid, .musicxml or .mxl (default: cadenza-<time>.mid)")
    out.add_argument("--render", help=RENDER_HELP)
    out.add_argument("--json", action="store_true", help="print the report as JSON on stdout")


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser(
        "compose", help="compose a new piece from labels or a few words",
        description="Compose a new piece with the shipped model. Meter, key signature, bar count, tempo, parts "
        "and their ranges are enforced while sampling; mood, density, epoch and composer steer it through the "
        "model's conditioning (and --candidates picks the closest of several). A JSON report is written beside "
        "the piece.",
        epilog='Example: cadenza compose --key "D minor" --meter 3/4 --ensemble string-quartet --bars 16 '
        "--seed 1 -o q.mid --render wav,musicxml,pdf,png")
    _add_request_flags(c)
    c.set_defaults(func=run_compose)
    n = sub.add_parser(
        "continue", help="continue a primer: new bars in its parts, meter and key",
        description="Read a primer (any readable score: MIDI, MusicXML, ABC, Humdrum, music21: reference) and "
        "write it followed by new bars in the same parts, meter and key signature: those are the primer's, so "
        "compose's --key, --meter and --ensemble are refused here (and left out, with a warning, when the prompt "
        "names them); --tempo sets the new bars' tempo.",
        epilog="Example: cadenza continue music21:bach/bwv66.6 --bars 8 -o more.mid")
    n.add_argument("primer", metavar="PRIMER", help="score file or music21: reference")
    _add_request_flags(n, continuing=True)
    add_tune_flags(n)
    add_limit_flags(n)
    n.set_defaults(func=run_continue)
    _register_revise(sub)


def _register_revise(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser(
        "revise", help="write chosen bars of a piece again, joining the bars around them",
        description="Write the chosen bars again after the music before them (with the composer's rules, ear and "
        "guard), several versions, and keep the one the music after them follows best (the lowest NLL of the "
        "bars after it under the model). The bars must follow at least one bar. They keep the piece's key, meter, "
        "parts and tempo: compose's --key, --meter, --ensemble and --tempo are refused here.",
        epilog="Example: cadenza revise quartet.mid --bars 5-8 -o quartet-revised.mid")
    r.add_argument("piece", metavar="PIECE", help="the piece: any readable score")
    r.add_argument("--bars", required=True, help="the bars to write again, numbered as the score prints them (a "
                   "pickup is bar 0): 5-8, or one bar: 6")
    r.add_argument("--versions", type=int, default=4, metavar="K", help="versions written, the best kept "
                   "(default 4)")
    r.add_argument("--seed", type=int, default=0, help="the same seed gives the same revision")
    r.add_argument("--model", help=MODEL_HELP)
    r.add_argument("-o", "--output", type=output_path, help="the revised piece (default: cadenza-<time>.mid)")
    r.add_argument("--render", help=RENDER_HELP)
    r.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    for flag, field in (("--key", "key"), ("--meter", "meter"), ("--ensemble", "ensemble"), ("--tempo", "tempo_bpm"),
                        ("--duration", "duration_s")):  # the piece's: refused (hidden from the help)
        r.add_argument(flag, action=_Refused, const=api.REVISION_KEEPS[field], help=argparse.SUPPRESS)
    add_limit_flags(r)
    r.set_defaults(func=run_revise)


def run_revise(args: argparse.Namespace) -> int:
    formats = _formats(args.render)
    result = api.revise(args.piece, args.bars, Path(args.output or _default_output()), formats, model=args.model,
                        versions=args.versions, seed=args.seed, limits=limits_from(args),
                        progress=None if args.json else ProgressBar("revising (versions)"))
    if not args.json:
        revised = result.report["revised"]
        how = (f"kept version {revised['kept'] + 1} of {revised['versions']} (the bars after follow it at "
               f"{min(revised['join_nll_nats']):.1f} nats)") if revised["bars_after"] else "the last bars, written once"
        print(f"revised bars {revised['bars'][0]}-{revised['bars'][1]}: {how}")
    return _finish(result, args)


def request_from(args: argparse.Namespace) -> ComposeRequest:
    return ComposeRequest(composer=args.composer, epoch=args.epoch, mood=args.mood, valence=args.valence,
                          arousal=args.arousal, key=args.key, meter=args.meter, tempo_bpm=args.tempo,
                          density=args.density, ensemble=args.ensemble, form=args.form, bars=args.bars,
                          duration_s=parse_duration(args.duration) if args.duration else None, prompt=args.prompt,
                          seed=args.seed, temperature=args.temperature, top_p=args.top_p,
                          candidates=args.candidates, guidance=args.guidance, guard=not args.no_guard,
                          max_shared_notes=args.max_shared)


def _formats(text: str | None) -> list[str]:
    """--render's formats (:func:`cadenza.render.parse_formats`), [] when none is given."""
    return parse_formats(text) if text else []


def _finish(made: Composition, args: argparse.Namespace) -> int:
    result = made.to_json()
    if args.json:
        emit_json(result)
        return 1 if result.get("render_errors") else 0
    plan_or_primer = result.get("plan") or result.get("primer") or {}
    merged = plan_or_primer.get("parts_merged")
    if merged:
        print_warnings([f"the piece has {merged['from']} parts and the model writes at most {MAX_PARTS}: "
                        f"{merged['to']} parts written ({'; '.join(merged['merged'])})"])
    for line in plan_or_primer.get("prompt_reading", []):
        print(f"  prompt: {line}")
    if plan_or_primer.get("notation"):
        print(f"  notation: {plan_or_primer['notation']}")
    if plan_or_primer.get("written_as"):
        print(f"  new bars written for the {plan_or_primer['written_as']}: its part-writing rules, phrases, cadences")
    heard = result["heard"]
    print(f"wrote {result['files']['piece']}: {counted(result['result']['bars'], 'bar')}, "
          f"{counted(result['result']['notes'], 'note')}, "
          f"{result['result']['duration_s']:.1f} s; hears {heard.get('key')}, {heard.get('meter')}, "
          f"{heard.get('ensemble')}, mood {heard.get('mood')}")
    missed = [f"{name} (asked {m['asked']}, heard {m['heard']})" for name, m in result["adherence"].items()
              if not m["met"] and m.get("chosen_by") != "plan"]
    if missed:
        print("  not heard as asked: " + "; ".join(missed))
    unheard = [f"{name} (planned {m['asked']}, heard {m['heard']})" for name, m in result["adherence"].items()
               if not m["met"] and m.get("chosen_by") == "plan"]
    if unheard:  # a style, meter or key the plan drew, which the request left open
        print("  the plan's choices not heard: " + "; ".join(unheard))
    adapter = (result.get("model") or {}).get("adapter")
    if adapter and adapter.get("used"):
        print(f"  style adapter: {adapter['used']} (rank {adapter['rank']}, over the shared model)")
    originality = result.get("originality") or {}
    if originality.get("checked"):
        longest = originality.get("longest") or {}
        match = longest.get("match") or {}
        where = f" ({longest.get('longest_notes')} notes shared with {match.get('work_id')})" if match else ""
        print(f"  originality: {originality['verdict']}{where}; {originality['resamplings']} resampling(s)")
    if "like" in result:
        like = result["like"]
        print(f"  like {like['reference']}: labels shared {like['labels_shared']}, motifs shared "
              f"{like['shared_motif_share']:.0%}, longest run from it {like['longest_run_from_reference_notes']} notes")
    for fmt, path in result["files"].items():
        if fmt not in ("piece",):
            print(f"  {fmt}: {path}")
    for fmt, problem in result.get("render_errors", {}).items():
        print(f"  {fmt} not written: {problem}")
    if result.get("render_errors"):  # a file that was asked for and is missing fails the command
        print(f"cadenza: error: {', '.join(result['render_errors'])} not written (see above)", file=sys.stderr)
        return 1
    return 0


def _default_output() -> str:
    return f"cadenza-{time.strftime('%Y%m%d-%H%M%S')}.mid"


def run_compose(args: argparse.Namespace) -> int:
    formats = _formats(args.render)
    result = api.compose(request_from(args), Path(args.output or _default_output()), formats, model=args.model,
                         progress=None if args.json else ProgressBar("composing (bars)"), like=args.like,
                         like_strength=args.like_strength)
    return _finish(result, args)


def run_continue(args: argparse.Namespace) -> int:
    formats = _formats(args.render)
    result = api.continue_(args.primer, request_from(args), Path(args.output or _default_output()), formats,
                           bars=args.bars, model=args.model, limits=limits_from(args), tune=args.tune,
                           tune_index=args.tune_index,
                           progress=None if args.json else ProgressBar("continuing (bars)"), like=args.like,
                           like_strength=args.like_strength)
    return _finish(result, args)
