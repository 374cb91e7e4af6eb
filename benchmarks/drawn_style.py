"""The style drawn for a request that names none, against the model's own choice: :mod:`cadenza.lab.drawn_style`.

    python -m benchmarks.drawn_style [--ensembles string-quartet,piano,satb] [--seeds 16]
"""

from cadenza.lab.drawn_style import main

if __name__ == "__main__":
    raise SystemExit(main())
