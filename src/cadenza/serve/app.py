"""The HTTP API, a FastAPI app over the job store: ``/v1/jobs`` (post, list, show, download, cancel) and
``/v1/uploads`` (a primer, a piece to revise or a reference). Jobs run in the worker processes (see
:mod:`cadenza.serve.worker`), never in the server: a post answers at once with the job's id. The OpenAPI
page is at ``/docs``.

Every error answers ``{"error": "one line"}``: 400 for a request that cannot be run (the API's own message),
401 without the API key (when one is set), 404 for what is not there, 409 to cancel a finished job, 411/413
for a body without a length or over the limit, 415 for an upload of a type no reader takes, 503 while the
queue is full.

The studio, a web page over these routes, is served at ``/`` (see :mod:`cadenza.serve.studio`).
"""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Header, HTTPException, Query, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from cadenza.errors import CadenzaError
from cadenza.files import atomic_write_bytes
from cadenza.serve.config import ServeConfig
from cadenza.serve.jobs import UPLOAD_SUFFIXES, check_job
from cadenza.serve.live import live_router
from cadenza.serve.store import FILE_NAME, STATES, JobStore, SqliteJobStore, one_line
from cadenza.serve.studio import add_studio

log = logging.getLogger(__name__)

#: the largest JSON body of ``POST /v1/jobs``
MAX_JSON_BYTES = 1_000_000
#: the types of the files a job writes that the platform's guess gets wrong or lacks
MEDIA_TYPES = {".mid": "audio/midi", ".musicxml": "application/vnd.recordare.musicxml+xml", ".json": "application/json",
               ".flac": "audio/flac", ".wav": "audio/wav"}
