"""What the composer writes reads back as written: every ensemble's MusicXML holds exactly the piece's notes
(music21 reading it independently, at sounding pitch), with no tuplet but the eighth-note triplets the
notation grid allows."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("torch")

import cadenza
from cadenza.score.model import TICKS_PER_QUARTER

ENSEMBLES = ("satb", "string-quartet", "piano", "orchestra", "lead-sheet", "song")


@pytest.mark.parametrize("ensemble", ENSEMBLES)
def test_the_musicxml_of_a_composed_piece_holds_exactly_its_notes(ensemble: str, tmp_path: Path) -> None:
    from music21 import converter, harmony

    # (a song of 12 bars: its voice rests through a piano introduction of two bars)
    piece = cadenza.compose(ensemble=ensemble, bars=12 if ensemble == "song" else 8, seed=0)
    assert ensemble != "song" or piece.report["plan"]["intro_bars"] == 2
    path = cadenza.write_score(piece.score, tmp_path / "piece.musicxml")
    text = Path(path).read_text(encoding="utf-8")
    ratios = set(re.findall(r"<actual-notes>(\d+)</actual-notes>\s*<normal-notes>(\d+)</normal-notes>", text))
    assert ratios <= {("3", "2")}  # eighth-note triplets at most
    parsed = converter.parse(str(path)).toSoundingPitch()
    written: Counter[tuple[int, int]] = Counter()
    for part in parsed.parts:
        for note in part.flatten().notes:
            if note.tie is not None and note.tie.type in ("stop", "continue"):
                continue  # the rest of a note tied over a bar line
            if isinstance(note, harmony.Harmony):
                continue  # a lead sheet's chord symbol: printed, not played
            for pitch in note.pitches:
                written[(round(float(note.getOffsetInHierarchy(part)) * 48), pitch.midi)] += 1
    notes = piece.score.notes
    composed = Counter((round(int(onset) * 48 / TICKS_PER_QUARTER), int(pitch))
                       for onset, pitch in zip(notes["onset_ticks"], notes["pitch"], strict=True))
    assert composed and written == composed


def _in_triplets(meter: tuple[int, int], bpm: float | None) -> cadenza.Score:
    """Two bars of triplet eighths in ``meter``, a bar of quarters and sixteenths, and a last whole bar."""
    from cadenza.score.model import Part, Score, Tempo, TimeSignature

    third, bar = TICKS_PER_QUARTER // 3, meter[0] * 4 * TICKS_PER_QUARTER // meter[1]
    notes = [(i * third, third, 60 + i % 5, 80, 0) for i in range(2 * bar // third)]
    notes += [(2 * bar, TICKS_PER_QUARTER, 67, 80, 0), (2 * bar + TICKS_PER_QUARTER, TICKS_PER_QUARTER // 4, 65, 80, 0)]
    notes += [(3 * bar, bar, 60, 80, 0)]
    return Score.build([Part("Violin", 40)], notes, [TimeSignature(0, *meter)],
                       tempos=[Tempo(0, bpm)] if bpm else [])


@pytest.mark.parametrize(("meter", "bpm", "compound"), [((4, 4), 46.0, (12, 8)), ((3, 4), None, (9, 8)),
                                                         ((2, 2), 100.0, (12, 8))])
def test_music_in_triplets_is_rewritten_in_its_compound_meter_sounding_the_same(
        meter: tuple[int, int], bpm: float | None, compound: tuple[int, int], tmp_path: Path) -> None:
    from cadenza.compose.notation import compound_notation

    score = _in_triplets(meter, bpm)
    written = compound_notation(score)
    assert written is not None
    sig = written.time_signatures[0]
    assert (sig.numerator, sig.denominator) == compound and written.bar_count == score.bar_count
    for old, new in ((score.notes["onset_ticks"], written.notes["onset_ticks"]),
                     (score.notes["onset_ticks"] + score.notes["duration_ticks"],
                      written.notes["onset_ticks"] + written.notes["duration_ticks"])):
        assert written.seconds_at(new) == pytest.approx(score.seconds_at(old))  # every note sounds as it did
    assert written.notes["pitch"].tolist() == score.notes["pitch"].tolist()
    path = cadenza.write_score(written, tmp_path / "piece.musicxml")
    text = Path(path).read_text(encoding="utf-8")
    assert "<time-modification>" not in text  # the triplets are plain eighths now, the duple figure dotted
    assert "<beat-unit-dot" in text  # the tempo is counted in dotted quarters, as a 12/8 piece is
    again = cadenza.read_score(path)
    assert again.notes.tolist() == written.notes.tolist() and again.tempos == written.tempos


def test_music_mostly_in_duple_values_or_in_a_compound_meter_keeps_its_notation() -> None:
    from cadenza.compose.notation import compound_notation
    from cadenza.score.model import Part, Score, TimeSignature

    duple = Score.build([Part("Violin", 40)], [(i * TICKS_PER_QUARTER // 2, TICKS_PER_QUARTER // 2, 60, 80, 0)
                                               for i in range(16)] + [(8 * TICKS_PER_QUARTER, 1120, 62, 80, 0)],
                        [TimeSignature(0, 4, 4)])
    assert compound_notation(duple) is None
    assert compound_notation(_in_triplets((6, 8), 60.0)) is None  # a compound meter already


def test_a_piece_in_triplets_is_written_in_its_compound_meter_only_where_the_plan_chose_meter_and_tempo() -> None:
    from dataclasses import replace

    from cadenza.compose import ComposeRequest
    from cadenza.compose.generate import _Best, _in_compound_meter, adherence, listen_blind
    from cadenza.compose.request import resolve

    # a slow G-minor quartet whose meter was drawn (4/4) ran in triplet eighths through 68% of its quarters at the
    # model's 46 bpm: 158 tuplet marks on its pages (seed 7, before the grid followed the tempo)
    score = _in_triplets((4, 4), 46.0)
    drawn = replace(resolve(ComposeRequest(ensemble="string-quartet", key="G minor", bars=4)), meter=(4, 4))
    drawn = replace(drawn, labels={**drawn.labels, "meter": "4/4"}, implied=drawn.implied | {"meter"})
    heard = listen_blind(score)
    best = _Best(score, heard, adherence(drawn.labels, heard), 1, [], None)  # type: ignore[arg-type]
    written = _in_compound_meter(drawn, best)
    assert written is not None
    piece, heard_now, met, line = written
    assert str(piece.time_signatures[0]) == "12/8" and heard_now["meter"] == "12/8" and met["meter"]["met"]
    assert line == "written in 12/8, not the 4/4 drawn for its style: its beats run in triplets"
    # a meter or a tempo the user asked is kept: the tempo is asked in quarter notes
    asked_meter = replace(drawn, implied=drawn.implied - {"meter"})
    asked_tempo = replace(drawn, tempo_bpm=46.0, implied=drawn.implied - {"tempo_bpm"})
    assert _in_compound_meter(asked_meter, best) is None and _in_compound_meter(asked_tempo, best) is None
