"""How well ``listen`` hears harmony: its chord per beat against the DCML corpora's human Roman-numeral
annotations (the ``<harmony><function>`` labels of ``shared/datasets/classical/dcml-piano``).

For every beat of a movement, the human label in force (the last one at or before the beat) is turned into a
root pitch class, a triad quality (major, minor, diminished, augmented) and a seventh-or-not, in its local key;
``listen.harmony.beat_chords`` gives its own chord for the beat and ``listen.key.local_keys`` its local key;
under "learned", the learned networks give theirs (``listen.harmony.decoded_beat_chords``, the chords of the
event vocabulary, and ``listen.harmony_net.learned_local_keys``). The networks never learned from a movement of
the pieces compared here (:mod:`cadenza.lab.fit.harmony_net`).
Reported per corpus and in all: *root accuracy* (same root pitch class), *Roman-numeral accuracy* (same scale
degree above the key's tonic and same triad quality, listen's local key against the annotators'), the same with
listen's one key per movement (``roman_accuracy_one_key``: every modulation counts against it) and with the
annotators' own local key (``roman_accuracy_given_key``: the chord errors alone, so the gap to it is what key
errors cost), the share of beats whose key agrees, and the confusions that occur most. Beats where the
annotators mark no chord, augmented sixths (no root in this sense) and beats where listen hears no chord are
counted apart: root accuracy is over all labelled beats, so a beat listen leaves empty is a miss.

Labels are placed on the read Score's own timeline: where music21 and the file's measure lengths part ways (an
overfull measure, a split measure holding a whole-measure rest) each measure's labels move with its notes
(:func:`measure_shifts`).
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np

from cadenza.listen.chord_decode import beat_count
from cadenza.listen.features import View
from cadenza.listen.harmony import BeatChords, beat_chords, decoded_beat_chords
from cadenza.listen.harmony_net import beat_arrays, learned_local_keys
from cadenza.listen.key import estimate_key, local_keys
from cadenza.listen.labels import TONICS
from cadenza.score import TICKS_PER_QUARTER, Score, read_score

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)  # DCML numerals in minor count from the natural minor scale
NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII")
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NUMERAL = r"[#b]*(?:VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)"
_LABEL = re.compile(
    rf"^(?:(?P<globalkey>[A-Ga-g][#b]*)\.)?(?:(?P<localkey>{_NUMERAL}(?:/{_NUMERAL})*)\.)?"
    rf"(?P<numeral>Ger|It|Fr|{_NUMERAL})"
    r"(?P<form>%|o|\+M|\+|M)?(?P<figbass>7|65|43|42|2|64|6)?(?:\((?P<changes>[^)]*)\))?"
    rf"(?:/(?P<relroot>{_NUMERAL}(?:/{_NUMERAL})*))?$")


@dataclass(frozen=True)
class Chord:
    """A human label resolved: the local key and the chord's root, triad quality and seventh."""

    tonic: int
    mode: str  # major | minor
    root: int  # -1: no root (augmented sixths)
    triad: str  # maj | min | dim | aug
    seventh: bool
    quality: str = ""  # as listen names chords (chord_decode.QUALITIES); "" for augmented sixths


def _degree(numeral: str, tonic: int, mode: str) -> tuple[int, bool]:
    """(root pitch class, upper case) of a numeral such as 'bVI' or '#vii' in a key."""
    shift = numeral.count("#") - numeral.count("b")
    bare = numeral.lstrip("#b")
    scale = MAJOR if mode == "major" else MINOR
    return (tonic + scale[NUMERALS.index(bare.upper())] + shift) % 12, bare.isupper()


def _key_of(numeral: str, tonic: int, mode: str) -> tuple[int, str]:
    root, upper = _degree(numeral, tonic, mode)
    return root, "major" if upper else "minor"


def clean_label(text: str) -> str:
    """A label without phrase, pedal and cadence marks, and of chords joined by '-' the first; '' when only
    marks were there."""
    text = text.strip().replace("]", "").replace("{", "").replace("}", "").replace("\\\\", "")
    text = re.sub(r"\|\w*", "", text).split("-")[0]
    if "[" in text:  # 'I[V': a pedal on I under the chord V (a key prefix stays)
        head, _, chord_text = text.partition("[")
        text = (head.rsplit(".", 1)[0] + "." if "." in head else "") + chord_text
    return text.strip(".") if text.startswith(".") else text


