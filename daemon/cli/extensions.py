"""Commands added by plugins (``coffeechat_commands``).

Loaded only when the command line meets a word that is not a built-in command (or for
``--help``), so the built-in commands never pay for loading plugins.
"""

from __future__ import annotations

import sys

from coffeechat.daemon.cli.spec import Command
from coffeechat.events.home import Home


def plugin_commands(home: str | None, reserved: set[str]) -> dict[str, Command]:
    """Return the commands the plugins of a home add; warn about refused ones on stderr."""
    from coffeechat.plugins.manager import load_plugins

    located = Home.locate(home)
    plugins = load_plugins(str(located.plugins_dir), cache_dir=located.cache_dir)
    commands: dict[str, Command] = {}
    for plugin, args, kwargs in plugins.collect("coffeechat_commands"):
        try:
            name, help_text, configure, run = (*args, *kwargs.values())
        except ValueError:
            print(
                f"warning: plugin {plugin!r}: register(name, help, configure, run) "
                "takes four arguments",
                file=sys.stderr,
            )
            continue
        if name in reserved or name in commands:
            print(f"warning: plugin {plugin!r}: the command {name!r} is taken", file=sys.stderr)
            continue
        commands[name] = Command(help_text, configure, run)
    for problem in plugins.problems:
        print(f"warning: {problem.describe()}", file=sys.stderr)
    return commands
