"""Performing forces and texture: instruments, number of parts, ensemble, polyphony and texture class."""

from __future__ import annotations

import numpy as np

from cadenza.listen.features import View
from cadenza.score.instruments import VOICE_HINT_PROGRAM, gm_program_name, program_from_name

GM_FAMILIES = ("piano", "chromatic-percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass",
               "reed", "pipe", "synth-lead", "synth-pad", "synth-effects", "ethnic", "percussive",
               "sound-effects")
VOICE_PROGRAMS = (52, 53, 54)  # choir aahs, voice oohs, synth voice
STRING_PROGRAMS = (40, 41, 42, 43, 44, 45, 48, 49)
KEYBOARD_PROGRAMS = tuple(range(0, 8)) + tuple(range(16, 24))
#: programs of the instruments a voice's name may also name (a guitar's or a string's "Bass", a tenor saxophone's
#: "Tenor"): these keep their family
NAMESAKE_PROGRAMS = frozenset({*range(24, 48), *range(64, 68)})


def sung(name: str, program: int) -> bool:
    """Whether a part is a voice: its program is a voice's, or its name is (the OpenScore Lieder's "Voice" plays
    back as an oboe, program 68: their songs were "reed, piano"), but for a namesake instrument's (a "Bass" played
    as a bass guitar)."""
    if program in VOICE_PROGRAMS:
        return True
    return program not in NAMESAKE_PROGRAMS and program_from_name(name, -1) == VOICE_HINT_PROGRAM


def _active_parts(view: View) -> list[int]:
    notes = view.score.notes
    return sorted(set(notes["part"].tolist()))


def instrument_families(view: View) -> list[str]:
    """Instrument families of the parts that hold notes, in part order, without repeats."""
    out: list[str] = []
    for i in _active_parts(view):
        part = view.score.parts[i]
        if part.is_drum:
            family = "drums"
        elif sung(part.name, part.program):
            family = "voice"
        else:
            family = GM_FAMILIES[part.program // 8]
        if family not in out:
            out.append(family)
    return out


def polyphony(view: View) -> float:
    """Mean number of pitched notes sounding together, over the steps where any sounds."""
    counts = view.sounding.sum(axis=1)
    active = counts[counts > 0]
    return float(active.mean()) if len(active) else 0.0


def _is_monophonic(notes: np.ndarray) -> bool:
    if len(notes) < 2:
        return True
    ends = notes["onset_ticks"] + notes["duration_ticks"]
    order = np.argsort(notes["onset_ticks"], kind="stable")
    overlaps = (notes["onset_ticks"][order][1:] < ends[order][:-1]).mean()
    return bool(overlaps < 0.1)


def ensemble(view: View) -> str:
    parts = [view.score.parts[i] for i in _active_parts(view)]
    if not parts:
        return "other"
    programs = [p.program for p in parts if not p.is_drum]
    has_drums = any(p.is_drum for p in parts)
    count = len(parts)
    if programs and all(p in VOICE_PROGRAMS for p in programs):
        return "satb-choir" if count == 4 else "voices"
    notes = view.pitched
    active = _active_parts(view)
    staves_of_one = len({p.name for p in parts}) == 1 and parts[0].name != gm_program_name(parts[0].program)
    if count == 2 and not staves_of_one and not has_drums:
        top, low = sorted(active, key=lambda i: -float(notes["pitch"][notes["part"] == i].mean()))
        if _is_monophonic(notes[notes["part"] == top]) and not _is_monophonic(notes[notes["part"] == low]):
            return "lead-sheet"  # a tune over chords
    if count == 1 and _is_monophonic(notes):
        return "solo-instrument"
    if programs and all(p in KEYBOARD_PROGRAMS for p in programs) and not has_drums:
        if count <= 2 or len({p.name for p in parts}) == 1:
            return "solo-piano" if programs[0] < 8 else "keyboard"
        return "keyboard"
    if count == 1:
        return "solo-instrument"
    if sorted(programs) == [40, 40, 41, 42] and not has_drums:
        return "string-quartet"
    families = set(instrument_families(view))
    if has_drums and ("bass" in families or "guitar" in families or "synth-lead" in families or count >= 3):
        return "band"
    orchestral = families & {"strings", "brass", "reed", "pipe", "ensemble"}
    if count >= 8 or (len(orchestral) >= 3 and count >= 6):
        return "orchestra"
    if count <= 7:
        return "chamber"
    return "other"


def _onset_sets(view: View) -> list[np.ndarray]:
    notes = view.pitched
    return [np.unique(notes["onset_ticks"][notes["part"] == p]) for p in np.unique(notes["part"])]


_MELODY_NAMES = ("melody", "vocal", "voice", "lead", "soprano", "tune", "melodie")


def melody_part(view: View) -> int:
    """The part that carries the tune: one named like a melody, else the highest-sounding one."""
    notes = view.pitched
    parts = np.unique(notes["part"])
    for p in parts.tolist():
        if any(word in view.score.parts[p].name.lower() for word in _MELODY_NAMES):
            return int(p)
    means = [notes["pitch"][notes["part"] == p].mean() for p in parts]
    return int(parts[int(np.argmax(means))])


def texture(view: View, poly: float) -> str:
    """monophonic, homophonic (parts attack together), polyphonic (independent lines) or melody+accompaniment
    (a single-line tune over chordal or slower support)."""
    if poly < 1.15:
        return "monophonic"
    onsets = _onset_sets(view)
    if len(onsets) >= 2:
        notes = view.pitched
        parts = np.unique(notes["part"]).tolist()
        _, together = np.unique(np.concatenate(onsets), return_counts=True)
        coincidence = float((together / len(onsets)).mean())
        if coincidence >= 0.75:
            return "homophonic"
        tune = melody_part(view)
        tune_notes = notes[notes["part"] == tune]
        if _is_monophonic(tune_notes):
            others = [len(o) for p, o in zip(parts, onsets, strict=True) if p != tune]
            support_onsets = [o for p, o in zip(parts, onsets, strict=True) if p != tune]
            _, support_together = np.unique(np.concatenate(support_onsets), return_counts=True)
            chordal = any(not _is_monophonic(notes[notes["part"] == p]) for p in parts if p != tune) or (
                len(support_onsets) >= 2 and float((support_together / len(support_onsets)).mean()) >= 0.75)
            if len(np.unique(tune_notes["onset_ticks"])) >= 1.3 * max(others) or chordal:
                return "melody+accompaniment"
        return "homophonic" if coincidence >= 0.6 else "polyphonic"
    # one part holding chords (a keyboard): the skyline against the notes under it
    notes = view.pitched
    top_onsets = np.unique(view.top_voice["onset_ticks"])
    onset_notes = np.unique(notes["onset_ticks"], return_counts=True)
    under_onsets = onset_notes[0][onset_notes[1] >= 2]  # onsets where something sounds under the top
    coincidence = len(np.intersect1d(top_onsets, under_onsets)) / max(len(top_onsets), 1)
    if coincidence >= 0.7:
        return "homophonic"
    if len(under_onsets) >= 0.25 * len(top_onsets):
        return "melody+accompaniment"
    return "polyphonic"
