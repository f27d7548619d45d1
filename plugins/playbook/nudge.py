"""No response? Don't take it personally: nudge, at most twice, then let it go kindly.

``nudge_after`` (7 days) after the first unanswered outreach, nudge number 1 is due at
the next send window; number 2 another ``nudge_after`` later; after ``max_nudges``
(2), once every nudge has had its time, the contact is ``no-reply`` and a last,
low-priority reminder says so kindly (nudges not sent by then are moot). A follow-up
recorded with ``reach`` counts as a nudge sent, and so does ``done`` on a nudge; a reply
cancels them all. Day-long durations count on the wall clock of the contact's zone.
"""

from datetime import datetime

from coffeechat.events.projection import State
from coffeechat.events.stages import current_run
from coffeechat.plugins import hookimpl
from coffeechat.plugins.playbook.common import (
    contact_zone,
    day,
    shift,
    stages,
    tracked,
    user_zone,
)
from coffeechat.plugins.reminders import Reminder, make_reminder, reminder_id
from coffeechat.plugins.schedules import next_in_window
from coffeechat.plugins.settings import Settings


@hookimpl
def coffeechat_reminders(state: State, now: datetime, settings: Settings) -> list[Reminder]:
    """Propose the next nudge of every unanswered outreach, or the closing word."""
    playbook = settings.playbook
    stage_now = stages(state, now, settings)
    reminders = []
    for contact in tracked(state):
        if stage_now[contact.handle] not in ("reached", "no-reply"):
            continue
        run = current_run(contact, None, playbook.nudge_after.delta, playbook.max_nudges)
        if not run:
            continue
        first, because = run[0], [outreach.event for outreach in run]
        zone = contact_zone(contact, settings)
        sent = len(run) - 1
        closing = shift(first.at, (playbook.max_nudges + 1) * playbook.nudge_after.delta, zone)
        # Once every nudge has had its time, they are moot (and their ids need no working out).
        pending = [
            number
            for number in range(sent + 1, playbook.max_nudges + 1)
            if now < closing
            and reminder_id("nudge", contact.handle, because, str(number)) not in state.done
        ]
        if pending:
            number = pending[0]
            due = next_in_window(
                shift(first.at, number * playbook.nudge_after.delta, zone),
                playbook.send_window.text,
                zone,
            )
            message = (
                f"No reply from {contact.name} since {day(first.at, user_zone(settings))}: "
                f"send a short, friendly nudge ({number} of {playbook.max_nudges})."
            )
            reminders.append(
                make_reminder(
                    "nudge", contact.handle, due, message, because=because, key=str(number)
                )
            )
            continue
        message = (
            f"No reply from {contact.name}. Don't take it personally: people get busy. "
            "Archive them, or try again another way in a few months."
        )
        reminders.append(
            make_reminder(
                "nudge",
                contact.handle,
                closing,
                message,
                because=because,
                key="closing",
                priority="low",
            )
        )
    return reminders
