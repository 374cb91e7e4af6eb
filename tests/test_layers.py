"""The product folders import downward only, in the order of the data flow (DESIGN.md): a folder may import
the folders before it, never one after it. The lab (``cadenza.lab``) comes after the product it measures, and
only the CLI's ``bench`` and ``eval`` commands import it. Read from the source (every ``cadenza.*`` import, at
module level, inside a function or under ``TYPE_CHECKING``): no upward import and no import cycle between modules
(issue 17 removed the last ones: the score layer's audio reader no longer asks listening for a key signature, the
API adds it; the request and the prompt readers share ``compose/ask.py``; the server's parts share
``serve/config.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "cadenza"
LAYERS = ["errors", "files", "versions", "threads", "score", "reports", "listen", "tokens", "corpus", "model", "train",
          "originality", "compose", "render", "soundtrack", "api", "serve", "lab", "cli", "__main__"]
#: the product modules that may import the lab (``cadenza.lab``: benchmark suites, the n-gram baseline, model
#: mixtures, the Boulanger metric): the thin commands that run it
LAB_USERS = {"cadenza.cli.bench", "cadenza.cli.evaluate"}


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
    assert not upward, f"upward imports: {sorted(upward)}"


def test_every_folder_is_placed_in_the_order() -> None:
    folders = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    modules = {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    assert folders | modules <= set(LAYERS), sorted((folders | modules) - set(LAYERS))


def test_the_product_does_not_import_the_lab() -> None:
    users = {module for module, imported in _imports() if imported == "lab" and _folder(module) != "lab"}
    assert users <= LAB_USERS, f"product modules importing cadenza.lab: {sorted(users - LAB_USERS)}"
    assert users == LAB_USERS, f"no longer importing the lab, take them off the list: {sorted(LAB_USERS - users)}"


def _module_graph() -> dict[str, set[str]]:
    """{module: the cadenza modules it imports} (``from package import submodule`` is the submodule)."""
    paths = {".".join(("cadenza", *p.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__"): p
             for p in sorted(SRC.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in paths else node.module
                          for a in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[module] = {m for m in found if m in paths and m != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(component)
    return out


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [{"a", "b", "c"}]


def test_no_import_cycle() -> None:
    cycles = [sorted(c) for c in _cycles(_module_graph())]
    assert not cycles, f"import cycles: {cycles}"
