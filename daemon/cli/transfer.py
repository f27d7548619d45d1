"""Your data out and in: ``export ics|json [FILE]``, ``import json FILE``.

``export`` and ``import`` take a FORMAT word, each format a :class:`Command` of its own
in :data:`EXPORTERS` or :data:`IMPORTERS`: adding one (``import linkedin``, ``import
vcard``) is one entry there, with its own options, help and run function, importing
what it needs only when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from coffeechat.daemon.cli.app import App
from coffeechat.daemon.cli.spec import Command
from coffeechat.events.errors import UserError

if TYPE_CHECKING:
    from coffeechat.events.ics import Todo
    from coffeechat.plugins.reminders import Reminder

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[App, argparse.Namespace], "int | None"]


def _write_out(app: App, data: bytes, path: str | None) -> None:
    """Write ``data`` to FILE (atomically, 0600: it is your data) or to standard output."""
    if path is None or path == "-":
        buffer = getattr(app.stdout, "buffer", None)
        if buffer is not None:
            app.stdout.flush()
            buffer.write(data)
            buffer.flush()
        else:
            app.stdout.write(data.decode("utf-8"))
        return
    from coffeechat.daemon.files import write_private

    write_private(path, data)


def _file_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "file", nargs="?", metavar="FILE", help=f"write {what} here (0600); stdout without it"
    )


# --- export ics ----------------------------------------------------------------------------

# The playbook's prep and on-time reminders are the meetings' VALARMs already.
_ALARM_KINDS = ("prep", "on-time")
TODO_DAYS = 7  # as far ahead as the agenda looks by default
_PRIORITY = {"high": 1, "normal": 5, "low": 9}


def _configure_ics(parser: argparse.ArgumentParser) -> None:
    _file_argument(parser, "the calendar")
    parser.add_argument(
        "--todos",
        action="store_true",
        help=f"add the agenda's reminders (due, and the next {TODO_DAYS} days) as VTODOs",
    )


def _run_ics(app: App, args: argparse.Namespace) -> None:
    from coffeechat.daemon.calendar import calendar_of
    from coffeechat.plugins.settings import PlaybookSettings, load_settings

    state = app.state
    if args.todos:
        from coffeechat.daemon.cli.reminding import Rules

        rules = Rules(app)
        playbook = rules.settings.playbook
        todos = _todos(rules.reminders(state, app.now), app)
    else:
        # Only the playbook's numbers are needed: no plugin is loaded for them.
        settings = load_settings(app.home.config_file, {"playbook": PlaybookSettings})
        playbook, todos = settings.playbook, []
    text = calendar_of(app.home.log_dir, state, playbook, todos, app.now)
    _write_out(app, text.encode("utf-8"), args.file)


def _todos(reminders: list[Reminder], app: App) -> list[Todo]:
    from coffeechat.events.ics import Todo, utc_text

    horizon = app.now + timedelta(days=TODO_DAYS)
    todos = []
    for reminder in reminders:
        if reminder.kind in _ALARM_KINDS or reminder.due > horizon:
            continue
        uid = f"coffeechat-reminder-{reminder.id}"
        if reminder.recurring and reminder.occurrence is not None:
            uid += f"-{utc_text(reminder.occurrence)}"
        contact = app.state.contacts.get(reminder.contact) if reminder.contact else None
        who = f": {contact.name}" if contact is not None else ""
        todos.append(
            Todo(
                uid=uid,
                due=reminder.due,
                summary=f"{reminder.kind}{who}",
                description=reminder.message,
                priority=_PRIORITY.get(reminder.priority, 5),
                category=reminder.kind,
            )
        )
    return todos


# --- export json / import json -------------------------------------------------------------


def _configure_export_json(parser: argparse.ArgumentParser) -> None:
    _file_argument(parser, "the backup")


def _run_export_json(app: App, args: argparse.Namespace) -> None:
    from coffeechat.events.backup import export_lines
    from coffeechat.events.log import LogProblem, read_segments

    problems: list[LogProblem] = []
    data = b"".join(export_lines(read_segments(app.home.log_dir), problems))
    app.warn_problems(problems)
    _write_out(app, data, args.file)
    if args.file not in (None, "-"):
        count = data.count(b"\n")
        app.warn(f"exported {count} event(s) to {args.file}", label="note")


def _configure_import_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a backup made by 'export json' (- for stdin)")


def _run_import_json(app: App, args: argparse.Namespace) -> None:
    from coffeechat.events.backup import log_is_empty, restore, split_backup

    if not log_is_empty(app.home.log_dir):
        raise UserError(
            f"{app.home.log_dir} already holds a log: import json restores into an empty "
            "home only (give a new folder with --home)"
        )
    try:
        if args.file == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as file:
                data = file.read()
    except OSError as error:
        raise UserError(f"{args.file}: {error.strerror}") from None
    segments = split_backup(data, os.path.basename(args.file) if args.file != "-" else "stdin")
    folder = restore(segments, app.home.data_dir)
    total = sum(len(lines) for lines in segments.values())
    devices = ", ".join(f"{device} ({len(lines)})" for device, lines in sorted(segments.items()))
    app.out(f"restored {total} event(s) into {folder}: {devices}")


# --- the FORMAT word -----------------------------------------------------------------------

EXPORTERS: dict[str, Command] = {
    "ics": Command(
        "your meetings as an iCalendar file",
        _configure_ics,
        _run_ics,
        "Every booked meeting as an event (cancelled ones marked cancelled, held ones as "
        "past events), the prep and on-time reminders as its alarms. See docs/calendar.md.",
    ),
    "json": Command(
        "the whole log, for backups and moving machines",
        _configure_export_json,
        _run_export_json,
        "Every event of every device as JSON Lines, as stored. See docs/backup.md.",
    ),
}


def _configure_contacts(parser: argparse.ArgumentParser) -> None:
    from coffeechat.daemon.cli.contacts_in import configure

    configure(parser)


def _run_linkedin(app: App, args: argparse.Namespace) -> None:
    from coffeechat.daemon.cli.contacts_in import run_linkedin

    run_linkedin(app, args)


def _run_vcard(app: App, args: argparse.Namespace) -> None:
    from coffeechat.daemon.cli.contacts_in import run_vcard

    run_vcard(app, args)


IMPORTERS: dict[str, Command] = {
    "linkedin": Command(
        "your LinkedIn connections (Connections.csv from LinkedIn's data export)",
        _configure_contacts,
        _run_linkedin,
        "Each connection becomes a contact (name, company, position, profile, e-mail, "
        "how met: LinkedIn, the day you connected); importing again appends only what "
        "changed there, and a new company or position brings a congratulate reminder. "
        "See docs/import.md.",
    ),
    "vcard": Command(
        "contacts from a vCard file (3.0 or 4.0: a phone's or Google Contacts' export)",
        _configure_contacts,
        _run_vcard,
        "Each card becomes a contact (name, e-mail, phone, company, position), matched "
        "to the contacts you have by e-mail or name; importing again appends only what "
        "changed. See docs/import.md.",
    ),
    "json": Command(
        "restore a backup made by 'export json' into an empty home",
        _configure_import_json,
        _run_import_json,
        "Recreates every device's segment as it was. Refused unless the home has no log. "
        "See docs/backup.md.",
    ),
}


def _dispatch(formats: dict[str, Command]) -> tuple[Configure, Run]:
    """Return how to configure and run a command whose FORMAT word picks one of ``formats``."""

    def configure(parser: argparse.ArgumentParser) -> None:
        words = parser.add_subparsers(
            dest="format", metavar="FORMAT", required=True, parser_class=type(parser)
        )
        for name, spec in formats.items():
            sub = words.add_parser(name, help=spec.help, description=spec.description)
            # The global options also after the FORMAT word, as on every other command.
            sub.add_argument("--home", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
            sub.add_argument(
                "--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
            )
            spec.configure(sub)

    def run(app: App, args: argparse.Namespace) -> int | None:
        return formats[args.format].run(app, args)

    return configure, run


COMMANDS: dict[str, Command] = {
    "export": Command(
        "write your data out: ics (calendar), json (backup)",
        *_dispatch(EXPORTERS),
        "export ics [FILE] [--todos]: your meetings for a calendar app (docs/calendar.md); "
        "export json [FILE]: the whole log, for backups (docs/backup.md).",
    ),
    "import": Command(
        "read data in: " + ", ".join(IMPORTERS),
        *_dispatch(IMPORTERS),
        "import linkedin|vcard FILE [--dry-run]: your contacts from LinkedIn or an address "
        "book (docs/import.md); import json FILE: restore a backup into an empty home "
        "(docs/backup.md).",
    ),
}
