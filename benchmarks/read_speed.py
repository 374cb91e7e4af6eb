"""Reading speed: MIDI and MusicXML files per second through Cadenza's readers.

    python -m benchmarks.read_speed [--midi-files N] [--xml-files N] [--repeats R]

MIDI: the Nottingham MIDI collection in ../shared/datasets (real-world files) when present, else MIDI files
that Cadenza writes from music21's Bach chorales. MusicXML: compressed .mxl files from music21's bundled
corpus (Bach chorales and larger works), a fixed sample. Each file is read R times; the figure per format
is the median per-file time, and files/s = 1 / that median. Results go to
benchmarks/results/read_speed.json with the machine and the command.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import machine
from cadenza.score import ReadLimits, read_score, write_score

ROOT = Path(__file__).resolve().parents[1]
NOTTINGHAM = ROOT.parent / "shared" / "datasets" / "nottingham" / "MIDI"
RESULTS = ROOT / "benchmarks" / "results" / "read_speed.json"
log = logging.getLogger("read_speed")


def _corpus_mxl(n: int) -> list[Path]:
    from music21 import corpus

    paths = sorted(Path(p) for p in corpus.getPaths(fileExtensions=(".mxl",)))
    random.Random(0).shuffle(paths)
    return paths[:n]


def _midi_files(n: int, scratch: Path) -> tuple[list[Path], str]:
    if NOTTINGHAM.is_dir():
        files = sorted(NOTTINGHAM.glob("*.mid"))
        random.Random(0).shuffle(files)
        return files[:n], "../shared/datasets/nottingham/MIDI"
    from music21 import corpus

    chorales = [Path(p) for p in corpus.getComposer("bach") if str(p).endswith(".mxl")][:n]
    out = []
    for i, p in enumerate(chorales):
        out.append(write_score(read_score(p), scratch / f"c{i}.mid"))
    return out, "MIDI written by Cadenza from music21's Bach chorales"


def _time_reads(files: list[Path], repeats: int, limits: ReadLimits) -> dict[str, float | int]:
    per_file: list[float] = []
    notes = 0
    total_bytes = 0
    failures = 0
    for i, path in enumerate(files):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            try:
                score = read_score(path, limits)
            except Exception as exc:  # noqa: BLE001 - a benchmark counts failures, it does not stop
                log.warning("%s: %s", path.name, exc)
                failures += 1
                break
            times.append(time.perf_counter() - start)
        if times:
            per_file.append(statistics.median(times))
            notes += score.note_count
            total_bytes += path.stat().st_size
        if (i + 1) % 25 == 0:
            log.info("  %d/%d files", i + 1, len(files))
    total = sum(per_file)
    median = statistics.median(per_file)
    return {
        "files": len(per_file),
        "failures": failures,
        "median_s_per_file": round(median, 5),
        "files_per_s_from_median": round(1 / median, 2),
        "files_per_s_overall": round(len(per_file) / total, 2),
        "notes_per_s_overall": round(notes / total),
        "mean_file_kb": round(total_bytes / max(len(per_file), 1) / 1024, 1),
        "mean_notes_per_file": round(notes / max(len(per_file), 1)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--midi-files", type=int, default=200)
    parser.add_argument("--xml-files", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("cadenza").setLevel(logging.ERROR)  # reader warnings are not the point here
    limits = ReadLimits()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        midi, midi_source = _midi_files(args.midi_files, Path(tmp))
        log.info("MIDI: %d files from %s", len(midi), midi_source)
        results["midi"] = {"source": midi_source, **_time_reads(midi, args.repeats, limits)}
        xml = _corpus_mxl(args.xml_files)
        log.info("MusicXML: %d .mxl files from music21's corpus", len(xml))
        results["musicxml"] = {"source": "music21 bundled corpus .mxl (random sample, seed 0)",
                               **_time_reads(xml, args.repeats, limits)}
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
        assert isinstance(r, dict)
        print(f"{fmt:9s} {r['files']:4d} files  median {r['median_s_per_file'] * 1000:8.1f} ms/file  "
              f"{r['files_per_s_from_median']:8.1f} files/s  {r['notes_per_s_overall']:>9,} notes/s  "
              f"failures {r['failures']}")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
