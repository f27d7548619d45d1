"""Reminder commands: ``agenda``, ``done``, ``snooze``, ``why``, ``plugins``.

These load the plugins (every playbook rule is one), the settings they declare, and
evaluate the rules; the commands that only record an event never do.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from coffeechat.daemon.cli.app import App
from coffeechat.daemon.cli.reading import state_at
from coffeechat.daemon.cli.render import describe, moment, short_id
from coffeechat.daemon.cli.screen import HIGH_PRIORITY, OVERDUE, table
from coffeechat.daemon.cli.spec import Command
from coffeechat.events import model as m
from coffeechat.events.decisions import Decision
from coffeechat.events.errors import UserError
from coffeechat.events.log import iter_segment_events, merge_segments, read_segments
from coffeechat.events.projection import State

if TYPE_CHECKING:
    from coffeechat.plugins.manager import Plugins
    from coffeechat.plugins.reminders import Reminder
    from coffeechat.plugins.settings import Settings


class Rules:
    """The plugins and settings of a home, loaded once per command."""

    def __init__(self, app: App, *, channels: bool = False) -> None:
        from coffeechat.plugins.manager import load_plugins, settings_sections
        from coffeechat.plugins.settings import load_settings

        self.app = app
        # The rules only, unless asked: the built-in channels are the daemon's to load.
        self.plugins: Plugins = load_plugins(
            str(app.home.plugins_dir), channels=channels, cache_dir=app.home.cache_dir
        )
        warnings: list[str] = []
        self.settings: Settings = load_settings(
            str(app.home.config_file), settings_sections(self.plugins), warnings
        )
        for line in warnings:
            app.warn(line)
        for problem in self.plugins.problems:
            app.warn(problem.describe())
        from coffeechat.plugins.schedules import use_cache_folder

        # Send windows already listed are read from the home's cache: no croniter import.
        use_cache_folder(app.home.cache_dir)

    def reminders(self, state: State, now: datetime) -> list[Reminder]:
        """Evaluate every rule (warning about the ones that failed, naming the plugin), and
        add the queued e-mail; return them all in the agenda's order."""
        from coffeechat.plugins.reminders import evaluate

        reminders, failures = evaluate(self.plugins, state, now, self.settings)
        for failure in failures:
            self.app.warn(failure.describe())
        if state.mail:  # queued e-mail is on the agenda too, as kind "mail" (docs/mail.md)
            from coffeechat.daemon.mailer import queued_mail_rows
            from coffeechat.plugins.reminders import PRIORITIES, apply_user_actions

            mail = apply_user_actions(queued_mail_rows(state, now, self.app.zone), state)
            reminders = sorted(
                [*reminders, *mail],
                key=lambda r: (r.due, -PRIORITIES.index(r.priority), r.id),
            )
        return reminders


def reminder_json(reminder: Reminder, app: App) -> dict[str, Any]:
    """Return a reminder's contract fields, times in the user's zone with their offset."""
    fields = reminder.to_json()
    fields["due"] = reminder.due.astimezone(app.zone).isoformat()
    for key in ("occurrence", "expires"):
        value = getattr(reminder, key)
        fields[key] = value.astimezone(app.zone).isoformat() if value is not None else None
    return fields


# --- agenda --------------------------------------------------------------------------------

MAX_DAYS = 36525  # a hundred years ahead: beyond that, a typing mistake


