"""The coffeechat command line.

``main`` parses the arguments, runs one command and turns the errors a user can
cause into exit statuses: 2 for bad input (one line on stderr, nothing appended), 3
for a log that cannot be read, 1 for a runtime failure. Commands live in modules by
group (:mod:`.recording`, :mod:`.reading`, :mod:`.maintenance`); only the parser of
the command being run is built, which keeps a recording command quick to start.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from coffeechat.daemon.cli.spec import Command
from coffeechat.events.errors import LogDamaged, UserError
from coffeechat.events.text import one_line

# Which module holds each command, so that running one imports only its group.
GROUPS = {
    "recording": (
        "record what happened",
        (
            "add",
            "edit",
            "plan",
            "reach",
            "reply",
            "schedule",
            "reschedule",
            "cancel",
            "met",
            "thank",
            "intro",
            "touch",
            "note",
            "every",
            "archive",
            "undo",
        ),
    ),
    "reading": ("read", ("ls", "show", "log")),
    "reminding": ("reminders", ("agenda", "done", "snooze", "why", "plugins")),
    "insights": ("read", ("insights",)),
    "maintenance": ("operate", ("fsck", "demo")),
    "operating": ("operate", ("daemon", "channels", "doctor")),
    "service": ("operate", ("service",)),
    "transfer": ("operate", ("export", "import")),
    "serve": ("look", ("serve",)),
    "mail": ("mail", ("draft", "send")),
    "guide": ("help", ("help", "completion")),
}
MODULE_OF = {name: module for module, (_, names) in GROUPS.items() for name in names}
DEFAULT_COMMAND = "agenda"


def command(name: str) -> Command:
    """Return the specification of one command, importing only its group's module."""
    # __import__ rather than importlib.import_module: a recording command need not load
    # the importlib package (about 0.2 ms) for one import.
    module_name = f"coffeechat.daemon.cli.{MODULE_OF[name]}"
    __import__(module_name)
    spec: Command = sys.modules[module_name].COMMANDS[name]
    return spec


class Formatter(argparse.HelpFormatter):
    """argparse's help formatter, told the width so that it need not import ``shutil``.

    argparse builds a formatter for every ``add_argument``; left to itself it asks
    ``shutil`` for the terminal size, and importing ``shutil`` (with its compression
    modules) costs a recording command a few milliseconds.
    """

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_terminal_width() - 2)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        """Wrap each line of a description or epilog on its own; keep indented lines
        (examples) exactly as written."""
        lines = []
        for line in text.splitlines():
            kept = line.startswith(" ")
            lines.append(indent + line if kept else super()._fill_text(line, width, indent))
        return "\n".join(lines)


def _terminal_width() -> int:
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):
        return 80


_NEGATIVE_WHEN = re.compile(r"^-\d+([.]\d+)?[mhdw]?$")


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, exit status 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)
        # A relative WHEN ("-2d", "-30m") is a value, not an option: argparse already
        # treats "-2" so when no option looks like a number; extend that to our units.
        self._negative_number_matcher = _NEGATIVE_WHEN

    def error(self, message: str) -> NoReturn:
        """Print one line naming the command and the problem, then exit 2.

        argparse quotes the arguments it could not use: they are escaped (a newline or an
        escape sequence in them stays on this line, shown) and a long one is cut. A
        mistyped option or choice gets a "did you mean …?" instead of the list.
        """
        from coffeechat.daemon.cli.mistakes import suggest

        options = [o for o in self._option_string_actions if o.startswith("--")]
        message = suggest(message, options)
        self.exit(2, f"{self.prog}: {one_line(message)} (see '{self.prog} --help')\n")


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


def build_parser(extra: dict[str, Command] | None = None) -> Parser:
    """Return the whole parser: every command as a sub-parser (for help and mistakes).

    ``extra`` holds the commands plugins added (loaded only when they are needed).
    """
    from coffeechat.daemon.cli.about import description, epilog

    extra = extra or {}
    parser = Parser(
        prog="coffeechat",
        description="Run informational interviews and keep the network they build.",
        epilog=f"With no command, runs '{DEFAULT_COMMAND}'. 'coffeechat help COMMAND' (or "
        "'coffeechat COMMAND --help') for one; docs/cli.md for all.\n\n"
        "examples:\n"
        '  coffeechat add "Ada Lovelace" --learn "how she moved into engineering"\n'
        "  coffeechat plan ada\n"
        "  coffeechat",
    )
    _global_options(parser, suppress=False)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in [*MODULE_OF, *extra]:
        spec = extra[name] if name in extra else command(name)
        sub = commands.add_parser(
            name,
            help=spec.help,
            description=description(name, spec.description),
            epilog=epilog(name) if name not in extra else None,
        )
        _global_options(sub, suppress=True)
        spec.configure(sub)
    return parser


