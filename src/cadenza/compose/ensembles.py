"""The ensembles a request can name: their parts, General MIDI programs, written ranges and polyphony.

Ranges are the comfortable ranges of each instrument or voice (MIDI pitch, sounding), narrower than the
extremes, so what Cadenza writes can be played and sung. ``polyphony`` is the most notes a part starts at
once (1 for voices and winds; a double stop for strings; a handful for keyboards); a single line (1) is
also kept free of overlaps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from cadenza.errors import UsageError
from cadenza.score.instruments import KEYBOARD_PROGRAMS


@dataclass(frozen=True)
class Voice:
    name: str
    program: int  # General MIDI program, 0-based
    low: int  # lowest MIDI pitch
    high: int  # highest MIDI pitch
    polyphony: int = 1
    is_drum: bool = False
    # the shortest rest a line keeps inside a phrase, in beats (shorter gaps are filled: see
    # :func:`cadenza.compose.finish.legato_lines`)
    shortest_rest_beats: float = 1.0
    leads: bool = False  # the part that carries the tune where the ensemble is not written top-down as a whole
    # the part this one doubles (its name) and at what interval in semitones: never sampled, written from that
    # part's notes (an orchestra's cellos and basses playing one bass line in octaves)
    doubles: str | None = None
    doubles_semitones: int = 0
    # the lowest pitch of the part's usual register: each semitone below costs (cadenza.compose.registers)
    usual_low: int | None = None
    usual_high: int | None = None  # the highest pitch of the usual register: each semitone above costs


@dataclass(frozen=True)
class Ensemble:
    name: str
    label: str  # the ``ensemble`` label the model was trained with
    voices: tuple[Voice, ...]


# strings keep their eighth rests (a quartet's detached accompaniment: real quartets rest 0.33 times per part per
# bar; filling every rest under a beat left ours 0.12, and 96% legato against 91%)
# (the first violins' usual register tops out where a twentieth of their notes lie above, MIDI 84, in 24 quartet
# openings of the craft pool (16 bars; the highest note of each: median 84, p90 89); free above, with the climax
# leaning the tune up in each contrasting phrase, ours climbed and stayed: a D-minor quartet's highest note median
# 93.5 over 8 pieces, one with 91% of its notes above 84, the README's quartet three bars an octave up to A6)
_VIOLIN1 = Voice("Violin I", 40, 55, 96, 2, shortest_rest_beats=0.5, leads=True, usual_high=84)
_VIOLIN2 = Voice("Violin II", 40, 55, 91, 2, shortest_rest_beats=0.5)
_VIOLA = Voice("Viola", 41, 48, 84, 2, shortest_rest_beats=0.5)
# (the cello's usual register starts where a tenth of its notes lie below, G2 (MIDI 43), in 24 quartet openings of
# the craft pool (16 bars); free below, ours put 22% of its notes there, its median 48 against 50, and the
# quartet's lowest line sat at the real p10)
_CELLO = Voice("Violoncello", 42, 36, 72, 2, shortest_rest_beats=0.5, usual_low=43)
# an orchestra's basses play the cellos' bass line an octave below them, as the symphonic works of the corpus
# mostly write it (their lowest line averages MIDI 38, D2: the basses'; written as a line of its own, ours sat
# at 44 and the two parts wandered apart)
_ORCHESTRA_CELLO = Voice("Violoncello", 42, 36, 72, 1, shortest_rest_beats=0.5)
QUARTET_REST_BEATS = 0.25  # the shortest rest a quartet's line keeps inside a phrase (see "string-quartet" below)
CHORALE_REST_BEATS = 2.0  # the shortest rest a chorale's voice writes inside a phrase (see "satb" below)
_CONTRABASS = Voice("Contrabass", 43, 28, 60, 1, doubles="Violoncello", doubles_semitones=-12)

ENSEMBLES = {
    # two staves of one piano, as scores of the corpus have them: a right hand over a left hand (one part
    # of both hands wrote single lines, like the folk tunes that fill the corpus)
    # (the right hand's usual register: a twentieth of its notes lie below MIDI 59 and a tenth above 81 in 36
    # sonata openings of Haydn, Mozart and Beethoven, kern; see cadenza.compose.registers. From the tenth below,
    # 62, the tune's range narrowed to 20 semitones against the sonatas' 20-38: 32 pieces each)
    "piano": Ensemble("piano", "solo-piano", (Voice("Piano", 0, 52, 100, 4, usual_low=58, usual_high=81),
                                              Voice("Piano", 0, 24, 67, 4))),
    # (a choir's bass from F2: from E2 ours averaged C3 against Bach's D3, the lowest fifth its most used; a
    # chorale's voices hold their note rather than rest for less than a half note: Bach's chorales write no rest in
    # their first 16 bars, and with one beat left free 8 of 32 of ours had the whole choir drop out for a beat
    # before an arrival's bar or after it, 1 of 32 with two)
    # (the upper voices' usual registers: the pitch a tenth of their notes lie below in Bach's chorales; see
    # cadenza.compose.registers)
    "satb": Ensemble("satb", "satb-choir", (Voice("Soprano", 52, 60, 81, shortest_rest_beats=CHORALE_REST_BEATS,
                                                  usual_low=66),
                                            Voice("Alto", 52, 53, 74, shortest_rest_beats=CHORALE_REST_BEATS,
                                                  usual_low=61),
                                            Voice("Tenor", 52, 48, 69, shortest_rest_beats=CHORALE_REST_BEATS,
                                                  usual_low=55),
                                            Voice("Bass", 52, 41, 62, shortest_rest_beats=CHORALE_REST_BEATS))),
    # a quartet's strings keep their sixteenth rests (a figure's "eighth, sixteenth rest, sixteenth", a detached
    # accompaniment's): a fifth of the real quartets' rests are a quarter of a beat long, and the model wrote them
    # as often; filled, our quartets rested 0.18 times per part per bar against 0.23-1.25 (p10-p90) in real ones
    "string-quartet": Ensemble("string-quartet", "string-quartet", tuple(
        replace(voice, shortest_rest_beats=QUARTET_REST_BEATS) for voice in (_VIOLIN1, _VIOLIN2, _VIOLA, _CELLO))),
    "orchestra": Ensemble("orchestra", "orchestra", (
        Voice("Flute", 73, 60, 96), Voice("Oboe", 68, 58, 91), Voice("Clarinet", 71, 50, 91),
        Voice("Bassoon", 70, 34, 72), Voice("Horn", 60, 41, 77), Voice("Trumpet", 56, 55, 82),
        Voice("Timpani", 47, 41, 57), _VIOLIN1, _VIOLIN2, _VIOLA, _ORCHESTRA_CELLO, _CONTRABASS)),
    # three voices of a medieval chanson or motet, as the corpus' transcriptions have them: a cantus over a
    # contratenor and a tenor (their medians: MIDI 66, 61 and 54; 46 of its 75 medieval vocal works have three)
    "voices": Ensemble("voices", "voices", (Voice("Cantus", 52, 57, 77), Voice("Contratenor", 52, 50, 71),
                                            Voice("Tenor", 52, 45, 65))),
    # a song: a voice over a piano's two staves, as the corpus' Lieder have them (its romantic and modern works
    # are mostly these: 1,104 and 180 OpenScore songs). The voice sings from its usual register (a tenth of the
    # Lieder's sung notes lie below MIDI 64) and the piano keeps under it (registers.UnderTheTune). (The right
    # hand has no fixed register: one under the voice, MIDI 57-74 as in 30 Lieder, left the bass to the right
    # hand and the left hand silent for bars.) The left hand's usual register reaches down to C2: 24 Lieder of the
    # craft pool put a twentieth of its notes below B1 (35); ours, free down to C1, a twentieth below E1 (28), whole
    # bars of octaves on E1-E2 under a right hand in the tenor
    "song": Ensemble("song", "chamber", (Voice("Voice", 53, 57, 79, usual_low=64), Voice("Piano", 0, 52, 100, 3),
                                         Voice("Piano", 0, 24, 67, 2, usual_low=36))),
    "solo": Ensemble("solo", "solo-instrument", (Voice("Violin", 40, 55, 93),)),
    "lead-sheet": Ensemble("lead-sheet", "lead-sheet", (Voice("Melody", 0, 55, 88), Voice("Chords", 0, 36, 62, 4))),
    "band": Ensemble("band", "band", (Voice("Lead", 65, 55, 84), Voice("Guitar", 25, 40, 79, 4),
                                      Voice("Piano", 0, 36, 96, 6), Voice("Bass", 33, 28, 55),
                                      Voice("Drums", 0, 35, 81, 4, is_drum=True))),
}
# the ensemble an epoch's music is most often for in the corpus, used when a request names an epoch (or a
# composer) but no ensemble: the texture is much of what makes music sound of its time
EPOCH_ENSEMBLES = {"medieval": "voices", "renaissance": "satb", "baroque": "satb", "classical": "string-quartet",
                   "romantic": "song", "modern": "song", "folk": "solo", "popular": "piano"}


#: the same for a soundtrack: a piano where the epoch's usual ensemble is a song (music under a picture or a
#: story has no solo singer: one that sings a few notes in a minute, as a romantic soundtrack's voice did, is
#: no song)
SOUNDTRACK_ENSEMBLES = {epoch: "piano" if name == "song" else name for epoch, name in EPOCH_ENSEMBLES.items()}


ALIASES = {"lied": "song", "art-song": "song", "voice-and-piano": "song",
           "solo-instrument": "solo", "melody": "solo", "violin": "solo",
           "solo-piano": "piano", "keyboard": "piano", "choir": "satb", "satb-choir": "satb",
           "quartet": "string-quartet", "strings": "string-quartet", "leadsheet": "lead-sheet", "rock": "band"}


#: (epoch, ensemble label) -> the ensemble label the model is conditioned on instead: where the corpus writes an
#: epoch's music for an ensemble under another label. The corpus' popular piano music is POP909's arrangements
#: (a tune, a second line and an accompaniment on three piano tracks: labelled keyboard, 190 works), its popular
#: "solo-piano" works 47 Joplin rags; conditioned on the rags' label, 6 of 8 popular piano pieces were heard as
#: folk, classical or romantic 2/4 tunes, on the arrangements' 2 of 8
MODEL_LABELS = {("popular", "solo-piano"): "keyboard"}


def model_label(epoch: str | None, label: str) -> str:
    """The ensemble label the model writes ``label``'s music under in ``epoch`` (see :data:`MODEL_LABELS`)."""
    return MODEL_LABELS.get((epoch or "", label), label)


