"""Limits on what a reader accepts, so that a hostile or broken file fails fast with a clear message.

Each limit has a sane default and a CLI flag (named in the error message) for a user whose legitimate file
is larger.
"""

from __future__ import annotations

import numbers
import stat
from dataclasses import dataclass, fields
from pathlib import Path

from cadenza.errors import InputError, LimitExceededError, UsageError


@dataclass(frozen=True)
class ReadLimits:
    max_file_mb: float = 64.0  # bytes on disk (and inside an .mxl archive, per member)
    max_tracks: int = 1024  # MIDI track chunks
    max_events: int = 5_000_000  # MIDI events, all tracks
    max_notes: int = 1_000_000  # notes in the resulting score
    max_measures: int = 10_000  # bars in a score (and measures per part in MusicXML)
    max_duration_s: float = 6 * 3600.0  # length of the whole score at its own tempo
    max_note_quarters: float = 4096.0  # one note's length, in quarter notes
    max_xml_depth: int = 64  # element nesting in MusicXML
    max_archive_members: int = 256  # files in an .mxl archive
    max_compression_ratio: float = 200.0  # uncompressed / compressed size of an .mxl member
    timeout_s: float = 8.0  # wall time for the notation parsers (MusicXML, ABC, Humdrum); the largest work
    #                         in music21's corpus (Beethoven op. 133, 742 bars) parses in ~3 s
    timeout_s_per_mb: float = 6.0  # ... and this much more for every MB of notation text, so a large valid file
    #                         (a 9,999-bar score, 1.3 MB: 8 s of its 16 s on a busy machine) is read in time
    max_memory_mb: int = 2048  # extra memory the notation parsers may take
    max_audio_s: float = 600.0  # length of an audio file to transcribe (checked in the header and while decoding)
    max_audio_mb: float = 256.0  # bytes on disk of an audio file (a 10-minute 48 kHz 24-bit stereo WAV is 165 MB)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise UsageError(f"limit {f.name} {value!r:.60}: expected a number")
            if not float(value) > 0:
                raise UsageError(f"limit {f.name} must be positive")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    def parse_timeout_s(self, text_bytes: int) -> float:
        """The notation parsers' time limit for a text of ``text_bytes``: it grows with the file."""
        return self.timeout_s + self.timeout_s_per_mb * text_bytes / 2**20


#: CLI flag that raises each limit, named in error messages.
LIMIT_FLAGS = {
    "max_file_mb": "--max-file-mb",
    "max_tracks": "--max-tracks",
    "max_events": "--max-events",
    "max_notes": "--max-notes",
    "max_measures": "--max-measures",
    "max_duration_s": "--max-duration-s",
    "max_note_quarters": "--max-note-quarters",
    "max_xml_depth": "--max-xml-depth",
    "max_archive_members": "--max-archive-members",
    "max_compression_ratio": "--max-compression-ratio",
    "timeout_s": "--timeout-s",
    "timeout_s_per_mb": "--timeout-s-per-mb",
    "max_memory_mb": "--max-memory-mb",
    "max_audio_s": "--max-audio-s",
    "max_audio_mb": "--max-audio-mb",
}


def over_limit(what: str, value: float, limit_name: str, limits: ReadLimits) -> LimitExceededError:
    """The error for ``what`` = ``value`` exceeding the limit ``limit_name``."""
    limit = getattr(limits, limit_name)
    return LimitExceededError(
        f"{what} ({_number(value)}) exceeds the limit of {_number(limit)}; raise it with "
        f"{LIMIT_FLAGS[limit_name]} if the file is legitimate"
    )


def file_size(path: Path, what: str = "a score file") -> int:
    """The size of the file a user named, or a one-line error: missing, unreadable, or a folder. The first
    check of every reader (the notation formats' in :mod:`cadenza.score.read`, audio's in
    :mod:`cadenza.score.audio_read`), before the size is held against its limit."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path} is a folder, not {what}")
    if not stat.S_ISREG(info.st_mode):  # a device, pipe or socket: its size says nothing, reading may not end
        raise InputError(f"{path} is a device, pipe or socket, not {what}")
    return info.st_size


def _number(value: float) -> str:
    """1,000,000 for whole numbers up to a trillion, else 3 significant digits (1.2e+300, 0.25)."""
    if abs(value) < 1e12 and float(value).is_integer():
        return f"{int(value):,}"
    if 10 <= abs(value) < 1e12:
        return f"{value:,.0f}"
    return f"{value:.3g}"
