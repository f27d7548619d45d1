"""Your own recurring reminders (``coffeechat every CRON TEXT``), in their zone."""

from datetime import UTC, datetime

from coffeechat.events.projection import State
from coffeechat.events.zones import zone_named
from coffeechat.plugins import hookimpl
from coffeechat.plugins.playbook.common import user_zone
from coffeechat.plugins.reminders import Reminder, make_reminder
from coffeechat.plugins.schedules import next_fire, previous_fire
from coffeechat.plugins.settings import Settings


@hookimpl
def coffeechat_reminders(state: State, now: datetime, settings: Settings) -> list[Reminder]:
    """Propose every recurring reminder's overdue occurrence (until done) and its next."""
    reminders: list[Reminder] = []
    for recurring in state.recurring.values():
        contact = state.contacts.get(recurring.contact) if recurring.contact else None
        if recurring.contact and contact is None:
            continue
        zone = zone_named(recurring.tz) if recurring.tz else user_zone(settings)
        probe = make_reminder("recurring", recurring.contact, now, "", because=[recurring.id])
        done = set(state.done.get(probe.id, ()))
        occurrences = []
        last = previous_fire(recurring.cron, now, zone)
        if last is not None and last >= recurring.since and last.astimezone(UTC) not in done:
            occurrences.append(last)  # overdue until done
        occurrences.append(next_fire(recurring.cron, max(now, recurring.since), zone))
        reminders.extend(
            make_reminder(
                "recurring",
                recurring.contact,
                occurrence,
                recurring.text,
                because=[recurring.id],
                occurrence=occurrence,
                recurring=True,
            )
            for occurrence in occurrences
        )
    return reminders
