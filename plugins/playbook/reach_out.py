"""Reach out at the right moment: e-mail on Tuesday or Wednesday, not Monday, not
Thursday afternoon, not Friday.

A planned outreach (``plan``) is due at the next send window (``send_window``, by
default ``0 9 * * TUE,WED``) in the contact's zone, or yours when theirs is unknown.
"""

from datetime import datetime

from coffeechat.events.projection import State
from coffeechat.plugins import hookimpl
from coffeechat.plugins.playbook.common import contact_zone, stages, their_time, tracked
from coffeechat.plugins.reminders import Reminder, make_reminder
from coffeechat.plugins.schedules import next_in_window
from coffeechat.plugins.settings import Settings


@hookimpl
def coffeechat_reminders(state: State, now: datetime, settings: Settings) -> list[Reminder]:
    """Remind of every planned outreach at its contact's next send window."""
    playbook = settings.playbook
    stage_now = stages(state, now, settings)
    reminders = []
    for contact in tracked(state):
        planned = contact.planned
        if planned is None or stage_now[contact.handle] != "planned":
            continue
        zone = contact_zone(contact, settings)
        due = next_in_window(planned.at, playbook.send_window.text, zone)
        about = (
            f"ask what you want to learn: {contact.learn}"
            if contact.learn
            else "say exactly what you hope to learn from them"
        )
        reminders.append(
            make_reminder(
                "reach-out",
                contact.handle,
                due,
                f"Reach out to {contact.name} today{_at(their_time(due, contact, settings))}: "
                f"{about}.",
                because=[planned.event],
            )
        )
    return reminders


def _at(moment: str | None) -> str:
    return f", {moment}" if moment else ""
