"""The coffeechat command line.

``main`` parses the arguments, runs one command and turns the errors a user can
cause into exit statuses: 2 for bad input (one line on stderr, nothing appended), 3
for a log that cannot be read, 1 for a runtime failure. Commands live in modules by
group (:mod:`.recording`, :mod:`.reading`, :mod:`.maintenance`); only the parser of
the command being run is built, which keeps a recording command quick to start.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from coffeechat.daemon.cli import maintenance, reading, recording
from coffeechat.daemon.cli.app import App
from coffeechat.daemon.cli.spec import Command
from coffeechat.events.errors import LogDamaged, UserError

GROUPS = (
    ("record what happened", recording.COMMANDS),
    ("read", reading.COMMANDS),
    ("operate", maintenance.COMMANDS),
)
COMMANDS: dict[str, Command] = {name: spec for _, group in GROUPS for name, spec in group.items()}
DEFAULT_COMMAND = "agenda" if "agenda" in COMMANDS else "ls"


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, exit status 2."""

    def error(self, message: str) -> NoReturn:
        """Print one line naming the command and the problem, then exit 2."""
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--home",
        metavar="DIR",
        default=default,
        help="use DIR for config and data (default: $COFFEECHAT_HOME, else the XDG folders)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="print JSON (read commands) or the appended events (recording commands)",
    )


def build_parser(only: str | None = None) -> Parser:
    """Return the parser; with ``only``, build just that command's sub-parser."""
    parser = Parser(
        prog="coffeechat",
        description="Run informational interviews and keep the network they build.",
        epilog="With no command, shows the agenda. 'coffeechat COMMAND --help' for one command.",
    )
    _global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for _title, group in GROUPS:
        for name, spec in group.items():
            if only is not None and name != only:
                continue
            sub = commands.add_parser(name, help=spec.help, description=spec.description)
            _global_options(sub, suppress=True)
            spec.configure(sub)
    return parser


def _command_word(argv: Sequence[str]) -> str | None:
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word == "--home":
            skip = True
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    word = _command_word(arguments)
    parser = build_parser(only=word)
    try:
        args = parser.parse_args(arguments)
    except SystemExit as stop:
        return int(stop.code or 0)
    command = args.command or DEFAULT_COMMAND
    if args.command is None:
        parser = build_parser(only=command)
        args = parser.parse_args([*arguments, command])
    try:
        app = App(home=args.home, json=args.json)
        return COMMANDS[command].run(app, args) or 0
    except UserError as error:
        print(f"coffeechat {command}: {error}", file=sys.stderr)
        return UserError.exit_status
    except LogDamaged as error:
        print(f"coffeechat {command}: {error}", file=sys.stderr)
        return LogDamaged.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        print(f"coffeechat {command}: {error.strerror or error}{where}", file=sys.stderr)
        return 1
