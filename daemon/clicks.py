"""Clicks on notification buttons (the desktop's "Done" and "Snooze 1 day"), recorded as
``coffeechat done`` and ``coffeechat snooze ID 1d`` would record them."""

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from coffeechat.daemon.channels import Channel
from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.projection import State
from coffeechat.plugins.reminders import Reminder, decide_done

LOG = logging.getLogger("coffeechat.daemon")


def listen(channels: Iterable[Channel], clicked: Callable[[str, str], None]) -> None:
    """Start a listener thread per channel that has buttons; ``clicked(reminder id, key)``
    is called from that thread for each click on "done" or "snooze"."""
    for channel in channels:
        listening = getattr(channel.target, "listen_for_actions", None)
        if not callable(listening):
            continue
        target = channel.target

        def on_click(notification_id: int, key: str, target: Any = target) -> None:
            reminder_id = getattr(target, "sent", {}).get(notification_id)
            if reminder_id is not None and key in ("done", "snooze"):
                clicked(reminder_id, key)

        threading.Thread(target=listening, args=(on_click,), daemon=True).start()


def click_events(
    clicks: Iterable[tuple[str, str]],
    reminders: dict[str, Reminder],
    stamp: Stamp,
    state: State,
) -> list[m.Event]:
    """Return the events that record these clicks (reminder id, "done" or "snooze"):
    "Done" decides as ``coffeechat done`` does (the thank-you on a thank-you reminder)."""
    events: list[m.Event] = []
    for reminder_id, key in clicks:
        reminder = reminders.get(reminder_id)
        occurrence = reminder.occurrence if reminder is not None else None
        if key == "done" and reminder is not None:
            events.extend(decide_done(state, stamp, reminder).events)
        elif key == "done":
            events.append(stamp(m.ReminderDone, reminder=reminder_id, occurrence=occurrence))
        else:
            until = stamp.now + timedelta(days=1)
            events.append(stamp(m.ReminderSnoozed, reminder=reminder_id, until=until))
        LOG.info("reminder %s: %s from a notification", reminder_id, key)
    return events
