"""Load and fault benchmark of ``cadenza serve`` (issue 20, item 6): a real server on the loopback address, many
compose jobs posted at once, then a ``kill -9`` of the server with jobs queued and running, and a restart.

    python -m benchmarks.serve [--jobs 50] [--bars 8] [--workers 2] [--kill-jobs 6] [--checkpoint DIR]
                               [--timeout 1200] [--out benchmarks/results/serve.json]

It starts ``python -m cadenza serve --workers N --threads 1`` on a free port of 127.0.0.1 with a temporary
``--data`` folder (removed at the end, as is every process it started, even on Ctrl-C or an error), then:

1. *load*: posts ``--jobs`` compose jobs of ``--bars`` bars at once (one thread each; varied seeds, keys,
   meters and ensembles) and polls the job list until every accepted job has finished or ``--timeout`` passes.
   It records the jobs accepted and rejected (with the HTTP statuses), done and failed (with their errors),
   lost (accepted, then never finished or gone: must be 0), jobs per minute (done jobs over the wall minutes
   from the first post to the last finish), the latency from post to done (p50, p95, max; the finish is the
   server's own time stamp of the job, on the same clock), and the peak RSS of the server and its child
   processes summed (``VmRSS`` from ``/proc``, sampled every 0.5 s). The API does not say when a job started
   running, so no queue wait is given.
2. *kill -9*: posts ``--kill-jobs`` more, ``kill -9``s the server once they run, checks that its workers died
   with it (as the server arranges on Linux), restarts it on the same ``--data`` and polls until they have all
   finished: jobs accepted before the kill, finished after the restart, lost (must be 0), seconds from the
   restart to the last finish, and each job's attempts (the times the server stopped during it).

The workers start cold: each loads the model at its first job, inside the load phase's figures. Linux only
(``/proc``). The exit status is 1 when a job was lost or a worker outlived the killed server.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from benchmarks.common import git_commit, machine
from cadenza.files import atomic_write_bytes

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "serve.json"
log = logging.getLogger("benchmarks.serve")

FINISHED = ("done", "failed", "cancelled")
KEYS = ("C major", "D minor", "G major", "A minor", "F major", "E minor")
METERS = ("4/4", "3/4", "4/4", "6/8")
ENSEMBLES = ("piano", "string-quartet", "satb", "lead-sheet")
#: seconds between RSS samples
RSS_EVERY_S = 0.5
HTTP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ServeBenchConfig:
    """What to measure (see the module's docstring)."""

    jobs: int = 50
    bars: int = 8
    workers: int = 2
    kill_jobs: int = 6
    checkpoint: str | None = None  # None: the model that ships with Cadenza
    timeout_s: float = 1200.0  # the longest each phase waits for its jobs to finish
    poll_s: float = 0.5  # how often the job list is read while waiting


# ---------------------------------------------------------------- processes


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command's name (state, parent, …); empty once it has gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return []


def alive(pid: int, started: str | None = None) -> bool:
    """Whether a process runs (a zombie waiting for its reaper does not); with ``started`` (its start time, from
    :func:`start_time`), whether that same process runs, not another that was given its id since."""
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z" and (started is None or fields[19] == started)


def start_time(pid: int) -> str | None:
    """When a process started (clock ticks since boot, as ``/proc`` says), None once it has gone."""
    fields = _stat(pid)
    return fields[19] if len(fields) > 19 else None


def descendants(pid: int) -> list[int]:
    """The live processes below ``pid`` (children, their children …), from ``/proc/*/stat``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields and fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return sorted(found)


def rss_kb(pid: int) -> int:
    """A process's resident set (``VmRSS``) in kB; 0 once it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the server binds it with SO_REUSEADDR a moment later)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Server:
    """``python -m cadenza serve`` as a subprocess in its own session (so that its process group holds it and
    its workers, and a Ctrl-C here reaches only this benchmark, which then stops it)."""

    def __init__(self, data: Path, port: int, workers: int, checkpoint: str | None, log_path: Path) -> None:
        self.data, self.port, self.workers, self.checkpoint, self.log_path = data, port, workers, checkpoint, log_path
        self.url = f"http://127.0.0.1:{port}/v1"
        self.process: subprocess.Popen[bytes] | None = None
        self.seen: dict[int, str] = {}  # every process of its tree seen so far, with its start time (clean-up)
        self.stopped = False

    @property
    def command(self) -> list[str]:
        command = [sys.executable, "-m", "cadenza", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   "--data", str(self.data), "--workers", str(self.workers), "--threads", "1"]
        return command + (["--checkpoint", str(self.checkpoint)] if self.checkpoint else [])

    @property
    def pid(self) -> int:
        assert self.process is not None, "the server was not started"
        return self.process.pid

    def start(self, timeout_s: float = 120.0) -> float:
        """Start the server and wait until ``/v1/status`` answers; returns the seconds that took."""
        started = time.monotonic()
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        while time.monotonic() - started < timeout_s:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}: {self.log_tail()}")
            try:
                if http("GET", f"{self.url}/status", timeout=5)[0] == 200:
                    self.tree()
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer within {timeout_s:.0f} s: {self.log_tail()}")

    def tree(self) -> list[int]:
        """The server and its live descendants (remembered for the clean-up)."""
        pids = [self.pid, *descendants(self.pid)] if self.process is not None else []
        for pid in pids:
            if pid not in self.seen and (started := start_time(pid)) is not None:
                self.seen[pid] = started
        return pids

    def kill9(self) -> None:
        """``kill -9`` the server process alone (not its workers), and reap it."""
        assert self.process is not None
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """Stop the server as a user would (SIGTERM), then make sure nothing it started is left: its process
        group and every process of its tree seen are killed if still there. Returns its exit status."""
        code = None
        if self.process is not None and not self.stopped:
            self.stopped = True
            if self.process.poll() is None:
                self.tree()
                self.process.terminate()
                try:
                    self.process.wait(timeout_s)
                except subprocess.TimeoutExpired:
                    log.warning("the server did not stop within %.0f s of SIGTERM: killed", timeout_s)
                    self.process.kill()
                    self.process.wait(10)
                # its session's group: the server's workers, should one have been started since the last look
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
            code = self.process.returncode
        grace = time.monotonic() + 3  # multiprocessing's resource tracker leaves once its server has gone
        while any(alive(pid, started) for pid, started in self.seen.items()) and time.monotonic() < grace:
            time.sleep(0.05)
        for pid, started in sorted(self.seen.items()):
            if alive(pid, started):
                log.warning("process %d of the server was left running: killed", pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        return code

    def log_tail(self, lines: int = 20) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"


class RssSampler:
    """Samples the summed ``VmRSS`` of a server and its descendants every :data:`RSS_EVERY_S` in a thread."""

    def __init__(self, server: Server, every_s: float = RSS_EVERY_S) -> None:
        self.server, self.every_s = server, every_s
        self.samples: list[tuple[float, int, int]] = []  # (seconds since start, kB summed, processes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._t0 = time.monotonic()

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def sample(self) -> None:
        pids = self.server.tree()
        self.samples.append((time.monotonic() - self._t0, sum(rss_kb(pid) for pid in pids), len(pids)))

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.every_s):
                return

    def summary(self) -> dict[str, Any]:
        if not self.samples:
            return {}
        peak = max(self.samples, key=lambda s: s[1])
        return {"what": f"VmRSS summed over the server and its child processes (the workers and multiprocessing's "
                        f"resource tracker), sampled every {self.every_s} s; pages shared between processes count "
                        f"once per process",
                "peak_mb": round(peak[1] / 1024, 1), "processes_at_peak": peak[2],
                "at_peak_s": round(peak[0], 1), "first_mb": round(self.samples[0][1] / 1024, 1),
                "last_mb": round(self.samples[-1][1] / 1024, 1), "samples": len(self.samples)}


