"""Fit the key table the composer plans with (``compose/models/keys.json``): :mod:`cadenza.lab.fit.keys`.

    python -m benchmarks.fit_keys [--datasets ../shared/datasets]
"""

from cadenza.lab.fit.keys import main

if __name__ == "__main__":
    raise SystemExit(main())
