"""What sampling enforces on top of the event grammar, so a request is honoured by construction.

:class:`PlanConstraint` narrows each field's choices while the model samples a step (the sampler asks it
after the grammar, and keeps the grammar's own choice if the two would leave nothing):

- the first bar states its meter at once: the one asked for (or the primer's), else one of the common
  meters that the model chooses; every later bar has that meter, and no meter change follows;
- the key signature and tempo asked for are written right after the first time signature; otherwise the
  model may write one of each before the first note; no key or tempo change follows (modulations are
  written with accidentals), which also keeps a sampler from looping on meta steps;
- no labels (the request's are in the prompt) and no parts beyond the ensemble's; a tempo the model
  chooses lies between 30 and 240 bpm;
- no bar of silence (a note starts or sounds in every bar);
- exactly the bars asked for: no end before the last bar, no bar after it (in the last bar, the model's
  chance of a new bar goes to the end instead), and the end fills the last bar;
  when the step budget runs low, only bars and the end may follow, so the piece is never cut short;
- every note of a part within that part's range (a part the model declares: the piano's range, at most ten
  notes at once), and never two of one pitch at one instant in a part;
- with a density asked for (or implied by the mood, or heard in a primer), a new note's start is nudged
  toward the gap after the last onset that the density implies (a bias, not a rule);
- a mood's dynamics (velocities near its loudness) and register (a gentle bias), see
  :mod:`cadenza.compose.mood`;
- pitches outside the key's scale are penalised (a bias on their logits, not a ban: the chromaticism a
  style allows stays possible, rarely); the tonic is favoured a little throughout and the tonic triad
  strongly in the first and last bars, so the piece states its key and comes home to it (a scale alone
  does not say which of its notes is the tonic: A major's notes are also F♯ minor's).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from cadenza.compose.grid import shortest_gap_ticks
from cadenza.compose.mood import MoodShape
from cadenza.compose.request import Key
from cadenza.listen.features import beat_ticks_of
from cadenza.score.model import DEFAULT_TEMPO_BPM, TICKS_PER_QUARTER, TimeSignature
from cadenza.tokens.events import FIELD_SIZES, FINE, KIND, F, step_bpm, step_row
from cadenza.tokens.grammar import NOTE_ORDER, Grammar

DRUM_RANGE = (35, 81)  # General MIDI percussion keys
#: a bass instrument's range: down to MIDI 36 (C2) or lower, and no higher than 76 (E5): cellos, bassoons,
#: double basses, a left hand (not a part the model declares itself, which may play anything)
BASS_REACH = (36, 76)


def key_signature_step(key: Key) -> np.ndarray:
    return step_row("key_signature", value=key.sharps + 7, value_fine=1 if key.mode == "major" else 2)


def tempo_step(bpm: float) -> np.ndarray:
    hundredths = round(bpm * 100)
    return step_row("tempo", value=hundredths // 100, value_fine=hundredths % 100)


def only_value(size: int, value: int) -> np.ndarray:
    """A mask of ``size`` that allows ``value`` alone."""
    mask = np.zeros(size, dtype=bool)
    mask[value] = True
    return mask


COMMON_METERS = ((2, 4), (3, 4), (4, 4), (2, 2), (3, 2), (6, 4), (3, 8), (6, 8), (9, 8), (12, 8), (5, 4), (7, 8))
MODEL_TEMPO_BPM = (30, 240)  # the range of tempi the model may choose when none is asked for
MAX_FREE_PARTS = 8  # parts the model may declare itself when no ensemble is asked for
FREE_RANGE = (21, 108)  # a part the model declares itself: the piano's range
FREE_POLYPHONY = 10  # ... and at most ten notes started at once (two hands)
DENSITY_WEIGHT = 1.5  # nats per squared octave of gap ratio (a gap twice or half the wanted one: -1.5)
DENSITY_FLOOR = 6.0
DENSITY_ONSET_RATES = {"low": 0.75, "medium": 1.6, "high": 3.0}  # onsets per beat inside listen's buckets
# the shortest and longest time between onsets (in beats) each density allows, so that listen's bucket
# (onsets per beat: low below 1.1, high above 2.2) holds by construction; chords (one instant) are free
DENSITY_GAPS: dict[str, tuple[float | None, float | None]] = {"low": (1.0, None), "medium": (0.5, 0.8),
                                                              "high": (None, 0.45)}
# where no density is asked, the music keeps moving: no more than this many beats pass between onsets (of any
# part) before the last bar. Real piano sonatas' textures go longer than two beats without a new note at 0-0.4%
# of their onsets (fermatas, cadences); left to itself the model sometimes wrote whole-note chords, bar after
# bar, at 50 bpm. Three beats let a 3/4 bar be held (a cadence's chord): at two, classical quartets and romantic
# songs lost the long notes of their style (heard as such 5 of 20 times against 8 of 20, 8-bar pieces).
KEEP_MOVING_BEATS = 3.0
FINAL_CHORD_STEPS = 16  # steps the budget keeps for the last bar's chord, at most
TONIC_BIAS = 0.5  # nats toward the tonic pitch class throughout, when a key is asked for
FRAMING_TRIAD_BIAS = 2.0  # nats toward the tonic triad in the first and last bars: the piece starts and ends home
MAX_DOUBLE_STOP_SEMITONES = 12  # a part of two notes at once (a string's double stop, a song's left hand) spans an
# octave at most: a violin's A4 under F6 (a 13th, seen on the craft benchmark's quartet page) cannot be played


def dominant_triad(key: Key) -> tuple[int, ...]:
    """The pitch classes of ``key``'s dominant chord (major, with the leading note, in either mode)."""
    fifth = (key.tonic_pc + 7) % 12
    return (fifth, (fifth + 4) % 12, (fifth + 7) % 12)