def parse_label(text: str, global_key: tuple[int, str], local: str) -> tuple[Chord | None, tuple[int, str], str]:
    """A DCML label read in the keys in force; returns (chord or None, global key, local key numeral) so the
    keys carry over to the next label."""
    text = clean_label(text)
    match = _LABEL.match(text)
    if not match:
        return None, global_key, local
    if match["globalkey"]:
        letter = match["globalkey"]
        pc = (_LETTER_PC[letter[0].upper()] + letter[1:].count("#") - letter[1:].count("b")) % 12
        global_key, local = (pc, "major" if letter[0].isupper() else "minor"), "I" if letter[0].isupper() else "i"
    if match["localkey"]:
        local = match["localkey"]
    tonic, mode = global_key
    for rel in reversed(local.split("/")):  # 'bIII/V': bIII of the key of V
        tonic, mode = _key_of(rel, tonic, mode)
    numeral = match["numeral"]
    if numeral in ("Ger", "It", "Fr"):
        return Chord(tonic, mode, -1, "", False), global_key, local
    key_tonic, key_mode = tonic, mode
    for rel in reversed((match["relroot"] or "").split("/")):
        if rel:
            key_tonic, key_mode = _key_of(rel, key_tonic, key_mode)
    root, upper = _degree(numeral, key_tonic, key_mode)
    form = match["form"] or ""
    triad = {"o": "dim", "%": "dim", "+": "aug", "+M": "aug"}.get(form, "maj" if upper else "min")
    seventh = (match["figbass"] or "") in ("7", "65", "43", "42", "2") or form in ("%", "M", "+M")
    return Chord(tonic, mode, root, triad, seventh, _quality(triad, seventh, form)), global_key, local


def _quality(triad: str, seventh: bool, form: str) -> str:
    """listen's name of a chord (chord_decode.QUALITIES) from a label's triad, seventh and form."""
    if triad == "aug" or not seventh:
        return triad
    if triad == "maj":
        return "maj7" if form == "M" else "7"
    if triad == "min":
        return "min7"
    return "hdim7" if form == "%" else "dim7"


_STEP_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def _xml_root(path: Path) -> ElementTree.Element:
    data = path.read_bytes()
    if path.suffix.lower() == ".mxl":
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith((".xml", ".musicxml")) and "META-INF" not in n)
            data = archive.read(name)
    return ElementTree.fromstring(data)


