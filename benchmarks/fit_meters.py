"""Fit the meter table the composer plans with (``compose/models/meters.json``): :mod:`cadenza.lab.fit.meters`.

    python -m benchmarks.fit_meters [--corpus v2]
"""

from cadenza.lab.fit.meters import main

if __name__ == "__main__":
    raise SystemExit(main())
