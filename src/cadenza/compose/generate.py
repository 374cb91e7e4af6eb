"""Composing: a request becomes a prompt (bos, label tokens, the ensemble's parts, the meter), the model
samples under the grammar and the plan's constraints, and ``listen`` checks the result against the request.

With ``candidates`` above one, several pieces are sampled (seeds ``seed``, ``seed + 1``, …) and the one
whose measured labels match the request best is kept (ties: the more probable one under the model).
``continue_piece`` does the same after a primer: the primer's own labels, parts, meter and key condition
the continuation, and the primer is kept unchanged in front of it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.compose.cadence_bass import DominantBass
from cadenza.compose.chord_steps import PlannedChords
from cadenza.compose.climax import ClimaxReach
from cadenza.compose.constraints import (
    PlanConstraint,
    Stacked,
    dominant_triad,
    key_signature_step,
    tempo_step,
)
from cadenza.compose.contrast import RhythmContrast
from cadenza.compose.dances import DanceAccompaniment, dance_parts, planned_dance, with_dance
from cadenza.compose.double_stops import DoubleStops, bowed_parts, hand_parts
from cadenza.compose.ear import sample_by_phrase
from cadenza.compose.ensembles import (
    Voice,
    doubling_parts,
    line_over_chords,
    model_label,
    tune_part,
)
from cadenza.compose.finish import (
    block_chords,
    decode_piece,
    doubled_lines,
    fit_voices,
    hold_final_chord,
    written_parts,
)
from cadenza.compose.grid import NotationGrid, sung_parts
from cadenza.compose.guard import Check, Guarded, guard_index, guarded_sample, load_guard, originality_report
from cadenza.compose.harmony import HarmonyPlan
from cadenza.compose.intro import TuneWaits, with_intro
from cadenza.compose.keys import with_style_key
from cadenza.compose.lead_sheet import FullChords
from cadenza.compose.leading_tone import CadentialLeadingTone
from cadenza.compose.like import MotifBias, Reference, closeness, voices_of
from cadenza.compose.meters import with_style_meter
from cadenza.compose.mood import beat_tempo, mood_shape
from cadenza.compose.notation import compound_notation
from cadenza.compose.orchestration import (
    Orchestration,
    TimpaniTuning,
    describe_orchestration,
    orchestrated,
    playing_by_bar,
)
from cadenza.compose.plan import CadencePlan, phrase_bars_for, returns
from cadenza.compose.primer import ensemble_of_score, parts_merged, widened, without_trailing_changes, written_key
from cadenza.compose.registers import UnderTheTune, UsualRegister
from cadenza.compose.request import ComposeRequest, Key, Plan, parse_key, resolve
from cadenza.compose.returns import ThemeReturn, lifted_bars, restated_up
from cadenza.compose.rules import (
    KEY_HEARD_AFTER_BARS,
    WEAK_BEATS_FREE,
    VoiceRules,
    top_down_groups,
    written_top_down,
)
from cadenza.compose.style_epoch import with_style_epoch
from cadenza.compose.sung_lines import BassRepeats, SungRepeats, SungRuns
from cadenza.errors import UsageError
from cadenza.listen.analyse import analyse
from cadenza.listen.critic import critic_for
from cadenza.listen.labels import LABELS_BY_NAME, TONICS
from cadenza.model.adapter_spec import SHIPPED_MODEL as DEFAULT_MODEL_FOLDER
from cadenza.reports import ReportView
from cadenza.score.model import NOTE_DTYPE, TICKS_PER_QUARTER, Metadata, Score, TimeSignature, key_signature_name
from cadenza.tokens.events import (
    FINE,
    KIND,
    TokenizeError,
    encodable,
    encode,
    heard_chords,
    step_row,
)
from cadenza.tokens.labels import label_ids, label_vocabulary
from cadenza.versions import software_versions

log = logging.getLogger(__name__)
RETRY_HEAT = 0.15  # a resampling (after a copy or a repeat) runs this much hotter per attempt
ADHERENCE_LABELS = ("key", "mode", "meter", "ensemble", "density", "mood", "epoch", "tempo_class", "form", "composer")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Composition(ReportView):
    """A composed (or continued) piece: the Score, the report of how it was made and heard (the JSON that
    ``--json`` prints and ``*.cadenza.json`` holds) and, once written, the files. Read it by attribute
    (``piece.score``, ``piece.heard["key"]``, ``piece.originality["verdict"]``); ``piece["heard"]`` still works
    for scripts written against the report dicts of Cadenza 0.1."""

    score: Score
    report: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # format -> path ("piece", "report", "wav", ...)

    @property
    def request(self) -> dict[str, Any]:
        """What was asked (the request's fields that were given)."""
        return dict(self.report.get("request", {}))

    @property
    def plan(self) -> dict[str, Any]:
        """The plan the piece was written to: labels, bars, meter, key, cadences, harmony, returns."""
        return dict(self.report.get("plan", {}))

    @property
    def heard(self) -> dict[str, Any]:
        """What ``listen`` hears in the piece, blind to what was asked."""
        return dict(self.report.get("heard", {}))

    @property
    def adherence(self) -> dict[str, dict[str, Any]]:
        """Per asked label: asked, heard, met."""
        return dict(self.report.get("adherence", {}))

    @property
    def originality(self) -> dict[str, Any]:
        """The copy check against the training corpus: verdict, longest shared run, resamplings."""
        return dict(self.report.get("originality") or {})

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data, with the files when written (the Score left out)."""
        return {**self.report, **({"files": dict(self.files)} if self.files else {})}

    def __getitem__(self, key: str) -> Any:
        if key == "score":
            return self.score
        return self.to_json()[key]

    def __contains__(self, key: object) -> bool:
        return key == "score" or key in self.to_json()


@lru_cache(maxsize=4)
def _load(checkpoint: str, version: tuple[int, int, int, int]) -> tuple[Any, dict[str, Any], str, float]:
    """Cached by the folder and its files' versions (``version``: the weights' and the config's modification
    time and size), so a model retrained in place is loaded afresh."""
    from cadenza.model.checkpoint import load_checkpoint

    start = time.perf_counter()
    model, config = load_checkpoint(checkpoint)
    digest = hashlib.sha256((Path(checkpoint) / "model.safetensors").read_bytes()).hexdigest()[:16]
    return model, config, digest, time.perf_counter() - start


@lru_cache(maxsize=4)
def _load_adapted(checkpoint: str, version: tuple[int, int, int, int], adapter: str,
                  adapter_version: tuple[int, int, int, int]) -> tuple[Any, dict[str, Any], str, float]:
    """The base (from :func:`_load`'s cache) with a style adapter merged into a copy of its weights: cached by
    (checkpoint, adapter) and both their files' versions."""
    from cadenza.model.adapters import load_merged

    base, config, digest, load_s = _load(checkpoint, version)
    start = time.perf_counter()
    merged, _spec = load_merged(base, adapter, digest)
    return merged, config, digest, load_s + time.perf_counter() - start


def _version(folder: Path, names: tuple[str, str]) -> tuple[int, int, int, int]:
    try:
        first, second = (folder / names[0]).stat(), (folder / names[1]).stat()
        return first.st_mtime_ns, first.st_size, second.st_mtime_ns, second.st_size
    except OSError:
        return 0, 0, 0, 0  # the loader says what is missing


def load_model(checkpoint: str | Path | None = None, adapter: str | Path | None = None
               ) -> tuple[Any, dict[str, Any], str, float]:
    """(model, config, weights hash, seconds it took to load): the default model unless a folder is given; with
    ``adapter`` (a style adapter's folder), that adapter merged into a copy of the model's weights."""
    from cadenza.model.checkpoint import default_checkpoint

    folder = Path(checkpoint) if checkpoint else default_checkpoint()
    version = _version(folder, ("model.safetensors", "config.json"))
    if adapter is None:
        return _load(str(folder), version)
    return _load_adapted(str(folder), version, str(adapter),
                         _version(Path(adapter), ("adapter.safetensors", "adapter.json")))


def style_adapter(plan: Plan, checkpoint: str | Path | None) -> tuple[Path | None, dict[str, Any] | None]:
    """The style adapter the plan's labels choose among the model folder's (:func:`matching_adapter`), and what
    the report says of it: None, None where none matches or adapters are off (``CADENZA_ADAPTERS=off``)."""
    from cadenza.model.adapter_spec import adapters_enabled, matching_adapter

    folder = Path(checkpoint) if checkpoint else DEFAULT_MODEL_FOLDER
    found = matching_adapter(folder, {k: str(v) for k, v in plan.labels.items()})
    if found is None:
        return None, ({"used": None, "why": "style adapters turned off (CADENZA_ADAPTERS=off)"}
                      if not adapters_enabled() else None)
    where, spec = found
    valid = spec.training.get("valid", {}).get("nll_per_step")
    base = spec.training.get("base_valid", {}).get("nll_per_step")
    return where, {"used": spec.style, "folder": where.name, "rank": spec.rank, "alpha": spec.alpha,
                   "match": spec.match, **({"valid_nll": {"base": base, "adapter": valid}} if valid and base else {})}


def plan_prompt(plan: Plan) -> np.ndarray:
    """bos, the label tokens, the ensemble's parts and, if a meter is asked for, the first bar and its meter."""
    rows = [step_row("bos")]
    rows += [step_row("label", label=i) for i in label_ids(plan.model_labels)]
    for index, voice in enumerate(plan.ensemble.voices if plan.ensemble else ()):
        rows.append(step_row("part", part=index, value=voice.program, value_fine=int(voice.is_drum)))
    if plan.ensemble and plan.meter:
        ticks = plan.bar_ticks or 0
        rows.append(step_row("bar", position=ticks // FINE, position_fine=ticks % FINE))
        rows.append(step_row("time_signature", value=plan.meter[0], value_fine=plan.meter[1].bit_length() - 1))
    return np.array(rows)


def listen_blind(score: Score) -> dict[str, Any]:
    """What ``listen`` hears in the notes alone: without the title, composer and source, which would
    otherwise name the form, composer or epoch for it (a composed piece's title says what was asked)."""
    return analyse(score.replace(metadata=Metadata()))


def adherence(asked: dict[str, str], heard: dict[str, Any], planned: frozenset[str] = frozenset()
              ) -> dict[str, dict[str, Any]]:
    """Per requested label: what was asked, what listen hears, and whether they agree; ``planned``: the labels the
    plan chose rather than the request (their rows say ``"chosen_by": "plan"``)."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in asked.items():
        if name in ADHERENCE_LABELS:
            got = heard.get(name)
            out[name] = {"asked": value, "heard": got, "met": str(got) == str(value),
                         **({"chosen_by": "plan"} if name in planned else {})}
    return out


def new_bars_tempo(asked: str, score: Score, from_ticks: int) -> dict[str, Any]:
    """The adherence of ``tempo_class`` judged on the bars from ``from_ticks`` (the first bar starting there or
    after: a primer may end in a short bar) at the tempo they are written at (120 bpm where the score gives
    none, as ``listen`` assumes): a continuation's new bars, where ``listen`` hears the whole piece at its
    opening tempo, the primer's."""
    starts = score.bar_starts()
    first = int(starts[starts >= from_ticks][0]) if (starts >= from_ticks).any() else from_ticks
    before = [t for t in score.tempos if t.onset_ticks <= first]
    bpm = max(before, key=lambda t: t.onset_ticks).bpm if before else 120.0
    heard = LABELS_BY_NAME["tempo_class"].bucket(bpm)
    return {"asked": asked, "heard": heard, "met": heard == asked, "heard_in": f"the new bars, at {bpm:g} bpm"}


def _constraint(plan: Plan, voices: tuple[Voice, ...], step_limit: int, style: MotifBias | None,
                rules: bool, seed: int = 0, chord_steps: bool = False) -> tuple[Any, VoiceRules | None]:
    """The limits sampling works under — the plan's (PlanConstraint), the harmony plan's chord steps (for a
    model that reads them: ``chord_steps``), the part-writing rules, the returning theme and a reference's
    motifs — fresh for every call of the sampler (it follows the prompt first); and the part-writing rules
    alone (their cadence plan), None without them."""
    shape = mood_shape(*plan.valence_arousal) if plan.valence_arousal else None
    base = PlanConstraint(plan.bars, [(v.low, v.high) for v in voices], plan.key, plan.tempo_bpm,
                          plan.meter, [v.polyphony for v in voices], fixed_parts=bool(voices),
                          step_limit=step_limit, chromatic_penalty=shape.chromatic_penalty if shape else 3.0,
                          density=plan.labels.get("density"), closing_pcs=plan.closing_pcs, shape=shape,
                          scale_key=plan.scale_key, sung=sung_parts([v.program for v in voices]))
    more: list[Any] = []
    voice_rules = None
    if rules and voices:  # part writing, the cadence plan and the returning theme (see cadenza.compose.rules)
        roles = planned_dance(plan)  # a dance's accompaniment: (its bass, its chord parts), or None
        voice_rules = VoiceRules(base, [v.polyphony for v in voices], top_down_groups(voices), plan.bars,
                                 plan.key or plan.scale_key, close_on_tonic=plan.closes and not plan.closing_pcs,
                                 style=plan.labels.get("epoch"),
                                 harmony_seed=seed, chord_part=chord_part_of(plan), tune_part=tune_part(voices),
                                 doubled=frozenset(doubling_parts(voices)), phrase_bars=phrase_bars_of(plan),
                                 intro_bars=plan.intro_bars, figured=frozenset(roles[1]) if roles else frozenset())
        if plan.intro_bars:  # the accompaniment plays alone first (cadenza.compose.intro)
            more.append(TuneWaits(base, voice_rules.top, plan.intro_bars))
        if chord_steps:  # first: the bar's header is the plan's (cadenza.compose.chord_steps)
            more.append(PlannedChords(voice_rules, free_weak_beats=plan.labels.get("epoch") in WEAK_BEATS_FREE))
        if roles is not None:  # oom-pah-pah, before the other rules: where their masks
            # and its own meet nothing, its own hold (cadenza.compose.dances)
            playing = playing_by_bar(voices, plan.bars, seed, voice_rules.top) if orchestrated(voices) else None
            more.append(DanceAccompaniment(base, voice_rules, plan.labels["form"], *roles, playing=playing))
        if orchestrated(voices):  # the timpani's tuning before the rules' chord tones (cadenza.compose.orchestration)
            more.append(TimpaniTuning(base, voices))
        more += [NotationGrid(base), voice_rules]
        if voice_rules.chord_part is None:  # an authentic cadence's bass (cadenza.compose.cadence_bass; a lead
            # sheet's chords realise its chord symbols)
            more.append(dominant := DominantBass(base, voice_rules, voices[voice_rules.lowest].usual_low))
            more.append(CadentialLeadingTone(base, voice_rules, dominant))  # (cadenza.compose.leading_tone)
        else:  # a lead sheet's chords are struck whole (cadenza.compose.lead_sheet)
            more.append(FullChords(base, voice_rules))
        bowed, hands = bowed_parts(voices), hand_parts(voices)
        if bowed or hands:  # a string part's double stops now and then, a hand's chords not in a rush
            doubled = doubling_parts(voices)  # (cadenza.compose.double_stops)
            more.append(DoubleStops(base, bowed, max(i for i in range(len(voices)) if i not in doubled), hands))
        if len(base.sung) > 1:  # a choir's voices do not chant one pitch (cadenza.compose.sung_lines; a song's
            more.append(SungRepeats(base, base.sung))  # voice declaims its words on repeated notes)
        elif len(base.sung) == 1 and len(voices) > 1:  # a song's voice does not run in sixteenths
            more.append(SungRuns(base, next(iter(base.sung))))
        if len(hands) == len(voices) > 1:  # nor a solo keyboard's lower hand one bass note
            more.append(BassRepeats(base, min(hands, key=lambda i: voices[i].low)))
        epoch, size = plan.labels.get("epoch"), phrase_bars_of(plan)
        register = None
        if any(v.usual_low is not None or v.usual_high is not None for v in voices):  # usual registers
            # (a choir's upper voices, a piano's right hand: cadenza.compose.registers)
            more.append(register := UsualRegister.of(voices))
        if voice_rules.line_over_chords:  # a song's piano lies under the voice (cadenza.compose.registers)
            more.append(UnderTheTune(base, voice_rules.top, frozenset(range(len(voices))) - {voice_rules.top}))
        if orchestrated(voices):  # who plays in each phrase or bar (cadenza.compose.orchestration)
            more.append(Orchestration(base, voices, plan.bars, seed, voice_rules.top, rules=voice_rules))
        if voice_rules.tune_led:
            # a solo keyboard's or a string quartet's last return may come back an octave up, its register with it
            # (cadenza.compose.returns)
            lifts = len(hands) == len(voices) > 1 or len(bowed) == len(voices) > 1
            lifted = lifted_bars(plan.bars, seed, epoch, size, plan.intro_bars) if lifts else frozenset()
            under = frozenset(range(len(voices))) - {voice_rules.top} if voice_rules.ordered else frozenset()
            theme = ThemeReturn(base, plan.bars, style=epoch, phrase_bars=size, intro_bars=plan.intro_bars,
                                lifted=lifted, under=under)
            voice_rules.theme = theme  # a lead sheet's chords know where the returning melody may come
            more.append(theme)
            if register is not None and lifted:
                register.lifted = (voice_rules.top, theme)
        more.append(RhythmContrast(base, plan.bars, style=epoch, phrase_bars=size, intro_bars=plan.intro_bars))
        if voice_rules.tune_led:  # the contrasting phrase's high point, planned (cadenza.compose.climax)
            more.append(ClimaxReach(base, voice_rules.top, plan.bars, style=epoch, phrase_bars=size,
                                    intro_bars=plan.intro_bars))
    elif voices:  # a continuation or revision, without the part-writing rules: its notes on the grid still
        # (cadenza.compose.grid; a continued folk lead sheet in 12/8 struck its final chord 35 and 56 ticks after
        # the downbeat, and its MusicXML, quantized, wrote the piece's dotted values as sextuplets)
        more.append(NotationGrid(base))
    if style is not None:
        more.append(style)
    return (Stacked(base, *more) if more else base), voice_rules


def _in_compound_meter(plan: Plan, best: _Best) -> tuple[Score, dict[str, Any], dict[str, Any], str] | None:
    """The piece written in the compound meter of its beats' triplets (:mod:`cadenza.compose.notation`), with what
    listen hears in it, its adherence and a line for the report; None where the plan's meter or tempo was asked
    (a tempo is asked in quarter notes, which the compound meter's dotted quarters would change), where it is not
    in triplets, or where listen would lose a label it heard (it reads the tempo in quarter notes: a mood carried
    by the tempo may be heard otherwise)."""
    tempo_asked = plan.tempo_bpm is not None and "tempo_bpm" not in plan.implied
    if not plan.meter or "meter" not in plan.implied or tempo_asked:
        return None
    compound = compound_notation(best.score)
    if compound is None:
        return None
    heard = listen_blind(compound)
    written = {"meter": str(compound.time_signatures[0])}  # the plan's own choices, as written now
    if "tempo_class" in plan.labels:
        written["tempo_class"] = LABELS_BY_NAME["tempo_class"].bucket(compound.tempos[0].bpm)
    met = adherence({**plan.labels, **written}, heard, plan.implied_labels)
    if any(row["met"] and not met[name]["met"] for name, row in best.adherence.items()):
        return None
    return compound, heard, met, (f"written in {written['meter']}, not the {plan.meter[0]}/{plan.meter[1]} drawn for "
                                  f"its style: its beats run in triplets")


def _sample_one(model: Any, prompt: np.ndarray, plan: Plan, request: ComposeRequest, seed: int,
                voices: tuple[Voice, ...], progress: Progress | None,
                style: MotifBias | None = None, rules: bool = False,
                ear: dict[str, int] | None = None, harmony_seed: int | None = None) -> tuple[np.ndarray, float | None]:
    """One piece after ``prompt``; with ``rules``, written phrase by phrase under the ear (see
    :mod:`cadenza.compose.ear`), whose counts (phrases judged, attempts, phrases left unheard, tune faults
    kept) add to ``ear``."""
    from cadenza.model.sample import SampleConfig, generate

    # the step budget: room for busy bars (8 onsets of every voice's fullest chord), so it only stops a
    # runaway model and never leaves the last bars of a dense piece empty
    notes_per_bar = 8 * max(sum(v.polyphony for v in voices), 6)
    step_limit = len(prompt) + plan.bars * notes_per_bar + 64
    bars_done = [0]
    first_note: list[float] = []
    start = time.perf_counter()

    def on_step(step: np.ndarray) -> None:
        if step[0] == KIND["note"] and not first_note:
            first_note.append(time.perf_counter() - start)
        if step[0] == KIND["bar"]:
            bars_done[0] += 1
            if progress:
                progress(min(bars_done[0], plan.bars), plan.bars)

    def continue_from(prefix: np.ndarray, sample_seed: int,
                      should_stop: Callable[[np.ndarray], bool] | None) -> tuple[np.ndarray, CadencePlan | None]:
        config = SampleConfig(max_steps=max(step_limit - len(prefix), 1), temperature=request.temperature,
                              top_p=request.top_p, seed=sample_seed, guidance=request.guidance)
        constraint, voice_rules = _constraint(plan, voices, step_limit, style, rules,
                                              seed if harmony_seed is None else harmony_seed,
                                              chord_steps=getattr(model, "chord_events", False))
        bars_done[0] = int((prefix[:, 0] == KIND["bar"]).sum())
        steps = generate(model, prefix, config, len(label_vocabulary()), should_stop=should_stop,
                         constraint=constraint, on_step=on_step)
        return steps, voice_rules.cadences if voice_rules is not None else None

    if rules and voices:
        kept = dance_parts(plan)  # a dance's accompaniment keeps its rests as written
        steps, counts = sample_by_phrase(prompt, plan.bars, seed, continue_from,
                                         lambda score: written_parts(score, voices, kept),
                                         style=plan.labels.get("epoch"), phrase_bars=phrase_bars_of(plan),
                                         intro_bars=plan.intro_bars,
                                         critic=critic_for(plan.ensemble.name if plan.ensemble else None,
                                                           plan.labels.get("epoch")),
                                         tune_part=0 if line_over_chords([v.polyphony for v in voices]) else None)
        if ear is not None:
            for name, count in counts.items():
                ear[name] = ear.get(name, 0) + count
    else:
        steps, _ = continue_from(prompt, seed, None)
    return steps, first_note[0] if first_note else None


@dataclass
class _Best:
    score: Score
    heard: dict[str, Any]
    adherence: dict[str, dict[str, Any]]
    seed: int
    candidates: list[dict[str, Any]]
    guarded: Guarded


def _best_of(model: Any, prompt: np.ndarray, plan: Plan, request: ComposeRequest, voices: tuple[Voice, ...],
             finish: Callable[[np.ndarray, int], Score], progress: Progress | None,
             reference: Reference | None, tonic_pc: int | None, index: Any, new_from_ticks: int = 0,
             checks: tuple[Check, ...] = (), rules: bool = False, tempo_of_new_bars: bool = False) -> _Best:
    """Sample ``request.candidates`` pieces (seeds ``request.seed``, +1, …), each kept clear of copies by the
    originality guard (``index``; see :mod:`cadenza.compose.guard`), and keep the one whose measured labels
    match ``plan.labels`` best (ties: the more probable under the model). ``finish`` turns a sampled
    sequence into the Score to judge. ``tempo_of_new_bars``: the tempo is judged on the bars from
    ``new_from_ticks`` (:func:`new_bars_tempo`), not the piece's opening."""
    best: tuple[tuple[float, float], _Best] | None = None
    rows: list[dict[str, Any]] = []
    for k in range(request.candidates):
        seed = request.seed + k
        first_notes: list[float] = []
        ear: dict[str, int] = {}

        def sample(prefix: np.ndarray, sample_seed: int, attempt: int = 0,
                   first_notes: list[float] = first_notes, ear: dict[str, int] = ear,
                   candidate_seed: int = seed) -> np.ndarray:
            style = reference.motif_bias(tonic_pc, len(voices)) if reference else None
            hotter = replace(request, temperature=min(request.temperature * (1 + RETRY_HEAT * attempt), 3.0))
            steps, first_note_s = _sample_one(model, prefix, plan, hotter, sample_seed, voices, progress, style,
                                              rules, ear, harmony_seed=candidate_seed)
            if first_note_s is not None and not first_notes:
                first_notes.append(first_note_s)
            return steps

        start = time.perf_counter()
        def decode_candidate(steps: np.ndarray, candidate_seed: int = seed) -> Score:
            return finish(steps, candidate_seed)

        guarded = guarded_sample(sample, decode_candidate, prompt, seed, index, new_from_ticks,
                                 request.max_shared_notes, checks)
        sample_s = time.perf_counter() - start
        score = guarded.score
        heard = listen_blind(score)
        met = adherence(plan.labels, heard, plan.implied_labels)
        if tempo_of_new_bars and "tempo_class" in met:
            met["tempo_class"] = new_bars_tempo(plan.labels["tempo_class"], score, new_from_ticks)
        share = sum(m["met"] for m in met.values()) / max(len(met), 1)
        nll = _mean_nll(model, guarded.steps, len(prompt)) if request.candidates > 1 else float("nan")
        rows.append({"seed": seed, "sample_s": round(sample_s, 3), "adherence": round(share, 3),
                     "first_note_s": round(first_notes[0], 4) if first_notes else None,
                     "nll_per_step": None if nll != nll else round(nll, 4), "resamplings": guarded.resamples,
                     **({"ear": dict(ear)} if ear else {})})
        if best is None or (share, -nll) > best[0]:
            best = ((share, -nll), _Best(score, heard, met, seed, rows, guarded))
    assert best is not None
    return best[1]


def _returns_report(plan: Plan, score: Score, voices: tuple[Any, ...]) -> dict[str, str]:
    """The plan's returns, returning bar -> the bar it restates, "an octave up" where it came back lifted
    (:mod:`cadenza.compose.returns`)."""
    if not voices or not tune_led(voices):
        return {}
    sources = returns(plan.bars, plan.labels.get("epoch"), phrase_bars_of(plan), plan.intro_bars)
    top = tune_part(voices) or 0
    return {f"bar {bar + 1}": f"bar {source + 1}" + (", an octave up" if restated_up(score, top, bar, source) else "")
            for bar, source in sources.items()}


def _harmony_report(plan: Plan, seed: int) -> list[str] | str:
    """The planned chords bar by bar (see :mod:`cadenza.compose.harmony`), as the rules made them."""
    if plan.key is None or plan.meter is None:
        return f"planned in the key heard in the first {KEY_HEARD_AFTER_BARS} bars"
    return HarmonyPlan.for_meter(_cadence_plan(plan), plan.meter, plan.labels.get("epoch"), seed).describe()


def phrase_bars_of(plan: Plan) -> int:
    """Bars in each of the plan's phrases (see :func:`cadenza.compose.plan.phrase_bars_for`; they follow its
    introduction, and the last runs to the end)."""
    return phrase_bars_for(plan.labels.get("epoch"), plan.bars, plan.labels.get("ensemble"))


def _cadence_plan(plan: Plan) -> CadencePlan:
    """The phrase ends the rules plan for ``plan`` (whose key is known)."""
    assert plan.key is not None
    return CadencePlan(plan.key, plan.bars, phrase_bars=phrase_bars_of(plan), close_on_tonic=not plan.closing_pcs,
                       intro_bars=plan.intro_bars)


def tune_led(voices: tuple[Voice, ...]) -> bool:
    """Whether a part carries the tune, whose opening bars come back (as :class:`VoiceRules` decides: an
    ensemble written top-down, a part that leads by its nature, or a line over parts that play chords)."""
    return written_top_down(voices) or tune_part(voices) is not None or line_over_chords([v.polyphony for v in voices])


def chord_part_of(plan: Plan) -> int | None:
    """The part that realises the chord symbols: a lead sheet's chords (its second part); None elsewhere."""
    return 1 if plan.ensemble is not None and plan.ensemble.name == "lead-sheet" else None


def _model_summary(model: Any, config: dict[str, Any], digest: str) -> dict[str, Any]:
    return {"hash": digest, "parameters": model.parameter_count(),
            "trained_on": config.get("training", {}).get("config", {}).get("corpus")}


def compose(request: ComposeRequest, checkpoint: str | Path | None = None, progress: Progress | None = None,
            reference: Reference | None = None, closing_key: Key | None = None,
            checks: tuple[Check, ...] = (), draw_style: bool = True) -> Composition:
    """A new piece for the request (see :class:`ComposeRequest`), with a report of what was asked and heard;
    with a ``reference``, what the request leaves open is taken from it and its motifs bias the sampling.
    ``draw_style``: where the request names an ensemble and no style, plan one drawn for the ensemble
    (:mod:`cadenza.compose.style_epoch`; a soundtrack's segments leave it to the music before them)."""
    plan = resolve(request)
    if plan.respelled:
        log.warning("%s", plan.respelled)
    if reference is not None:
        plan = reference.apply(plan, request)
    if draw_style and reference is None:
        plan = with_style_epoch(plan, request.seed)
    plan = with_dance(with_intro(with_style_key(with_beat_tempo(with_style_meter(plan, request.seed)), request.seed),
                                 request.seed))
    if closing_key is not None:  # the last bar prepares a change of key that follows the piece
        plan = replace(plan, closing_pcs=dominant_triad(closing_key))
    adapter, adapter_report = style_adapter(plan, checkpoint)
    model, config, digest, load_s = load_model(checkpoint, adapter)
    voices = plan.ensemble.voices if plan.ensemble else ()
    prompt = plan_prompt(plan)
    if len(prompt) >= model.config.context // 2:
        raise UsageError("the request's header is too long for the model's context")

    kept = dance_parts(plan)  # a dance's accompaniment keeps its rests as written

    def finish(steps: np.ndarray, seed: int) -> Score:
        metadata = Metadata(title=title_for(plan), composer="Cadenza", source=f"cadenza compose (seed {seed})")
        lines = written_parts(decode_piece(steps, metadata), voices, kept)
        return hold_final_chord(block_chords(lines, chord_part_of(plan)))

    index_path = guard_index(checkpoint) if request.guard else None
    best = _best_of(model, prompt, plan, request, voices, finish, progress, reference,
                    plan.key.tonic_pc if plan.key else None, load_guard(index_path), checks=checks, rules=True)
    score, heard, met, notation = best.score, best.heard, best.adherence, None
    if (written := _in_compound_meter(plan, best)) is not None:
        score, heard, met, notation = written
        log.info("%s", notation)
    report = {"request": {k: v for k, v in asdict(request).items() if v is not None},
              "plan": {"labels": plan.labels,
                       **({"model_labels": plan.model_labels} if plan.model_labels != plan.labels else {}),
                       "bars": plan.bars, "intro_bars": plan.intro_bars, "meter": f"{plan.meter[0]}/{plan.meter[1]}"
                       if plan.meter else None, "key": plan.key.written_name if plan.key else None,
                       **({"notation": notation} if notation else {}),
                       "tempo_bpm": plan.tempo_bpm, "ensemble": plan.ensemble.name if plan.ensemble else None,
                       "prompt_reading": plan.notes, "prompt": plan.prompt,
                       "cadences": _cadence_plan(plan).describe() if plan.key
                       else f"in the key heard in the first {KEY_HEARD_AFTER_BARS} bars",
                       "returns": _returns_report(plan, score, voices),
                       "harmony": _harmony_report(plan, best.seed),
                       **({"orchestration": describe_orchestration(voices, plan.bars, best.seed,
                                                                   tune_part(voices) or 0)}
                          if orchestrated(voices) else {})},
              "seed": best.seed, "model": {**_model_summary(model, config, digest),
                                           **({"adapter": adapter_report} if adapter_report else {})},
              "software": software_versions(),
              "heard": heard, "adherence": met,
              "timings": {"model_load_s": round(load_s, 3), "candidates": best.candidates},
              "ear": next((row.get("ear") for row in best.candidates if row["seed"] == best.seed), None),
              "result": {"bars": score.bar_count, "notes": score.note_count, "duration_s": round(score.duration_s, 2),
                         "parts": [p.name for p in score.parts]}}
    report["originality"] = _originality(index_path, request, score, best.guarded)
    if reference is not None:
        report["like"] = closeness(score, heard, reference)
    return Composition(score, report)


def _originality(index_path: Path | None, request: ComposeRequest, score: Score, guarded: Guarded,
                 new_from_ticks: int = 0, primer: Score | None = None) -> dict[str, Any]:
    if not request.guard:
        return {"checked": False, "why": "the guard was turned off (--no-guard)"}
    return originality_report(index_path, score, guarded, new_from_ticks, primer, request.max_shared_notes)


def title_for(plan: Plan) -> str:
    """The piece's title: its mood, form and key, the key spelled as its signature is written (G♯ minor's
    five sharps under "in A♭ minor" read as a misprint)."""
    words = [plan.labels.get("mood", ""), plan.labels.get("form", "piece")]
    if plan.key:
        words.append(f"in {key_signature_name(plan.key.sharps, plan.key.mode)}")
    title = " ".join(w for w in words if w).strip()
    return title[:1].upper() + title[1:] if title else "Piece"


def _mean_nll(model: Any, steps: np.ndarray, after: int) -> float:
    from cadenza.model.scoring import sequence_nll

    total = sequence_nll(model, steps) - sequence_nll(model, steps[:after])
    return total / max(len(steps) - after, 1)


def with_beat_tempo(plan: Plan) -> Plan:
    """The plan with the tempo its mood implies paced in its meter's felt beat (:func:`cadenza.compose.mood.
    beat_tempo`: a 3/8 piece's eighths, a 4/2 piece's half notes); unchanged where the tempo was asked or the
    meter is a quarter's."""
    if plan.meter is None or plan.tempo_bpm is None or "tempo_bpm" not in plan.implied:
        return plan
    beat = TimeSignature(0, *plan.meter).beat_ticks / TICKS_PER_QUARTER
    if beat == 1.0:
        return plan
    bpm = beat_tempo(plan.tempo_bpm, beat)
    tempo_class = LABELS_BY_NAME["tempo_class"].bucket(bpm)
    return replace(plan, tempo_bpm=bpm, labels={**plan.labels, "tempo_class": tempo_class},
                   notes=[*plan.notes, f"meter {plan.meter[0]}/{plan.meter[1]} -> {bpm:.0f} bpm (the mood's pace in "
                                       "its beats; give --tempo to choose)"])


def continue_piece(primer: Score, request: ComposeRequest, bars: int = 8, checkpoint: str | Path | None = None,
                   progress: Progress | None = None, reference: Reference | None = None,
                   key_change: Key | None = None, tempo_change: float | None = None,
                   closing_key: Key | None = None, checks: tuple[Check, ...] = (),
                   voices: tuple[Voice, ...] | None = None, in_key: Key | None = None, rules: bool = True,
                   closes: bool = True) -> Composition:
    """The primer followed by ``bars`` new bars in its parts, meter and key (request labels, then a
    ``reference``'s, add to the primer's own); best of ``request.candidates`` as in :func:`compose`.

    With ``rules``, a primer whose parts are an ensemble's (:func:`cadenza.compose.ensembles.ensemble_of`: a
    string quartet, a choir, a piano's two hands …) is continued as :func:`compose` writes that ensemble: its
    parts' ranges (widened to the primer's notes), part-writing rules, phrase plan with cadences in the key its
    key signature writes (:func:`written_key`; the key heard without one), the primer's opening coming back, and
    the ear phrase by phrase; the primer itself stays as given. ``closes``: the last new bar ends the piece (a
    tonic cadence); False where music follows it (a revision's bars).

    ``key_change`` and ``tempo_change`` start the new bars in another key signature and tempo (a
    soundtrack's next cue); ``closing_key`` leans the last bar toward that key's dominant chord, preparing a
    change that follows it. ``voices`` (one per primer part) give the parts' full ranges and chords instead
    of what the primer happens to use (a soundtrack's next mood may need another register). ``in_key``: the
    key the new bars stay in (its scale and tonic leaned to, as for a requested key), when there is no
    ``key_change``.

    A primer of more parts than the model writes (an orchestral score) is first reduced as a short score is
    (:func:`cadenza.tokens.events.encodable`: Flute 1 + Flute 2 -> Flutes …): the piece returned has the
    reduced parts, and the report's ``primer.parts_merged`` says which were merged."""
    if not 1 <= bars <= 2000:
        raise UsageError("bars: give 1 to 2000")
    if primer.note_count == 0:
        raise UsageError("the primer has no notes to continue")
    reduction = parts_merged(primer)
    given_tempos = primer.tempos  # (encodable reads a mark faster than the vocabulary's as its fastest)
    primer = encodable(primer)
    heard_primer = analyse(primer)
    plan = resolve(request)
    labels = {name: str(heard_primer[name]) for name in ("epoch", "ensemble", "key", "mode", "meter", "density",
                                                           "mood", "tempo_class") if heard_primer.get(name)}
    if reference is not None:
        labels.update({k: v for k, v in reference.labels.items() if k not in ("key", "mode", "meter", "ensemble")})
    dropped = {"ensemble"} & plan.implied | ({"key", "mode"} if "key" in plan.implied else set()) | (
        {"tempo_class"} if "tempo_bpm" in plan.implied else set())  # the primer's own, not a default's
    labels.update({k: v for k, v in plan.labels.items() if k not in dropped})
    body, meter_change, trailing_key, trailing_tempo = without_trailing_changes(primer)
    key_change = key_change or trailing_key
    tempo_change = tempo_change or trailing_tempo
    if key_change is not None:
        labels["key"], labels["mode"] = key_change.name, key_change.mode
    model = load_model(checkpoint)[0]
    try:  # bos, the labels, the primer (with the chords heard in it, for a model that reads chords); no eos
        prompt = encode(body, label_ids(labels), chords=heard_chords(body) if model.chord_events else None)[:-1]
    except TokenizeError as exc:
        raise UsageError(f"the primer cannot be continued: {exc}") from None
    if key_change is not None or tempo_change is not None or meter_change is not None:  # the first new bar
        bar_length = (meter_change or body.time_signatures[-1]).bar_ticks  # opens with the change (a bar step
        # holds the length of the bar it opens)
        opening = [step_row("bar", position=bar_length // FINE, position_fine=bar_length % FINE)]
        if meter_change is not None:
            opening.append(step_row("time_signature", value=meter_change.numerator,
                                    value_fine=meter_change.denominator.bit_length() - 1))
        if key_change is not None:
            opening.append(key_signature_step(key_change))
        if tempo_change is not None:
            opening.append(tempo_step(tempo_change))
        prompt = np.concatenate([prompt, np.array(opening)])
    model, config, digest, load_s = load_model(checkpoint)
    known = ensemble_of_score(primer) if rules and voices is None else None
    if known is not None:
        voices = widened(known.voices, primer)
    voices = voices if voices is not None and len(voices) == len(primer.parts) else voices_of(primer)
    key_sig = primer.key_signatures[-1] if primer.key_signatures else None
    last_meter = primer.time_signatures[-1]
    # the primer's key signature, meter and tempo stay as written unless changed; labels come from the request
    closing = dominant_triad(closing_key) if closing_key is not None else ()
    if known is not None:  # the model writes the ensemble's music (listen hears a quartet of program 0 as keyboard)
        labels["ensemble"] = model_label(labels.get("epoch"), known.label)
    heard_key = written_key(primer) or (parse_key(str(labels["key"])) if labels.get("key") else None) \
        if known is not None else None
    continued = Plan(labels, known, (last_meter.numerator, last_meter.denominator), key_change, tempo_change,
                     primer.bar_count + bars, plan.notes, closing_pcs=closing,
                     valence_arousal=plan.valence_arousal, scale_key=in_key or heard_key, closes=closes)

    def finish(steps: np.ndarray, seed: int) -> Score:
        whole = decode_piece(steps, primer.metadata)
        if known is not None:  # the new bars written out as compose writes the ensemble's parts
            whole = block_chords(written_parts(whole, voices), chord_part_of(continued))
        new = whole.replace(notes=whole.notes[whole.notes["onset_ticks"] >= primer.length_ticks])
        if doubling_parts(voices):  # a soundtrack's orchestra goes on with its basses doubling the cellos
            new = doubled_lines(new, voices)
        # each part's chords held to its voice: the new notes only (the primer's stay as given, its parts' names
        # and instruments too: a song's three-note left-hand chords had lost a note under a voice of two)
        notes = np.concatenate([primer.notes, fit_voices(new, voices).notes]).astype(NOTE_DTYPE)
        score = Score.build(parts=primer.parts, notes=notes, time_signatures=primer.time_signatures,
                            key_signatures=whole.key_signatures, metadata=primer.metadata,
                            tempos=[*given_tempos, *(t for t in whole.tempos if t.onset_ticks >= primer.length_ticks)],
                            pickup_ticks=primer.pickup_ticks,
                            length_ticks=max(whole.length_ticks, primer.length_ticks))
        closing = known is not None and closes and score.bar_starts()[-1] >= primer.length_ticks
        return hold_final_chord(score) if closing else score  # (the last bar the new bars' own)

    tonic = key_change.name if key_change is not None else heard_primer.get("key")
    index_path = guard_index(checkpoint) if request.guard else None
    best = _best_of(model, prompt, continued, request, voices, finish, progress, reference,
                    TONICS.index(tonic.split()[0]) if tonic else None, load_guard(index_path), primer.length_ticks,
                    checks, rules=known is not None,
                    tempo_of_new_bars=request.tempo_bpm is not None)  # (asked for the new bars)
    score = best.score
    report = {"request": {k: v for k, v in asdict(request).items() if v is not None},
              "primer": {"bars": primer.bar_count, "notes": primer.note_count, "labels": labels,
                         "key_signature": str(key_sig) if key_sig else None, **reduction,
                         # the ensemble whose rules, phrase plan and ear wrote the new bars (None: the model alone)
                         "written_as": known.name if known is not None else None},
              "seed": best.seed, "model": _model_summary(model, config, digest), "software": software_versions(),
              "heard": best.heard, "adherence": best.adherence,
              "timings": {"model_load_s": round(load_s, 3), "candidates": best.candidates},
              "ear": next((row.get("ear") for row in best.candidates if row["seed"] == best.seed), None),
              "result": {"bars": score.bar_count, "new_bars": score.bar_count - primer.bar_count,
                         "notes": score.note_count, "duration_s": round(score.duration_s, 2)}}
    report["originality"] = _originality(index_path, request, score, best.guarded, primer.length_ticks, primer)
    if reference is not None:
        report["like"] = closeness(score, best.heard, reference)
    return Composition(score, report)
