"""The harmony a piece is planned in before its notes: a chord on every strong beat, drawn from a harmony
model learned from the corpus, that reaches the cadences of the form.

The model (``models/harmony.json``, fitted by ``python -m benchmarks.fit_harmony``) holds, per style (epoch)
and mode, which chords ``listen`` hears on the strong beats of the corpus' works (a chord as its root's
distance above the tonic and its quality) and which chord follows which on the next strong beat (the same
one again included: how long a harmony lasts is learned with it). A piece's plan is a Markov chain over its
strong beats (a bar's downbeat, and its middle in even meters of four beats or more), conditioned on where
it must be: the tonic on the first (and on the first after an introduction), the cadence plan's chords in
its cadence bars (the chain is sampled forward with backward messages, so each phrase walks toward its
cadence rather than jumping to it), and the
chords of the bars that a returning phrase restates (:func:`cadenza.compose.plan.returns`) copied from the
bars it restates. Its free beats weigh the tonic and dominant chords down until the whole plan holds them as
often as the table's strong beats do (:func:`tonic_dominant_weight`): the table's share already counts the
corpus' cadences, which the plan fixes. :class:`cadenza.compose.rules.VoiceRules` favours the planned chord's
tones for the notes struck on a beat; passing notes between beats are left to the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import numpy as np

from cadenza.compose.plan import CadencePlan, Chord, cadential_six_four, dominant_chord, returns
from cadenza.listen.features import beat_ticks_of
from cadenza.listen.harmony import QUALITIES, roman
from cadenza.score.model import TimeSignature

STYLE_FALLBACK = "classical"  # the table used when a request names no style (or one the model lacks)
#: bars a planned chord may last before the chain moves on (an opening or a cadence the plan fixes may hold it
#: longer). The tables' moves repeat a chord as often as the corpus does beat to beat, and after a song's
#: introduction on the tonic, with the tune entering on it too, the chain kept it: a song's plan held its tonic
#: 9 bars of 16, four of them running. (It binds mostly there: without an introduction the plans change chord
#: as often as before. The craft benchmark's quartets, piano pieces and songs still change chord less often than
#: the real ones, medians 1.66, 1.62 and 1.41 a bar against 2.22, 2.06 and 1.70: listen hears passing chords.)
MAX_SAME_CHORD_BARS = 2
SMOOTHING = 0.5  # added to every count of a move between two chords of a table
#: the degrees (semitones above the tonic) of the chords whose share of a plan is held to the table's: the
#: tonic's and the dominant's. The table counts them on every strong beat of the corpus' works, cadences
#: included; a plan fixes its cadences and its opening tonic and then drew its other beats at the table's rate
#: again, so it held them 0.66-0.76 of its beats (five styles, 4/4 and 3/4) against the tables' 0.44-0.58, and
#: the craft benchmark's pieces changed chord less often and used fewer chords than the real ones.
TONIC_DOMINANT = ("0", "7")
MIN_TONIC_DOMINANT_WEIGHT = 0.3  # the least weight a free slot's tonic or dominant chord is given (at 0.05 the plans of
#: one chord a bar, most of whose slots are fixed, had no tonic or dominant left between their cadences)
BISECTIONS = 14  # steps of the search for that weight


@dataclass(frozen=True)
class HarmonyTable:
    chords: tuple[str, ...]  # "degree:quality"
    start: np.ndarray  # share of the strong beats each chord is heard on
    moves: np.ndarray  # (chords, chords) probability of the next strong beat's chord


@cache
def _tables() -> dict[str, dict]:
    text = resources.files("cadenza.compose").joinpath("models/harmony.json").read_text(encoding="utf-8")
    return json.loads(text)["tables"]


@cache
def harmony_table(style: str | None, mode: str) -> HarmonyTable:
    """The learned table of a style (an epoch label) and mode, else the classical one."""
    tables = _tables()
    entry = tables.get(f"{style}/{mode}") or tables[f"{STYLE_FALLBACK}/{mode}"]
    chords = tuple(entry["chords"])
    counts = np.array([[entry["moves"].get(a, {}).get(b, 0) for b in chords] for a in chords], dtype=float)
    counts += SMOOTHING
    start = np.array([entry["chords"][c] for c in chords], dtype=float)
    return HarmonyTable(chords, start / start.sum(), counts / counts.sum(axis=1, keepdims=True))


#: the chords that lead to a cadence's dominant, by mode ("degree:quality" as the tables name them): in a bar of
#: four beats or more before an authentic arrival the first half holds one of them, the second the dominant
#: seventh; in a bar of two chords before a half cadence's arrival the second holds one (the first is the chain's)
#: (the textbook ii-V7-I or IV-V7-I; a whole bar of V7 was heard as a half cadence inside the phrase)
PREDOMINANTS = {"major": ("2:min", "5:maj", "2:min7"), "minor": ("2:dim", "5:min", "2:hdim7")}

#: styles (None: classical) whose authentic cadences, in bars of an even number of beats, are approached through
#: a cadential six-four: ii | I6/4 V7 | I in bars of two beats, ii I6/4 - V7 | I in bars of four (the six-four on
#: the third beat, the seventh on the fourth). The classical and romantic idiom; a V7 held from the bar's middle or
#: its downbeat was heard as a half cadence a bar before the authentic one (1.6 cadences heard per four bars in 16
#: classical piano pieces, 1.25 with the six-four; the real sonatas' openings have at most 1.16). In 3/4 the
#: seventh's one beat was often not sounded: the bass left the six-four's fifth early and the cadence went unheard.
#: A cost left: strings may hold the six-four through the seventh's beat (16 quartets: 88% of the planned
#: cadences heard, 97% without the six-four; craft inside share 85% against 80%).
CADENTIAL_SIX_FOUR = ("classical", "romantic", None)

LONG_BAR_BEATS = 4  # beats of a bar whose halves each hold a chord of a cadence's approach

#: styles whose harmony is planned two chords a bar in every meter of two beats or more (the second on the bar's
#: middle, or its last beat in 3/4): classical and romantic movements change chord about twice a bar in 2/4,
#: 3/4 and 6/8 too (the real piano sonatas of the craft benchmark: 2.1 a bar; one a bar planned made 1.4), and
#: folk tunes (Nottingham's change chord 0.81-1.80 times a bar, median 1.19: planned a chord a bar, the lead
#: sheet's changed 0.75 times, 1.06 at two, the table's chords held to the next strong beat a third of the time.
#: Two a bar had made it busier than any real tune when the tables' chords changed at passing notes)
CHORDS_EVERY_HALF_BAR = ("classical", "romantic", "folk")


def strong_beats_per_bar(meter: tuple[int, int], style: str | None = None) -> int:
    """Strong beats a bar of ``meter`` has: its downbeat, and its middle in even meters of four beats or more
    (in every meter of two beats or more for the styles of :data:`CHORDS_EVERY_HALF_BAR`). The harmony plan puts
    a chord on each."""
    signature = TimeSignature(0, *meter)
    beats = signature.bar_ticks // beat_ticks_of(signature)
    if style in CHORDS_EVERY_HALF_BAR:
        return 2 if beats >= 2 else 1
    return 2 if beats >= 4 and beats % 2 == 0 else 1


def chord_of(name: str, tonic_pc: int, mode: str) -> Chord:
    """A table's "degree:quality" as a Chord in the key."""
    degree, quality = name.split(":")
    root = (tonic_pc + int(degree)) % 12
    return Chord(root, tuple((root + i) % 12 for i in QUALITIES[quality]), roman(root, quality, tonic_pc, mode))


