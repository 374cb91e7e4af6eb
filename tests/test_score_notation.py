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
    from music21 import converter

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
            for pitch in note.pitches:
                written[(round(float(note.getOffsetInHierarchy(part)) * 48), pitch.midi)] += 1
    notes = piece.score.notes
    composed = Counter((round(int(onset) * 48 / TICKS_PER_QUARTER), int(pitch))
                       for onset, pitch in zip(notes["onset_ticks"], notes["pitch"], strict=True))
    assert composed and written == composed