# ---------------------------------------------------------------- HTTP


def http(method: str, url: str, body: dict[str, Any] | None = None,
         timeout: float = HTTP_TIMEOUT_S) -> tuple[int, dict[str, Any]]:
    """One request; returns the status and the JSON answer (``{"error": ...}`` when it was not JSON). A
    connection that fails raises OSError."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = {"error": raw[:200].decode(errors="replace")}
    return status, answer if isinstance(answer, dict) else {"answer": answer}


def job_body(index: int, bars: int) -> dict[str, Any]:
    """The ``index``-th compose job: its own seed, a key, meter and ensemble in turn."""
    return {"kind": "compose", "request": {"bars": bars, "seed": 1000 + index, "key": KEYS[index % len(KEYS)],
                                           "meter": METERS[index % len(METERS)],
                                           "ensemble": ENSEMBLES[index % len(ENSEMBLES)]}}


@dataclass
class Submission:
    """One posted job: when it was posted (Unix seconds), the HTTP status, the id or the error."""

    index: int
    posted: float
    answered: float = 0.0
    status: int | None = None  # None: the connection failed
    id: str | None = None
    error: str | None = None


def submit_all(url: str, bodies: list[dict[str, Any]]) -> list[Submission]:
    """Post every body at once, one thread each (they wait at a barrier, then post together)."""
    barrier = threading.Barrier(len(bodies))
    results: list[Submission | None] = [None] * len(bodies)

    def post(index: int) -> None:
        barrier.wait()
        sub = Submission(index, time.time())
        try:
            sub.status, answer = http("POST", f"{url}/jobs", bodies[index])
            sub.id = answer.get("id") if sub.status == 202 else None
            sub.error = None if sub.status == 202 else str(answer.get("error", answer))
        except OSError as exc:
            sub.error = f"connection: {exc}"
        sub.answered = time.time()
        results[index] = sub

    threads = [threading.Thread(target=post, args=(i,), name=f"post-{i}") for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [sub for sub in results if sub is not None]


def job_states(url: str, ids: list[str]) -> dict[str, dict[str, Any] | None]:
    """Each job as the server shows it now (from the job list, one request, then ``GET /v1/jobs/ID`` for any
    it did not hold); None for a job the server no longer knows (404)."""
    status, answer = http("GET", f"{url}/jobs?limit=500")
    listed = {job["id"]: job for job in answer.get("jobs", [])} if status == 200 else {}
    states: dict[str, dict[str, Any] | None] = {}
    for job_id in ids:
        if job_id in listed:
            states[job_id] = listed[job_id]
            continue
        status, job = http("GET", f"{url}/jobs/{job_id}")
        if status == 404:
            states[job_id] = None
        elif status == 200:
            states[job_id] = job
        else:
            raise OSError(f"GET /v1/jobs/{job_id}: {status} {job.get('error')}")
    return states


def wait_finished(url: str, ids: list[str], timeout_s: float,
                  poll_s: float) -> tuple[dict[str, dict[str, Any] | None], bool]:
    """Poll until every job has finished (or is gone); returns the last states and whether all finished in
    time. A server that does not answer for a moment is asked again until the deadline."""
    deadline = time.monotonic() + timeout_s
    last: dict[str, dict[str, Any] | None] = {}
    while True:
        try:
            last = job_states(url, ids)
        except OSError as exc:
            log.warning("polling failed (%s): asking again", exc)
        finished = len(last) == len(ids) and all(job is None or job["state"] in FINISHED for job in last.values())
        if finished or time.monotonic() > deadline:
            return last, finished
        time.sleep(poll_s)


def percentile(values: list[float], share: float) -> float | None:
    """The ``share`` quantile of ``values`` (linear between ranks), None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = share * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


