"""Every bad or hostile input gives a Score or a clear one-line error, in at most 10 s and 2 GB.

Two sources of files:

- the real files in ``../shared/badinputs/`` (copied from public test suites; skipped when the folder is
  absent), and
- the synthetic hostile files of :mod:`hostile`, generated once per session (truncated and lying MIDI
  headers, 65535 tracks, zip bombs, entity expansion, 30k-measure MusicXML…).

Each file is read by ``python -m cadenza info FILE --json`` in a subprocess with an address-space cap; the
child's wall time and peak resident memory (from ``os.wait4``, which includes the guarded parser's own
child) are measured. A run passes when it exits 0 with a JSON object on stdout, or exits 2 with exactly
one stderr line ``cadenza: error: ...`` and no traceback. Where the right outcome is clear (a bomb must be
refused, a valid file must read), the test checks that too.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

try:
    import hostile
except ImportError:  # tests/ made a package
    from tests import hostile

REPO = Path(__file__).resolve().parents[1]
BADINPUTS = Path(__file__).resolve().parents[2] / "shared" / "badinputs"
SKIP_NAMES = {"LICENSE", "LICENCE", "README", "SOURCES", "MANIFEST", "COPYING", "NOTICE"}

TIME_LIMIT_S = 10.0
MEMORY_LIMIT_MB = 2048
ADDRESS_SPACE_CAP = 3 << 30  # RLIMIT_AS of the cadenza process: a runaway allocation fails, not the machine

#: real files whose outcome is not a matter of taste (the others only have to behave)
REAL_EXPECT = {
    "test-empty-file.mid": "error",
    "test-not-a-midi-file.mid": "error",
    "header-type-00-single.mid": "error",
    "header-type-02-multi-song.mid": "error",
    "test-running-status-metaevent.mid": "ok",
    "test-running-status-sysex.mid": "ok",
    "test-corrupt-file-extra-byte.mid": "ok",
    "test-corrupt-file-missing-byte.mid": "ok",
    "test-non-midi-track.mid": "ok",
    "test-vlq-4-byte.mid": "ok",
    "test-2-tracks-type-2.mid": "ok",
    "test-empty.mid": "ok",
    "tuba-note-increasing-length.mid": "ok",
    "Issue104_Bizarre_Love_Triangle2.mid": "ok",
    "ValueError_Control168.mid": "ok",
    "文件_#@!.midi": "ok",
}


def _real_files() -> list[Path]:
    if not BADINPUTS.is_dir():
        return []
    return sorted(p for p in BADINPUTS.rglob("*")
                  if p.is_file() and p.stem.upper() not in SKIP_NAMES and not p.name.startswith("."))


@dataclass(frozen=True)
class Outcome:
    returncode: int | None  # None: killed at the time limit
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float
    limit_s: float = TIME_LIMIT_S  # the answer's time limit: TIME_LIMIT_S, and the parsers' allowance per MB

    def describe(self) -> str:
        if self.returncode is None:
            return f"killed after {self.seconds:.1f} s"
        text = "ok" if self.returncode == 0 else self.stderr.strip()
        return f"rc={self.returncode} {self.seconds:.2f} s {self.peak_mb:.0f} MB: {text[:300]}"


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))


def time_limit_s(path: Path) -> float:
    """How long ``cadenza info`` may take on ``path``: TIME_LIMIT_S, plus what the reading limits allow the
    notation parsers for a file that size (their time limit grows with the text)."""
    from cadenza.score import ReadLimits

    return TIME_LIMIT_S + ReadLimits().timeout_s_per_mb * path.stat().st_size / 2**20


def run_info(path: Path, timeout_s: float | None = None) -> Outcome:
    """``cadenza info PATH --json`` in a capped subprocess; its exit, output, wall time and peak RSS."""
    timeout_s = time_limit_s(path) if timeout_s is None else timeout_s
    # one BLAS thread: on a many-core machine OpenBLAS reserves address space per thread, which the cap counts
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "cadenza", "info", str(path), "--json"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=REPO, env=env,
            preexec_fn=_cap_memory, start_new_session=True,
        )
        returncode: int | None = None
        usage = None
        deadline = start + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                _, _, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        seconds = time.monotonic() - start
        proc.returncode = returncode if returncode is not None else -9  # reaped here, not by Popen
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the guarded parser's own child, if left
            os.killpg(proc.pid, signal.SIGKILL)
        out.seek(0)
        err.seek(0)
        return Outcome(returncode, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                       seconds, usage.ru_maxrss / 1024, timeout_s)


def check_outcome(result: Outcome, expect: str = "either", message: str = "") -> None:
    """The contract of ``cadenza info`` on any input, plus the expected outcome where one is known."""
    assert result.returncode is not None, f"no answer within {result.limit_s:g} s"
    assert result.seconds <= result.limit_s, result.describe()
    assert result.peak_mb < MEMORY_LIMIT_MB, f"peak memory {result.peak_mb:.0f} MB"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode in (0, 2), result.describe()
    if result.returncode == 0:
        summary = json.loads(result.stdout)
        assert isinstance(summary, dict) and "notes" in summary and "parts" in summary
        assert expect in ("ok", "either"), f"expected an error, got a score: {result.stdout[:300]}"
    else:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, f"expected one stderr line, got {len(lines)}: {result.stderr[:1000]}"
        line = lines[0]
        assert line.startswith("cadenza: error: ") and line[len("cadenza: error: "):].strip(), line
        assert expect in ("error", "either"), f"expected a score, got: {line}"
        if message:
            assert message.lower() in line.lower(), f"{message!r} not in: {line}"


# ------------------------------------------------------------------------------------------- tests

REAL_FILES = _real_files()


@pytest.mark.skipif(not BADINPUTS.is_dir(), reason=f"{BADINPUTS} is absent")
@pytest.mark.parametrize("path", REAL_FILES, ids=[str(p.relative_to(BADINPUTS)) for p in REAL_FILES])
def test_real_bad_input(path: Path) -> None:
    check_outcome(run_info(path), REAL_EXPECT.get(path.name, "either"))


def test_real_bad_inputs_present() -> None:
    if not BADINPUTS.is_dir():
        pytest.skip(f"{BADINPUTS} is absent")
    assert REAL_FILES, f"{BADINPUTS} holds no files"


@pytest.fixture(scope="session")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return hostile.generate_all(tmp_path_factory.mktemp("hostile"))


def _case_param(case: hostile.Case) -> object:
    marks = [pytest.mark.xfail(reason=case.known_failure, strict=False)] if case.known_failure else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_case_param(c) for c in hostile.CASES])
def test_hostile_input(case: hostile.Case, hostile_files: dict[str, Path]) -> None:
    check_outcome(run_info(hostile_files[case.id]), case.expect, case.message)


def test_hostile_generators_are_small_and_fast(tmp_path: Path) -> None:
    """Generating every case stays cheap (the bombs are built without their payload in memory). The time
    bound is loose (it takes a few seconds): it catches a payload built in full, not a slow machine."""
    start = time.monotonic()
    files = hostile.generate_all(tmp_path)
    assert time.monotonic() - start < 120
    assert len(files) == len(hostile.CASES)
    assert sum(p.stat().st_size for p in files.values()) < 64 << 20


def test_the_parsers_time_limit_grows_with_the_text() -> None:
    from cadenza.score import ReadLimits

    limits = ReadLimits()
    assert limits.parse_timeout_s(0) == limits.timeout_s
    assert limits.parse_timeout_s(10 * 2**20) == pytest.approx(limits.timeout_s + 10 * limits.timeout_s_per_mb)
    assert ReadLimits(timeout_s=2, timeout_s_per_mb=1e-9).parse_timeout_s(2**20) == pytest.approx(2)
