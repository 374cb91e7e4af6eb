"""Fit the style (epoch) model, cross-validated (``listen/models/style.json``): :mod:`cadenza.lab.fit.style`.

    python -m benchmarks.fit_style [--quick] [--fresh]
"""

from cadenza.lab.fit.style import main

if __name__ == "__main__":
    raise SystemExit(main())
