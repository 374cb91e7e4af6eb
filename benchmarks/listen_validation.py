"""Listening validated against ground truth, in one table: benchmarks/results/listen.json.

    python -m benchmarks.listen_validation [--quick]

- key: Bach chorales (music21's encoded keys) and POP909 (key annotations): run here through
  benchmarks/listen/key_eval.py;
- meter: the label against an independent parse of the same files (music21's own TimeSignature objects)
  and, for Nottingham, against the tune type in each file name (jigs 6/8, waltzes 3/4, reels and
  hornpipes 4/4 or 2/4); tempo: the label against the file's first tempo event read by mido;
- mood (VGMIDI) and epoch/style (music21 works of known composers): cross-validated figures from the
  fitting scripts (cadenza.lab.fit.mood, cadenza.lab.fit.style), which write
  benchmarks/results/listen_mood.json and listen_style.json; they are copied in, with their commands;
- speed: labels for ~3-minute pieces after parsing (median seconds; goal < 1 s).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import machine
from cadenza.listen.analyse import analyse_timed
from cadenza.listen.labels import METERS
from cadenza.score import read_score

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "benchmarks" / "results"
log = logging.getLogger("listen_validation")

_NOTTINGHAM_METERS = {"jigs": {"6/8"}, "waltzes": {"3/4"}, "reels": {"4/4", "2/4", "2/2"},
                      "hpps": {"4/4", "2/4", "2/2"}}


def meter_check(quick: bool) -> dict[str, Any]:
    from music21 import converter, corpus, meter

    paths = sorted(str(p) for p in corpus.getPaths(fileExtensions=(".mxl",)))
    random.Random(1).shuffle(paths)
    paths = paths[: 15 if quick else 60]
    agree = total = 0
    for p in paths:
        ours = analyse_timed(read_score(p))[0]["meter"]
        parsed = converter.parse(p, forceSource=True)
        sigs = list(parsed.recurse().getElementsByClass(meter.TimeSignature))
        if not sigs:
            continue
        total += 1
        theirs = sigs[0].ratioString
        agree += ours == (theirs if theirs in METERS else "other")
    out: dict[str, Any] = {"music21_mxl_files": total,
                           "agree_with_music21_first_signature": round(agree / max(total, 1), 4)}
    midi_dir = DATASETS / "nottingham" / "MIDI"
    if midi_dir.is_dir():
        files = sorted(f for f in midi_dir.glob("*.mid") if any(f.name.startswith(k) for k in _NOTTINGHAM_METERS))
        random.Random(1).shuffle(files)
        files = files[: 40 if quick else 300]
        hits = sum(analyse_timed(read_score(f))[0]["meter"] in next(v for k, v in _NOTTINGHAM_METERS.items()
                                                                      if f.name.startswith(k)) for f in files)
        out["nottingham_files"] = len(files)
        out["nottingham_meter_matches_tune_type"] = round(hits / max(len(files), 1), 4)
    return out


def tempo_check(quick: bool) -> dict[str, Any]:
    import mido

    folder = DATASETS / "vgmidi" / "labelled" / "midi"
    if not folder.is_dir():
        return {"skipped": "../shared/datasets/vgmidi absent"}
    files = sorted(folder.glob("*.mid"))[: 30 if quick else 120]
    agree = 0
    for f in files:
        first = next((m.tempo for t in mido.MidiFile(f).tracks for m in t if m.type == "set_tempo"), 500000)
        ours = analyse_timed(read_score(f))[0]["tempo_bpm"]
        agree += abs(ours - 60_000_000 / first) < 0.01
    return {"vgmidi_files": len(files), "tempo_label_equals_first_tempo_event": round(agree / max(len(files), 1), 4)}


def speed_check(quick: bool) -> dict[str, Any]:
    pieces = ["music21:beethoven/opus18no1/movement2.mxl", "music21:beethoven/opus59no1/movement1.mxl",
              "music21:mozart/k458/movement1.mxl"]
    pop = DATASETS / "pop909" / "POP909"
    if pop.is_dir():
        pieces += [str(pop / f"{i:03d}" / f"{i:03d}.mid") for i in range(1, 4 if quick else 11)]
    rows = []
    for ref in pieces:
        try:
            score = read_score(ref)
        except Exception as exc:  # noqa: BLE001 - a missing corpus work is skipped, not fatal
            log.warning("%s: %s", ref, exc)
            continue
        times = [analyse_timed(score)[1] for _ in range(3)]
        rows.append({"piece": ref.split("/")[-1], "duration_s": round(score.duration_s, 1),
                     "notes": score.note_count, "analysis_s": round(statistics.median(times), 4),
                     "analysis_s_per_3_minutes": round(statistics.median(times) * 180 / max(score.duration_s, 1), 4)})
    per3 = [r["analysis_s_per_3_minutes"] for r in rows]
    return {"pieces": rows, "median_s_per_3_minutes": round(statistics.median(per3), 4) if per3 else None,
            "goal_s": 1.0}


def _copied(name: str) -> dict[str, Any]:
    path = RESULTS / f"listen_{name}.json"
    if not path.is_file():
        return {"missing": f"run python -m benchmarks.fit_{name} to produce {path.name}"}
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small samples (about a minute)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("cadenza").setLevel(logging.ERROR)
    start = time.time()
    report: dict[str, Any] = {
        "benchmark": "listen_validation",
        "date": time.strftime("%Y-%m-%d"),
        "command": "python -m benchmarks.listen_validation" + (" --quick" if args.quick else ""),
        "machine": machine(),
    }
    try:
        from benchmarks.listen import key_eval

        log.info("key ...")
        report["key"] = key_eval.run(quick=args.quick)
    except ImportError:
        report["key"] = {"missing": "benchmarks/listen/key_eval.py"}
    log.info("meter ...")
    report["meter"] = meter_check(args.quick)
    log.info("tempo ...")
    report["tempo"] = tempo_check(args.quick)
    log.info("speed ...")
    report["speed"] = speed_check(args.quick)
    report["mood"] = _copied("mood")
    report["style"] = _copied("style")
    report["wall_s"] = round(time.time() - start, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("listen_quick.json" if args.quick else "listen.json")
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k in ("meter", "tempo")}, indent=1))
    print(f"speed: median {report['speed']['median_s_per_3_minutes']} s per 3 minutes of music")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
