"""The benchmark suites as library functions, on tiny runs: the compose grid's adherence table (meter is
enforced by construction, so even an untrained model meets it) and the quality comparison's shape."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from cadenza.compose.ensembles import ENSEMBLES  # noqa: E402
from cadenza.lab.compose import ComposeBenchConfig, compare_quality, control  # noqa: E402
from cadenza.listen.quality import METRICS, quality  # noqa: E402
from cadenza.model.checkpoint import new_model, save_checkpoint  # noqa: E402
from cadenza.score import read_score  # noqa: E402


@pytest.fixture(scope="module")
def untrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(3)
    return save_checkpoint(new_model("tiny"), tmp_path_factory.mktemp("model") / "tiny")


def test_the_control_grid_measures_adherence_per_axis(untrained: Path) -> None:
    config = ComposeBenchConfig(seeds=1, bars=2, axes=("meter", "ensemble"), checkpoint=str(untrained))
    done: list[int] = []
    table, pieces = control(config, lambda d, t: done.append(d))
    assert len(pieces) == 6 + len(ENSEMBLES) and done[-1] == len(pieces)
    assert table["meter"]["share"] == 1.0 and table["meter"]["chance"] == round(1 / 6, 3)
    assert table["meter"]["goal"] == 0.98 and set(table["meter"]["per_value"]) == {"2/4", "3/4", "4/4", "2/2",
                                                                                   "6/8", "12/8"}
    assert all(set(p["quality"]) == set(METRICS) for p in pieces)


def test_quality_is_compared_with_the_real_works_percentiles() -> None:
    real = {"baroque": [quality(read_score(f"music21:bach/bwv{n}")) for n in ("66.6", "1.6", "2.6", "3.6")]}
    made = [{"axis": "epoch", "asked": "baroque", "quality": real["baroque"][0]}]
    compared = compare_quality(made, real)
    rows = compared["per_epoch"]["baroque"]["metrics"]
    assert set(rows) == set(METRICS) and compared["per_epoch"]["baroque"]["real"] == 4
    assert all(r["real_p10"] <= r["real_median"] <= r["real_p90"] for r in rows.values())
    assert 0 <= compared["inside_share"] <= 1
