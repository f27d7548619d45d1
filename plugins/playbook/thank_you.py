"""A thank-you e-mail is a MUST: due ``thank_you_after`` (2 h) after the meeting ends,
high priority, repeating every ``thank_you_repeat`` (12 h) until ``thank``.

Each repetition is an occurrence of the same reminder (the daemon delivers each
once); ``done`` or ``thank`` stops them.
"""

from datetime import datetime

from coffeechat.events.projection import State
from coffeechat.plugins import hookimpl
from coffeechat.plugins.playbook.common import tracked
from coffeechat.plugins.reminders import Reminder, make_reminder
from coffeechat.plugins.settings import Settings


@hookimpl
def coffeechat_reminders(state: State, now: datetime, settings: Settings) -> list[Reminder]:
    """Propose the thank-you owed for the last meeting of every contact who has none."""
    playbook = settings.playbook
    reminders = []
    for contact in tracked(state):
        met = contact.met
        if met is None or (contact.thanked is not None and contact.thanked.at >= met.at):
            continue
        held = next((h for h in contact.held if h.event == met.event), None)
        first = (held.ends if held is not None else met.at) + playbook.thank_you_after.delta
        occurrence = first
        repeat = playbook.thank_you_repeat.delta
        if now > first and repeat.total_seconds() > 0:
            occurrence = first + ((now - first) // repeat) * repeat
        reminders.append(
            make_reminder(
                "thank-you",
                contact.handle,
                occurrence,
                f"Send your thank-you to {contact.name}: a thank-you e-mail is a must. "
                f"Then: coffeechat thank {contact.handle}",
                because=[met.event],
                priority="high",
                occurrence=occurrence,
            )
        )
    return reminders
