"""Your move: they replied, so book a time.

A contact who replied (stage ``replied``) and has no meeting booked gets a ``book``
reminder, due ``book_after`` (1 h) after the reply, moved into your working hours (the
``[congratulate]`` ``start``/``end``, Monday to Friday) and out of your quiet hours. It
names two or three concrete times on Tuesday or Wednesday in THEIR zone (yours beside
them when it differs), found by :func:`~coffeechat.plugins.slots.plan_slots` from the
due time, or from now once it is overdue (times already past are no use to offer), and
says to offer to come to them: the article's "make it easy for them". Overdue contacts
in the same pair of zones get the same times, worked out once per evaluation.

``schedule`` clears it, as do a decline and ``archive``; ``done`` records only
``reminder.done``.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from coffeechat.events.projection import Contact, State
from coffeechat.plugins import hookimpl
from coffeechat.plugins.playbook.common import clock, contact_zone, tracked, user_zone
from coffeechat.plugins.playbook.congratulate import CongratulateSettings, _working_time
from coffeechat.plugins.reminders import Reminder, make_reminder
from coffeechat.plugins.settings import Settings
from coffeechat.plugins.slots import Slots, booked_meetings, plan_slots


@hookimpl
def coffeechat_reminders(state: State, now: datetime, settings: Settings) -> list[Reminder]:
    """Propose booking a time with everyone who replied and has no meeting booked."""
    try:
        hours: CongratulateSettings = settings.section("congratulate")
    except KeyError:  # settings read without that section
        hours = CongratulateSettings()
    zone = user_zone(settings)
    busy = tuple(booked_meetings(state))
    slots_from = _SlotPlanner(busy, hours)
    reminders = []
    for contact in tracked(state):
        replied = contact.replied
        if replied is None or contact.declined or contact.meeting is not None:
            continue
        if contact.met is not None and contact.met.at >= replied.at:
            continue
        due = _working_time(
            replied.at + settings.playbook.book_after.delta, hours, settings.quiet_hours, zone
        )
        reminders.append(
            make_reminder(
                "book",
                contact.handle,
                due,
                _message(contact, slots_from(max(due, now), contact, settings)),
                because=[replied.event],
            )
        )
    return reminders


class _SlotPlanner:
    """The times to offer from an instant, for a contact's zone and yours: one
    :func:`plan_slots` per (instant, zones) in an evaluation."""

    def __init__(self, busy: tuple[tuple[datetime, datetime], ...], hours: CongratulateSettings):
        self.busy = busy
        self.hours = (hours.start.time, hours.end.time)
        self.known: dict[tuple[datetime, str, str], tuple[Slots, ZoneInfo, ZoneInfo]] = {}

    def __call__(
        self, start: datetime, contact: Contact, settings: Settings
    ) -> tuple[Slots, ZoneInfo, ZoneInfo]:
        theirs, yours = contact_zone(contact, settings), user_zone(settings)
        key = (start, theirs.key, yours.key)
        if key not in self.known:
            slots = plan_slots(start, theirs, yours, self.busy, working_hours=self.hours)
            self.known[key] = (slots, theirs, yours)
        return self.known[key]


def _message(contact: Contact, planned: tuple[Slots, ZoneInfo, ZoneInfo]) -> str:
    """Say what to answer: the times to offer, in their zone, and the offer to come to them."""
    slots, theirs, yours = planned
    offered = []
    for start in slots.times:
        if theirs.key == yours.key:
            offered.append(clock(start, yours))
        else:
            offered.append(f"{clock(start, theirs)} ({clock(start, yours)} yours)")
    where = f" in their zone ({theirs.key})" if theirs.key != yours.key else ""
    times = "; ".join(offered) if offered else "two or three times that suit them"
    outside = "" if slots.shared or not offered else " (outside your working hours)"
    return (
        f"{contact.name} replied: your move. Answer with two or three concrete times on "
        f"Tuesday or Wednesday{where}: {times}{outside}, and offer to come to them: make it "
        f"easy for them. Then: coffeechat schedule {contact.handle} WHEN"
    )
