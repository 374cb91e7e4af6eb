"""Our own fuzzers (issue 21): the score readers over mutated real files, the live stream's control lines,
model folders, and the request space.

    python -m benchmarks.fuzz [--minutes 30] [--seed 0]      # -> benchmarks/results/fuzz.json

Every target takes one input and either succeeds or raises one of Cadenza's own errors (a
:class:`cadenza.errors.CadenzaError`: the CLI's one-line message and exit 2). Anything else is a crash, and
so is a run past the target's time bound. Inputs are made by mutating seeds — small scores written here in
every format the readers take, valid control lines, a tiny model folder, valid requests — with byte and value
edits (:func:`apply_edits`). The benchmark draws edits at random for a time budget, shared between the
targets, and records executions, crashes (with the seed that reproduces each), the slowest run and the
process's peak memory; ``tests/test_fuzz.py`` drives the same targets with hypothesis for a bounded number of
examples in CI (hypothesis shrinks a failing input to its smallest edits). Needs torch for the model and
request targets (skipped without it).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import math
import random
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from benchmarks.common import machine
from cadenza.errors import CadenzaError

RESULTS = Path(__file__).resolve().parent / "results" / "fuzz.json"
log = logging.getLogger("benchmarks.fuzz")

#: an edit: (kind, position, payload); positions wrap around the data, payloads are a few bytes
Edit = tuple[str, int, bytes]
EDIT_KINDS = ("flip", "set", "insert", "delete", "duplicate", "truncate", "interesting")
_INTERESTING = (b"\x00", b"\xff", b"\x7f", b"\x80", b"<", b">", b'"', b"-1", b"99999999999999999999", b"nan",
                b"{", b"[", b"/", b"\n", b"0", b"\xef\xbb\xbf", b"&#0;", b"%", b"|")


def apply_edits(data: bytes, edits: list[Edit]) -> bytes:
    """``data`` with each edit applied in turn (see :data:`EDIT_KINDS`)."""
    out = bytearray(data)
    for kind, position, payload in edits:
        at = position % (len(out) + 1)
        if kind == "flip" and out:
            out[at % len(out)] ^= 1 << (position % 8)
        elif kind == "set" and out and payload:
            out[at % len(out)] = payload[0]
        elif kind == "insert":
            out[at:at] = payload
        elif kind == "delete":
            del out[at:at + 1 + len(payload) * 8]
        elif kind == "duplicate":
            chunk = out[at:at + 1 + len(payload) * 16]
            out[at:at] = chunk
        elif kind == "truncate":
            del out[at:]
        elif kind == "interesting":
            choice = _INTERESTING[(payload[0] if payload else position) % len(_INTERESTING)]
            out[at:at + len(choice)] = choice
    return bytes(out)


def random_edits(rng: random.Random) -> list[Edit]:
    """One to eight edits, most of them small."""
    return [(rng.choice(EDIT_KINDS), rng.randrange(1 << 20), bytes(rng.randrange(256) for _ in range(rng.randrange(5))))
            for _ in range(1 + min(int(rng.expovariate(0.5)), 7))]


# ---------------------------------------------------------------- seeds


def seed_scores(folder: Path) -> list[Path]:
    """Small real scores in every format the readers take: a two-part waltz written as MIDI, MusicXML and
    compressed MusicXML by Cadenza's own writers, and hand-written ABC and Humdrum ``**kern``."""
    from cadenza.score import TICKS_PER_QUARTER as Q
    from cadenza.score.model import KeySignature, Metadata, Part, Score, Tempo, TimeSignature
    from cadenza.score.write import write_score

    notes = [(0, Q, 67, 90, 0), (Q, 2 * Q, 72, 90, 0), (Q, 2 * Q, 76, 90, 0), (3 * Q, Q, 74, 80, 0),
             (4 * Q, 2 * Q, 71, 80, 0), (Q, 3 * Q, 48, 70, 1), (4 * Q, 3 * Q // 2, 43, 70, 1),
             (4 * Q + 3 * Q // 2, Q // 2, 45, 70, 1)]
    score = Score.build(parts=[Part("Violin", 40), Part("Cello", 42)], notes=notes,
                        time_signatures=[TimeSignature(0, 3, 4)], key_signatures=[KeySignature(0, 1, "major")],
                        tempos=[Tempo(0, 96.0)], metadata=Metadata(title="Fuzz seed"), length_ticks=6 * Q)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [write_score(score, folder / f"seed.{ext}") for ext in ("mid", "musicxml", "mxl")]
    (folder / "seed.abc").write_text("X:1\nT:Seed\nM:6/8\nL:1/8\nK:D\n|:DFA dfa|gfe dcB|AFD EFG|1 A3 D3:|2 A3 d3||\n",
                                     encoding="utf-8")
    (folder / "seed.krn").write_text("**kern\t**kern\n*M3/4\t*M3/4\n=1\t=1\n4C\t4cc\n4E\t4ee\n4G\t4gg\n"
                                     "=2\t=2\n2.C\t2.cc\n==\t==\n*-\t*-\n", encoding="utf-8")
    return [*paths, folder / "seed.abc", folder / "seed.krn"]


SEED_CONTROLS = ('{"mood": "tense", "intensity": 0.8}', '{"valence": -0.5, "arousal": 0.9}',
                 '{"tempo": 120, "key": "D minor"}', '{"density": "high", "epoch": "baroque"}', '{"stop": false}')


# ---------------------------------------------------------------- targets


@dataclass
class Target:
    """A fuzz target: its name, the seed inputs and how to run one input (raising on a crash)."""

    name: str
    seeds: list[bytes]
    run: Callable[[bytes], None]
    time_bound_s: float  # a run longer than this is a crash (a hang)


def reader_target(workdir: Path) -> Target:
    """The readers: a mutated seed score, written with its format's extension, read with the default
    limits: a Score or a CadenzaError."""
    from cadenza.score import read_score

    paths = seed_scores(workdir / "seeds")
    seeds = [p.read_bytes() for p in paths]
    suffixes = [p.suffix for p in paths]
    counter = itertools.count()

    def run(data: bytes) -> None:
        # the seed index rides in the data's first byte, so every input names its format
        index, body = (data[0] % len(suffixes), data[1:]) if data else (0, b"")
        path = workdir / f"case{next(counter) % 8}{suffixes[index]}"
        path.write_bytes(body)
        with contextlib.suppress(CadenzaError):
            read_score(path)

    return Target("readers", [bytes([i]) + s for i, s in enumerate(seeds)], run, 30.0)


def control_target() -> Target:
    """A live stream's control line, read as the CLI reads it: JSON that cannot be read is reported (the
    reader's three exceptions), and what can is checked as a whole: a checked control or a UsageError."""
    from cadenza.soundtrack.stream import check_control

    def run(data: bytes) -> None:
        try:
            change = json.loads(data.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError, MemoryError):
            return
        try:
            checked = check_control(change)
        except CadenzaError:
            return
        if not isinstance(checked, dict) or any(isinstance(v, float) and not math.isfinite(v)
                                                 for v in checked.values()):
            raise AssertionError(f"check_control let through {checked!r}")

    return Target("controls", [s.encode() for s in SEED_CONTROLS], run, 5.0)


def model_target(workdir: Path) -> Target | None:
    """A model folder with its config or weights mutated, loaded as ``compose --model DIR`` loads it: a
    model or a CadenzaError, before allocating anything the config's sizes imply. None without torch."""
    try:
        import torch
    except ImportError:
        return None
    from cadenza.model.checkpoint import load_checkpoint, new_model, save_checkpoint

    torch.manual_seed(0)
    source = save_checkpoint(new_model("tiny"), workdir / "tiny")
    config_bytes = (source / "config.json").read_bytes()
    weights_bytes = (source / "model.safetensors").read_bytes()
    case = workdir / "case-model"

    def run(data: bytes) -> None:
        # first byte: which file the edits went to (even: config.json, odd: the weights' first 4 KB)
        shutil.rmtree(case, ignore_errors=True)
        shutil.copytree(source, case)
        if not data or data[0] % 2 == 0:
            (case / "config.json").write_bytes(data[1:])
        else:
            (case / "model.safetensors").write_bytes(data[1:] + weights_bytes[4096:])
        with contextlib.suppress(CadenzaError):
            load_checkpoint(case)

    return Target("model folders", [b"\x00" + config_bytes, b"\x01" + weights_bytes[:4096]], run, 20.0)


#: values a request field is drawn from: valid ones, and ones a user might mistype
REQUEST_VALUES: dict[str, tuple[Any, ...]] = {
    "composer": (None, "Bach", "mozart", "Clara Schumann", "nobody", ""),
    "epoch": (None, "medieval", "baroque", "classical", "romantic", "modern", "folk", "popular", "jazz", ""),
    "mood": (None, "joyful", "tense", "sad", "calm", "furious"),
    "valence": (None, -1.0, 0.0, 0.7, 1.5, float("nan")),
    "arousal": (None, -1.0, 0.3, 1.0, -2.0),
    "key": (None, "D minor", "F# major", "Bb", "c#m", "H# major", "C", "e flat minor", ""),
    "meter": (None, "3/4", "4/4", "6/8", "5/4", "7/8", "12/8", "0/4", "3/5", "x"),
    "tempo_bpm": (None, 60.0, 120.0, 200.0, 0.0, -5.0, 10_000.0, float("inf")),
    "density": (None, "low", "medium", "high", "ultra"),
    "ensemble": (None, "piano", "satb", "voices", "string-quartet", "orchestra", "song", "solo", "lead-sheet", "band",
                 "any", "kazoo"),
    "form": (None, "waltz", "march", "chorale", "reel", "sonnet"),
    "bars": (None, 1, 2, 3, 4, 0, -1, 10_000),
    "prompt": (None, "a tender waltz for strings in D minor", "a lied for voice and piano", "", "!!!"),
    "temperature": (1.0, 0.5, 0.0, -1.0),
    "candidates": (1, 2, 0),
}


def request_from(data: bytes) -> dict[str, Any]:
    """A request's fields chosen by the input's bytes (one byte a field, in :data:`REQUEST_VALUES` order;
    missing bytes leave a field unset)."""
    out: dict[str, Any] = {}
    for i, (name, values) in enumerate(REQUEST_VALUES.items()):
        value = values[data[i] % len(values)] if i < len(data) else None
        if value is not None:
            out[name] = value
    if out.get("bars") is None and out.get("duration_s") is None:
        out["bars"] = 2  # short pieces keep the target fast
    return out


def request_target(workdir: Path) -> Target | None:
    """The request space: fields drawn from valid and mistyped values, resolved into a plan and composed
    (2-bar pieces or as asked, up to 4 bars, with an untrained tiny model): a piece or a CadenzaError."""
    try:
        import torch
    except ImportError:
        return None
    from cadenza.compose import ComposeRequest, compose
    from cadenza.compose.request import resolve
    from cadenza.model.checkpoint import new_model, save_checkpoint

    torch.manual_seed(0)
    model = save_checkpoint(new_model("tiny"), workdir / "tiny-request")
    known = {f.name for f in fields(ComposeRequest)}
    assert set(REQUEST_VALUES) <= known

    def run(data: bytes) -> None:
        asked = request_from(data)
        try:
            request = ComposeRequest(**asked, guard=False)
            plan = resolve(request)
            if plan.bars <= 4:
                compose(request, checkpoint=model)
        except CadenzaError:
            pass

    seeds = [bytes([0] * len(REQUEST_VALUES)), bytes(range(len(REQUEST_VALUES))), bytes([1, 2, 3, 4, 1, 1, 1])]
    return Target("requests", seeds, run, 60.0)


def targets(workdir: Path) -> list[Target]:
    """Every target that can run here (the model and request targets need torch)."""
    found = [reader_target(workdir), control_target(), model_target(workdir), request_target(workdir)]
    return [t for t in found if t is not None]


# ---------------------------------------------------------------- the benchmark


def run_one(target: Target, data: bytes) -> tuple[str | None, float]:
    """(None, seconds) when the target held; (what went wrong, seconds) for a crash or a run past its bound."""
    start = time.perf_counter()
    try:
        target.run(data)
    except Exception as exc:  # noqa: BLE001 - anything but a CadenzaError (the target swallows those) is a crash
        return f"{type(exc).__name__}: {str(exc)[:200]}", time.perf_counter() - start
    seconds = time.perf_counter() - start
    return (f"slow: {seconds:.1f} s (bound {target.time_bound_s:g} s)" if seconds > target.time_bound_s
            else None), seconds


def fuzz(minutes: float, seed: int = 0, workdir: Path | None = None,
         only: tuple[str, ...] = ()) -> dict[str, Any]:
    """Run every target (or those named in ``only``) for its share of ``minutes``; the results (see the module
    docstring)."""
    own = workdir is None
    workdir = workdir or Path(tempfile.mkdtemp(prefix="cadenza-fuzz-"))
    quiet, level = logging.getLogger("cadenza"), logging.getLogger("cadenza").level
    quiet.setLevel(logging.ERROR)  # the readers' warnings about broken input are expected, by the thousand
    try:
        found = [t for t in targets(workdir) if not only or t.name in only]
        if not found:
            raise SystemExit(f"no such target: {', '.join(only)}")
        budget = minutes * 60.0 / len(found)
        per_target: dict[str, Any] = {}
        for index, target in enumerate(found):
            rng = random.Random(seed * 1000 + index)
            crashes: list[dict[str, Any]] = []
            executions, slowest = 0, 0.0
            start = time.perf_counter()
            while time.perf_counter() - start < budget:
                case_seed = rng.randrange(1 << 32)
                data = case_input(target, case_seed)
                problem, seconds = run_one(target, data)
                executions += 1
                slowest = max(slowest, seconds)
                if problem and len(crashes) < 20:
                    # the input itself: a seed score written here carries the day's date, so a case seed
                    # alone replays it only on the day
                    crashes.append({"problem": problem, "case_seed": case_seed, "input_hex": data[:65536].hex()})
                    log.warning("%s: %s (case seed %d)", target.name, problem, case_seed)
            per_target[target.name] = {"executions": executions, "crashes": len(crashes), "first_crashes": crashes,
                                       "slowest_s": round(slowest, 3), "seconds": round(time.perf_counter() - start, 1)}
            log.info("%s: %d executions, %d crashes, slowest %.2f s", target.name, executions, len(crashes), slowest)
    finally:
        quiet.setLevel(level)
        if own:
            shutil.rmtree(workdir, ignore_errors=True)
    return {"benchmark": "fuzz", "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(),
            "command": f"python -m benchmarks.fuzz --minutes {minutes:g} --seed {seed}"
                       + (f" --only '{','.join(only)}'" if only else ""), "seed": seed,
            "targets": per_target,
            "executions": sum(t["executions"] for t in per_target.values()),
            "crashes": sum(t["crashes"] for t in per_target.values()),
            "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def case_input(target: Target, case_seed: int) -> bytes:
    """The input a crash report's case seed makes for a target (to reproduce it)."""
    case_rng = random.Random(case_seed)
    return apply_edits(case_rng.choice(target.seeds), random_edits(case_rng))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="the whole budget, shared by the targets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="targets to run, by name, comma-separated (readers, controls, "
                        "model folders, requests)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = fuzz(args.minutes, args.seed, only=tuple(n.strip() for n in args.only.split(",") if n.strip()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    log.info("fuzz: %d executions, %d crashes, peak %.0f MB; wrote %s", result["executions"], result["crashes"],
             result["peak_memory_mb"], args.out)
    return 1 if result["crashes"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
