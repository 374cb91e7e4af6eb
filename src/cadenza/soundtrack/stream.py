"""Endless, live soundtracks: music written a phrase at a time, just ahead of playback, following control
changes as they come (a game's state, a script's cues).

A :class:`Stream` holds the current state (mood or valence/arousal, intensity, key, tempo, density, epoch)
and writes the next chunk (:data:`CHUNK_BARS` bars) with it; :meth:`Stream.control` changes the state from
the next chunk on. :func:`run_stream` is the loop: it waits until playback is within a margin of the music
written so far, applies the controls received meanwhile, writes the next chunk and hands it to a sink
(files, MIDI events on stdout). So a change is heard from the next chunk boundary: at most one chunk (a bar)
plus the margin after it was sent. Only the last bars are kept for the model to continue, and only
the last cues, so memory stays flat however long it runs.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.errors import UsageError
from cadenza.score.model import NOTE_DTYPE, Score
from cadenza.score.ops import slice_ticks
from cadenza.soundtrack.engine import CONTEXT_BARS, Cue, SoundtrackWriter
from cadenza.soundtrack.timeline import Segment, Timeline

log = logging.getLogger(__name__)
CHUNK_BARS = 1  # a control is heard from the next bar line after the one being written
KEEP_LATENCIES = 1000  # control latencies a stream reports (the latest): a stream of days keeps a flat memory
CONTROLS = ("mood", "valence", "arousal", "intensity", "key", "tempo", "density", "epoch", "stop")


@dataclass
class Chunk:
    index: int
    start_s: float  # from the start of the stream
    start_bar: int  # 1-based
    score: Score  # the chunk's notes from its own tick 0, in its key and tempo
    cue: Cue
    controls: list[dict[str, Any]] = field(default_factory=list)  # the changes first heard in this chunk

    @property
    def duration_s(self) -> float:
        return float(self.score.seconds_at(self.score.length_ticks))


DENSITIES = ("low", "medium", "high")


def _number(name: str, value: Any, low: float, high: float) -> float:
    """``value`` as a finite number in ``low..high`` (booleans and strings refused), or a one-line error."""
    try:
        number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    except OverflowError:  # an integer of hundreds of digits
        number = math.nan
    if not math.isfinite(number) or not low <= number <= high:
        raise UsageError(f"{name} is a number from {low:g} to {high:g}, not {str(value)[:40]!r}")
    return number


def _word(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.strip().lower() not in choices:
        raise UsageError(f"{name} is one of {', '.join(choices)}, not {str(value)[:40]!r}")
    return value.strip().lower()


def check_control(change: Any) -> dict[str, Any]:
    """A control change checked as a whole (known fields, words from their lists, finite numbers in range, a
    readable key, a strict boolean ``stop``): the checked change, or a one-line error and nothing applied."""
    from cadenza.compose.request import MOODS, parse_key
    from cadenza.listen.labels import EPOCHS

    if not isinstance(change, dict):
        raise UsageError("a control is a JSON object, e.g. {\"mood\": \"tense\", \"intensity\": 0.8}")
    unknown = sorted(str(k) for k in set(change) - set(CONTROLS))
    if unknown:
        raise UsageError(f"unknown control {unknown[0][:40]!r}: use {', '.join(CONTROLS)}")
    checked: dict[str, Any] = {}
    for name, value in change.items():
        if name == "mood":
            checked[name] = _word(name, value, MOODS)
        elif name in ("valence", "arousal"):
            checked[name] = _number(name, value, -1, 1)
        elif name == "intensity":
            checked[name] = _number(name, value, 0, 1)
        elif name == "tempo":
            checked[name] = _number("tempo (bpm)", value, 20, 400)
        elif name == "density":
            checked[name] = _word(name, value, DENSITIES)
        elif name == "epoch":
            checked[name] = _word(name, value, EPOCHS)
        elif name == "key":
            if not isinstance(value, str):
                raise UsageError(f"key is a name like \"D minor\", not {str(value)[:40]!r}")
            parse_key(value)
            checked[name] = value
        elif name == "stop":
            if not isinstance(value, bool):
                raise UsageError(f"stop is true or false, not {str(value)[:40]!r}")
            checked[name] = value
    return checked


class Stream:
    """The state a live soundtrack follows, and the writer of its chunks."""

    def __init__(self, checkpoint: str | Path | None = None, ensemble: str | None = None, seed: int = 0,
                 state: dict[str, Any] | None = None, chunk_bars: int = CHUNK_BARS) -> None:
        self.writer = SoundtrackWriter(Timeline((), ensemble=ensemble, seed=seed), checkpoint,
                                       keep_bars=CONTEXT_BARS + chunk_bars, keep_cues=4)
        self.state: dict[str, Any] = {"mood": "calm", **(state or {})}
        self.chunk_bars = chunk_bars
        self.index = 0
        self.pending: list[dict[str, Any]] = []
        self.stopped = False

    def control(self, change: Any) -> dict[str, Any]:
        """Change the state from the next chunk on (a mood word replaces valence/arousal and vice versa); returns
        the change as checked (see :func:`check_control`)."""
        change = check_control(change)
        if change.get("stop"):
            self.stopped = True
        self.pending.append(change)
        return change

    def in_force(self) -> tuple[float, float]:
        """The (valence, arousal) the state steers by: an intensity's arousal under the valence in force (or the
        mood's), a mood's centre, or the numbers set (0 for one never set)."""
        from cadenza.compose.request import MOOD_CENTRES

        s = self.state
        mood = s.get("mood")
        valence, arousal = MOOD_CENTRES[str(mood)] if mood is not None else (0.0, 0.0)
        valence = float(s.get("valence", valence))
        arousal = 2 * float(s["intensity"]) - 1 if "intensity" in s else float(s.get("arousal", arousal))
        return valence, arousal

    def _apply(self) -> list[dict[str, Any]]:
        applied, self.pending = self.pending, []
        for change in applied:
            if "mood" in change:  # a mood word brings its own arousal unless an intensity comes with it
                self.state.pop("valence", None)
                self.state.pop("arousal", None)
                if "intensity" not in change:
                    self.state.pop("intensity", None)
            elif "valence" in change or "arousal" in change:  # one of the two alone keeps the other in force
                valence, arousal = self.in_force()
                self.state.pop("mood", None)
                self.state["valence"], self.state["arousal"] = valence, arousal
                if "arousal" in change and "intensity" not in change:  # the later of arousal and intensity wins
                    self.state.pop("intensity", None)
            if "intensity" in change and "arousal" not in change:
                self.state.pop("arousal", None)
            self.state.update({k: v for k, v in change.items() if k != "stop"})
        return applied

    def segment(self) -> Segment:
        """The next chunk's segment: the state, with intensity (0..1) as arousal under the mood's valence."""
        s = self.state
        valence, arousal = s.get("valence"), s.get("arousal")
        mood = s.get("mood")
        if "intensity" in s:
            from cadenza.compose.request import MOOD_CENTRES

            if mood is not None:
                valence = MOOD_CENTRES[str(mood)][0]
                mood = None
            arousal = 2 * float(s["intensity"]) - 1
            valence = 0.0 if valence is None else valence
        return Segment(bars=self.chunk_bars, mood=mood, valence=valence, arousal=arousal, key=s.get("key"),
                       tempo_bpm=s.get("tempo"), density=s.get("density"), epoch=s.get("epoch"),
                       name=str(mood or f"v{valence:+.1f} a{arousal:+.1f}"))

    def next_chunk(self) -> Chunk:
        applied = self._apply()
        before = self.writer.score.length_ticks if self.writer.score is not None else 0
        cue = self.writer.add(self.index, segment=self.segment())
        assert self.writer.score is not None
        score = self.writer.score
        chunk = _chunk_of(score, before)
        self.writer.trim()
        self.index += 1
        return Chunk(self.index - 1, cue.start_s, cue.start_bar, chunk, cue, applied)


def _chunk_of(score: Score, start_ticks: int) -> Score:
    """The notes that start at or after ``start_ticks``, from there, cut at the score's end."""
    window = slice_ticks(score, start_ticks, score.length_ticks)
    starts_here = score.notes[score.notes["onset_ticks"] >= start_ticks].copy()
    starts_here["onset_ticks"] -= start_ticks
    end = score.length_ticks - start_ticks
    starts_here["duration_ticks"] = np.minimum(starts_here["duration_ticks"], end - starts_here["onset_ticks"])
    return window.replace(notes=starts_here.astype(NOTE_DTYPE))


