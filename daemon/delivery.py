"""Delivering a reminder: every routed channel at once, each retried on its own.

Channels are called in parallel, so a slow or failing one never holds up the others.
A channel that fails is retried with exponential backoff (5 s, 10 s, 20 s … capped at
10 minutes) for as long as the reminder stands. What each channel took is written to
the log as ``notification.sent`` by the caller, which is the ledger that keeps a restart
from repeating a delivery.
"""

import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from coffeechat.daemon.channels import Channel
from coffeechat.events.text import printable
from coffeechat.plugins.reminders import Reminder

LOG = logging.getLogger("coffeechat.daemon")

FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=10)

TITLES = {
    "reach-out": "Reach out",
    "nudge": "Nudge",
    "prep": "Prepare",
    "on-time": "On time",
    "thank-you": "Thank-you owed",
    "follow-up": "Follow up",
    "keep-in-touch": "Stay in touch",
    "digest": "Your week",
    "did-it-happen": "Did it happen?",
    "recurring": "Reminder",
}


def title_of(reminder: Reminder, name: str | None) -> str:
    """Return a notification title: what kind of reminder, about whom (one line, control
    characters escaped: the name may come from any device's segment)."""
    kind = TITLES.get(reminder.kind, reminder.kind.replace("-", " ").capitalize())
    return printable(f"{kind} · {name}" if name else kind, lines=False)


class Backoff:
    """When each (reminder occurrence, channel) that failed may be tried again."""

    def __init__(self) -> None:
        self.failures: dict[tuple[str, str, str], tuple[int, datetime]] = {}

    def ready(self, key: tuple[str, str, str], now: datetime) -> bool:
        """Whether this delivery may be attempted now."""
        entry = self.failures.get(key)
        return entry is None or entry[1] <= now

    def failed(self, key: tuple[str, str, str], now: datetime) -> datetime:
        """Record a failure; return when to try again."""
        attempts = self.failures.get(key, (0, now))[0] + 1
        wait: timedelta = min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)
        self.failures[key] = (attempts, now + wait)
        return now + wait

    def succeeded(self, key: tuple[str, str, str]) -> None:
        """Forget the failures of a delivery that went through."""
        self.failures.pop(key, None)

    def next_retry(self) -> datetime | None:
        """Return the earliest retry time, if any delivery is waiting for one."""
        return min((when for _, when in self.failures.values()), default=None)


class Dispatcher:
    """Sends notifications through channels, in parallel, with per-channel backoff."""

    def __init__(self, workers: int = 8) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="channel")
        self.backoff = Backoff()

    def send(
        self,
        reminder: Reminder,
        occurrence: str,
        title: str,
        body: str,
        channels: Iterable[Channel],
        now: datetime,
    ) -> list[str]:
        """Send to every channel whose backoff allows it; return the names that took it."""
        attempts = {}
        for channel in channels:
            key = (reminder.id, occurrence, channel.name)
            if self.backoff.ready(key, now):
                attempts[channel.name] = (
                    key,
                    self.pool.submit(_send, channel, title, body, reminder),
                )
        taken = []
        for name, (key, future) in attempts.items():
            ok, detail = future.result()
            if ok:
                self.backoff.succeeded(key)
                taken.append(name)
            else:
                again = self.backoff.failed(key, now)
                LOG.warning(
                    "channel %s failed for reminder %s (%s); next try %s",
                    name,
                    reminder.id,
                    detail,
                    again.isoformat(timespec="seconds"),
                )
        return taken

    def close(self) -> None:
        """Finish what is in flight and stop the workers."""
        self.pool.shutdown(wait=True)


def _send(channel: Channel, title: str, body: str, reminder: Reminder) -> tuple[bool, str]:
    began = time.monotonic()
    try:
        ok = channel.send(title, body, reminder)
    except Exception as error:
        return False, f"{type(error).__name__}: {error}"
    detail = channel.last_error or "refused"
    return ok, detail if not ok else f"{time.monotonic() - began:.3f}s"
