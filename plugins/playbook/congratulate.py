"""A reason to get in touch: an import shows someone at a new company or in a new
position (``contact.updated`` recorded by ``import linkedin``), and no other tool tells
you. Due ``after`` (1 h) the import, moved into your working hours (Monday to Friday,
09:00–17:00 your time) and out of your quiet hours; ``done`` (which records a touch)
or any touch, outreach or meeting after the import clears it.

The numbers are the ``[congratulate]`` section of ``config.toml``, declared here.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from coffeechat.events.projection import Contact, State
from coffeechat.plugins import hookimpl
from coffeechat.plugins.playbook.common import tracked, user_zone
from coffeechat.plugins.quiet import _in_quiet
from coffeechat.plugins.reminders import Reminder, make_reminder
from coffeechat.plugins.settings import ClockTime, Duration, QuietHours, Settings

WORKDAYS = 5  # Monday to Friday


class CongratulateSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``[congratulate]``: how soon after the import, and your working hours (your zone,
    Monday to Friday), inside which the reminder falls."""

    after: Duration = Duration("1h")
    start: ClockTime = ClockTime("09:00")
    end: ClockTime = ClockTime("17:00")


@hookimpl
def coffeechat_settings(register: Any) -> None:
    """Declare ``[congratulate]``."""
    register("congratulate", CongratulateSettings)


@hookimpl
def coffeechat_reminders(state: State, now: datetime, settings: Settings) -> list[Reminder]:
    """Propose congratulations to everyone an import showed in a new company or position,
    until you are in touch again."""
    try:
        section: CongratulateSettings = settings.section("congratulate")
    except KeyError:  # settings read without this plugin's section
        section = CongratulateSettings()
    zone = user_zone(settings)
    reminders = []
    for contact in tracked(state):
        moved = contact.moved
        if moved is None or _in_touch_since(contact, moved.at):
            continue
        due = _working_time(moved.at + section.after.delta, section, settings.quiet_hours, zone)
        reminders.append(
            make_reminder(
                "congratulate",
                contact.handle,
                due,
                f"{message(contact)}: a good moment to congratulate them and catch up. "
                f"Then: coffeechat touch {contact.handle}",
                because=[moved.event],
            )
        )
    return reminders


def message(contact: Contact) -> str:
    """Return what changed: ``Grace Hopper moved to Harvard Computation Lab as Senior
    Programmer``, or ``Alan Turing is now Head of Hut 8 at Bletchley Park``."""
    moved = contact.moved
    assert moved is not None
    if moved.company is not None and moved.company != moved.was_company:
        return f"{contact.name} moved to {moved.company}" + (
            f" as {moved.role}" if moved.role else ""
        )
    return f"{contact.name} is now {moved.role}" + (f" at {moved.company}" if moved.company else "")


def _in_touch_since(contact: Contact, moment: datetime) -> bool:
    """Whether a touch, an outreach, a meeting or a thank-you came at or after ``moment``."""
    steps = (contact.touched, contact.reached, contact.met, contact.thanked)
    return any(step is not None and step.at >= moment for step in steps)


def _working_time(
    moment: datetime, section: CongratulateSettings, quiet: QuietHours, zone: Any
) -> datetime:
    """Return the first instant from ``moment`` inside working hours on a working day and
    outside quiet hours, in ``zone``."""
    start, end = section.start.time, section.end.time
    local = moment.astimezone(zone)
    for _ in range(14):  # two weeks of days always hold a working hour
        day = local.date()
        opens = datetime.combine(day, start, tzinfo=zone)
        closes = datetime.combine(day, end, tzinfo=zone)
        if day.weekday() < WORKDAYS and start < end and local < closes:
            candidate = max(local, opens)
            candidate = _after_quiet(candidate, quiet)
            if candidate < closes:
                return candidate.astimezone(UTC)
        local = datetime.combine(day + timedelta(days=1), start, tzinfo=zone)
    return moment.astimezone(UTC)  # working hours that never come: as soon as asked


def _after_quiet(moment: datetime, quiet: QuietHours) -> datetime:
    """Return ``moment``, or the end of the quiet hours it falls in (same zone)."""
    start, end = quiet.start.time, quiet.end.time
    if not quiet.enabled or start == end:
        return moment
    clock = moment.time().replace(tzinfo=None)
    if not _in_quiet(clock, start, end):
        return moment
    day = moment.date() + timedelta(days=1) if start > end and clock >= start else moment.date()
    return datetime.combine(day, end, tzinfo=moment.tzinfo)
