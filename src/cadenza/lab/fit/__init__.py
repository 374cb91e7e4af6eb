"""The fitting scripts of the shipped models: the tables the composer plans with (:mod:`.meters`:
``compose/models/meters.json``; :mod:`.harmony`: ``compose/models/harmony.json``; :mod:`.keys`:
``compose/models/keys.json``) and the listening models (:mod:`.style`: ``listen/models/style.json``;
:mod:`.mood`: ``listen/models/mood.json``, both cross-validated, their figures in ``benchmarks/results/``; the
ear's critic, :mod:`.critic`: ``listen/models/critic.json``, held-out figures in ``benchmarks/results/critic.json``).

They measure and fit the product, apart from it: the product only reads the JSON they write (committed), never
imports them. Run each as ``python -m benchmarks.fit_<name>`` (a one-line wrapper over its ``main``); they
write into the source checkout, so run them from one.
"""

from __future__ import annotations

from pathlib import Path

#: the package folder (``src/cadenza``): where the fitted files ship
PACKAGE = Path(__file__).resolve().parents[2]
#: the source checkout these scripts refit (``benchmarks/results/`` in it, ``../shared/datasets`` beside it)
CHECKOUT = PACKAGE.parents[1]
#: the shared datasets folder beside the checkout
SHARED_DATASETS = CHECKOUT.parent / "shared" / "datasets"
