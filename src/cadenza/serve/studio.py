"""The studio: web pages over the jobs API, served at ``/`` (the composer: ask for a piece, see, hear and
download it, write chosen bars of it again with a ``revise`` job) and ``/soundtrack`` (a live soundtrack
steered by mood, valence, arousal and intensity over the ``/v1/live`` WebSocket). Their HTML, CSS and
JavaScript ship in ``serve/static/``; nothing is loaded from elsewhere, and the pages' Content-Security-Policy
says so. The three endpoints they need besides the jobs API and the live bridge:

- ``GET /v1/studio/choices``: what the forms offer, read from the composer's own tables (ensembles, keys,
  meters, moods, epochs, the bar limits), the formats this server can write, and the live controls (each
  mood's valence and arousal, the ranges the bridge accepts, the playback speeds);
- ``GET /v1/jobs/{id}/roll``: a finished piece's notes and bar lines in seconds, for the piano roll the page
  draws and the cursor that follows the audio (the WAV is timed by the same tempo map);
- ``GET /v1/jobs/{id}/score.svg?page=N``: the piece engraved by Verovio for a screen (one page as tall as the
  music needs; ``X-Page-Count`` says how many), from the job's MusicXML when it has one.

Everything the page does goes through these and ``/v1/jobs``: a client of the API can do the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from cadenza.errors import CadenzaError
from cadenza.serve.jobs import a_job
from cadenza.serve.store import JobStore

log = logging.getLogger(__name__)

#: the page's files (package data)
STATIC = Path(__file__).with_name("static")
#: everything the page loads comes from this server; media and the score are fetched as blobs (for the API key)
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
                           "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
                           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: the files a studio job asks for when this server can write them (the piece itself is always the MIDI)
STUDIO_FORMATS = ("mid", "musicxml", "wav", "png")
#: the Python package each optional format needs (wav uses the built-in synthesizer when nothing else is there)
FORMAT_NEEDS = {"png": "matplotlib"}
DEFAULT_BARS = 8
#: the live controls' ranges, as :func:`cadenza.soundtrack.stream.check_control` accepts them
LIVE_RANGES = {"valence": (-1.0, 1.0), "arousal": (-1.0, 1.0), "intensity": (0.0, 1.0)}
#: the playback speeds the soundtrack page offers (times real time; 0: as fast as the model writes)
LIVE_SPEEDS = (1.0, 2.0, 4.0, 0.0)
#: the largest MusicXML engraved for the page (a 300-bar string quartet is about 2 MB)
MAX_ENGRAVE_BYTES = 20_000_000
#: Verovio's options for a screen: about 960 px wide at scale 40, the page as tall as its systems (up to
#: Verovio's limit of 60,000 units, about 60 systems of a quartet; more spills onto further pages), the last
#: system justified too (a short piece fills the width rather than leaving its bars crowded at the left)
SCREEN_LAYOUT = {"pageWidth": 2400, "pageHeight": 60000, "adjustPageHeight": True, "scale": 40, "breaks": "auto",
                 "header": "auto", "footer": "none", "pageMarginLeft": 40, "pageMarginRight": 40,
                 "pageMarginTop": 40, "pageMarginBottom": 40, "minLastJustification": 0.0, "xmlIdSeed": 1}


@dataclass(frozen=True)
class EnsembleChoice:
    """An ensemble the form offers: its name (what a request gives) and its parts."""

    name: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class LiveChoices:
    """What the soundtrack page offers; every value is one the live bridge (``/v1/live``) accepts."""

    moods: tuple[str, ...]
    centres: dict[str, tuple[float, float]]  # each mood's (valence, arousal): the middle of its quadrant
    ranges: dict[str, tuple[float, float]]  # valence, arousal and intensity: (lowest, highest)
    speeds: tuple[float, ...]  # playback speeds, times real time (0: as fast as the model writes)
    default_mood: str


@dataclass(frozen=True)
class StudioChoices:
    """What the request form offers; every value is one a compose job accepts."""

    ensembles: tuple[EnsembleChoice, ...]
    keys: tuple[str, ...]
    meters: tuple[str, ...]
    moods: tuple[str, ...]
    epochs: tuple[str, ...]
    min_bars: int
    max_bars: int
    default_bars: int
    formats: tuple[str, ...]  # what a studio job asks for on this server
    live: LiveChoices

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PianoRoll:
    """A piece's notes for drawing: ``notes`` holds ``(onset_s, end_s, pitch, part)``; ``bars`` holds
    ``(start_s, number)`` (the number a musician reads: a pickup is bar 0)."""

    duration_s: float
    parts: tuple[str, ...]
    notes: tuple[tuple[float, float, int, int], ...]
    bars: tuple[tuple[float, int], ...]
    lowest_pitch: int
    highest_pitch: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def available_formats() -> tuple[str, ...]:
    """The studio's formats this server can write (a PNG needs matplotlib)."""
    from cadenza.render.common import available

    return tuple(f for f in STUDIO_FORMATS if f not in FORMAT_NEEDS or available(FORMAT_NEEDS[f]))