_UPLOAD_HELP = "a score: " + " ".join(UPLOAD_SUFFIXES)
#: room for the multipart headers around an upload's bytes
MULTIPART_OVERHEAD = 64_000

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class JobIn(BaseModel):
    """A job to run (see :mod:`cadenza.serve.jobs` for each kind's options)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"kind": "compose", "request": {"key": "D minor", "meter": "3/4", "bars": 8, "seed": 1},
         "formats": ["mid", "musicxml"]},
        {"kind": "continue", "source": "<upload id>", "request": {"bars": 4}},
        {"kind": "soundtrack", "request": {"timeline": "calm:20s,tense:10s", "seed": 2}},
    ]})

    kind: Literal["compose", "continue", "revise", "soundtrack", "analyse", "check"]
    request: dict[str, Any] = Field(default_factory=dict, description="the kind's options: for compose and "
                                    "continue those of `cadenza compose` (key, meter, bars, tempo, ensemble, "
                                    "mood, prompt, seed …; continue keeps the primer's key, meter and ensemble); "
                                    "revise: bars ('5-8'), versions, seed (the piece's key, meter, ensemble "
                                    "and tempo kept); soundtrack: "
                                    "timeline, ensemble, seed; check: threshold")
    formats: list[str] | None = Field(default=None, description="files to write beside the piece: mid, musicxml, "
                                      "wav, flac, pdf, svg, png (default: mid)")
    source: str | None = Field(default=None, description="upload id: the primer (continue), the piece (revise, "
                               "analyse, check)")
    like: str | None = Field(default=None, description="upload id of a reference to lean toward (compose, continue)")
    like_strength: float = Field(default=0.5, description="0..1, how hard the reference's motifs pull")


class _BodyLimit:
    """Refuse a POST body over its limit before reading it (413), or one that does not say its length (411)."""

    def __init__(self, app: ASGIApp, upload_limit: int) -> None:
        self.app, self.upload_limit = app, upload_limit

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            limit = self.upload_limit + MULTIPART_OVERHEAD if scope["path"] == "/v1/uploads" else MAX_JSON_BYTES
            length = headers.get("content-length", "")
            refusal = None
            if not length.isdigit():
                if "chunked" in headers.get("transfer-encoding", ""):
                    refusal = (411, "send the body with a Content-Length")
            elif int(length) > limit:
                refusal = (413, f"the body is larger than {limit:,} bytes")
            if refusal:
                await JSONResponse({"error": refusal[1]}, status_code=refusal[0])(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(config: ServeConfig, store: JobStore | None = None) -> FastAPI:
    """The API over ``store`` (by default the SQLite store in ``config.data``). It runs no job itself: start
    a :class:`cadenza.serve.worker.WorkerPool` (as :func:`cadenza.serve.server.serve` does) to run them."""
    from cadenza import __version__

    jobs: JobStore = store or SqliteJobStore(config.data, config.max_attempts)
    uploads = config.data / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    app = FastAPI(title="Cadenza", version=__version__,
                  description="Compose, continue, revise, analyse and check pieces as jobs: post a job, poll it, "
                  "download its files. Uploads (primers, references) first go to /v1/uploads.")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return JSONResponse({"error": one_line(str(exc.detail))}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            return JSONResponse({"error": "the body is not valid JSON"}, status_code=400)
        where = ".".join(str(part) for part in first.get("loc", ())[1:]) or "body"
        return JSONResponse({"error": one_line(f"{where}: {first.get('msg', 'invalid')}")}, status_code=400)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed: %s", request.method, request.url.path, one_line(f"{type(exc).__name__}: {exc}"))
        log.debug("the traceback", exc_info=exc)
        return JSONResponse({"error": f"internal error ({type(exc).__name__}); the server's log has more"},
                            status_code=500)

    def require_key(x_api_key: Annotated[str | None, Header(description="the server's API key, if it has one")]
                    = None) -> None:
        if config.api_key and not (x_api_key and hmac.compare_digest(x_api_key.encode(), config.api_key.encode())):
            raise HTTPException(401, "give the server's API key in the X-API-Key header")

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(require_key)])

    def job_or_404(job_id: str) -> Any:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        return job

    @v1.post("/jobs", status_code=202, summary="Queue a job; answers at once with its id")
    def post_job(body: JobIn, response: Response) -> dict[str, Any]:
        try:
            spec = check_job(body.model_dump(exclude_none=True), config.data)
        except (CadenzaError, TypeError, ValueError) as exc:
            raise HTTPException(400, str(exc)) from None
        waiting = jobs.count("queued")
        if waiting >= config.max_queued:
            raise HTTPException(503, f"the queue is full ({waiting} jobs waiting): try again later",
                                headers={"Retry-After": "30"})
        job = jobs.create(spec["kind"], spec)
        response.headers["Location"] = f"/v1/jobs/{job.id}"
        return {"id": job.id, "kind": job.kind, "state": job.state}

    @v1.get("/jobs", summary="Recent jobs, newest first")
    def list_jobs(limit: Annotated[int, Query(ge=1, le=500)] = 50, state: str | None = None) -> dict[str, Any]:
        if state is not None and state not in STATES:
            raise HTTPException(400, f"state {state!r}: choose one of {', '.join(STATES)}")
        return {"jobs": [job.to_json(with_report=False) for job in jobs.recent(limit, state)]}

    @v1.get("/jobs/{job_id}", summary="A job: state, progress, report, error and file names")
    def get_job(job_id: str) -> dict[str, Any]:
        job = job_or_404(job_id)
        return {**job.to_json(), "files": jobs.files(job.id)}

    @v1.get("/jobs/{job_id}/files/{name}", summary="Download one of a job's files", response_class=FileResponse)
    def get_file(job_id: str, name: str) -> FileResponse:
        job = job_or_404(job_id)
        if not FILE_NAME.fullmatch(name):
            raise HTTPException(400, f"{name!r} is not a file name")
        path = jobs.file_path(job.id, name)
        if path is None:
            raise HTTPException(404, f"job {job.id} has no file {name}")
        return FileResponse(path, filename=name, media_type=MEDIA_TYPES.get(path.suffix.lower()))

    @v1.delete("/jobs/{job_id}", summary="Cancel a queued or running job")
    def cancel_job(job_id: str) -> dict[str, Any]:
        job_or_404(job_id)
        job = jobs.cancel(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        if job.state != "cancelled":
            raise HTTPException(409, f"job {job.id} is {job.state}: nothing to cancel")
        return job.to_json(with_report=False)

    @v1.post("/uploads", status_code=201, summary="Upload a primer, a piece or a reference (read to check it)")
    def upload(file: Annotated[UploadFile, File(description=_UPLOAD_HELP)]) -> dict[str, Any]:
        return _store_upload(file, uploads, config.max_upload_bytes)

    @v1.get("/status", summary="The server: version, workers, jobs waiting and running")
    def status() -> dict[str, Any]:
        return {"version": __version__, "workers": config.workers, "queued": jobs.count("queued"),
                "running": jobs.count("running")}

    app.include_router(v1)
    app.include_router(live_router(config))  # the live soundtrack over a WebSocket (cadenza.serve.live)
    add_studio(app, jobs, require_key)  # the web page at / and its endpoints (cadenza.serve.studio)

    app.add_middleware(_BodyLimit, upload_limit=config.max_upload_bytes)
    return app


def _store_upload(file: UploadFile, folder: Path, limit: int) -> dict[str, Any]:
    """Keep an uploaded score as ``<folder>/<id><suffix>`` once a reader has read it whole under the default
    reading limits; 413 over ``limit`` bytes, 415 for a type no reader takes, 400 for what cannot be read."""
    from cadenza import api

    name = Path(file.filename or "").name
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise HTTPException(415, f"{name or 'the upload'}: send one of {', '.join(UPLOAD_SUFFIXES)}")
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"{name}: larger than the {limit:,} bytes an upload may have")
    upload_id = uuid.uuid4().hex
    path = folder / f"{upload_id}{suffix}"
    atomic_write_bytes(path, data)
    try:
        summary = api.info(path)
    except CadenzaError as exc:
        path.unlink(missing_ok=True)
        message = str(exc).replace(f"{path}: ", "").replace(str(path), name).replace(path.name, name)
        raise HTTPException(400, f"{name}: {message}") from None
    except Exception as exc:  # noqa: BLE001 - a reader's bug: refuse the file, keep serving
        path.unlink(missing_ok=True)
        raise HTTPException(400, f"{name}: cannot be read ({type(exc).__name__})") from None
    keep = ("bars", "notes", "meter", "key_signature", "tempo_bpm", "duration_s")
    return {"id": upload_id, "name": name, "bytes": len(data),
            "summary": {"parts": [p.get("name") for p in summary.get("parts", [])],
                        **{k: summary.get(k) for k in keep}},
            "warnings": summary.get("warnings", [])}
