"""The soundtrack benchmark: speed of a long timeline, memory over a long live stream, repetition,
transition latency and mood adherence per segment.

- **timeline**: an hour (by default) of five-minute segments cycling calm, tense, joyful, sad, written with
  :func:`cadenza.soundtrack.write_soundtrack`; music seconds per wall second (goal ≥10× on 2 cores), the
  largest distance of a transition from where the timeline put it (goal ≤2 bars), mood heard per segment,
  and exact repetition (the longest repeated run of bars, the share of 4-bar windows that repeat);
- **stream**: a live stream at full speed (no waiting for playback) with a mood change every two minutes
  of music; resident memory sampled as it goes: growth after the first ten minutes, and the peak.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cadenza.listen.labels import MOODS
from cadenza.soundtrack import Timeline, write_soundtrack
from cadenza.soundtrack.engine import soundtrack_report
from cadenza.soundtrack.timeline import Segment

#: the order the benchmark's timeline visits listen's moods in (:data:`cadenza.listen.labels.MOODS`): calm first
MOOD_CYCLE = tuple(sorted(MOODS, key=("calm", "tense", "joyful", "sad").index))
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SoundtrackBenchConfig:
    timeline_minutes: float = 60.0
    segment_minutes: float = 5.0
    stream_hours: float = 10.0
    ensemble: str = "piano"
    checkpoint: str | None = None


def rss_mb() -> float:
    """Resident memory of this process now, in MB (Linux /proc; the peak elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timeline_run(config: SoundtrackBenchConfig, progress: Progress | None = None) -> dict[str, Any]:
    count = max(int(round(config.timeline_minutes / config.segment_minutes)), 1)
    segments = tuple(Segment(duration_s=config.segment_minutes * 60, mood=MOOD_CYCLE[i % len(MOOD_CYCLE)],
                             name=f"{MOOD_CYCLE[i % len(MOOD_CYCLE)]} {i + 1}") for i in range(count))
    timeline = Timeline(segments, ensemble=config.ensemble, seed=1, source="benchmark")
    start = time.perf_counter()
    score, cues = write_soundtrack(timeline, Path(config.checkpoint) if config.checkpoint else None, progress)
    report = soundtrack_report(timeline, score, cues, time.perf_counter() - start)
    per_mood = {m: [c["adherence"]["mood"]["met"] for c in report["cues"] if c["asked"].get("mood") == m]
                for m in MOOD_CYCLE}
    return {"segments": count, "segment_minutes": config.segment_minutes, "ensemble": config.ensemble,
            "music_minutes": round(report["result"]["duration_s"] / 60, 2), "wall_s": report["timings"]["seconds"],
            "music_s_per_wall_s": report["timings"]["music_s_per_wall_s"], "goal_music_s_per_wall_s": 10,
            "transitions": report["transitions"], "goal_transition_bars": 2,
            "mood_adherence": report["mood_adherence"],
            "mood_adherence_per_mood": {m: round(sum(v) / len(v), 3) if v else None for m, v in per_mood.items()},
            "repetition": report["repetition"], "notes": report["result"]["notes"],
            "per_segment": [{"asked": c["asked"].get("mood"), "heard": c["heard"].get("mood"),
                             "valence": c["heard"].get("valence"), "arousal": c["heard"].get("arousal"),
                             "key": c["key"], "tempo_bpm": c["tempo_bpm"]} for c in report["cues"]],
            "originality": {"segments_checked": sum(bool(c["originality"].get("checked")) for c in report["cues"]),
                            "copied": sum(c["originality"].get("verdict") == "copied" for c in report["cues"]),
                            "resamplings": sum(c["originality"].get("resamplings") or 0 for c in report["cues"])}}


def stream_run(config: SoundtrackBenchConfig, progress: Progress | None = None) -> dict[str, Any]:
    from cadenza.soundtrack.stream import Stream, run_stream

    stream = Stream(Path(config.checkpoint) if config.checkpoint else None, config.ensemble, seed=2)
    total_s = config.stream_hours * 3600
    samples: list[tuple[float, float]] = []  # (music s, RSS MB)
    state = {"next_change": 120.0, "mood": 0, "written": 0.0}

    def poll() -> list[dict[str, Any]]:
        if state["written"] >= state["next_change"]:
            state["next_change"] += 120.0
            state["mood"] = (int(state["mood"]) + 1) % len(MOOD_CYCLE)
            return [{"mood": MOOD_CYCLE[int(state["mood"])]}]
        return []

    def sink(chunk: Any) -> None:
        state["written"] = chunk.start_s + chunk.duration_s
        if not samples or state["written"] - samples[-1][0] >= 300:
            samples.append((state["written"], rss_mb()))
            if progress:
                progress(int(state["written"]), int(total_s))

    start = time.perf_counter()
    result = run_stream(stream, sink, lambda: 1e12, poll, max_s=total_s)
    wall = time.perf_counter() - start
    after_warmup = [mb for s, mb in samples if s >= 600] or [mb for _, mb in samples]
    return {"music_hours": round(result["music_s"] / 3600, 3), "wall_s": round(wall, 1),
            "music_s_per_wall_s": round(result["music_s"] / wall, 1), "chunks": result["chunks"],
            "rss_mb_first": round(samples[0][1], 1) if samples else None,
            "rss_mb_after_10_min": round(after_warmup[0], 1) if after_warmup else None,
            "rss_mb_last": round(samples[-1][1], 1) if samples else None,
            "growth_mb_after_10_min": round(after_warmup[-1] - after_warmup[0], 1) if after_warmup else None,
            "goal_growth_mb": 50, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "samples": [(round(s), round(mb, 1)) for s, mb in samples]}
