"""What every benchmark result records about where it ran."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """CPU count, processor, OS and Python: enough to compare result files taken on different machines."""
    return {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "platform": platform.platform(), "python": platform.python_version()}


ROOT = Path(__file__).resolve().parents[1]


def git_commit() -> str | None:
    """The short commit of the checkout (with ``+dirty`` when the working tree differs), None without git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True, timeout=30)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def dcml_benchmark(argv: list[str] | None, description: str, command: str, default_per_corpus: int, results: Path,
                   run: Callable[[Path, int], dict[str, Any]], summary: Callable[[dict[str, Any]], str]) -> int:
    """A benchmark over the DCML piano corpora's annotated movements (``shared/datasets/classical/dcml-piano``):
    parse ``--per-corpus``, ``--datasets`` and ``--out``, skip cleanly without the corpora, run ``run(root,
    per_corpus)``, record the command, wall time and machine, write the result atomically and print
    ``summary(result)``."""
    from cadenza.corpus.sources import find_datasets
    from cadenza.files import atomic_write_bytes

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--per-corpus", type=int, default=default_per_corpus,
                        help=f"movements per DCML corpus (default {default_per_corpus})")
    parser.add_argument("--datasets", type=Path, help="the shared datasets folder (default: found beside the checkout)")
    parser.add_argument("--out", type=Path, default=results)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("cadenza").setLevel(logging.ERROR)
    datasets = args.datasets or find_datasets()
    root = datasets / "classical" / "dcml-piano" if datasets else None
    if root is None or not root.is_dir():
        print(f"{command}: ../shared/datasets/classical/dcml-piano is not here; skipped", file=sys.stderr)
        return 0
    started = time.time()
    result = run(root, args.per_corpus)
    result.update(command=f"python -m {command} --per-corpus {args.per_corpus}",
                  wall_s=round(time.time() - started, 1), machine=machine())
    atomic_write_bytes(args.out, (json.dumps(result, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
    print(f"{summary(result)}; written to {args.out}")
    return 0
