"""Fit the key table the composer plans with where a request leaves the key open:
``src/cadenza/compose/models/keys.json``.

    python -m benchmarks.fit_keys [--datasets ../shared/datasets]

Data: the key signatures the scores themselves write, read from the files' text (no parsing: a second for
thousands of files) — music21's bundled corpus and, where given, ``classical/`` and Nottingham's ABC tunes
under ``--datasets``. A file's epoch comes from its collection (the composer's folder, as
:mod:`cadenza.listen.style` names them; the Lieder are romantic, folk collections folk). Per epoch (and over
all works) the table counts each signature (sharps, flats negative) and, from the files that name their key
(``**kern``'s ``*G:`` / ``*g:``, ABC's ``K:Gm``, MusicXML's ``<mode>``), how many are in major and in minor.
The signatures are read as written: the model itself was trained on transposed copies and, left to choose,
wrote a classical piano piece in C♯ major (seven sharps) as readily as in C.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

from cadenza.lab.fit import PACKAGE
from cadenza.listen.style import COMPOSERS, FOLK_SOURCES

OUT = PACKAGE / "compose" / "models" / "keys.json"
MIN_WORKS = 30  # an epoch with fewer works keeps no table (the composer falls back to all works)
#: composers of the shared collections that :data:`cadenza.listen.style.COMPOSERS` does not name, by epoch
MORE_COMPOSERS = {"brahms": "romantic", "mendelssohn": "romantic", "dvorak": "romantic", "dvořák": "romantic",
                  "bruckner": "romantic", "grieg": "romantic", "liszt": "romantic", "tchaikovsky": "romantic",
                  "smetana": "romantic", "borodin": "romantic", "bartók": "modern", "bartok": "modern",
                  "debussy": "modern", "boulanger": "modern", "scarlatti": "baroque", "medtner": "modern"}
_KERN_KEY = re.compile(r"^\*([A-Ga-g])([#-]*):", re.M)
_KERN_SIG = re.compile(r"^\*k\[([a-g#-]*)\]", re.M)
_ABC_KEY = re.compile(r"^K:\s*([A-G])([#b]?)\s*(m(?:in)?\b|maj|major|minor|dor|mix)?", re.M | re.I)
_FIFTHS = re.compile(r"<fifths>\s*(-?\d+)\s*</fifths>")
_MODE = re.compile(r"<mode>\s*(major|minor)\s*</mode>")
_MAJOR_SHARPS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7, "F": -1, "Bb": -2, "Eb": -3,
                 "Ab": -4, "Db": -5, "Gb": -6, "Cb": -7}
_STEP = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def epoch_of(path: Path) -> str | None:
    """The epoch of a file from its folders (a known composer's, a folk collection's, the Lieder's)."""
    low = str(path).lower().replace(" ", "_")
    parts = re.split(r"[/\\,_.\-0-9]+", low)
    if "openscore-lieder" in low:
        return "romantic"
    if any(source in low for source in FOLK_SOURCES) or "/nottingham/" in low:
        return "folk"
    if "joplin" in low:
        return "popular"
    for word in parts:
        if word in COMPOSERS:
            return COMPOSERS[word][1]
        if word in MORE_COMPOSERS:
            return MORE_COMPOSERS[word]
    if "schumann" in parts:
        return "romantic"
    return None


def _sharps_of(tonic: str, accidental: str, minor: bool) -> int:
    """Sharps of the signature of a key named by its tonic letter and accidental ('#', 'b' or '-')."""
    pc = (_STEP[tonic.upper()] + {"#": 1, "b": -1, "-": -1}.get(accidental[:1], 0)) % 12
    major_pc = (pc + 3) % 12 if minor else pc
    return (7 * major_pc + 5) % 12 - 5  # C#/Db major and their relatives as five flats


def read_keys(path: Path) -> list[tuple[int, str | None]]:
    """(sharps, 'major' | 'minor' | None) of each piece a file holds (a kern or MusicXML file: its first key; an
    ABC file: every tune's); [] where none is written or the file cannot be read."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".mxl":
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.endswith((".xml", ".musicxml")) and "META" not in n]
                text = archive.read(names[0]).decode("utf-8", "replace") if names else ""
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
    except (OSError, zipfile.BadZipFile, KeyError):
        return []
    if suffix == ".krn":
        named = _KERN_KEY.search(text)
        if named:
            minor = named.group(1).islower()
            return [(_sharps_of(named.group(1), named.group(2), minor), "minor" if minor else "major")]
        signature = _KERN_SIG.search(text)
        if signature is None:
            return []
        body = signature.group(1)
        return [(body.count("#") - body.count("-"), None)]
    if suffix == ".abc":
        out: list[tuple[int, str | None]] = []
        for match in _ABC_KEY.finditer(text):
            mode_word = (match.group(3) or "").lower()
            if mode_word in ("dor", "mix"):
                continue
            minor = mode_word.startswith("m") and mode_word not in ("maj", "major", "mix")
            out.append((_sharps_of(match.group(1), match.group(2), minor), "minor" if minor else "major"))
        return out
    if suffix in (".mxl", ".xml", ".musicxml"):
        fifths = _FIFTHS.search(text)
        if fifths is None:
            return []
        mode = _MODE.search(text)
        return [(int(fifths.group(1)), mode.group(1) if mode else None)]
    return []


def sources(datasets: Path | None) -> list[Path]:
    import music21

    roots = [Path(music21.__file__).parent / "corpus"]
    if datasets is not None:
        roots += [datasets / "classical", datasets / "nottingham" / "ABC_cleaned"]
    files: list[Path] = []
    for root in roots:
        if root.is_dir():
            files += [p for p in sorted(root.rglob("*")) if p.suffix.lower() in (".krn", ".abc", ".mxl", ".xml",
                                                                                 ".musicxml")
                      and not p.name.endswith("_melody.mxl")]  # an orchestral score's theme annotation
    return files


def fit(datasets: Path | None) -> dict:
    signatures: dict[str, Counter] = defaultdict(Counter)
    modes: dict[str, Counter] = defaultdict(Counter)
    for path in sources(datasets):
        epoch = epoch_of(path)
        for sharps, mode in read_keys(path):
            if not -7 <= sharps <= 7:
                continue
            for group in ("all", *((f"epoch={epoch}",) if epoch else ())):
                signatures[group][str(sharps)] += 1
                if mode:
                    modes[group][mode] += 1
    tables = {group: {"signatures": dict(sorted(counts.items(), key=lambda kv: int(kv[0]))),
                      "modes": dict(modes[group])}
              for group, counts in sorted(signatures.items())
              if sum(counts.values()) >= MIN_WORKS and sum(modes[group].values()) >= MIN_WORKS // 3}
    return {"format": "cadenza-keys", "version": 1, "made_by": "python -m benchmarks.fit_keys",
            "tables": tables}


def main(argv: list[str] | None = None) -> int:
    """Fit the key table and write it (``--out``, default the shipped one); a line per epoch goes to the log."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=None, help="the shared datasets folder (classical/ ...)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    table = fit(args.datasets)
    args.out.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for group, entry in table["tables"].items():
        total = sum(entry["signatures"].values())
        logging.info("%-18s %5d works  modes %s", group, total, entry["modes"])
    return 0
