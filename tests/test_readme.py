"""The README's Python examples run as written (with the shipped model), in a scratch folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("torch")

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_a_readme_python_example_runs(number: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme"}
    exec(compile(BLOCKS[number], f"README.md python example {number + 1}", "exec"), namespace)
    written = [p for p in tmp_path.iterdir() if p.is_file()]
    assert written and all(p.stat().st_size > 0 for p in written)  # each example writes what it says
    if "piece" in namespace:  # the composing example: what its comments promise
        piece = namespace["piece"]
        assert piece.adherence["key"]["met"] and piece.score.bar_count == 16  # type: ignore[attr-defined]
        assert "met': True" in capsys.readouterr().out
