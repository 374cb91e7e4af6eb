"""``cadenza bench``: the whole suite on an untrained tiny model with the smallest settings, against a tiny
corpus (JSB's official splits, from ../shared when present; else the no-corpus fallbacks): results.json and
REPORT.md have every section, with real numbers; bad ``--only`` values are a one-line error."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from cadenza.cli import main  # noqa: E402
from cadenza.errors import UsageError  # noqa: E402
from cadenza.lab.suite import SECTIONS, Settings, SuiteConfig, bench, command_for, parse_only  # noqa: E402
from cadenza.listen.quality import METRICS  # noqa: E402
from cadenza.model.checkpoint import new_model, save_checkpoint  # noqa: E402
from cadenza.originality.check import SHIPPED  # noqa: E402
from cadenza.originality.index import INDEX_FILE  # noqa: E402

TINY = Settings(nll_limit=2, nll_valid=False, heldout_limit=4, heldout_train_limit=12, heldout_orders=(2, 3),
                control_seeds=1, control_bars=2, control_axes=("meter", "density"), pieces=9, piece_bars=2,
                real_per_epoch=3, read_midi=3, read_xml=1, read_repeats=1, train_steps=1, train_presets=("model",),
                speed_runs=1, speed_bars=2, peer_runs=1, peer_new_steps=12, render_pieces=1, analyse_pieces=2,
                cost_works=4, craft_ensembles=("satb",), craft_seeds=1, craft_real=2, craft_bars=8)


def _numbers(obj: Any) -> list[float]:
    if isinstance(obj, bool):
        return []
    if isinstance(obj, int | float):
        return [float(obj)]
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _numbers(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _numbers(v)]
    return []


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, bool]:
    home = tmp_path_factory.mktemp("home")
    patch = pytest.MonkeyPatch()
    patch.setenv("CADENZA_HOME", str(home))
    try:
        from cadenza.corpus import BuildConfig, build_corpus
        from cadenza.corpus.sources import find_datasets

        datasets = find_datasets()
        has_data = datasets is not None and (datasets / "jsb").is_dir() and (datasets / "benchmarks").is_dir()
        if has_data:  # a corpus with test works: JSB keeps its official splits
            build_corpus(BuildConfig(name="default", sources=("jsb",), workers=1, limit=40))
        torch.manual_seed(3)
        model = save_checkpoint(new_model("tiny"), tmp_path_factory.mktemp("model") / "tiny")
        shutil.copy(SHIPPED["default"] / INDEX_FILE, model / INDEX_FILE)  # checked against the default corpus
        out = tmp_path_factory.mktemp("bench") / "out"
        results = bench(SuiteConfig(quick=True, model=str(model), out=str(out), settings=TINY))
    finally:
        patch.undo()
    return results, out, has_data


def test_the_suite_writes_results_report_and_plots(run: tuple[dict[str, Any], Path, bool]) -> None:
    _results, out, _ = run
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert set(saved["sections"]) == set(SECTIONS) and saved["command"].startswith("cadenza bench --quick")
    assert saved["machine"]["cpus"] >= 1 and saved["model"]["hash"] and saved["settings"]["pieces"] == 9
    report = (out / "REPORT.md").read_text(encoding="utf-8")
    for title in ("## NLL", "## Control", "## Originality", "## Quality", "## Speed", "### Sampling, beside a peer"):
        assert title in report
    for section in SECTIONS:  # each section names the command that regenerates it
        assert f"`cadenza bench --quick --only {section} --model" in report
    pytest.importorskip("matplotlib")
    for name in SECTIONS:
        png = out / f"{name}.png"
        assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size < 200_000
        assert f"({name}.png)" in report


def test_every_section_has_real_numbers(run: tuple[dict[str, Any], Path, bool]) -> None:
    results, _, has_data = run
    sections = results["sections"]
    assert all(math.isfinite(x) for x in _numbers(sections))
    nll = sections["nll"]
    assert nll["boulanger"]["piano"]["published"]["RNN-NADE (Boulanger 2012)"] == 7.05
    if has_data:
        assert all(nll["boulanger"][name]["status"] == "trained" for name in ("musedata", "piano"))
        jsb = nll["boulanger"]["jsb"]
        assert jsb["status"] == "trained" and jsb["test"]["sequences"] == 2 and jsb["test"]["nll_per_frame"] > 0
        assert jsb["published"]["RNN-NADE (Boulanger 2012)"] == 5.19 and jsb["ngram_baseline"]["test_nll_per_frame"] > 0
        held = nll["heldout"]["table"]["all"]
        assert held["works"] >= 1 and held["ngram"] > 0 and held["transformer_no_labels"] > 0
    control = sections["control"]["table"]
    assert control["meter"]["share"] == 1.0 and control["meter"]["chance"] == round(1 / 6, 3)
    assert set(control) == {"meter", "density"} and control["density"]["chance"] == round(1 / 3, 3)
    o = sections["originality"]
    assert o["checked"] and o["pieces"] == 9 and len(o["longest_run_per_piece"]) == 9
    assert o["human"]["top"]["p90"] > 0 and 0 <= o["copied_share_after_guard"] <= 1
    q = sections["quality"]
    assert q["pieces"] == 9 and q["real_works"] >= 1 and set(q["overall"]) == set(METRICS)
    assert all(q["overall"][m]["generated"]["n"] == 9 for m in METRICS) and q["per_epoch"]
    speed = sections["speed"]
    assert speed["read"]["midi"]["files_per_s_from_median"] > 0 and speed["read"]["musicxml"]["files"] == 1
    assert speed["train"]["rows"][0]["notes_per_s"] > 0 and "model's shape" in speed["train"]["rows"][0]["preset"]
    sampling = speed["sampling"]
    assert sampling["cadenza_raw"]["steps_per_s"] > 0 and sampling["cadenza_composer"]["notes_per_s"] > 0
    if "skipped" not in sampling["peer"]:
        assert sampling["peer"]["library"].startswith("transformers ") and sampling["ratio_notes_per_s"] > 0
        assert sampling["peer_same_music"]["new_tokens"] > sampling["cadenza_raw"]["new_steps"]
        assert sampling["peer"]["vocabulary"] == sum(new_model("tiny").config.field_sizes.values())
    assert speed["compose"]["piano"]["music_s_per_wall_s_median"] > 0
    assert speed["render"]["mid"]["music_s_per_wall_s_median"] > 0 and speed["analyse"]["seconds_per_piece_median"] > 0


def test_only_values_are_checked_and_commands_rebuilt(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_only("speed, nll,speed") == ("speed", "nll")
    with pytest.raises(UsageError, match="unknown --only value 'sped'"):
        parse_only("nll,sped")
    assert main(["bench", "--only", "nll,bogus"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown --only value 'bogus'" in err
    config = SuiteConfig(quick=True, only=("nll",), out="x y")
    assert command_for(config) == "cadenza bench --quick --only nll --out 'x y'"
    assert command_for(SuiteConfig(out="o")) == "cadenza bench --out o"
