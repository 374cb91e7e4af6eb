"""The originality guard on real music: planted copies (transposed, re-timed, inside new material) are found
with the right work and bars, unrelated music passes, the index round-trips, the CLI reports and exits 3."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cadenza.cli import main
from cadenza.originality import build_index, check_score, load_index, model_index, save_index
from cadenza.originality.calibrate import calibration
from cadenza.originality.check import SHIPPED
from cadenza.originality.fingerprint import bar_codes, line_symbols, lines
from cadenza.originality.index import INDEX_FILE, K_NOTES, OriginalityIndex
from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import Metadata, Score, TimeSignature, read_score, write_score
from cadenza.score.model import NOTE_DTYPE
from cadenza.score.ops import slice_bars, transpose

CHORALES = ["bach/bwv66.6", "bach/bwv102.7", "bach/bwv10.7", "bach/bwv1.6"]
BAR = 4 * Q


@pytest.fixture(scope="module")
def works() -> list[tuple[dict[str, str], Score]]:
    return [({"id": f"music21:{ref}", "title": ref}, read_score(f"music21:{ref}")) for ref in CHORALES]


@pytest.fixture(scope="module")
def index(works: list[tuple[dict[str, str], Score]]) -> OriginalityIndex:
    return build_index(works)


def new_material(parts: int, bars: int, seed: int, start: int = 0) -> np.ndarray:
    """Random lines in 4/4 (one per part), unlike any chorale: wide leaps and uneven note values."""
    rng = np.random.default_rng(seed)
    notes = []
    for part in range(parts):
        t = start
        while t < start + bars * BAR:
            d = int(rng.choice([Q // 4, 3 * Q // 4, Q, 3 * Q // 2]))
            notes.append((t, min(d, start + bars * BAR - t), int(rng.integers(48, 80)), 80, part))
            t += d
    return np.array(notes, dtype=NOTE_DTYPE)


def planted(source: Score, first_bar: int, last_bar: int, semitones: int, stretch: float, before: int = 4,
            after: int = 2) -> Score:
    """``before`` bars of new material, then bars first_bar..last_bar (a musician's numbers) of ``source``
    transposed and with every duration scaled by ``stretch``, then ``after`` bars of new material."""
    pickup = 1 if source.pickup_ticks else 0
    copy = transpose(slice_bars(source, first_bar - 1 + pickup, last_bar + pickup), semitones).notes.copy()
    copy["onset_ticks"] = (copy["onset_ticks"] * stretch).astype(np.int64) + before * BAR
    copy["duration_ticks"] = (copy["duration_ticks"] * stretch).astype(np.int64)
    end = before * BAR + int((last_bar - first_bar + 1) * BAR * stretch)
    notes = np.concatenate([new_material(len(source.parts), before, 1), copy,
                            new_material(len(source.parts), after, 2, start=end)])
    return Score.build(parts=source.parts, notes=notes, time_signatures=[TimeSignature(0, 4, 4)],
                       metadata=Metadata(title="Planted"))


@pytest.mark.parametrize(("semitones", "stretch"), [(5, 2.0), (-3, 0.5)])
def test_a_planted_copy_transposed_and_retimed_is_found_with_its_work_and_bars(
        works: list[tuple[dict[str, str], Score]], index: OriginalityIndex, semitones: int, stretch: float) -> None:
    source = works[1][1]  # bwv102.7, with a pickup: its bars count from 0
    piece = planted(source, 3, 10, semitones, stretch)
    report = check_score(piece, index)
    assert report["verdict"] == "copied"
    soprano = report["voices"][0]
    assert soprano["part_name"] == "Soprano" and soprano["over"]
    match = soprano["match"]
    assert match["work_id"] == "music21:bach/bwv102.7"
    assert match["bars_there"][0] == 3 and match["bars_there"][1] in (9, 10)
    bars_here = 8 * stretch  # the eight bars of the copy take 16 (or 4) bars here, from bar 5
    assert match["bars_here"][0] == 5 and match["bars_here"][1] in (4 + bars_here - 1, 4 + bars_here)
    assert all(v["match"] and v["match"]["work_id"] == "music21:bach/bwv102.7" for v in report["voices"])
    assert soprano["longest_notes"] >= 25


def test_the_guard_api_points_at_where_the_copy_begins(works: list[tuple[dict[str, str], Score]],
                                                       index: OriginalityIndex) -> None:
    piece = planted(works[0][1], 2, 9, 2, 2.0)
    violation = index.first_violation(piece, threshold_notes=12)
    assert violation is not None and violation.work_id == "music21:bach/bwv66.6"
    assert 4 * BAR <= violation.onset_ticks < 5 * BAR  # in the copy's first bar
    assert 17 * BAR <= violation.end_ticks < 20 * BAR  # ... to (about) its last: 8 bars, twice as slow
    assert index.first_violation(piece, threshold_notes=500) is None
    runs = index.longest_runs(piece)
    assert [r.part for r in runs] == [0, 1, 2, 3] and all(r.voice == "top" for r in runs)
    assert max(r.notes for r in runs) > 12 and runs[0].bars_there[0] == 2


def test_unrelated_music_passes(index: OriginalityIndex) -> None:
    tune = read_score("music21:essenFolksong/altdeu10#3")
    report = check_score(tune, index)
    assert report["verdict"] == "original" and report["voices"][0]["longest_notes"] < 12
    noise = Score.build(parts=works_parts(4), notes=new_material(4, 16, 7))
    assert check_score(noise, index)["verdict"] == "original"
    assert index.first_violation(noise, threshold_notes=K_NOTES) is None


def works_parts(n: int) -> tuple:
    from cadenza.score import Part

    return tuple(Part(f"Voice {i + 1}", 52) for i in range(n))


def test_symbols_ignore_transposition_and_tempo(works: list[tuple[dict[str, str], Score]]) -> None:
    score = works[0][1]
    moved = transpose(score, -7)
    notes = moved.notes.copy()
    notes["onset_ticks"] *= 3
    notes["duration_ticks"] *= 3
    slow = Score.build(parts=score.parts, notes=notes, time_signatures=[TimeSignature(0, 12, 4)],
                       pickup_ticks=score.pickup_ticks * 3)
    for a, b in zip(lines(score), lines(slow), strict=True):
        assert np.array_equal(line_symbols(a), line_symbols(b))
        assert np.array_equal(a.bars, b.bars)


def test_a_verbatim_transposed_copy_also_shares_its_harmony_and_texture(
        works: list[tuple[dict[str, str], Score]], index: OriginalityIndex) -> None:
    piece = planted(works[2][1], 5, 12, 4, 1.0)  # bwv10.7 has no pickup
    texture = check_score(piece, index)["texture"]
    assert texture is not None and texture["work_id"] == "music21:bach/bwv10.7"
    assert texture["bars"] >= 6 and texture["bars_there"][0] >= 5 and texture["bars_here"][0] >= 5


def test_index_round_trip(tmp_path: Path, works: list[tuple[dict[str, str], Score]]) -> None:
    index = build_index(works)
    index.meta["calibration"] = calibration({"top": list(range(30)), "bass": [3] * 5}, "test")
    path = save_index(index, tmp_path)
    assert path == tmp_path / INDEX_FILE
    again = load_index(path)
    assert again.meta == index.meta and again.works == index.works
    for name, array in index.arrays.items():
        assert np.array_equal(again.arrays[name], array), name
    assert [again.note_bar(p) for p in range(again.note_count)] == [index.note_bar(p) for p in range(index.note_count)]
    piece = planted(works[3][1], 4, 11, 1, 2.0)
    assert again.longest_runs(piece) == index.longest_runs(piece)
    assert again.thresholds() == {"top": 27, "bass": 27}  # p90 of 0..29 rounded up; bass never stricter
    assert load_index(path) is again  # cached while the file is unchanged


def test_calibration_thresholds_follow_the_human_percentiles() -> None:
    cal = calibration({"top": list(range(1, 101)), "bass": list(range(1, 201, 2))}, "x:test")
    assert cal["top"]["p50"] == 50.5 and cal["threshold_notes"]["top"] == 91
    assert cal["threshold_notes"]["bass"] == 180 and cal["bass"]["max"] == 199


def test_cli_exit_3_and_json_report(tmp_path: Path, works: list[tuple[dict[str, str], Score]],
                                    index: OriginalityIndex, capsys: pytest.CaptureFixture[str]) -> None:
    index_file = save_index(index, tmp_path / "chorales.npz")
    copy = write_score(planted(works[1][1], 3, 10, 5, 0.5), tmp_path / "copy.mid")
    assert main(["check", str(copy), "--against", str(index_file), "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "copied" and report["against"]["works"] == len(CHORALES)
    voice = report["voices"][0]
    assert {"part", "part_name", "voice", "line_notes", "ngram_share", "longest_notes", "longest_bars",
            "threshold_notes", "over", "human_rank", "match"} <= set(voice)
    assert voice["match"]["work_id"] == "music21:bach/bwv102.7" and voice["match"]["bars_there"][0] == 3
    assert report["longest"]["over"] and report["timing"]["check_s"] < 1.0
    fresh = write_score(Score.build(parts=works_parts(2), notes=new_material(2, 8, 3)), tmp_path / "new.mid")
    assert main(["check", str(fresh), "--against", str(tmp_path / "chorales.npz")]) == 0
    assert "ORIGINAL" in capsys.readouterr().out


def test_cli_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cadenza: error:") and err.count("\n") == 1
    assert main(["check", "music21:bach/bwv66.6", "--against", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    not_index = tmp_path / "x.npz"
    not_index.write_bytes(b"not a zip")
    assert main(["check", "music21:bach/bwv66.6", "--against", str(not_index)]) == 2


def test_the_shipped_indexes_are_small_calibrated_and_carry_provenance() -> None:
    for name, folder in SHIPPED.items():
        path = folder / INDEX_FILE
        assert path.is_file() and path.stat().st_size < 8_000_000, name
    index = model_index()
    assert index is not None and index.meta["built_from"]["split"] == "train"
    sources = index.meta["built_from"]["sources"]
    assert set(sources) == {"music21", "pop909", "openscore-lieder", "openscore-quartets", "openscore-orchestra",
                            "dcml-piano", "kern"} and all(s["licence"] for s in sources.values())
    assert "CC BY-NC-SA" in sources["kern"]["licence"] and "CC0" in sources["openscore-lieder"]["licence"]
    assert 10 <= index.thresholds()["top"] <= 60
    report = check_score(read_score("music21:bach/bwv66.6"))  # a training work is a copy of itself
    assert report["verdict"] == "copied" and report["voices"][0]["match"]["work_id"] == "music21:bach/bwv66.6.mxl"
    assert report["against"]["training_data"] and report["against"]["hash"]
    assert report["against"]["built_from"]["sources"]["music21"]["licence"]
    assert model_index(Path("/nonexistent")) is None


def test_a_piece_from_the_composer_passes() -> None:
    from cadenza import api

    piece = api.compose(bars=8, seed=5, ensemble="satb", form="chorale")["score"]
    report = api.check(piece)
    assert report["verdict"] == "original", report["longest"]
    assert model_index() is not None and model_index().first_violation(piece) is None  # type: ignore[union-attr]


def timpani_piece(seed: int, bars: int = 8) -> Score:
    """A violin and a xylophone playing lines of their own over timpani that strike G2 and D3 in eighths (the
    tonic-dominant strokes a symphony's timpani play for bars)."""
    from cadenza.score import Part

    tune = new_material(2, bars, seed)
    tune["part"] *= 2  # parts 0 (violin) and 2 (xylophone)
    strokes = [(t, Q // 2, 43 if (t // (Q // 2)) % 4 < 2 else 38, 90, 1) for t in range(0, bars * BAR, Q // 2)]
    notes = np.concatenate([tune, np.array(strokes, dtype=NOTE_DTYPE)])
    return Score.build(parts=[Part("Violin", 40), Part("Timpani", 47), Part("Xylophone", 13)], notes=notes)


def test_timpani_give_no_line_to_the_index_or_the_query() -> None:
    """A symphony's timpani, read as a pitched part, gave a 'top line' whose repeated tonic-dominant strokes
    matched unrelated training works (the craft benchmark passed over real movements as copies); the shipped
    index was built with timpani read as drums. Pitched percussion that plays tunes (a xylophone) keeps its line."""
    work = timpani_piece(3)
    assert sorted({line.part for line in lines(work)}) == [0, 2]
    without = Score.build(parts=work.parts, notes=work.notes[work.notes["part"] != 1])
    assert np.array_equal(bar_codes(work), bar_codes(without))
    index = build_index([({"id": "test:timpani", "title": "timpani"}, work)])
    assert 1 not in index.arrays["line_part"].tolist()
    query = transpose(timpani_piece(11), 5)  # other tunes over the same strokes, a fourth higher
    report = check_score(query, index)
    assert [v["part_name"] for v in report["voices"]] == ["Violin", "Xylophone"]
    assert report["verdict"] == "original" and index.first_violation(query, threshold_notes=K_NOTES) is None


def test_an_index_s_tables_are_kept_on_disk_between_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          works: list[tuple[dict[str, str], Score]]) -> None:
    """Building the sorted k-gram tables was most of every compose's index load (1.3 s of a 3.4 s compose); a
    second process maps them from the cache, finds the same runs, and a damaged cache is rebuilt."""
    from cadenza.originality import cache
    from cadenza.originality import index as index_module

    monkeypatch.setenv("CADENZA_CACHE", str(tmp_path / "cache"))
    path = save_index(build_index(works), tmp_path)
    index_module._load.cache_clear()
    first = load_index(path)  # builds, and writes the cache
    folder = cache.table_folder(path, f"k_notes={K_NOTES} k_bars={index_module.K_BARS}")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{t}.{f}.npy" for t in ("melodic", "texture") for f in ("keys", "positions", "shift"))
    index_module._load.cache_clear()
    second = load_index(path)  # another run: mapped from disk
    assert isinstance(second.melodic.keys, np.memmap)
    assert np.array_equal(second.melodic.keys, first.melodic.keys)
    assert np.array_equal(second.texture.positions, first.texture.positions)
    piece = planted(works[3][1], 4, 11, 1, 2.0)
    assert second.longest_runs(piece) == first.longest_runs(piece) and first.longest_runs(piece)
    (folder / "melodic.keys.npy").write_bytes(b"damaged")
    index_module._load.cache_clear()
    third = load_index(path)
    assert not isinstance(third.melodic.keys, np.memmap) and third.longest_runs(piece) == first.longest_runs(piece)
    assert np.array_equal(np.load(folder / "melodic.keys.npy"), first.melodic.keys)  # written again whole
