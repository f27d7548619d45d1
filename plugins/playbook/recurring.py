"""Your own recurring reminders (``coffeechat every CRON TEXT``), in their zone.

A schedule that cannot be worked out (one that never fires, recorded before such
schedules were refused, or by another device) costs only its own reminder: it is
reported as skipped, and every other schedule still fires.
"""

from datetime import UTC, datetime

from coffeechat.events.errors import UserError
from coffeechat.events.projection import Recurring, State
from coffeechat.events.zones import zone_named
from coffeechat.plugins import hookimpl
from coffeechat.plugins.playbook.common import user_zone
from coffeechat.plugins.reminders import Reminder, Skipped, make_reminder
from coffeechat.plugins.schedules import next_fire, previous_fire
from coffeechat.plugins.settings import Settings


@hookimpl
def coffeechat_reminders(
    state: State, now: datetime, settings: Settings
) -> list[Reminder | Skipped]:
    """Propose every recurring reminder's overdue occurrence (until done) and its next."""
    reminders: list[Reminder | Skipped] = []
    for recurring in state.recurring.values():
        contact = state.contacts.get(recurring.contact) if recurring.contact else None
        if recurring.contact and contact is None:
            continue
        try:
            reminders.extend(_occurrences(recurring, state, now, settings))
        except (ValueError, UserError) as error:  # a schedule that never fires, a bad zone
            subject = f"every {recurring.cron!r}" + (
                f" ({recurring.contact})" if recurring.contact else ""
            )
            reminders.append(Skipped(subject, str(error)))
    return reminders


def _occurrences(
    recurring: Recurring, state: State, now: datetime, settings: Settings
) -> list[Reminder]:
    zone = zone_named(recurring.tz) if recurring.tz else user_zone(settings)
    probe = make_reminder("recurring", recurring.contact, now, "", because=[recurring.id])
    done = set(state.done.get(probe.id, ()))
    occurrences = []
    last = previous_fire(recurring.cron, now, zone)
    if last is not None and last >= recurring.since and last.astimezone(UTC) not in done:
        occurrences.append(last)  # overdue until done
    occurrences.append(next_fire(recurring.cron, max(now, recurring.since), zone))
    return [
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
    ]
