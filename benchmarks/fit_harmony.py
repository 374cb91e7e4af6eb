"""Fit the harmony model the composer plans with (``compose/models/harmony.json``): :mod:`cadenza.lab.fit.harmony`.

    python -m benchmarks.fit_harmony [--corpus v2] [--per-epoch 400]
"""

from cadenza.lab.fit.harmony import main

if __name__ == "__main__":
    raise SystemExit(main())