def run_stream(stream: Stream, sink: Callable[[Chunk], None], now_s: Callable[[], float],
               poll: Callable[[], list[dict[str, Any]]], max_s: float | None = None, margin_s: float = 0.5,
               sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Write chunks just ahead of playback until stopped or ``max_s`` seconds of music are written.
    ``now_s()`` is the playback position; ``poll()`` the controls received since the last call. Returns the
    stream's figures: chunks, music written, and each control's latency (bars from the playback position
    where it arrived to the start of the chunk that first plays it; the latest :data:`KEEP_LATENCIES` of
    them, and the largest of all)."""
    written_s = 0.0
    arrivals: list[tuple[float, dict[str, Any]]] = []
    latencies: list[float] = []  # the latest KEEP_LATENCIES
    max_latency, heard = 0.0, 0
    chunks = 0
    bar_lengths: list[tuple[float, float]] = []  # (chunk start s, its bar length s) of the latest chunks

    def bar_s_at(t: float) -> float:
        playing = [length for start, length in bar_lengths if start <= t]
        return playing[-1] if playing else bar_lengths[0][1]
    while not stream.stopped and (max_s is None or written_s < max_s):
        for change in poll():
            try:
                checked = stream.control(change)
            except UsageError as exc:
                log.warning("control ignored: %s", exc)
                continue
            arrivals.append((now_s(), checked))
        if chunks and now_s() < written_s - margin_s:  # far enough ahead: wait for playback
            sleep(min(0.05, max(written_s - margin_s - now_s(), 0.0)))
            continue
        chunk = stream.next_chunk()
        bar_lengths.append((chunk.start_s, chunk.duration_s / max(chunk.cue.bars, 1)))
        del bar_lengths[:-8]
        for arrived, change in arrivals:  # in bars of the music that was playing when it arrived
            if change in chunk.controls:
                latencies.append(max(chunk.start_s - arrived, 0.0) / bar_s_at(arrived))
                max_latency = max(max_latency, latencies[-1])
                heard += 1
        del latencies[:-KEEP_LATENCIES]
        arrivals = [(a, c) for a, c in arrivals if c not in chunk.controls]
        written_s = chunk.start_s + chunk.duration_s
        chunks += 1
        sink(chunk)
    return {"chunks": chunks, "music_s": round(written_s, 2), "controls_heard": heard,
            "control_latency_bars": [round(v, 2) for v in latencies],
            "max_control_latency_bars": round(max_latency, 2) if heard else None}


EVENT_ORDER = {"cue": 0, "control": 1, "bar": 2, "beat": 3, "note": 4}  # at one instant, in this order


def chunk_events(chunk: Chunk, new_cue: bool = True) -> list[dict[str, Any]]:
    """What a game engine or a stage needs to follow a chunk, in time order (``t``: seconds from the start of
    the stream): the cue when one begins (``new_cue``: its name, key, tempo and meter), the controls first
    heard in it, every bar line (the soundtrack's bar number, the key, tempo and meter in force) and beat
    (the bar and the beat in it, from 1), and every note (part, pitch, velocity, length in seconds)."""
    from cadenza.listen.features import beat_ticks_of

    score, cue, start = chunk.score, chunk.cue, chunk.start_s
    meter = score.time_signatures[0] if score.time_signatures else None
    meter_name = f"{meter.numerator}/{meter.denominator}" if meter else None
    out: list[dict[str, Any]] = []
    if new_cue:
        out.append({"type": "cue", "t": round(start, 4), "cue": cue.index, "name": cue.name, "bar": chunk.start_bar,
                    "key": cue.key, "tempo_bpm": cue.tempo_bpm, "meter": meter_name})
    out += [{"type": "control", "t": round(start, 4), **change} for change in chunk.controls]
    starts = score.bar_starts()
    ends = np.append(starts[1:], score.length_ticks)
    for number, (bar_start, bar_end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        bar = chunk.start_bar + number
        signature = score.time_signature_at(bar_start)
        out.append({"type": "bar", "t": round(start + float(score.seconds_at(bar_start)), 4), "bar": bar,
                    "key": cue.key, "tempo_bpm": cue.tempo_bpm,
                    "meter": f"{signature.numerator}/{signature.denominator}"})
        for beat, tick in enumerate(range(bar_start, bar_end, beat_ticks_of(signature)), start=1):
            out.append({"type": "beat", "t": round(start + float(score.seconds_at(tick)), 4), "bar": bar, "beat": beat})
    notes = score.notes
    onsets = np.atleast_1d(score.seconds_at(notes["onset_ticks"]))
    offs = np.atleast_1d(score.seconds_at(notes["onset_ticks"] + notes["duration_ticks"]))
    for note, on, off in zip(notes, onsets, offs, strict=True):
        out.append({"type": "note", "t": round(start + float(on), 4), "part": int(note["part"]),
                    "pitch": int(note["pitch"]), "velocity": int(note["velocity"]),
                    "duration_s": round(float(off - on), 4)})
    return sorted(out, key=lambda event: (event["t"], EVENT_ORDER[event["type"]]))


class FileSink:
    """Writes each chunk as ``DIR/chunks/NNNNNN.mid`` (and the renders asked for, e.g. WAV), appends its cue
    to ``DIR/cues.jsonl``, and with ``events`` prints :func:`chunk_events` as JSON lines on stdout: cues,
    controls, bars, beats and notes, in time order."""

    def __init__(self, folder: Path, formats: list[str], events: bool = False) -> None:
        self.folder, self.formats, self.events = folder, formats, events
        (folder / "chunks").mkdir(parents=True, exist_ok=True)
        self.cues = folder / "cues.jsonl"
        self.render_errors: dict[str, str] = {}
        self.last_cue: int | None = None

    def __call__(self, chunk: Chunk) -> None:
        import json
        import sys

        from cadenza.score.write import write_score

        base = self.folder / "chunks" / f"{chunk.index:06d}"
        write_score(chunk.score, base.with_suffix(".mid"))
        if self.formats:
            from cadenza.render import render

            written = render(chunk.score, base, self.formats)
            self.render_errors.update(written.errors)
        with self.cues.open("a", encoding="utf-8") as out:
            out.write(json.dumps({**chunk.cue.as_dict(), "controls": chunk.controls}, default=str) + "\n")
        if self.events:
            for event in chunk_events(chunk, new_cue=chunk.cue.index != self.last_cue):
                sys.stdout.write(json.dumps(event, default=str) + "\n")
            sys.stdout.flush()
        self.last_cue = chunk.cue.index
