"""``cadenza serve``: jobs posted over HTTP run in worker processes with a tiny untrained model, bad requests
and uploads are refused with one line, the files route serves only a job's own files, and accepted jobs
survive a ``kill -9`` of the server."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
torch = pytest.importorskip("torch")

from fastapi.testclient import TestClient  # noqa: E402

from cadenza import read_score  # noqa: E402
from cadenza.cli import main  # noqa: E402
from cadenza.serve import ServeConfig  # noqa: E402
from cadenza.serve.app import create_app  # noqa: E402
from cadenza.serve.config import is_loopback  # noqa: E402
from cadenza.serve.store import SqliteJobStore  # noqa: E402
from cadenza.serve.worker import JobCancelled, JobProgress, WorkerPool, work_one  # noqa: E402
from tests import serve_fixtures  # noqa: E402

config, store, client = serve_fixtures.config, serve_fixtures.store, serve_fixtures.client  # pytest fixtures

COMPOSE = {"kind": "compose", "request": {"key": "D minor", "meter": "3/4", "bars": 4, "seed": 1},
           "formats": ["mid", "musicxml"]}




def _until(client: TestClient, job_id: str, states: tuple[str, ...], seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['state']} after {seconds} s")


def _one_line_error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    error: str = response.json()["error"]
    assert error and "\n" not in error and "Traceback" not in error
    return error


def test_a_compose_job_runs_in_a_worker_process_end_to_end(client: TestClient, config: ServeConfig,
                                                           store: SqliteJobStore, tmp_path: Path) -> None:
    pool = WorkerPool(config, store).start()
    try:
        posted = client.post("/v1/jobs", json=COMPOSE)
        assert posted.status_code == 202 and posted.json()["state"] == "queued"
        job_id = posted.json()["id"]
        assert posted.headers["location"] == f"/v1/jobs/{job_id}"
        job = _until(client, job_id, ("done", "failed"))
    finally:
        pool.stop()
    assert job["state"] == "done", job["error"]
    assert job["progress"] == 1.0 and job["error"] is None and job["attempts"] == 0
    report = job["report"]
    assert report["request"]["key"] == "D minor" and report["request"]["bars"] == 4
    assert report["plan"]["key"] == "D minor" and report["plan"]["meter"] == "3/4"
    assert report["files"] == {"piece": "piece.mid", "mid": "piece.mid", "musicxml": "piece.musicxml",
                               "report": "report.json"}
    assert job["files"] == ["piece.mid", "piece.musicxml", "report.json"]
    assert str(config.data) not in json.dumps(report)  # clients see file names, not the server's folders
    midi = client.get(f"/v1/jobs/{job_id}/files/piece.mid")
    assert midi.status_code == 200 and midi.headers["content-type"] == "audio/midi"
    (tmp_path / "got.mid").write_bytes(midi.content)
    score = read_score(tmp_path / "got.mid")
    assert score.bar_count == 4 and [str(t) for t in score.time_signatures] == ["3/4"]
    assert [(k.sharps, k.mode) for k in score.key_signatures] == [(-1, "minor")]
    assert client.get(f"/v1/jobs/{job_id}/files/report.json").json() == report
    listed = client.get("/v1/jobs").json()["jobs"]
    assert [(j["id"], j["state"]) for j in listed] == [(job_id, "done")] and "report" not in listed[0]


@pytest.mark.parametrize(("body", "says"), [
    ({"kind": "compose", "request": {"colour": "red"}}, "unknown option 'colour'"),
    ({"kind": "compose", "request": {"key": "H major"}}, "unknown tonic 'H'"),
    ({"kind": "compose", "request": {"bars": "many"}}, "expected a whole number"),
    ({"kind": "compose", "request": {"tempo": 1000}}, "give 20 to 400"),
    ({"kind": "compose", "formats": ["docx"]}, "unknown format 'docx'"),
    ({"kind": "compose", "colour": "red"}, "colour"),
    ({"kind": "sing"}, "kind"),
    ({"kind": "continue", "request": {"bars": 2}}, "needs a source"),
    ({"kind": "analyse", "source": "0" * 32}, "no such upload"),
    ({"kind": "soundtrack", "request": {"timeline": "/etc/passwd"}}, "timeline item"),
    ({"kind": "revise", "source": None, "request": {"bars": "5-8"}}, "needs a source"),
])
def test_a_bad_request_is_a_400_with_one_line_and_makes_no_job(client: TestClient, store: SqliteJobStore,
                                                               body: dict[str, Any], says: str) -> None:
    assert says in _one_line_error(client.post("/v1/jobs", json=body), 400)
    assert client.get("/v1/jobs").json() == {"jobs": []} and store.count("queued") == 0


def test_a_body_that_is_not_json_is_a_400(client: TestClient) -> None:
    response = client.post("/v1/jobs", content=b"{kind: compose", headers={"content-type": "application/json"})
    assert "not valid JSON" in _one_line_error(response, 400)


def test_an_unknown_job_is_a_404(client: TestClient) -> None:
    for path in ("/v1/jobs/" + "f" * 32, "/v1/jobs/nope", "/v1/jobs/" + "f" * 32 + "/files/piece.mid"):
        assert "no job" in _one_line_error(client.get(path), 404)
    assert "no job" in _one_line_error(client.delete("/v1/jobs/" + "f" * 32), 404)


def test_the_files_route_serves_only_the_jobs_own_files(client: TestClient, config: ServeConfig,
                                                        store: SqliteJobStore) -> None:
    job_id = client.post("/v1/jobs", json={"kind": "compose", "request": {"bars": 2}}).json()["id"]
    assert work_one(store, config) == "done"
    (store.folder(job_id) / ".secret").write_text("hidden")
    base = f"/v1/jobs/{job_id}/files"
    assert client.get(f"{base}/piece.mid").status_code == 200
    for name in ("%2e%2e", ".secret", "%2e%2e%5cjobs.sqlite", "piece.mid%00.txt"):
        assert client.get(f"{base}/{name}").status_code == 400, name
    for name in ("..%2F..%2Fjobs.sqlite", "%2Fetc%2Fpasswd", "piece.wav", "jobs.sqlite"):
        assert client.get(f"{base}/{name}").status_code == 404, name
    assert client.get(f"/v1/jobs/..%2F..%2F{job_id}/files/piece.mid").status_code == 404


def test_uploads_are_limited_typed_and_read_before_they_are_kept(client: TestClient, config: ServeConfig,
                                                                 store: SqliteJobStore, tmp_path: Path) -> None:
    uploads = config.data / "uploads"
    too_big = client.post("/v1/uploads", files={"file": ("big.mid", b"\0" * (config.max_upload_bytes + 1))})
    assert "larger than" in _one_line_error(too_big, 413)
    huge = client.post("/v1/uploads", files={"file": ("huge.mid", b"\0" * (config.max_upload_bytes * 2))})
    assert "larger than" in _one_line_error(huge, 413)  # refused from its Content-Length, before it is read
    assert "send one of" in _one_line_error(client.post("/v1/uploads", files={"file": ("a.txt", b"hi")}), 415)
    for corrupt in (b"MThd garbage", b"RIFF\0\0\0\0WAVEfmt not a MIDI file at all"):
        error = _one_line_error(client.post("/v1/uploads", files={"file": ("bad.mid", corrupt)}), 400)
        assert error.startswith("bad.mid: ") and str(config.data) not in error
    assert not list(uploads.iterdir())  # nothing refused is kept
    # a readable primer is kept, and a continue job names it
    job_id = client.post("/v1/jobs", json={"kind": "compose", "request": {"bars": 2, "key": "G major"}}).json()["id"]
    assert work_one(store, config) == "done"
    primer = client.get(f"/v1/jobs/{job_id}/files/piece.mid").content
    kept = client.post("/v1/uploads", files={"file": ("../../primer.mid", primer)})
    assert kept.status_code == 201, kept.text
    upload = kept.json()
    assert upload["name"] == "primer.mid" and upload["summary"]["bars"] == 2
    assert [p.name for p in uploads.iterdir()] == [f"{upload['id']}.mid"]
    posted = client.post("/v1/jobs", json={"kind": "continue", "source": upload["id"], "request": {"bars": 2}})
    assert posted.status_code == 202, posted.text
    assert work_one(store, config) == "done"
    (tmp_path / "more.mid").write_bytes(client.get(f"/v1/jobs/{posted.json()['id']}/files/piece.mid").content)
    assert read_score(tmp_path / "more.mid").bar_count == 4  # the primer's 2 bars and 2 new ones


def test_cancelling_a_queued_job_means_it_never_runs(client: TestClient, config: ServeConfig,
                                                     store: SqliteJobStore) -> None:
    job_id = client.post("/v1/jobs", json=COMPOSE).json()["id"]
    cancelled = client.delete(f"/v1/jobs/{job_id}")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert work_one(store, config) is None  # nothing left to claim
    job = client.get(f"/v1/jobs/{job_id}").json()
    assert job["state"] == "cancelled" and job["files"] == [] and job["report"] is None
    done_id = client.post("/v1/jobs", json={"kind": "compose", "request": {"bars": 2}}).json()["id"]
    assert work_one(store, config) == "done"
    assert "is done" in _one_line_error(client.delete(f"/v1/jobs/{done_id}"), 409)


def _upload_a_piece(client: TestClient, config: ServeConfig, store: SqliteJobStore, bars: int = 2) -> str:
    job_id = client.post("/v1/jobs", json={"kind": "compose", "request": {"bars": bars, "key": "G major"}}).json()["id"]
    assert work_one(store, config) == "done"
    piece = client.get(f"/v1/jobs/{job_id}/files/piece.mid").content
    upload_id: str = client.post("/v1/uploads", files={"file": ("piece.mid", piece)}).json()["id"]
    return upload_id


def test_every_kind_of_job_runs_through_the_api(client: TestClient, config: ServeConfig,
                                                store: SqliteJobStore) -> None:
    piece = _upload_a_piece(client, config, store, bars=3)
    bodies = {
        "soundtrack": {"kind": "soundtrack", "request": {"timeline": "calm:6s,tense:6s", "seed": 1}},
        "analyse": {"kind": "analyse", "source": piece},
        "check": {"kind": "check", "source": piece, "request": {"threshold": 12}},
        "revise": {"kind": "revise", "source": piece, "request": {"bars": "2-3", "versions": 2, "seed": 1}},
        "like": {"kind": "compose", "like": piece, "like_strength": 0.8, "request": {"bars": 2}},
    }
    ids = {name: client.post("/v1/jobs", json=body).json()["id"] for name, body in bodies.items()}
    while work_one(store, config):
        pass
    jobs = {name: client.get(f"/v1/jobs/{job_id}").json() for name, job_id in ids.items()}
    assert {name: (job["state"], job["error"]) for name, job in jobs.items()} == {
        name: ("done", None) for name in bodies}
    assert len(jobs["soundtrack"]["report"]["cues"]) == 2
    assert {"soundtrack.mid", "cues.json", "report.json"} <= set(jobs["soundtrack"]["files"])
    assert jobs["analyse"]["report"]["labels"]["length_bars"] == 3 and jobs["analyse"]["files"] == ["report.json"]
    assert jobs["check"]["report"]["verdict"] in ("original", "copied")
    assert jobs["check"]["report"]["threshold_notes"] == {"top": 12, "bass": 12}
    assert jobs["revise"]["report"]["revised"]["bars"] == [2, 3]
    assert "like" in jobs["like"]["report"]


def test_a_failing_job_fails_with_one_line_and_the_worker_goes_on(client: TestClient, config: ServeConfig,
                                                                  store: SqliteJobStore,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    piece = _upload_a_piece(client, config, store)
    beyond = client.post("/v1/jobs", json={"kind": "revise", "source": piece, "request": {"bars": "9-12"}}).json()
    assert work_one(store, config) == "failed"
    job = client.get(f"/v1/jobs/{beyond['id']}").json()
    assert job["state"] == "failed" and job["error"] == "bars '9-12': the piece has bars 1 to 2"

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr("cadenza.api.compose", broken)
    bug = client.post("/v1/jobs", json={"kind": "compose", "request": {"bars": 2}}).json()
    assert work_one(store, config) == "failed"
    assert client.get(f"/v1/jobs/{bug['id']}").json()["error"] == "internal error (RuntimeError): a bug over two lines"
    monkeypatch.undo()
    after = client.post("/v1/jobs", json={"kind": "compose", "request": {"bars": 2}}).json()
    assert work_one(store, config) == "done" and client.get(f"/v1/jobs/{after['id']}").json()["state"] == "done"


def test_a_stopping_worker_hands_its_job_back_and_a_full_queue_refuses_more(store: SqliteJobStore,
                                                                            config: ServeConfig) -> None:
    small = ServeConfig(data=config.data, checkpoint=config.checkpoint, max_queued=1)
    with TestClient(create_app(small, store)) as client:
        job_id = client.post("/v1/jobs", json=COMPOSE).json()["id"]
        assert "queue is full" in _one_line_error(client.post("/v1/jobs", json=COMPOSE), 503)
        stopping = threading.Event()
        stopping.set()  # SIGTERM came: the job goes back at its first progress report, not counted as an attempt
        assert work_one(store, config, stopping) == "released"
        job = client.get(f"/v1/jobs/{job_id}").json()
        assert (job["state"], job["attempts"], job["files"]) == ("queued", 0, [])
        big = client.post("/v1/jobs", content=b" " * 1_000_001, headers={"content-type": "application/json"})
        assert "larger than" in _one_line_error(big, 413)


def test_a_running_job_stops_at_its_next_progress_report_once_cancelled(store: SqliteJobStore) -> None:
    job = store.create("compose", COMPOSE)
    assert store.claim(os.getpid()) is not None
    progress = JobProgress(store, job.id, stopping=threading.Event(), parent_pid=None, every_s=0)
    progress(1, 4)
    assert store.get(job.id).progress == 0.25  # type: ignore[union-attr]
    assert store.cancel(job.id).state == "cancelled"  # type: ignore[union-attr]
    with pytest.raises(JobCancelled):
        progress(2, 4)


def test_recover_queues_a_job_left_running_again_and_fails_it_after_two_attempts(store: SqliteJobStore) -> None:
    job = store.create("compose", COMPOSE)
    done = store.create("compose", COMPOSE)
    assert store.claim(4242).id == job.id and store.claim(4243).id == done.id  # type: ignore[union-attr]
    assert store.finish(done.id, 4243, {"ok": True})
    store.work_folder(job.id).mkdir(parents=True)
    (store.work_folder(job.id) / "piece.mid").write_bytes(b"half")
    assert [(j.id, j.state, j.attempts) for j in store.recover()] == [(job.id, "queued", 1)]
    assert not store.work_folder(job.id).exists()  # what the dead run half-wrote is gone
    again = store.claim(4244)
    assert again is not None and again.id == job.id and again.attempts == 1
    [failed] = store.recover()
    assert failed.state == "failed" and failed.error == "the server stopped during this job 2 times"
    assert store.claim(4245) is None and store.recover() == []
    assert store.get(done.id).state == "done"  # type: ignore[union-attr]


def test_the_api_key_guards_every_v1_route(config: ServeConfig, store: SqliteJobStore) -> None:
    keyed = ServeConfig(data=config.data, checkpoint=config.checkpoint, api_key="s3cret-key")
    with TestClient(create_app(keyed, store)) as client:
        assert "X-API-Key" in _one_line_error(client.get("/v1/jobs"), 401)
        assert client.post("/v1/jobs", json=COMPOSE, headers={"X-API-Key": "wrong-key"}).status_code == 401
        assert client.get("/v1/jobs", headers={"X-API-Key": "s3cret-key"}).status_code == 200
        assert client.get("/docs").status_code == 200
        assert "/v1/jobs/{job_id}/files/{name}" in client.get("/openapi.json").json()["paths"]
    assert store.count("queued") == 0


def test_the_command_refuses_what_it_cannot_serve_in_one_line(tmp_path: Path, tiny: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    assert main(["serve", "--host", "0.0.0.0", "--data", data]) == 2
    assert "--api-key" in capsys.readouterr().err
    assert main(["serve", "--workers", "0", "--data", data]) == 2
    assert main(["serve", "--checkpoint", str(tmp_path), "--data", data]) == 2
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["serve", "--port", str(taken.getsockname()[1]), "--data", data, "--checkpoint", str(tiny)]) == 2
    err = capsys.readouterr().err
    assert "the port is in use" in err and "Traceback" not in err
    monkeypatch.setattr("cadenza.serve.find_spec", lambda name: None)
    assert main(["serve", "--data", data]) == 2
    err = capsys.readouterr().err
    assert "pip install 'cadenza[serve]'" in err and len(err.strip().splitlines()) == 1
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2") and not is_loopback("example.org")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its reaper does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _start(port: int, data: Path, tiny: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "cadenza", "serve", "--port", str(port), "--data", str(data),
                               "--checkpoint", str(tiny), "--workers", "1", "--threads", "1"],
                              stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            if _http("GET", f"http://127.0.0.1:{port}/v1/status")[0] == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError(f"the server did not answer: {log.read_text()}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kill -9 and /proc: Linux")
def test_an_accepted_job_survives_a_kill_9_of_the_server(tmp_path: Path, tiny: Path) -> None:
    data, log, port = tmp_path / "data", tmp_path / "server.log", _free_port()
    base = f"http://127.0.0.1:{port}/v1"
    server = _start(port, data, tiny, log)
    try:
        status, posted = _http("POST", f"{base}/jobs", {"kind": "compose", "request": {
            "key": "E minor", "bars": 16, "candidates": 4, "seed": 2}})
        assert status == 202, posted
        job_id = posted["id"]
        deadline = time.monotonic() + 60
        while _http("GET", f"{base}/jobs/{job_id}")[1]["state"] == "queued" and time.monotonic() < deadline:
            time.sleep(0.02)
        db = sqlite3.connect(data / "jobs.sqlite")
        state, worker = db.execute("SELECT state, worker_pid FROM jobs WHERE id = ?", (job_id,)).fetchone()
        assert state == "running", state  # caught mid-job (16 bars, 4 candidates: about a second here)
        # a second server on the same folder is refused while this one lives
        refused = subprocess.run([sys.executable, "-m", "cadenza", "serve", "--port", str(_free_port()), "--data",
                                  str(data)], capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "in use by another cadenza serve" in refused.stderr
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker)  # the worker went with its server
        assert db.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()[0] == "running"
        db.close()
        server = _start(port, data, tiny, log)
        deadline = time.monotonic() + 90
        while (job := _http("GET", f"{base}/jobs/{job_id}")[1])["state"] not in ("done", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        assert job["state"] == "done" and job["attempts"] == 1, job
        assert job["report"]["request"]["bars"] == 16
        assert sorted(p.name for p in (data / "jobs" / job_id).iterdir()) == ["piece.mid", "report.json"]
        with urllib.request.urlopen(f"{base}/jobs/{job_id}/files/piece.mid", timeout=10) as response:
            (tmp_path / "got.mid").write_bytes(response.read())
        assert read_score(tmp_path / "got.mid").bar_count == 16
        assert not (data / "work" / job_id).exists()
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0, log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
