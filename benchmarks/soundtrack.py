"""Soundtrack benchmark: an hour of timeline (speed, transitions, mood per segment, repetition) and a long
live stream at full speed (memory growth and peak).

    python -m benchmarks.soundtrack [--timeline-minutes 60] [--stream-hours 10] [--ensemble piano]
                                    [--checkpoint DIR] [--out benchmarks/results/soundtrack.json]

See :mod:`cadenza.lab.soundtrack`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from benchmarks.common import machine
from cadenza.files import atomic_write_bytes
from cadenza.lab.soundtrack import SoundtrackBenchConfig, stream_run, timeline_run

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "soundtrack.json"
log = logging.getLogger("soundtrack_bench")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeline-minutes", type=float, default=60.0)
    parser.add_argument("--stream-hours", type=float, default=10.0, help="0 to skip the stream")
    parser.add_argument("--ensemble", default="piano")
    parser.add_argument("--checkpoint", help="model folder (default: the shipped default model)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("cadenza").setLevel(logging.WARNING)
    config = SoundtrackBenchConfig(timeline_minutes=args.timeline_minutes, stream_hours=args.stream_hours,
                                   ensemble=args.ensemble, checkpoint=args.checkpoint)
    result = {}
    if args.timeline_minutes > 0:
        result["timeline"] = timeline_run(config, lambda d, t: log.info("timeline: %d/%d segments", d, t))
        log.info("timeline: %s", json.dumps({k: v for k, v in result["timeline"].items()}))
    if args.stream_hours > 0:
        result["stream"] = stream_run(config, lambda d, t: log.info("stream: %.1f/%.1f h", d / 3600, t / 3600))
        log.info("stream: %s", json.dumps({k: v for k, v in result["stream"].items() if k != "samples"}))
    report = {"benchmark": "soundtrack", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "command": "python -m benchmarks.soundtrack " + " ".join(sys.argv[1:] if argv is None else argv),
              "config": config.__dict__, **result}
    atomic_write_bytes(args.out, (json.dumps(report, indent=1, ensure_ascii=False, default=str) + "\n").encode())
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
