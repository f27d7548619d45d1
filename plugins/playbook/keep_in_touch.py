"""Stay in touch: ``keep_in_touch`` (90 days) after the last touchpoint with someone you
have met, or on the contact's own ``--cadence`` (a duration or a cron line).

A cadence that cannot be worked out (a cron that never fires, recorded before such
cadences were refused, or by another device) costs only that contact's reminder: it is
reported as skipped, and everyone else is still reminded."""

from datetime import datetime, timedelta
from functools import lru_cache

from coffeechat.events.projection import State, Step
from coffeechat.plugins import hookimpl
from coffeechat.plugins.playbook.common import (
    contact_zone,
    day,
    shift,
    stages,
    tracked,
    user_zone,
)
from coffeechat.plugins.reminders import Reminder, Skipped, make_reminder
from coffeechat.plugins.schedules import next_fire
from coffeechat.plugins.settings import Duration, Settings


@hookimpl
def coffeechat_reminders(
    state: State, now: datetime, settings: Settings
) -> list[Reminder | Skipped]:
    """Propose a touchpoint for everyone met, on their cadence."""
    stage_now = stages(state, now, settings)
    reminders: list[Reminder | Skipped] = []
    for contact in tracked(state):
        if contact.met is None or stage_now[contact.handle] == "declined":
            continue
        steps: list[Step] = [s for s in (contact.met, contact.thanked, contact.touched) if s]
        last = max(steps, key=lambda step: step.at)
        zone = contact_zone(contact, settings)
        if not contact.cadence:
            due = shift(last.at, settings.playbook.keep_in_touch.delta, zone)
        else:
            every = _as_duration(contact.cadence)
            if every is not None:
                due = shift(last.at, every, zone)
            else:
                try:
                    due = next_fire(contact.cadence, last.at, zone)
                except ValueError as error:  # a cron that never fires
                    reminders.append(Skipped(f"{contact.handle}'s cadence", str(error)))
                    continue
        reminders.append(
            make_reminder(
                "keep-in-touch",
                contact.handle,
                due,
                f"Stay in touch with {contact.name} (last: {day(last.at, user_zone(settings))}):"
                " a short note, an article they would like, congratulations on their news.",
                because=[last.event],
                priority="low",
            )
        )
    return reminders


@lru_cache(maxsize=256)
def _as_duration(cadence: str) -> timedelta | None:
    """Return a cadence written as a duration (``60d``), or None (a cron line)."""
    try:
        return Duration(cadence).delta
    except ValueError:
        return None
