"""The fuzzers of ``benchmarks/fuzz.py``, driven by hypothesis for a bounded number of examples: the readers
over mutated real files, the live stream's control lines, model folders and the request space each end in a
result or one of Cadenza's own one-line errors, within their time bounds. A failure shrinks to its smallest
edits. ``python -m benchmarks.fuzz --minutes 30`` runs the same targets for longer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from benchmarks.fuzz import (  # noqa: E402
    EDIT_KINDS,
    Target,
    apply_edits,
    control_target,
    fuzz,
    model_target,
    reader_target,
    request_target,
    run_one,
)

EDITS = st.lists(st.tuples(st.sampled_from(EDIT_KINDS), st.integers(0, 1 << 20), st.binary(max_size=4)),
                 min_size=1, max_size=6)
FAST = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def readers(workdir: Path) -> Target:
    return reader_target(workdir)


def _needing_torch(make: Callable[[Path], Target | None], workdir: Path) -> Target:
    pytest.importorskip("torch")
    target = make(workdir)
    assert target is not None
    return target


@pytest.fixture(scope="module")
def models(workdir: Path) -> Target:
    return _needing_torch(model_target, workdir)


@pytest.fixture(scope="module")
def requests(workdir: Path) -> Target:
    return _needing_torch(request_target, workdir)


def _holds(target: Target, data: bytes) -> None:
    problem, _ = run_one(target, data)
    assert problem is None, f"{target.name}: {problem} on input {data[:80]!r}"


def test_edits_change_bytes_as_named() -> None:
    data = b"abcdef"
    assert apply_edits(data, [("truncate", 2, b"")]) == b"ab"
    assert apply_edits(data, [("insert", 0, b"XY")]) == b"XYabcdef"
    assert apply_edits(data, [("delete", 1, b"")]) == b"acdef"
    assert apply_edits(data, [("flip", 8, b"")]) == b"accdef"  # position 8 wraps to byte 1, and flips its bit 0
    assert apply_edits(b"", [("flip", 3, b""), ("set", 1, b"z"), ("delete", 5, b"")]) == b""


@FAST
@given(seed=st.integers(0, 4), edits=EDITS)
def test_the_readers_survive_mutated_scores(readers: Target, seed: int, edits: list) -> None:
    _holds(readers, apply_edits(readers.seeds[seed], edits))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(seed=st.integers(0, 4), edits=EDITS)
def test_a_mutated_control_line_is_checked_or_refused_in_one_line(seed: int, edits: list) -> None:
    target = control_target()
    _holds(target, apply_edits(target.seeds[seed], edits))


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(change=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                               st.sampled_from(["mood", "valence", "arousal", "intensity", "tempo", "density",
                                                "epoch", "key", "stop", "other"]), inner, max_size=4),
                           max_leaves=8))
def test_any_json_value_as_a_control_is_checked_or_refused(change: object) -> None:
    _holds(control_target(), json.dumps(change).encode())


@FAST
@given(which=st.integers(0, 1), edits=EDITS)
def test_a_mutated_model_folder_loads_or_is_refused_in_one_line(models: Target, which: int, edits: list) -> None:
    _holds(models, apply_edits(models.seeds[which], edits))


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(choices=st.binary(min_size=0, max_size=16))
def test_any_request_composes_or_is_refused_in_one_line(requests: Target, choices: bytes) -> None:
    _holds(requests, choices)


def test_the_fuzz_benchmark_counts_executions_and_crashes(tmp_path: Path) -> None:
    result = fuzz(0.05, seed=3, workdir=tmp_path)  # three seconds, shared by the targets
    assert result["crashes"] == 0 and result["executions"] >= len(result["targets"])
    assert {"readers", "controls"} <= set(result["targets"]) and result["peak_memory_mb"] > 0
    for row in result["targets"].values():
        assert row["executions"] >= 1 and row["slowest_s"] >= 0


def test_music21s_own_complaints_stay_off_stderr_and_go_to_the_debug_log(
        tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from cadenza.cli import main
    from cadenza.score import read_score

    kern = tmp_path / "odd-meter.krn"
    kern.write_text("**kern\t**kern\n*M3?4\t*M3/4\n=1\t=1\n4C\t4cc\n4E\t4ee\n=2\t=2\n2C\t2cc\n==\t==\n*-\t*-\n")
    assert main(["info", str(kern)]) == 0
    quiet = capfd.readouterr()
    assert "spineParser" not in quiet.err and "notes" in quiet.out  # read, and music21's words kept back
    caplog.set_level(logging.DEBUG, logger="cadenza.score.read")
    read_score(kern)
    assert "music21 said" in caplog.text and "*M3?4" in caplog.text  # there for -v


def test_the_fuzz_run_leaves_the_log_as_it_found_it(tmp_path: Path) -> None:
    import logging

    before = logging.getLogger("cadenza").level
    fuzz(0.01, workdir=tmp_path)
    assert logging.getLogger("cadenza").level == before


def test_an_mxl_whose_directory_needs_a_newer_zip_version_is_refused_in_one_line(tmp_path: Path) -> None:
    # found by the fuzzer: zipfile raises NotImplementedError ("zip file version 18.0") while opening it
    from benchmarks.fuzz import seed_scores
    from cadenza.errors import CorruptFileError
    from cadenza.score import read_score

    mxl = next(p for p in seed_scores(tmp_path / "seeds") if p.suffix == ".mxl").read_bytes()
    entry = mxl.index(b"PK\x01\x02")  # the first central directory entry; its version needed at +6
    damaged = mxl[:entry + 6] + (180).to_bytes(2, "little") + mxl[entry + 8:]
    (tmp_path / "new.mxl").write_bytes(damaged)
    with pytest.raises(CorruptFileError, match="zip file version"):
        read_score(tmp_path / "new.mxl")
