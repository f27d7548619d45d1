"""Commands that read: ``ls``, ``show``, ``log``. Each has ``--json``."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from coffeechat.daemon.cli.app import App
from coffeechat.daemon.cli.render import Related, describe_text, moment, name_of, short_id
from coffeechat.daemon.cli.screen import DIM, OVERDUE, STAGE_STYLES, cut, table
from coffeechat.daemon.cli.spec import Command
from coffeechat.events.contacts import resolve, sort_key
from coffeechat.events.log import LogProblem, iter_segment_events, merge_segments, read_segments
from coffeechat.events.model import Event, tag_of
from coffeechat.events.projection import PROFILE_FIELDS, Contact, State, replay
from coffeechat.events.stages import STAGES, stage_of
from coffeechat.events.text import printable
from coffeechat.events.timeline import events_about


def _as_of(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--at", metavar="WHEN", help="look back: the state as it was then (e.g. 2026-10-01)"
    )


def state_at(app: App, at: str | None, *, past: bool = True) -> tuple[State, datetime]:
    """Return the state now (through the snapshot) or as it was at ``--at`` (full replay).

    ``past``: a weekday in ``--at`` means the last one (looking back) or the next one.
    """
    if at is None:
        return app.state, app.now
    instant = app.when(at, past=past)
    problems: list[LogProblem] = []
    state = replay(read_segments(app.home.log_dir), problems, as_of=instant)
    app.warn_problems(problems)
    return state, instant


class Outlook:
    """Each contact's stage and next reminder, under the rules and settings of the home."""

    def __init__(self, app: App, state: State, now: datetime) -> None:
        from coffeechat.daemon.cli.reminding import Rules, reminder_json

        rules = Rules(app)
        self.now = now
        self.playbook = rules.settings.playbook
        self.next: dict[str, dict[str, Any]] = {}
        self.reminders = rules.reminders(state, now)  # sorted by due time (the dashboard's)
        for reminder in self.reminders:
            if reminder.contact is not None and reminder.contact not in self.next:
                self.next[reminder.contact] = reminder_json(reminder, app)

    def stage(self, contact: Contact) -> str:
        """Return the contact's stage under the configured nudge settings."""
        return stage_of(
            contact,
            self.now,
            nudge_after=self.playbook.nudge_after.delta,
            max_nudges=self.playbook.max_nudges,
        )


# --- ls --------------------------------------------------------------------------------------