# ---------------------------------------------------------------- the two phases


def load_phase(server: Server, config: ServeBenchConfig) -> dict[str, Any]:
    """Phase 1: ``config.jobs`` compose jobs posted at once; every one accounted for."""
    bodies = [job_body(i, config.bars) for i in range(config.jobs)]
    log.info("load: posting %d compose jobs of %d bars at once", config.jobs, config.bars)
    with RssSampler(server) as rss:
        subs = submit_all(server.url, bodies)
        accepted = [s for s in subs if s.id]
        log.info("load: %d accepted, %d rejected; waiting for them", len(accepted), len(subs) - len(accepted))
        states, in_time = wait_finished(server.url, [s.id for s in accepted if s.id], config.timeout_s,
                                        config.poll_s)
        rss.sample()
    rejected = [s for s in subs if not s.id]
    by_state = Counter(job["state"] if job else "vanished" for job in states.values())
    done = [s for s in accepted if (job := states.get(s.id or "")) and job["state"] == "done"]
    failed = [states[s.id] for s in accepted if s.id and (job := states.get(s.id)) and job["state"] == "failed"]
    lost = [s.id for s in accepted if s.id and ((job := states.get(s.id)) is None or job["state"] not in FINISHED)]
    latencies = [job["updated"] - s.posted for s in done if (job := states.get(s.id or ""))]
    first_post = min((s.posted for s in subs), default=time.time())
    ends = [job["updated"] for job in states.values() if job and job["state"] in FINISHED]
    wall_s = (max(ends) - first_post) if ends else None
    piece_files = sum(1 for s in done if s.id and "piece.mid" in http("GET", f"{server.url}/jobs/{s.id}")[1]
                      .get("files", []))
    result: dict[str, Any] = {
        "jobs": config.jobs, "bars": config.bars, "workers": config.workers,
        "posted": len(subs), "accepted": len(accepted), "rejected": len(rejected),
        "rejected_statuses": dict(Counter(str(s.status) for s in rejected)),
        "rejected_errors": dict(Counter(s.error or "" for s in rejected).most_common(5)),
        "done": len(done), "done_with_piece_mid": piece_files, "failed": len(failed),
        "failed_errors": dict(Counter(str(job.get("error")) for job in failed if job).most_common(5)),
        "cancelled": by_state.get("cancelled", 0), "lost": len(lost), "lost_ids": lost,
        "all_finished_in_time": in_time,
        "post_s": {"p50": _r(percentile([s.answered - s.posted for s in subs], 0.5), 3),
                   "max": _r(max((s.answered - s.posted for s in subs), default=None), 3)},
        "wall_s": _r(wall_s, 1),
        "jobs_per_minute": _r(len(done) / (wall_s / 60), 1) if wall_s else None,
        "latency_s": {"what": "post to done: the client's time of the post to the server's time stamp of the "
                              "finish (same machine, same clock)",
                      "p50": _r(percentile(latencies, 0.5)), "p95": _r(percentile(latencies, 0.95)),
                      "max": _r(max(latencies, default=None)), "min": _r(min(latencies, default=None))},
        "rss": rss.summary(),
        "queue_wait": "not measured: the API does not say when a job started running",
    }
    log.info("load: %d done, %d failed, %d lost in %s s (%s jobs/minute); latency p50 %s s, p95 %s s; peak RSS "
             "%s MB", result["done"], result["failed"], result["lost"], result["wall_s"], result["jobs_per_minute"],
             result["latency_s"]["p50"], result["latency_s"]["p95"], result["rss"].get("peak_mb"))
    return result


