"""Reading speed: MIDI and MusicXML files per second through Cadenza's readers.

    python -m benchmarks.read_speed [--midi-files N] [--xml-files N] [--repeats R]

MIDI: the Nottingham MIDI collection in ../shared/datasets (real-world files) when present, else MIDI files
that Cadenza writes from music21's Bach chorales. MusicXML: compressed .mxl files from music21's bundled
corpus (Bach chorales and larger works), a fixed sample. Each file is read R times; the figure per format
is the median per-file time, and files/s = 1 / that median. Results go to
benchmarks/results/read_speed.json with the machine and the command. The measurement is
:func:`cadenza.lab.speed.read_speed` (also run by ``cadenza bench --only speed``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from benchmarks.common import machine
from cadenza.lab.speed import read_speed

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "read_speed.json"
log = logging.getLogger("read_speed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--midi-files", type=int, default=200)
    parser.add_argument("--xml-files", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    def progress(done: int, total: int) -> None:
        if done % 25 == 0:
            log.info("  %d/%d files", done, total)

    results = read_speed(args.midi_files, args.xml_files, args.repeats, progress)
    results.pop("repeats", None)
    report = {
        "benchmark": "read_speed",
        "date": time.strftime("%Y-%m-%d"),
        "command": "python -m benchmarks.read_speed " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for fmt in ("midi", "musicxml"):
        r = results[fmt]
        print(f"{fmt:9s} {r['files']:4d} files  median {r['median_s_per_file'] * 1000:8.1f} ms/file  "
              f"{r['files_per_s_from_median']:8.1f} files/s  {r['notes_per_s_overall']:>9,} notes/s  "
              f"failures {r['failures']}")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
