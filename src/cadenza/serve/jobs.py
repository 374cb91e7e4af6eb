"""What each kind of job asks for, checked when it is posted (:func:`check_job`), and how a worker runs it
through :mod:`cadenza.api` (:func:`run_job`).

A posted job is ``{"kind": ..., "request": {...}, "formats": [...], "source": UPLOAD, "like": UPLOAD,
"like_strength": S}``. ``request`` holds the kind's options:

- ``compose``, ``continue``: the options of :func:`cadenza.api.compose_request` (the request's field names or
  the CLI's: ``key``, ``meter``, ``bars``, ``tempo``, ``seed``, ``prompt`` …); ``continue`` needs ``source``
  (the primer) and writes ``bars`` new bars, in the primer's key, meter and parts (``key``, ``meter`` and
  ``ensemble`` refused); both may lean toward a reference (``like``).
- ``revise``: ``bars`` ("5-8", required) and ``versions`` of the piece in ``source``, with compose options
  (``seed``, ``mood`` …) but in the piece's key, meter, parts and tempo (``key``, ``meter``, ``ensemble``,
  ``tempo`` and ``duration`` refused).
- ``soundtrack``: ``timeline`` (a shorthand like ``"calm:30s,tense:20s"`` or a timeline document with
  ``segments``), ``ensemble``, ``seed``.
- ``analyse``: nothing; ``check``: ``threshold`` (notes), against the server's model's training data.

Uploads (``source``, ``like``) are named by the id that ``POST /v1/uploads`` gave; files are never named by
path, so a client cannot make the server read its own files.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from cadenza.errors import UsageError
from cadenza.files import atomic_write_bytes
from cadenza.serve.store import ID_PATTERN, KINDS, Job, plain_json

#: the files a job may write beside its piece
FORMATS = ("mid", "musicxml", "wav", "flac", "pdf", "svg", "png")
FORMAT_ALIASES = {"midi": "mid", "xml": "musicxml"}
#: what may be uploaded as a primer, a piece to revise or a reference
UPLOAD_SUFFIXES = (".mid", ".midi", ".musicxml", ".xml", ".mxl", ".abc", ".krn", ".wav", ".flac", ".mp3")
#: the kinds that compose (and so write a piece in ``formats``), and those that read an upload
WRITES_PIECE = ("compose", "continue", "revise", "soundtrack")
NEEDS_SOURCE = ("continue", "revise", "analyse", "check")
TAKES_LIKE = ("compose", "continue")
#: request options besides the compose options, per kind (soundtrack, analyse and check take only these)
EXTRA_OPTIONS = {"revise": ("bars", "versions"), "soundtrack": ("timeline", "ensemble", "seed"), "analyse": (),
                 "check": ("threshold",)}
MAX_PROMPT_CHARS = 2000
REPORT_NAME = "report.json"
Progress = Callable[[int, int], None]


def upload_path(data: Path, upload_id: str) -> Path | None:
    """The stored file of an upload id, None if there is none."""
    if not isinstance(upload_id, str) or not ID_PATTERN.fullmatch(upload_id):
        return None
    folder = data / "uploads"
    found = [folder / f"{upload_id}{s}" for s in UPLOAD_SUFFIXES if (folder / f"{upload_id}{s}").is_file()]
    return found[0] if found else None


def check_job(body: dict[str, Any], data: Path) -> dict[str, Any]:
    """The job ``body`` asks for, checked and normalised (what the store keeps and :func:`run_job` reads);
    a :class:`UsageError` with one line for anything that cannot be run."""
    kind = body.get("kind")
    if kind not in KINDS:
        raise UsageError(f"kind {kind!r}: choose one of {', '.join(KINDS)}")
    if not isinstance(body.get("request") or {}, dict):
        raise UsageError("request: give an object of options, e.g. {\"key\": \"D minor\", \"bars\": 8}")
    request = dict(body.get("request") or {})
    if kind == "continue":  # (a 400 now, not a job that fails when it runs)
        from cadenza.api import CONTINUATION_KEEPS, refuse_kept

        refuse_kept(request, CONTINUATION_KEEPS)
    job: dict[str, Any] = {"kind": kind, "request": request, "formats": _formats(kind, body.get("formats"))}
    for name in ("source", "like"):
        upload = body.get(name)
        allowed = NEEDS_SOURCE if name == "source" else TAKES_LIKE
        if upload is None:
            if name == "source" and kind in NEEDS_SOURCE:
                raise UsageError(f"{a_job(kind)} needs a source: the id of an upload (POST /v1/uploads)")
            continue
        if kind not in allowed:
            raise UsageError(f"{name}: {a_job(kind)} takes none")
        if upload_path(data, upload) is None:
            raise UsageError(f"{name} {upload!r}: no such upload (send the file to POST /v1/uploads first)")
        job[name] = upload
    if "like" in job:
        strength = body.get("like_strength", 0.5)
        if isinstance(strength, bool) or not isinstance(strength, int | float) or not 0 <= strength <= 1:
            raise UsageError(f"like_strength {strength!r}: give a number from 0 to 1")
        job["like_strength"] = float(strength)
    if kind in ("soundtrack", "analyse", "check"):
        _check_plain_options(kind, request)
    else:
        extra = {k: request[k] for k in EXTRA_OPTIONS.get(kind, ()) if k in request}
        options = {k: v for k, v in request.items() if k not in extra}
        if kind == "revise":
            _check_revise(extra)
        checked = compose_options(options)
        if kind == "revise":  # the piece's key, meter, parts and tempo: a 400 now, not a job that fails
            from cadenza.api import REVISION_KEEPS, refuse_kept

            refuse_kept(vars(checked), REVISION_KEEPS)
    return job


def a_job(kind: str) -> str:
    """"a compose job", "an analyse job": the kind with its article."""
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind} job"


def _formats(kind: str, given: Any) -> list[str]:
    if given is None:
        return ["mid"] if kind in WRITES_PIECE else []
    if not isinstance(given, list) or not all(isinstance(f, str) for f in given):
        raise UsageError("formats: give a list of names, e.g. [\"mid\", \"musicxml\"]")
    formats = [FORMAT_ALIASES.get(f.strip().lower().lstrip("."), f.strip().lower().lstrip(".")) for f in given]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise UsageError(f"unknown format {unknown[0]!r}: choose from {', '.join(FORMATS)}")
    if formats and kind not in WRITES_PIECE:
        raise UsageError(f"formats: {a_job(kind)} writes its report only")
    return list(dict.fromkeys(formats))


def compose_options(options: dict[str, Any]) -> Any:
    """A :class:`cadenza.compose.ComposeRequest` from JSON options, built by the API's own builder and
    checked as composing will check it (every field's type and value; a prompt is read when the job runs)."""
    from cadenza.api import compose_request
    from cadenza.compose.request import resolve

    request = compose_request(**options)  # every field's type checked (cadenza.compose.request.check_request)
    if request.prompt is not None and len(request.prompt) > MAX_PROMPT_CHARS:
        raise UsageError(f"prompt: give at most {MAX_PROMPT_CHARS} characters")
    resolve(replace(request, prompt=None))
    return request


def _check_revise(extra: dict[str, Any]) -> None:
    bars = extra.get("bars")
    if not isinstance(bars, str | int) or isinstance(bars, bool) or not re.fullmatch(r"\s*\d+\s*(-\s*\d+\s*)?",
                                                                                     str(bars)):
        raise UsageError("bars: give the bars to write again, like \"5-8\" or \"6\"")
    versions = extra.get("versions", 4)
    if isinstance(versions, bool) or not isinstance(versions, int) or not 1 <= versions <= 16:
        raise UsageError("versions: give 1 to 16")


def _check_plain_options(kind: str, request: dict[str, Any]) -> None:
    known = EXTRA_OPTIONS[kind]
    unknown = sorted(set(request) - set(known))
    if unknown:
        choices = f"choose from {', '.join(known)}" if known else "it takes none"
        raise UsageError(f"unknown option {unknown[0]!r} for {a_job(kind)}: {choices}")
    if kind == "soundtrack":
        _timeline(request.get("timeline"))
        if request.get("ensemble") is not None:
            from cadenza.compose.ensembles import ensemble

            if not isinstance(request["ensemble"], str):
                raise UsageError("ensemble: give a name, e.g. \"string-quartet\"")
            ensemble(request["ensemble"])
    for name, least in (("seed", 0), ("threshold", 1)):  # (a threshold of 0 was a job that failed, not a 400)
        value = request.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not least <= value < 2**63):
            raise UsageError(f"{name} {value!r}: give a whole number, {least} or more")