def _db_states(data: Path) -> dict[str, str]:
    """Each job's state as the database holds it (read straight from ``jobs.sqlite``)."""
    db = sqlite3.connect(f"file:{data / 'jobs.sqlite'}?mode=ro", uri=True, timeout=30)
    try:
        return {row[0]: row[1] for row in db.execute("SELECT id, state FROM jobs")}
    finally:
        db.close()


def kill_phase(servers: list[Server], config: ServeBenchConfig, earlier: list[str]) -> dict[str, Any]:
    """Phase 2: ``kill -9`` of ``servers[-1]`` with jobs queued and running, then a restart on the same data
    folder (the restarted server is added to ``servers`` before it starts, for the clean-up). ``earlier``: the
    ids of jobs done before (they must still be done after the restart)."""
    server = servers[-1]
    bodies = [job_body(10_000 + i, config.bars) for i in range(config.kill_jobs)]
    subs = submit_all(server.url, bodies)
    ids = [s.id for s in subs if s.id]
    log.info("kill -9: %d of %d jobs accepted; waiting for them to run", len(ids), len(subs))
    deadline = time.monotonic() + min(config.timeout_s, 120)
    want_running = min(config.workers, len(ids))
    states: dict[str, dict[str, Any] | None] = {}
    while time.monotonic() < deadline:
        states = job_states(server.url, ids)
        running = [j for j in states.values() if j and j["state"] == "running"]
        if (len(running) >= want_running and any(j["progress"] > 0 for j in running)) or \
                all(j is None or j["state"] in FINISHED for j in states.values()):
            break
        time.sleep(0.02)
    tree = server.tree()
    server.kill9()
    killed_at = time.time()
    at_kill = _db_states(server.data)
    log.info("kill -9: server %d killed with its jobs %s", tree[0],
             dict(Counter(at_kill.get(i, "missing") for i in ids)))
    workers = {pid: server.seen.get(pid) for pid in tree[1:]}
    gone_by = time.monotonic() + 10
    while any(alive(pid, started) for pid, started in workers.items()) and time.monotonic() < gone_by:
        time.sleep(0.05)
    survivors = [pid for pid, started in workers.items() if alive(pid, started)]
    died_s = time.time() - killed_at
    for pid in survivors:
        log.error("process %d outlived its killed server: killing it", pid)
        os.kill(pid, signal.SIGKILL)
    log_lines = len(server.log_path.read_text(errors="replace").splitlines())
    restarted = Server(server.data, server.port, server.workers, server.checkpoint, server.log_path)
    servers.append(restarted)
    restart_t = time.time()
    ready_s = restarted.start()
    said = [line.strip() for line in server.log_path.read_text(errors="replace").splitlines()[log_lines:]
            if "when the server stopped" in line]
    final, in_time = wait_finished(restarted.url, ids, config.timeout_s, min(config.poll_s, 0.2))
    ends = [job["updated"] for job in final.values() if job and job["state"] in FINISHED]
    lost = [i for i in ids if (job := final.get(i)) is None or job["state"] not in FINISHED]
    earlier_now = job_states(restarted.url, earlier) if earlier else {}
    earlier_done = sum(1 for job in earlier_now.values() if job and job["state"] == "done")
    sample_file = None
    if earlier:
        status, _ = _download(f"{restarted.url}/jobs/{earlier[0]}/files/piece.mid")
        sample_file = status
    result: dict[str, Any] = {
        "jobs": config.kill_jobs, "accepted_before_kill": len(ids),
        "states_at_kill": dict(Counter(at_kill.get(i, "missing") for i in ids)),
        "server_processes_before_kill": len(tree), "workers_outliving_the_server": len(survivors),
        "processes_gone_s": _r(died_s, 2),
        "restart_ready_s": _r(ready_s, 2), "server_said_on_restart": said,
        "finished_after_restart": sum(1 for i in ids if (job := final.get(i)) and job["state"] in FINISHED
                                      and at_kill.get(i) not in FINISHED),
        "done": sum(1 for job in final.values() if job and job["state"] == "done"),
        "failed": sum(1 for job in final.values() if job and job["state"] == "failed"),
        "lost": len(lost), "lost_ids": lost, "all_finished_in_time": in_time,
        "restart_to_all_done_s": _r(max(ends) - restart_t, 2) if ends and not lost else None,
        "jobs_detail": [{"id": i, "state_at_kill": at_kill.get(i), "final_state": (final.get(i) or {}).get("state"),
                         "attempts": (final.get(i) or {}).get("attempts"), "error": (final.get(i) or {}).get("error")}
                        for i in ids],
        "earlier_jobs_still_done": f"{earlier_done}/{len(earlier)}",
        "earlier_file_download_status": sample_file,
    }
    log.info("kill -9: %d accepted before the kill (%s), %d finished after the restart, %d lost; all done %s s "
             "after the restart; attempts %s", len(ids), result["states_at_kill"], result["finished_after_restart"],
             len(lost), result["restart_to_all_done_s"], [d["attempts"] for d in result["jobs_detail"]])
    return result


