"""Ask for an introduction, and close the loop.

- An ask made at ``met`` (``--asked``) with no introduction from that contact
  ``follow_up_after`` (7 days) later: follow up, politely (a touch since the ask, which
  ``done`` records, settles it).
- When you meet someone a contact introduced you to, tell the introducer how it went
  and thank them (due ``thank_you_after`` after that meeting; ``touch`` the introducer,
  or ``done``, settles it).
"""

from datetime import datetime

from coffeechat.events.projection import State
from coffeechat.plugins import hookimpl
from coffeechat.plugins.playbook.common import day, shift, tracked, user_zone
from coffeechat.plugins.reminders import Reminder, make_reminder
from coffeechat.plugins.settings import Settings


@hookimpl
def coffeechat_reminders(state: State, now: datetime, settings: Settings) -> list[Reminder]:
    """Propose follow-ups of unanswered asks and thanks owed to introducers."""
    playbook = settings.playbook
    zone = user_zone(settings)
    introduced_by = _introducers(state)
    reminders = []
    for contact in tracked(state):
        asked = next((h for h in reversed(contact.held) if h.asked), None)
        if asked is not None:
            introduced_since = any(
                state.contacts[handle].added.at >= asked.at
                for handle in contact.introduced
                if handle in state.contacts
            )
            # A touch since the ask is the follow-up (``done`` on this reminder records one).
            followed_up = contact.touched is not None and contact.touched.at >= asked.at
            if not introduced_since and not followed_up:
                reminders.append(
                    make_reminder(
                        "follow-up",
                        contact.handle,
                        shift(asked.at, playbook.follow_up_after.delta, zone),
                        f"On {day(asked.at, zone)} you asked {contact.name} for "
                        f"{asked.asked}. Nothing yet: follow up, kindly.",
                        because=[asked.event],
                    )
                )
        met = contact.met
        if met is None:
            continue
        for handle in sorted(introduced_by.get(contact.handle, ())):
            introducer = state.contacts.get(handle)
            if introducer is None or handle == contact.handle:
                continue
            settled = [step for step in (introducer.touched, introducer.thanked) if step]
            if introducer.archived is not None or any(step.at >= met.at for step in settled):
                continue
            reminders.append(
                make_reminder(
                    "follow-up",
                    introducer.handle,
                    met.at + playbook.thank_you_after.delta,
                    f"Close the loop: tell {introducer.name} you met {contact.name}, and thank "
                    f"them for the introduction. Then: coffeechat touch {introducer.handle}",
                    because=[contact.added.event, met.event],
                )
            )
    return reminders


def _introducers(state: State) -> dict[str, set[str]]:
    """Return who introduced whom (handle to introducers' handles): each contact's ``via``
    (``add``/``edit --via``, ``intro``) and every introduction recorded on the introducer's
    side (``intro`` of someone already a contact)."""
    by: dict[str, set[str]] = {}
    for handle, contact in state.contacts.items():
        if contact.via:
            by.setdefault(handle, set()).add(contact.via)
        for introduced in contact.introduced:
            by.setdefault(introduced, set()).add(handle)
    return by
