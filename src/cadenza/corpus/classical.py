"""The classical pack (``shared/datasets/classical`` or a user's own copy of it): OpenScore Lieder, String
Quartets and Orchestra (CC0), the DCML piano corpora and the CCARH ``**kern`` editions (CC BY-NC-SA 4.0).

Each folder is a source of its own (``--source openscore-lieder``, ``--source kern`` …; ``--source classical``
is all five). The composer of a work comes from the folder it lies in, with birth and death years from the
pack's ``composers.tsv`` tables or the table below, so the epoch of a lesser-known composer is set by dates
rather than guessed from the notes. The ``*_melody.mxl`` files beside the orchestral scores are annotations of
the main theme, not works, and are never listed.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from cadenza.errors import UsageError

#: the pack's folders, each with its licence
FOLDERS: dict[str, str] = {
    "openscore-lieder": "OpenScore Lieder, CC0-1.0",
    "openscore-quartets": "OpenScore String Quartets, CC0-1.0",
    "openscore-orchestra": "OpenScore Orchestra (Hauptstimme), CC0-1.0",
    "dcml-piano": "DCML piano corpora, CC BY-NC-SA 4.0",
    "kern": "CCARH Humdrum **kern editions, CC BY-NC-SA 4.0",
}
PERMISSIVE = ("openscore-lieder", "openscore-quartets", "openscore-orchestra")
EXTENSIONS = (".mxl", ".musicxml", ".xml", ".krn")

# composers of the folders that carry no composers.tsv: (name, born, died)
_KNOWN: dict[str, tuple[str, int, int]] = {
    "bach": ("Johann Sebastian Bach", 1685, 1750), "beach": ("Amy Beach", 1867, 1944),
    "beethoven": ("Ludwig van Beethoven", 1770, 1827), "boulanger": ("Lili Boulanger", 1893, 1918),
    "brahms": ("Johannes Brahms", 1833, 1897), "bruckner": ("Anton Bruckner", 1824, 1896),
    "haydn": ("Joseph Haydn", 1732, 1809), "schubert": ("Franz Schubert", 1797, 1828),
    "mozart": ("Wolfgang Amadeus Mozart", 1756, 1791), "chopin": ("Frédéric Chopin", 1810, 1849),
    "debussy": ("Claude Debussy", 1862, 1918), "dvorak": ("Antonín Dvořák", 1841, 1904),
    "grieg": ("Edvard Grieg", 1843, 1907), "liszt": ("Franz Liszt", 1811, 1886),
    "medtner": ("Nikolai Medtner", 1880, 1951), "schumann": ("Robert Schumann", 1810, 1856),
    "tchaikovsky": ("Pyotr Ilyich Tchaikovsky", 1840, 1893), "scarlatti": ("Domenico Scarlatti", 1685, 1757),
    "joplin": ("Scott Joplin", 1868, 1917), "hensel": ("Fanny Hensel", 1805, 1847),
}  # fmt: skip

def pack_root(spec: str, datasets: Path | None) -> tuple[Path, tuple[str, ...]] | None:
    """The pack folder and the sub-folders a ``--source`` value names, or None when it names none: ``classical``
    or one folder name (found in ``shared/datasets``), or a path to a copy of the pack or of one folder."""
    if spec in ("classical", *FOLDERS):
        if datasets is None or not (datasets / "classical").is_dir():
            raise UsageError(f"source {spec!r} needs ../shared/datasets/classical, which is not here; "
                             "give the folder of your copy as --source DIR instead")
        return datasets / "classical", tuple(FOLDERS) if spec == "classical" else (spec,)
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "SOURCES.tsv").is_file() and any((path / f).is_dir() for f in FOLDERS):
        return path, tuple(f for f in FOLDERS if (path / f).is_dir())
    if path.is_dir() and path.name in FOLDERS:
        return path.parent, (path.name,)
    return None


def list_files(root: Path, folder: str) -> list[Path]:
    """The works of one folder of the pack: score files, without the theme annotations."""
    base = root / folder
    files = [p for p in base.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file()
             and not p.stem.endswith("_melody") and not p.name.startswith(".")]
    return sorted(files)


@lru_cache(maxsize=8)
def _composer_table(folder: str) -> dict[str, tuple[str, int, int]]:
    """``composers.tsv`` of an OpenScore folder: path prefix -> (name, born, died)."""
    table: dict[str, tuple[str, int, int]] = {}
    path = Path(folder) / "composers.tsv"
    if not path.is_file():
        return table
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            try:
                table[row["path"]] = (row["name"], int(row["born"]), int(row["died"]))
            except (KeyError, TypeError, ValueError):
                continue
    return table


def composer_of(path: str) -> str:
    """'Name (born–died)' of the work at ``path`` inside the pack, from the folder it lies in; '' if unknown."""
    parts = Path(path).parts
    for i, part in enumerate(parts):
        if part not in FOLDERS or i + 1 >= len(parts):
            continue
        head = parts[i + 1]
        known = _composer_table(str(Path(*parts[: i + 1]))).get(head)
        if known is None:
            key = re.split(r"[,_\-]", head.lower())[0]
            key = {"dvořák": "dvorak"}.get(key, key)
            known = _KNOWN.get(key)
        if known:
            name, born, died = known
            return f"{name} ({born}–{died})"
    return ""


def works_in(root: Path, folders: tuple[str, ...]) -> Iterator[tuple[str, Path, list[Path]]]:
    """(source name, the folder's root, its files) for each named folder of the pack."""
    for folder in folders:
        yield folder, root / folder, list_files(root, folder)