def gap_bias(gaps: np.ndarray, wanted: float, weight: float, floor: float) -> np.ndarray:
    """Nats against each gap (ticks after the latest onset) for missing the ``wanted`` gap: ``weight`` per
    squared octave of the ratio, at most ``floor``; a gap of 0 (a note of the latest instant's chord) is free."""
    out = np.zeros(len(gaps), dtype=np.float32)
    later = gaps > 0
    out[later] = -weight * np.log2(gaps[later] / wanted) ** 2
    return np.maximum(out, -floor)


def note_onset_ticks(plan: Any, chosen: dict[str, int]) -> int:
    """The tick where the note being chosen starts: its bar's start (``plan.bar_start_ticks``, the
    :class:`PlanConstraint`'s) plus the position chosen for it."""
    return plan.bar_start_ticks + chosen["position"] * FINE + chosen["position_fine"]


def lasting_at_most(field: str, chosen: dict[str, int], ticks: int) -> np.ndarray:
    """The values of ``field`` (``duration``, or ``duration_fine`` after ``chosen["duration"]``) of a note that
    lasts at most ``ticks``."""
    if field == "duration":
        return np.arange(FIELD_SIZES["duration"]) * FINE <= ticks
    return chosen["duration"] * FINE + np.arange(FIELD_SIZES["duration_fine"]) <= ticks


def step_length_ticks(step: np.ndarray) -> int:
    """The length in ticks of the note a step writes (its duration fields)."""
    return int(step[F["duration"]]) * FINE + int(step[F["duration_fine"]])


def bar_ticks(meter: tuple[int, int]) -> int:
    return meter[0] * 4 * TICKS_PER_QUARTER // meter[1]


@lru_cache(maxsize=64)
def beat_ticks(meter: tuple[int, int]) -> int:
    """The beat of ``meter`` in ticks (asked several times a step: computed once a meter)."""
    return beat_ticks_of(TimeSignature(0, *meter))


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


#: ticks into the bar of each coarse position, and the fine offsets (shared, never changed)
_CELL_TICKS = _read_only(np.arange(FIELD_SIZES["position"]) * FINE)
_FINE_TICKS = _read_only(np.arange(FIELD_SIZES["position_fine"]))
_ALL_KINDS = _read_only(np.ones(FIELD_SIZES["kind"], dtype=bool))