def quality_of(chord: Chord) -> str | None:
    """The quality (a key of ``listen``'s QUALITIES) a planned chord's pitch classes make, None where none."""
    intervals = tuple(sorted({(pc - chord.root) % 12 for pc in chord.pcs}))
    return next((q for q, iv in QUALITIES.items() if tuple(sorted(iv)) == intervals), None)


def _name_of(chord: Chord, tonic_pc: int) -> str:
    return f"{(chord.root - tonic_pc) % 12}:{quality_of(chord) or 'maj'}"


#: a seventh chord's triad, for a style whose table has no such seventh
_TRIAD_OF = {"7": "maj", "maj7": "maj", "min7": "min", "hdim7": "dim", "dim7": "dim"}


def _table_name(chord: Chord, tonic_pc: int, index: dict[str, int]) -> str | None:
    """The table's name for a planned chord: its own, or where the style's table lacks it (the renaissance
    tables hold no dominant seventh) the triad on its root; None where the table has neither. Left out, a
    renaissance choir's bar before an authentic arrival was the chain's (IV-I, ii-ii7, ii-vi) and its cadences
    had no dominant."""
    name = _name_of(chord, tonic_pc)
    if name in index:
        return name
    degree, quality = name.split(":")
    triad = f"{degree}:{_TRIAD_OF.get(quality, quality)}"
    return triad if triad in index else None