def read_annotations(path: Path) -> tuple[list[tuple[int, int, str]], list[tuple[int, int, int]]]:
    """The ``<harmony><function>`` labels of a MusicXML/.mxl file's labelled part as (measure index, onset in
    ticks, text), and that part's attacked pitches as (measure index, onset in ticks, MIDI pitch), placed by
    following the part's notes, backups and forwards measure by measure (the file's own timeline)."""
    parts = _xml_root(path).findall("part")
    labels: list[tuple[int, int, str]] = []
    notes: list[tuple[int, int, int]] = []
    if not parts:
        return labels, notes
    part = max(parts, key=lambda p: len(p.findall("measure/harmony")))  # the part that carries the labels
    divisions, measure_start = 1, 0
    for m, measure in enumerate(part.findall("measure")):
        position = longest = last = 0
        for el in measure:
            if el.tag == "attributes" and el.find("divisions") is not None:
                divisions = int(el.findtext("divisions") or 1)
            elif el.tag == "note" and el.find("grace") is None:
                onset = last if el.find("chord") is not None else position
                if el.find("chord") is None:
                    last = position
                    position += int(el.findtext("duration") or 0)
                pitch = el.find("pitch")
                if pitch is not None and el.find("tie[@type='stop']") is None:
                    octave, step = int(pitch.findtext("octave") or 4), _STEP_PC.get(pitch.findtext("step") or "C", 0)
                    midi = 12 * (octave + 1) + step + round(float(pitch.findtext("alter") or 0))
                    notes.append((m, measure_start + onset * TICKS_PER_QUARTER // divisions, midi))
            elif el.tag == "backup":
                position -= int(el.findtext("duration") or 0)
            elif el.tag == "forward":
                position += int(el.findtext("duration") or 0)
            elif el.tag == "harmony" and el.findtext("function"):
                at = measure_start + position * TICKS_PER_QUARTER // divisions
                labels.append((m, at, el.findtext("function") or ""))
            longest = max(longest, position)
        measure_start += longest * TICKS_PER_QUARTER // divisions
    return labels, notes


def read_labels(path: Path) -> list[tuple[int, str]]:
    """(onset in ticks, label text) of every ``<harmony><function>`` in a MusicXML/.mxl file's labelled part,
    on the file's own timeline (see :func:`read_annotations`), in time order."""
    labels, _ = read_annotations(path)
    return sorted(((t, text) for _, t, text in labels), key=lambda label: label[0])


def measure_shifts(notes: list[tuple[int, int, int]], score: Score, measures: int) -> list[int]:
    """Per measure, the ticks to add to the file's timeline to land on the read Score's: the shift that puts
    most of the measure's attacks on an attack of the same pitch in the Score. The file's timeline and the
    reader's part ways where a measure is overfull or a split measure holds a whole-measure rest, and every
    later label would otherwise be scored against the wrong beat. A measure with no attacks keeps the shift
    before it."""
    attacks = set(zip(score.notes["onset_ticks"].tolist(), score.notes["pitch"].tolist(), strict=True))
    by_pitch: dict[int, np.ndarray] = {}
    for pitch in set(score.notes["pitch"].tolist()):
        by_pitch[pitch] = np.sort(score.notes["onset_ticks"][score.notes["pitch"] == pitch])
    per_measure: list[list[tuple[int, int]]] = [[] for _ in range(measures)]
    for m, t, pitch in notes:
        per_measure[m].append((t, pitch))
    shifts, shift = [], 0
    for found in per_measure:
        if found and sum((t + shift, p) in attacks for t, p in found) < 0.5 * len(found):
            t0, p0 = found[0]
            onsets = by_pitch.get(p0, np.zeros(0, dtype=np.int64))
            near = onsets[np.abs(onsets - t0 - shift) <= 8 * TICKS_PER_QUARTER]  # within two 4/4 bars
            candidates = {shift} | {int(o) - t0 for o in near.tolist()}
            shift = max(candidates, key=lambda d: (sum((t + d, p) in attacks for t, p in found), d == shift))
        shifts.append(shift)
    return shifts


def aligned_labels(path: Path, score: Score) -> list[tuple[int, str]]:
    """The file's labels placed on the read Score's timeline (see :func:`measure_shifts`), in time order."""
    labels, notes = read_annotations(path)
    measures = 1 + max([m for m, _, _ in labels] + [m for m, _, _ in notes], default=-1)
    shifts = measure_shifts(notes, score, measures)
    return sorted(((t + shifts[m], text) for m, t, text in labels), key=lambda label: label[0])


def _triad(quality: str) -> str:
    return {"maj": "maj", "7": "maj", "maj7": "maj", "min": "min", "min7": "min", "dim": "dim", "dim7": "dim",
            "hdim7": "dim", "aug": "aug"}.get(quality, "")


Analysis = Callable[[View], tuple[BeatChords, list[tuple[int, str]]]]  # a view's chords and local keys


def listen_analysis(view: View) -> tuple[BeatChords, list[tuple[int, str]]]:
    """listen's template matching (what the composer and the classifiers read) and the key profiles' local keys."""
    return beat_chords(view), local_keys(view)


def learned_analysis(view: View) -> tuple[BeatChords, list[tuple[int, str]]]:
    """The learned networks' chords (those of the event vocabulary) and local keys, from one reading of the
    piece (:func:`cadenza.listen.harmony_net.beat_arrays`)."""
    arrays = beat_arrays(view)
    return decoded_beat_chords(view, arrays), learned_local_keys(view, arrays)


#: the analyses compared
ANALYSES: dict[str, Analysis] = {"listen": listen_analysis, "learned": learned_analysis}


def compare_movement(path: Path) -> dict[str, dict[str, Any]]:
    """Per-beat agreement of each of :data:`ANALYSES` with the human labels of one annotated movement."""
    score = read_score(path)
    labels = aligned_labels(path, score)
    return {name: compare_score(score, labels, analysis) for name, analysis in ANALYSES.items()}


def beat_labels(view: View, labels: list[tuple[int, str]]) -> tuple[list[Chord | None], Counter[str]]:
    """The human chord in force at the start of every beat of the chord grid (the last label at or before it;
    None before the first and where a label is unread), and counts of the labels read and unread. ``labels``:
    (onset on the Score's timeline, text), in time order, marks alone left out."""
    beat, phase = view.beat_ticks, view.phase_ticks
    onsets = np.array([t for t, _ in labels])
    global_key, local = (0, "major"), "I"
    chords: list[Chord | None] = []
    counts: Counter[str] = Counter()
    for _, text in labels:
        chord, global_key, local = parse_label(text, global_key, local)
        chords.append(chord)
        counts["labels"] += 1
        counts["labels_unread"] += chord is None and not text.startswith("@none")
    at = np.searchsorted(onsets, np.arange(beat_count(view)) * beat - phase, side="right") - 1
    return [chords[i] if i >= 0 else None for i in at.tolist()], counts


def compare_score(score: Score, labels: list[tuple[int, str]], analysis: Analysis = listen_analysis
                  ) -> dict[str, Any]:
    """Per-beat agreement of a chord analysis and its local keys (listen's by default) with human labels (onset
    on the Score's timeline, text) of a Score."""
    labels = [(t, text) for t, text in labels if clean_label(text)]  # marks alone change nothing
    view = View(score)
    heard, local_key = analysis(view)
    key = estimate_key(view)
    humans, counts = beat_labels(view, labels)
    confusions: Counter[str] = Counter()
    for b, human in enumerate(humans):
        if human is None:
            counts["unlabelled"] += 1
            continue
        if human.root < 0:
            counts["augmented_sixth"] += 1
            continue
        counts["beats"] += 1
        root = int(heard.roots[b])
        if root < 0:
            counts["silent_or_no_chord"] += 1
            continue
        counts["root_ok"] += root == human.root
        degree = (human.root - human.tonic) % 12
        triad_ok = _triad(heard.qualities[b]) == human.triad
        tonic, mode = local_key[b]
        counts["roman_ok"] += (root - tonic) % 12 == degree and triad_ok
        counts["roman_one_key_ok"] += (root - key.tonic) % 12 == degree and triad_ok
        counts["roman_given_key_ok"] += root == human.root and triad_ok
        counts["local_key_same"] += (tonic, mode) == (human.tonic, human.mode)
        if root != human.root:
            confusions[f"{TONICS[(human.root - human.tonic) % 12]}→{TONICS[(root - human.tonic) % 12]}"] += 1
        counts["key_same"] += (key.tonic, key.mode) == (human.tonic, human.mode)
    return {"counts": dict(counts), "confusions": dict(confusions.most_common(5)),
            "key": f"{TONICS[key.tonic]} {key.mode}"}


def has_labels(path: Path) -> bool:
    """Whether a MusicXML/.mxl file carries any ``<harmony><function>`` label (a quick look at the bytes)."""
    data = path.read_bytes()
    if path.suffix.lower() == ".mxl":
        with zipfile.ZipFile(path) as archive:
            data = b"".join(archive.read(n) for n in archive.namelist() if "META-INF" not in n)
    return b"<function>" in data


def dcml_movements(root: Path, per_corpus: int) -> list[Path]:
    """Up to ``per_corpus`` annotated movements of each DCML corpus (a stable spread by name over the files
    that carry labels: some corpora hold movements no one has annotated yet)."""
    out = []
    for corpus in sorted(p for p in root.iterdir() if p.is_dir()):
        files = [f for f in sorted(corpus.glob("*.mxl")) if has_labels(f)]
        step = max(len(files) // max(per_corpus, 1), 1)
        out.extend(files[::step][:per_corpus])
    return out


def _summary(counts: Counter[str]) -> dict[str, Any]:
    beats = max(counts["beats"], 1)
    named = max(counts["beats"] - counts["silent_or_no_chord"], 1)
    return {"beats": counts["beats"], "root_accuracy": round(counts["root_ok"] / beats, 4),
            "roman_accuracy": round(counts["roman_ok"] / beats, 4),
            "roman_accuracy_one_key": round(counts["roman_one_key_ok"] / beats, 4),
            "roman_accuracy_given_key": round(counts["roman_given_key_ok"] / beats, 4),
            "key_agrees_share": round(counts["local_key_same"] / named, 4),
            "one_key_agrees_share": round(counts["key_same"] / named, 4),
            "no_chord_heard_share": round(counts["silent_or_no_chord"] / beats, 4),
            "labels": counts["labels"], "labels_unread": counts["labels_unread"]}


def run(root: Path, per_corpus: int = 6, progress: Any = None) -> dict[str, Any]:
    """Compare listen's chord analysis (and the learned networks', under "learned") with the annotations of the
    chosen movements; per corpus and in all."""
    movements = dcml_movements(root, per_corpus)
    per: dict[str, dict[str, Counter[str]]] = {name: {} for name in ANALYSES}
    confusions: dict[str, Counter[str]] = {name: Counter() for name in ANALYSES}
    failed: list[str] = []
    for i, path in enumerate(movements):
        try:
            results = compare_movement(path)
        except Exception as exc:  # noqa: BLE001 - a movement that cannot be compared is reported, not fatal
            failed.append(f"{path.parent.name}/{path.name}: {exc}"[:200])
            continue
        for name, result in results.items():
            per[name].setdefault(path.parent.name, Counter()).update(result["counts"])
            confusions[name].update(result["confusions"])
        if progress:
            progress(i + 1, len(movements))
    summaries = {}
    for name in ANALYSES:
        total: Counter[str] = Counter()
        for counts in per[name].values():
            total.update(counts)
        summaries[name] = {"all": _summary(total),
                           "per_corpus": {corpus: _summary(c) for corpus, c in sorted(per[name].items())},
                           "confusions_by_degree": {k: v for k, v in confusions[name].most_common(12)}}
    return {"movements": len(movements) - len(failed), "failed": failed, **summaries["listen"],
            "learned": summaries["learned"], "goals": {"root_accuracy": 0.8, "roman_accuracy": 0.6}}
