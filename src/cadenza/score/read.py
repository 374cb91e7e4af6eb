"""Reading any score a musician brings: a file path or a ``music21:`` corpus reference.

    read_score("song.mid")
    read_score("tunes.abc", tune="3")              # X:3 of a multi-tune ABC file
    read_score("music21:bach/bwv66.6")
    read_score("music21:essenFolksong/altdeu10#3")  # one tune of a multi-tune corpus file
    read_scores("tunes.abc")                        # every tune, one Score each

The format comes from the extension (content is sniffed when the extension is unknown). MIDI and JSON are
read in-process by bounded readers of our own; MusicXML, ABC and Humdrum are checked cheaply, then parsed
by music21 in a guarded child process (time limit and memory cap, see :mod:`cadenza.score.sandbox`). Audio
(WAV, FLAC, MP3, Ogg, AIFF) is transcribed by basic-pitch when the audio extra is installed
(:mod:`cadenza.score.audio_read`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cadenza.errors import InputError, UnsupportedFormatError, UsageError
from cadenza.score.abc import (
    AbcTune,
    check_tune_text,
    decode_abc,
    key_field_warnings,
    select_tune,
    split_tunes,
    with_default_length,
)
from cadenza.score.audio_read import is_audio, read_audio
from cadenza.score.json_io import read_json_bytes
from cadenza.score.limits import ReadLimits, file_size, over_limit
from cadenza.score.m21_read import check_meters
from cadenza.score.midi_read import read_midi_bytes
from cadenza.score.model import Score
from cadenza.score.sandbox import run_guarded
from cadenza.score.xml_check import check_musicxml, read_mxl, to_utf8

log = logging.getLogger(__name__)

MUSIC21_PREFIX = "music21:"

# a Humdrum meter interpretation (*M3/4, *M2+3/8) at the start of a spine field
_HUMDRUM_METER = re.compile(r"(?:^|\t)\*M([0-9][0-9+]*+)/([0-9]++)", re.MULTILINE)

READ_FORMATS = {
    ".mid": "midi", ".midi": "midi", ".kar": "midi", ".smf": "midi", ".rmi": "midi",
    ".musicxml": "musicxml", ".xml": "musicxml", ".mxl": "mxl",
    ".abc": "abc", ".krn": "humdrum", ".json": "json",
}  # fmt: skip


@dataclass(frozen=True)
class ReadResult:
    score: Score
    warnings: list[str] = field(default_factory=list)
    tune_count: int = 1  # tunes in the file (ABC), 1 for single-piece formats
    #: heard from a recording (:mod:`cadenza.score.audio_read`): notes, tempo and meter are estimates, and no key
    #: signature is written; choosing one is listening (:func:`cadenza.listen.key.key_signature_of`), which
    #: the public reader :func:`cadenza.api.read_score_result` adds
    transcribed: bool = False


def _format_of(path: Path, data: bytes) -> str:
    fmt = READ_FORMATS.get(path.suffix.lower())
    if fmt:
        return fmt
    head = data[:512].lstrip()
    if data[:4] in (b"MThd", b"RIFF"):
        return "midi"
    if data[:2] == b"PK":
        return "mxl"
    if head.startswith(b"<?xml") or b"<score-partwise" in head:
        return "musicxml"
    if head.startswith((b"X:", b"%abc")):
        return "abc"
    if head.startswith((b"**kern", b"!!")):
        return "humdrum"
    if head.startswith(b"{"):
        return "json"
    known = ", ".join(sorted(READ_FORMATS))
    raise UnsupportedFormatError(f"cannot tell the format of {path.name!r}; readable extensions: {known}")


def resolve_reference(ref: str) -> tuple[Path, str | None]:
    """``music21:bach/bwv66.6[#N]`` -> (path inside music21's corpus, tune number or None)."""
    name = ref[len(MUSIC21_PREFIX):].strip()
    tune = None
    if "#" in name:
        name, tune = name.split("#", 1)
    if not name:
        raise UsageError("empty music21: reference (example: music21:bach/bwv66.6)")
    from music21 import corpus

    try:
        found = corpus.getWork(name)
    except Exception:  # noqa: BLE001 - music21 raises its own CorpusException types
        found = None
    if not found:
        raise InputError(f"no work {name!r} in music21's corpus (example: music21:bach/bwv66.6)")
    paths = found if isinstance(found, list) else [found]
    readable = [Path(p) for p in paths if Path(p).suffix.lower() in READ_FORMATS]
    if not readable:
        raise UnsupportedFormatError(f"music21 work {name!r} is in a format Cadenza does not read: {paths[0]}")
    preference = [".mxl", ".musicxml", ".xml", ".krn", ".abc", ".mid"]
    readable.sort(key=lambda p: preference.index(p.suffix.lower()) if p.suffix.lower() in preference else 99)
    return readable[0], tune


def _load_bytes(path: Path, limits: ReadLimits) -> bytes:
    size = file_size(path)
    if size > limits.max_file_bytes:
        raise over_limit("file size in MB", size / 2**20, "max_file_mb", limits)
    if size == 0:
        raise InputError(f"{path.name} is empty (0 bytes)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def _bar_count(score: Score) -> int:
    """The number of bars :meth:`Score.bar_starts` will list, counted per time-signature segment (that
    method walks bar by bar, which a hostile length and a 1/128 meter turn into millions of steps)."""
    sigs = score.time_signatures
    end = max(score.length_ticks, 1)
    pos = bars = 0
    if score.pickup_ticks:
        pos, bars = score.pickup_ticks, 1
        if len(sigs) > 1:
            pos = min(pos, sigs[1].onset_ticks)
    for i, sig in enumerate(sigs):
        stop = min(sigs[i + 1].onset_ticks, end) if i + 1 < len(sigs) else end
        if pos < stop:
            bars += -(-(stop - pos) // sig.bar_ticks)
            pos = stop
        if pos >= end:
            break
    return max(bars, 1)


def _checked(score: Score, limits: ReadLimits) -> Score:
    """Limits that hold for every format, checked on the finished score."""
    bars = _bar_count(score)
    if bars > limits.max_measures:
        raise over_limit("bars in the score", bars, "max_measures", limits)
    return score


# ------------------------------------------------------------------ the notation parsers (in the child)
def _parse_notation(text: str | bytes, fmt: str, limits: ReadLimits,
                    source: str) -> tuple[Score, list[str], list[str]]:
    """(the score, warnings in our words, what music21 printed on its own): music21's parsers write their
    complaints straight onto stderr; in this child they are caught, and the parent logs them for ``-v``."""
    chatter = io.StringIO()
    with contextlib.redirect_stderr(chatter):
        score, warn = _parse_notation_quietly(text, fmt, limits, source)
    lines = [line.strip() for line in chatter.getvalue().splitlines() if line.strip()]
    return score, warn, lines[:20]


def _plain_reason(exc: Exception) -> str:
    """The first line of a parser's error without music21's own objects (an ABC file of plain words said "...
    tPrev: None, token: <music21.abcFormat.ABCNote 'j'>, tNext: ...")."""
    first = (str(exc).strip().splitlines() or [""])[0]
    plain = re.split(r"\s*(?:\btPrev:|\btoken:|<music21\.)", first)[0].rstrip(" ,;:")
    return plain or type(exc).__name__


def _parse_notation_quietly(text: str | bytes, fmt: str, limits: ReadLimits, source: str) -> tuple[Score, list[str]]:
    from music21 import converter

    from cadenza.score.m21_read import measures_in_linear_time, score_from_music21

    dropped: list[str] = []
    with warnings.catch_warnings(record=True) as caught, measures_in_linear_time():
        warnings.simplefilter("always")
        try:
            parsed = converter.parseData(text, format=fmt, forceSource=True)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - music21's parsers raise anything on bad input
            first = _plain_reason(exc)
            repaired, dropped = _repaired(text) if fmt == "musicxml" else (text, [])
            if not dropped:
                raise InputError(f"music21 cannot parse this {fmt} file: {first[:200]}") from None
            try:  # the notes of an edition still count when music21 refuses one of its annotations
                parsed = converter.parseData(repaired, format=fmt, forceSource=True)
            except Exception:  # noqa: BLE001
                raise InputError(f"music21 cannot parse this {fmt} file: {first[:200]}") from None
        score, warn = score_from_music21(parsed, limits, source)
        warn = dropped + warn
    notices = sorted({str(w.message).splitlines()[0][:160] for w in caught})
    return score, warn + notices[:10]


# Elements of real editions that music21 refuses although the notes are fine: removed, and said, only when
# a file fails to parse (DCML's Roman numerals in <harmony>; a metronome mark with an empty beat unit).
_REPAIRS = (
    (re.compile(rb"<harmony\b.*?</harmony>", re.DOTALL), "chord annotations (<harmony>)"),
    (re.compile(rb"<metronome\b[^>]*>(?:(?!</metronome>).)*<beat-unit>\s*</beat-unit>.*?</metronome>", re.DOTALL),
     "metronome marks without a beat unit"),
)


def _repaired(text: str | bytes) -> tuple[str | bytes, list[str]]:
    """MusicXML without the elements of ``_REPAIRS``, and what was removed."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    said = []
    for pattern, what in _REPAIRS:
        data, count = pattern.subn(b"", data)
        if count:
            said.append(f"{count} {what} dropped: music21 could not read them")
    return (data.decode("utf-8") if isinstance(text, str) else data), said


def _notation(text: str | bytes, fmt: str, limits: ReadLimits, source: str) -> tuple[Score, list[str]]:
    import music21  # noqa: F401 - imported before the fork so the child starts warm

    score, warn, chatter = run_guarded(_parse_notation, text, fmt, limits, source,
                                       timeout_s=limits.parse_timeout_s(len(text)),
                                       max_memory_mb=limits.max_memory_mb, what=f"{fmt} parser")
    for line in chatter:
        log.debug("%s: music21 said: %s", source, line[:200])
    return score, warn


def _read_abc_tune(tune: AbcTune, limits: ReadLimits, source: str) -> tuple[Score, list[str]]:
    check_tune_text(tune.text)
    score, warn = _notation(with_default_length(tune.text), "abc", limits, source)
    warn = [*key_field_warnings(tune.text), *warn]
    _checked(score, limits)
    if tune.title and not score.metadata.title:
        score = score.with_metadata(title=tune.title)
    return score, warn


# ------------------------------------------------------------------ public entry points
def read_score_result(
    source: str | os.PathLike[str],
    limits: ReadLimits | None = None,
    tune: str | int | None = None,
    tune_index: int | None = None,
) -> ReadResult:
    """Read one score; the result carries the warnings about repaired damage and the tune count."""
    if tune_index is not None and (isinstance(tune_index, bool) or not isinstance(tune_index, int)):
        raise UsageError(f"tune index {tune_index!r:.40}: give a whole number (0 for the first tune)")
    limits = limits or ReadLimits()
    if not isinstance(source, str | os.PathLike) or not isinstance(text_source := os.fspath(source), str):
        raise UsageError(f"give a score file's path (str or Path) or a music21: reference, not "
                         f"{type(source).__name__} {source!r:.60}")
    if text_source.startswith(MUSIC21_PREFIX):
        path, ref_tune = resolve_reference(text_source)
        if ref_tune is not None and tune is None:
            tune = ref_tune
        label = text_source.split("#")[0] if tune is None else f"{text_source.split('#')[0]}#{tune}"
    else:
        path = Path(text_source)
        label = text_source
    if is_audio(path, READ_FORMATS):  # a recording, transcribed (the optional audio extra)
        if tune is not None or tune_index is not None:
            raise UsageError("a tune number (--tune N, or #N after a music21: reference) applies to multi-tune ABC "
                             "files, not to audio files")
        score, warn = read_audio(path, limits, source=label)
        return ReadResult(_checked(score, limits), warn, transcribed=True)
    data = _load_bytes(path, limits)
    fmt = _format_of(path, data)
    if fmt != "abc" and (tune is not None or tune_index is not None):
        raise UsageError(f"a tune number (--tune N, or #N after a music21: reference) applies to multi-tune ABC "
                         f"files, not to {fmt} files")
    if fmt == "midi":
        score, warn = read_midi_bytes(data, limits, source=label)
        return ReadResult(_checked(score, limits), warn)
    if fmt == "json":
        return ReadResult(_checked(read_json_bytes(data, limits, source=label), limits))
    if fmt in ("musicxml", "mxl"):
        xml = to_utf8(read_mxl(data, limits) if fmt == "mxl" else data)
        check_musicxml(xml, limits)
        score, warn = _notation(xml, "musicxml", limits, label)
        return ReadResult(_checked(score, limits), warn)
    if fmt == "humdrum":
        text = decode_abc(data)  # same decoding rules: UTF-8 else Latin-1, no NULs
        check_meters(_HUMDRUM_METER.findall(text))
        score, warn = _notation(text, "humdrum", limits, label)
        return ReadResult(_checked(score, limits), warn)
    tunes = split_tunes(decode_abc(data))
    chosen = select_tune(tunes, None if tune is None else str(tune), tune_index)
    if len(tunes) > 1 and tune is None and tune_index is None:
        note = (f"the file holds {len(tunes)} tunes; reading the first (X:{chosen.number}); "
                "choose another with --tune N")
    else:
        note = ""
    if len(tunes) > 1 and "#" not in label:
        label = f"{label}#{chosen.number or chosen.index}"
    score, warn = _read_abc_tune(chosen, limits, label)
    return ReadResult(score, ([note] if note else []) + warn, tune_count=len(tunes))


def read_score(
    source: str | os.PathLike[str],
    limits: ReadLimits | None = None,
    tune: str | int | None = None,
    tune_index: int | None = None,
) -> Score:
    """Read one score from a file or ``music21:`` reference; warnings go to the log."""
    result = read_score_result(source, limits, tune, tune_index)
    for line in result.warnings:
        log.warning("%s: %s", os.fspath(source), line)
    return result.score


def read_scores(source: str | os.PathLike[str], limits: ReadLimits | None = None) -> Iterator[ReadResult]:
    """Every piece in a file: each tune of an ABC file (a tune that fails yields nothing and is logged),
    or the one score of any other format."""
    limits = limits or ReadLimits()
    text_source = os.fspath(source)
    path = resolve_reference(text_source)[0] if text_source.startswith(MUSIC21_PREFIX) else Path(text_source)
    if path.suffix.lower() != ".abc" or "#" in text_source:
        yield read_score_result(source, limits)
        return
    tunes = split_tunes(decode_abc(_load_bytes(path, limits)))
    for tune in tunes:
        try:
            score, warn = _read_abc_tune(tune, limits, f"{text_source}#{tune.number or tune.index}")
        except InputError as exc:
            log.warning("%s tune %s: %s", text_source, tune.number or tune.index, exc)
            continue
        yield ReadResult(score, warn, tune_count=len(tunes))