@lru_cache(maxsize=1)
def studio_choices() -> StudioChoices:
    """The form's choices, from the tables the composer reads: :data:`cadenza.compose.ensembles.ENSEMBLES`,
    the key and meter labels of :mod:`cadenza.listen.labels` (``other`` is no meter one can ask for), the
    mood words of :data:`cadenza.compose.request.MOODS` and the epochs the styles are planned for."""
    from cadenza.compose.ensembles import ENSEMBLES
    from cadenza.compose.request import MAX_BARS, MOODS
    from cadenza.listen.labels import EPOCHS, KEYS, METERS

    ensembles = tuple(EnsembleChoice(name, tuple(v.name for v in e.voices)) for name, e in ENSEMBLES.items())
    return StudioChoices(ensembles=ensembles, keys=KEYS, meters=tuple(m for m in METERS if m != "other"),
                         moods=MOODS, epochs=EPOCHS, min_bars=1, max_bars=MAX_BARS, default_bars=DEFAULT_BARS,
                         formats=available_formats(), live=live_choices())


def live_choices() -> LiveChoices:
    """The soundtrack page's controls: the mood words and their centres (:data:`cadenza.compose.request.
    MOOD_CENTRES`, which the live stream steers by), the ranges of the numeric controls and the speeds."""
    from cadenza.compose.request import MOOD_CENTRES, MOODS
    from cadenza.soundtrack.bridge import LiveConfig

    return LiveChoices(moods=tuple(MOODS), centres={m: MOOD_CENTRES[m] for m in MOODS}, ranges=dict(LIVE_RANGES),
                       speeds=LIVE_SPEEDS, default_mood=LiveConfig().mood)


def piano_roll(path: Path) -> PianoRoll:
    """The notes and bar lines of the piece in ``path`` (read with the default reading limits), in seconds."""
    from cadenza import read_score
    from cadenza.render.common import note_times

    score = read_score(path)
    times = note_times(score)
    notes = tuple((round(float(on), 4), round(float(end), 4), int(pitch), int(part)) for on, end, pitch, part
                  in zip(times.onset_s, times.end_s, times.pitch, times.part, strict=True))
    starts = np.atleast_1d(score.seconds_at(score.bar_starts()))
    bars = tuple((round(float(s), 4), score.bar_number(i)) for i, s in enumerate(starts))
    pitches = [n[2] for n in notes] or [60]
    return PianoRoll(round(score.duration_s, 4), tuple(p.name for p in score.parts), notes, bars, min(pitches),
                     max(pitches))


