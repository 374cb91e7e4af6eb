"""How ``listen`` hears a dance's accompaniment in real music. ``--dance waltz`` (the default):
:func:`cadenza.listen.rhythm.waltz_share` (the share of the bars with a bass on the downbeat and a chord under the
tune on the second and third beats) for the real waltzes of the classical pack, and for other pieces in three that
are not waltzes (Chopin's mazurkas, a dance over the same accompaniment; sonata movements of Haydn, Mozart and
Beethoven; quartet movements; Lieder); it sets :data:`cadenza.listen.style.WALTZ_SHARE`. ``--dance march``:
:func:`cadenza.listen.rhythm.march_share` (a bass on each beat, a chord on each off-beat) for Joplin's rags in two
(a rag is a march in form and accompaniment) and Beethoven's sonata movements in two; it sets ``MARCH_SHARE``.

    python -m benchmarks.listen_waltz [--dance waltz|march] [--datasets ../shared/datasets] [--others 120]

Waltzes: Joplin's Bethena, Harmony Club, Pleasant Moments, Binks' and Augustan Club waltzes (kern), Debussy's
"La plus que lente" and four of Grieg's Lyric Pieces (op. 12/2, 38/7, 47/1, 68/6; DCML). Others: ``--others``
files in three drawn (seed 0) from the mazurkas, the kern sonatas, the OpenScore quartets and Lieder. Marches: the
first 25 of Joplin's rags in 2/4 and of Beethoven's sonata movements in 2/4 or 2/2 (kern, by file name). Skipped
cleanly when the pack is absent. Writes ``benchmarks/results/listen_waltz.json`` (``listen_march.json``).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from benchmarks.common import git_commit, machine
from cadenza.errors import CadenzaError
from cadenza.files import atomic_write_bytes

RESULTS = Path(__file__).resolve().parent / "results"
MARCH_GROUPS = {"rags": "kern/joplin/*.krn", "sonatas": "kern/beethoven-piano-sonatas/*.krn"}
MARCHES_EACH = 25
WALTZES = [f"kern/joplin/{name}.krn" for name in ("bethena", "harmony", "pleasant", "binks", "augustan")] + [
    "dcml-piano/debussy_corpus/l071_valse.mxl"] + [
    f"dcml-piano/grieg_lyric_pieces/{name}.mxl" for name in ("op12n02", "op38n07", "op47n01", "op68n06")]
OTHERS = {"mazurkas": "dcml-piano/chopin_mazurkas/*.mxl", "sonatas": "kern/*-piano-sonatas/*.krn",
          "quartets": "openscore-quartets/**/*.mxl", "lieder": "openscore-lieder/**/*.mxl"}
log = logging.getLogger("listen_waltz")


def share_of(path: Path, dance: str = "waltz") -> tuple[float, str] | None:
    """(the dance's share, main meter) of one file, or None where it cannot be read."""
    from cadenza.api import read_score
    from cadenza.listen.features import View
    from cadenza.listen.rhythm import march_share, waltz_share

    try:
        view = View(read_score(path))
    except CadenzaError as exc:  # a real file that does not read is left out, and said
        log.warning("%s: %s", path.name, exc)
        return None
    return (waltz_share if dance == "waltz" else march_share)(view), str(view.main_signature)


def measure(classical: Path, others: int) -> dict[str, Any]:
    from cadenza.listen.style import WALTZ_SHARE

    waltzes: dict[str, dict[str, Any]] = {}
    for name in WALTZES:
        got = share_of(classical / name)
        if got is not None:
            waltzes[name] = {"share": round(got[0], 3), "meter": got[1]}
    rng = random.Random(0)
    per_group = max(others // len(OTHERS), 1)
    groups: dict[str, dict[str, float]] = {}
    for group, pattern in OTHERS.items():
        files = sorted(classical.glob(pattern))
        rng.shuffle(files)
        found: dict[str, float] = {}
        for path in files:
            if len(found) >= per_group:
                break
            got = share_of(path)
            if got is not None and got[1].startswith("3/"):
                found[str(path.relative_to(classical))] = round(got[0], 3)
        groups[group] = found
    heard = {group: sum(share >= WALTZ_SHARE for share in found.values()) for group, found in groups.items()}
    return {"threshold": WALTZ_SHARE, "waltzes": waltzes,
            "waltzes_heard": sum(w["share"] >= WALTZ_SHARE for w in waltzes.values()),
            "others_heard_as_waltz": heard, "others": groups}


def measure_marches(classical: Path) -> dict[str, Any]:
    from cadenza.listen.style import MARCH_SHARE

    groups: dict[str, dict[str, float]] = {}
    for group, pattern in MARCH_GROUPS.items():
        found: dict[str, float] = {}
        for path in sorted(classical.glob(pattern)):
            if len(found) >= MARCHES_EACH:
                break
            got = share_of(path, "march")
            if got is not None and got[1] in ("2/4", "2/2"):
                found[str(path.relative_to(classical))] = round(got[0], 3)
        groups[group] = found
    return {"threshold": MARCH_SHARE, "heard_as_march": {group: int(sum(v >= MARCH_SHARE for v in found.values()))
                                                         for group, found in groups.items()},
            "counts": {group: len(found) for group, found in groups.items()}, "groups": groups}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--others", type=int, default=120, help="other pieces in three, over the four groups")
    parser.add_argument("--dance", choices=("waltz", "march"), default="waltz")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("cadenza").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    classical = args.datasets / "classical"
    if not classical.is_dir():
        log.info("skipped: no classical pack at %s", classical)
        return 0
    start = time.perf_counter()
    measured = measure(classical, args.others) if args.dance == "waltz" else measure_marches(classical)
    result = {"command": "python -m benchmarks.listen_waltz " + " ".join(sys.argv[1:] if argv is None else argv),
              "commit": git_commit(), "machine": machine(), **measured,
              "seconds": round(time.perf_counter() - start, 1)}
    atomic_write_bytes(RESULTS / f"listen_{args.dance}.json", (json.dumps(result, indent=1) + "\n").encode())
    if args.dance == "waltz":
        log.info("waltzes heard %d of %d; others heard as waltzes %s", result["waltzes_heard"],
                 len(result["waltzes"]), result["others_heard_as_waltz"])
    else:
        log.info("heard as marches %s of %s", result["heard_as_march"], result["counts"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
