"""Fit the harmony networks (``listen/models/harmony_net.safetensors``): :mod:`cadenza.lab.fit.harmony_net`.

    python -m benchmarks.fit_harmony_net [--datasets ../shared/datasets] [--cache DIR] [--epochs 20] [--dry-run]
"""

from cadenza.lab.fit.harmony_net import main

if __name__ == "__main__":
    raise SystemExit(main())
