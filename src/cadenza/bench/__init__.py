"""Benchmark suites as library functions: the scripts in ``benchmarks/`` and ``cadenza bench`` call them."""
