"""How ``listen`` hears the epoch of real works' openings, as the control benchmark hears composed pieces: the
first 8 and 16 bars of real romantic songs and classical quartets (the styles a request for "romantic" or
"classical" music is composed in), of the corpus' modern songs and of POP909's pop songs, each heard by
``listen.style.estimate_epoch``. It says how far the control benchmark's epoch figure can go for those styles: a
composed song heard as romantic as often as Schubert's Lieder are is as romantic as the listener can tell.

    python -m benchmarks.epoch_of_real_works [--works 4] [--datasets ../shared/datasets]

Works: the craft benchmark's pools of real songs and quartets (:func:`cadenza.lab.real_works.real_pools`: the
Lieder of Schubert, Schumann, Brahms, Franz, Hensel and Wolf; Haydn's, Mozart's and Beethoven's quartet
movements), ``--works`` of each sub-pool spread over it, read as the craft benchmark reads them; for modern, the
OpenScore Lieder of the composers most of the corpus' modern works are by (:data:`MODERN_SONGWRITERS`: songs of
1890-1930), and for popular POP909's songs (``4 * --works`` of each), read as the style model was fitted on them
(aligned to their annotated downbeats, in their annotated meter). Skipped cleanly when the pack is absent.
Writes ``benchmarks/results/epoch_of_real_works.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import git_commit, machine
from cadenza.files import atomic_write_bytes

RESULT = Path(__file__).resolve().parent / "results" / "epoch_of_real_works.json"
ENSEMBLES = {"romantic": "song", "classical": "string-quartet"}  # epoch -> the ensemble a request for it gets
#: the OpenScore Lieder folders of the composers most of the corpus' modern works are by (its label: by the
#: composer's dates)
MODERN_SONGWRITERS = ("Faisst,_Clara_Mathilda", "Warlock,_Peter", "Boulanger,_Lili", "Bridge,_Frank", "Satie,_Erik")
BARS = (8, 16)
log = logging.getLogger("epoch_of_real_works")


def heard_epochs(datasets: Path, works: int) -> dict[str, Any]:
    """Per epoch of :data:`ENSEMBLES`: the epochs heard in the openings of ``works`` real works per sub-pool."""
    from cadenza.lab.fit.style import _read_pop909
    from cadenza.lab.real_works import read_real, real_pools, spread
    from cadenza.listen.analyse import analyse
    from cadenza.listen.style import estimate_epoch
    from cadenza.score.ops import slice_bars

    out: dict[str, Any] = {}
    lieder, pop = datasets / "classical" / "openscore-lieder", datasets / "pop909" / "POP909"
    pools_of = {epoch: real_pools(ensemble, datasets)[0] for epoch, ensemble in ENSEMBLES.items()}
    pools_of["modern"] = [sorted((lieder / name).rglob("*.mxl")) for name in MODERN_SONGWRITERS]
    pools_of["popular"] = [sorted(pop.glob("*/*.mid"))] if pop.is_dir() else []
    for epoch, pools in pools_of.items():
        heard: dict[int, Counter[str]] = {bars: Counter() for bars in BARS}
        read: list[str] = []
        each = 4 * works if epoch == "popular" else works
        for path in (p for pool in pools for p in spread(pool, each)):
            try:
                # POP909's MIDI as the style model read it: its first downbeat at 0, its meter from the beat
                # annotations, on a grid (read as it is, it is a 1/4 meter starting anywhere in the bar)
                score = _read_pop909(path) if epoch == "popular" else read_real(path)
            except Exception as exc:  # noqa: BLE001 - an unreadable edition is left out, and said
                log.warning("%s: %s", path, exc)
                continue
            read.append(path.name)
            for bars in BARS:
                heard[bars][estimate_epoch(analyse(slice_bars(score, 0, min(bars, score.bar_count))))[0]] += 1
        out[epoch] = {f"{bars}_bars": {"heard_as_epoch": round(heard[bars][epoch] / max(len(read), 1), 3),
                                       "heard": dict(heard[bars].most_common())} for bars in BARS}
        out[epoch]["works"] = read
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--works", type=int, default=4, help="works per sub-pool (default 4)")
    parser.add_argument("--datasets", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not (args.datasets / "classical").is_dir():
        log.info("no classical pack under %s: nothing to measure", args.datasets)
        return 0
    started = time.time()
    figures = heard_epochs(args.datasets, args.works)
    result = {"command": "python -m benchmarks.epoch_of_real_works " + " ".join(sys.argv[1:] if argv is None else argv),
              "commit": git_commit(), "machine": machine(), "seconds": round(time.time() - started, 1),
              "epochs": figures}
    atomic_write_bytes(RESULT, (json.dumps(result, indent=1) + "\n").encode("utf-8"))
    for epoch, row in figures.items():
        log.info("%s: %s", epoch, {k: v for k, v in row.items() if k != "works"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
