"""The classical pack as a source: every folder listed (theme annotations left out), composers and epochs from
the folders, DCML editions read past their chord annotations, and one movement in two editions kept as one
work (skipped without ../shared)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from cadenza.corpus import BuildConfig, CorpusStore, build_corpus, list_works
from cadenza.corpus.classical import composer_of
from cadenza.listen.style import epoch_from_dates


@pytest.fixture()
def pack(shared_dir: Path) -> Path:
    folder = shared_dir / "datasets" / "classical"
    if not folder.is_dir():
        pytest.skip("the classical pack is not in ../shared")
    return folder


def test_every_folder_is_listed_without_theme_annotations(pack: Path) -> None:
    refs = list_works(["classical"])
    counts = Counter(r.source for r in refs)
    assert counts == {"openscore-lieder": 1460, "kern": 456, "dcml-piano": 418, "openscore-quartets": 122,
                      "openscore-orchestra": 96}
    assert not any(r.relpath.endswith("_melody.mxl") for r in refs)
    assert len(list_works([str(pack / "kern")])) == 456  # a user's copy of one folder reads the same


def test_composers_and_epochs_come_from_the_folders(pack: Path) -> None:
    song = next((pack / "openscore-lieder" / "Lang,_Josephine").rglob("*.mxl"))
    assert composer_of(str(song)) == "Josephine Lang (1815–1880)"
    assert epoch_from_dates(composer_of(str(song))) == "romantic"
    assert composer_of(str(pack / "kern" / "scarlatti-keyboard-sonatas" / "x.krn")).startswith("Domenico Scarlatti")
    assert epoch_from_dates("Domenico Scarlatti (1685–1757)") == "baroque"
    assert epoch_from_dates("Béla Bartók (1881–1945)") == "modern"
    assert epoch_from_dates("Anonymous") is None


def test_two_editions_of_a_movement_are_one_work(pack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "home"))
    copy = tmp_path / "pack"
    files = ["kern/beethoven-piano-sonatas/sonata01-1.krn", "dcml-piano/beethoven_piano_sonatas/01-1.mxl",
             "dcml-piano/beethoven_piano_sonatas/01-2.mxl", "dcml-piano/mozart_sonatas/K310-2.mxl",
             "openscore-lieder/composers.tsv"]
    song = next((pack / "openscore-lieder" / "Lang,_Josephine").rglob("*.mxl"))
    files.append(str(song.relative_to(pack)))
    for name in [*files, "SOURCES.tsv"]:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pack / name, copy / name)
    report = build_corpus(BuildConfig(name="pack", sources=(str(copy),), workers=2))
    assert report["works_ok"] == 5, report
    assert report["dedupe"]["groups_spanning_sources"] == 1 and report["dedupe"]["groups_crossing_splits"] == 0
    rows = {r["relpath"]: r for r in CorpusStore("pack").manifest()}
    kern, dcml = rows["beethoven-piano-sonatas/sonata01-1.krn"], rows["beethoven_piano_sonatas/01-1.mxl"]
    assert kern["group"] == dcml["group"] and kern["split"] == dcml["split"]
    assert rows["beethoven_piano_sonatas/01-2.mxl"]["group"] != dcml["group"]
    mozart = rows["mozart_sonatas/K310-2.mxl"]  # music21 refuses its Roman numerals; the notes are read
    assert mozart["notes"] > 1000 and any("<harmony>" in w for w in mozart["warnings"])
    assert (mozart["epoch"], dcml["form"]) == ("classical", "sonata-movement")
    lang = next(r for r in rows.values() if r["source"] == "openscore-lieder")
    assert (lang["composer"], lang["epoch"], lang["form"]) == ("Josephine Lang (1815–1880)", "romantic", "song")


def test_a_permissive_build_says_what_it_left_out(pack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from cadenza.cli import main

    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "home"))
    copy = tmp_path / "pack"
    song = next((pack / "openscore-lieder" / "Lang,_Josephine").rglob("*.mxl"))
    for name in ["kern/joplin/bethena.krn", str(song.relative_to(pack)), "SOURCES.tsv"]:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pack / name, copy / name)
    assert main(["corpus", "build", "--source", str(copy), "--name", "free", "--licence", "permissive"]) == 0
    out = capsys.readouterr().out
    assert "1 works (" in out and "left out (--licence permissive): 1 works of kern (CCARH" in out
    assert [r["source"] for r in CorpusStore("free").manifest()] == ["openscore-lieder"]
