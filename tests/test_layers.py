"""The product folders import downward only, in the order of the data flow (DESIGN.md): a folder may import
the folders before it, never one after it. The lab (``cadenza.lab``) comes after the product it measures, and
only the CLI's ``bench`` and ``eval`` commands import it. Read from the source (every ``cadenza.*`` import, at
module level or inside a function). One known upward import is listed and must not grow; removing them is issue
17's."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "cadenza"
LAYERS = ["errors", "threads", "score", "listen", "tokens", "corpus", "model", "train", "originality", "compose",
          "render", "soundtrack", "api", "serve", "lab", "cli", "__main__"]
#: the product modules that may import the lab (``cadenza.lab``: benchmark suites, the n-gram baseline, model
#: mixtures, the Boulanger metric): the thin commands that run it
LAB_USERS = {"cadenza.cli.bench", "cadenza.cli.evaluate"}
#: (importing module, imported folder): the upward import still to be removed
KNOWN_UPWARD = {
    ("cadenza.score.audio_read", "listen"),  # the key signature of a transcription, from listen's key
}


def _imports() -> list[tuple[str, str]]:
    """(module, imported cadenza folder) for every cadenza import in the package."""
    out = []
    for path in sorted(SRC.rglob("*.py")):
        module = ".".join(("cadenza", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            out += [(module, name.split(".")[1]) for name in names
                    if name.startswith("cadenza.") and len(name.split(".")) > 1]
    return out


def _folder(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "api"  # cadenza/__init__ is the API's face


def test_every_folder_imports_only_the_folders_before_it() -> None:
    upward = set()
    for module, imported in _imports():
        here = _folder(module)
        if here in LAYERS and imported in LAYERS and LAYERS.index(imported) > LAYERS.index(here):
            upward.add((module, imported))
    assert upward <= KNOWN_UPWARD, f"new upward imports: {sorted(upward - KNOWN_UPWARD)}"
    assert upward == KNOWN_UPWARD, f"fixed, take them off the list: {sorted(KNOWN_UPWARD - upward)}"


def test_every_folder_is_placed_in_the_order() -> None:
    folders = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    modules = {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    assert folders | modules <= set(LAYERS), sorted((folders | modules) - set(LAYERS))


def test_the_product_does_not_import_the_lab() -> None:
    users = {module for module, imported in _imports() if imported == "lab" and _folder(module) != "lab"}
    assert users <= LAB_USERS, f"product modules importing cadenza.lab: {sorted(users - LAB_USERS)}"
    assert users == LAB_USERS, f"no longer importing the lab, take them off the list: {sorted(LAB_USERS - users)}"
