"""Writing a soundtrack: one segment after another, each a continuation of the music so far.

:class:`SoundtrackWriter` keeps the piece and writes each segment by continuing its last
:data:`CONTEXT_BARS` bars (so memory and time per bar stay bounded however long it runs) with the segment's
labels. A segment is planned as a whole number of two-bar phrases (the last one, and one shorter than a phrase, as
whole bars) ending as near as that allows to where the timeline ends it, so every change lands on a phrase
boundary within a bar of where it was asked and the whole within half a bar of its length; a new mood brings
its key (the nearest one of the mode it needs: the same key, else the relative major or minor) and tempo at the
segment's first bar, and the bar before it leans to the new key's dominant, so the modulation is prepared
rather than cut. Each segment is checked by the originality guard
as it is written, and listened to (blind to metadata) for the cue sheet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.compose import ComposeRequest
from cadenza.compose.ensembles import SOUNDTRACK_ENSEMBLES
from cadenza.compose.generate import adherence, compose, continue_piece, listen_blind
from cadenza.compose.mood import mood_shape
from cadenza.compose.request import Key, Plan, parse_key, resolve
from cadenza.errors import UsageError
from cadenza.listen.labels import MOODS
from cadenza.score.model import NOTE_DTYPE, KeySignature, Metadata, Score, Tempo
from cadenza.score.ops import slice_bars, slice_ticks
from cadenza.soundtrack.repeats import RepeatGuard, repetition
from cadenza.soundtrack.themes import HEAD_BARS, Theme, head_of, keep_theme
from cadenza.soundtrack.timeline import Segment, Timeline

log = logging.getLogger(__name__)

CONTEXT_BARS = 8  # bars of the music so far that each new segment continues
CHUNK_BARS = 8  # a long segment is written this many bars at a time
PHRASE_BARS = 2  # segments are whole phrases: every change lands on a phrase boundary
#: a segment's settings besides its words: a segment of unknown words and none of these is refused
SEGMENT_SETTINGS = ("mood", "valence", "arousal", "key", "tempo_bpm", "density", "epoch", "composer")
Progress = Callable[[int, int], None]


def segment_request(segment: Segment, timeline: Timeline, seed: int) -> ComposeRequest:
    return ComposeRequest(mood=segment.mood, valence=segment.valence, arousal=segment.arousal, key=segment.key,
                          tempo_bpm=segment.tempo_bpm, density=segment.density, epoch=segment.epoch,
                          prompt=segment.prompt, ensemble=timeline.ensemble, meter=timeline.meter, seed=seed,
                          composer=segment.composer)


def related_key(current: Key | None, wanted: Key) -> Key:
    """The key to move to when a mood asks for ``wanted``'s mode: stay when the mode is the same, else the
    relative major or minor of the current key."""
    if current is None:
        return wanted
    if current.mode == wanted.mode:
        return current
    if wanted.mode == "minor":
        return Key((current.tonic_pc + 9) % 12, "minor")
    return Key((current.tonic_pc + 3) % 12, "major")


def phrase_bars(segment: Segment, tempo_bpm: float, quarters_per_bar: float, seconds: float | None = None,
                last: bool = False) -> int:
    """The segment's length in bars: its bar count, or ``seconds`` (default: its duration; the writer gives the
    time from the music's end to where the timeline ends the segment, so rounding never adds up) at its
    tempo, rounded to whole phrases; the ``last`` segment, and one shorter than a phrase, to whole bars (at
    least one), so the soundtrack ends within half a bar of the length asked (a calm:5s had been a 2-bar
    phrase at 64 bpm: 7.5 s, and every short segment added its rounding to the next one's start)."""
    if segment.bars is not None:
        return segment.bars
    assert segment.duration_s is not None
    bars = (segment.duration_s if seconds is None else seconds) * tempo_bpm / 60 / quarters_per_bar
    if last or bars < PHRASE_BARS:
        return max(1, int(round(bars)))
    return int(round(bars / PHRASE_BARS)) * PHRASE_BARS


@dataclass
class Cue:
    index: int
    name: str
    start_bar: int  # 1-based, in the whole soundtrack
    bars: int
    start_s: float
    end_s: float
    asked_start_s: float | None  # where the timeline put it (None for bar-length timelines)
    key: str
    tempo_bpm: float
    asked: dict[str, str]
    heard: dict[str, Any]
    adherence: dict[str, dict[str, Any]]
    originality: dict[str, Any]
    seconds: float
    theme: str | None = None  # the leitmotif the segment states or brings back
    theme_return: bool = False  # True when it opens with the theme's head, varied

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SoundtrackWriter:
    """The soundtrack so far; :meth:`add` writes the next segment."""

    def __init__(self, timeline: Timeline, checkpoint: str | Path | None = None, keep_bars: int | None = None,
                 keep_cues: int | None = None) -> None:
        self.timeline = timeline  # its ensemble, meter and seed; its segments when written by index
        self.checkpoint = checkpoint
        self.score: Score | None = None  # the music so far (only its last ``keep_bars`` bars, when given)
        self.keep_bars, self.keep_cues = keep_bars, keep_cues
        self.bars_dropped, self.seconds_dropped = 0, 0.0  # what trimming has let go of
        self.key: Key | None = None
        self.tempo_bpm: float | None = None
        self.cues: list[Cue] = []
        self.asked_time_s = 0.0
        self.themes: dict[str, Theme] = {}  # leitmotifs stated so far, by name
        self.repeats = RepeatGuard()
        self.voices: tuple[Any, ...] | None = None  # the ensemble's voices, whose full ranges every segment may use
        self.unread: set[int] = set()  # segments whose words were all unknown (warned of once)

    def plan(self, index: int, segment: Segment | None = None) -> tuple[ComposeRequest, Plan, Key, float]:
        """The request of segment ``index`` (the timeline's, or ``segment``), its plan, and the key and tempo
        it will be in."""
        segment = segment or self.timeline.segments[index]
        request = segment_request(segment, self.timeline, self.timeline.seed + 1000 * index)
        plan = resolve(request, SOUNDTRACK_ENSEMBLES)
        if segment.prompt and any(note.startswith("no known words") for note in plan.notes):
            if not any(getattr(segment, name) is not None for name in SEGMENT_SETTINGS):  # its words were all of it
                raise UsageError(f"segment {index + 1} {segment.prompt!r:.60}: no mood or other word known in it: "
                                 f"give a mood ({', '.join(MOODS)}) or words like triumphant, slow, baroque, strings")
            if index not in self.unread:  # (said once a segment; a chunked segment plans again)
                self.unread.add(index)
                log.warning("segment %d %r: no known words in it; written from its other settings", index + 1,
                            segment.prompt)
        if "ensemble" in plan.implied and "epoch" in plan.labels and plan.ensemble is not None:
            request = replace(request, ensemble=plan.ensemble.name)  # what is composed is what was planned
        wanted = plan.key or self.key or parse_key("C major")
        key = wanted if "key" not in plan.implied and plan.key else related_key(self.key, wanted)
        tempo = plan.tempo_bpm or self.tempo_bpm or 100.0
        return request, plan, key, float(tempo)

    def add(self, index: int, next_key: Key | None = None, progress: Progress | None = None,
            segment: Segment | None = None, last: bool = False) -> Cue:
        """Write segment ``index`` (the timeline's, or ``segment``) after the music so far (``next_key``: the
        key of the segment after it, prepared in this one's last bar; ``last``: the timeline's last segment,
        which ends on a bar line rather than a phrase's)."""
        started = time.perf_counter()
        segment = segment or self.timeline.segments[index]
        request, plan, key, tempo = self.plan(index, segment)
        meter = plan.meter or ((self.score.time_signatures[-1].numerator, self.score.time_signatures[-1].denominator)
                               if self.score is not None else (4, 4))
        left_s = None if segment.duration_s is None else self.asked_time_s + segment.duration_s - self.music_end_s
        bars = phrase_bars(segment, tempo, meter[0] * 4 / meter[1], left_s, last)
        request = replace(request, key=key.written_name, tempo_bpm=tempo, meter=f"{meter[0]}/{meter[1]}", bars=bars,
                          prompt=None, duration_s=None, density=plan.labels.get("density"),
                          epoch=plan.labels.get("epoch"),
                          mood=None if request.valence is not None else plan.labels.get("mood"))
        closing = next_key if next_key is not None and next_key != key else None
        theme = self.themes.get(segment.theme) if segment.theme else None
        if self.score is None:
            self.voices = plan.ensemble.voices if plan.ensemble else None
            opening = min(bars, CHUNK_BARS)
            made = compose(replace(request, bars=opening), checkpoint=self.checkpoint, progress=progress,
                           closing_key=closing if opening == bars else None, checks=(self.repeats.check_for(0),),
                           draw_style=False)
            self.score = self.repeats.vary(made.score.replace(metadata=Metadata(
                title="Soundtrack", composer="Cadenza", source="cadenza soundtrack")), 0)
            self.key, self.tempo_bpm = key, tempo
            start_ticks, originality = 0, made.report["originality"]
            if bars > opening:
                originality = merge_reports([originality, self._continue(request, bars - opening, key, tempo,
                                                                         closing, progress)])
        elif theme is not None and bars > HEAD_BARS:  # a return: the theme's head, then its development
            start_ticks = self.score.length_ticks
            velocity = mood_shape(*plan.valence_arousal).velocity if plan.valence_arousal else None
            self._append(head_of(theme, key, velocity, self._ranges()), key, tempo)
            self.score = self.repeats.vary(self.score, start_ticks)
            self.key, self.tempo_bpm = key, tempo
            originality = self._continue(replace(request, bars=bars - HEAD_BARS), bars - HEAD_BARS, key, tempo,
                                         closing, progress)
            self.themes[theme.name] = replace(theme, returns=theme.returns + 1)
        else:
            start_ticks = self.score.length_ticks
            originality = self._continue(request, bars, key, tempo, closing, progress)
        if segment.theme and segment.theme not in self.themes:  # the first statement: keep it
            first = int(np.searchsorted(self.score.bar_starts(), start_ticks, side="left"))
            self.themes[segment.theme] = keep_theme(segment.theme, self.score, first, key,
                                                    self.bars_dropped + first + 1)
        cue = self._cue(index, segment, plan, key, tempo, start_ticks, bars, started, originality)
        cue.theme = segment.theme
        cue.theme_return = theme is not None and bars > HEAD_BARS
        self.key, self.tempo_bpm = key, tempo
        self.cues.append(cue)
        if self.keep_cues is not None:
            del self.cues[: max(len(self.cues) - self.keep_cues, 0)]
        if segment.duration_s is not None:
            self.asked_time_s += segment.duration_s
        return cue

    @property
    def music_end_s(self) -> float:
        """Where the music so far ends, in seconds from the soundtrack's start (what trimming let go of too)."""
        return self.seconds_dropped + (music_seconds(self.score) if self.score is not None else 0.0)

    def _ranges(self) -> list[tuple[int, int]]:
        """Each part's range so far (a returning theme is moved by octaves into it)."""
        assert self.score is not None
        out = []
        for part in range(len(self.score.parts)):
            pitches = self.score.notes[self.score.notes["part"] == part]["pitch"]
            out.append((int(pitches.min()), int(pitches.max())) if len(pitches) else (0, 127))
        return out

    def _append(self, section: Score, key: Key, tempo: float) -> None:
        """Add ``section`` (from its tick 0) at the end, in ``key`` and ``tempo`` from its first bar."""
        assert self.score is not None
        offset = self.score.length_ticks
        notes = section.notes.copy()
        notes["onset_ticks"] += offset
        keys = list(self.score.key_signatures)
        if key != self.key:
            keys.append(KeySignature(offset, key.sharps, key.mode))
        tempos = list(self.score.tempos)
        if tempo != self.tempo_bpm:
            tempos.append(Tempo(offset, tempo))
        self.score = Score.build(
            parts=self.score.parts, notes=np.concatenate([self.score.notes, notes]).astype(NOTE_DTYPE),
            time_signatures=self.score.time_signatures, key_signatures=keys, tempos=tempos,
            metadata=self.score.metadata, pickup_ticks=self.score.pickup_ticks,
            length_ticks=offset + section.length_ticks)

    def trim(self) -> None:
        """Let go of all but the last ``keep_bars`` bars (a stream's memory stays bounded)."""
        if self.keep_bars is None or self.score is None or self.score.bar_count <= self.keep_bars:
            return
        cut = self.score.bar_count - self.keep_bars
        self.seconds_dropped += float(self.score.seconds_at(int(self.score.bar_starts()[cut])))
        self.bars_dropped += cut
        self.score = slice_bars(self.score, cut, self.score.bar_count)

    def _continue(self, request: ComposeRequest, bars: int, key: Key, tempo: float, closing: Key | None,
                  progress: Progress | None) -> dict[str, Any]:
        """Continue the music with the segment's ``bars``, a phrase chunk at a time (so a copy or a repeat
        found by the guard costs a few bars to resample, not the whole segment); returns the guard's
        report, merged over the chunks."""
        reports = []
        done = 0
        while done < bars:
            count = min(CHUNK_BARS, bars - done)
            last = done + count >= bars
            reports.append(self._continue_chunk(replace(request, bars=count), count, key, tempo,
                                                closing if last else None, progress))
            self.key, self.tempo_bpm = key, tempo  # the change, if any, came with the first chunk
            done += count
        return merge_reports(reports)

    def _continue_chunk(self, request: ComposeRequest, bars: int, key: Key, tempo: float, closing: Key | None,
                        progress: Progress | None) -> dict[str, Any]:
        """Continue the last bars by ``bars`` bars of the segment and append them; the guard's report."""
        assert self.score is not None
        have = self.score.bar_count
        window = slice_bars(self.score, max(0, have - CONTEXT_BARS), have)
        if window.note_count == 0:  # nothing sounds in the last bars: the segment starts afresh
            made_anew = compose(request, checkpoint=self.checkpoint, progress=progress, closing_key=closing,
                                checks=(self.repeats.check_for(0),), draw_style=False)
            start_ticks = self.score.length_ticks
            self._append(made_anew.score, key, tempo)
            self.score = self.repeats.vary(self.score, start_ticks)
            return dict(made_anew.report["originality"])
        made = continue_piece(window, request, bars=bars, checkpoint=self.checkpoint, progress=progress,
                              key_change=key if key != self.key else None,
                              tempo_change=tempo if tempo != self.tempo_bpm else None, closing_key=closing,
                              checks=(self.repeats.check_for(window.length_ticks),), voices=self.voices,
                              in_key=key, rules=False)  # (a cue's next bars: fast, as a game needs them)
        offset = self.score.length_ticks - window.length_ticks
        new = made.score.notes[made.score.notes["onset_ticks"] >= window.length_ticks].copy()
        new["onset_ticks"] += offset
        keys = [replace(k, onset_ticks=k.onset_ticks + offset) for k in made.score.key_signatures
                if k.onset_ticks >= window.length_ticks]
        tempos = [replace(t, onset_ticks=t.onset_ticks + offset) for t in made.score.tempos
                  if t.onset_ticks >= window.length_ticks]
        self.score = Score.build(
            parts=self.score.parts, notes=np.concatenate([self.score.notes, new]).astype(NOTE_DTYPE),
            time_signatures=self.score.time_signatures,
            key_signatures=list(self.score.key_signatures) + keys, tempos=list(self.score.tempos) + tempos,
            metadata=self.score.metadata, pickup_ticks=self.score.pickup_ticks,
            length_ticks=offset + made.score.length_ticks)
        # what resampling left repeating is varied by hand (and every new window remembered)
        self.score = self.repeats.vary(self.score, offset + window.length_ticks)
        return dict(made.report["originality"])

    def _cue(self, index: int, segment: Segment, plan: Plan, key: Key, tempo: float, start_ticks: int, bars: int,
             started: float, originality: dict[str, Any]) -> Cue:
        assert self.score is not None
        first_bar = int(np.searchsorted(self.score.bar_starts(), start_ticks, side="left"))
        section = slice_ticks(self.score, start_ticks, self.score.length_ticks)
        heard = listen_blind(section)
        asked = {k: v for k, v in plan.labels.items() if k in ("mood", "density", "epoch", "key", "mode",
                                                                 "tempo_class", "composer")}
        asked.update({"key": key.name, "mode": key.mode})
        start_s = self.seconds_dropped + float(self.score.seconds_at(start_ticks))
        end_s = self.seconds_dropped + float(self.score.seconds_at(self.score.length_ticks))
        asked_start = self.asked_time_s if segment.duration_s is not None else None
        return Cue(index, segment.name, self.bars_dropped + first_bar + 1, bars, round(start_s, 3), round(end_s, 3),
                   None if asked_start is None else round(asked_start, 3), key.written_name, tempo, asked,
                   {k: heard.get(k) for k in ("mood", "valence", "arousal", "key", "mode", "tempo_bpm", "density",
                                              "epoch", "meter")},
                   adherence(asked, heard), originality, round(time.perf_counter() - started, 3))


def merge_reports(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One originality report for a segment written in chunks: copied if any chunk was, the longest run of
    any, the resamplings of all."""
    checked = [r for r in reports if r.get("checked")]
    if not checked:
        return reports[0]
    def longest(report: dict[str, Any]) -> int:
        return int((report.get("longest") or {}).get("longest_notes") or 0)

    worst: dict[str, Any] = max(checked, key=longest)
    out = dict(worst)
    out["verdict"] = "copied" if any(r.get("verdict") == "copied" for r in checked) else "original"
    out["resamplings"] = sum(r.get("resamplings") or 0 for r in checked)
    for name in ("copies_resampled", "repeats_resampled"):
        out[name] = [v for r in checked for v in r.get(name) or []]
    out["chunks"] = sum(r.get("chunks", 1) for r in checked)
    return out


def transition_bars(cue: Cue, tempo_bpm: float, quarters_per_bar: float) -> float | None:
    """How far (in bars, absolute) a cue starts from where the timeline put it."""
    if cue.asked_start_s is None:
        return None
    return abs(cue.start_s - cue.asked_start_s) * tempo_bpm / 60 / quarters_per_bar


def write_soundtrack(timeline: Timeline, checkpoint: str | Path | None = None,
                     progress: Progress | None = None) -> tuple[Score, list[Cue]]:
    """Every segment of ``timeline``, in order; ``progress(segments done, segments)``."""
    writer = SoundtrackWriter(timeline, checkpoint)
    count = len(timeline.segments)
    for index in range(count):  # every segment's request checked before any is written
        writer.plan(index)
    for index in range(count):
        next_key = writer.plan(index + 1)[2] if index + 1 < count else None
        writer.add(index, next_key=next_key, last=index + 1 == count)
        if progress:
            progress(index + 1, count)
    assert writer.score is not None
    asked, made = timeline.duration_s, music_seconds(writer.score)
    last_bar_s = made - float(writer.score.seconds_at(int(writer.score.bar_starts()[-1])))
    if asked is not None and abs(made - asked) > max(last_bar_s, 1e-6) * 0.5 + 1e-3:
        log.warning("the soundtrack runs %.1f s against the %.1f s asked: each segment is at least a bar long",
                    made, asked)
    return writer.score, writer.cues


def music_seconds(score: Score) -> float:
    return float(score.seconds_at(score.length_ticks)) if score.length_ticks else 0.0



def soundtrack_report(timeline: Timeline, score: Score, cues: list[Cue], seconds: float) -> dict[str, Any]:
    """The cue sheet and the soundtrack's figures: length, speed, transitions, repetition, mood adherence."""
    quarters = score.time_signatures[0].bar_ticks / 3360 if score.time_signatures else 4.0
    latency = [transition_bars(c, c.tempo_bpm, quarters) for c in cues[1:]]
    measured = [v for v in latency if v is not None]
    moods = [c.adherence["mood"]["met"] for c in cues if "mood" in c.adherence]
    length_s = music_seconds(score)
    return {"timeline": {"source": timeline.source, "segments": len(timeline.segments),
                         "asked_duration_s": timeline.duration_s},
            "result": {"duration_s": round(length_s, 2), "bars": score.bar_count, "notes": score.note_count,
                       "parts": [p.name for p in score.parts]},
            "timings": {"seconds": round(seconds, 2),
                        "music_s_per_wall_s": round(length_s / seconds, 1) if seconds else None},
            "transitions": {"max_bars_from_asked": round(max(measured), 2) if measured else None,
                            "per_cue_bars": [None if v is None else round(v, 2) for v in latency]},
            "mood_adherence": round(sum(moods) / len(moods), 3) if moods else None,
            "repetition": repetition(score), "cues": [c.as_dict() for c in cues]}