def _configure_agenda(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--at", metavar="WHEN", help="the agenda as of then (past or future)")
    parser.add_argument("--days", type=int, default=7, metavar="N", help="look N days ahead (7)")


def _run_agenda(app: App, args: argparse.Namespace) -> None:
    if not 0 <= args.days <= MAX_DAYS:
        raise UserError(f"--days must be between 0 and {MAX_DAYS}, not {args.days}")
    state, now = state_at(app, args.at, past=False)
    reminders = Rules(app).reminders(state, now)
    horizon = now + timedelta(days=args.days)
    shown = [reminder for reminder in reminders if reminder.due <= horizon]
    unknown: dict[str, list[str]] = {}
    if state.unanswered:  # a channel left a delivery unknown (the daemon's module says how)
        from coffeechat.daemon.delivery import unknown_channels

        unknown = {r.id: channels for r in shown if (channels := unknown_channels(r, state))}
    if app.json:
        app.print_json(
            {
                "now": now.astimezone(app.zone).isoformat(),
                "reminders": [
                    {**reminder_json(r, app), "unknown": unknown.get(r.id, [])} for r in shown
                ],
            }
        )
        return
    due = [r for r in shown if r.due <= now]
    coming = [r for r in shown if r.due > now]
    if not shown:
        app.out(f"nothing due in the next {args.days} day(s)")
    for title, group in (("due", due), (f"next {args.days} days", coming)):
        if not group:
            continue
        app.out(f"{title}:")
        rows = [
            [
                "!" if r.priority == "high" else " ",
                moment(r.due, app.zone, now),
                r.kind,
                _name(state, r.contact),
                r.message,
                r.id,
            ]
            for r in group
        ]
        styles = [
            [
                HIGH_PRIORITY if r.priority == "high" else None,
                OVERDUE if r.due < now else None,
                None,
                None,
                None,
                None,
            ]
            for r in group
        ]
        lines = table(
            rows,
            ["", "WHEN", "KIND", "WHO", "WHAT", "ID"],
            width=app.width,
            shrink=(4,),
            indent=2,
            styles=styles,
            colour=app.colour,
        )
        for line in lines:
            app.out(f"  {line}", escaped=True)
    for line in describe_unknown(unknown):
        app.out(line)


def describe_unknown(unknown: dict[str, list[str]]) -> list[str]:
    """Return the lines that show deliveries left unknown (reminder id → channels), and
    what the user can do about them (``agenda`` and ``doctor`` show them)."""
    if not unknown:
        return []
    lines = [
        "delivery unknown (no answer in 3 tries, it may not have arrived; 'coffeechat done "
        "ID' if it did, 'coffeechat snooze ID 10m' to send it again):"
    ]
    lines.extend(f"  {rid}  {', '.join(channels)}" for rid, channels in unknown.items())
    return lines


def _name(state: State, handle: str | None) -> str:
    if handle is None:
        return "-"
    contact = state.contacts.get(handle)
    return contact.name if contact is not None else handle


# --- done and snooze -----------------------------------------------------------------------


def _configure_done(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reminder", metavar="REMINDER", help="a reminder id from the agenda")


def _find(app: App, query: str) -> Reminder:
    from coffeechat.plugins.reminders import find

    return find(Rules(app).reminders(app.state, app.now), query)


def _run_done(app: App, args: argparse.Namespace) -> None:
    from coffeechat.plugins.reminders import decide_done

    reminder = _find(app, args.reminder)
    decision = decide_done(app.state, app.stamp(), reminder)

    def said(event: m.Event) -> str:
        if isinstance(event, m.ReminderDone):
            return f"done: {reminder.message}  [{short_id(event.id)}]"
        return f"done: {describe(event, app.state, app.zone)}"  # the step it recorded

    app.record(decision, said)


def _configure_snooze(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reminder", metavar="REMINDER", help="a reminder id from the agenda")
    parser.add_argument("until", metavar="DURATION|WHEN", help="e.g. 1d, 2h, 'tue 9:00'")


def _run_snooze(app: App, args: argparse.Namespace) -> None:
    from coffeechat.events.when import parse_duration

    reminder = _find(app, args.reminder)
    try:
        until = app.now + parse_duration(args.until)
    except UserError:
        until = app.when(args.until)
    if until <= app.now:
        raise UserError(f"snooze until {args.until!r} is not in the future")
    event = app.stamp()(m.ReminderSnoozed, reminder=reminder.id, until=until)
    app.record(
        Decision([event]),
        lambda e: f"snoozed until {moment(until, app.zone, app.now)}: {reminder.message}",
    )


# --- why -----------------------------------------------------------------------------------


def _run_why(app: App, args: argparse.Namespace) -> None:
    reminder = _find(app, args.reminder)
    wanted = set(reminder.because)
    segments = read_segments(app.home.log_dir)
    causes = [
        event
        for event in merge_segments([iter_segment_events(s, []) for s in segments])
        if event.id in wanted
    ]
    if app.json:
        app.print_json({"reminder": reminder_json(reminder, app), "events": causes})
        return
    app.out(f"{reminder.id}: {reminder.message}")
    app.out(
        f"  kind {reminder.kind}, due {moment(reminder.due, app.zone, app.now)}, "
        f"{reminder.priority} priority, from the rule '{reminder.rule}'"
    )
    app.out(f"  done records {_done_records(app, reminder)}")
    if not causes:
        app.out("  caused by a schedule, not by an event")
    for event in causes:
        app.out(
            f"  because {moment(event.at, app.zone, app.now)}  "
            f"{describe(event, app.state, app.zone)}"
        )


def _done_records(app: App, reminder: Reminder) -> str:
    """Return what ``done`` on this reminder records: the journey step, or only done."""
    from coffeechat.events.decisions import STEP_OF_KIND
    from coffeechat.plugins.reminders import reminder_id

    contact = app.state.contacts.get(reminder.contact) if reminder.contact else None
    closing = reminder_id(reminder.kind, reminder.contact, reminder.because, "closing")
    step = STEP_OF_KIND.get(reminder.kind)
    if step is None or contact is None or reminder.id == closing:
        return "reminder.done (no journey step)"
    command = {"thanks.sent": "thank", "outreach.sent": "reach", "touch.logged": "touch"}[step]
    return f"{step}, as 'coffeechat {command} {contact.handle}' would"


# --- plugins -------------------------------------------------------------------------------


def _run_plugins(app: App, args: argparse.Namespace) -> int:
    from coffeechat.daemon.cli.about import coffeechat_version

    rules = Rules(app, channels=True)
    plugins = rules.plugins
    ours = coffeechat_version()
    for info in plugins.loaded:
        if info.source == "built-in":  # they ship with coffeechat: its version is theirs
            info.version = ours
    if app.json:
        app.print_json(
            {
                "plugins": plugins.loaded,
                "problems": plugins.problems,
            }
        )
    else:
        rows = [[i.name, i.version or "-", i.source, ", ".join(i.hooks)] for i in plugins.loaded]
        headers = ["PLUGIN", "VERSION", "FROM", "HOOKS"]
        for line in table(rows, headers, width=app.width, shrink=(3, 2)):
            app.out(line, escaped=True)
    return 1 if plugins.problems else 0


def _configure_nothing(parser: argparse.ArgumentParser) -> None:
    pass


COMMANDS: dict[str, Command] = {
    "agenda": Command("what is due, then what is coming", _configure_agenda, _run_agenda),
    "done": Command("a reminder is taken care of", _configure_done, _run_done),
    "snooze": Command("put a reminder off", _configure_snooze, _run_snooze),
    "why": Command("the events and the rule behind a reminder", _configure_done, _run_why),
    "plugins": Command(
        "the plugins, where each came from, its hooks", _configure_nothing, _run_plugins
    ),
}