def _configure_ls(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", choices=STAGES, help="only contacts at this stage")
    parser.add_argument("--all", action="store_true", help="include archived contacts")
    _as_of(parser)


def _run_ls(app: App, args: argparse.Namespace) -> None:
    state, now = state_at(app, args.at)
    outlook = Outlook(app, state, now)
    rows = []
    for contact in sorted(state.contacts.values(), key=sort_key):
        stage = outlook.stage(contact)
        if args.stage is not None and stage != args.stage:
            continue
        if args.stage is None and stage == "archived" and not args.all:
            continue
        upcoming = outlook.next.get(contact.handle)
        rows.append((contact, stage, upcoming))
    if app.json:
        app.print_json(
            [
                {
                    "handle": contact.handle,
                    "name": contact.name,
                    "stage": stage,
                    "next_due": upcoming["due"] if upcoming else None,
                }
                for contact, stage, upcoming in rows
            ]
        )
        return
    if not rows:
        if state.contacts:
            app.out("nobody matches")
        elif args.at is not None:
            app.out(f"no contacts yet on {moment(now, app.zone, app.now)}")
        else:
            app.out('no contacts yet: coffeechat add "Ada Lovelace" --learn "…"')
        return
    cells = [
        [
            contact.handle,
            contact.name,
            stage,
            _where(contact),
            upcoming["message"] if upcoming else "",
        ]
        for contact, stage, upcoming in rows
    ]
    styles = [
        [
            None,
            None,
            STAGE_STYLES.get(stage),
            None,
            OVERDUE if upcoming and datetime.fromisoformat(upcoming["due"]) <= now else None,
        ]
        for contact, stage, upcoming in rows
    ]
    headers = ["HANDLE", "NAME", "STAGE", "WHERE", "NEXT"]
    for line in table(
        cells, headers, width=app.width, shrink=(4, 3), styles=styles, colour=app.colour
    ):
        app.out(line, escaped=True)


def _where(contact: Contact) -> str:
    return " at ".join(part for part in (contact.role, contact.company) if part)


# --- show ------------------------------------------------------------------------------------


def _configure_show(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("contact", metavar="CONTACT")
    _as_of(parser)


def _run_show(app: App, args: argparse.Namespace) -> None:
    state, now = state_at(app, args.at)
    contact = resolve(state, args.contact)
    outlook = Outlook(app, state, now)
    stage = outlook.stage(contact)
    timeline = [
        event
        for event in events_about(
            app.home.log_dir, contact.handle, state.retracted, app.home.cache_dir
        )
        if event.at <= now or args.at is None
    ]
    upcoming = outlook.next.get(contact.handle)
    if app.json:
        profile = {field: getattr(contact, field) for field in PROFILE_FIELDS}
        app.print_json(
            {
                "handle": contact.handle,
                "name": contact.name,
                "stage": stage,
                "next": upcoming,
                **profile,
                "introduced": contact.introduced,
                "timeline": timeline,
            }
        )
        return
    app.out(f"{printable(contact.name, lines=False)} ({contact.handle}) · {stage}")
    for field in PROFILE_FIELDS:
        value = getattr(contact, field)
        if value:
            app.out(f"  {field.replace('_', ' ')}: {value}")
    if contact.introduced:
        names = ", ".join(name_of(state, handle) for handle in contact.introduced)
        app.out(f"  introduced you to: {names}")
    if contact.meeting is not None:
        app.out(f"  meeting: {moment(contact.meeting.starts, app.zone, now)}")
    if upcoming:
        when = f"  next: {moment(datetime.fromisoformat(upcoming['due']), app.zone, now)}  "
        tail = f"  [{upcoming['id']}]"
        room = None if app.width is None else app.width - len(when) - len(tail)
        message = printable(upcoming["message"], lines=False)
        app.out(when + (message if room is None else cut(message, room)) + tail)
    else:
        app.out("  next: -")
    app.out("")
    related = Related(timeline)
    rows = [
        [
            moment(event.at, app.zone, now),
            describe_text(event, state, app.zone, related),
            f"[{short_id(event.id)}]",
        ]
        for event in timeline
    ]
    for line in table(rows, ["", "", ""], width=app.width, shrink=(1,), indent=2)[1:]:
        app.out(f"  {line}", escaped=True)


# --- log -------------------------------------------------------------------------------------


def _configure_log(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("contact", metavar="CONTACT", nargs="?", help="only events about them")
    parser.add_argument("--limit", type=int, metavar="N", help="only the last N events")


def _run_log(app: App, args: argparse.Namespace) -> None:
    problems: list[LogProblem] = []
    segments = read_segments(app.home.log_dir)
    events: list[Event] = list(
        merge_segments([iter_segment_events(segment, problems) for segment in segments])
    )
    app.warn_problems(problems)
    if args.contact:
        handle = app.contact(args.contact).handle
        events = [
            e
            for e in events
            if handle in (getattr(e, "contact", None), getattr(e, "introduced", None))
        ]
    if args.limit is not None:
        events = events[-args.limit :] if args.limit > 0 else []
    if app.json:
        app.print_json(events)
        return
    state = app.state
    related = Related(events)
    rows = [
        [
            moment(event.recorded, app.zone, app.now),
            short_id(event.id),
            tag_of(event),
            describe_text(event, state, app.zone, related)
            + ("  (undone)" if event.id in state.retracted else ""),
        ]
        for event in events
    ]
    styles = [[None, None, None, DIM if event.id in state.retracted else None] for event in events]
    lines = table(
        rows, ["", "", "", ""], width=app.width, shrink=(3,), styles=styles, colour=app.colour
    )
    for line in lines[1:]:
        app.out(line, escaped=True)


COMMANDS: dict[str, Command] = {
    "ls": Command("list contacts and their stage", _configure_ls, _run_ls),
    "show": Command("one contact: profile, stage, history", _configure_show, _run_show),
    "log": Command("every event, oldest first", _configure_log, _run_log),
}
