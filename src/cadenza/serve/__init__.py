"""``cadenza serve``: Cadenza over HTTP. Requests become persisted jobs that a pool of worker processes runs
through :mod:`cadenza.api`; their state, reports and files outlive the server.

- :mod:`cadenza.serve.store`: the job store (one small interface; SQLite under the data folder) and job files.
- :mod:`cadenza.serve.jobs`: what each kind of job asks for (checked when it is posted) and how it runs.
- :mod:`cadenza.serve.worker`: the worker processes that claim and run jobs.
- :mod:`cadenza.serve.app`: the FastAPI app (``/v1/jobs``, ``/v1/uploads``; the OpenAPI page at ``/docs``).
- :mod:`cadenza.serve.studio`: the web page at ``/`` and the endpoints it reads (choices, the roll, the score).
- :mod:`cadenza.serve.live`: the live soundtrack over a WebSocket (``/v1/live``).
- :mod:`cadenza.serve.config`: the server's settings (:class:`ServeConfig`, checked before starting), below
  every other part (each reads them).
- :mod:`cadenza.serve.server`: :func:`~cadenza.serve.server.serve`, which ties the rest together under uvicorn.

Importing this package needs neither FastAPI nor uvicorn (the optional ``serve`` extra); only the app and the
server do.
"""

from __future__ import annotations

from importlib.util import find_spec

from cadenza.serve.config import ServeConfig

#: the importable names of the ``serve`` extra's packages
SERVE_PACKAGES = ("fastapi", "uvicorn", "multipart", "websockets")


def missing_packages() -> list[str]:
    """The packages of the ``serve`` extra that are not installed (empty when the server can run)."""
    return [name for name in SERVE_PACKAGES if find_spec(name) is None]


__all__ = ["SERVE_PACKAGES", "ServeConfig", "missing_packages"]
