"""The ``cadenza`` command: one module per command group, each a thin layer over :mod:`cadenza.api`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from cadenza.cli import (
    analyse,
    bench,
    check,
    compose,
    convert,
    corpus,
    evaluate,
    info,
    live,
    serve,
    soundtrack,
    styles,
    train,
)
from cadenza.cli.common import Stopped, add_threads_flag, run_command
from cadenza.errors import CadenzaError

COMMANDS = (compose, styles, soundtrack, info, analyse, check, convert, corpus, train, evaluate, bench, serve, live)


class OneLineErrors(argparse.ArgumentParser):
    """An argument parser whose errors are one line, naming the command's help (argparse's own printed the whole
    usage block first: eleven lines before the error for ``cadenza compose --bars x``). Subcommands' parsers are
    of the same class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        """Arguments this parser does not know are its error, named with its help: a command's (argparse
        left them to the top parser, whose line said "see 'cadenza --help'" for ``cadenza check x.mid
        --index foo``)."""
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def build_parser() -> argparse.ArgumentParser:
    from cadenza import __version__

    parser = OneLineErrors(
        prog="cadenza",
        description="Cadenza, an open-source AI composer. Reads scores (MIDI, MusicXML, ABC, Humdrum, "
        "music21 corpus references like music21:bach/bwv66.6), converts them, listens to them (~50 labels), "
        "composes new pieces and continuations with its shipped model, checks pieces for copying from the "
        "training data, builds labelled corpora, and trains and evaluates models.",
        epilog="Run 'cadenza COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"cadenza {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging details on stderr")
    add_threads_flag(parser, dest="global_threads")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    for command in sub.choices.values():  # --threads after the command too (serve has its own: per worker)
        if "--threads" not in command._option_string_actions:
            add_threads_flag(command, dest="threads", default=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``argv`` (default: this process's own arguments, and then the process ends with
    the command, so its stop handlers stay until it exits); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s: %(message)s", stream=sys.stderr)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return run_command(args, until_exit=argv is None)
    except KeyboardInterrupt as exc:  # a stop in the instant between the command's end and its code being kept
        return 143 if isinstance(exc, Stopped) else 130
    except CadenzaError as exc:  # already reported by run_command; kept for safety
        print(f"cadenza: error: {exc}", file=sys.stderr)
        return exc.exit_code
