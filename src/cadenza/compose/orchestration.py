"""Orchestration: which instruments of a large ensemble play in each phrase, planned before the notes.

An orchestra does not play tutti from the first bar to the last: in real symphonic movements half of the
(part, bar) pairs are silent (the craft benchmark's real works: 22-73%), the strings carry the music and the
winds, brass and timpani come and go by phrase. Written with every part free at every instant, Cadenza's
orchestra played tutti throughout (6-12% silent) and doubled one line in every section (unisons on 97% of the
beats against at most 88%). :class:`Orchestration` plans, per phrase of :data:`PHRASE_BARS` bars, which of the
ensemble's non-string parts play (each with its family's chance, seeded: the same request gets the same plan),
and keeps the others out of that phrase; the strings always play, the last phrase is tutti (the final chord
sounds in every part), and a phrase keeps at least one wind. The timpani play the key's tonic and dominant only,
and the tonic on the last chord.
Used for ensembles of :data:`MIN_PARTS` parts or more (the orchestra).

A part the plan lets play is not made to: left free, the model gave the strings nearly every note, and the
winds, brass and timpani rested through the piece until the final chord forced them in (6 orchestra pieces of 16
bars: 18 of 42 such parts played in bar 16 only, the trumpet one note in 6 of 6). The plan is realised
(:meth:`Orchestration.bias`) the way :mod:`cadenza.compose.waits` draws a small ensemble's resting lines back in:
a planned part silent longer than its family may rest in a phrase it plays in (:data:`ENTRIES`) is pulled toward,
:data:`ENTRY_NATS` per beat beyond; a woodwind at any instant (it doubles or answers the strings), the brass and
the timpani on a strong beat only, and on a phrase's arrival (its cadence's downbeat) at once: they reinforce
the cadences and the strong beats. In 12 symphonic openings of the craft pool (16 bars) a wind part that plays
at all plays in runs of bars, 15 notes (median, p10-p90 6-37) in 8 bars of the 16; 1 of 179 plays only in
the last, and they play in 39% of the (part, bar) pairs. Over 8 orchestra pieces of 16 bars (seeds 36-60, four
moods) parts that played in the last bar only went from 17 of 56 to 3, parts of 3 notes or fewer from 24 to 11;
the bars they play in, woodwinds 35% -> 46%, brass 20% -> 29%, timpani 23% -> 32% (the real openings': 47%, 28%,
32%). Realised, the plan's chances were too many players for the craft benchmark's silent share (0.26 against
the real works' p10 0.28, with 0.6 and 0.45 for the woodwinds and the brass and a brass rest of 6 beats; now
0.5, 0.35 and 8 beats: 0.32).

A string quartet's parts rest too, more briefly: in 70 quartet openings of the classical corpus (16 bars each)
each part is silent in 6-9% of its bars, mostly for one bar (72% of the silences) and mostly in a phrase's first
bar (42%; 18-22% in each other bar): a part drops out as a phrase begins and comes back in. Left free, ours
played in every bar (0.8% silent against the held-out quartets' 1.1-15%), a texture of four parts in block
rhythm. :func:`chamber_tacets` plans those rests for a chamber ensemble of strings: in each phrase (of
:data:`PHRASE_BARS`) but the first (a part missing from the start, the model could leave out for good: a second
violin silent for 8 bars) and the last, each part but the tune rests at the phrase's start with
:data:`TACET_CHANCE`, for one bar or (less often) two, never in the phrase's arrival bar and never leaving fewer
than :data:`MIN_SOUNDING` parts.

An orchestra's upper strings and winds keep to their usual register (:data:`ORCHESTRA_REGISTERS`): below it each
semitone costs :data:`cadenza.compose.registers.REGISTER_NATS`, as it does above the cellos'
(:data:`ORCHESTRA_CEILINGS`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cadenza.compose.constraints import beat_ticks
from cadenza.compose.ensembles import Voice, doubling_parts
from cadenza.compose.plan import PHRASE_BARS
from cadenza.compose.registers import UsualRegister
from cadenza.score.model import TICKS_PER_QUARTER
from cadenza.tokens.events import FIELD_SIZES, KIND

MIN_PARTS = 8  # ensembles this large are orchestrated by phrase
STRINGS = range(40, 46)  # General MIDI programs (0-based): violin .. contrabass, tremolo strings
#: (General MIDI programs, the chance a part of that family plays in a phrase; 0.6 and 0.45 for the woodwinds and
#: the brass while the plan only let them play: realised, those gave too many players, see the module docstring)
FAMILIES: tuple[tuple[range, float], ...] = (
    (range(64, 80), 0.5),  # reeds and pipes: flute, oboe, clarinet, bassoon
    (range(56, 64), 0.35),  # brass: horn, trumpet, trombone, tuba
    (range(47, 48), 0.35),  # timpani
)
#: the middle of an orchestra's string parts' usual register (MIDI), by part name: in 13 OpenScore Orchestra openings
#: (16 bars) the first violins' median pitch is 74, the seconds' 69, the violas' 63, the cellos' 50; left to the
#: model, ours sat at 61, 59, 52 and 49, the violins on their lowest string under the flute's tune. (The first
#: violins' middle was 72, free from 65: D-minor pieces of 8 bars still put their median at 65, on the G string;
#: from 67, at 69; with the winds drawn in by the plan they sank to 67 again, and from 69 their median is 69.5:
#: the model keeps them near the free register's floor.) The winds: in
#: 12 symphonic openings of the craft pool (16 bars) the flutes' median pitch is 82-84, the oboes' 73-77, the
#: clarinets' 68-73; ours sat at 72-75, 69-72 and lower with no mood asked, the flute under the first violins.
#: (The flutes' middle is 81, free from the second flutes' tenth below, 74: from 76 their line crept by step, the
#: top line's mean interval 1.51 semitones against the real tenth's 1.54, 32 pieces of the craft benchmark)
ORCHESTRA_REGISTERS = {"Violin I": 76, "Violin II": 67, "Viola": 60, "Flute": 81, "Oboe": 75, "Clarinet": 70}
#: the highest pitch an orchestra's cellos play freely: a tenth of their notes lie above MIDI 60 in 12 symphonic
#: openings of the craft pool (16 bars; median 50). Left to the model, a calm or joyful orchestra's cellos sat at
#: 58-67 (mean of 16 bars), the double basses doubling them an octave below, a whole harmony without its floor
ORCHESTRA_CEILINGS = {"Violoncello": 60}
REGISTER_SPAN = 7  # semitones below that middle a part goes freely
TACET_CHANCE = 0.4  # a chamber part's chance of resting at a phrase's start (see the module docstring)
TACET_TWO_BARS = 0.25  # ... for two bars rather than one
MIN_SOUNDING = 2  # parts that play in every bar of a chamber ensemble
#: (General MIDI programs, bars a planned part may rest before it is pulled in, whether only on a strong beat):
#: counted in bars, so that a piece in 2/4 brings its winds in as often, by the bar, as one in 4/4 (in beats, the
#: three reviewed pieces, all drawn in 2/4, gave their wind parts a median 4 notes in 16 bars)
ENTRIES: tuple[tuple[range, float, bool], ...] = (
    (range(64, 80), 1.0, False),  # reeds and pipes: a bar
    (range(56, 64), 2.0, True),  # brass: two bars, entering on a strong beat
    (range(47, 48), 2.0, True),  # timpani: likewise
)
ENTRY_NATS = 2.0  # per beat a planned part has rested beyond its family's allowance, toward it
ENTRY_MAX_NATS = 8.0
CADENCE_NATS = 8.0  # toward a planned brass or timpani part not sounding on a phrase's arrival
TIMPANI = 47  # General MIDI program: tuned to the key's tonic and dominant, the only notes it plays (left free,
# a classical orchestra's timpani played a tune: F2 A3 G3 F3 ...)


def playing_parts(voices: tuple[Voice, ...], bars: int, seed: int) -> list[list[bool]]:
    """For each phrase, whether each part plays in it."""
    rng = np.random.default_rng(seed)
    phrases = max((bars + PHRASE_BARS - 1) // PHRASE_BARS, 1)
    plan = []
    for phrase in range(phrases):
        row = []
        for voice in voices:
            chance = next((p for family, p in FAMILIES if voice.program in family), 1.0)
            row.append(bool(phrase == phrases - 1 or voice.program in STRINGS or rng.random() < chance))
        winds = [i for i, v in enumerate(voices) if v.program in FAMILIES[0][0]]
        if winds and not any(row[i] for i in winds):
            row[winds[int(rng.integers(len(winds)))]] = True
        plan.append(row)
    return plan


def is_chamber_strings(voices: tuple[Voice, ...]) -> bool:
    """Whether ``voices`` are a chamber ensemble of strings (three parts or more, fewer than an orchestra's)."""
    return 3 <= len(voices) < MIN_PARTS and all(v.program in STRINGS for v in voices)


def orchestrated(voices: tuple[Voice, ...]) -> bool:
    """Whether some parts of ``voices`` rest by plan (an orchestra, a chamber ensemble of strings)."""
    return len(voices) >= MIN_PARTS or is_chamber_strings(voices)


def chamber_tacets(voices: tuple[Voice, ...], bars: int, seed: int, tune: int | None = 0) -> list[list[bool]]:
    """For each bar, whether each part of a chamber ensemble plays in it (see the module docstring)."""
    rng = np.random.default_rng(seed)
    plan = [[True] * len(voices) for _ in range(bars)]
    # phrases of PHRASE_BARS (a classical period's halves), as the corpus' silences were counted
    for start in range(PHRASE_BARS, bars - PHRASE_BARS, PHRASE_BARS):  # every phrase but the first and the last
        arrival = min(start + PHRASE_BARS, bars) - 1
        for part in rng.permutation(len(voices)).tolist():
            if part == tune or rng.random() >= TACET_CHANCE:
                continue
            length = 2 if rng.random() < TACET_TWO_BARS else 1
            span = range(start, min(start + length, arrival))
            if all(sum(plan[bar]) > MIN_SOUNDING for bar in span):
                for bar in span:
                    plan[bar][part] = False
    return plan


def playing_by_bar(voices: tuple[Voice, ...], bars: int, seed: int, tune: int | None = 0) -> list[list[bool]]:
    """For each bar, whether each part plays in it: an orchestra's phrases (:func:`playing_parts`), a chamber
    ensemble's rests (:func:`chamber_tacets`), or every part everywhere."""
    if len(voices) >= MIN_PARTS:
        return [row for row in playing_parts(voices, bars, seed) for _ in range(PHRASE_BARS)][:bars]
    if is_chamber_strings(voices):
        return chamber_tacets(voices, bars, seed, tune)
    return [[True] * len(voices) for _ in range(bars)]


class TimpaniTuning:
    """The timpani are tuned to the key's tonic and dominant (the tonic alone on the last chord): a mask on their
    pitch. Stacked before the part-writing rules, so that where those ask a phrase's arrival for a tone the
    timpani lack (the dominant's fifth on a half cadence), theirs gives way and the drums keep their tuning (an F
    major orchestra's timpani struck G3 on a half cadence's downbeat)."""

    def __init__(self, plan: Any, voices: tuple[Voice, ...]) -> None:
        self.plan = plan  # the piece's PlanConstraint: which bar is being written, and its key
        self.timpani = {i for i, v in enumerate(voices) if v.program == TIMPANI}

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        key = getattr(self.plan, "tonal", None)
        if field != "pitch" or chosen.get("kind") != KIND["note"] or chosen.get("part") not in self.timpani \
                or key is None:
            return None
        pitches = np.arange(FIELD_SIZES["pitch"]) % 12
        if self.plan.bars_started >= self.plan.bars:  # the last chord: the tonic (on the dominant, the
            return pitches == key.tonic_pc  # timpani sounded a six-four under a B-flat orchestra's end)
        return (pitches == key.tonic_pc) | (pitches == (key.tonic_pc + 7) % 12)

    def bias(self, field: str, chosen: dict[str, int]) -> None:
        return None

    def advance(self, step: np.ndarray) -> None:
        return None


class Orchestration:
    """The rule that keeps the parts a bar leaves out silent in it (a mask on the part of a note), and the
    timpani in their tuning (:class:`TimpaniTuning`)."""

    def __init__(self, plan: Any, voices: tuple[Voice, ...], bars: int, seed: int, tune: int | None = 0,
                 rules: Any = None) -> None:
        self.plan = plan  # the piece's PlanConstraint: which bar is being written, and its key
        self.playing = playing_by_bar(voices, bars, seed, tune)
        self.tuning = TimpaniTuning(plan, voices)
        self.timpani = self.tuning.timpani
        orchestral = len(voices) >= MIN_PARTS
        # the part-writing rules (cadenza.compose.rules.VoiceRules), whose record of the notes so far tells how long
        # a part has rested; and part -> (beats it may rest in a phrase it plays in, strong beats only): ENTRIES
        self.rules = rules if orchestral else None
        self.entries = {i: (beats, strong) for i, v in enumerate(voices) for family, beats, strong in ENTRIES
                        if v.program in family} if self.rules is not None else {}
        # part -> the lowest pitch it plays freely (an orchestra's upper strings and winds: see
        # ORCHESTRA_REGISTERS), and the highest (its cellos: ORCHESTRA_CEILINGS)
        self.registers = UsualRegister({i: ORCHESTRA_REGISTERS[v.name] - REGISTER_SPAN for i, v in enumerate(voices)
                                        if orchestral and v.name in ORCHESTRA_REGISTERS},
                                       {i: ORCHESTRA_CEILINGS[v.name] for i, v in enumerate(voices)
                                        if orchestral and v.name in ORCHESTRA_CEILINGS})

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        if chosen.get("kind") != KIND["note"]:
            return None
        if field == "pitch":
            return self.tuning.allowed(field, chosen, grammar)
        if field != "part":
            return None
        bar = min(max(self.plan.bars_started - 1, 0), len(self.playing) - 1)
        mask = np.ones(FIELD_SIZES["part"], dtype=bool)
        mask[: len(self.playing[bar])] = self.playing[bar]
        return mask

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        """An orchestra's upper strings and winds pay registers.REGISTER_NATS per semitone below their usual
        register, its cellos per semitone above theirs; and the parts the plan has play in this phrase are drawn
        in (:meth:`entries_due`)."""
        if field == "part" and chosen.get("kind") == KIND["note"]:
            return self.entries_due(chosen)
        return self.registers.bias(field, chosen)

    def entries_due(self, chosen: dict[str, int]) -> np.ndarray | None:
        """The part field's bias toward each wind, brass or timpani part the plan has play in the bar being
        written that has rested longer than its family may (:data:`ENTRIES`, in bars): :data:`ENTRY_NATS` per beat
        beyond, at most :data:`ENTRY_MAX_NATS`; the brass and the timpani only on a strong beat, and on a phrase's
        arrival (the downbeat of a cadence bar) :data:`CADENCE_NATS` where they do not sound. None in the last
        bar, whose chord every part strikes (the rules' final chord), and where nothing is due."""
        rules = self.rules
        if rules is None or self.plan.meter is None or "position_fine" not in chosen or rules._final_bar():
            return None
        bar = min(max(self.plan.bars_started - 1, 0), len(self.playing) - 1)
        now = rules._now(chosen)
        strong = rules._strong(now)
        arrival = now == self.plan.bar_start_ticks and rules._cadence_chords()[0] is not None
        sounding = rules._sounding(now) if arrival else {}
        out = None
        beats_a_bar = self.plan.meter[0] * 4 * TICKS_PER_QUARTER // self.plan.meter[1] / beat_ticks(self.plan.meter)
        for part, (may_rest_bars, strong_only) in self.entries.items():
            if not self.playing[bar][part] or (strong_only and not strong):
                continue
            beyond = rules._silent_beats(part, now) - may_rest_bars * beats_a_bar
            pull = min(ENTRY_NATS * beyond, ENTRY_MAX_NATS) if beyond > 0 else 0.0
            if arrival and strong_only and not sounding.get(part):
                pull = max(pull, CADENCE_NATS)
            if pull > 0:
                out = np.zeros(FIELD_SIZES["part"], dtype=np.float32) if out is None else out
                out[part] = pull
        return out

    def advance(self, step: np.ndarray) -> None:
        return None


def describe_orchestration(voices: tuple[Voice, ...], bars: int, seed: int,
                           tune: int | None = 0) -> list[str]:
    """For the report: who plays in each phrase ("bars 1-4: Flute, Horn, strings"), or which parts of a chamber
    ensemble rest where ("bar 5: Viola rests")."""
    if len(voices) < MIN_PARTS:
        plan = playing_by_bar(voices, bars, seed, tune)
        return [f"bar {bar + 1}: {', '.join(v.name for v, on in zip(voices, row, strict=True) if not on)} "
                f"{'rests' if row.count(False) == 1 else 'rest'}" for bar, row in enumerate(plan) if not all(row)]
    out = [f"{voices[part].name} doubles {voices[source].name} ({semitones:+d} semitones)"
           for part, (source, semitones) in doubling_parts(voices).items()]
    for phrase, row in enumerate(playing_parts(voices, bars, seed)):
        names = [v.name for v, on in zip(voices, row, strict=True) if on and v.program not in STRINGS]
        out.append(f"bars {phrase * PHRASE_BARS + 1}-{(phrase + 1) * PHRASE_BARS}: "
                   f"{', '.join(names) if names else 'no winds'}, strings")
    return out
