"""Commands that read: ``ls``, ``show``, ``log``. Each has ``--json``."""

from __future__ import annotations

import argparse
import gc
from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from coffeechat.daemon.cli.app import App
from coffeechat.daemon.cli.render import Related, describe_text, moment, name_of, short_id
from coffeechat.daemon.cli.screen import DIM, OVERDUE, STAGE_STYLES, cut, table
from coffeechat.daemon.cli.spec import Command
from coffeechat.events.contacts import resolve, sort_key
from coffeechat.events.links import Links, links_of
from coffeechat.events.log import LogProblem, iter_segment_events, merge_segments, read_segments
from coffeechat.events.model import Event, tag_of
from coffeechat.events.projection import PROFILE_FIELDS, Contact, State, replay
from coffeechat.events.stages import STAGES, stage_of
from coffeechat.events.text import printable
from coffeechat.events.timeline import events_about

if TYPE_CHECKING:
    from coffeechat.plugins.reminders import Reminder


def _as_of(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--at", metavar="WHEN", help="look back: the state as it was then (e.g. 2026-10-01)"
    )


def state_at(app: App, at: str | None, *, past: bool = True) -> tuple[State, datetime]:
    """Return the state now (through the snapshot) or as it was at ``--at`` (full replay).

    ``past``: a weekday in ``--at`` means the last one (looking back) or the next one.
    """
    if at is None:
        state = app.state
        # The state lives until the command ends, and holds no cycles: keep the collector
        # from walking all of it again (at a million events, a third of what ``show`` costs).
        gc.freeze()
        return state, app.now
    instant = app.when(at, past=past)
    problems: list[LogProblem] = []
    state = replay(read_segments(app.home.log_dir), problems, as_of=instant)
    app.warn_problems(problems)
    return state, instant


class Outlook:
    """Each contact's stage and next reminder, under the rules and settings of the home.

    ``only`` (handles): the command shows only these contacts (``show``, ``ls`` of one
    stage), so the rules are evaluated for them alone (and the few contacts their
    reminders depend on, :func:`contacts_read_with`) rather than for everyone;
    :meth:`focus` narrows it later, once the contacts to show are known (``ls``).
    ``links``: the state's links (from the snapshot), which find those few contacts
    without looking at all of them.
    """

    def __init__(
        self,
        app: App,
        state: State,
        now: datetime,
        only: Collection[str] | None = None,
        links: Links | None = None,
    ) -> None:
        from coffeechat.daemon.cli.reminding import Rules

        self._rules = Rules(app)
        self._app = app
        self._state = state
        self._only = only
        self._links = links
        self._reminders: list[Reminder] | None = None
        self._next: dict[str, dict[str, Any]] = {}
        self.now = now
        self.playbook = self._rules.settings.playbook

    def focus(self, handles: Collection[str]) -> None:
        """Evaluate the rules for these contacts only (before any reminder is asked for)."""
        assert self._reminders is None, "focus() comes before the reminders are read"
        self._only = handles

    @property
    def reminders(self) -> list[Reminder]:
        """The reminders (of the contacts in focus), sorted by due time (the dashboard's)."""
        if self._reminders is None:
            from coffeechat.daemon.cli.reminding import reminder_json

            self._reminders = self._evaluate()
            for reminder in self._reminders:
                if reminder.contact is not None and reminder.contact not in self._next:
                    self._next[reminder.contact] = reminder_json(reminder, self._app)
        return self._reminders

    @property
    def next(self) -> dict[str, dict[str, Any]]:
        """Each contact's next reminder (in focus), by handle, as ``show --json`` has it."""
        self.reminders  # noqa: B018 (evaluated on first use)
        return self._next

    def _evaluate(self) -> list[Reminder]:
        if self._only is None:
            return self._rules.reminders(self._state, self.now)
        from coffeechat.plugins.reminders import PRIORITIES, apply_user_actions, evaluate, subset

        state, wanted = self._state, set(self._only)
        read = contacts_read_with(state, wanted, self._links)
        found, failures = evaluate(self._rules.plugins, state, self.now, self._rules.settings, read)
        for failure in failures:
            self._app.warn(failure.describe())
        reminders = [reminder for reminder in found if reminder.contact in wanted]
        if any(mail.contact in wanted for mail in state.mail.values()):
            from coffeechat.daemon.mailer import queued_mail_rows

            rows = queued_mail_rows(subset(state, wanted), self.now, self._app.zone)
            reminders = sorted(
                [*reminders, *apply_user_actions(rows, state)],
                key=lambda r: (r.due, -PRIORITIES.index(r.priority), r.id),
            )
        return reminders

    def stage(self, contact: Contact) -> str:
        """Return the contact's stage under the configured nudge settings."""
        return stage_of(
            contact,
            self.now,
            nudge_after=self.playbook.nudge_after.delta,
            max_nudges=self.playbook.max_nudges,
        )


def contacts_read_with(state: State, handles: set[str], links: Links | None = None) -> set[str]:
    """Given the contacts a command shows, return them and the contacts the built-in rules
    read when they propose those contacts' reminders.

    ``follow-up`` reads the people a contact introduced (an introduction since the ask;
    the introducer thanked once they are met); ``book`` offers times that avoid every
    booked meeting. Evaluating the rules on this subset gives the shown contacts the
    reminders a full evaluation gives them. ``links`` (the state's, when known) spares
    looking at every contact.
    """
    read = set(handles)
    for handle in handles:
        contact = state.contacts.get(handle)
        if contact is not None:
            read.update(contact.introduced)
    if links is None:
        links = links_of(state.contacts)
    read.update(links.booked)
    for handle in handles:
        read.update(links.introduced(handle))
    return read


# --- ls --------------------------------------------------------------------------------------


def _configure_ls(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", choices=STAGES, help="only contacts at this stage")
    parser.add_argument("--all", action="store_true", help="include archived contacts")
    _as_of(parser)


def _run_ls(app: App, args: argparse.Namespace) -> None:
    state, now = state_at(app, args.at)
    outlook = Outlook(app, state, now)
    listed = []
    for contact in sorted(state.contacts.values(), key=sort_key):
        stage = outlook.stage(contact)
        if args.stage is not None and stage != args.stage:
            continue
        if args.stage is None and stage == "archived" and not args.all:
            continue
        listed.append((contact, stage))
    outlook.focus([contact.handle for contact, _ in listed])
    rows = [(contact, stage, outlook.next.get(contact.handle)) for contact, stage in listed]
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
    # One contact is shown: decode the others only if the CONTACT argument is not a handle.
    app.projection.lazy_contacts = True
    state, now = state_at(app, args.at)
    contact = resolve(state, args.contact)
    links = app.projection.links() if args.at is None else None
    outlook = Outlook(app, state, now, only=[contact.handle], links=links)
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
