"""Fit the mood model, cross-validated on VGMIDI (``listen/models/mood.json``): :mod:`cadenza.lab.fit.mood`.

    python -m benchmarks.fit_mood [--quick]
"""

from cadenza.lab.fit.mood import main

if __name__ == "__main__":
    raise SystemExit(main())