def _timeline(spec: Any) -> Any:
    """A soundtrack's timeline from JSON: a shorthand (never read as a file name) or a timeline document."""
    from cadenza.soundtrack import load_timeline, parse_shorthand

    if isinstance(spec, str):
        return parse_shorthand(spec)
    if isinstance(spec, dict):
        return load_timeline(spec)  # type: ignore[arg-type]  # the document itself, already read
    raise UsageError("timeline: give a shorthand like \"calm:30s,tense:20s\" or a document with segments")


def run_job(job: Job, work: Path, data: Path, model: Path | None, progress: Progress) -> dict[str, Any]:
    """Run a claimed job through the API, writing its files in ``work``; returns its report (JSON-ready, files
    named without folders), also written there as ``report.json``."""
    from cadenza import api

    spec = job.request
    request, formats = dict(spec.get("request") or {}), list(spec.get("formats") or [])
    source = upload_path(data, spec["source"]) if spec.get("source") else None
    like = upload_path(data, spec["like"]) if spec.get("like") else None
    if (spec.get("source") and source is None) or (spec.get("like") and like is None):
        raise UsageError("the uploaded file this job reads is gone")
    piece = work / "piece.mid"
    strength = float(spec.get("like_strength", 0.5))
    report: dict[str, Any]
    if job.kind == "compose":
        report = api.compose(compose_options(request), piece, formats, model=model, progress=progress, like=like,
                             like_strength=strength).to_json()
    elif job.kind == "continue":
        assert source is not None
        report = api.continue_(source, compose_options(request), piece, formats, model=model, progress=progress,
                               like=like, like_strength=strength).to_json()
    elif job.kind == "revise":
        assert source is not None
        bars, versions = str(request.pop("bars")), int(request.pop("versions", 4))
        compose_options(request)
        report = api.revise(source, bars, piece, formats, model=model, versions=versions, progress=progress,
                            **request).to_json()
    elif job.kind == "soundtrack":
        report = api.soundtrack(_timeline(request["timeline"]), work, formats, model=model,
                                ensemble=request.get("ensemble"), seed=request.get("seed"), progress=progress).to_json()
    elif job.kind == "analyse":
        assert source is not None
        report = api.analyse(source).to_json()
    else:
        assert source is not None
        report = api.check(source, against=_originality_index(model), threshold=request.get("threshold")).to_json()
    for written in work.glob("*.cadenza.json"):  # the API's report, with this server's paths: report.json instead
        written.unlink()
    report = plain_json(_scrub(report, {f"{work}{os.sep}": "", f"{data / 'uploads'}{os.sep}": "upload:"}))
    report.setdefault("files", {})["report"] = REPORT_NAME
    atomic_write_bytes(work / REPORT_NAME, (json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False) +
                                            "\n").encode())
    return report


def _originality_index(model: Path | None) -> Path | None:
    """What ``check`` compares with: the server's model's training data when it has an index, else the
    shipped model's."""
    from cadenza.originality.index import INDEX_FILE

    return model if model is not None and (model / INDEX_FILE).is_file() else None


def _scrub(value: Any, prefixes: dict[str, str]) -> Any:
    """``value`` with the server's folders taken out of every text in it (clients see file names only)."""
    if isinstance(value, dict):
        return {k: _scrub(v, prefixes) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, prefixes) for v in value]
    if isinstance(value, str):
        for prefix, instead in prefixes.items():
            value = value.replace(prefix, instead)
        return value
    if isinstance(value, os.PathLike):
        return _scrub(os.fspath(value), prefixes)
    return value
