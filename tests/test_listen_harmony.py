"""The learned chord per beat (listen.harmony.decoded_beat_chords, the chord network) on hand-built bars whose
harmony is known: passing notes, inversions, a cadential six-four and beats of melody alone; and the local key of
a modulating phrase."""

from __future__ import annotations

from cadenza.listen.features import View
from cadenza.listen.harmony import decoded_beat_chords, vocabulary
from cadenza.listen.key import local_keys
from cadenza.score import TICKS_PER_QUARTER as Q
from cadenza.score import Part, Score, TimeSignature

Note = tuple[int, int, int, int, int]
C, D, E, F, G, A, B = 0, 2, 4, 5, 7, 9, 11


def _build(notes: list[Note]) -> Score:
    return Score.build(parts=[Part("P")], notes=notes, time_signatures=[TimeSignature(0, 4, 4)])


def _block(bar: int, pitches: tuple[int, ...], beats: int = 4, at: int = 0) -> list[Note]:
    """The pitches struck together at beat ``at`` of a 4/4 bar and held ``beats`` beats."""
    return [(bar * 4 * Q + at * Q, beats * Q, p, 80, 0) for p in pitches]


def _roots(notes: list[Note]) -> list[int]:
    return decoded_beat_chords(View(_build(notes))).roots.tolist()


def test_a_dominant_seventh_under_running_passing_notes_is_heard_as_v() -> None:
    # bar 0: C major; bar 1: G7 (G in the bass, B D F held) under a melody in eighths that passes through
    # A, C and E on the beats' second halves and leans on C (a 4-3 suspension) at the start; bar 2: C major
    notes = _block(0, (36, 52, 55, 60)) + _block(1, (43, 59, 62, 65)) + _block(2, (36, 52, 55, 60))
    melody = [72, 71, 72, 74, 76, 74, 72, 71]  # C5 B4 C5 D5 E5 D5 C5 B4
    notes += [(4 * Q + i * Q // 2, Q // 2, p, 80, 0) for i, p in enumerate(melody)]
    assert _roots(notes)[4:8] == [G] * 4


def test_a_first_inversion_chord_keeps_its_root() -> None:
    # I6 (E in the bass) and ii6 (F in the bass, D F A): the bass is not the root
    notes = _block(0, (40, 55, 60, 64)) + _block(1, (41, 57, 62, 65)) + _block(2, (43, 59, 62, 67))
    assert _roots(notes)[:8] == [C] * 4 + [D] * 4


def test_a_cadential_six_four_is_heard_as_the_dominant() -> None:
    # IV, then C E over G in the bass resolving to D and B over the same G (V64-53, written V(64) by the DCML
    # annotators), then I
    notes = _block(0, (41, 57, 60, 65)) + _block(1, (43, 60, 64, 67), 2) + _block(1, (43, 59, 62, 67), 2, 2)
    notes += _block(2, (36, 55, 60, 64))
    assert _roots(notes)[4:8] == [G] * 4


def test_a_chord_is_held_through_beats_of_melody_alone() -> None:
    # a C major chord on the first beat, then the melody alone through its notes: the chord is still the
    # harmony heard (a lone note is too little to name another)
    notes = _block(0, (48, 52, 55, 60), 1) + [(Q * i, Q, p, 80, 0) for i, p in ((1, 64), (2, 67), (3, 64))]
    notes += _block(1, (43, 59, 62, 67)) + _block(2, (48, 52, 55, 60))
    chords = decoded_beat_chords(View(_build(notes)))
    assert chords.roots.tolist()[:4] == [C] * 4 and set(chords.qualities[:4]) == {"maj"}
    assert vocabulary(chords)[0] == "triadic"


def test_local_keys_follow_a_modulation() -> None:
    # eight bars of I IV V7 I in C major, then eight in G major (the F sharps make the new key)
    cadence = ((0, 4, 7), (5, 9, 12), (7, 11, 14, 17), (0, 4, 7))
    notes: list[Note] = []
    for bar in range(16):
        tonic = 48 if bar < 8 else 55
        chord = cadence[bar % 4]
        notes += _block(bar, (tonic - 12 + chord[0], *(tonic + i for i in chord)))
    keys = local_keys(View(_build(notes)))
    assert keys[:12] == [(C, "major")] * 12 and keys[-12:] == [(G, "major")] * 12