def line_over_chords(polyphony: list[int]) -> bool:
    """Whether the first part is a single line over parts that all play chords: a song's voice over the piano's
    hands (a sung tune, whatever the style: see :class:`cadenza.compose.rules.VoiceRules`), a lead sheet's tune
    over its chords."""
    return len(polyphony) > 1 and polyphony[0] == 1 and all(p > 1 for p in polyphony[1:])


def tune_part(voices: tuple[Voice, ...]) -> int | None:
    """The part that carries the tune by its nature (:attr:`Voice.leads`: an orchestra's first violins), if any."""
    return next((i for i, v in enumerate(voices) if v.leads), None)


def doubling_parts(voices: tuple[Voice, ...]) -> dict[int, tuple[int, int]]:
    """Parts written by doubling another: part -> (the part it doubles, at how many semitones)."""
    names = {v.name: i for i, v in enumerate(voices)}
    return {i: (names[v.doubles], v.doubles_semitones) for i, v in enumerate(voices)
            if v.doubles is not None and v.doubles in names}


def ensemble(name: str) -> Ensemble:
    key = name.strip().lower().replace(" ", "-").replace("_", "-")
    key = ALIASES.get(key, key)
    if key not in ENSEMBLES:
        raise UsageError(f"unknown ensemble {name!r}: choose {', '.join(ENSEMBLES)}")
    return ENSEMBLES[key]


