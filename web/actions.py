"""The dashboard's buttons run the command line's own commands, in this process.

A Done button runs ``coffeechat done ID``, a Met form ``coffeechat met HANDLE --learned …``:
the same parser reads the same arguments, and the command's own ``run`` decides and
appends through the same :class:`~coffeechat.daemon.cli.app.App` (one durable batch,
the snapshot kept current). So the web appends exactly what the terminal would, and a
change to a command (what ``done`` records, say) reaches both at once. What the command
prints becomes the message the page shows.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr
from typing import TYPE_CHECKING

import msgspec

from coffeechat.daemon.cli import build_command_parser, command
from coffeechat.events.errors import LogDamaged, UserError

if TYPE_CHECKING:
    from coffeechat.daemon.cli.app import App

# What the pages may run, and nothing else: the reminders' buttons, the next steps, and
# the e-mail draft (which only reads).
ALLOWED = frozenset(
    {"done", "snooze", "plan", "reach", "reply", "schedule", "met", "thank", "draft"}
)


class Outcome(msgspec.Struct):
    """What running a command did: its exit status, what it printed on standard output
    (one line per event recorded) and on standard error (tips, notes, warnings, the
    error)."""

    status: int
    said: list[str]
    told: list[str]

    @property
    def ok(self) -> bool:
        """Whether the command succeeded."""
        return self.status == 0


def run_command(app: App, name: str, arguments: list[str]) -> Outcome:
    """Run the command ``name`` with ``arguments`` (as typed after ``coffeechat NAME``)
    on ``app``, as the command line would; return what it did.

    ``app`` must have been made with its own ``stdout`` and ``stderr`` buffers. Bad input
    is status 2 with the command line's one-line message, nothing appended.
    """
    if name not in ALLOWED:
        raise ValueError(f"the dashboard does not run {name!r}")
    spec = command(name)
    parser = build_command_parser(name, spec, helping=False)
    errors = io.StringIO()
    try:
        with redirect_stderr(errors):  # argparse writes its refusal there
            args = parser.parse_args(arguments)
    except SystemExit as stop:
        return Outcome(int(stop.code or 0), [], _lines(errors.getvalue()))
    status = 0
    try:
        status = spec.run(app, args) or 0
    except (UserError, LogDamaged) as error:
        status = error.exit_status
        app.warn(str(error), label=f"coffeechat {name}")
    except OSError as error:
        status = 1
        app.warn(f"{error.strerror or error}", label=f"coffeechat {name}")
    return Outcome(status, _lines(_text(app.stdout)), _lines(_text(app.stderr)))


def _text(stream: object) -> str:
    return stream.getvalue() if isinstance(stream, io.StringIO) else ""


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]