def engrave_for_screen(path: Path) -> tuple[str, ...]:
    """The piece in ``path`` (MusicXML, given to Verovio as it is; any other score, read and written as
    MusicXML first) engraved for a screen: one SVG per page. A :class:`~cadenza.errors.RenderError` names
    what is missing when Verovio is not installed."""
    stat = path.stat()
    return _engraved(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _engraved(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    """Cached by file and version: a job's files never change once published."""
    from cadenza.errors import RenderError
    from cadenza.render.common import require

    verovio = require("verovio", "the engraved score")
    if hasattr(verovio, "enableLog") and hasattr(verovio, "LOG_OFF"):
        verovio.enableLog(verovio.LOG_OFF)
    source = Path(path)
    if source.suffix.lower() == ".musicxml":
        if size > MAX_ENGRAVE_BYTES:
            raise RenderError(f"the score is larger than the {MAX_ENGRAVE_BYTES:,} bytes engraved for the page")
        xml = source.read_text(encoding="utf-8")
    else:
        from cadenza import read_score
        from cadenza.score.write import score_bytes

        xml = score_bytes(read_score(source), "musicxml").decode("utf-8")
    toolkit = verovio.toolkit(False)
    # verovio keeps the default resource path (its fonts) per thread, set only in the thread that imported it:
    # in another of the server's threads a plain toolkit() finds no fonts and reads nothing
    if not toolkit.setResourcePath(str(resources.files("verovio") / "data")):
        raise RenderError("verovio cannot find its fonts (its data folder)")
    toolkit.setOptions(SCREEN_LAYOUT)
    if not toolkit.loadData(xml):
        raise RenderError("verovio could not read the piece's MusicXML")
    pages = tuple(toolkit.renderToSVG(number) for number in range(1, toolkit.getPageCount() + 1))
    if not pages:
        raise RenderError("verovio engraved no page")
    return pages


def _piece_files(jobs: JobStore, job_id: str) -> dict[str, Path]:
    """A finished job's piece files by format (``piece`` the MIDI, ``musicxml`` …); 404 or 409 otherwise."""
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id}")
    if job.state != "done":
        raise HTTPException(409, f"job {job.id} is {job.state}: it has no piece yet" if not job.finished else
                            f"job {job.id} is {job.state}: it has no piece")
    named = (job.report or {}).get("files") or {}
    found = {fmt: jobs.file_path(job.id, name) for fmt, name in named.items() if isinstance(name, str)}
    files = {fmt: path for fmt, path in found.items() if path is not None}
    if "piece" not in files:
        raise HTTPException(404, f"job {job.id} wrote no piece ({a_job(job.kind)} writes a report)")
    return files


def studio_router(jobs: JobStore, require_key: Callable[..., None]) -> APIRouter:
    """The studio's endpoints under ``/v1`` (guarded by the API key as the rest of ``/v1``)."""
    router = APIRouter(prefix="/v1", dependencies=[Depends(require_key)])

    @router.get("/studio/choices", summary="What the studio's request form offers (and formats it asks for)")
    def choices() -> dict[str, Any]:
        return studio_choices().to_json()

    @router.get("/jobs/{job_id}/roll", summary="A finished piece's notes and bar lines in seconds (piano roll)")
    def roll(job_id: str) -> dict[str, Any]:
        piece = _piece_files(jobs, job_id)["piece"]
        try:
            return piano_roll(piece).to_json()
        except CadenzaError as exc:
            raise HTTPException(500, f"the piece cannot be read: {exc}") from None

    @router.get("/jobs/{job_id}/score.svg", summary="A finished piece engraved for a screen (SVG, one page)",
                response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}})
    def score(job_id: str, page: Annotated[int, Query(ge=1)] = 1) -> Response:
        files = _piece_files(jobs, job_id)
        try:
            pages = engrave_for_screen(files.get("musicxml") or files["piece"])
        except CadenzaError as exc:
            raise HTTPException(501 if "pip install" in str(exc) else 500, str(exc)) from None
        if page > len(pages):
            raise HTTPException(404, f"the score has {len(pages)} page{'s' if len(pages) > 1 else ''}")
        return Response(pages[page - 1], media_type="image/svg+xml",
                        headers={"X-Page-Count": str(len(pages)), "Cache-Control": "private, max-age=3600"})

    return router


def add_studio(app: FastAPI, jobs: JobStore, require_key: Callable[..., None]) -> None:
    """Serve the studio on ``app``: the composer's page at ``/`` and the soundtrack's at ``/soundtrack`` (no
    key needed: they ask for one when the API does), their files at ``/static/``, and the endpoints under
    ``/v1``."""
    app.include_router(studio_router(jobs, require_key))
    app.mount("/static", StaticFiles(directory=STATIC), name="studio-static")

    def page(name: str) -> FileResponse:
        return FileResponse(STATIC / name, media_type="text/html",
                            headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"})

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return page("index.html")

    @app.get("/soundtrack", include_in_schema=False)
    def soundtrack() -> FileResponse:
        return page("soundtrack.html")
