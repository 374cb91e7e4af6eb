"""Every error Cadenza raises on purpose, with the exit code the CLI gives it.

A user's mistake or a bad file is a :class:`CadenzaError`; the CLI prints its message on one line and
exits with ``exit_code``. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class CadenzaError(Exception):
    """Base of all expected errors; ``exit_code`` is what the CLI returns."""

    exit_code = 2


class UsageError(CadenzaError):
    """A request that cannot be carried out as asked (unknown option value, missing tune…)."""


class InputError(CadenzaError):
    """A file or reference that cannot be read as a score."""


class UnsupportedFormatError(InputError):
    """A file extension or content that no reader or writer handles."""


class CorruptFileError(InputError):
    """A file whose bytes do not form a valid score of its format."""


class LimitExceededError(InputError):
    """A file over one of the reading limits (size, notes, measures, duration…); the message names the flag
    that raises the limit."""


class ParseTimeoutError(InputError):
    """A parser that ran past its time limit."""


class ParserMemoryError(InputError):
    """A parser that ran past its memory limit."""


class OutputError(CadenzaError):
    """A file that could not be written."""


class RenderError(CadenzaError):
    """A score that could not be rendered as asked: an optional package or program is missing (the message
    says what to install), or the renderer refused the score."""


class CopyError(CadenzaError):
    """A piece that shares more with a training work than the originality threshold allows: ``cadenza
    check`` exits with this code after its report when the verdict is "copied"."""

    exit_code = 3
