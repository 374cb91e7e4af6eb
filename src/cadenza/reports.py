"""Typed results of the API that are, underneath, the JSON reports the CLI prints with ``--json``: read them by
attribute (``analysis.labels["key"]``, ``check.verdict``) and get the JSON with ``.to_json()``; reading by key
(``analysis["labels"]``) still works for scripts written against the report dicts of Cadenza 0.1."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cadenza.score.model import Score


class ReportView:
    """Mapping-style reading of a result's JSON report (``to_json``), for scripts written against dicts; the
    results below keep theirs in ``report``."""

    report: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (what the command prints with ``--json``)."""
        return dict(self.report)

    @property
    def warnings(self) -> list[str]:
        """What the reader said about the file read, one line each (none for a piece made here)."""
        return list(self.report.get("warnings", []))

    def __getitem__(self, key: str) -> Any:
        return self.to_json()[key]

    def get(self, key: str, default: Any = None) -> Any:
        """Mapping-style access to the report (see :meth:`__getitem__`)."""
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return key in self.to_json()


@dataclass(frozen=True)
class Analysis(ReportView):
    """What ``listen`` hears in a score (:func:`cadenza.analyse`): every label, with how long it took."""

    report: dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> dict[str, Any]:
        """Label name -> what is heard (key, mode, meter, epoch, mood, density, texture …)."""
        return dict(self.report.get("labels", {}))

    @property
    def source(self) -> str | None:
        """Where the score came from."""
        return self.report.get("source")

    @property
    def analysis_s(self) -> float:
        """Seconds the listening took."""
        return float(self.report.get("analysis_s", 0.0))



@dataclass(frozen=True)
class OriginalityCheck(ReportView):
    """A score's originality against a model's training works (:func:`cadenza.check`)."""

    report: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``copied`` (a voice shares more notes with one training work than its threshold) or ``original``."""
        return str(self.report.get("verdict"))

    @property
    def longest(self) -> dict[str, Any]:
        """The longest run of notes shared with one training work: its length and the work."""
        return dict(self.report.get("longest") or {})

    @property
    def threshold_notes(self) -> dict[str, int]:
        """Per voice (``top``, ``bass``, …): the shared notes above which a piece counts as copied."""
        return dict(self.report.get("threshold_notes") or {})



@dataclass(frozen=True)
class Soundtrack(ReportView):
    """A soundtrack (:func:`cadenza.soundtrack`): its report — the cues as written and heard, the timeline, the
    themes, a story's movements — with the Score when nothing was written, and the files when it was."""

    report: dict[str, Any] = field(default_factory=dict)
    score: Score | None = None  # the music, when it was not written to a folder

    @property
    def cues(self) -> list[dict[str, Any]]:
        """One per timeline segment: where it starts (seconds, bar), what was asked and what is heard."""
        return list(self.report.get("cues", []))

    @property
    def timeline(self) -> Any:
        """The timeline followed (segments of moods, tempi, keys)."""
        return self.report.get("timeline")

    @property
    def themes(self) -> dict[str, list[int]]:
        """Each theme used, and the cues (by index) that carry it."""
        return dict(self.report.get("themes", {}))

    @property
    def files(self) -> dict[str, str]:
        """Format -> path of what was written (``piece``, ``cue_sheet``, renders); empty when nothing was."""
        return dict(self.report.get("files", {}))

    def __getitem__(self, key: str) -> Any:
        if key == "score" and self.score is not None:
            return self.score
        return self.to_json()[key]

    def __contains__(self, key: object) -> bool:
        return (key == "score" and self.score is not None) or key in self.report
