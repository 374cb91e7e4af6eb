"""Fit the ear's critic (``listen/models/critic.json``): :mod:`cadenza.lab.fit.critic`.

    python -m benchmarks.fit_critic [--datasets ../shared/datasets] [--real 24] [--pieces 24] [--cache DIR]
"""

from cadenza.lab.fit.critic import main

if __name__ == "__main__":
    raise SystemExit(main())
