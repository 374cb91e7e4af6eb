"""Reducing an orchestral score's parts so the event vocabulary holds it, and the corpus paths that use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import Metadata, Part, Score, TimeSignature
from cadenza.score.reduce import base_name, family, merged_parts, plural_name, reduce_parts
from cadenza.tokens.events import KIND, MAX_PARTS, F, TokenizeError, decode, encodable, encode

# a classical orchestra in score order: (name, program, lowest pitch of its line; no two lines alike)
ORCHESTRA = [
    ("Flute 1", 73, 79), ("Flute 2", 73, 77), ("Oboe 1", 68, 74), ("Oboe 2", 68, 72),
    ("Clarinet in B♭ 1", 71, 67), ("Clarinet in B♭ 2", 71, 64), ("Bassoon 1", 70, 55), ("Bassoon 2", 70, 52),
    ("Horn in F 1", 60, 65), ("Horn in F 2", 60, 62), ("Horn in F 3", 60, 60), ("Horn in F 4", 60, 57),
    ("Trumpet 1", 56, 71), ("Trumpet 2", 56, 66), ("Timpani", 47, 43),
    ("Violin I", 40, 76), ("Violin II", 40, 69), ("Viola", 41, 59), ("Violoncello", 42, 48), ("Contrabass", 43, 36),
]


def orchestra(parts: list[tuple[str, int, int]] = ORCHESTRA, bars: int = 4) -> Score:
    """Every part plays a scale of quarter notes from its lowest pitch; Flute 2 doubles Flute 1 in bar 1 (the
    same onsets and pitches, Flute 2's notes shorter) and plays its own line after."""
    notes = []
    for p, (name, _, low) in enumerate(parts):
        for k in range(4 * bars):
            pitch = low + k % 5
            if name == "Flute 2" and k < 4:
                notes.append((k * Q, Q // 2, parts[0][2] + k % 5, 70, p))  # a unison with Flute 1
            else:
                notes.append((k * Q, Q, pitch, 80, p))
    return Score.build([Part(n, prog) for n, prog, _ in parts], notes, [TimeSignature(0, 4, 4)],
                       metadata=Metadata(title="Synthetic symphony"))


def test_names_families_and_plurals() -> None:
    assert [base_name(n) for n in ("Flute 1", "Violin II", "Horn in F 3", "Bb Clarinet 1", "Oboe 1.2", "Viola")] == [
        "Flute", "Violin", "Horn in F", "Bb Clarinet", "Oboe", "Viola"]
    assert [plural_name(n) for n in ("Flute", "Horn in F", "Bb Clarinet", "Tromba", "Timpani", "Bass")] == [
        "Flutes", "Horns in F", "Bb Clarinets", "Trombe", "Timpani", "Basses"]
    assert family(Part("Violin", 40)) == "strings" and family(Part("Flute", 73)) == "woodwinds"
    assert family(Part("Horn", 60)) == "brass" and family(Part("Timpani", 47)) == "percussion"
    assert family(Part("Kit", 0, is_drum=True)) == "drums"


def test_twenty_parts_reduce_to_sixteen_by_instrument_keeping_every_note_but_unisons() -> None:
    score = orchestra()
    with pytest.raises(TokenizeError, match="20 parts"):
        encode(score)  # encode stays exact
    reduced = reduce_parts(score, MAX_PARTS)
    names = [p.name for p in reduced.parts]
    # only as far as needed, in score order: the woodwinds' pairs; horns, trumpets and strings untouched
    assert names == ["Flutes", "Oboes", "Clarinets in B♭", "Bassoons", "Horn in F 1", "Horn in F 2", "Horn in F 3",
                     "Horn in F 4", "Trumpet 1", "Trumpet 2", "Timpani", "Violin I", "Violin II", "Viola",
                     "Violoncello", "Contrabass"]
    assert [p.program for p in reduced.parts] == [73, 68, 71, 70, 60, 60, 60, 60, 56, 56, 47, 40, 40, 41, 42, 43]
    # asked for fewer, the next runs merge whole: Horn 1-4 -> Horns in F, then the trumpets
    assert [p.name for p in reduce_parts(score, 13).parts][4:7] == ["Horns in F", "Trumpet 1", "Trumpet 2"]
    assert [p.name for p in reduce_parts(score, 12).parts][4:6] == ["Horns in F", "Trumpets"]
    # every note is there, in its merged part, except Flute 2's four unisons (Flute 1's longer notes kept)
    assert reduced.note_count == score.note_count - 4
    merged_into = {0: 0, 1: 0, 2: 1, 3: 1, 4: 2, 5: 2, 6: 3, 7: 3}
    merged_into.update({p: p - 4 for p in range(8, 20)})
    kept = {(int(n["onset_ticks"]), int(n["duration_ticks"]), int(n["pitch"]), int(n["part"])) for n in reduced.notes}
    for n in score.notes:
        on, dur, pitch, part = int(n["onset_ticks"]), int(n["duration_ticks"]), int(n["pitch"]), int(n["part"])
        if part == 1 and on < 4 * Q:
            assert (on, Q, pitch, 0) in kept and (on, dur, pitch, 0) not in kept  # the unison: one note, the longer
        else:
            assert (on, dur, pitch, merged_into[part]) in kept
    assert merged_parts(score, MAX_PARTS)[0] == "Flute 1 + Flute 2 -> Flutes"
    # deterministic, and what the vocabulary holds round-trips exactly
    assert reduce_parts(score, MAX_PARTS) == reduced
    assert np.array_equal(decode(encode(reduced)).notes, reduced.notes)
    assert encodable(score) == reduced


def test_a_merged_part_sounds_a_pitch_once_at_a_time_and_round_trips() -> None:
    """Flute 1 holds a G for 20 quarters (longer than a note step holds: written as tied steps) while Flute 2
    plays Gs inside it; the merged Flutes re-attack the G at each of Flute 2's onsets and hold it to the end."""
    parts = ORCHESTRA[:2] + [(f"Violin {i}", 40, 40 + 2 * i) for i in range(1, 16)]  # 17 parts: the flutes merge
    base = orchestra(parts, bars=6)
    notes = base.notes[base.notes["part"] > 1]
    flutes = np.array([(0, 20 * Q, 67, 80, 0), (2 * Q, Q, 67, 70, 1), (5 * Q, 2 * Q, 67, 70, 1),
                       (3 * Q, Q, 72, 70, 1)], dtype=notes.dtype)
    score = base.replace(notes=np.concatenate([notes, flutes]))
    reduced = reduce_parts(score, MAX_PARTS)
    assert reduced.parts[0].name == "Flutes" and reduced.parts[1:] == score.parts[2:]
    mine = reduced.notes[reduced.notes["part"] == 0]
    assert sorted(zip(mine["onset_ticks"].tolist(), mine["duration_ticks"].tolist(), mine["pitch"].tolist(),
                      strict=True)) == [(0, 2 * Q, 67), (2 * Q, 3 * Q, 67), (3 * Q, Q, 72), (5 * Q, 15 * Q, 67)]
    assert np.array_equal(reduced.notes[reduced.notes["part"] > 0]["onset_ticks"],
                          notes["onset_ticks"])  # the violins untouched
    assert np.array_equal(decode(encode(reduced)).notes, reduced.notes)


def test_strings_are_never_merged_into_winds() -> None:
    score = orchestra()
    for limit in (12, 8, 4):
        reduced = reduce_parts(score, limit)
        assert len(reduced.parts) <= limit
        for g, part in enumerate(reduced.parts):
            sources = {score.parts[i] for i in set(score.notes["part"].tolist())
                       if _notes_of(score, i) <= _notes_of(reduced, g)}
            assert sources and len({family(p) for p in sources}) == 1, (limit, part.name, sources)
    # at 4 the families are all that is left (a family merge takes the name and program of its highest-sounding
    # member)
    four = reduce_parts(score, 4)
    assert [family(p) for p in four.parts] == ["woodwinds", "brass", "percussion", "strings"]
    assert four.parts[0] == Part("Flutes", 73) and four.parts[3] == Part("Violins", 40)
    # a flute and 16 string parts, no two adjacent ones the same instrument: two strings share a part, the flute
    # never joins them, however few parts are asked for
    lone = orchestra([("Flute", 73, 79)] + [("Violin", 40, 60 + i) if i % 2 else ("Viola", 41, 40 + i)
                                            for i in range(16)])
    assert [p.name for p in reduce_parts(lone, 16).parts][:3] == ["Flute", "Violin", "Viola"]
    assert len(reduce_parts(lone, 16).parts) == 16
    assert [p.name for p in reduce_parts(lone, 1).parts] == ["Flute", "Violin"]


def _notes_of(score: Score, part: int) -> set[tuple[int, int]]:
    n = score.notes[score.notes["part"] == part]
    return set(zip(n["onset_ticks"].tolist(), n["pitch"].tolist(), strict=True))


def test_a_score_within_the_limit_is_unchanged() -> None:
    score = orchestra(ORCHESTRA[:16])
    assert reduce_parts(score, MAX_PARTS) is score and encodable(score) is score
    assert merged_parts(score, MAX_PARTS) == []


class FakeStore:
    """What prepare_split and corpus_works read from a corpus store: a manifest, Scores and a folder."""

    def __init__(self, folder: Path, scores: dict[str, Score]) -> None:
        self.folder, self.name, self.scores = folder, "fake", scores

    def manifest(self) -> list[dict[str, Any]]:
        return [{"id": wid, "content_hash": wid, "labels": {"epoch": "classical"}, "split": "train"}
                for wid in self.scores]

    def load_score(self, row: dict[str, Any]) -> Score:
        return self.scores[row["id"]]


def test_corpus_paths_keep_an_orchestral_work(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from cadenza.originality.calibrate import corpus_works
    from cadenza.train.data import prepare_split

    store = FakeStore(tmp_path, {"symphony": orchestra(), "sonata": orchestra(ORCHESTRA[:2])})
    data = prepare_split(store, "train")  # type: ignore[arg-type]
    assert data.works == 2
    assert int(np.sum(data.work(0)[:, F["kind"]] == KIND["part"])) == 16  # the symphony's 16 reduced parts
    skipped: list[str] = []
    works = list(corpus_works(store, store.manifest(), skipped))
    assert [w["id"] for w, _ in works] == ["symphony", "sonata"] and skipped == []
    assert len(works[0][1].parts) == 16  # the index holds the Score the model trains on


def test_a_beethoven_movement_encodes_after_reduction(shared_dir: Path) -> None:
    path = (shared_dir / "datasets" / "classical" / "openscore-orchestra" / "Beethoven,_Ludwig_van"
            / "Symphony_No.1,_Op.21" / "3" / "Beethoven_Op.21_3.mxl")  # the Menuetto: 18 staves, ~2 s to read
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    from cadenza.score import ReadLimits, read_score

    score = read_score(path, ReadLimits(timeout_s=120))
    assert len(score.parts) > MAX_PARTS
    with pytest.raises(TokenizeError):
        encode(score)
    reduced = encodable(score)
    assert len(reduced.parts) <= MAX_PARTS
    assert [p.name for p in reduced.parts][:2] == ["Flutes", "Oboes"]
    assert reduced.parts[2:] == score.parts[4:]  # the clarinets to the strings as they were
    steps = encode(reduced)
    assert len(steps) > reduced.note_count


@pytest.fixture(scope="module")
def untrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch = pytest.importorskip("torch")
    from cadenza.model.checkpoint import new_model, save_checkpoint

    torch.manual_seed(3)
    return save_checkpoint(new_model("tiny"), tmp_path_factory.mktemp("model") / "tiny")


def test_continue_and_revise_reduce_an_orchestral_piece_and_say_so(untrained: Path) -> None:
    from cadenza.compose import ComposeRequest, continue_piece
    from cadenza.compose.revise import revise_bars

    score = orchestra()
    made = continue_piece(score, ComposeRequest(seed=2, candidates=1), bars=1, checkpoint=untrained)
    reduced = encodable(score)
    assert made.score.parts == reduced.parts and made.score.bar_count == score.bar_count + 1
    assert np.array_equal(made.score.notes[made.score.notes["onset_ticks"] < score.length_ticks], reduced.notes)
    merged = made.report["primer"]["parts_merged"]
    assert merged["from"] == 20 and merged["to"] == 16 and merged["merged"][0] == "Flute 1 + Flute 2 -> Flutes"
    revised = revise_bars(score, "3", ComposeRequest(seed=2, candidates=1), checkpoint=untrained, versions=1)
    assert revised.score.parts == reduced.parts and revised.score.bar_count == score.bar_count
    assert revised.report["primer"]["parts_merged"] == merged
    plain = continue_piece(orchestra(ORCHESTRA[:16]), ComposeRequest(seed=2, candidates=1), bars=1,
                           checkpoint=untrained)
    assert "parts_merged" not in plain.report["primer"]


def test_training_and_the_index_leave_out_the_same_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A work whose steps hold a value outside a field (4 works of corpus v2: the trainer left them out, the
    index kept them) is now left out of both."""
    pytest.importorskip("torch")
    from cadenza.originality.calibrate import corpus_works
    from cadenza.tokens import events
    from cadenza.train.data import prepare_split

    damaged = orchestra(ORCHESTRA[:3])
    exact = events.encode

    def encode(score: Score, label_ids: list[int] | None = None, chords: np.ndarray | None = None) -> np.ndarray:
        steps = exact(score, label_ids, chords)
        if score.parts == damaged.parts:
            steps[-2, F["position"]] = -1  # as a note before its bar's start would give
        return steps

    monkeypatch.setattr(events, "encode", encode)
    store = FakeStore(tmp_path, {"damaged": damaged, "symphony": orchestra(), "sonata": orchestra(ORCHESTRA[:2])})
    assert prepare_split(store, "train").works == 2  # type: ignore[arg-type]
    skipped: list[str] = []
    assert [w["id"] for w, _ in corpus_works(store, store.manifest(), skipped)] == ["symphony", "sonata"]
    assert skipped == ["damaged"]
    with pytest.raises(TokenizeError, match="position"):
        events.corpus_steps(damaged)
