"""ABC files that hold many tunes: split them cheaply (text only) so that only the chosen tune is parsed.

A tune starts at an ``X:`` line; lines before the first tune are the file header, which applies to every
tune and is prepended to each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cadenza.errors import CorruptFileError, UsageError
from cadenza.score.m21_read import check_meters

_X_LINE = re.compile(r"^X:[ \t]*(\S*)", re.MULTILINE)
# a note or rest followed by a length multiplier of 6+ digits: a note longer than any music
_HUGE_LENGTH = re.compile(r"[A-Ga-gzx][,']*\d{6,}")
# a numeric meter, as a field line (M:6/8) or inline ([M:2+3/8]); beats may be written (2+3)
_METER = re.compile(r"(?:^M:|\[M:)[ \t]*+\(?+([0-9][0-9+ \t]*+)\)?+[ \t]*+/[ \t]*+([0-9]++)", re.MULTILINE)

# a key field, as a field line (K:Dmix) or inline ([K:G]): what follows up to the line's or the field's end
_KEY = re.compile(r"(?:^K:|\[K:)[ \t]*([^\]\n%]*)", re.MULTILINE)
# what music21 reads a key from: a tonic letter (whatever follows it), no key, the Highland pipes, or parameters
_KEY_READ = re.compile(r"[A-Ga-g]|none\b|HP\b|Hp\b|[a-z]+=")


@dataclass(frozen=True)
class AbcTune:
    index: int  # position in the file, from 0
    number: str  # the X: field as written
    title: str
    text: str  # header + tune, ready to parse


def decode_abc(data: bytes) -> str:
    """ABC text, whatever its encoding (UTF-8, else Latin-1), without NUL bytes."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


def split_tunes(text: str) -> list[AbcTune]:
    starts = [m.start() for m in _X_LINE.finditer(text)]
    if not starts:
        body = text.strip()
        if not body:
            raise CorruptFileError("empty ABC file")
        return [AbcTune(0, "", _title(body), body)]
    header = text[: starts[0]]
    header = "\n".join(ln for ln in header.splitlines() if ln[:2] not in ("X:", "T:"))
    tunes = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        body = text[start:end].strip()
        m = _X_LINE.match(body)
        number = m.group(1) if m else ""
        if m and not number:  # a bare "X:" line: music21 needs a number to parse the tune
            body = f"X:{i + 1}" + body[m.end():]
        tunes.append(AbcTune(i, number, _title(body), (header + "\n" + body).strip() + "\n"))
    return tunes


def _title(body: str) -> str:
    m = re.search(r"^T:\s*(.*)$", body, re.MULTILINE)
    return m.group(1).strip() if m else ""


def select_tune(tunes: list[AbcTune], number: str | None = None, index: int | None = None) -> AbcTune:
    """The tune with X: ``number``, or at position ``index``; the first when neither is given."""
    if number is not None:
        for tune in tunes:
            if tune.number == str(number):
                return tune
        shown = ", ".join(t.number for t in tunes[:10]) + (" …" if len(tunes) > 10 else "")
        raise UsageError(f"no tune with X:{number} in this file (it has {len(tunes)} tunes: X: {shown})")
    if index is not None:
        if not 0 <= index < len(tunes):
            raise UsageError(f"tune index {index} out of range: the file has {len(tunes)} tunes (0..{len(tunes) - 1})")
        return tunes[index]
    return tunes[0]


def check_tune_text(text: str) -> None:
    """Refuse what would make music21 build an absurd stream before it tries."""
    body = "\n".join(ln for ln in text.splitlines() if not re.match(r"^[A-Za-z]:", ln))
    if _HUGE_LENGTH.search(body):
        raise CorruptFileError("ABC note with an implausible length multiplier (6 or more digits)")
    m = re.search(r"^M:\s*(\d+)\s*/\s*(\d+)", text, re.MULTILINE)
    if m and not (m.group(1).strip("0") and m.group(2).strip("0")):
        raise CorruptFileError(f"ABC meter M:{m.group(1)[:20]}/{m.group(2)[:20]} is not a meter")
    check_meters((beats.strip(), beat_type[:20]) for beats, beat_type in _METER.findall(text))


def key_field_warnings(text: str) -> list[str]:
    """A warning for each key field (``K:``) that names no tonic: music21 reads the tune in C major then,
    silently (``K:H``, a German B, is neither a key nor the Highland pipes' ``HP``). A key field of parameters
    only (``K:clef=bass``) or none at all is C major by the standard, and is not warned of."""
    return [f"key field K:{spec.strip()[:20]} names no key: read in C major" for spec in _KEY.findall(text)
            if spec.strip() and not _KEY_READ.match(spec.strip())]


def with_default_length(text: str) -> str:
    """The tune with its unit note length written out where it has none (no ``L:`` field): as ABC 2.1 sets it,
    a sixteenth under a meter below 3/4, else an eighth (also with no meter). music21 refused such tunes ("no
    active default note length provided"), valid as they are."""
    if re.search(r"^L:|\[L:", text, re.MULTILINE):
        return text
    meter = _METER.search(text)
    beats = sum(int(b) for b in re.findall(r"\d+", meter.group(1))) if meter else 0
    short = meter is not None and int(meter.group(2)) > 0 and beats / int(meter.group(2)) < 0.75
    length = "L:1/16\n" if short else "L:1/8\n"
    key = re.search(r"^K:", text, re.MULTILINE)
    if key is None:
        return text
    return text[:key.start()] + length + text[key.start():]
