"""Key estimation against ground truth: music21's encoded keys for the Bach chorales and POP909's key
annotations.

    python -m benchmarks.listen.key_eval [--quick]

Bach chorales: every Bach file of music21's corpus (.mxl/.xml) with 4-5 parts whose first key signature
carries a mode; that signature (tonic from sharps + mode) is the ground truth. Two figures, because the
signature is itself in the file: (a) as ``cadenza analyse`` does it, key signature used as evidence, and
(b) from pitch content only, the key signatures removed from the score before estimation.

POP909: ``POP909/NNN/NNN.mid`` against ``key_audio.txt`` (the ground truth is the key that covers the most
time). Split deterministically into a dev half (odd ids), the only half used for tuning, and a test half
(even ids); both are reported.

Figures: exact tonic+mode accuracy and the MIREX weighted score (1.0 exact, 0.5 a perfect fifth above or
below in the same mode, 0.3 relative major/minor, 0.2 parallel, else 0). POP909's annotations also give
the number of key changes in each song, against which ``count_modulations`` is checked. Results go to
benchmarks/results/listen_key.json. ``--quick`` uses about 40 chorales and 60 POP909 songs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import platform
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from cadenza.listen.features import View
from cadenza.listen.key import count_modulations, estimate_key
from cadenza.listen.labels import TONICS
from cadenza.score import Score, read_score

ROOT = Path(__file__).resolve().parents[2]
DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
POP909 = DATASETS / "pop909" / "POP909"
RESULTS = ROOT / "benchmarks" / "results" / "listen_key.json"
QUICK_CHORALES = 40
QUICK_POP909 = 60
log = logging.getLogger("key_eval")

_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
Key = tuple[int, str]  # (tonic pitch class, "major" | "minor")


# ---------------------------------------------------------------- ground truth


def signature_key(sharps: int, mode: str) -> Key:
    """The key a signature of ``sharps`` names in ``mode``."""
    major = (7 * sharps) % 12
    return (major, "major") if mode == "major" else ((major + 9) % 12, "minor")


def parse_key_label(label: str) -> Key:
    """``'Gb:maj'`` -> (6, 'major'), ``'E:min'`` -> (4, 'minor')."""
    name, _, mode = label.strip().partition(":")
    pc = _LETTERS[name[0].upper()] + name[1:].count("#") - name[1:].count("b")
    return pc % 12, ("minor" if mode.lower().startswith("min") else "major")


def _pop909_segments(path: Path) -> list[tuple[float, Key]]:
    segments = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 3:
            segments.append((float(fields[1]) - float(fields[0]), parse_key_label(fields[2])))
    return segments


def pop909_truth(path: Path) -> Key | None:
    """The annotated key that covers the most time in a POP909 ``key_audio.txt``."""
    spans: Counter[Key] = Counter()
    for seconds, key in _pop909_segments(path):
        spans[key] += seconds
    return spans.most_common(1)[0][0] if spans else None


def pop909_key_changes(path: Path) -> int:
    """How many times the annotated key changes in a POP909 ``key_audio.txt``."""
    keys = [key for _, key in _pop909_segments(path)]
    return sum(a != b for a, b in itertools.pairwise(keys))


def key_name(key: Key) -> str:
    return f"{TONICS[key[0]]} {key[1]}"


# ---------------------------------------------------------------- scoring


def mirex_score(est: Key, truth: Key) -> float:
    """MIREX key weighting: exact 1, fifth (same mode) 0.5, relative 0.3, parallel 0.2, else 0."""
    (et, em), (tt, tm) = est, truth
    if est == truth:
        return 1.0
    if em == tm and (et - tt) % 12 in (5, 7):
        return 0.5
    if em != tm and (et - tt) % 12 == (9 if tm == "major" else 3):
        return 0.3
    if em != tm and et == tt:
        return 0.2
    return 0.0


def _relation(est: Key, truth: Key) -> str:
    return {1.0: "exact", 0.5: "fifth", 0.3: "relative", 0.2: "parallel", 0.0: "other"}[mirex_score(est, truth)]


def evaluate(items: list[tuple[str, Score, Key]]) -> dict:
    """Accuracy, MIREX score, error kinds and timing of ``estimate_key`` over (name, score, truth)."""
    relations: Counter[str] = Counter()
    mirex = 0.0
    errors = []
    seconds = 0.0
    for name, score, truth in items:
        view = View(score)
        start = time.perf_counter()
        est = estimate_key(view)
        seconds += time.perf_counter() - start
        got = (est.tonic, est.mode)
        relations[_relation(got, truth)] += 1
        mirex += mirex_score(got, truth)
        if got != truth:
            errors.append(f"{name}: {key_name(got)} (truth {key_name(truth)})")
    n = len(items)
    return {
        "n": n,
        "accuracy": round(relations["exact"] / n, 4) if n else None,
        "mirex": round(mirex / n, 4) if n else None,
        "relations": {k: relations[k] for k in ("exact", "fifth", "relative", "parallel", "other")},
        "ms_per_piece": round(1000 * seconds / n, 3) if n else None,
        "errors": errors,
    }


def evaluate_modulations(items: list[tuple[str, Score, int]]) -> dict:
    """``count_modulations`` against annotated numbers of key changes: exact agreement, mean absolute
    error, agreement on whether the key changes at all, and the means."""
    est = [count_modulations(View(score)) for _, score, _ in items]
    truth = [t for _, _, t in items]
    n = len(items)
    if not n:
        return {"n": 0}
    return {
        "n": n,
        "exact": round(sum(e == t for e, t in zip(est, truth, strict=True)) / n, 4),
        "mean_abs_error": round(sum(abs(e - t) for e, t in zip(est, truth, strict=True)) / n, 4),
        "changes_or_not_agree": round(sum((e > 0) == (t > 0) for e, t in zip(est, truth, strict=True)) / n, 4),
        "mean_estimated": round(sum(est) / n, 4),
        "mean_annotated": round(sum(truth) / n, 4),
    }


# ---------------------------------------------------------------- data


def chorale_paths() -> list[Path]:
    from music21 import corpus

    paths = sorted(Path(p) for p in corpus.getComposer("bach") if Path(p).suffix.lower() in (".mxl", ".xml"))
    return paths


def load_chorales(limit: int | None = None) -> Iterator[tuple[str, Score, Key]]:
    """(name, score, encoded key) for chorales (4-5 parts) whose first key signature carries a mode."""
    paths = chorale_paths()
    if limit:
        step = max(len(paths) // limit, 1)
        paths = paths[::step][:limit]
    for path in paths:
        try:
            score = read_score(path)
        except Exception as exc:  # noqa: BLE001 - a corpus file that fails is reported, not fatal
            log.warning("%s: %s", path.name, exc)
            continue
        if not 4 <= len(score.parts) <= 5 or not score.key_signatures:
            continue
        first = score.key_signatures[0]
        if first.mode is None:
            continue
        yield path.name, score, signature_key(first.sharps, first.mode)


def pop909_ids(quick: bool = False) -> list[int]:
    ids = sorted(int(p.name) for p in POP909.iterdir() if p.is_dir() and p.name.isdigit())
    if quick:
        odd, even = [i for i in ids if i % 2], [i for i in ids if not i % 2]
        half = QUICK_POP909 // 2
        ids = sorted(odd[:: max(len(odd) // half, 1)][:half] + even[:: max(len(even) // half, 1)][:half])
    return ids


def load_pop909(ids: list[int]) -> Iterator[tuple[str, Score, Key]]:
    for i in ids:
        folder = POP909 / f"{i:03d}"
        mid, keys = folder / f"{i:03d}.mid", folder / "key_audio.txt"
        if not mid.is_file() or not keys.is_file():
            continue
        truth = pop909_truth(keys)
        if truth is None:
            continue
        try:
            score = read_score(mid)
        except Exception as exc:  # noqa: BLE001
            log.warning("%s: %s", mid.name, exc)
            continue
        yield f"{i:03d}", score, truth


# ---------------------------------------------------------------- run


def run(quick: bool = False) -> dict:
    results: dict = {
        "quick": quick,
        "command": " ".join(["python -m benchmarks.listen.key_eval", *(["--quick"] if quick else [])]),
        "machine": f"{platform.machine()} {platform.system()} python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "goals": {"chorales": 0.90, "pop909": 0.80},
        "notes": [],
    }
    chorales = list(load_chorales(QUICK_CHORALES if quick else None))
    results["chorales_with_signature"] = evaluate(chorales)
    results["chorales_with_signature"]["label"] = "Bach chorales, key signature used as evidence (as analyse)"
    bare = [(name, score.replace(key_signatures=()), truth) for name, score, truth in chorales]
    results["chorales_pitch_only"] = evaluate(bare)
    results["chorales_pitch_only"]["label"] = "Bach chorales, pitch content only (key signatures removed)"
    if POP909.is_dir():
        songs = list(load_pop909(pop909_ids(quick)))
        dev = [s for s in songs if int(s[0]) % 2]
        test = [s for s in songs if not int(s[0]) % 2]
        results["pop909_dev"] = evaluate(dev)
        results["pop909_dev"]["label"] = "POP909 dev half (odd ids; used for tuning)"
        results["pop909_test"] = evaluate(test)
        results["pop909_test"]["label"] = "POP909 test half (even ids; not used for tuning)"
        results["pop909_all"] = evaluate(songs)
        results["pop909_all"]["label"] = "POP909 all"
        for half, subset in (("dev", dev), ("test", test)):
            changes = [(name, score, pop909_key_changes(POP909 / name / "key_audio.txt")) for name, score, _ in subset]
            results[f"pop909_{half}_modulations"] = evaluate_modulations(changes)
            results[f"pop909_{half}_modulations"]["label"] = (
                f"count_modulations against POP909 {half} annotated key changes"
            )
    else:
        results["notes"].append(f"POP909 skipped: {POP909} not found")
    return results


ROWS = ("chorales_with_signature", "chorales_pitch_only", "pop909_dev", "pop909_test", "pop909_all")


def table(results: dict) -> str:
    lines = [f"{'set':<26}{'n':>5}{'exact':>8}{'MIREX':>8}  fifth rel  par other   ms"]
    for row in ROWS:
        r = results.get(row)
        if not r or not r["n"]:
            continue
        rel = r["relations"]
        lines.append(
            f"{row:<26}{r['n']:>5}{r['accuracy']:>8.1%}{r['mirex']:>8.3f}  {rel['fifth']:>5}{rel['relative']:>4}"
            f"{rel['parallel']:>5}{rel['other']:>6}{r['ms_per_piece']:>5.1f}"
        )
    for half in ("dev", "test"):
        m = results.get(f"pop909_{half}_modulations")
        if m and m["n"]:
            lines.append(
                f"modulations pop909_{half}: exact {m['exact']:.1%}, MAE {m['mean_abs_error']:.2f}, change-or-not "
                f"{m['changes_or_not_agree']:.1%}, mean {m['mean_estimated']:.2f} (annotated {m['mean_annotated']:.2f})"
            )
    lines.extend(results["notes"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about 40 chorales and 60 POP909 songs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    results = run(quick=args.quick)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(table(results))
    print(f"written {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