#: a choir's voices and a quartet's players, top down, as scores name them (the first word of a part's name)
_CHOIR_WORDS = ({"soprano", "sopran", "soprani", "s", "canto", "cantus", "treble", "discantus"},
                {"alto", "alt", "a", "contralto", "altus"}, {"tenor", "tenore", "t", "tenors"},
                {"bass", "basso", "b", "bassus", "basses", "bassi"})
_VIOLIN = {"violin", "violino", "violine", "vln", "vl", "vn", "v"}
_QUARTET_WORDS = (_VIOLIN, _VIOLIN, {"viola", "vla", "va", "bratsche", "alto"}, {"cello", "violoncello", "vc", "vlc"})
_VOICE_PROGRAMS = (0, 52, 53, 54)  # a choir's parts: choir aahs, voice oohs, a synth voice, or none named
_STRING_PROGRAMS = (0, 40, 41, 42, 48, 49)  # a quartet's parts: solo strings, string ensembles, or none named


def _words_match(names: tuple[str, ...], words: tuple[set[str], ...]) -> bool:
    return len(names) == len(words) and all(
        (m := re.match(r"[^\W\d_]+", n)) is not None and m.group(0) in w for n, w in zip(names, words, strict=True))


def ensemble_of(parts: list[tuple[str, int, bool]], first_is_line: bool) -> Ensemble | None:
    """The ensemble whose parts a piece has — ``parts`` as (name, program, is_drum), ``first_is_line``: its first
    part never strikes two notes at once — so that a continuation is written under that ensemble's rules; None
    for any other set of parts:

    - the parts of one of :data:`ENSEMBLES` by their names (a Cadenza piece's);
    - a choir: four voices named soprano, alto, tenor and bass (or S., A., T., B.), sung or unnamed instruments
      (not a soprano and an alto saxophone over a trombone and a bass guitar);
    - a string quartet: violin, violin, viola and cello by name or by General MIDI program (40, 40, 41, 42);
    - a song: a single line over a keyboard's two staves;
    - a piano: two keyboard parts (a lead sheet only as Cadenza names one: Melody over Chords);
    - a solo tune: one part that is a single line."""
    names = tuple(name.strip().lower() for name, _, _ in parts)
    programs = tuple(program for _, program, _ in parts)
    if any(drum for _, _, drum in parts):
        return ENSEMBLES["band"] if names == tuple(v.name.lower() for v in ENSEMBLES["band"].voices) else None
    for candidate in ENSEMBLES.values():
        if candidate.name != "band" and names == tuple(v.name.lower() for v in candidate.voices) and (
                candidate.name not in ("piano", "lead-sheet") or (candidate.name == "lead-sheet") == first_is_line):
            return candidate
    if _words_match(names, _CHOIR_WORDS) and all(p in _VOICE_PROGRAMS for p in programs):
        return ENSEMBLES["satb"]
    if programs == (40, 40, 41, 42) or (_words_match(names, _QUARTET_WORDS)
                                        and all(p in _STRING_PROGRAMS for p in programs)):
        return ENSEMBLES["string-quartet"]
    if len(parts) == 3 and first_is_line and programs[0] not in KEYBOARD_PROGRAMS and all(p in KEYBOARD_PROGRAMS
                                                                                    for p in programs[1:]):
        return ENSEMBLES["song"]
    if len(parts) == 2 and all(p in KEYBOARD_PROGRAMS for p in programs):  # a right hand over a left hand
        return ENSEMBLES["piano"]
    if len(parts) == 1 and first_is_line:  # a tune: a folk melody, a solo line
        return ENSEMBLES["solo"]
    return None
