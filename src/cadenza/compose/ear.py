"""The ear: a piece is written phrase by phrase, and a phrase whose planned cadence is not heard is written
again — "a trial-and-error process … corrected with our musical ear".

After each phrase (up to the bar line after its arrival), the music so far is decoded and ``listen`` hears
its cadences; when none lands on the phrase's arrival bar, the phrase is sampled afresh (another seed) up to
:data:`EAR_TRIES` times in all, and the first attempt that is heard — else the one whose arrival sounds most
like the planned chord — is kept. A composer mends a cadence, not the whole phrase: where the best attempt's
tune has no fault, only its last :data:`CADENCE_BARS` bars (the approach and the arrival) are written again,
after its opening (in a four-bar phrase, half the time of a whole one). The last phrase is judged on its final
bar (the tonic chord the rules write must be heard as a cadence, so the bar before must lead to it), that
chord held to the end as the piece will be written. The rules (:mod:`cadenza.compose.rules`) are rebuilt for
every attempt and follow the music so far, so each attempt starts from the same state; the music is judged as
it will be written (``finish``: the parts' polyphony and lines applied).

The ear also hears the phrase's tune (the top line of its highest part, or of the part that carries it: a
song's voice, whose accompaniment may lie higher; :func:`melody_faults`): one that stays
inside a third (it goes nowhere) or leaps more often than it steps (a random walk, not a line) is a fault, and
so is a contrasting phrase (:func:`cadenza.compose.plan.climax_phrase`) that does not rise above everything
before it (it carries the tune's high point). An attempt with fewer faults is preferred the same way — a
phrase is kept at once when its cadence is heard and its tune has no fault, and a tune's faults alone earn it
one more attempt (:data:`TUNE_TRIES`), not two: each costs a phrase's time. A phrase that strikes on fewer than
half its beats (:func:`off_the_beats`: every note a sixteenth late) is a fault too.

Where a critic was fitted for the request's ensemble and style (:mod:`cadenza.listen.critic`: a learned
real-versus-generated classifier), it hears the phrase too: a phrase it finds less real than its floor (the
quarter of the model's own phrases it found least real) counts as one more fault, and among attempts alike
in cadence and faults the one it finds more real is kept (before the arrival's match to the planned chord).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cadenza.compose.finish import decode_piece, hold_final_chord
from cadenza.compose.plan import PHRASE_BARS, CadencePlan, climax_phrase, phrase_arrivals
from cadenza.listen import harmony
from cadenza.listen.critic import Critic, realness
from cadenza.listen.features import View, skyline
from cadenza.score.model import Metadata, Score
from cadenza.score.ops import slice_bars
from cadenza.tokens.events import FIELDS, FINE, KIND, F

EAR_TRIES = 3  # attempts per phrase at most (the first heard is kept)
TUNE_TRIES = 2  # attempts at most for a tune's faults once the cadence is heard (each costs a phrase's time)
CADENCE_BARS = 2  # an unheard cadence is written again from this many bars before the arrival's end
MIN_TUNE_RANGE = 5  # semitones a phrase's tune spans at least (real chorale phrases: p10 5, median 9)
MIN_TUNE_STEPS = 0.35  # share of its moves (repeats left out) that are steps, at least (real piano p10: 0.43)
#: share of a phrase's beats on which some part strikes, at least: a phrase below it is displaced off its beats (a
#: fault). In the first 16 bars of the craft pool's real works the least is 0.62 (13 quartets), 0.74 (15 sonatas,
#: 20 Lieder), 0.70 (20 folk tunes); of our 64 pieces one piano piece struck 4% of its beats, every note a
#: sixteenth after one, and songs 25% and 41% (the model's pop-piano displacement)
MIN_BEATS_STRUCK = 0.5

#: continue a prefix with a seed, stopping where asked: (steps, the cadence plan the rules followed, or None)
Generate = Callable[[np.ndarray, int, Callable[[np.ndarray], bool] | None], tuple[np.ndarray, CadencePlan | None]]


def bars_in(steps: np.ndarray) -> int:
    return int((steps[:, F["kind"]] == KIND["bar"]).sum())


def through_bar_line(steps: np.ndarray, bar: int) -> np.ndarray:
    """``steps`` up to and including the bar line that opens bar ``bar`` (0-based)."""
    return steps[:int(np.flatnonzero(steps[:, F["kind"]] == KIND["bar"])[bar]) + 1]


def melody_faults(score: Score, first_bar: int, climax: bool = False, view: View | None = None,
                  tune_part: int | None = None) -> int:
    """Faults of the tune (the top line of the highest part, or of ``tune_part`` where the ensemble names the part
    that carries it) from bar ``first_bar`` (0-based) to the end: 1 when it spans less than
    :data:`MIN_TUNE_RANGE` semitones, 1 when fewer than :data:`MIN_TUNE_STEPS` of its moves are steps, and with
    ``climax`` 1 when it does not rise above every note of the tune before it. ``view``: the score's View, where
    the caller has one already."""
    starts = score.bar_starts()
    if not 0 <= first_bar < len(starts):
        return 0
    notes = score.notes
    top = (view or View(score)).top_voice if tune_part is None else skyline(notes[notes["part"] == tune_part])
    mine = top["onset_ticks"] >= starts[first_bar]
    pitches = top["pitch"][mine].astype(int)
    if len(pitches) < 3:
        return 0
    moves = np.diff(pitches)
    moves = moves[moves != 0]
    narrow = int(pitches.max() - pitches.min() < MIN_TUNE_RANGE)
    leaping = int(len(moves) >= 4 and float((np.abs(moves) <= 2).mean()) < MIN_TUNE_STEPS)
    before = top["pitch"][~mine]
    low_climax = int(climax and len(before) > 0 and pitches.max() <= before.max())
    return narrow + leaping + low_climax


def critic_verdict(score: Score, first_bar: int, last_bar: int, critic: Critic) -> tuple[int, float]:
    """The critic on bars ``first_bar``..``last_bar`` (0-based, inclusive): (-1 when it finds them less real
    than its floor, else 0; how real, 0..1)."""
    phrase = slice_bars(score, first_bar, min(last_bar + 1, score.bar_count))
    odds = realness(phrase, critic)
    return -int(odds < critic.floor), float(1 / (1 + np.exp(-odds)))


def heard_arrival(steps: np.ndarray, arrival_bar: int, plan: CadencePlan,
                  finish: Callable[[Score], Score] = lambda score: score,
                  first_bar: int | None = None, climax: bool = False,
                  critic: Critic | None = None, tune_part: int | None = None) -> tuple[bool, int, float, float]:
    """Whether ``listen`` hears a cadence on ``arrival_bar`` (0-based) of the music in ``steps`` (which ends with
    the bar line after it), minus the faults of the tune from ``first_bar`` on (:func:`melody_faults`; None:
    not judged) and the critic's (:func:`critic_verdict`, from ``first_bar`` to the arrival), how real the
    critic finds the phrase (0..1; 0.5 without a critic) and how well the arrival's first beat matches the
    planned chord (0..1; on the last bar, times the share of the parts sounding in it)."""
    body = steps[:-1] if steps[-1][F["kind"]] in (KIND["bar"], KIND["eos"]) else steps
    bar_lines = np.flatnonzero(body[:, F["kind"]] == KIND["bar"])
    if not len(bar_lines):
        return False, 0, 0.5, 0.0
    length = int(body[bar_lines[-1], F["position"]]) * FINE + int(body[bar_lines[-1], F["position_fine"]])
    end = np.zeros((1, len(FIELDS)), dtype=body.dtype)
    end[0, F["kind"]], end[0, F["position"]], end[0, F["position_fine"]] = KIND["eos"], length // FINE, length % FINE
    score = finish(decode_piece(np.concatenate([body, end]), Metadata()))
    if arrival_bar == plan.bars - 1:  # the piece's last chord is held to its end when written: heard so
        score = hold_final_chord(score)
    if not score.note_count:
        return False, 0, 0.5, 0.0
    view = View(score)
    chords = harmony.beat_chords(view)
    heard = {int(c.split("@")[1]) for c in harmony.cadences(view, chords, plan.key.tonic_pc, plan.key.mode)}
    final = plan.final_chord(arrival_bar)
    wanted = plan.arrival_at(arrival_bar) or final
    starts = score.bar_starts()
    match = 0.0
    if wanted is not None and arrival_bar < len(starts):
        beat = (int(starts[arrival_bar]) + view.phase_ticks) // view.beat_ticks
        if beat < len(view.beat_chroma):
            chroma = view.beat_chroma[beat]
            total = chroma.sum()
            match = float(chroma[list(wanted.pcs)].sum() / total) if total else 0.0
        if final is not None:  # the last chord is the whole ensemble's: a part missing from it counts against
            start = int(starts[arrival_bar])
            ends = score.notes["onset_ticks"] + score.notes["duration_ticks"]
            sounding = score.notes["part"][(score.notes["onset_ticks"] <= start) & (ends > start)]
            match *= len(np.unique(sounding)) / max(len(score.parts), 1)
    faults = melody_faults(score, first_bar, climax, view, tune_part) + off_the_beats(score, first_bar) \
        if first_bar is not None else 0
    real = 0.5
    if critic is not None and first_bar is not None and first_bar <= arrival_bar < score.bar_count:
        fault, real = critic_verdict(score, first_bar, arrival_bar, critic)
        faults -= fault
    return score.bar_number(arrival_bar) in heard, -faults, real, match


def off_the_beats(score: Score, first_bar: int) -> int:
    """1 when fewer than :data:`MIN_BEATS_STRUCK` of the beats from bar ``first_bar`` (0-based) on have an onset
    of some part on them (the phrase is written a sixteenth or an eighth off its beats), else 0."""
    starts = score.bar_starts()
    if first_bar >= len(starts):
        return 0
    onsets = set(np.unique(score.notes["onset_ticks"]).tolist())
    ends = [*starts[1:].tolist(), score.length_ticks]
    beats = [t for b0, b1 in zip(starts[first_bar:].tolist(), ends[first_bar:], strict=True)
             for t in range(b0, b1, score.time_signature_at(b0).beat_ticks)]
    return int(bool(beats) and sum(t in onsets for t in beats) < MIN_BEATS_STRUCK * len(beats))


def sample_by_phrase(prompt: np.ndarray, total_bars: int, seed: int, generate: Generate,
                     finish: Callable[[Score], Score] = lambda score: score,
                     style: str | None = None, phrase_bars: int = PHRASE_BARS,
                     critic: Critic | None = None, tune_part: int | None = None,
                     intro_bars: int = 0) -> tuple[np.ndarray, dict[str, int]]:
    """Sample after ``prompt`` phrase by phrase. ``generate(prefix, seed, should_stop)`` continues a prefix and
    returns (steps, the cadence plan its rules followed; None: not known); ``critic``: the style's critic, if
    any; ``tune_part``: the part whose tune is heard (None: the highest); ``intro_bars``: bars before the first
    phrase (written with it). Returns the sequence and counts: phrases judged, attempts, phrases kept unheard,
    faults kept."""
    arrivals = [last for last, _ in phrase_arrivals(total_bars, phrase_bars, intro_bars)]
    steps = prompt
    counts = {"phrases": 0, "attempts": 0, "unheard": 0, "faults": 0}
    phrase = 0
    while True:
        done = bars_in(steps)
        arrival = next((a for a in arrivals if a >= done), total_bars - 1)  # the next phrase's arrival bar
        last = arrival >= total_bars - 1  # the last phrase: to the end
        stop_at = arrival + 2  # bar lines written: through the one that opens the bar after the arrival

        def should_stop(seq: np.ndarray, stop_at: int = stop_at) -> bool:
            return seq[-1][F["kind"]] == KIND["bar"] and bars_in(seq) >= stop_at

        # (whole, verdict), steps: an attempt the step budget ended early ranks below every whole one
        best: tuple[tuple[bool, tuple[bool, int, float, float]], np.ndarray] | None = None
        first_bar = max([a + 1 for a in arrivals if a < arrival] or [0])  # (the first phrase's: its introduction's)
        climax = climax_phrase(first_bar, total_bars, style, phrase_bars, intro_bars)
        for attempt in range(EAR_TRIES):
            start = steps
            if (best is not None and best[0][0] and not best[0][1][0] and best[0][1][1] == 0
                    and arrival - CADENCE_BARS >= first_bar and bars_in(best[1]) > arrival - CADENCE_BARS + 1
                    and len(again := through_bar_line(best[1], arrival - CADENCE_BARS + 1)) >= len(prompt)):
                start = again  # a good tune: its cadence again (never into the prompt: a continuation's primer,
                # and the tempo or key its new bars open with, stay as given)
            tried, plan = generate(start, seed + 7919 * phrase + 104729 * attempt, None if last else should_stop)
            counts["attempts"] += 1
            whole = bars_in(tried) >= (total_bars if last else stop_at)
            if not whole:
                verdict = (False, 0, 0.0, 0.0)  # not judged: the budget ended the piece inside the phrase
            else:
                if not last and tried[-1][F["kind"]] == KIND["eos"]:
                    tried = tried[:-1]
                verdict = (heard_arrival(tried, arrival, plan, finish, first_bar, climax, critic, tune_part)
                           if plan is not None else (True, 0, 0.5, 1.0))
            if best is None or (whole, verdict) > best[0]:
                best = ((whole, verdict), tried)
            if whole and verdict[0] and (verdict[1] == 0 or attempt + 1 >= TUNE_TRIES):
                break
        assert best is not None
        (whole, verdict), kept = best
        counts["phrases"] += 1
        counts["unheard"] += int(not verdict[0])
        counts["faults"] -= verdict[1]
        if not whole and not last:
            return kept, counts  # every attempt ran out of steps: the piece ends here
        if last:
            return kept, counts
        steps = kept
        phrase += 1
