"""The craft benchmark's real works: only works the model did not learn from, told apart by corpus id and by
their music, never a work twice, and never a work the ear's critic learns from."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadenza.corpus.sources import find_datasets, music21_root
from cadenza.lab.craft import measure_real
from cadenza.lab.real_works import choose_heldout, critic_work, read_real, shared_run, sides, training_index, work_id

DATASETS = find_datasets()


def test_a_chorale_in_the_models_training_works_is_known_by_its_corpus_id() -> None:
    trained = {w["id"] for w in training_index(None).works}
    split = sides("satb", None)
    bwv288 = next(p for p in split.critic if p.name == "bwv288.mxl")
    assert work_id(bwv288, None) == "music21:bach/bwv288.mxl" and "music21:bach/bwv288.mxl" in trained
    assert bwv288 not in split.benchmark


def test_chorales_whose_music_the_model_learned_under_another_name_are_passed_over() -> None:
    # bwv190.7.mxl is not a training work by id, but bwv190.7-inst.mxl (the same chorale with instruments) is;
    # bwv366.mxl's kern edition was learned too
    chosen, passed = choose_heldout("satb", 40, None, None, lambda path, score: {"source": str(path)})
    why = {Path(p["source"]).name: p["why"] for p in passed}
    assert "bwv190.7-inst.mxl" in why["bwv190.7.mxl"] and "bwv366.krn" in why["bwv366.mxl"]
    names = {Path(c["source"]).name for c in chosen}
    assert len(chosen) >= 24 and not names & set(why)
    trained = {w["id"] for w in training_index(None).works}
    assert not any(work_id(Path(c["source"]), None) in trained for c in chosen)


@pytest.mark.skipif(DATASETS is None, reason="needs ../shared/datasets")
def test_one_quartet_movement_in_three_editions_is_measured_once(monkeypatch: pytest.MonkeyPatch) -> None:
    assert DATASETS is not None
    from cadenza.lab import real_works

    m21 = music21_root()
    kern = DATASETS / "classical" / "kern" / "beethoven-string-quartets"
    # Beethoven's op. 18 no. 1, first movement, in kern and in music21's kern and MusicXML; Haydn's op. 1 no. 1,
    # fifth movement, which the model learned inside OpenScore's whole quartet (one file, another name)
    pool = [kern / "quartet01-1.krn", m21 / "beethoven/opus18no1/movement1.krn",
            m21 / "beethoven/opus18no1/movement1.mxl", m21 / "haydn/opus1no1/movement5.mxl"]
    monkeypatch.setattr(real_works, "real_pools", lambda ensemble, datasets: ([pool], "a test pool"))
    monkeypatch.setattr(real_works, "CRITIC_MIN_TRAINED", 0)  # (a pool this small would lend the critic a third)
    chosen, passed = choose_heldout("string-quartet", 24, DATASETS, None,
                                    lambda path, score: measure_real(path, 8, score))
    assert len(chosen) == 1 and chosen[0]["source"] in {str(p) for p in pool[:3]}
    why = {p["source"]: p["why"] for p in passed}
    assert all("the same music as" in why[str(p)] for p in pool[:3] if str(p) != chosen[0]["source"])
    assert "training works" in why[str(pool[3])] and "openscore-quartets:Haydn" in why[str(pool[3])]


@pytest.mark.skipif(DATASETS is None, reason="needs ../shared/datasets")
def test_a_style_with_few_training_works_lends_its_critic_a_third_the_benchmark_never_measures() -> None:
    assert DATASETS is not None
    split = sides("lead-sheet", DATASETS)  # Nottingham's tunes are not in the default model's corpus
    assert split.critic and all(critic_work(p) for p in split.critic)
    assert not set(split.critic) & set(split.benchmark) and len(split.benchmark) > 2 * len(split.critic) - 50


FIFTH_SCHERZO = "classical/openscore-orchestra/Beethoven,_Ludwig_van/Symphony_No.5,_Op.67/3/Beethoven_Op.67_3.mxl"


@pytest.mark.skipif(DATASETS is None or not (DATASETS / FIFTH_SCHERZO).is_file(),
                    reason="needs OpenScore Orchestra in ../shared/datasets")
def test_a_symphonys_timpani_are_a_pitched_part_whose_strokes_are_no_copy_of_a_training_work() -> None:
    """The scherzo of Beethoven's Fifth: its timpani (C and G), read as a drum kit, went to the MIDI drum channel
    as toms; read as a pitched part, their strokes once made a 'top line' sharing 91 notes with a Grieg quartet,
    and the benchmark passed the movement over as learned."""
    assert DATASETS is not None
    score = read_real(DATASETS / FIFTH_SCHERZO)
    timpani = [i for i, p in enumerate(score.parts) if "Timpani" in p.name]
    assert [(score.parts[i].program, score.parts[i].is_drum) for i in timpani] == [(47, False)]
    assert set(score.notes["pitch"][score.notes["part"] == timpani[0]].tolist()) == {43, 48}
    assert shared_run(training_index(None), score) is None
