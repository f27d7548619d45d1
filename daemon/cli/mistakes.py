"""The mistakes a user makes before a command runs: a mistyped command, option or choice
("did you mean …?", the nearest ones), and a home that is not there.

Imported on the way to exit 2, and by the commands that read a home (to check that it
exists); ``difflib`` only on the way to exit 2, so a correct command pays nothing for it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

# Patterns, compiled (and cached by re) only when a mistake is to be explained: every
# reading command imports this module for check_home.
_UNRECOGNIZED = r"^unrecognized arguments: (?P<words>.*)$"
# argparse 3.11 quotes each choice ('a', 'b'); later versions may not (a, b).
_INVALID_CHOICE = (
    r"^(?P<head>.*invalid choice: (?P<given>'.*?'|\S+)) \(choose from (?P<choices>.*)\)$"
)


def nearest(word: str, candidates: Sequence[str]) -> list[str]:
    """Return up to three candidates close to ``word``: those it is the start of
    (``sched``: ``schedule``), else the closest by spelling (``agneda``: ``agenda``)."""
    import difflib

    starts = [c for c in candidates if word and c.startswith(word)]
    if starts:
        return starts[:3]
    return difflib.get_close_matches(word, candidates, n=3, cutoff=0.6)


def _alternatives(names: list[str]) -> str:
    quoted = [f"'{name}'" for name in names]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


def unknown_command(word: str, commands: Sequence[str]) -> str:
    """Return the one line that answers a command word nobody knows."""
    from coffeechat.events.text import one_line

    guess = nearest(word, commands)
    hint = f"did you mean {_alternatives(guess)}?" if guess else "'coffeechat help' lists them"
    return f"coffeechat: unknown command '{one_line(word, 80)}': {hint}"


def suggest(message: str, options: Sequence[str]) -> str:
    """Given an argparse error message and the parser's long options, return the message
    with the nearest option or choice named instead of the whole list."""
    unrecognized = re.match(_UNRECOGNIZED, message)
    if unrecognized is not None:
        for word in unrecognized.group("words").split():
            if word.startswith("--"):
                guess = nearest(word.split("=", 1)[0], options)
                if guess:
                    return f"{message}: did you mean {_alternatives(guess)}?"
        return message
    invalid = re.match(_INVALID_CHOICE, message)
    if invalid is not None:
        given = invalid.group("given").strip("'")
        choices = [c.strip().strip("'") for c in invalid.group("choices").split(",")]
        guess = nearest(given, choices)
        if guess:
            return f"{invalid.group('head')}: did you mean {_alternatives(guess)}?"
    return message


def check_home(home: str | None) -> None:
    """Raise UserError when the home named by ``--home`` or ``$COFFEECHAT_HOME`` does not
    exist (the default XDG home may not exist yet: nothing was recorded)."""
    from coffeechat.events.errors import UserError
    from coffeechat.events.home import HOME_VARIABLE

    chosen = home or os.environ.get(HOME_VARIABLE)
    if chosen and not os.path.isdir(os.path.expanduser(chosen)):
        given = "--home" if home else f"${HOME_VARIABLE}"
        raise UserError(
            f"no coffeechat home at {chosen} ({given}): check the path; a recording "
            "command (add, note, …) starts a new home there"
        )