class HarmonyPlan:
    """The planned chord on every strong beat of a piece of ``cadences.bars`` bars with ``strong_per_bar``
    strong beats a bar (1 or 2), for the style ``style`` (an epoch label; None: classical), seeded.
    ``long_bars``: bars of four beats or more, whose halves are long enough for a predominant and the dominant
    seventh to share the bar before an authentic cadence (in 3/4 or 2/4 the seventh got one beat, too short for
    the parts to sound it: the cadence was heard as IV-I or not at all). ``even_bars``: bars of an even number
    of beats, where a cadence's dominant may follow a six-four (:data:`CADENTIAL_SIX_FOUR`)."""

    def __init__(self, cadences: CadencePlan, strong_per_bar: int, style: str | None, seed: int,
                 long_bars: bool = False, even_bars: bool = False) -> None:
        key = cadences.key
        self.key, self.strong_per_bar = key, strong_per_bar
        table = harmony_table(style, key.mode)
        index = {name: i for i, name in enumerate(table.chords)}
        slots = cadences.bars * strong_per_bar
        fixed: dict[int, list[int]] = {}
        tonic = index.get(f"0:{'maj' if key.mode == 'major' else 'min'}")
        if tonic is not None:  # the first chord, and the first of the first phrase after an introduction
            fixed[0] = fixed[cadences.intro_bars * strong_per_bar] = [tonic]
        for bar in range(cadences.bars):
            planned = cadences.chord_at(bar) or cadences.final_chord(bar)
            name = _table_name(planned, key.tonic_pc, index) if planned is not None else None
            if name is not None:
                for slot in range(strong_per_bar):
                    fixed[bar * strong_per_bar + slot] = [index[name]]
        before = [index[name] for name in PREDOMINANTS[key.mode] if name in index]
        # before a six-four, ii rather than IV where the style's table has it (IV-I6/4 may be heard as plagal)
        approach = [index[name] for name in PREDOMINANTS[key.mode] if name in index and name.startswith("2:")]
        six_four = strong_per_bar == 2 and even_bars and style in CADENTIAL_SIX_FOUR
        for last, kind in cadences.phrase_ends:
            if strong_per_bar != 2 or last < 1 or not before:
                continue
            if kind == "authentic" and six_four:  # ii | I6/4 V7 | I (ii I6/4 - V7 | I in long bars)
                fixed[(last - 1) * strong_per_bar - (0 if long_bars else 1)] = approach or before
            elif kind == "authentic" and long_bars:  # approached from a predominant: ii or IV, then V7, then I
                fixed[(last - 1) * strong_per_bar] = before
            elif kind == "half":  # the chain's chord, then a predominant, then the dominant: I-IV | V, vi-ii | V
                del fixed[(last - 1) * strong_per_bar]
                fixed[(last - 1) * strong_per_bar + 1] = before
        restated = returns(cadences.bars, style, cadences.phrase_bars, cadences.intro_bars)
        copies = {bar * strong_per_bar + s: source * strong_per_bar + s
                  for bar, source in restated.items() for s in range(strong_per_bar)}
        self.slots = _sample(table, slots, fixed, copies, np.random.default_rng(seed),
                             longest_run=MAX_SAME_CHORD_BARS * strong_per_bar,
                             free=_free_weight(style, key.mode, slots, _frozen(fixed), tuple(sorted(copies.items()))))
        self.chords = [chord_of(table.chords[i], key.tonic_pc, key.mode) for i in self.slots]
        #: bar -> the chord of its last beat where it differs from the chord of its second half (V7 after I6/4)
        self.last_beat: dict[int, Chord] = {}
        for last, kind in cadences.phrase_ends if six_four else ():
            if kind != "authentic" or last < 1:
                continue
            if long_bars:
                self.chords[(last - 1) * strong_per_bar + 1] = cadential_six_four(key)
                self.last_beat[last - 1] = dominant_chord(key)
            else:  # two beats: the six-four on the first, the seventh on the second
                self.chords[(last - 1) * strong_per_bar] = cadential_six_four(key)
                self.chords[(last - 1) * strong_per_bar + 1] = dominant_chord(key)

    @classmethod
    def for_meter(cls, cadences: CadencePlan, meter: tuple[int, int], style: str | None, seed: int) -> HarmonyPlan:
        """The plan of a piece in ``meter``: a chord on each of its strong beats (:func:`strong_beats_per_bar`)."""
        signature = TimeSignature(0, *meter)
        beats = signature.bar_ticks // beat_ticks_of(signature)
        return cls(cadences, strong_beats_per_bar(meter, style), style, seed, long_bars=beats >= LONG_BAR_BEATS,
                   even_bars=beats % 2 == 0)

    def slot_ticks(self, bar_ticks: int, beat: int) -> list[int]:
        """Ticks into a bar of ``bar_ticks`` where each strong slot's chord begins: the first beat at or after
        its share of the bar (in 3/4 the second chord on the third beat)."""
        per = self.strong_per_bar
        return [-(-slot * bar_ticks // per // beat) * beat for slot in range(per)]

    def chord_at(self, bar: int, slot: int, last_beat: bool = False) -> Chord | None:
        """The chord of strong beat ``slot`` (0: the downbeat, 1: the middle) of bar ``bar`` (0-based);
        ``last_beat``: the time asked is in the bar's last beat, where a cadence's V7 may follow a I6/4."""
        if last_beat and bar in self.last_beat:
            return self.last_beat[bar]
        i = bar * self.strong_per_bar + min(slot, self.strong_per_bar - 1)
        return self.chords[i] if 0 <= i < len(self.chords) else None

    def describe(self) -> list[str]:
        """For the report: the Roman numerals bar by bar, "I V | vi IV | …"."""
        per = self.strong_per_bar
        return [" ".join(c.name for c in self.chords[b:b + per])
                + (f"-{self.last_beat[b // per].name}" if b // per in self.last_beat else "")
                for b in range(0, len(self.chords), per)]


def _backward(table: HarmonyTable, slots: int, fixed: dict[int, list[int]], free: np.ndarray) -> np.ndarray:
    """The backward messages of the chain: ``backward[t, c]`` is how well chord ``c`` on slot ``t`` leads
    through the moves (each free slot's chord weighed by ``free``) to every fixed slot after it (normalised)."""
    n = len(table.chords)
    backward = np.ones((slots, n))
    for t in range(slots - 1, -1, -1):
        if t + 1 < slots:
            backward[t] = table.moves @ (backward[t + 1] * (1.0 if t + 1 in fixed else free))
        if t in fixed:
            only = np.zeros(n)
            only[fixed[t]] = backward[t, fixed[t]]
            backward[t] = only
        total = backward[t].sum()
        backward[t] = backward[t] / total if total > 0 else np.ones(n) / n
    return backward


def _slot_weights(table: HarmonyTable, previous: int | None, t: int, backward: np.ndarray,
                  fixed: dict[int, list[int]], free: np.ndarray) -> np.ndarray:
    """The unnormalised chances of each chord on slot ``t`` after ``previous`` (None: the first slot)."""
    weights = (table.moves[previous] if previous is not None else table.start) * backward[t]
    return weights if t in fixed else weights * free


def _expected_share(table: HarmonyTable, slots: int, fixed: dict[int, list[int]], copies: dict[int, int],
                    free: np.ndarray, counted: np.ndarray) -> float:
    """The expected share of the slots whose chord is one of ``counted`` (a 0/1 vector) when the chain is
    sampled as :func:`_sample` samples it (its run limit aside): forward through the slots' chances."""
    backward = _backward(table, slots, fixed, free)
    n = len(table.chords)
    marginals = np.zeros((slots, n))
    for t in range(slots):
        if t in copies and copies[t] < t and t not in fixed:
            marginals[t] = marginals[copies[t]]
            continue
        if t == 0:
            rows = _slot_weights(table, None, 0, backward, fixed, free)[None, :]
            before = np.ones(1)
        else:  # every previous chord's row at once
            rows = table.moves * (backward[t] if t in fixed else backward[t] * free)[None, :]
            before = marginals[t - 1]
        totals = rows.sum(axis=1, keepdims=True)
        rows = np.where(totals > 0, rows / np.where(totals > 0, totals, 1.0), 1.0 / n)
        marginals[t] = before @ rows
    return float((marginals @ counted).mean())


def tonic_dominant_weight(table: HarmonyTable, slots: int, fixed: dict[int, list[int]],
                          copies: dict[int, int]) -> np.ndarray:
    """The weight of each chord on the chain's free slots that keeps the whole plan's share of tonic and dominant
    chords (roots on degrees 0 and 7) at the table's own share of them (see :data:`TONIC_DOMINANT`): 1 for
    every other chord, and for those a weight found by bisection, 1 when the plan does not exceed it anyway."""
    counted = np.array([float(name.split(":")[0] in TONIC_DOMINANT) for name in table.chords])
    target = float(table.start @ counted)
    ones = np.ones(len(table.chords))
    if _expected_share(table, slots, fixed, copies, ones, counted) <= target:
        return ones
    low, high = MIN_TONIC_DOMINANT_WEIGHT, 1.0
    if _expected_share(table, slots, fixed, copies, np.where(counted > 0, low, 1.0), counted) > target:
        return np.where(counted > 0, low, 1.0)
    for _ in range(BISECTIONS):
        middle = (low + high) / 2
        share = _expected_share(table, slots, fixed, copies, np.where(counted > 0, middle, 1.0), counted)
        low, high = (low, middle) if share > target else (middle, high)
    return np.where(counted > 0, (low + high) / 2, 1.0)


def _frozen(fixed: dict[int, list[int]]) -> tuple[tuple[int, tuple[int, ...]], ...]:
    return tuple(sorted((slot, tuple(chords)) for slot, chords in fixed.items()))


@lru_cache(maxsize=256)
def _free_weight(style: str | None, mode: str, slots: int, fixed: tuple[tuple[int, tuple[int, ...]], ...],
                 copies: tuple[tuple[int, int], ...]) -> np.ndarray:
    """:func:`tonic_dominant_weight` for a plan's table and its fixed and restated slots, computed once: the ear
    plans a piece again for every phrase it writes (eight times for a chorale, 54 ms of its 491)."""
    weight = tonic_dominant_weight(harmony_table(style, mode), slots, {slot: list(c) for slot, c in fixed},
                                   dict(copies))
    weight.setflags(write=False)
    return weight


def _sample(table: HarmonyTable, slots: int, fixed: dict[int, list[int]], copies: dict[int, int],
            rng: np.random.Generator, longest_run: int | None = None, free: np.ndarray | None = None) -> list[int]:
    """A chord index for every slot: a Markov chain over the table's moves, through the ``fixed`` slots (the
    chords each may hold; backward messages make the walk lead to them), with ``copies`` (slot -> earlier slot)
    restating earlier chords; a chord drawn ``longest_run`` slots running is not drawn again next (a fixed or
    restated slot may still hold it). ``free``: a weight per chord on the slots neither fixed nor restated
    (:func:`tonic_dominant_weight`); None: none."""
    n = len(table.chords)
    free = np.ones(n) if free is None else free
    backward = _backward(table, slots, fixed, free)
    out: list[int] = []
    for t in range(slots):
        if t in copies and copies[t] < t and t not in fixed:
            out.append(out[copies[t]])
            continue
        weights = _slot_weights(table, out[-1] if out else None, t, backward, fixed, free)
        if longest_run and len(out) >= longest_run and len(set(out[-longest_run:])) == 1 \
                and weights.sum() > weights[out[-1]]:
            weights = weights.copy()
            weights[out[-1]] = 0.0  # the harmony moves on (see MAX_SAME_CHORD_BARS)
        weights = weights / weights.sum() if weights.sum() > 0 else np.ones(n) / n
        out.append(int(rng.choice(n, p=weights)))
    return out
