"""Corpora: read, label, dedupe and split whole collections of scores (music21's corpus, a folder, a dataset)."""

from cadenza.corpus.build import BuildConfig, build_corpus, list_works
from cadenza.corpus.stats import corpus_stats, stats_chart
from cadenza.corpus.store import CorpusStore, corpus_home

__all__ = ["BuildConfig", "CorpusStore", "build_corpus", "corpus_home", "corpus_stats", "list_works",
           "stats_chart"]