def build_command_parser(
    name: str, spec: Command, prog: str | None = None, *, helping: bool = True
) -> Parser:
    """Return the parser of one command on its own (``coffeechat NAME``).

    It reads the same arguments as the sub-parser :func:`build_parser` makes for it,
    given without the command word; building it alone skips the top-level parser,
    which is most of what a recording command spends in argparse. ``prog`` names the
    command in its messages (``coffeechat`` alone, for the default command).
    ``helping``: give it its description and example (False when no help is asked for:
    a recording command need not load them).
    """
    text, example = spec.description, None
    if helping and name in MODULE_OF:
        from coffeechat.daemon.cli.about import description, epilog

        text, example = description(name, spec.description), epilog(name)
    parser = Parser(prog=prog or f"coffeechat {name}", description=text, epilog=example)
    _global_options(parser, suppress=False)
    spec.configure(parser)
    return parser


def command_word(argv: Sequence[str]) -> int | None:
    """Return the index of the command word in ``argv`` (None when there is none)."""
    skip = False
    for index, word in enumerate(argv):
        if skip:
            skip = False
            continue
        if word == "--home":
            skip = True
        elif not word.startswith("-"):
            return index
    return None


def _without(arguments: list[str], index: int) -> list[str]:
    return arguments[:index] + arguments[index + 1 :]


def _home_argument(argv: Sequence[str]) -> str | None:
    for index, word in enumerate(argv):
        if word == "--home" and index + 1 < len(argv):
            return argv[index + 1]
        if word.startswith("--home="):
            return word.split("=", 1)[1]
    return None


def _not_utf8(arguments: Sequence[str]) -> str | None:
    """Return the first argument that is not valid UTF-8 (shown escaped), or None.

    Python hands such bytes over as lone surrogates (``\\udcff``): nothing could store
    or print them, so they are refused before anything runs.
    """
    for argument in arguments:
        if argument.isascii():
            continue
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            raw = argument.encode("utf-8", "surrogateescape")
            return raw.decode("utf-8", "backslashreplace")
    return None


# Commands that only read a home (or act on reminders it holds): a home that does not
# exist is a mistyped --home, not an empty one (mistakes.check_home). Recording commands
# create it.
NEEDS_A_HOME = frozenset(
    {
        *("ls", "show", "log", "agenda", "done", "snooze", "why", "insights", "plugins"),
        *("fsck", "export", "draft"),
    }
)


def _error(name: str, message: object) -> None:
    """Print a command's error as one line on stderr (escaped, a very long one cut)."""
    print(f"coffeechat {name}: {one_line(str(message), 1000)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    bad = _not_utf8(arguments)
    if bad is not None:
        print(f"coffeechat: an argument is not valid UTF-8: '{one_line(bad)}'", file=sys.stderr)
        return UserError.exit_status
    index = command_word(arguments)
    word, own = (
        (None, arguments) if index is None else (arguments[index], _without(arguments, index))
    )
    extra: dict[str, Command] = {}
    before = arguments[:index]  # the global options, before the command word
    if "--version" in before:
        from coffeechat.daemon.cli.about import print_version

        return print_version()
    wants_help = any(a in ("-h", "--help") for a in before)
    if (word is not None and word not in MODULE_OF) or wants_help:
        from coffeechat.daemon.cli.extensions import plugin_commands

        extra = plugin_commands(_home_argument(arguments), reserved=set(MODULE_OF))
    name = word or DEFAULT_COMMAND
    try:
        if word is not None and word not in MODULE_OF and word not in extra:
            from coffeechat.daemon.cli.mistakes import unknown_command

            print(unknown_command(word, [*MODULE_OF, *extra]), file=sys.stderr)
            return UserError.exit_status
        if wants_help:
            build_parser(extra).parse_args(arguments)  # prints the help
            return 2  # not reached: argparse exits
        spec = extra[name] if name in extra else command(name)
        prog = None if word else "coffeechat"
        helping = any(a in ("-h", "--help") for a in own)
        args = build_command_parser(name, spec, prog, helping=helping).parse_args(own)
    except SystemExit as stop:
        return int(stop.code or 0)
    recording = MODULE_OF.get(name) == "recording"
    if not recording:
        gc.enable()  # the console script starts with it off (see coffeechat.daemon.console)
    try:
        if name in NEEDS_A_HOME:
            from coffeechat.daemon.cli.mistakes import check_home

            check_home(args.home)
        from coffeechat.daemon.cli.app import App

        app = App(home=args.home, json=args.json, few_contacts=recording)
        spec = extra[name] if name in extra else command(name)
        return spec.run(app, args) or 0
    except UserError as error:
        _error(name, error)
        return UserError.exit_status
    except LogDamaged as error:
        _error(name, error)
        return LogDamaged.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        _error(name, f"{error.strerror or error}{where}")
        return 1
