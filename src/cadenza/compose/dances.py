"""A dance's accompaniment: a waltz's "oom-pah-pah", a march's "oom-pah". Where one is asked (``--form waltz``,
``--form march``, or the word in a prompt) in its meter (a waltz in three, a march in two: the form brings it, and
its tempo where neither a tempo nor a mood is asked: :data:`cadenza.compose.ask.FORM_TEMPI`), the accompaniment is
written the way the dance has it (:data:`DANCES`): a waltz's bass strikes the downbeat and its chord comes on the
second and third beats; a march's bass strikes each beat and its chord each off-beat between. The tune stays free.

Who plays what (:func:`accompaniment_roles`, said in the plan's notes by :func:`with_dance`): a quartet's and an
orchestra's cello strikes the bass and the second violin and viola the chords; a song's left hand the bass and its
right hand the chords; a piano's left hand both (a single bass note, then a chord of two notes or more above it).
A choir, a lead sheet, a solo tune and a band have no such accompaniment and are left as they are.

How (:class:`DanceAccompaniment`, a constraint of the sampler): at each of the pattern's slots the parts it asks for
are drawn to strike (:data:`PATTERN_NATS`; a part resting by the orchestration's plan is not asked for), and moving
on past a slot that still lacks one costs as much. An accompanying part strikes nowhere else (a mask: not the chord
parts on a bass's slot, not the bass on a chord's, no one between); its notes end by the next slot, last half the
time to it at least and are drawn to the whole of it (:data:`HELD_NATS`; left free, a left hand wrote an eighth
and an eighth rest on every beat, and 32nd notes), and their rests are kept as written
(:func:`cadenza.compose.finish.legato_lines`). The bass is G3 or lower (:data:`BASS_HIGHEST`) and the planned
chord's bass on the downbeat (a march's second beat: its root or fifth); the chords are the planned chord's tones,
a keyboard hand's :data:`BASS_GAP` semitones or more above its bass. The tune strikes two notes at once at most
(:data:`TUNE_NOTES`). A phrase's arrival keeps its downbeat chord (every line of a quartet strikes it); the last
bar is the final chord.

A pull alone (4 nats against striking off the beat) left a piano's left hand striking chords on the downbeat and
running sixteenths in most bars: the model, which learned "waltz" from folk tunes, does not write one. Before,
``cadenza compose --prompt "a tender waltz for strings in D minor"`` wrote a quartet in 3/4 whose cello rested
through its first two bars, and ``listen`` heard a quartet movement; a march for strings came at 40 bpm, heard as
"other". Now ``listen`` hears a waltz and a march (:func:`cadenza.listen.rhythm.waltz_share`, ``march_share``).
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np

from cadenza.compose.constraints import lasting_at_most, note_onset_ticks
from cadenza.compose.ensembles import Voice, doubling_parts, tune_part
from cadenza.compose.grid import sung_parts
from cadenza.compose.request import Plan
from cadenza.compose.rules import pitch_classes_mask
from cadenza.listen.rhythm import WALTZ_BASS_GAP, WALTZ_CHORD_NOTES
from cadenza.score.instruments import KEYBOARD_PROGRAMS
from cadenza.score.model import TICKS_PER_QUARTER, TimeSignature
from cadenza.tokens.events import FIELD_SIZES, FINE, KIND, F

HELD_NATS = 2.0  # toward an accompanying note that lasts to the pattern's next slot
PATTERN_NATS = 4.0  # a part's pull toward striking its slot of the pattern, and the cost of moving past it
BASS_GAP = WALTZ_BASS_GAP  # a hand's chord: its notes this many semitones or more above its bass
HAND_CHORD_NOTES = WALTZ_CHORD_NOTES  # ... and this many notes of it at least
CHORD_REACH = 9  # ... the lowest of them this many semitones above the bass at most (a sixth)
#: the downbeat's bass: G3 at the highest (a quartet's cello, left free, struck D4 and A3 under inner parts a third
#: above it, the whole accompaniment in the tenor)
BASS_HIGHEST = 55
#: the tune strikes a line, or a line in thirds or sixths: at most this many notes at once (the chords are the
#: accompaniment's; left to the model, a piano waltz's right hand struck four-note chords on the eighths after the
#: beats, the left hand's figuration moved up an octave)
TUNE_NOTES = 2
LINE_POLYPHONY = 2  # a part striking at most this many notes at once is a line, not a hand


#: a dance's accompaniment in a bar, by the meter's numerator: (where in the bar, as a share of it; who strikes
#: there: the bass or the chord parts). A waltz in three: the bass on the downbeat, the chord on the second and third
#: beats. A march in two (2/4, 2/2): the bass on each beat, the chord on the off-beats between ("oom-pah").
BASS, CHORD = "bass", "chord"
DANCES: dict[str, dict[int, tuple[tuple[Fraction, str], ...]]] = {
    "waltz": {3: ((Fraction(0), BASS), (Fraction(1, 3), CHORD), (Fraction(2, 3), CHORD))},
    "march": {2: ((Fraction(0), BASS), (Fraction(1, 4), CHORD), (Fraction(1, 2), BASS), (Fraction(3, 4), CHORD))},
}
#: how each dance's accompaniment is said in the plan's notes: (a hand doing both, the bass, the chord parts)
_SAID = {"waltz": ("a bass note on the downbeat, a chord on the second and third beats", "on the downbeat",
                   "on the second and third beats"),
         "march": ("a bass note on each beat, a chord on the off-beats", "on each beat", "on the off-beats")}


def dance_slots(form: str | None, meter: tuple[int, int] | None) -> tuple[tuple[Fraction, str], ...] | None:
    """The accompaniment of ``form`` in ``meter`` (:data:`DANCES`), or None where it has none."""
    if form not in DANCES or meter is None:
        return None
    return DANCES[form].get(meter[0])


def accompaniment_roles(voices: tuple[Voice, ...]) -> tuple[int, tuple[int, ...]] | None:
    """(the part that strikes the bass, the parts that strike the chords) of a dance's accompaniment for an
    ensemble of ``voices``, or None where it has none (see the module docstring): its tune is the part that leads
    by nature or the first, its bass the lowest part not written by doubling another."""
    doubled = frozenset(doubling_parts(voices))
    sung = sung_parts([v.program for v in voices])
    if len(voices) < 2 or any(v.is_drum for v in voices) or voices[-1].name == "Chords":  # a lead sheet's chords
        return None
    top = tune_part(voices) or 0
    lowest = max(p for p in range(len(voices)) if p not in doubled)
    if top == lowest or lowest in sung:
        return None
    between = tuple(p for p in range(top + 1, lowest) if p not in doubled and p not in sung)
    if between:
        return lowest, between
    return (lowest, (lowest,)) if voices[lowest].polyphony > LINE_POLYPHONY else None


def with_dance(plan: Plan) -> Plan:
    """The plan with what a dance asked of it (a waltz, a march) means here said in its notes: who plays its
    accompaniment, or why there is none; unchanged where no such dance is asked."""
    form = plan.labels.get("form")
    if form not in DANCES:
        return plan
    voices = plan.ensemble.voices if plan.ensemble else ()
    roles = accompaniment_roles(voices)
    name = plan.ensemble.name if plan.ensemble else "the ensemble"
    meters = " or ".join({3: "three", 2: "two"}[n] for n in DANCES[form])
    if dance_slots(form, plan.meter) is None:
        note = f"{form} in {plan.meter[0]}/{plan.meter[1]} -> no {form} accompaniment (a {form} is in {meters})" \
            if plan.meter else f"{form} -> no {form} accompaniment (no meter planned)"
    elif roles is None:
        note = f"{form} for {name} -> no {form} accompaniment (its parts have no bass and chords to share it)"
    else:
        bass, chords = roles
        both, on_bass, on_chords = _SAID[form]

        def called(part: int) -> str:  # a keyboard's parts by hand
            if voices[part].program not in KEYBOARD_PROGRAMS:
                return voices[part].name
            return "the left hand" if part == bass else "the right hand"

        if chords == (bass,):
            note = f"{form} -> {called(bass)}: {both}"
        else:
            note = f"{form} -> {called(bass)} {on_bass}, {' and '.join(called(p) for p in chords)} {on_chords}"
    return replace(plan, notes=[*plan.notes, note])


def planned_dance(plan: Plan) -> tuple[int, tuple[int, ...]] | None:
    """The roles of :func:`accompaniment_roles` where the plan asks a dance of :data:`DANCES` in a meter it is
    written in, else None."""
    if dance_slots(plan.labels.get("form"), plan.meter) is None or plan.ensemble is None:
        return None
    return accompaniment_roles(plan.ensemble.voices)


def dance_parts(plan: Plan) -> frozenset[int]:
    """The parts that play a planned dance's accompaniment (their rests are written as struck: see
    :func:`cadenza.compose.finish.legato_lines`), none where no dance is planned."""
    roles = planned_dance(plan)
    return frozenset((roles[0], *roles[1])) if roles else frozenset()


class DanceAccompaniment:
    """The constraint of the module docstring over ``plan`` (the PlanConstraint) and ``rules`` (the VoiceRules:
    what each part struck last, the phrase plan) for the dance ``form``; ``bass`` and ``chords``:
    :func:`accompaniment_roles`'; ``playing``: per bar, whether each part plays in it (an orchestration's, a
    quartet's tacets)."""

    def __init__(self, plan: Any, rules: Any, form: str, bass: int, chords: tuple[int, ...],
                 playing: list[list[bool]] | None = None) -> None:
        self.plan, self.rules, self.form = plan, rules, form
        self.playing = playing
        self.bass, self.chords = bass, chords
        self.hand = chords == (bass,)  # one keyboard hand plays both
        self.accompanying = frozenset((bass, *chords))
        self.struck: dict[tuple[int, int], list[int]] = {}  # (tick, part) -> the pitches it struck there
        self.free_struck: dict[int, set[int]] = {}  # tick -> the other parts that struck there, this bar
        self._roles: dict[int, str] = {}  # the current bar's slots: tick -> BASS or CHORD

    def _slots(self) -> list[int] | None:
        """The current bar's slots (ticks, in time order; their roles in ``_roles``), or None where the pattern
        does not hold: no whole bar of the dance's meter, or the last bar (the final chord)."""
        plan = self.plan
        pattern = dance_slots(self.form, plan.meter)
        if pattern is None or plan.bars_started < 1 or self.rules._final_bar():
            return None
        bar = TimeSignature(0, *plan.meter).bar_ticks
        if plan.bar_ticks_now and plan.bar_ticks_now != bar:
            return None
        ticks = [plan.bar_start_ticks + int(share * bar) for share, _ in pattern]
        if ticks[0] not in self._roles:
            self._roles = {tick: role for tick, (_, role) in zip(ticks, pattern, strict=True)}
        return ticks

    def _bar_end(self) -> int:
        return int(self.plan.bar_start_ticks + TimeSignature(0, *self.plan.meter).bar_ticks)

    def _needed(self, tick: int) -> list[int]:
        """The parts the pattern still asks to strike at the slot ``tick`` that may still come there (parts come
        in score order at an instant)."""
        if self._roles[tick] == BASS:
            wanted = [] if (tick, self.bass) in self.struck else [self.bass]
        else:
            wanted = [p for p in self.chords if len(self.struck.get((tick, p), ())) < self._chord_notes(p)]
        after = self._last_part_at(tick)
        if self.playing:
            row = self.playing[min(max(self.plan.bars_started - 1, 0), len(self.playing) - 1)]
            wanted = [p for p in wanted if p >= len(row) or row[p]]
        return [p for p in wanted if p >= after]

    def _last_part_at(self, tick: int) -> int:
        """The last part (in score order) that struck at ``tick``, the current instant or a later one; -1: none."""
        return max((p for p, (onset, _) in self.rules.latest.items() if onset == tick), default=-1)

    def _chord_notes(self, part: int) -> int:
        """The notes ``part`` strikes on a chord's slot: a keyboard hand's chord (:data:`HAND_CHORD_NOTES`), a
        line's one (a second violin's, a viola's)."""
        return HAND_CHORD_NOTES if self.rules.polyphony[part] > LINE_POLYPHONY else 1

    def _now(self) -> int:
        last = self.plan.last_onset_ticks
        return max(last, self.plan.bar_start_ticks) if last is not None else self.plan.bar_start_ticks

    def _deadline(self, slots: list[int]) -> int | None:
        """The first slot at or after the current instant that still lacks a part of the pattern."""
        now = self._now()
        return next((tick for tick in slots if tick >= now and self._needed(tick)), None)

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        if chosen.get("kind") != KIND["note"] or field not in ("position", "part", "pitch", "duration",
                                                                "duration_fine") \
                or (slots := self._slots()) is None:
            return None
        if field == "position":  # not an instant where only parts that may not strike are left to come
            return self._positions(slots)
        now = note_onset_ticks(self.plan, chosen)
        if field == "part":  # an accompanying part strikes where the pattern has it, nowhere else
            mask = np.ones(FIELD_SIZES["part"], dtype=bool)
            mask[list(self._resting(slots, now))] = False
            return mask
        part = chosen.get("part")
        if part not in self.accompanying:
            return None
        if field == "pitch":
            if self.hand:
                mask = self._hand_pitches(slots, now)
            elif part == self.bass:
                mask = np.arange(FIELD_SIZES["pitch"]) <= BASS_HIGHEST
            else:
                mask = np.ones(FIELD_SIZES["pitch"], dtype=bool)
            chord = self.rules.chord_symbol(now) if now in slots else None
            if chord is None:
                return mask
            if part == self.bass and self._roles[now] == BASS and (now, part) not in self.struck:
                # the bass note: the chord's (its root, or the planned inversion's bass); a march's second, its
                # root or fifth (a march for strings stood on G under C major for bars on end)
                pcs = {chord.bass_pc} if now == slots[0] else {chord.bass_pc, (chord.root + 7) % 12}
            else:  # the planned chord's tones (an off-beat's too: a march's chords struck E F-sharp G)
                pcs = set(chord.pcs)
            tones = mask & pitch_classes_mask(pcs)
            return tones if np.count_nonzero(tones) else mask
        room = min((t for t in (*slots, self._bar_end()) if t > now), default=now) - now
        lengths = np.arange(FIELD_SIZES["duration"]) * FINE
        if field == "duration":  # each note ends by the next slot, and lasts half the time to it at least
            return (lengths <= room) & (lengths >= room // 2)
        return lasting_at_most(field, chosen, room)

    def _positions(self, slots: list[int]) -> np.ndarray | None:
        """The current instant is no longer open to a note where the parts still to come there (those after the
        last to strike, in score order, and it) may not strike (:meth:`_resting`): the sampler would otherwise
        have a note there and no part left to give it but one the pattern rests."""
        now = self.plan.last_onset_ticks
        if now is None or now < self.plan.bar_start_ticks:
            now = self.plan.bar_start_ticks - 1  # nothing struck in the bar yet
        after = self._last_part_at(now)
        mask = np.ones(FIELD_SIZES["position"], dtype=bool)
        # a triplet's point is struck only by a part that struck its quarter's start (cadenza.compose.grid), and
        # the accompaniment does not strike there: open only where a part of the tune's did
        start = self.plan.bar_start_ticks
        offsets = np.arange(FIELD_SIZES["position"]) * FINE
        triplet = (offsets % TICKS_PER_QUARTER) % (TICKS_PER_QUARTER // 8) != 0
        quarters = start + offsets - offsets % TICKS_PER_QUARTER
        mask &= ~triplet | np.isin(quarters, list(self.free_struck))
        if not self._free_parts():  # no part but the accompaniment may strike: its slots only
            mask &= np.isin(start + offsets, slots)
        coming = set(range(after + 1, len(self.rules.polyphony))) | ({after} if self._room(after, now) else set())
        coming -= self._resting(slots, now)
        if not coming:
            mask[(now - start) // FINE] = False
        return mask

    def _free_parts(self) -> set[int]:
        """The parts that may strike off the accompaniment's beats now: not the accompaniment, nor the tune while
        an introduction leaves the accompaniment alone (:mod:`cadenza.compose.intro`)."""
        free = set(range(len(self.rules.polyphony))) - self.accompanying - set(self.rules.doubled)
        if self.rules.intro_bars and self.plan.bars_started <= self.rules.intro_bars:
            free.discard(self.rules.top)
        return free

    def _room(self, part: int, now: int) -> bool:
        """Whether ``part``, which struck at ``now``, may add a note to its chord there (its polyphony, the room
        the part-writing rules leave above its notes)."""
        if part < 0:
            return False
        latest = self.rules.latest.get(part)
        if latest is None or latest[0] != now or len(latest[1]) >= self.rules.polyphony[part]:
            return latest is None or latest[0] != now
        into = now - self.plan.bar_start_ticks
        room = self.rules._parts_with_room({"kind": KIND["note"], "label": 0, "position": into // FINE,
                                            "position_fine": into % FINE})
        return room is None or bool(room[part])

    def _resting(self, slots: list[int], now: int) -> set[int]:
        """The parts that may not strike at ``now``: the accompanying ones off the pattern's slots; on a bass's
        slot the chord parts (not on a phrase's arrival's downbeat, whose chord is everyone's) and a hand once its
        bass is struck; on a chord's slot the bass (a hand's chord there is its own); the tune once it has
        :data:`TUNE_NOTES` notes there."""
        tune = self.rules.top
        latest = self.rules.latest.get(tune)
        full = {tune} if latest is not None and latest[0] == now and len(latest[1]) >= TUNE_NOTES else set()
        if now not in slots:
            return set(self.accompanying) | full
        if self._roles[now] == BASS:
            if self.hand:
                return ({self.bass} if (now, self.bass) in self.struck else set()) | full
            arrival = now == slots[0] and self.rules._cadence_chords()[0] is not None
            return (set() if arrival else set(self.chords)) | full
        return full if self.hand else {self.bass} | full

    def _hand_pitches(self, slots: list[int], now: int) -> np.ndarray:
        """A keyboard hand's pitches: a bass, :data:`BASS_HIGHEST` at the highest, on a bass's slot; on a chord's,
        :data:`BASS_GAP` semitones or more above the bass struck last, the chord's first (lowest) note within
        :data:`CHORD_REACH` of it: a chord's notes come upward, and one begun high had no tone left under the tune
        (a waltz's left hand struck a lone G4 over its G3 on the second and third beats)."""
        pitches = np.arange(FIELD_SIZES["pitch"])
        if self._roles[now] == BASS:
            return pitches <= BASS_HIGHEST
        struck = [self.struck.get((t, self.bass)) for t in slots if t < now and self._roles[t] == BASS]
        bass = next((notes for notes in reversed(struck) if notes), None)
        low = min(bass) if bass else BASS_HIGHEST
        mask = pitches >= low + BASS_GAP
        if not self.struck.get((now, self.bass)):
            mask &= pitches <= low + CHORD_REACH
        return mask

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        if field not in ("kind", "position", "part", "duration") or (slots := self._slots()) is None:
            return None
        if field == "duration":  # a slot's note lasts to the next (a quarter's pah, not an eighth and a rest)
            if chosen.get("kind") != KIND["note"] or chosen.get("part") not in self.accompanying:
                return None
            now = note_onset_ticks(self.plan, chosen)
            ends = [t for t in (*slots, self._bar_end()) if t > now]
            if not ends:
                return None
            out = np.zeros(FIELD_SIZES["duration"], dtype=np.float32)
            out[(ends[0] - now) // FINE] = HELD_NATS
            return out
        if field == "kind":  # the bar does not end while a slot of it still lacks its part
            if self._deadline(slots) is None:
                return None
            out = np.zeros(FIELD_SIZES["kind"], dtype=np.float32)
            out[KIND["bar"]] = out[KIND["eos"]] = -PATTERN_NATS
            return out
        if chosen.get("kind") != KIND["note"]:
            return None
        if field == "position":  # moving past a slot that lacks its part costs
            deadline = self._deadline(slots)
            if deadline is None:
                return None
            later = np.arange(FIELD_SIZES["position"]) * FINE + self.plan.bar_start_ticks > deadline
            return np.where(later, -PATTERN_NATS, 0.0).astype(np.float32)
        return self._part_bias(slots, note_onset_ticks(self.plan, chosen))

    def _part_bias(self, slots: list[int], now: int) -> np.ndarray | None:
        if now not in slots:
            return None
        out = np.zeros(FIELD_SIZES["part"], dtype=np.float32)
        for part in self._needed(now):
            # not before a part above it in score order has had its turn here: drawn first, it would leave the
            # tune no way to strike the beat (a waltz's tune lost its downbeats)
            if all(p in self.accompanying or p in self.free_struck.get(now, ()) for p in range(part)):
                out[part] = PATTERN_NATS
        return out

    def advance(self, step: np.ndarray) -> None:
        """Who struck which pitches at which slot of the bar (the plan advances first)."""
        if int(step[F["kind"]]) == KIND["bar"]:
            self.struck.clear()
            self.free_struck.clear()
            return
        part, now = int(step[F["part"]]), self.plan.last_onset_ticks
        if int(step[F["kind"]]) != KIND["note"] or now is None:
            return
        if part in self.accompanying:
            self.struck.setdefault((now, part), []).append(int(step[F["pitch"]]))
        else:
            self.free_struck.setdefault(now, set()).add(part)
