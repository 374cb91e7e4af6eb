"""Where works come from: music21's bundled corpus, a folder of the user's files, or a named dataset in
``../shared/datasets`` (for benchmarks and training; never needed at run time).

A source yields :class:`WorkRef` s: one per piece, so each tune of a multi-tune ABC file is a work. Listing
is cheap (file names and, for ABC, a text scan for ``X:`` lines); reading happens in the build.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cadenza.corpus import classical
from cadenza.errors import UsageError
from cadenza.score.abc import decode_abc, split_tunes
from cadenza.score.read import READ_FORMATS

#: named datasets, found in a ``shared/datasets`` folder beside the working directory or the repository
DATASETS = {
    "jsb": "jsb",  # the 16th-note JSON with the official train/valid/test split
    "nottingham": "nottingham/MIDI",
    "pop909": "pop909/POP909",
    "vgmidi": "vgmidi/labelled/midi",
}
LICENCES = {
    "music21": "music21 corpus: public-domain scores and encodings under music21's BSD-3 / CC terms "
               "(music21/corpus/license.txt)",
    "jsb": "JSB Chorales (czhuang's encoding), no licence stated",
    "nottingham": "Nottingham folk tunes, GPL-3.0",
    "pop909": "POP909, MIT",
    "vgmidi": "VGMIDI, research use (arrangements of game music)",
    "folder": "the user's own files",
    **classical.FOLDERS,
}
#: sources whose licence allows any use (CC0, public domain, MIT, BSD): what ``--licence permissive`` keeps
PERMISSIVE_SOURCES = ("music21", "pop909", *classical.PERMISSIVE)
JSB_FILE = "jsb-chorales-16th.json"


@dataclass(frozen=True)
class WorkRef:
    """One piece to read: a file under a root, and for ABC the tune's X: number (or its position when the
    file has no X: numbers). JSB chorales are entries ``split/index`` of one JSON file."""

    source: str  # music21 | nottingham | pop909 | vgmidi | jsb | folder:NAME
    root: str  # the source's folder (or, for jsb, the JSON file)
    relpath: str  # path below root (jsb: "train/12")
    tune: str = ""  # X: number of an ABC tune ("" for single-piece files)
    tune_index: int = -1  # position in the file, for ABC tunes without X:
    split: str = ""  # an official split (benchmark sets), else "" (assigned after dedupe)

    @property
    def path(self) -> str:
        return self.root if self.source == "jsb" else str(Path(self.root) / self.relpath)

    @property
    def work_id(self) -> str:
        """Stable id: source, path below its root, tune."""
        suffix = f"#{self.tune}" if self.tune else (f"#i{self.tune_index}" if self.tune_index >= 0 else "")
        return f"{self.source}:{self.relpath}{suffix}"


def find_datasets(start: Path | None = None) -> Path | None:
    """A ``shared/datasets`` folder in the working directory or one of its parents, else beside the checkout
    that this package runs from (a development install)."""
    places = [(start or Path.cwd()).resolve(), Path(__file__).resolve()]
    for place in places:
        for folder in (place, *place.parents):
            candidate = folder / "shared" / "datasets"
            if candidate.is_dir():
                return candidate
    return None


def _tunes(path: Path) -> list[tuple[str, int]]:
    """(X: number, position) of every tune in an ABC file; positions alone when the X: numbers are missing
    or repeated (so no tune is lost to a clash)."""
    tunes = split_tunes(decode_abc(path.read_bytes()))
    if len(tunes) <= 1:
        return [("", -1)]
    numbers = [t.number for t in tunes]
    if all(numbers) and len(set(numbers)) == len(numbers):
        return [(t.number, t.index) for t in tunes]
    return [("", t.index) for t in tunes]


def _files(root: Path, extensions: tuple[str, ...]) -> list[Path]:
    out = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            if name.lower().endswith(extensions) and not name.startswith("."):
                out.append(Path(folder) / name)
    return sorted(out)


def _expand(source: str, root: Path, files: list[Path], split: str = "") -> Iterator[WorkRef]:
    for path in files:
        rel = str(path.relative_to(root))
        if path.suffix.lower() == ".abc":
            for number, index in _tunes(path):
                yield WorkRef(source, str(root), rel, number, index if not number else -1, split)
        else:
            yield WorkRef(source, str(root), rel, split=split)


def music21_root() -> Path:
    """The folder of music21's bundled corpus (work ids of the ``music21`` source are paths below it)."""
    from music21 import corpus

    return Path(corpus.__file__).parent


def music21_works() -> Iterator[WorkRef]:
    from music21 import corpus

    readable = tuple(ext for ext in READ_FORMATS if ext != ".json")
    files = sorted(Path(p) for p in corpus.getPaths() if Path(p).suffix.lower() in readable)
    if not files:
        return
    yield from _expand("music21", music21_root(), files)


def folder_works(folder: Path) -> Iterator[WorkRef]:
    if not folder.is_dir():
        raise UsageError(f"source folder {folder} does not exist")
    root = folder.resolve()
    yield from _expand(f"folder:{folder.name}", root, _files(root, tuple(READ_FORMATS)))


def dataset_works(name: str, datasets: Path | None = None) -> Iterator[WorkRef]:
    root = datasets or find_datasets()
    if root is None or not (root / DATASETS[name]).exists():
        raise UsageError(f"dataset {name!r} needs ../shared/datasets/{DATASETS[name]}, which is not here; "
                         "give its folder as --source DIR instead")
    folder = root / DATASETS[name]
    if name == "jsb":
        data = json.loads((folder / JSB_FILE).read_text(encoding="utf-8"))
        for split in ("train", "valid", "test"):
            for i in range(len(data[split])):
                yield WorkRef("jsb", str(folder / JSB_FILE), f"{split}/{i}", split=split)
        return
    if name == "pop909":
        files = sorted(folder.glob("[0-9][0-9][0-9]/[0-9][0-9][0-9].mid"))
    else:
        files = _files(folder, (".mid", ".midi"))
    yield from _expand(name, folder, files)


def classical_works(root: Path, folders: tuple[str, ...]) -> Iterator[WorkRef]:
    """The works of the classical pack's folders (each folder a source of its own)."""
    for folder in folders:
        yield from _expand(folder, (root / folder).resolve(), [p.resolve() for p in classical.list_files(root, folder)])


def works_for(spec: str) -> Iterator[WorkRef]:
    """The works of one ``--source`` value: music21, a dataset name, the classical pack (``classical`` or
    one of its folders, or a folder holding a copy of either), or a folder path."""
    if spec == "music21":
        return music21_works()
    if spec in DATASETS:
        return dataset_works(spec)
    pack = classical.pack_root(spec, find_datasets() if spec in ("classical", *classical.FOLDERS) else None)
    if pack is not None:
        return classical_works(*pack)
    path = Path(spec).expanduser()
    if path.is_dir():
        return folder_works(path)
    raise UsageError(f"unknown source {spec!r}: use music21, {', '.join(DATASETS)}, classical, "
                     f"{', '.join(classical.FOLDERS)} or a folder of score files")


def licence_of(source: str) -> str:
    return LICENCES.get(source.split(":")[0], LICENCES["folder"])