@lru_cache(maxsize=64)
def _values_in(size: int, values: tuple[int, ...]) -> np.ndarray:
    """True at ``values`` (of ``0..size-1``): the meters' and bar lengths' masks, made once."""
    return _read_only(np.isin(np.arange(size), values))


def _chain_reaches(distance_ticks: np.ndarray, shortest: float, longest: float | None) -> np.ndarray:
    """Whether each distance can be crossed in onsets whose gaps all lie between ``shortest`` and ``longest``
    ticks (FINE's tolerance): in k gaps, k*shortest to k*longest, for the most gaps that fit."""
    steps = np.floor((distance_ticks + FINE) / shortest)
    if longest is None:
        return steps >= 1
    return (steps >= 1) & (distance_ticks <= steps * longest + FINE)


def _cells(size: int) -> np.ndarray:
    return _CELL_TICKS if size == len(_CELL_TICKS) else np.arange(size) * FINE


def _fines(size: int) -> np.ndarray:
    return _FINE_TICKS if size == len(_FINE_TICKS) else np.arange(size)


class PlanConstraint:
    def __init__(self, bars: int, ranges: list[tuple[int, int]], key: Key | None = None,
                 tempo_bpm: float | None = None, meter: tuple[int, int] | None = None,
                 polyphony: list[int] | None = None, fixed_parts: bool = False, step_limit: int | None = None,
                 chromatic_penalty: float = 3.0, density: str | None = None,
                 closing_pcs: tuple[int, ...] = (), shape: MoodShape | None = None,
                 scale_key: Key | None = None, sung: frozenset[int] = frozenset()) -> None:
        self.bars = bars
        self.sung = sung  # the parts that are sung: their values are longer (grid.SUNG_SHORTEST_S)
        self.ranges = ranges  # (low, high) MIDI pitch of each part
        self.polyphony = polyphony or [128] * len(ranges)  # most notes a part starts at one instant
        self.fixed_parts = fixed_parts  # the parts are the prompt's: no more may be declared
        self.step_limit = step_limit  # steps in all (prompt included) the sampler will write at most
        self.key = key  # the key signature to write (None: the prompt's stays)
        self.tonal = key or scale_key  # the key whose scale and tonic the pitches lean to
        self.meter = meter  # (numerator, denominator); None: the model's choice, among COMMON_METERS
        self.pending: list[np.ndarray] = []  # steps to write right after the first time signature
        if key is not None:
            self.pending.append(key_signature_step(key))
        if tempo_bpm is not None:
            self.pending.append(tempo_step(tempo_bpm))
        self.no_key_changes, self.no_tempo_changes = key is not None, tempo_bpm is not None
        self.tempo_bpm = tempo_bpm  # quarters a minute; None: the model's choice
        self.meter_seen = False
        self.notes_seen = False
        self.meta_written: set[int] = set()  # key signature / tempo kinds already written
        self.bars_started = 0
        self.steps = 0
        self.pitch_bias = np.zeros(FIELD_SIZES["pitch"], dtype=np.float32)
        self.framing_bias = self.pitch_bias
        self.closing_pcs = closing_pcs
        self.shape = shape  # a mood's loudness and register, or None
        self.velocity_allowed = shape.velocity_allowed() if shape is not None else None
        self.register_biases: dict[int, np.ndarray] = {}
        if self.tonal is not None:  # a continuation's key (scale_key) is leaned to, its bars are not framed
            tonal = self.tonal
            outside = np.array([pc not in tonal.scale_pcs for pc in range(12)])
            self.pitch_bias[np.resize(outside, FIELD_SIZES["pitch"])] = -chromatic_penalty
            triad = np.zeros(12, dtype=np.float32)
            triad[[(tonal.tonic_pc + step) % 12 for step in (0, 4 if tonal.mode == "major" else 3, 7)]] = 1.0
            self.pitch_bias = self.pitch_bias + np.resize(TONIC_BIAS * (np.arange(12) == tonal.tonic_pc),
                                                          FIELD_SIZES["pitch"]).astype(np.float32)
            self.framing_bias = self.pitch_bias + np.resize(FRAMING_TRIAD_BIAS * triad * (key is not None),
                                                            FIELD_SIZES["pitch"])
        self.closing_bias = self.framing_bias
        if closing_pcs:  # the last bar prepares what follows: its chord, not the tonic's
            chord = np.zeros(12, dtype=np.float32)
            chord[list(closing_pcs)] = FRAMING_TRIAD_BIAS
            self.closing_bias = self.pitch_bias + np.resize(chord, FIELD_SIZES["pitch"])
        self.drums: set[int] = set()
        self.at_instant: dict[int, tuple[int, int]] = {}  # part -> (notes, highest pitch) at the last instant
        self.instant = (-1, -1)  # (bar, ticks into it) of the last note
        self.first_bar_ticks = 0
        self.onset_rate = DENSITY_ONSET_RATES.get(density or "")  # onsets per beat to aim for, or None
        self.gap_beats = DENSITY_GAPS.get(density or "", (None, KEEP_MOVING_BEATS))  # shortest, longest gap
        self.density_asked = density in DENSITY_GAPS
        self.bar_start_ticks, self.bar_ticks_now = 0, 0  # where the current bar starts, and its length
        self.last_onset_ticks: int | None = None  # absolute tick of the latest note's start
        self.sounding_until = 0  # absolute tick where the notes so far have all ended
        # what allowed() answered since the last step (it is asked the same again within a step: the grid's and
        # the sampler's questions about a note's position); cleared by advance()
        self._answers: dict[tuple[object, ...], np.ndarray | None] = {}
        self._part_limits: tuple[frozenset[int], np.ndarray, np.ndarray] | None = None  # drums, polyphony, top

    def _full(self, part: int) -> bool:
        """No further note of ``part`` fits at the current instant (its polyphony or its range is used up)."""
        count, top = self.at_instant.get(part, (0, -1))
        _low, high = self._range(part)
        return count >= (self.polyphony[part] if part < len(self.polyphony) else FREE_POLYPHONY) or top >= high

    def _range(self, part: int) -> tuple[int, int]:
        return DRUM_RANGE if part in self.drums else self.ranges[part] if part < len(self.ranges) else FREE_RANGE

    def _same_instant(self, chosen: dict[str, int], grammar: Grammar) -> bool:
        at = chosen["position"] * FINE + chosen["position_fine"]
        return (self.bars_started, at) == self.instant and grammar.last_order[0] == NOTE_ORDER

    def _parts_not_full(self, size: int) -> np.ndarray:
        """:meth:`_full` of every part at once, negated: the parts that may add a note at the current instant."""
        if self._part_limits is None or self._part_limits[0] != self.drums:
            parts = range(size)
            most = np.array([self.polyphony[p] if p < len(self.polyphony) else FREE_POLYPHONY for p in parts])
            self._part_limits = (frozenset(self.drums), most, np.array([self._range(p)[1] for p in parts]))
        _, most, highest = self._part_limits
        count, top = np.zeros(size, dtype=np.int64), np.full(size, -1, dtype=np.int64)
        for part, (notes, pitch) in self.at_instant.items():
            if part < size:
                count[part], top[part] = notes, pitch
        return ~((count >= most) | (top >= highest))

    def _kinds(self, size: int, grammar: Grammar) -> np.ndarray:
        mask = _ALL_KINDS.copy() if size == len(_ALL_KINDS) else np.ones(size, dtype=bool)
        mask[KIND["label"]] = False  # the request's labels are all in the prompt
        if self.fixed_parts or len(grammar.parts) >= MAX_FREE_PARTS:
            mask[KIND["part"]] = False
        if self.bars_started and not self.meter_seen:  # the first bar states its meter at once
            return np.arange(size) == KIND["time_signature"]
        if self.meter_seen:
            mask[KIND["time_signature"]] = False
        for meta, fixed in ((KIND["key_signature"], self.no_key_changes), (KIND["tempo"], self.no_tempo_changes)):
            if fixed or self.notes_seen or meta in self.meta_written:
                mask[meta] = False
        if self.bars_started >= self.bars:
            mask[KIND["bar"]] = False
        else:
            mask[KIND["eos"]] = False
        if self.step_limit is not None and self.steps + self._steps_owed() >= self.step_limit:
            mask[[KIND["note"], KIND["key_signature"], KIND["tempo"]]] = False  # the budget is for what is owed
        elif self.meter_seen and self._silent_bar():
            mask[[KIND["bar"], KIND["eos"]]] = False  # no bar of silence: something starts or sounds in each
        elif ((longest := self._gap_limits()[1]) is not None and self.last_onset_ticks is not None
              and self.bar_start_ticks + self.bar_ticks_now - self.last_onset_ticks > longest):
            mask[[KIND["bar"], KIND["eos"]]] = False  # the density asked needs another onset in this bar
        if self._no_room_left(grammar):
            mask[KIND["note"]] = False
            mask[KIND["eos"] if self.bars_started >= self.bars else KIND["bar"]] = True
        return mask

    def _steps_owed(self) -> int:
        """Steps the budget keeps for the end: the bar lines still to come, the last bar's chord (every part's
        notes at once, at most :data:`FINAL_CHORD_STEPS`) until that bar has begun, and the end. A dense piece
        once spent the budget before its last bar and ended on two violins."""
        if self.bars_started >= self.bars:
            return 2
        return self.bars - self.bars_started + min(sum(self.polyphony), FINAL_CHORD_STEPS) + 2

    def _no_room_left(self, grammar: Grammar) -> bool:
        """Whether the current instant is full and the density asked allows no later onset in the bar: then
        the bar is over (a note there could only come a few ticks after the instant, off every grid: such
        notes came in runs, a chord struck again and again a tick apart)."""
        moving_on = self._moving_on("position", {}, grammar, FIELD_SIZES["position"])
        return moving_on is not None and self.onsets_left(moving_on) is False

    def onsets_left(self, positions: np.ndarray) -> bool | None:
        """Whether the density asked allows a new note at one of ``positions`` (a mask of the bar's coarse
        positions) before the bar line; None where no density is asked or no bar has begun."""
        size = len(positions)
        gap = self._gap_allowed(size, chord=False)
        if gap is None or not self.bar_ticks_now:
            return None
        return bool(np.count_nonzero(positions & gap & (_cells(size) < self.bar_ticks_now)))

    def _gap_limits(self) -> tuple[float | None, float | None]:
        """The density's shortest and longest gap between onsets, in ticks (None: no limit); where no density
        is asked, the longest is :data:`KEEP_MOVING_BEATS`. Neither holds in the last bar, where the final chord
        is held: a lively piece's density kept its sixteenths running to the last one and stopped on the bar's
        last off-beat, as if cut off."""
        if self.meter is None:
            return None, None
        beat = beat_ticks(self.meter)
        low, high = self.gap_beats
        if self.bars_started >= self.bars:
            high = None
        # never shorter than the shortest value playable at the tempo (a high density in 3/8, whose beat is an
        # eighth, asked for gaps under a sixteenth: 32nd notes at 155 bpm, 0.048 s a note)
        playable = shortest_gap_ticks(self.tempo_bpm, len(self.ranges), self.sung)
        return (None if low is None else low * beat), (None if high is None else max(high * beat, playable))

    def _gap_allowed(self, size: int, chord: bool = True) -> np.ndarray | None:
        """Coarse positions of a new note whose gap after the latest onset the density allows (``chord``:
        the latest onset's own position too, for another note of its chord)."""
        shortest, longest = self._gap_limits()
        if (shortest is None and longest is None) or self.last_onset_ticks is None:
            return None
        gaps = _cells(size) + (self.bar_start_ticks - self.last_onset_ticks)
        ok = gaps >= 0
        if shortest is not None:
            ok &= ((gaps == 0) & chord) | (gaps >= shortest - FINE)
            if self.bars_started == self.bars - 1 and self.bar_ticks_now:
                # the bar before the last: only onsets from which the final chord's downbeat stays reachable in
                # gaps the density allows (a piece's last onset came a quarter of a beat before the bar line, and
                # the final chord came late)
                ok &= (gaps == 0) | _chain_reaches(self.bar_ticks_now - _cells(size), shortest, longest)
        if longest is not None:
            ok &= gaps <= longest
        return ok

    def _silent_bar(self) -> bool:
        started = self.last_onset_ticks is not None and self.last_onset_ticks >= self.bar_start_ticks
        return not started and self.sounding_until <= self.bar_start_ticks

    def allowed(self, field: str, chosen: dict[str, int], grammar: Grammar) -> np.ndarray | None:
        """Extra limits on ``field`` (True = allowed), or None for none. The array may be shared: do not change
        it (answers are kept until the next step, and asked again: the sampler's and the rules' questions)."""
        key = (field, *chosen.items(), grammar.position, grammar.bar_length, grammar.last_order, len(grammar.parts),
               id(grammar))
        if key in self._answers:
            return self._answers[key]
        answer = self._allowed(field, chosen, grammar)
        if answer is not None:
            answer.setflags(write=False)
        self._answers[key] = answer
        return answer

    def _allowed(self, field: str, chosen: dict[str, int], grammar: Grammar) -> np.ndarray | None:
        size = grammar.sizes[field]
        if self.pending and self.meter_seen:  # the requested key signature and tempo come first, at the start
            return only_value(size, int(self.pending[0][F[field]]))
        if field == "kind":
            return self._kinds(size, grammar)
        kind = chosen.get("kind")
        if kind == KIND["bar"] and field in ("position", "position_fine"):
            lengths = [bar_ticks(self.meter)] if self.meter else sorted({bar_ticks(m) for m in COMMON_METERS})
            if field == "position":
                return _values_in(size, tuple(t // FINE for t in lengths))
            return np.isin(chosen["position"] * FINE + np.arange(size), lengths)
        if kind == KIND["time_signature"] and field in ("value", "value_fine"):
            meters = [self.meter] if self.meter else [m for m in COMMON_METERS if bar_ticks(m) == grammar.bar_length]
            if field == "value":
                return _values_in(size, tuple(m[0] for m in meters))
            return _values_in(size, tuple(m[1].bit_length() - 1 for m in meters if m[0] == chosen["value"]))
        if kind == KIND["tempo"] and field == "value":  # a tempo the model chooses stays playable
            return (np.arange(size) >= MODEL_TEMPO_BPM[0]) & (np.arange(size) < MODEL_TEMPO_BPM[1])
        if kind == KIND["eos"] and field in ("position", "position_fine"):  # the end fills the last bar
            end = grammar.bar_length
            return only_value(size, end // FINE if field == "position"
                              else end % FINE if chosen["position"] == end // FINE else 0)
        if kind == KIND["note"] and field == "position":
            moving_on = self._moving_on(field, chosen, grammar, size)
            gap = self._gap_allowed(size, chord=moving_on is None)
            if gap is None or moving_on is None:
                return gap if moving_on is None else moving_on
            return moving_on & gap if (moving_on & gap).any() else moving_on
        if kind == KIND["note"] and field == "position_fine":
            moving_on = self._moving_on(field, chosen, grammar, size)
            gap = self._gap_allowed_fine(chosen, size)
            if gap is None or moving_on is None:
                return gap if moving_on is None else moving_on
            return moving_on & gap if (moving_on & gap).any() else moving_on
        if kind == KIND["note"] and field == "velocity" and self.velocity_allowed is not None:
            return self.velocity_allowed
        if kind == KIND["note"] and field == "part" and self._same_instant(chosen, grammar):
            return self._parts_not_full(size)
        if kind == KIND["note"] and field == "pitch":
            part = chosen["part"]
            low, high = self._range(part)
            mask = np.zeros(size, dtype=bool)
            mask[max(low, 0):min(high, size - 1) + 1] = True
            if self._same_instant(chosen, grammar) and grammar.last_order[1] == part:
                mask[: grammar.last_order[2] + 1] = False  # never two notes of one pitch at one instant in a part
                if part < len(self.polyphony) and self.polyphony[part] == 2:  # a double stop, or a hand's two notes
                    mask[grammar.last_order[2] + MAX_DOUBLE_STOP_SEMITONES + 1:] = False
            return mask
        return None

    def redirect(self, field: str, chosen: dict[str, int]) -> tuple[int, int] | None:
        """In the last bar, where the model would start a new bar the piece ends instead (without this the
        model, denied its bar line, fills the bar's last instants with notes it finds unlikely)."""
        if field == "kind" and self.bars_started >= self.bars:
            return KIND["bar"], KIND["eos"]
        return None

    def _gap_bias(self, size: int) -> np.ndarray | None:
        """A bias on a new note's coarse position toward the gap after the latest onset that the asked density
        implies (one beat / onsets per beat): a quadratic penalty in log2 of the ratio; a note at the latest
        instant (a chord) is not penalised."""
        if self.onset_rate is None or self.last_onset_ticks is None or self.meter is None:
            return None
        beat = beat_ticks(self.meter)
        gaps = _cells(size) + (self.bar_start_ticks - self.last_onset_ticks)
        return gap_bias(gaps, beat / self.onset_rate, DENSITY_WEIGHT, DENSITY_FLOOR)

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        """Added to the field's logits (natural-log units), or None."""
        if field == "position" and chosen.get("kind") == KIND["note"]:
            return self._gap_bias(FIELD_SIZES["position"])
        if field == "kind" and self.onset_rate is not None and self.last_onset_ticks is not None and self.meter:
            # a bar line now leaves the rest of the bar without onsets: as costly as that gap
            gap = self.bar_start_ticks + self.bar_ticks_now - self.last_onset_ticks
            wanted = beat_ticks(self.meter) / self.onset_rate
            if gap > wanted:
                out = np.zeros(FIELD_SIZES["kind"], dtype=np.float32)
                out[KIND["bar"]] = -min(DENSITY_WEIGHT * np.log2(gap / wanted) ** 2, DENSITY_FLOOR)
                return out
        shaped = self.tonal is not None or self.closing_pcs
        if field == "pitch" and shaped and chosen.get("part") not in self.drums:
            base = self.closing_bias if self.bars_started >= self.bars else (
                self.framing_bias if self.bars_started <= 1 else self.pitch_bias)
            return base + self._register(chosen["part"]) if self.shape is not None else base
        if field == "pitch" and self.shape is not None and chosen.get("part") not in self.drums:
            return self._register(chosen["part"])
        return None

    def _gap_allowed_fine(self, chosen: dict[str, int], size: int) -> np.ndarray | None:
        """Within the chosen coarse position, the fine offsets the density allows (the latest onset's own,
        for a chord, or none too close after it)."""
        shortest, longest = self._gap_limits()
        if (shortest is None and longest is None) or self.last_onset_ticks is None:
            return None
        gaps = _fines(size) + (self.bar_start_ticks + chosen["position"] * FINE - self.last_onset_ticks)
        ok = (gaps == 0) | (gaps >= (shortest or 0) - FINE)
        return ok & (gaps <= longest) if longest is not None else ok

    def _moving_on(self, field: str, chosen: dict[str, int], grammar: Grammar, size: int) -> np.ndarray | None:
        """When every part that may still come at the current instant is full, only later positions."""
        if self.instant[0] != self.bars_started:
            return None
        parts = len(grammar.parts)
        if grammar.last_order[1] >= 0 and all(self._full(p) for p in range(grammar.last_order[1], parts)):
            now = self.instant[1]
            if field == "position":
                return _cells(size) > now - FINE + 1
            return _fines(size) > now - chosen["position"] * FINE
        return None

    def _register(self, part: int) -> np.ndarray:
        """The mood's register bias for ``part``: moved with the mood, but for the bass line of an ensemble
        (its lowest part), which keeps the harmony's floor where the instrument sits (a calm or joyful
        quartet's cello was drawn up to middle C, a sad one's down to G2: the real quartets' lowest line
        lies at 47-53), and for the ensemble's other bass instruments, those whose range is
        :data:`BASS_REACH`'s (an orchestra's cellos and bassoons: a calm orchestra's cellos sat at MIDI 62-67 over
        basses doubling them an octave below, the whole harmony an octave above its floor)."""
        if part not in self.register_biases:
            assert self.shape is not None
            pitched = [p for p in range(len(self.ranges)) if p not in self.drums]
            low, high = self._range(part)
            bass = len(pitched) > 1 and (part == max(pitched, key=lambda p: (-self._range(p)[0], p))
                                         or (low <= BASS_REACH[0] and high <= BASS_REACH[1]))
            self.register_biases[part] = self.shape.register_bias(*self._range(part), moved=not bass)
        return self.register_biases[part]

    def advance(self, step: np.ndarray) -> None:
        self.steps += 1
        self._answers.clear()
        kind = int(step[F["kind"]])
        if kind == KIND["part"] and step[F["value_fine"]] == 1:
            self.drums.add(int(step[F["part"]]))
        elif kind == KIND["time_signature"]:
            self.meter_seen = True
            if self.meter is None:  # the model's choice holds for the whole piece
                self.meter = (int(step[F["value"]]), 1 << int(step[F["value_fine"]]))
        elif kind == KIND["bar"]:
            self.bars_started += 1
            self.bar_start_ticks += self.bar_ticks_now
            self.bar_ticks_now = int(step[F["position"]]) * FINE + int(step[F["position_fine"]])
        elif kind == KIND["note"]:
            if not self.notes_seen and self.tempo_bpm is None:  # no tempo follows a note: the piece plays at 120
                self.tempo_bpm = DEFAULT_TEMPO_BPM
            self.notes_seen = True
            instant = (self.bars_started, int(step[F["position"]]) * FINE + int(step[F["position_fine"]]))
            self.last_onset_ticks = self.bar_start_ticks + instant[1]
            length = step_length_ticks(step)
            self.sounding_until = max(self.sounding_until, self.last_onset_ticks + length)
            if instant != self.instant:
                self.instant, self.at_instant = instant, {}
            part, pitch = int(step[F["part"]]), int(step[F["pitch"]])
            count, top = self.at_instant.get(part, (0, -1))
            self.at_instant[part] = (count + 1, max(top, pitch))
        elif kind == KIND["tempo"]:
            self.tempo_bpm = step_bpm(step)
        if kind in (KIND["key_signature"], KIND["tempo"]):
            self.meta_written.add(kind)
            self.pending = [p for p in self.pending if int(p[F["kind"]]) != kind]


class Stacked:
    """A constraint with more rules on top (the part-writing rules, a reference's motif bias): masks intersect (a
    rule that would leave nothing the grammar allows is skipped), biases add; the first constraint's redirects
    hold."""

    def __init__(self, base: Any, *more: Any) -> None:
        self.base, self.more = base, more

    def allowed(self, field: str, chosen: dict[str, int], grammar: Any) -> np.ndarray | None:
        """The masks intersected. A rule is skipped when what it leaves the grammar forbids, not only when it
        leaves nothing: the sampler drops a mask the grammar cannot meet, and with it every rule. (A sad lead
        sheet's plan left only the current instant, where only the chord part could add a note; the rules
        barred that part, the sampler fell back to the grammar alone and the tune struck one note 755 times at
        that instant, until the step budget ended the piece two bars short.)"""
        mask = self.base.allowed(field, chosen, grammar)
        legal: np.ndarray | None = None
        for rule in self.more:
            extra = rule.allowed(field, chosen, grammar)
            if extra is None:
                continue
            both = extra if mask is None else mask & extra
            if legal is None:
                legal = grammar.allowed(field, chosen)
            if np.count_nonzero(both[:len(legal)] & legal[:len(both)]):
                mask = both
        return mask

    def redirect(self, field: str, chosen: dict[str, int]) -> tuple[int, int] | None:
        return self.base.redirect(field, chosen)

    def bias(self, field: str, chosen: dict[str, int]) -> np.ndarray | None:
        total = self.base.bias(field, chosen)
        for rule in self.more:
            extra = rule.bias(field, chosen)
            if extra is not None:
                total = extra if total is None else total + extra
        return total

    def advance(self, step: np.ndarray) -> None:
        self.base.advance(step)
        for rule in self.more:
            rule.advance(step)
