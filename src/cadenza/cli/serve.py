"""``cadenza serve``: the HTTP API (FastAPI on uvicorn), with persisted jobs run by worker processes; thin
over :mod:`cadenza.serve`, which is imported only when the command runs (it needs the ``serve`` extra)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from cadenza.cli.common import output_path
from cadenza.errors import CadenzaError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="serve the HTTP API: compose, continue, revise, analyse and check as jobs",
        description="Serve Cadenza over HTTP. POST /v1/jobs queues a job (compose, continue, revise, soundtrack, "
        "analyse, check) and answers at once with its id; GET /v1/jobs/ID gives its state, progress and report; "
        "GET /v1/jobs/ID/files/NAME downloads its files; DELETE /v1/jobs/ID cancels it; POST /v1/uploads takes a "
        "primer or reference score. The OpenAPI page is at /docs. Jobs and their files are kept in --data and "
        "outlive the server: jobs that were running when it stopped are queued again when it starts. Needs "
        "the serve extra: pip install 'cadenza[serve]'.",
        epilog="Example: cadenza serve --port 8750 --data ./cadenza-data --workers 2, then "
        "curl -X POST localhost:8750/v1/jobs -H 'Content-Type: application/json' "
        "-d '{\"kind\": \"compose\", \"request\": {\"key\": \"D minor\", \"bars\": 8}}'")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this machine only; any other needs --api-key)")
    p.add_argument("--port", type=int, default=8750, help="port to listen on (default 8750; 0: any free port)")
    p.add_argument("--data", default="cadenza-data", metavar="DIR", type=output_path,
                   help="folder for the job database, the jobs' files and uploads (default ./cadenza-data)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="worker processes running jobs side by side, each with its own copy of the model (default 1)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="torch threads per worker (default: $CADENZA_THREADS, else 1: fastest for sampling)")
    p.add_argument("--api-key", metavar="KEY",
                   help="require this key in every request's X-API-Key header (at least 8 characters)")
    p.add_argument("--checkpoint", "--model", dest="checkpoint", metavar="MODEL_DIR",
                   help="model folder (default: the model that ships with Cadenza)")
    p.add_argument("--max-upload-mb", type=float, default=2.0, metavar="MB",
                   help="largest upload, in MB (default 2)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cadenza.serve import ServeConfig, missing_packages

    missing = missing_packages()
    if missing:
        raise CadenzaError(f"cadenza serve needs {', '.join(missing)}: pip install 'cadenza[serve]'")
    if not args.max_upload_mb > 0:
        raise CadenzaError("--max-upload-mb: give a positive size")
    from cadenza.serve.server import serve

    verbose = logging.getLogger().getEffectiveLevel() <= logging.DEBUG
    config = ServeConfig(data=Path(args.data), host=args.host, port=args.port, workers=args.workers,
                         api_key=args.api_key, checkpoint=Path(args.checkpoint) if args.checkpoint else None,
                         threads=args.threads, max_upload_bytes=int(args.max_upload_mb * 1_000_000),
                         log_level=logging.INFO if verbose else logging.WARNING).check()

    def ready(url: str) -> None:
        workers = f"{config.workers} worker{'s' if config.workers != 1 else ''}"
        print(f"cadenza serve: {url} (API docs at {url}/docs); jobs in {config.data}; {workers}; Ctrl-C stops",
              file=sys.stderr, flush=True)

    serve(config, ready)
    return 0
