"""Shared CLI pieces: reading limits and threads as flags, JSON output, and turning errors into one-line messages."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from dataclasses import fields
from pathlib import Path
from typing import Any

from cadenza.errors import CadenzaError
from cadenza.score.limits import LIMIT_FLAGS, ReadLimits
from cadenza.threads import DEFAULT_THREADS, ENV_VARIABLE, set_threads

#: --model's help, wherever a command composes
MODEL_HELP = "a model folder, or the name of a model that ships with Cadenza (default: 'default'; see MODEL_CARD.md)"

_LIMIT_HELP = {
    "max_file_mb": "largest input file, in MB",
    "max_tracks": "most MIDI tracks",
    "max_events": "most MIDI events",
    "max_notes": "most notes in a score",
    "max_measures": "most bars in a score (measures in one MusicXML part)",
    "max_duration_s": "longest score, in seconds",
    "max_note_quarters": "longest single note, in quarter notes",
    "max_xml_depth": "deepest XML element nesting",
    "max_archive_members": "most files inside an .mxl archive",
    "max_compression_ratio": "highest compression ratio of an .mxl member",
    "timeout_s": "time limit for parsing MusicXML, ABC or Humdrum, in seconds",
    "timeout_s_per_mb": "seconds more for every MB of MusicXML, ABC or Humdrum text",
    "max_memory_mb": "memory limit for those parsers, in MB",
    "max_audio_s": "longest audio file to transcribe, in seconds",
    "max_audio_mb": "largest audio file, in MB",
}


def output_path(text: str) -> str:
    """An output option's value (argparse's ``type``): an empty one is refused in argparse's one line (``-o ""``
    had fallen back to the default name, ``--out ""`` to the current folder, convert's OUT to a traceback)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path: give a file or folder name")
    return text


def output_folder(text: str) -> Path:
    """:func:`output_path` as a Path."""
    return Path(output_path(text))


def add_limit_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading limits (raise them for legitimately huge files)")
    defaults = ReadLimits()
    for f in fields(ReadLimits):
        kind = int if isinstance(getattr(defaults, f.name), int) else float
        group.add_argument(LIMIT_FLAGS[f.name], dest=f"limit_{f.name}", type=kind, metavar="N",
                           default=None, help=f"{_LIMIT_HELP[f.name]} (default {getattr(defaults, f.name):g})")


def add_tune_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tune", metavar="N", help="in a multi-tune ABC file, the tune whose X: number is N")
    parser.add_argument("--tune-index", metavar="I", type=int,
                        help="in a multi-tune ABC file, the tune at position I (from 0)")


def limits_from(args: argparse.Namespace) -> ReadLimits:
    given = {f.name: getattr(args, f"limit_{f.name}") for f in fields(ReadLimits)
             if getattr(args, f"limit_{f.name}", None) is not None}
    try:
        return ReadLimits(**given)
    except ValueError as exc:
        raise CadenzaError(str(exc)) from None


def add_threads_flag(parser: argparse.ArgumentParser, dest: str = "threads", default: Any = None) -> None:
    """``--threads N``: torch's thread count for the whole command (:mod:`cadenza.threads`)."""
    parser.add_argument("--threads", dest=dest, type=int, metavar="N", default=default,
                        help=f"torch threads for this command (default: ${ENV_VARIABLE}, else {DEFAULT_THREADS}: "
                        "measured fastest on shared cores)")


def apply_threads(args: argparse.Namespace) -> int:
    """Choose the process's torch thread count once, from ``--threads`` after the command or before it, else
    ``CADENZA_THREADS``, else the default; a command with its own ``--threads`` (serve's workers) gets the
    count given before the command when it was not given one."""
    given = getattr(args, "threads", None)
    if given is None:
        given = getattr(args, "global_threads", None)
        if given is not None and hasattr(args, "threads"):
            args.threads = given
    return set_threads(given)


def counted(count: int, word: str) -> str:
    """``count`` of ``word``, singular for one: "1 bar", "4 bars", "1,200 notes"."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def print_warnings(lines: list[str]) -> None:
    for line in lines:
        print(f"cadenza: warning: {line}", file=sys.stderr)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a closed terminal): handled like Ctrl-C, so work in progress is saved."""


def run_command(args: argparse.Namespace, *, until_exit: bool = False) -> int:
    """Run the chosen command; a CadenzaError becomes one line on stderr and its exit code. SIGTERM and
    SIGHUP stop it as Ctrl-C does (a corpus build keeps what it has read, training its last checkpoint).

    With ``until_exit`` (the process ends with this command), the stop handlers stay until the interpreter
    is gone: a stop that arrives once the command is done (while worker pools and caches close) ends the
    process at once with the command's own exit code, rather than killing it as if the work were lost."""
    code: int | None = None

    def stop(signum: int, frame: object) -> None:
        if code is not None:  # the work is done and written: a late stop only hastens the exit
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        raise Stopped(signal.Signals(signum).name)

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name) and threading.current_thread() is threading.main_thread():
            previous[name] = signal.signal(getattr(signal, name), stop)
    try:
        code = _run(args)
        return code
    finally:
        if not until_exit:
            for name, handler in previous.items():
                signal.signal(getattr(signal, name), handler)


def _run(args: argparse.Namespace) -> int:
    try:
        apply_threads(args)
        result = args.func(args)
    except CadenzaError as exc:
        message = " ".join(str(exc).split())
        print(f"cadenza: error: {message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print(f"cadenza: interrupted{f' ({exc})' if isinstance(exc, Stopped) else ''}", file=sys.stderr)
        return 143 if isinstance(exc, Stopped) else 130
    except BrokenPipeError:  # the reader of our output went away (`cadenza analyse x | head`)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return int(result or 0)
