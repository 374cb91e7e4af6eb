"""The lab: what measures Cadenza rather than what Cadenza is. Benchmark suites as library functions (``cadenza
bench`` and the scripts in ``benchmarks/`` call them: :mod:`.suite`, :mod:`.compose`, :mod:`.craft`,
:mod:`.harmony`, :mod:`.nll`, :mod:`.originality`, :mod:`.soundtrack`, :mod:`.speed`, :mod:`.peer`,
:mod:`.report`), the Boulanger metric (:mod:`.boulanger`), the n-gram baseline (:mod:`.ngram`), the model
mixtures of the benchmark rows (:mod:`.mixture`) and the fitting scripts of the shipped models (:mod:`.fit`). It
imports the product; the product never imports it, except the thin commands that run it (``cadenza bench``,
``cadenza eval``): ``tests/test_layers.py`` checks both."""
