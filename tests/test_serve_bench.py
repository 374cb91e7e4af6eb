"""``benchmarks/serve.py`` end to end, small: a real ``cadenza serve`` with a tiny untrained model, 3 compose
jobs of 2 bars, then a ``kill -9`` with 2 jobs and a restart. Every job is accounted for, the results file has
its figures, and no process of the server is left behind."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
torch = pytest.importorskip("torch")

from benchmarks import serve as serve_bench  # noqa: E402
from cadenza.model.checkpoint import new_model, save_checkpoint  # noqa: E402


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kill -9 and /proc: Linux")
def test_the_serve_benchmark_loses_no_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(3)
    already = set(serve_bench.descendants(os.getpid()))  # children of earlier tests (a parser child, …)
    tiny = save_checkpoint(new_model("tiny"), tmp_path / "tiny")
    out = tmp_path / "serve.json"
    code = serve_bench.main(["--jobs", "3", "--bars", "2", "--kill-jobs", "2", "--workers", "2",
                             "--checkpoint", str(tiny), "--timeout", "120", "--out", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    for key in ("benchmark", "date", "commit", "command", "machine", "config", "server_command", "load", "kill9",
                "lost", "seconds"):
        assert key in report, key
    assert report["command"].startswith("python -m benchmarks.serve --jobs 3")
    assert report["machine"]["cpus"] == os.cpu_count()
    load, kill = report["load"], report["kill9"]
    assert load["accepted"] + load["rejected"] == 3 and load["lost"] == 0 and load["all_finished_in_time"]
    assert load["done"] + load["failed"] == load["accepted"]
    assert load["jobs_per_minute"] > 0 and 0 < load["latency_s"]["p50"] <= load["latency_s"]["p95"]
    assert load["rss"]["peak_mb"] > 0 and load["rss"]["processes_at_peak"] >= 3  # the server and 2 workers
    assert kill["accepted_before_kill"] == 2 and kill["lost"] == 0 and kill["workers_outliving_the_server"] == 0
    assert kill["finished_after_restart"] + kill["states_at_kill"].get("done", 0) == 2
    assert [job["attempts"] for job in kill["jobs_detail"]] and all(
        job["final_state"] in ("done", "failed") for job in kill["jobs_detail"])
    assert kill["earlier_jobs_still_done"] == f"{load['done']}/{load['done']}"
    assert report["lost"] == 0 and report["clean_stop_exit_code"] == 0
    assert "0 lost" in capsys.readouterr().out
    assert set(serve_bench.descendants(os.getpid())) - already == set()  # no server or worker left running
