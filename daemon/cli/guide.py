"""``coffeechat help [COMMAND]`` and ``coffeechat completion bash|zsh|fish``."""

from __future__ import annotations

import argparse

from coffeechat.daemon.cli.app import App
from coffeechat.daemon.cli.spec import Command
from coffeechat.events.errors import UserError


def _configure_help(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topic", nargs="?", metavar="COMMAND", help="the command to explain")


def _run_help(app: App, args: argparse.Namespace) -> None:
    from coffeechat.daemon.cli import MODULE_OF, build_command_parser, build_parser, command
    from coffeechat.daemon.cli.extensions import plugin_commands

    extra: dict[str, Command] = {}
    if args.topic is None or args.topic not in MODULE_OF:
        extra = plugin_commands(args.home, reserved=set(MODULE_OF))
    if args.topic is None:
        app.stdout.write(build_parser(extra).format_help())
        return
    if args.topic in MODULE_OF:
        spec = command(args.topic)
    elif args.topic in extra:
        spec = extra[args.topic]
    else:
        from coffeechat.daemon.cli.mistakes import nearest

        guess = nearest(args.topic, [*MODULE_OF, *extra])
        hint = f": did you mean '{guess[0]}'?" if guess else ": 'coffeechat help' lists them"
        raise UserError(f"no command '{args.topic}'{hint}")
    app.stdout.write(build_command_parser(args.topic, spec).format_help())


def _configure_completion(parser: argparse.ArgumentParser) -> None:
    from coffeechat.daemon.cli.completion import SHELLS

    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help=" | ".join(SHELLS))


def _run_completion(app: App, args: argparse.Namespace) -> None:
    from coffeechat.daemon.cli.completion import shell_code

    app.stdout.write(shell_code(args.shell))


COMMANDS: dict[str, Command] = {
    "help": Command("this help, or a command's", _configure_help, _run_help),
    "completion": Command(
        "shell completion code: bash, zsh or fish", _configure_completion, _run_completion
    ),
}
