"""Torch's thread count is chosen once per process (``--threads``, ``CADENZA_THREADS``, the default) and nothing
flips it per call: sampling runs on the count chosen, not on one thread forced for the call."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import cadenza.threads as threads  # noqa: E402
from cadenza.cli import build_parser, main  # noqa: E402
from cadenza.cli.common import apply_threads  # noqa: E402
from cadenza.errors import UsageError  # noqa: E402
from cadenza.model.checkpoint import new_model  # noqa: E402
from cadenza.model.sample import SampleConfig, generate  # noqa: E402
from cadenza.score import Score  # noqa: E402
from cadenza.tokens import encode, label_vocabulary  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_choice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with nothing chosen and leaves torch as it found it."""
    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "_chosen", None)
    monkeypatch.setattr(threads, "_applied", None)
    monkeypatch.delenv(threads.ENV_VARIABLE, raising=False)
    yield
    torch.set_num_threads(before)


def test_the_count_comes_from_the_option_else_the_environment_else_the_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert threads.resolve_threads() == threads.DEFAULT_THREADS == 1
    monkeypatch.setenv(threads.ENV_VARIABLE, "3")
    assert threads.resolve_threads() == 3
    assert threads.resolve_threads(2) == 2
    for bad in ("0", "two", "-1", "999"):
        monkeypatch.setenv(threads.ENV_VARIABLE, bad)
        with pytest.raises(UsageError, match=threads.ENV_VARIABLE):
            threads.resolve_threads()
    with pytest.raises(UsageError, match="--threads 0"):
        threads.resolve_threads(0)


def test_the_first_model_gives_torch_the_chosen_count_and_later_models_keep_it() -> None:
    torch.set_num_threads(2)
    assert threads.set_threads(1) == 1 and torch.get_num_threads() == 1  # torch loaded: told at once
    new_model("tiny", context=32)
    assert torch.get_num_threads() == 1 and threads.chosen_threads() == 1
    assert threads.set_threads() == 1  # no count: the chosen one stands


def test_sampling_runs_on_the_chosen_count_not_one_forced_per_call(waltz: Score) -> None:
    """The old ``one_thread()`` set one thread inside every ``generate`` and put the count back after it."""
    threads.set_threads(2)
    torch.manual_seed(0)
    model = new_model("tiny", context=64)
    seen: list[int] = []
    generate(model, encode(waltz)[:12].astype(np.int64), SampleConfig(max_steps=5, min_steps=5, seed=1),
             len(label_vocabulary()), on_step=lambda step: seen.append(torch.get_num_threads()))
    assert seen == [2] * 5 and torch.get_num_threads() == 2


def test_threads_option_before_or_after_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    assert apply_threads(parser.parse_args(["--threads", "2", "info", "x.mid"])) == 2
    assert apply_threads(parser.parse_args(["info", "x.mid", "--threads", "3"])) == 3
    served = parser.parse_args(["--threads", "2", "serve"])  # serve's own --threads (per worker) takes it
    apply_threads(served)
    assert served.threads == 2
    assert main(["--threads", "0", "info", "x.mid"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["cadenza: error: --threads 0: give a whole number of threads, 1 to 256"]


def test_the_python_api_takes_threads_as_the_cli_does() -> None:
    import cadenza

    assert cadenza.set_threads is threads.set_threads
    made = cadenza.compose(ensemble="solo", bars=2, seed=3, threads=2)
    assert threads.chosen_threads() == 2 and torch.get_num_threads() == 2 and made.score.note_count
    with pytest.raises(UsageError, match="--threads 0"):
        cadenza.compose(ensemble="solo", bars=2, threads=0)
