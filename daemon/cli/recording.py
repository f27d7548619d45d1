"""Commands that record what happened: each appends events and says what it recorded."""

from __future__ import annotations

import argparse
import os
from typing import Any

from coffeechat.daemon.cli.app import App
from coffeechat.daemon.cli.render import Related, describe
from coffeechat.daemon.cli.spec import Command
from coffeechat.events import decisions
from coffeechat.events.contacts import find_by_name
from coffeechat.events.decisions import CHANNELS, MEETING_MODES, Decision
from coffeechat.events.log import read_segment, read_segments
from coffeechat.events.model import Event
from coffeechat.events.projection import PROFILE_FIELDS

# --- shared options --------------------------------------------------------------------------


def _at(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--at", metavar="WHEN", help="when it happened (default: now), e.g. 'yesterday 3pm', -2d"
    )


def _contact(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("contact", metavar="CONTACT", help="handle, or the start of a name")


def _profile_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email")
    parser.add_argument("--phone")
    parser.add_argument("--company")
    parser.add_argument("--role")
    parser.add_argument("--industry")
    parser.add_argument("--linkedin", metavar="URL")
    parser.add_argument("--tz", metavar="ZONE", help="their IANA time zone, e.g. Europe/Paris")
    parser.add_argument(
        "--how-met", metavar="TEXT", dest="how_met", help="how you came across them"
    )
    parser.add_argument("--via", metavar="CONTACT", help="who introduced you")
    parser.add_argument("--learn", metavar="TEXT", help="what you want to learn from them")
    parser.add_argument(
        "--cadence", metavar="DURATION|CRON", help="how often to stay in touch (default 90d)"
    )
    _at(parser)


def _profile(app: App, args: argparse.Namespace) -> dict[str, Any]:
    fields = {name: getattr(args, name, None) for name in PROFILE_FIELDS}
    via = fields.get("via")
    if via:
        fields["via"] = app.contact(via).handle
    return fields


def _record(app: App, decision: Decision, related: list[Event] | None = None) -> list[Event]:
    """Append a decision's events and say what each records, in names: ``related`` are
    the events it may name beyond the state (what an undo takes back)."""
    state = app.state
    if not decision.events:  # the same step again: nothing appended (exit 0)
        if app.json:
            app.print_json([])
        for notice in decision.notices:
            if app.json:
                app.warn(notice, label="note")
            else:
                app.out(notice)
        return []
    known = Related([*(related or ()), *decision.events])
    return app.record(decision, lambda event: describe(event, state, lambda: app.zone, known))


# --- contacts --------------------------------------------------------------------------------


def _configure_add(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME")
    _profile_options(parser)


def _run_add(app: App, args: argparse.Namespace) -> None:
    at = app.when_or_none(args.at)
    _record(app, decisions.add_contact(app.state, app.stamp(), args.name, _profile(app, args), at))


def _configure_edit(parser: argparse.ArgumentParser) -> None:
    _contact(parser)
    parser.add_argument("--name", help="correct the name (the handle stays)")
    _profile_options(parser)


def _run_edit(app: App, args: argparse.Namespace) -> None:
    contact = app.contact(args.contact)
    changes = {"name": args.name, **_profile(app, args)}
    at = app.when_or_none(args.at)
    _record(app, decisions.edit_contact(app.state, app.stamp(), contact, changes, at))


def _configure_intro(parser: argparse.ArgumentParser) -> None:
    _contact(parser)
    parser.add_argument("name", metavar="NAME", help="the person you were introduced to")
    _profile_options(parser)


def _run_intro(app: App, args: argparse.Namespace) -> None:
    introducer = app.contact(args.contact)
    profile = _profile(app, args)
    at = app.when_or_none(args.at)
    known = find_by_name(app.state, " ".join(args.name.split()))
    recorded = _record(
        app, decisions.intro(app.state, app.stamp(), introducer, args.name, profile, at)
    )
    if known is not None and recorded and not app.json:
        app.out(f"linked {known.name} ({known.handle}), already a contact, to {introducer.name}")


# --- the journey -----------------------------------------------------------------------------


def _configure_plan(parser: argparse.ArgumentParser) -> None:
    _contact(parser)
    parser.add_argument("--learn", metavar="TEXT", help="what you want to learn from them")
    _at(parser)


def _run_plan(app: App, args: argparse.Namespace) -> None:
    contact = app.contact(args.contact)
    at = app.when_or_none(args.at)
    _record(app, decisions.plan(app.state, app.stamp(), contact, args.learn, at))


def _configure_reach(parser: argparse.ArgumentParser) -> None:
    _contact(parser)
    parser.add_argument("--channel", default="email", help=f"one of {', '.join(CHANNELS)}")
    parser.add_argument("--learn", metavar="TEXT", help="what you asked to learn")
    _at(parser)


def _run_reach(app: App, args: argparse.Namespace) -> None:
    contact = app.contact(args.contact)
    at = app.when_or_none(args.at)
    decision = decisions.reach(app.state, app.stamp(), contact, args.channel, args.learn, at)
    _record(app, decision)


def _configure_reply(parser: argparse.ArgumentParser) -> None:
    _contact(parser)
    parser.add_argument("--declined", action="store_true", help="they said no")
    _at(parser)


def _run_reply(app: App, args: argparse.Namespace) -> None:
    contact = app.contact(args.contact)
    at = app.when_or_none(args.at)
    _record(app, decisions.reply(app.state, app.stamp(), contact, args.declined, at))


def _configure_schedule(parser: argparse.ArgumentParser) -> None:
    _contact(parser)
    parser.add_argument("when", metavar="WHEN", help="when it starts, e.g. 'tue 10:00'")
    parser.add_argument("--mode", help=f"one of {', '.join(MEETING_MODES)}")
    parser.add_argument("--place", metavar="TEXT")
    parser.add_argument("--minutes", type=int, default=30, metavar="N", help="length (30)")
    _at(parser)


def _run_schedule(app: App, args: argparse.Namespace) -> None:
    contact = app.contact(args.contact)
    starts = app.when(args.when)
    at = app.when_or_none(args.at)
    decision = decisions.schedule(
        app.state, app.stamp(), contact, starts, args.minutes, args.mode, args.place, at
    )
    _record(app, decision)


def _configure_reschedule(parser: argparse.ArgumentParser) -> None:
    _contact(parser)
    parser.add_argument("when", metavar="WHEN", help="the new start")
    parser.add_argument("--minutes", type=int, metavar="N", help="a new length")
    _at(parser)


def _run_reschedule(app: App, args: argparse.Namespace) -> None:
    contact = app.contact(args.contact)
    starts = app.when(args.when)
    at = app.when_or_none(args.at)
    decision = decisions.reschedule(app.state, app.stamp(), contact, starts, args.minutes, at)
    _record(app, decision)


def _configure_contact_only(parser: argparse.ArgumentParser) -> None:
    _contact(parser)
    _at(parser)


def _run_cancel(app: App, args: argparse.Namespace) -> None:
    contact = app.contact(args.contact)
    _record(app, decisions.cancel(app.state, app.stamp(), contact, app.when_or_none(args.at)))


def _configure_met(parser: argparse.ArgumentParser) -> None:
    _contact(parser)
    parser.add_argument("--notes", metavar="TEXT")
    parser.add_argument("--learned", metavar="TEXT", help="what you learned")
    parser.add_argument("--fit", type=int, metavar="1-5", help="how well the role fits you")
    parser.add_argument("--asked", metavar="TEXT", help="the ask you made, e.g. an introduction")
    _at(parser)


def _run_met(app: App, args: argparse.Namespace) -> None:
    contact = app.contact(args.contact)
    at = app.when_or_none(args.at)
    decision = decisions.met(
        app.state, app.stamp(), contact, args.notes, args.learned, args.fit, args.asked, at
    )
    _record(app, decision)


def _run_thank(app: App, args: argparse.Namespace) -> None:
    contact = app.contact(args.contact)
    _record(app, decisions.thank(app.state, app.stamp(), contact, app.when_or_none(args.at)))


def _configure_touch(parser: argparse.ArgumentParser) -> None:
    _contact(parser)
    parser.add_argument("--note", metavar="TEXT", help="what it was")
    _at(parser)


def _run_touch(app: App, args: argparse.Namespace) -> None:
    contact = app.contact(args.contact)
    at = app.when_or_none(args.at)
    _record(app, decisions.touch(app.state, app.stamp(), contact, args.note, at))


def _configure_note(parser: argparse.ArgumentParser) -> None:
    _contact(parser)
    parser.add_argument("text", metavar="TEXT")
    _at(parser)


def _run_note(app: App, args: argparse.Namespace) -> None:
    contact = app.contact(args.contact)
    at = app.when_or_none(args.at)
    _record(app, decisions.note(app.state, app.stamp(), contact, args.text, at))


def _configure_every(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cron", metavar="CRON", help="minute hour day month weekday")
    parser.add_argument("text", metavar="TEXT")
    parser.add_argument("--contact", metavar="CONTACT", help="who it is about")
    parser.add_argument("--tz", metavar="ZONE", help="the zone the cron runs in (default: yours)")


def _run_every(app: App, args: argparse.Namespace) -> None:
    contact = app.contact(args.contact) if args.contact else None
    decision = decisions.every(app.state, app.stamp(), args.cron, args.text, contact, args.tz)
    _record(app, decision)


def _run_archive(app: App, args: argparse.Namespace) -> None:
    contact = app.contact(args.contact)
    _record(app, decisions.archive(app.state, app.stamp(), contact, app.when_or_none(args.at)))


def _configure_undo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "event", metavar="EVENT-ID", nargs="?", help="an event id (or its last characters)"
    )


def _run_undo(app: App, args: argparse.Namespace) -> None:
    from coffeechat.events.log import iter_segment_events, merge_segments

    state = app.state
    # This device's id as it stands (None on a home that has recorded nothing here, or a
    # copied home not yet moved to its own id): a bare undo takes back only its commands.
    device = app.home.device_id(create=False)
    if args.event is not None:
        segments = read_segments(app.home.log_dir)
    elif device is None:
        segments = []
    else:  # only this device's segment can hold its last command
        try:
            segments = [read_segment(os.path.join(app.home.log_dir, f"{device}.jsonl"))]
        except FileNotFoundError:
            segments = []
    events = list(merge_segments([iter_segment_events(segment, []) for segment in segments]))
    decision = decisions.undo(events, state.retracted, app.stamp(), args.event, device=device)
    _record(app, decision, related=events)


COMMANDS: dict[str, Command] = {
    "add": Command("a person you find interesting", _configure_add, _run_add),
    "edit": Command("correct or complete a contact", _configure_edit, _run_edit),
    "plan": Command("you intend to reach out", _configure_plan, _run_plan),
    "reach": Command("outreach sent", _configure_reach, _run_reach),
    "reply": Command("they answered", _configure_reply, _run_reply),
    "schedule": Command("a meeting is booked", _configure_schedule, _run_schedule),
    "reschedule": Command("the meeting moved", _configure_reschedule, _run_reschedule),
    "cancel": Command("the meeting is off", _configure_contact_only, _run_cancel),
    "met": Command("the meeting happened", _configure_met, _run_met),
    "thank": Command("thank-you sent", _configure_contact_only, _run_thank),
    "intro": Command("CONTACT introduced you to NAME", _configure_intro, _run_intro),
    "touch": Command("you stayed in touch", _configure_touch, _run_touch),
    "note": Command("a note about a contact", _configure_note, _run_note),
    "every": Command("a recurring reminder of your own", _configure_every, _run_every),
    "archive": Command("stop tracking a contact", _configure_contact_only, _run_archive),
    "undo": Command(
        "retract this device's last command (or one event)", _configure_undo, _run_undo
    ),
}
