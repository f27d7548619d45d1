"""Around a booked meeting: prepare, show up on time (and pick up the tab), and notice a
meeting that came and went with nothing recorded.

- ``prep``: ``prep_before`` (1 day) before it starts: research them, have an ask.
- ``on-time``: ``on_time_before`` (30 min; ``on_time_before_in_person``, 60 min, when
  in person) before it starts; in person adds "pick up the tab".
- ``did-it-happen``: ``did_it_happen_after`` (2 h) after its planned end.

Prep and on-time become moot when the meeting starts (``expires``): missed while the
machine slept, they are not delivered late. A ``reschedule`` moves all three (their ids
include the reschedule, so reminders of the old time are gone).
"""

from datetime import datetime, timedelta

from coffeechat.events.projection import State
from coffeechat.plugins import hookimpl
from coffeechat.plugins.playbook.common import clock, shift, tracked, user_zone
from coffeechat.plugins.reminders import Reminder, make_reminder
from coffeechat.plugins.settings import Settings


@hookimpl
def coffeechat_reminders(state: State, now: datetime, settings: Settings) -> list[Reminder]:
    """Propose prep, on-time and did-it-happen for every booked meeting."""
    playbook = settings.playbook
    zone = user_zone(settings)
    reminders = []
    for contact in tracked(state):
        meeting = contact.meeting
        if meeting is None:
            continue
        because = [meeting.booked.event] + ([meeting.moved.event] if meeting.moved else [])
        when = clock(meeting.starts, zone)
        in_person = meeting.mode == "in-person"
        where = f" at {meeting.place}" if meeting.place else ""
        ask = f" You wanted to learn: {contact.learn}." if contact.learn else ""
        reminders.append(
            make_reminder(
                "prep",
                contact.handle,
                shift(meeting.starts, -playbook.prep_before.delta, zone),
                f"Prepare for {contact.name} ({when}): look them up, read their LinkedIn "
                f"profile and recent work.{ask} What is your ask? An introduction to "
                "someone they know is a good one.",
                because=because,
                expires=meeting.starts,
            )
        )
        before = (playbook.on_time_before_in_person if in_person else playbook.on_time_before).delta
        tab = " Pick up the tab: they are doing you a favour." if in_person else ""
        reminders.append(
            make_reminder(
                "on-time",
                contact.handle,
                meeting.starts - before,
                f"{contact.name} at {meeting.starts.astimezone(zone):%H:%M}{where}: "
                f"be on time.{tab}",
                because=because,
                priority="high",
                expires=meeting.starts,
            )
        )
        ends = meeting.starts + timedelta(minutes=meeting.minutes)
        reminders.append(
            make_reminder(
                "did-it-happen",
                contact.handle,
                ends + playbook.did_it_happen_after.delta,
                f"Did your meeting with {contact.name} ({when}) happen? Record it: "
                f"coffeechat met {contact.handle} (or reschedule, or cancel).",
                because=because,
            )
        )
    return reminders
