"""The rules of part writing, as small named limits and biases the sampler applies while the model writes
(on top of :class:`cadenza.compose.constraints.PlanConstraint`, through
:class:`cadenza.compose.constraints.Stacked`).

Absolute rules are masks; matters of style are biases (natural-log units added to the model's logits), so the
model's own sense of the style still chooses among what the rules leave:

- :func:`no_crossing_window` (a mask): among parts written from the highest to the lowest (satb, string
  quartet, piano hands, lead sheet; an orchestra's woodwinds and its strings, see :func:`top_down_groups`), a
  new note lies between the lowest note sounding in the nearest higher part and the highest note sounding in
  the nearest lower part; so the bass stays the lowest part and the hands never overlap. A unison is allowed.
- :data:`LEAP_NATS` (a bias): a line (a voice, a string part) moves mostly by step: each semitone of a
  leap beyond a whole tone costs LEAP_NATS (VOICE_LEAP_NATS for a sung line); a line's note on a pitch another
  part sounds at that instant (a unison doubling) costs UNISON_NATS. A keyboard's bass (its left hand's
  chords) leaps an octave freely; each semitone beyond costs BASS_LEAP_NATS; in the last bar it pays
  FINAL_BASS_NATS a semitone above G2: the final chord stands on a low root.
- :data:`HAND_SPAN` (a mask): a part that plays chords (a piano's hand) strikes no chord wider than a hand
  reaches.
- :data:`STRONG_BEAT_NATS` (a bias): on a strong beat, a pitch class that would leave the sonority outside
  every triad and seventh chord (an unprepared dissonance) costs STRONG_BEAT_NATS.
- the cadence plan (:class:`cadenza.compose.plan.CadencePlan`): in a bar where the plan puts a chord (a
  phrase's arrival, the bar before it, the last bar), its chord tones are favoured (the bass part's root more);
  on an arrival's downbeat they are the only tones (the lowest part on the root), and the melody, struck first,
  holds its note at least two beats: the cadence is heard;
  the last bar is one tonic chord struck on its downbeat, every note a tonic-chord tone and the lowest part on
  the tonic, every part sounding in it (masks: the piece ends once every part has sounded, and not before),
  and held: an asked density does not run on through it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from cadenza.compose.constraints import beat_ticks, note_onset_ticks, step_length_ticks
from cadenza.compose.ensembles import line_over_chords
from cadenza.compose.grid import later_on_grid
from cadenza.compose.harmony import HarmonyPlan
from cadenza.compose.keys import heard_key
from cadenza.compose.lead_sheet import ChordPartRules
from cadenza.compose.plan import CadencePlan, Chord, phrase_bars_for
from cadenza.compose.request import Key
from cadenza.compose.sevenths import SeventhRules
from cadenza.compose.suspensions import SuspensionRules
from cadenza.compose.waits import LINE_POLYPHONY, WaitRules
from cadenza.listen.craft import FITS, PERFECT, pc_mask
from cadenza.score.model import TimeSignature
from cadenza.tokens.events import FIELD_SIZES, FINE, KIND, F

# per semitone of a line's leap beyond a whole tone (an octave: 2.5 nats). Set at twice this for the v1 model,
# whose lines leapt; the v2 model moves by step on its own, and at that strength its lines fell below the
# real range (a quartet's melody spanning 8 semitones where real ones span 14 or more): craft 66% -> 73%.
LEAP_NATS = 0.25
VOICE_LEAP_NATS = 0.3  # ... of a sung line (polyphony 1: voices, winds, a melody), which leaps less (a right
# hand's tune pays LEAP_NATS from the top of its last chord: free, half the piano melodies leapt more than they
# stepped; at 0.4 their range and mean interval fell below the real sonatas')
MELODY_LEAP_NATS = 0.15  # ... of the tune of an ensemble written top-down (a chorale's soprano), freer (at 0.3
# its mean interval was 1.76 semitones against Bach's 2.04: the tune crept by step where his reaches a fourth)
#: the tune's leap cost in styles whose tunes move more by step than a chorale's soprano (MELODY_LEAP_NATS): a
#: folk tune pays a sung line's (at 0.15 the lead sheet's tunes moved 2.7-3.0 semitones a note where Nottingham's
#: move 1.9-2.7, and spanned 18-19 semitones against at most 18.9; at 0.3: inside, 16 pieces)
MELODY_LEAP_NATS_BY_STYLE: dict[str | None, float] = {"folk": VOICE_LEAP_NATS}
#: ... and of a tune played by a string (a part that may double-stop, which pays LEAP_NATS elsewhere), by style: a
#: classical quartet's first violin (at LEAP_NATS its top line stepped 58% of the time where the held-out quartets'
#: step 62-79%; at 0.35 67%, its range and mean interval still inside theirs)
STRING_TUNE_LEAP_NATS: dict[str | None, float] = {"classical": 0.35}
UNISON_NATS = 0.8  # a line's note on a pitch another part sounds at that instant (a doubling that thins a chord;
# at 1.5 a chorale doubled 4% of its notes against Bach's 9%, and a quartet's strings sounded a unison on 4-6% of
# the beats against the real quartets' 6-43%, median 17%: real voices and strings do double)
LINE_REPEATS = 1  # strikes of one pitch in a row a line makes freely; each further one pays REPEAT_NATS more
REPEAT_NATS = 0.6  # (the v2 model, unchecked, held a quartet's four parts on one chord for bars; with 3 strikes free
# quartets struck again at 42% of their parts' moves, real ones 17% (p90 34%), orchestras 44% (28%): A A A D A A)
FIGURE_REPEATS = 3  # ... a dance's after-beat chords (with 1, a quartet march was heard as one in 67% of its bars)
MELODY_REPEATS = 1  # ... and the melody (the top of an ensemble written top-down): its first repeat already
MELODY_REPEAT_NATS = 0.8  # pays this, more for each further one (a chorale's soprano repeated 30% of its notes
# against Bach's 14%, and its phrases spanned 7 semitones against 9)
MELODY_STRIKES = 3  # a tune strikes one pitch at most this many times in a row: each strike beyond pays
MELODY_STRIKE_NATS = 4.0  # this much more (at 0.8 a strike alone, a piano's right hand struck one dyad 9 times)
#: a lead sheet's chord stands on a bass note at most CHORD_BASS_HIGH (B2); each semitone above costs CHORD_BASS_NATS
#: (the Nottingham tunes' chords: lowest notes 38-42 on average, MIDI 36-55; left free, ours stood on 51)
CHORD_BASS_HIGH = 47
CHORD_BASS_NATS = 0.3
SHUTTLE_NATS = 1.5  # the melody going back to and fro between two pitches a second time (a-b-a-b)
TESSITURA_NATS = 0.2  # per semitone a sung line's (not the tune's) note lies within TESSITURA_EDGE of its range's ends
TESSITURA_EDGE = 5  # (Bach's basses average D3; left to the model ours sat on C3, a third low)
SPACING_NATS = 2.0  # a sung upper voice more than an octave below the voice above it (the bass may be further)
PARALLEL_NATS = 3.0  # a perfect fifth or octave reached in parallel with a part already written at the instant
VOICE_PARALLEL_NATS = 8.0  # ... by a sung line of an ensemble written top-down (a chorale's voices), where the
# rule is strict (an orchestra's winds double the strings in octaves by design)
STRONG_BEAT_NATS = 1.5  # a strong-beat pitch class that fits no chord with what sounds
CHORD_TONE_NATS = 2.0  # a planned chord's tones in a cadence bar
HARMONY_NATS = 2.0  # the harmony plan's chord tones for a note struck on a beat (elsewhere); at 1.0 the plan was
# heard on too few beats (a piano's bars of one chord where two were planned)
HARMONY_BASS_NATS = 1.0  # ... and its root, more, for the lowest part on a strong beat
BASS_ROOT_NATS = 2.0  # ... and its root, more, in the lowest part
#: per semitone of a keyboard's bass (its left hand's lowest note, a line of chords that pays no LEAP_NATS) leaping
#: beyond BASS_LEAP_FREE from its last bass note. Left free, the default piano's bass (12 pieces of 16 bars) leapt
#: more than an octave at 7.0% of its moves and more than 19 semitones at 3.1%, where 40 Mozart and Beethoven
#: sonata openings (first 16 bars) do at 3.3% and 1.4%; at 0.15: 2.4% and 0.1%; at 0.3: 1.4% and none
BASS_LEAP_NATS = 0.15
BASS_LEAP_FREE = 12
#: the widest chord a hand strikes at once, in semitones (an octave): a tense piano piece's left hand struck E1
#: with E3, and 15 of its 67 chords spanned a tenth or more. The first 16 bars of 60 real piano works (the craft
#: benchmark's pool) strike 0.1% of their left hands' chords (1 of 1,078) and 0.2% of the right hands' wider than
#: an octave; with a tenth's reach (16) ours still struck 24-37% of the left hand's chords of tense, sad and calm
#: pieces wider (E2 B2 E3 G3 on every beat), 7% with no mood
HAND_SPAN = 12
#: per semitone of a keyboard's bass above FINAL_BASS_HIGH (G2) in the last bar: the final chord stands on a low
#: root. Left free, the last bass note of 8 piano pieces each with no style, classical and romantic lay at MIDI
#: 49, 52.5 and 50 (medians; some at D4-F#4, the left hand's chord in the treble clef); at 0.5: 43, 44.5 and 42;
#: 40 DCML piano works end on a bass at 39.5 (median; p10-p90 29-64)
FINAL_BASS_NATS = 0.5
FINAL_BASS_HIGH = 43
FINAL_BASS_HIGHEST = 55  # the last chord's bass, where the lowest part reaches: a song's left hand ended on D4
WEAK_BEATS_FREE = ("baroque",)  # styles whose harmony moves on every beat: the plan's chords hold on the strong
# beats only, and the weak beats' chords are left to the model (real chorales change chord three times a bar)
KEY_HEARD_AFTER_BARS = 2  # a key left to the model is heard in its first bars, then planned in
PAST_INSTANTS = 8  # finished instants a part's line is remembered for (to find it a beat ago)
ARRIVAL_BEATS = 2  # the melody's note on a phrase's arrival lasts at least this many beats
_PC_BITS = 1 << np.arange(12)
_BAR_ENDS = np.isin(np.arange(FIELD_SIZES["kind"]), (KIND["bar"], KIND["eos"]))  # the kinds that end a bar
_BAR_ENDS.setflags(write=False)
_POSITIONS = np.arange(FIELD_SIZES["position"])
_AT_BAR_START = _POSITIONS == 0
_AT_BAR_START.setflags(write=False)
_PITCH_PC = np.arange(FIELD_SIZES["pitch"]) % 12
_PITCHES = np.arange(FIELD_SIZES["pitch"])


@lru_cache(maxsize=8192)
def _parallel_to(before: int, then: int, current: int) -> np.ndarray:
    """Pitches of a line at ``before`` that would move in parallel fifths or octaves with a line that moved from
    ``then`` to ``current`` (nothing when that line held its note or the two were not a perfect interval apart).
    Shared (made once per question): do not change it."""
    interval = abs(before - then) % 12  # the upper line's distance above the lower, in octaves' terms
    if current == then or interval not in PERFECT:
        out = np.zeros(FIELD_SIZES["pitch"], dtype=bool)
    else:
        same_way = np.sign(_PITCHES - before) == np.sign(current - then)
        out = same_way & (np.abs(_PITCHES - current) % 12 == interval)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=512)
def _pc_mask(pcs: frozenset[int]) -> np.ndarray:
    out = np.isin(_PITCH_PC, list(pcs))
    out.setflags(write=False)
    return out


def pitch_classes_mask(pcs: set[int] | frozenset[int]) -> np.ndarray:
    """The pitches whose pitch class is in ``pcs`` (a new array: change it at will)."""
    return _pc_mask(frozenset(pcs)).copy()


@lru_cache(maxsize=512)
def _pc_weights(pcs: frozenset[int], nats: float) -> np.ndarray:
    """``nats`` on the pitches whose pitch class is in ``pcs`` (float32, shared: do not change it)."""
    out = nats * _pc_mask(pcs).astype(np.float32)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=1024)
def _leap_costs(before: int, weight: float, free: int = 2) -> np.ndarray:
    """``weight`` nats per semitone of a leap from ``before`` beyond ``free`` semitones (a whole tone; float32,
    shared)."""
    out = weight * np.maximum(np.abs(_PITCHES - before) - free, 0).astype(np.float32)
    out.setflags(write=False)
    return out


def no_crossing_window(part: int, sounding: dict[int, list[int]], parts: int, strict: bool = False,
                       first: int = 0) -> tuple[int, int]:
    """(lowest, highest) pitch a new note of ``part`` may take among the parts ``first``..``parts - 1`` (written
    from the highest to the lowest): between the nearest lower part's highest sounding note and the nearest
    higher part's lowest (0..127 where none sounds); ``strict``: not on those notes either (a keyboard's hands
    share no key). When the two bounds clash (the parts around have crossed already), only the upper holds."""
    gap = 1 if strict else 0
    high = next((min(sounding[p]) - gap for p in range(part - 1, first - 1, -1) if sounding.get(p)), 127)
    low = next((max(sounding[p]) + gap for p in range(part + 1, parts) if sounding.get(p)), 0)
    return (low, high) if low <= high else (0, high)


def top_down_groups(voices: Any) -> list[tuple[int, int]]:
    """Runs of neighbouring parts (first, last index) written from the highest to the lowest — each part's
    range no higher than the one above it — of two parts or more: the whole of a satb, a string quartet, the
    piano's hands, a lead sheet; an orchestra's woodwinds and its strings (cello and bass under the violins),
    not its score order as a whole (horns and trumpets sit above the bassoon)."""
    groups, start = [], 0
    for i in range(1, len(voices) + 1):
        if i == len(voices) or voices[i].is_drum or voices[i - 1].is_drum or not (
                voices[i - 1].low >= voices[i].low and voices[i - 1].high >= voices[i].high):
            if i - start >= 2 and not voices[start].is_drum:
                groups.append((start, i - 1))
            start = i
    return groups


def written_top_down(voices: Any) -> bool:
    """Whether an ensemble's parts are written from the highest to the lowest as a whole (one group of
    :func:`top_down_groups`): satb, string quartet, piano hands, lead sheet; not an orchestra."""
    return top_down_groups(voices) == [(0, len(voices) - 1)]


class VoiceRules(ChordPartRules, SuspensionRules, SeventhRules, WaitRules):
    """The rules of the module docstring for one piece of ``bars`` bars; follows the sequence like a constraint.
    ``plan`` is the piece's :class:`PlanConstraint` (its bar and meter tracking is read, not repeated). With no
    ``key`` the cadences are planned in the key heard in the first :data:`KEY_HEARD_AFTER_BARS` bars (within
    the key signature the model wrote, if it wrote one)."""

    arrival_beats = ARRIVAL_BEATS

    def __init__(self, plan: Any, polyphony: list[int], groups: list[tuple[int, int]], bars: int,
                 key: Key | None, close_on_tonic: bool = True, style: str | None = None,
                 harmony_seed: int = 0, chord_part: int | None = None, tune_part: int | None = None,
                 doubled: frozenset[int] = frozenset(), phrase_bars: int | None = None, intro_bars: int = 0,
                 figured: frozenset[int] = frozenset()) -> None:
        self.plan = plan
        # bars in a phrase (None: as the style writes them, phrase_bars_for), after an introduction of intro_bars
        self.phrase_bars, self.intro_bars = phrase_bars, intro_bars
        self.figured = figured  # parts playing a dance's after-beat chords (FIGURE_REPEATS)
        self.polyphony = polyphony
        # parts written from the highest to the lowest, where no part crosses the next: part -> (first, last)
        self.group_of = {part: group for group in groups for part in range(group[0], group[1] + 1)}
        self.ordered = groups == [(0, len(polyphony) - 1)]  # the whole ensemble: the melody is the top part
        # the first part carries the tune: the top of an ensemble written top-down, or a single line over parts
        # that play chords (a song's voice over the piano's hands: a sung tune, that pays VOICE_LEAP_NATS)
        # (or the part that leads by its nature: an orchestra's first violins)
        self.line_over_chords = tune_part is None and not self.ordered and line_over_chords(polyphony)
        self.tune_led = self.ordered or tune_part is not None or self.line_over_chords
        self.doubled = doubled  # parts written by doubling another (never sampled: see ensembles.doubling_parts)
        self.bars, self.close_on_tonic = bars, close_on_tonic
        self.style, self.harmony_seed = style, harmony_seed
        self.cadences = self._cadence_plan(key) if key is not None else None
        self.pc_weights = np.zeros(12)  # duration of each pitch class so far (to hear a key left open)
        self.signature: int | None = None  # sharps of a key signature the model wrote
        self.final_parts: dict[int, int] = {}  # part -> notes it has sounded on the last bar's downbeat
        self.final_late = False  # a note came after the last bar's downbeat (the chord rule gave way)
        self.lowest = max(p for p in range(len(polyphony)) if p not in doubled)  # the bass line's part
        self.top = tune_part or 0  # the melody's part (the highest, in an ensemble written top-down)
        # the part that carries the tune through an introduction: the accompaniment's highest (a song's right hand)
        self.intro_tune = min((p for p in range(len(polyphony)) if p != self.top and p not in doubled), default=0)
        # part -> (onset tick, [(end tick, pitch)]) of the part's latest instant
        self.latest: dict[int, tuple[int, list[tuple[int, int]]]] = {}
        self.previous_pitch: dict[int, int] = {}  # part -> pitch of its last note at an earlier instant
        self.repeat_run: dict[int, int] = {}  # part -> how many finished notes in a row held that pitch
        self.line_history: dict[int, list[int]] = {}  # part -> its line's last three pitches (earlier instants)
        self.held: dict[int, list[tuple[int, int]]] = {}  # part -> (end tick, pitch) of earlier notes still held
        # part -> (onset, end, line pitch) of its last few finished instants (the line a beat ago)
        self.past: dict[int, list[tuple[int, int, int]]] = {}
        self.chord_part = chord_part  # a lead sheet's chord part: its notes are the planned chord's tones
        self.suspended: dict[int, tuple[int, int, Any]] = {}  # part -> a suspension it holds (suspensions.py)
        self.sevenths: dict[int, tuple[int, Any]] = {}  # part -> a planned seventh it sounded (sevenths.py)
        self._harmony: HarmonyPlan | None = None  # made once the key and the meter are known
        # (cadence plan, bar, its arrival, final and cadence chords): asked at every field, made once a bar
        self._bar_chords: tuple[Any, int, Chord | None, Chord | None, Chord | None] | None = None
        self._sounding_at: dict[int, dict[int, list[int]]] = {}  # _sounding's answers until the next step
        self.waiting = self._waiting_parts()  # part -> beats it may rest before it is pulled back
        self.onsets: dict[int, list[int]] = {}  # part -> its latest onset instants (waits.WaitRules._bass_pace)

    def _cadence_plan(self, key: Key) -> CadencePlan:
        """The phrase ends in ``key``, in phrases as long as the style writes them in the piece's meter."""
        return CadencePlan(key, self.bars, phrase_bars=self.phrase_bars or phrase_bars_for(self.style, self.bars),
                           close_on_tonic=self.close_on_tonic, intro_bars=self.intro_bars)

    @property
    def harmony(self) -> HarmonyPlan | None:
        """The planned chords (see :mod:`cadenza.compose.harmony`), once the cadences and the meter are known."""
        if self._harmony is None and self.cadences is not None and self.plan.meter is not None:
            self._harmony = HarmonyPlan.for_meter(self.cadences, self.plan.meter, self.style, self.harmony_seed)
        return self._harmony

    def _harmony_at(self, now: int) -> Chord | None:
        """The harmony plan's chord for the strong beat ``now`` falls after (None before the plan is made)."""
        harmony, meter = self.harmony, self.plan.meter
        if harmony is None or meter is None:
            return None
        bar_ticks = self.plan.bar_ticks_now or TimeSignature(0, *meter).bar_ticks
        into = now - self.plan.bar_start_ticks
        return harmony.chord_at(self._bar_index(), 1 if 2 * into >= bar_ticks else 0,
                                last_beat=into >= bar_ticks - beat_ticks(meter))

    def planned_chord(self, now: int) -> Chord | None:
        """The harmony plan's chord for a note struck on a beat at ``now`` (None off the beat, in the cadence
        bars, whose chords the cadence plan gives, and before the plan is made)."""
        meter = self.plan.meter
        if meter is None or (now - self.plan.bar_start_ticks) % beat_ticks(meter):
            return None
        if self.style in WEAK_BEATS_FREE and not self._strong(now):
            return None
        return self._harmony_at(now)

    def _now(self, chosen: dict[str, int]) -> int:
        return note_onset_ticks(self.plan, chosen)

    def _cadence_chords(self) -> tuple[Chord | None, Chord | None, Chord | None]:
        """The cadence plan's arrival, final chord and cadence-bar chord (``arrival_at``, ``final_chord``,
        ``chord_at``) for the bar being written (None without a plan)."""
        cadences = self.cadences
        if cadences is None:
            return None, None, None
        bar = self._bar_index()
        known = self._bar_chords
        if known is None or known[0] is not cadences or known[1] != bar:
            known = (cadences, bar, cadences.arrival_at(bar), cadences.final_chord(bar), cadences.chord_at(bar))
            self._bar_chords = known
        return known[2], known[3], known[4]

    def _sounding(self, now: int) -> dict[int, list[int]]:
        """Pitches each part sounds at ``now``: its latest instant's notes, and (in a part that plays chords)
        earlier notes still held; a single line's note ends where its next begins; a lead sheet's chord sounds
        until the next (it is written held: :func:`cadenza.compose.finish.block_chords`). Shared until the next
        step: do not change it."""
        if now not in self._sounding_at:
            self._sounding_at[now] = self._sounding_now(now)
        return self._sounding_at[now]

    def _sounding_now(self, now: int) -> dict[int, list[int]]:
        out = {part: [pitch for end, pitch in notes if onset == now or end > now or part == self.chord_part]
               for part, (onset, notes) in self.latest.items()}
        for part, held in self.held.items():
            if part == self.chord_part:
                continue
            out.setdefault(part, []).extend(pitch for end, pitch in held if end > now)
        return out

    def _strong(self, now: int) -> bool:
        meter = self.plan.meter
        if meter is None:
            return False
        into = now - self.plan.bar_start_ticks
        if into == 0:
            return True
        beat = beat_ticks(meter)
        bar_beats = self.plan.bar_ticks_now // beat if self.plan.bar_ticks_now else 0
        return bar_beats >= 4 and bar_beats % 2 == 0 and into == bar_beats // 2 * beat

    def _bar_index(self) -> int:
        return self.plan.bars_started - 1  # 0-based index of the bar being written

    def _beat(self) -> int:
        return beat_ticks(self.plan.meter) if self.plan.meter is not None else 0

    def _window(self, part: int, now: int) -> tuple[int, int]:
        if part not in self.group_of:
            return 0, 127
        first, last = self.group_of[part]
        return no_crossing_window(part, self._sounding(now), last + 1,
                                  strict=self.polyphony[part] > LINE_POLYPHONY, first=first)

    def _parts_with_room(self, chosen: dict[str, int]) -> np.ndarray | None:
        """At an instant where a part has notes already, it may add one only above them and inside its window
        (pitches go up within a part's chord): a part with no room left is done at this instant."""
        if not self.group_of:
            return None
        now = self._now(chosen)
        ok = np.ones(FIELD_SIZES["part"], dtype=bool)
        for part, (onset, notes) in self.latest.items():
            if onset == now and part in self.group_of and part not in self.plan.drums:
                ok[part] = max(p for _, p in notes) < min(self._window(part, now)[1], self._reach(part, notes))
        return ok

    def _reach(self, part: int, notes: list[tuple[int, int]]) -> int:
        """The highest pitch ``part`` may add to the chord of ``notes`` (end, pitch) it strikes: a hand's
        :data:`HAND_SPAN` above its lowest note (a line's double stop: no limit here)."""
        return min(p for _, p in notes) + HAND_SPAN if self.polyphony[part] > LINE_POLYPHONY else 127

    def _final_bar(self) -> bool:
        return self._cadence_chords()[1] is not None

    def _chord_tone_above(self, part: int) -> bool:
        """Whether a tonic-chord tone is left in ``part``'s range above the notes it has on the last downbeat,
        one no part sounds there already (a second violin's double stop doubled the first violin's D)."""
        chord = self._cadence_chords()[1]
        notes = self.latest.get(part, (-1, []))[1]
        if chord is None or not notes:
            return True
        low, high = self.plan._range(part)
        high = min(high, self._window(part, self.plan.bar_start_ticks)[1], self._reach(part, notes))
        above = np.arange(max(max(p for _, p in notes) + 1, low), high + 1)
        sounding = [p for pitches in self._sounding(self.plan.bar_start_ticks).values() for p in pitches]
        return bool((np.isin(above % 12, chord.pcs) & ~np.isin(above, sounding)).any())

    def _arrival_held(self, chosen: dict[str, int]) -> bool:
        """Whether ``chosen``'s instant lies inside the first :data:`ARRIVAL_BEATS` beats of an arrival bar,
        after its downbeat (where the melody holds its note)."""
        if self.plan.meter is None:
            return False
        into = self._now(chosen) - self.plan.bar_start_ticks
        return 0 < into < ARRIVAL_BEATS * beat_ticks(self.plan.meter)

    def _arrival_limits(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        """On a phrase's arrival (its last bar's downbeat): the melody comes first (after the parts above it in
        score order, where it is not the first part) and holds its note at least
        :data:`ARRIVAL_BEATS` beats (or to the bar's end); the pitches struck there are the planned chord's
        (see :meth:`_chord_tones`), so the cadence is heard."""
        now = self.plan.bar_start_ticks
        if field == "part" and self.tune_led:
            if self.latest.get(self.top, (-1, []))[0] == now:
                return None
            if self.top:  # parts before the melody's in score order may come first at the instant (an orchestra's
                return np.arange(FIELD_SIZES["part"]) <= self.top  # winds), none after it
            first = all(onset != now for onset, _ in self.latest.values())
            return (np.arange(FIELD_SIZES["part"]) == self.top) if first else None
        part = chosen.get("part")
        if part is None or part in self.plan.drums:
            return None
        if field == "duration" and part == self.top and self.plan.meter is not None:
            beat = beat_ticks(self.plan.meter)
            shortest = min(ARRIVAL_BEATS * beat, self.plan.bar_ticks_now)
            return np.arange(FIELD_SIZES["duration"]) * FINE >= shortest
        return None

    def _final_chord_limits(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        """The last bar as one chord on its downbeat: every part in score order (each may add notes while it has
        room), then the end. Not when a density asks for onsets all through the bar, nor once a note has come
        after the downbeat anyway (another limit won): then only the pitches are the tonic chord's."""
        last = max(self.final_parts) if self.final_parts else -1
        reachable = [p for p in range(last + 1, len(self.polyphony))
                     if p not in self.plan.drums and p not in self.doubled]
        room = last >= 0 and self.final_parts[last] < self.polyphony[last] and self._chord_tone_above(last)
        if field == "kind":
            mask = np.ones(FIELD_SIZES["kind"], dtype=bool)
            if reachable:
                mask[KIND["eos"]] = False  # the chord goes on down to the bass
            elif not room:
                mask[KIND["note"]] = False  # the chord is complete: the end
            return mask
        if chosen.get("kind") != KIND["note"]:
            return None
        if field == "part":
            mask = np.zeros(FIELD_SIZES["part"], dtype=bool)
            mask[reachable[:1]] = True
            if room:
                mask[last] = True
            return mask
        if field in ("position", "position_fine"):
            return np.arange(FIELD_SIZES[field]) == 0
        return None

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        if field == "kind" and self._bar_done(grammar):
            return _BAR_ENDS
        if field in ("position", "part") and chosen.get("kind") == KIND["note"] and not chosen.get("position") \
                and grammar is not None and (missing := self._arrival_missing(grammar)):
            if field == "position":  # the arrival's chord: every line of a small ensemble strikes or holds it
                return _AT_BAR_START
            parts = np.zeros(FIELD_SIZES["part"], dtype=bool)
            parts[missing] = True
            room = self._allowed(field, chosen, grammar)
            return parts if room is None or not np.count_nonzero(parts & room) else parts & room
        mask = self._allowed(field, chosen, grammar)
        if field == "position" and chosen.get("kind") == KIND["note"]:
            full = self._instant_closed(chosen, grammar)
            if full is not None:
                mask = full if mask is None else mask & full if np.count_nonzero(mask & full) else mask
        return mask

    def _bar_done(self, grammar: Any) -> bool:
        """Whether the bar is over (its line or the end comes next): the current instant is closed by these rules
        (:meth:`_instant_closed`) and the density asked allows no later onset on the notation grid before the
        bar line. Else the only position left was the closed instant, the rules gave way there, and a sad
        piece's left hand struck G2 D3 G3 B-flat3 (a tenth) on every beat. (Where the density needs another
        onset in the bar, the plan forbids the bar line and the density holds.)"""
        if grammar.position % FINE or not self.latest:
            return False
        later = later_on_grid(self.plan, grammar.position - grammar.position % FINE)  # on the grid, after now
        if self.plan.onsets_left(later) is not False:  # (None where no density is asked: most steps)
            return False
        return self._instant_closed({"kind": KIND["note"]}, grammar) is not None

    def _instant_closed(self, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        """The positions of a new note without the current instant where no part the grammar still allows
        there may strike by these rules (a hand whose chord reaches no further, a lead sheet's chords off the
        beat): the next note comes later. Else the sampler kept the instant and the rules gave way: a piano's
        left hand went on up past its reach."""
        if grammar.position % FINE or not self.latest:
            return None
        here = grammar.position // FINE
        at = {**chosen, "position": here, "position_fine": 0}
        parts = self._allowed("part", {**at, "kind": KIND["note"]}, grammar)
        legal = grammar.allowed("part", at)
        if parts is None or np.count_nonzero(legal & parts[:len(legal)]):
            return None
        mask = np.ones(FIELD_SIZES["position"], dtype=bool)
        mask[here] = False
        return mask

    def _allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        if self._final_bar() and not self.final_late and self.plan._gap_limits()[1] is None:
            final = self._final_chord_limits(field, chosen)
            if final is not None:
                return final
        arrival = self._cadence_chords()[0]
        if arrival is not None and chosen.get("kind") == KIND["note"] and "position_fine" in chosen \
                and self._now(chosen) == self.plan.bar_start_ticks:
            held = self._arrival_limits(field, chosen)
            if held is not None:
                return held
        if self.chord_part is not None and field in ("kind", "position", "position_fine"):
            return self._chord_changes_kept(field, chosen, grammar)
        if field == "part" and chosen.get("kind") == KIND["note"]:
            if self.ordered and not self.latest:  # the piece opens with its melody
                return np.arange(FIELD_SIZES["part"]) == self.top
            room = self._parts_with_room(chosen)
            if self.doubled:
                room = np.ones(FIELD_SIZES["part"], dtype=bool) if room is None else room.copy()
                room[list(self.doubled)] = False
            if arrival is not None and self._arrival_held(chosen):  # the arrival's melody note is not cut short
                room = np.ones(FIELD_SIZES["part"], dtype=bool) if room is None else room.copy()
                room[self.top] = False
            if self.chord_part is not None and (self._now(chosen) - self.plan.bar_start_ticks) % self._pulse():
                room = np.ones(FIELD_SIZES["part"], dtype=bool) if room is None else room.copy()
                room[self.chord_part] = False  # a lead sheet's chords are struck on the beats only
            return room
        if field != "pitch" or chosen.get("kind") != KIND["note"] or chosen["part"] in self.plan.drums:
            return None
        part, now = chosen["part"], self._now(chosen)
        mask = None
        if part in self.group_of:
            low, high = self._window(part, now)
            mask = np.zeros(FIELD_SIZES["pitch"], dtype=bool)
            mask[low:high + 1] = True
            if (latest := self.latest.get(part)) is not None and latest[0] == now:  # a part's chord goes up
                mask[:max(p for _, p in latest[1]) + 1] = False
        arrival, chord, _ = self._cadence_chords()
        if chord is None and self.cadences is not None and now == self.plan.bar_start_ticks:
            chord = arrival  # a phrase's arrival: its downbeat is the planned chord
        if chord is None and part == self.lowest and self._strong(now):
            planned = self._cadence_chord(now)
            if planned is not None and planned.bass is not None:
                chord = planned  # a cadential six-four stands on the dominant in the bass
        unplanned = mask  # (a hand's reach outranks the planned chord's tones: below)
        if chord is not None:
            tones = self._chord_tones(part, now, chord, mask)
            mask = tones if mask is None or not np.count_nonzero(mask & tones) else mask & tones
        elif part == self.chord_part and (symbol := self.chord_symbol(now)) is not None:
            tones = pitch_classes_mask(set(symbol.pcs))  # a lead sheet's chords realise its chord symbols
            mask = tones if mask is None or not np.count_nonzero(mask & tones) else mask & tones
        if self.polyphony[part] > LINE_POLYPHONY and (latest := self.latest.get(part)) is not None \
                and latest[0] == now:  # a hand's chord: within its reach of the notes it already holds down
            reach = np.zeros(FIELD_SIZES["pitch"], dtype=bool)
            reach[max(max(p for _, p in latest[1]) - HAND_SPAN, 0):self._reach(part, latest[1]) + 1] = True
            both = None if chord is None else pitch_classes_mask(set(chord.pcs)) & (True if unplanned is None
                                                                                 else unplanned)
            mask = next((m & reach for m in (mask, both, unplanned) if m is not None and np.count_nonzero(m & reach)),
                        reach)  # the missing tone out of reach, a tone doubled (not G2 D3 E-flat3 G3 in G minor)
        return mask

    def chord_symbol(self, now: int) -> Chord | None:
        """The chord that holds at ``now`` by the plans: the cadence plan's in its bars, else the harmony
        plan's for the strong beat ``now`` falls after."""
        if self.cadences is None:
            return None
        return self._cadence_chord(now) or self._harmony_at(now)

    def _cadence_chord(self, now: int) -> Chord | None:
        """In a cadence bar, the chord the plans give at ``now``: the harmony plan's for the strong beat ``now``
        falls after (it holds the cadence plan's chords there, and a predominant before a dominant seventh that
        shares its bar), else the cadence plan's; None outside the cadence bars."""
        chord = self._cadence_chords()[2]
        return (self._harmony_at(now) or chord) if chord is not None else None

    def _chord_tones(self, part: int, now: int, chord: Any, where: np.ndarray | None = None) -> np.ndarray:
        """Pitches that build ``chord`` at ``now``: the root for the lowest part's first note (under every note
        struck so far: an orchestra's bassoon may sit below its double bass otherwise), else a tone of the chord
        not sounding yet while one is missing and ``where`` (the part's window) has one (a full chord, not an
        open octave; a quartet's second violin, its A under the first violin's D, had only the missing F below
        its A for its double stop's upper note, the rule gave way and it ended on C-sharp), else any of its
        tones. Tones that would move in parallel fifths or octaves (:meth:`_parallels_into`) are left out while
        another remains: the approach to a cadence is where forced chord tones made most of them."""
        bad = self._parallels_into(part, now, chord)
        low, high = self.plan._range(part)
        playable = np.zeros(FIELD_SIZES["pitch"], dtype=bool)
        playable[low:high + 1] = True  # (a parallel is avoided only where a tone is left in the part's range: else
        # the mask left nothing with the range, was skipped, and a quartet's cello ended on the fifth)
        if part == self.lowest and self.latest.get(part, (-1, []))[0] != now:
            root = pitch_classes_mask({chord.bass_pc})
            under = root.copy()
            struck = [p for onset, notes in self.latest.values() if onset == now for _, p in notes]
            if struck:
                under[min(struck) + 1:] = False
            # the root under every note struck, else the root in the part's range all the same (a B-flat
            # orchestra's bassoon struck F2 on the last chord, the cello's B-flat under it lay below its range,
            # the root mask left nothing there and the cello ended on F: a six-four)
            # the last chord stands on a bass: its root G3 or lower (FINAL_BASS_HIGHEST) where the part reaches it
            deep = np.arange(FIELD_SIZES["pitch"]) <= FINAL_BASS_HIGHEST if self._final_bar() else playable
            return next((c for c in (under & ~bad & playable & deep, under & ~bad & playable, under & playable,
                                     root & ~bad & playable, root & playable) if c.any()), under)
        sounding = {p % 12 for notes in self._sounding(now).values() for p in notes}
        missing = set(chord.pcs[:3]) - sounding  # a seventh may be left out
        for choice in (missing, set(chord.pcs)):
            tones = pitch_classes_mask(choice) & playable & (True if where is None else where)
            if (tones & ~bad).any():
                return tones & ~bad
        return pitch_classes_mask(missing or set(chord.pcs))

    def _parallels_into(self, part: int, now: int, chord: Any) -> np.ndarray:
        """Pitches of ``part``'s next note on ``chord`` at ``now`` that move in parallel fifths or octaves with a
        part already moved at this instant, or (above the lowest part, which is written last and lands on the
        root) with the lowest part's move to the chord's root."""
        last = self.latest.get(part)
        if last is None or last[0] == now or not self.ordered:  # an orchestra doubles in octaves by design
            return np.zeros(FIELD_SIZES["pitch"], dtype=bool)
        before = self._line_pitch(part, last[1])
        bad = self._parallels(part, before, now)
        bass = self.latest.get(self.lowest)
        if part != self.lowest and bass is not None and bass[0] != now:
            bass_before = self._line_pitch(self.lowest, bass[1])
            interval = (before - bass_before) % 12
            if interval in PERFECT and bass_before % 12 != chord.bass_pc:
                pitches = np.arange(FIELD_SIZES["pitch"])
                bad |= (pitches % 12 == (chord.bass_pc + interval) % 12) & (pitches != before)
        return bad

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        if field == "part" and chosen.get("kind") == KIND["note"]:
            pulls = [b for b in (self._melody_waits(chosen), self._parts_wait(chosen), self._bass_pace(chosen))
                     if b is not None]
            return sum(pulls[1:], pulls[0]) if pulls else None
        if field == "duration" and chosen.get("kind") == KIND["note"]:
            prepare, pace = self.preparation_bias(chosen), self._bass_pace_durations(chosen)
            return prepare if pace is None else pace if prepare is None else prepare + pace
        if field != "pitch" or chosen.get("kind") != KIND["note"] or chosen["part"] in self.plan.drums:
            return None
        part = chosen["part"]
        now = self._now(chosen)
        out = np.zeros(FIELD_SIZES["pitch"], dtype=np.float32)
        pitches = np.arange(FIELD_SIZES["pitch"])
        at_instant = self.latest.get(part, (-1, []))[0] == now
        last = self.latest.get(part)
        melody = self.tune_led and part == self.top
        if part < len(self.polyphony) and not at_instant and last is not None:
            before = self._line_pitch(part, last[1])
            if self.polyphony[part] <= LINE_POLYPHONY or melody:
                # strikes of ``before`` in a row so far, the latest included
                run = self.repeat_run.get(part, 0) + 1 if self.previous_pitch.get(part) == before else 1
                out -= self._line_costs(part, before, run, [*self.line_history.get(part, []), before], melody)
                for resolution in (self.resolution_bias(part, before, now),
                                   self.seventh_resolution(part, before, lambda: self.chord_symbol(now))):
                    if resolution is not None:
                        out += resolution
            elif part == self.lowest:  # a keyboard's bass: an octave is free, a wider leap is not
                out -= _leap_costs(before, BASS_LEAP_NATS, BASS_LEAP_FREE)
                if self._final_bar():  # the last chord stands on a low root
                    out -= FINAL_BASS_NATS * np.maximum(pitches - FINAL_BASS_HIGH, 0).astype(np.float32)
            weight = VOICE_PARALLEL_NATS if self.ordered and self.polyphony[part] == 1 else PARALLEL_NATS
            out -= weight * (self._parallels(part, before, now) | self._beat_parallels(part, now)).astype(np.float32)
        elif at_instant and melody and last is not None and part in self.previous_pitch:
            # a hand's notes at an instant come from the lowest up: a note above them all is the tune's, for
            # now, and pays the tune's repeat and shuttle (the hand's lower notes are its harmony; its leaps
            # are left free: real right hands span 30 semitones, and paying them narrowed ours to 22)
            above = pitches > max(p for _, p in last[1])
            costs = self._line_costs(part, self.previous_pitch[part], self.repeat_run.get(part, 1),
                                     self.line_history.get(part, []), melody, leaps=False)
            out -= np.where(above, costs, 0.0).astype(np.float32)
        if part == self.chord_part and not at_instant:  # a chord symbol's lowest note: its bass, low
            out -= CHORD_BASS_NATS * np.maximum(pitches - CHORD_BASS_HIGH, 0).astype(np.float32)
        sounding_now = self._sounding(now)
        if part < len(self.polyphony) and self.polyphony[part] <= LINE_POLYPHONY and self.ordered:
            doubled = [p for other, notes in sounding_now.items() if other != part for p in notes]
            out[doubled] -= UNISON_NATS
        if self.ordered and self.polyphony[part] == 1 and self.top != part < len(self.polyphony):
            low, high = self.plan._range(part)  # a singer's outer notes: reached for, not dwelt on (the tune's
            # high point may lie there)
            out -= TESSITURA_NATS * (np.maximum(low + TESSITURA_EDGE - pitches, 0)
                                     + np.maximum(pitches - (high - TESSITURA_EDGE), 0)).astype(np.float32)
        if self.ordered and 0 < part < self.lowest and self.polyphony[part] == 1 and sounding_now.get(part - 1):
            out[pitches < min(sounding_now[part - 1]) - 12] -= SPACING_NATS  # upper voices within an octave
        if self._strong(now):
            suspended = self.suspension_pitches(now)  # held over the downbeat: dissonances, to be resolved
            sounding = pc_mask(p for notes in sounding_now.values() for p in notes if p not in suspended)
            if sounding:
                clash = ~FITS[sounding | _PC_BITS]
                out -= STRONG_BEAT_NATS * clash[_PITCH_PC].astype(np.float32)
        chord = self._cadence_chord(now)
        beat_chord = None  # the chord a note struck on this beat leans its seventh toward (sevenths.py)
        if chord is not None:
            out += _pc_weights(frozenset(chord.pcs), CHORD_TONE_NATS)
            if part == self.lowest:
                out += _pc_weights(frozenset({chord.bass_pc}), BASS_ROOT_NATS)
            beat_chord = chord if (beat := self._beat()) and (now - self.plan.bar_start_ticks) % beat == 0 else None
        elif (beat_chord := self.planned_chord(now)) is not None:
            out += _pc_weights(frozenset(beat_chord.pcs), HARMONY_NATS)
            if part == self.lowest and self._strong(now):
                out += _pc_weights(frozenset({beat_chord.bass_pc}), HARMONY_BASS_NATS)
        if (seventh := self.seventh_bias(part, beat_chord, sounding_now)) is not None:
            out += seventh
        return out

    def _line_costs(self, part: int, before: int, run: int, line: list[int], melody: bool,
                    leaps: bool = True) -> np.ndarray:
        """A line's leap (unless ``leaps`` is False), repeat and shuttle costs (nats, per pitch) for its next
        note after ``before``, struck ``run`` times in a row so far; ``line``: its latest pitches, ``before``
        last."""
        out = np.zeros(FIELD_SIZES["pitch"], dtype=np.float32)
        if leaps:
            if melody and 1 < self.polyphony[part] <= LINE_POLYPHONY and self.style in STRING_TUNE_LEAP_NATS:
                weight = STRING_TUNE_LEAP_NATS[self.style]
            elif melody and self.line_over_chords:
                weight = VOICE_LEAP_NATS
            else:
                weight = LEAP_NATS if self.polyphony[part] > 1 else MELODY_LEAP_NATS_BY_STYLE.get(
                    self.style, MELODY_LEAP_NATS) if melody else VOICE_LEAP_NATS
            out += _leap_costs(before, weight)
        allowed_run = MELODY_REPEATS if melody else FIGURE_REPEATS if part in self.figured else LINE_REPEATS
        if run >= allowed_run:
            out[before] += (MELODY_REPEAT_NATS if melody else REPEAT_NATS) * (run - allowed_run + 1)
        if melody and run >= MELODY_STRIKES:
            out[before] += MELODY_STRIKE_NATS * (run - MELODY_STRIKES + 1)
        if melody and len(line) >= 3 and line[-3] == before != line[-2]:
            out[line[-2]] += SHUTTLE_NATS  # a-b-a is a neighbour note; a-b-a-b goes nowhere
        return out

    def _line_pitch(self, part: int, notes: list[tuple[int, int]]) -> int:
        pitches = [p for _, p in notes]
        return min(pitches) if part == self.lowest else max(pitches)

    def _line_at(self, part: int, tick: int) -> int | None:
        """The pitch ``part``'s line sounds at ``tick`` (its latest instant, or one of its last finished ones),
        None where it rests or the instant is forgotten."""
        onset, notes = self.latest.get(part, (-1, []))
        instants = [*self.past.get(part, []), *([(onset, max(e for e, _ in notes), self._line_pitch(part, notes))]
                                                 if notes else [])]
        for start, end, pitch in reversed(instants):
            if start <= tick:
                return pitch if end > tick else None
        return None

    def _beat_parallels(self, part: int, now: int) -> np.ndarray:
        """For a note on a beat of an ensemble written top-down: pitches of ``part`` that would make parallel
        fifths or octaves from the previous beat to this one with a part already sounding here, notes between
        the beats aside (the way the craft benchmark and a harmony teacher hear them: a soprano C-(D)-E over a
        bass F-(G)-A is parallel fifths beat to beat though no two instants in a row are)."""
        out = np.zeros(FIELD_SIZES["pitch"], dtype=bool)
        meter = self.plan.meter
        if not self.ordered or meter is None or (now - self.plan.bar_start_ticks) % beat_ticks(meter):
            return out
        earlier = now - beat_ticks(meter)
        mine_then = self._line_at(part, earlier)
        if mine_then is None:
            return out
        for other in self.latest:
            if other == part or other in self.plan.drums:
                continue
            then, current = self._line_at(other, earlier), self._line_at(other, now)
            if then is not None and current is not None:
                out |= _parallel_to(mine_then, then, current)
        return out

    def _parallels(self, part: int, before: int, now: int) -> np.ndarray:
        """Pitches of ``part`` (whose line was at ``before``) that would move in parallel fifths or octaves with
        a part that has moved at this instant already (the parts above it, written first)."""
        out = np.zeros(FIELD_SIZES["pitch"], dtype=bool)
        for other, (onset, notes) in self.latest.items():
            if other == part or onset != now or other not in self.previous_pitch or other in self.plan.drums:
                continue
            out |= _parallel_to(before, self.previous_pitch[other], self._line_pitch(other, notes))
        return out

    def advance(self, step: np.ndarray) -> None:
        self._sounding_at.clear()
        kind = int(step[F["kind"]])
        if kind == KIND["key_signature"]:
            self.signature = int(step[F["value"]]) - 7
        if kind == KIND["bar"] and self.cadences is None and self.plan.bars_started > KEY_HEARD_AFTER_BARS \
                and self.pc_weights.any():
            self.cadences = self._cadence_plan(heard_key(self.pc_weights, self.signature))
        if kind != KIND["note"]:
            return
        part, pitch = int(step[F["part"]]), int(step[F["pitch"]])
        if self._final_bar() and self.plan.last_onset_ticks == self.plan.bar_start_ticks:
            self.final_parts[part] = self.final_parts.get(part, 0) + 1
        elif self._final_bar():
            self.final_late = True
        if part not in self.plan.drums:
            self.pc_weights[pitch % 12] += step_length_ticks(step)
        now = self.plan.last_onset_ticks  # the plan has advanced past this note already
        self.struck(part, now)
        self.sounded_seventh(part, pitch, lambda: self.chord_symbol(now))
        end = now + step_length_ticks(step)
        onset, notes = self.latest.get(part, (-1, []))
        if onset != now:
            self._note_instant(part, now)
            if notes:
                line = self._line_pitch(part, notes)
                same = self.previous_pitch.get(part) == line
                self.repeat_run[part] = self.repeat_run.get(part, 1) + 1 if same else 1
                self.previous_pitch[part] = line
                self.line_history[part] = [*self.line_history.get(part, [])[-2:], line]
                self.past[part] = [*self.past.get(part, [])[-(PAST_INSTANTS - 1):],
                                   (onset, max(e for e, _ in notes), line)]
                if part < len(self.polyphony) and self.polyphony[part] > 1:  # chords ring on under what follows
                    self.held[part] = [(e, p) for e, p in [*self.held.get(part, []), *notes] if e > now]
            notes = []
        self.latest[part] = (now, [*notes, (end, pitch)])
