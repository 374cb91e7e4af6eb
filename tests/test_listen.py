"""Listening on hand-built scores with known answers, and on real corpus pieces."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cadenza.listen import LABELS, analyse
from cadenza.listen.labels import LABELS_BY_NAME, mood_quadrant, validate_labels
from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import Part, Score, Tempo, TimeSignature, read_score

C_MAJOR = [0, 2, 4, 5, 7, 9, 11]
SHARED_LIEDER = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "classical" / "openscore-lieder"
# 12-bar blues in C: bar roots C C C C F F C C G F C G, as root-position 7th chords
BLUES_ROOTS = [0, 0, 0, 0, 5, 5, 0, 0, 7, 5, 0, 7]


def _score(notes: list[tuple[int, int, int, int, int]], parts: list[Part] | None = None,
           meter: tuple[int, int] = (4, 4), bpm: float = 100.0) -> Score:
    return Score.build(parts=parts or [Part("Piano", 0)], notes=notes,
                       time_signatures=[TimeSignature(0, *meter)], tempos=[Tempo(0, bpm)])


def _melody(bars: int, per_beat: int, meter: tuple[int, int] = (4, 4)) -> list[tuple[int, int, int, int, int]]:
    step = Q // per_beat
    beats = bars * meter[0] * 4 // meter[1]
    return [(i * step, step, 60 + C_MAJOR[i % 7], 80, 0) for i in range(beats * per_beat)]


def test_label_set_has_at_least_30_documented_labels() -> None:
    assert len(LABELS) >= 30
    assert len({spec.name for spec in LABELS}) == len(LABELS)
    for spec in LABELS:
        assert spec.description
        if spec.kind == "bucket":
            assert LABELS_BY_NAME[spec.of].kind == "number"
            assert list(spec.edges) == sorted(spec.edges)


@pytest.mark.parametrize(("meter", "expected"), [((3, 4), "3/4"), ((6, 8), "6/8"), ((5, 4), "5/4"),
                                                 ((7, 16), "other")])
def test_meter_comes_from_the_signature(meter: tuple[int, int], expected: str) -> None:
    labels = analyse(_score(_melody(4, 1, meter), meter=meter))
    assert labels["meter"] == expected


@pytest.mark.parametrize(("per_beat", "bucket"), [(1, "low"), (2, "medium"), (4, "high")])
def test_density_buckets(per_beat: int, bucket: str) -> None:
    labels = analyse(_score(_melody(4, per_beat)))
    assert labels["note_density"] == pytest.approx(per_beat)
    assert labels["density"] == bucket
    assert labels["texture"] == "monophonic" and labels["polyphony"] == pytest.approx(1.0)


def test_tempo_and_length() -> None:
    labels = analyse(_score(_melody(8, 1), bpm=60))
    assert labels["tempo_bpm"] == 60 and labels["tempo_class"] == "adagio"
    assert labels["length_bars"] == 8 and labels["length_s"] == pytest.approx(32.0)


def test_homophonic_block_chords() -> None:
    notes = []
    for beat in range(16):
        root = [0, 5, 7, 0][beat // 4 % 4]
        for interval in (0, 4, 7, 12):
            notes.append((beat * Q, Q, 48 + root + interval, 80, 0))
    labels = analyse(_score(notes))
    assert labels["texture"] == "homophonic"
    assert labels["harmonic_vocabulary"] == "triadic"
    assert labels["key"] == "C major"
    assert labels["chord_progression"][:4] == ["I", "IV", "V", "I"]


def test_two_independent_lines_are_polyphonic() -> None:
    upper = [(i * Q // 2, Q // 2, 72 + C_MAJOR[i % 7], 80, 0) for i in range(32)]
    lower = [(Q // 4 + i * Q // 2, Q // 2, 48 + C_MAJOR[(i * 3) % 7], 80, 1) for i in range(32)]  # never together
    labels = analyse(_score(upper + lower, parts=[Part("Flute", 73), Part("Cello", 42)]))
    assert labels["texture"] == "polyphonic"
    assert labels["ensemble"] == "chamber"
    assert labels["instruments"] == ["pipe", "strings"]


def test_tune_over_chords_is_melody_and_accompaniment_and_a_lead_sheet() -> None:
    tune = [(i * Q // 2, Q // 2, 72 + C_MAJOR[(i * 2) % 7], 90, 0) for i in range(64)]
    chords = [(bar * 4 * Q, 4 * Q, 48 + r + i, 70, 1) for bar, r in enumerate([0, 5, 7, 0, 0, 5, 7, 0])
              for i in (0, 4, 7)]
    labels = analyse(_score(tune + chords, parts=[Part("Tune", 0), Part("Chords", 0)]))
    assert labels["texture"] == "melody+accompaniment"
    assert labels["ensemble"] == "lead-sheet"


def test_twelve_bar_blues_is_detected() -> None:
    notes = []
    for bar, root in enumerate(BLUES_ROOTS * 2):
        for beat in range(4):
            for interval in (0, 4, 7, 10):
                notes.append(((bar * 4 + beat) * Q, Q, 48 + root + interval, 80, 0))
    labels = analyse(_score(notes))
    assert labels["blues"] is True
    assert labels["harmonic_vocabulary"] == "seventh-chords"
    not_blues = [n for n in notes if n[0] < 4 * 4 * Q]  # four bars of C7 only
    assert analyse(_score(not_blues))["blues"] is False


def test_string_quartet_and_choir() -> None:
    quartet = [Part("Violin I", 40), Part("Violin II", 40), Part("Viola", 41), Part("Cello", 42)]
    notes = [(b * Q, Q, p + 12 * (3 - i), 80, i) for b in range(8) for i, p in enumerate([48, 52, 55, 60])]
    assert analyse(_score(notes, parts=quartet))["ensemble"] == "string-quartet"
    choir = [Part(n, 52) for n in ("Soprano", "Alto", "Tenor", "Bass")]
    assert analyse(_score(notes, parts=choir))["ensemble"] == "satb-choir"


def test_authentic_cadence_and_dynamics() -> None:
    notes = []
    for bar, root in enumerate([0, 5, 7, 0]):
        for interval in (0, 4, 7):
            notes.append((bar * 4 * Q, 4 * Q, 60 + root + interval, 110, 0))
    labels = analyse(_score(notes))
    assert "authentic@4" in labels["cadences"]
    assert labels["dynamics"] == "ff" and labels["velocity_spread"] == 0


def test_mood_quadrants() -> None:
    assert [mood_quadrant(v, a) for v, a in [(1, 1), (-1, 1), (-1, -1), (1, -1)]] == [
        "joyful", "tense", "sad", "calm"]


@pytest.mark.parametrize("ref", ["music21:bach/bwv66.6", "music21:beethoven/opus18no1/movement2.mxl",
                                 "music21:essenFolksong/altdeu10#3", "music21:chopin/mazurka06-2.krn"])
def test_real_pieces_give_valid_labels(ref: str) -> None:
    labels = analyse(read_score(ref))
    validate_labels(labels)
    assert set(labels) == {spec.name for spec in LABELS}
    assert None not in [labels[n] for n in labels if n != "composer"]


def test_cli_analyse_json_on_the_chorale() -> None:
    result = subprocess.run([sys.executable, "-m", "cadenza", "analyse", "music21:bach/bwv66.6", "--json"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    labels = json.loads(result.stdout)["labels"]
    assert len(labels) >= 30
    assert labels["key"] == "F♯ minor" and labels["meter"] == "4/4"
    assert labels["epoch"] == "baroque" and labels["ensemble"] == "satb-choir"


def test_cli_analyse_bad_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00\x00")
    result = subprocess.run([sys.executable, "-m", "cadenza", "analyse", str(bad)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("cadenza: error:") and len(result.stderr.strip().splitlines()) == 1


def test_a_part_named_as_a_voice_is_a_voice_whatever_sound_plays_it() -> None:
    """OpenScore's Lieder give the voice an oboe's program (68): their instruments were heard as "reed, piano"."""
    from cadenza.listen.forces import sung

    assert sung("Voice", 68) and sung("Singstimme", 0) and sung("Soprano", 52) and sung("Choir", 52)
    assert not sung("Bass", 33) and not sung("Tenor", 66) and not sung("Piano", 0) and not sung("Oboe", 68)
    assert not sung("Chords", 0)  # a lead sheet's chord part ("chor" named a choir in it)
    path = SHARED_LIEDER / "Abbott,_Jane_Bingham" / "_" / "Just_for_Today" / "lc6583477.mxl"
    if not path.is_file():
        pytest.skip("the classical pack's Lieder are not here")
    labels = analyse(read_score(path))
    assert labels["instruments"] == ["voice", "piano"]
    assert labels["ensemble"] == "chamber"  # (the corpus' label for its songs, as the tables were fitted on)
