"""Corpus builds on small real sources: a folder of files, music21's corpus, a dataset (skipped if absent)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cadenza.cli import main
from cadenza.corpus import BuildConfig, CorpusStore, build_corpus, corpus_stats, list_works
from cadenza.corpus.works import content_hash, melody_hash
from cadenza.score import read_score, write_score
from cadenza.score.ops import transpose
from tests.conftest import note_tuples

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CADENZA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """A user's folder: two chorales as MIDI, one of them again transposed (a duplicate), a multi-tune ABC
    file, a MusicXML file in a subfolder, and a broken file."""
    src = tmp_path / "mine"
    (src / "sub").mkdir(parents=True)
    chorale = read_score("music21:bach/bwv66.6")
    write_score(chorale, src / "bwv66.6.mid")
    write_score(transpose(chorale, 3), src / "bwv66.6-up3.mid")
    write_score(read_score("music21:bach/bwv1.6"), src / "sub" / "bwv1.6.musicxml")
    shutil.copy(FIXTURES / "three_tunes.abc", src / "tunes.abc")
    (src / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    (src / "notes.txt").write_text("not a score")
    return src


def test_fingerprints_see_through_transposition_and_reharmonisation() -> None:
    chorale = read_score("music21:bach/bwv66.6")
    assert content_hash(transpose(chorale, 5)) == content_hash(chorale)
    assert melody_hash(transpose(chorale, -2)) == melody_hash(chorale)
    other = read_score("music21:bach/bwv1.6")
    assert content_hash(other) != content_hash(chorale)


def test_folder_build_groups_duplicates_and_records_failures(folder: Path, home: Path) -> None:
    report = build_corpus(BuildConfig(name="mine", sources=(str(folder),), workers=1))
    assert report["works_listed"] == 7  # 2 MIDI + 1 MusicXML + 3 tunes + the broken file
    assert report["works_ok"] == 6 and report["works_failed"] == 1
    store = CorpusStore("mine")
    rows = {r["relpath"] + (f"#{r['tune']}" if r["tune"] else ""): r for r in store.manifest()}
    assert rows["bwv66.6.mid"]["group"] == rows["bwv66.6-up3.mid"]["group"]
    assert rows["bwv66.6.mid"]["split"] == rows["bwv66.6-up3.mid"]["split"]
    assert report["dedupe"]["duplicate_groups"] == 1 and report["dedupe"]["groups_crossing_splits"] == 0
    assert rows["tunes.abc#7"]["labels"]["meter"] == "6/8"
    assert rows["sub/bwv1.6.musicxml"]["labels"]["ensemble"] in ("chamber", "satb-choir")
    failure = store.failures()[0]
    assert failure["relpath"] == "broken.mid" and "truncated" in failure["reason"]
    # the stored notes are the file's notes
    assert note_tuples(store.load_score(rows["bwv66.6.mid"])) == note_tuples(read_score(folder / "bwv66.6.mid"))


def test_rerun_reads_only_what_changed_and_resumes(folder: Path, home: Path) -> None:
    first = build_corpus(BuildConfig(name="mine", sources=(str(folder),), workers=1, limit=3))
    assert first["works_read_now"] == 3
    second = build_corpus(BuildConfig(name="mine", sources=(str(folder),), workers=1))
    assert second["works_cached"] == 3 and second["works_read_now"] == 4  # an interrupted build resumes
    again = build_corpus(BuildConfig(name="mine", sources=(str(folder),), workers=1))
    assert again["works_read_now"] == 0 and again["works_ok"] == 6
    write_score(read_score("music21:essenFolksong/altdeu10#3"), folder / "bwv66.6.mid")  # a file changes
    changed = build_corpus(BuildConfig(name="mine", sources=(str(folder),), workers=1))
    assert changed["works_read_now"] == 1
    assert changed["dedupe"]["duplicate_groups"] == 0  # the copy is no longer a copy


def test_old_format_is_rebuilt_not_misread(folder: Path, home: Path) -> None:
    build_corpus(BuildConfig(name="mine", sources=(str(folder),), workers=1, limit=2))
    store = CorpusStore("mine")
    info = json.loads(store.info_path.read_text())
    info["version"] = 0
    store.info_path.write_text(json.dumps(info))
    with pytest.raises(Exception, match="rebuild"):
        store.manifest()
    report = build_corpus(BuildConfig(name="mine", sources=(str(folder),), workers=1, limit=2))
    assert report["works_read_now"] == 2 and store.info()["version"] == 1


def test_music21_build_with_limit_via_cli(home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The issue's command at a small size, with two worker processes."""
    assert main(["corpus", "build", "--source", "music21", "--limit", "40", "--workers", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["works_ok"] + report["works_failed"] == 40 and report["works_ok"] >= 38
    assert main(["corpus", "stats", "--json", "--chart", str(tmp_path / "c.png")]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["works"] == report["works_ok"] and stats["groups_crossing_splits"] == 0
    assert sum(stats["by_split"].values()) == stats["works"]
    assert set(stats["labels"]["mode"]) <= {"major", "minor"}
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_limit_is_a_stable_spread() -> None:
    a = [r.work_id for r in list_works(["music21"], limit=50)]
    assert a == [r.work_id for r in list_works(["music21"], limit=50)]
    assert len({w.split(":")[1].split("/")[0] for w in a}) >= 4  # several collections, not the first folder


def test_users_own_folder_nottingham(shared_dir: Path, home: Path) -> None:
    folder = shared_dir / "datasets" / "nottingham" / "MIDI"
    report = build_corpus(BuildConfig(name="nott", sources=(str(folder),), workers=2, limit=30))
    assert report["works_ok"] == 30
    stats = corpus_stats(CorpusStore("nott"))
    assert stats["by_epoch"] == {"folk": 30}
    assert set(stats["labels"]["ensemble"]) <= {"lead-sheet", "solo-piano", "solo-instrument", "keyboard"}


def test_missing_dataset_and_bad_source_are_clear(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["corpus", "build", "--source", "/no/such/folder"]) == 2
    assert "unknown source" in capsys.readouterr().err
    assert main(["corpus", "stats", "nothing-here"]) == 2
    assert "no corpus named 'nothing-here'" in capsys.readouterr().err


def test_jsb_keeps_its_official_splits(shared_dir: Path, home: Path) -> None:
    report = build_corpus(BuildConfig(name="jsb", sources=("jsb",), workers=1))
    assert report["works_ok"] == 382
    assert report["dedupe"]["split_counts"] == {"train": 229, "valid": 76, "test": 77}
    rows = CorpusStore("jsb").manifest()
    assert all(r["split"] == r["official_split"] for r in rows)
    first = next(r for r in rows if r["relpath"] == "train/0")
    assert first["labels"]["ensemble"] == "satb-choir" and first["labels"]["epoch"] == "baroque"


def test_a_build_stopped_by_sigterm_keeps_what_it_read_and_leaves_no_reader_behind(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "CADENZA_HOME": str(tmp_path), "OMP_NUM_THREADS": "1"}
    name = f"sig{os.getpid()}"  # its own name: another suite on the machine may run this test beside it
    command = [sys.executable, "-m", "cadenza", "corpus", "build", "--source", "music21", "--limit", "150",
               "--name", name, "--json"]
    build = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(10)  # music21 loads, then the workers read
    build.send_signal(signal.SIGTERM)
    _, err = build.communicate(timeout=120)
    assert build.returncode in (143, 0), err[-500:]  # stopped (or, on a fast machine, already done)
    assert "Traceback" not in err
    pattern = f"corpus build --source music21 --limit 150 --name {name} "
    for _ in range(50):  # no reader worker of the stopped build stays alive
        if not subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.strip():
            break
        time.sleep(0.1)
    else:
        pytest.fail("a reader worker outlived the stopped build")
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    report = json.loads(again.stdout)
    assert report["works_cached"] > 0 and report["works_ok"] + report["works_failed"] == 150


def test_a_rebuild_stopped_part_way_leaves_the_old_corpus_whole(home: Path, folder: Path) -> None:
    config = BuildConfig(name="mine", sources=(str(folder),), workers=1)
    first = build_corpus(config)
    store = CorpusStore("mine")
    manifest = store.manifest_path.read_bytes()

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_corpus(BuildConfig(name="mine", sources=(str(folder),), workers=1, rebuild=True), progress=stop)
    assert store.exists() and store.manifest_path.read_bytes() == manifest  # untouched
    assert len(store.manifest()) == first["works_ok"]
    again = build_corpus(BuildConfig(name="mine", sources=(str(folder),), workers=1, rebuild=True))
    assert again["works_read_now"] == again["works_listed"] and again["folder"] == str(store.folder)
    assert sorted(p.name for p in store.folder.parent.iterdir() if p.name.startswith(".mine.") and p.is_dir()) == []


def test_a_crashed_reader_keeps_the_works_it_had_read(home: Path, folder: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader process dies on the third work of its chunk (a fault in a library): the two works it read first
    are kept from its journal, not read again; the one that crashed it is recorded as such."""
    import os

    import cadenza.corpus.build as build

    refs = list_works((str(folder),))
    crasher = refs[2].work_id
    trace = home.parent / "trace"
    real, parent = build.read_work, os.getpid()

    def read_work(ref: build.WorkRef, limits: build.ReadLimits) -> build.WorkResult:
        if ref.work_id == crasher and os.getpid() != parent:
            os._exit(1)
        result = real(ref, limits)
        with trace.open("a") as fh:
            fh.write(ref.work_id + "\n")
        return result

    monkeypatch.setattr(build, "read_work", read_work)
    report = build_corpus(BuildConfig(name="crash", sources=(str(folder),), workers=2, chunk_size=3))
    reads = trace.read_text().splitlines()
    assert reads.count(refs[0].work_id) == reads.count(refs[1].work_id) == 1, reads
    assert report["failures_by_kind"].get("WorkerCrash") == 1
    assert report["works_ok"] + report["works_failed"] == len(refs)
    assert not CorpusStore("crash").journal_folder.exists()


def test_the_next_build_replays_what_a_killed_one_left_in_its_journal(home: Path, folder: Path) -> None:
    """Works written to the journal but never committed (the build was killed): the next build commits them
    and reads only the others; a torn last record's work is read again."""
    from cadenza.corpus.build import _read_chunk, _stamp
    from cadenza.score.limits import ReadLimits

    refs = list_works((str(folder),))
    store = CorpusStore("left")
    store.journal_folder.mkdir(parents=True)
    journal = store.journal_folder / "000001.rec"
    _read_chunk([(ref, _stamp(ref)) for ref in refs[:3]], ReadLimits(), journal)
    journal.write_bytes(journal.read_bytes()[:-5])  # killed inside the third work's record
    report = build_corpus(BuildConfig(name="left", sources=(str(folder),), workers=1))
    assert report["works_cached"] == 2 and report["works_read_now"] == len(refs) - 2
    assert len(store.manifest()) == report["works_ok"] and not store.journal_folder.exists()
    for row in store.manifest():
        assert len(store.load_notes(row)) == row["notes"]
