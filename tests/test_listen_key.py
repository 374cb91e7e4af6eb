"""Key and modulations on hand-built scores with known keys, and on a Bach chorale."""

from __future__ import annotations

import pytest

from cadenza.listen.features import View
from cadenza.listen.key import count_modulations, estimate_key
from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import Part, Score, TimeSignature, read_score

MAJOR_SCALE = [0, 2, 4, 5, 7, 9, 11]
MAJOR_TRIAD, MINOR_TRIAD, DOMINANT_7 = (0, 4, 7), (0, 3, 7), (0, 4, 7, 10)
# Roman numerals in a major key -> (root above the tonic, chord intervals)
CHORDS = {
    "I": (0, MAJOR_TRIAD),
    "ii": (2, MINOR_TRIAD),
    "IV": (5, MAJOR_TRIAD),
    "V": (7, MAJOR_TRIAD),
    "V7": (7, DOMINANT_7),
    "vi": (9, MINOR_TRIAD),
    "V7/V": (2, DOMINANT_7),
}
PHRASE = "I IV V7 I vi ii V7 I"  # eight bars that establish a major key
Note = tuple[int, int, int, int, int]


def _build(notes: list[Note]) -> Score:
    return Score.build(parts=[Part("P")], notes=notes, time_signatures=[TimeSignature(0, 4, 4)])


def _bars(tonic: int, numerals: str, first_bar: int = 0) -> list[Note]:
    """One 4/4 bar per Roman numeral in the major key on ``tonic``: the root in the bass (whole note), the
    chord in half notes in the middle, and a melody of quarter notes that steps through the key's scale
    from the root to the chord's third and fifth."""
    notes: list[Note] = []
    for i, numeral in enumerate(numerals.split()):
        degree_root, intervals = CHORDS[numeral]
        start = (first_bar + i) * 4 * Q
        root = (tonic + degree_root) % 12
        notes.append((start, 4 * Q, 36 + root, 70, 0))
        for half in (0, 2 * Q):
            notes.extend((start + half, 2 * Q, 55 + (root + iv - 7) % 12, 60, 0) for iv in intervals[1:])
        scale = sorted((tonic + s) % 12 for s in MAJOR_SCALE)
        step = next(p for p in scale if p > root) if root < scale[-1] else scale[0]
        for beat, pc in enumerate((root, step, root + intervals[1], root + intervals[2])):
            notes.append((start + beat * Q, Q, 72 + pc % 12, 80, 0))
    return notes


def _key(score: Score) -> str:
    return estimate_key(View(score)).name


def _modulations(score: Score) -> int:
    return count_modulations(View(score))


def test_c_major_scale_and_cadence() -> None:
    scale = [(i * Q, Q, 60 + p, 80, 0) for i, p in enumerate([*MAJOR_SCALE, 12])]  # two bars
    cadence = _bars(0, "I IV V I", first_bar=2)
    assert _key(_build(scale + cadence)) == "C major"


def test_a_minor_melody_with_leading_tones() -> None:
    # A C E D C B A G♯ | A E A B C B A G♯ | A ... : A minor, the G♯ marking it off from C major
    line = [69, 72, 76, 74, 72, 71, 69, 68, 69, 64, 69, 71, 72, 71, 69, 68, 69, 72, 71, 69, 65, 64, 68, 69]
    notes = [(i * Q, Q, p, 80, 0) for i, p in enumerate(line)]
    notes[-1] = (notes[-1][0], 4 * Q, 69, 80, 0)
    estimate = estimate_key(View(_build(notes)))
    assert (estimate.name, estimate.mode) == ("A minor", "minor")


def test_e_flat_major_piece() -> None:
    assert _key(_build(_bars(3, f"{PHRASE} {PHRASE}"))) == "E♭ major"


def test_modulation_to_the_dominant_that_stays_counts_once() -> None:
    # eight bars in C, then eight in G (with its F♯s) to the end
    score = _build(_bars(0, PHRASE) + _bars(7, PHRASE, first_bar=8))
    assert _modulations(score) == 1


def test_touching_the_dominant_is_no_modulation() -> None:
    # C major for sixteen bars with a two-bar excursion to V (D7 to G, an F♯) in the middle
    score = _build(_bars(0, "I IV V7 I vi ii V7/V V I IV V7 I vi IV V7 I"))
    assert _key(score) == "C major"
    assert _modulations(score) == 0


def test_a_single_key_has_no_modulations() -> None:
    assert _modulations(_build(_bars(0, " ".join([PHRASE] * 3)))) == 0


@pytest.mark.parametrize("with_signature", [True, False])
def test_bach_chorale_bwv66_6_is_f_sharp_minor(with_signature: bool) -> None:
    score = read_score("music21:bach/bwv66.6")
    if not with_signature:
        score = score.replace(key_signatures=())
    view = View(score)
    assert estimate_key(view).name == "F♯ minor"
    assert 0 <= count_modulations(view) <= 2
