"""Shell completion (bash, zsh, fish) through argcomplete: commands, options, contact
handles and reminder ids.

The shell code that ``coffeechat completion SHELL`` prints runs the ``coffeechat``
command itself with ``_ARGCOMPLETE`` in its environment (and the line being typed in
``COMP_LINE``/``COMP_POINT``); :func:`coffeechat.daemon.console.run` sees that variable
before anything else and calls :func:`complete`, which answers on file descriptor 8 (or
in ``$_ARGCOMPLETE_STDOUT_FILENAME``) and exits. argcomplete is imported only then and
by ``coffeechat completion``: a command run normally pays nothing for it.

A CONTACT (the argument, ``--via``, ``--contact``) completes to the handles of the
contacts not archived; a REMINDER to the ids the agenda shows, each with its message
where the shell shows descriptions (zsh, fish). They are read from the home named on
the line being completed (``--home``), else ``$COFFEECHAT_HOME``, else the default.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coffeechat.daemon.cli.app import App

SHELLS = ("bash", "zsh", "fish")


def shell_code(shell: str) -> str:
    """Return the code that registers completion for ``coffeechat`` in ``shell``."""
    from argcomplete.shell_integration import shellcode

    return shellcode(["coffeechat"], shell=shell)


def complete() -> None:
    """Answer the shell's completion request described by the environment, then exit."""
    import argcomplete

    from coffeechat.daemon.cli import MODULE_OF, build_parser, command_word
    from coffeechat.daemon.cli.spec import Command

    extra: dict[str, Command] = {}
    words = _line_words()[1:]
    index = command_word(words)
    if index is None or words[index] not in MODULE_OF:
        from coffeechat.daemon.cli.extensions import plugin_commands

        try:  # the commands plugins add complete too (their loading warns on stderr)
            extra = plugin_commands(_home_of(words), reserved=set(MODULE_OF))
        except Exception:
            extra = {}
    parser = build_parser(extra)
    attach_completers(parser)
    argcomplete.autocomplete(parser, always_complete_options=False)
    os._exit(1)  # pragma: no cover - autocomplete exits; this is only if it returns


def attach_completers(parser: argparse.ArgumentParser) -> None:
    """Give every CONTACT and REMINDER argument of ``parser`` (and of its sub-commands,
    at any depth) the completer that lists what the home holds."""
    completers: dict[str, Callable[..., dict[str, str]]] = {
        "CONTACT": contacts,
        "REMINDER": reminders,
    }
    for action in parser._actions:
        completer = completers.get(str(action.metavar))
        if completer is not None:
            action.completer = completer  # type: ignore[attr-defined]
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                attach_completers(sub)


def contacts(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> dict[str, str]:
    """Return the handles of the contacts not archived that start with ``prefix``, each
    with the contact's name."""
    app = _app(parsed_args)
    if app is None:
        return {}
    try:
        state = app.state
    except Exception:
        return {}
    return {
        contact.handle: contact.name
        for contact in state.contacts.values()
        if contact.archived is None and contact.handle.startswith(prefix)
    }


def reminders(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> dict[str, str]:
    """Return the ids of the reminders the agenda shows that start with ``prefix``, each
    with its message."""
    app = _app(parsed_args)
    if app is None:
        return {}
    try:
        from coffeechat.daemon.cli.reminding import Rules

        found = Rules(app).reminders(app.state, app.now)
    except Exception:
        return {}
    return {r.id: r.message for r in found if r.id.startswith(prefix)}


def _app(parsed_args: argparse.Namespace) -> App | None:
    """Return the App of the home the line names, its warnings kept off the terminal."""
    from coffeechat.daemon.cli.app import App

    try:
        quiet = io.StringIO()
        return App(getattr(parsed_args, "home", None), False, stdout=quiet, stderr=quiet)
    except Exception:
        return None


def _line_words() -> list[str]:
    """Return the words of the line being completed, as far as they can be split."""
    line = os.environ.get("COMP_LINE", "")[: int(os.environ.get("COMP_POINT", "0") or 0)]
    try:
        return shlex.split(line)
    except ValueError:  # an open quote: the word being typed
        return line.split()


def _home_of(words: list[str]) -> str | None:
    for index, word in enumerate(words):
        if word == "--home" and index + 1 < len(words):
            return words[index + 1]
        if word.startswith("--home="):
            return word.split("=", 1)[1]
    return None