def _download(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


# ---------------------------------------------------------------- the whole run


def run(config: ServeBenchConfig, workdir: Path | None = None) -> dict[str, Any]:
    """Both phases against one server (restarted in the second); every process started and the temporary data
    folder are gone when this returns or raises. ``workdir``: where to make the temporary folder."""
    if not sys.platform.startswith("linux"):
        raise RuntimeError("the serve benchmark reads /proc: Linux only")
    started = time.monotonic()
    temp = Path(tempfile.mkdtemp(prefix="cadenza-serve-bench-", dir=workdir))
    server = Server(temp / "data", free_port(), config.workers, config.checkpoint, temp / "server.log")
    servers = [server]
    try:
        log.info("starting %s", " ".join(server.command))
        ready_s = server.start()
        log.info("the server answers after %.1f s", ready_s)
        load = load_phase(server, config)
        earlier = [job["id"] for job in http("GET", f"{server.url}/jobs?limit=500&state=done")[1].get("jobs", [])]
        kill = kill_phase(servers, config, earlier)
        exit_code = servers[-1].stop()
        return {"server_command": " ".join(["python", *server.command[1:]]).replace(str(temp), "$TMP"),
                "server_ready_s": round(ready_s, 2), "load": load, "kill9": kill,
                "clean_stop_exit_code": exit_code, "lost": load["lost"] + kill["lost"],
                "seconds": round(time.monotonic() - started, 1)}
    except BaseException:
        log.error("the server's log ends: %s", server.log_tail())
        raise
    finally:
        for each in reversed(servers):
            each.stop()
        shutil.rmtree(temp, ignore_errors=True)


def summary(report: dict[str, Any]) -> str:
    """The one-paragraph summary printed at the end."""
    load, kill = report["load"], report["kill9"]
    rejected = f"{load['rejected']} rejected ({load['rejected_statuses']})" if load["rejected"] else "none rejected"
    return (f"cadenza serve, {load['workers']} workers x 1 thread on {report['machine']['cpus']} CPUs: "
            f"{load['jobs']} compose jobs of {load['bars']} bars posted at once: {load['accepted']} accepted, "
            f"{rejected}, {load['done']} done, {load['failed']} failed, {load['lost']} lost; "
            f"{load['jobs_per_minute']} jobs/minute over {load['wall_s']} s; latency post to done p50 "
            f"{load['latency_s']['p50']} s, p95 {load['latency_s']['p95']} s, max {load['latency_s']['max']} s; "
            f"peak RSS (server + workers, summed) {load['rss'].get('peak_mb')} MB. kill -9 with "
            f"{kill['accepted_before_kill']} jobs accepted ({kill['states_at_kill']}): "
            f"{kill['workers_outliving_the_server']} workers outlived the server; restarted, "
            f"{kill['finished_after_restart']} finished after the restart, {kill['lost']} lost, all done "
            f"{kill['restart_to_all_done_s']} s after the restart (attempts "
            f"{[d['attempts'] for d in kill['jobs_detail']]}). Wrote {report['out']}.")


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=50, metavar="N",
                        help="compose jobs posted at once in the load phase (default 50)")
    parser.add_argument("--bars", type=int, default=8, metavar="N", help="bars per job (default 8)")
    parser.add_argument("--workers", type=int, default=2, metavar="N",
                        help="the server's worker processes, one torch thread each (default 2)")
    parser.add_argument("--kill-jobs", type=int, default=6, metavar="N",
                        help="jobs queued and running when the server is killed with kill -9 (default 6)")
    parser.add_argument("--checkpoint", metavar="MODEL_DIR",
                        help="model folder (default: the model that ships with Cadenza)")
    parser.add_argument("--timeout", type=float, default=1200.0, metavar="S",
                        help="seconds each phase waits for its jobs to finish; the rest count as lost (default 1200)")
    parser.add_argument("--out", type=Path, default=RESULTS, metavar="FILE",
                        help="the results file (default benchmarks/results/serve.json)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.kill_jobs < 1 or args.bars < 1 or args.workers < 1 or args.timeout <= 0:
        parser.error("--jobs, --kill-jobs, --bars and --workers take 1 or more, --timeout a positive number")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = ServeBenchConfig(jobs=args.jobs, bars=args.bars, workers=args.workers, kill_jobs=args.kill_jobs,
                              checkpoint=args.checkpoint, timeout_s=args.timeout)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt("SIGTERM")  # through run's clean-up, as Ctrl-C

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    load_before = os.getloadavg()
    try:
        result = run(config)
    except KeyboardInterrupt:
        log.error("interrupted: the server and its workers were stopped, the temporary folder removed")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    report = {"benchmark": "serve", "date": time.strftime("%Y-%m-%d %H:%M"), "commit": git_commit(),
              "command": "python -m benchmarks.serve " + " ".join(sys.argv[1:] if argv is None else argv),
              "machine": {**machine(), "load_average_before": [round(x, 2) for x in load_before],
                          "load_average_after": [round(x, 2) for x in os.getloadavg()]},
              "config": asdict(config), **result, "out": _shown(args.out)}
    report["command"] = report["command"].strip()
    atomic_write_bytes(args.out, (json.dumps(report, indent=1, ensure_ascii=False) + "\n").encode())
    print(summary(report))
    if result["lost"] or result["kill9"]["workers_outliving_the_server"]:
        log.error("FAILED: %d jobs lost, %d workers outlived the killed server", result["lost"],
                  result["kill9"]["workers_outliving_the_server"])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
