"""Delivering reminders: each channel on its own, each delivery retried on its own.

Every channel has its own queue: it is given one notification at a time (the next one
once the previous is finished and recorded), on a thread of its own, so a slow or
hanging channel never holds up the others, and a crash repeats at most the one
notification each channel had in flight.

What became of a notification:

- *sent*: the channel took it; the caller records it in the ledger (``notification.sent``).
- *failed*: the service refused it or could not be reached, so it did not arrive: it is
  retried with exponential backoff (5 s, 10 s, 20 s … capped at 10 minutes) for as long as
  the reminder stands.
- *unknown*: no answer in time (the channel raised ``TimeoutError``, or its call was still
  running after :data:`ATTEMPT_DEADLINE`): it may have arrived. The caller records each
  such attempt; after :data:`UNANSWERED_LIMIT` of them the delivery is left unknown and
  never tried again (docs/daemon.md says what the user can do about it).
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from coffeechat.daemon.channels import Channel
from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.projection import State, occurrence_key
from coffeechat.events.text import printable
from coffeechat.plugins.reminders import Reminder

LOG = logging.getLogger("coffeechat.daemon")

FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=10)
UNANSWERED_LIMIT = 3  # attempts without an answer, in all, before a delivery is left unknown
ATTEMPT_DEADLINE = 120.0  # seconds a channel's call may run before it is given up on

SENT, FAILED, UNKNOWN = "sent", "failed", "unknown"
Key = tuple[str, str, str]  # reminder id, occurrence key, channel name

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
        self.failures: dict[Key, tuple[int, datetime]] = {}

    def ready(self, key: Key, now: datetime) -> bool:
        """Whether this delivery may be attempted now."""
        entry = self.failures.get(key)
        return entry is None or entry[1] <= now

    def failed(self, key: Key, now: datetime) -> datetime:
        """Record a failure; return when to try again."""
        attempts = self.failures.get(key, (0, now))[0] + 1
        wait: timedelta = min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)
        self.failures[key] = (attempts, now + wait)
        return now + wait

    def succeeded(self, key: Key) -> None:
        """Forget the failures of a delivery that went through (or is given up)."""
        self.failures.pop(key, None)

    def retry_at(self, key: Key) -> datetime | None:
        """Return when this delivery may be tried again, if it is waiting for that."""
        entry = self.failures.get(key)
        return entry[1] if entry is not None else None

    def keep_only(self, keys: set[Key]) -> None:
        """Forget the deliveries not in ``keys`` (delivered, done, moot or given up)."""
        for key in [key for key in self.failures if key not in keys]:
            del self.failures[key]


class Job:
    """One notification for one channel: a reminder, or a summary of several."""

    def __init__(
        self, channel: Channel, items: list[tuple[Reminder, str]], title: str, body: str
    ) -> None:
        self.channel = channel
        self.items = items  # (reminder, occurrence key) pairs this notification delivers
        self.title = title
        self.body = body
        self.started = time.monotonic()
        self.outcome = ""  # SENT, FAILED or UNKNOWN once finished
        self.detail = ""
        self.abandoned = False

    def deliveries(self) -> list[Key]:
        """Return the (reminder id, occurrence, channel) keys this job delivers."""
        return [(reminder.id, occurrence, self.channel.name) for reminder, occurrence in self.items]


class Dispatcher:
    """Sends notifications, each channel on its own: at most one in flight per channel.

    :meth:`start` hands a notification to a thread of its own and returns at once; when
    it is finished, ``on_finished`` is called (from that thread) and :meth:`harvest`
    returns it. A channel whose call is still running after :data:`ATTEMPT_DEADLINE`
    seconds is given up on: that attempt counts as unanswered, and its thread is left
    to finish (or not) on its own.
    """

    def __init__(self, on_finished: Callable[[], None] = lambda: None) -> None:
        self.backoff = Backoff()
        self.on_finished = on_finished
        self.running: dict[str, Job] = {}  # channel name → its job in flight
        self.finished: list[Job] = []
        self.lock = threading.Lock()

    def busy(self) -> bool:
        """Whether a notification is in flight or finished and not yet harvested."""
        with self.lock:
            return bool(self.running or self.finished)

    def idle(self, channel: str) -> bool:
        """Whether this channel may be given a notification: nothing in flight, and what it
        finished is harvested (so the caller has seen whether it was delivered)."""
        with self.lock:
            return channel not in self.running and all(
                job.channel.name != channel for job in self.finished
            )

    def start(
        self, channel: Channel, items: list[tuple[Reminder, str]], title: str, body: str
    ) -> None:
        """Send one notification through ``channel`` on a thread of its own."""
        job = Job(channel, items, title, body)
        with self.lock:
            self.running[channel.name] = job
        threading.Thread(
            target=self._run, args=(job,), name=f"channel {channel.name}", daemon=True
        ).start()

    def _run(self, job: Job) -> None:
        job.outcome, job.detail = _send(job.channel, job.title, job.body, job.items[0][0])
        with self.lock:
            if job.abandoned:
                return  # already counted as unanswered
            self.running.pop(job.channel.name, None)
            self.finished.append(job)
        self.on_finished()

    def harvest(self, now: datetime) -> list[Job]:
        """Return the jobs that finished (or were given up) since the last call, with their
        outcome, and set the backoff of those that did not deliver."""
        deadline = time.monotonic() - ATTEMPT_DEADLINE
        with self.lock:
            done, self.finished = self.finished, []
            for name, job in list(self.running.items()):
                if job.started <= deadline:
                    job.abandoned = True
                    job.outcome = UNKNOWN
                    job.detail = f"still no answer after {ATTEMPT_DEADLINE:.0f} s"
                    del self.running[name]
                    done.append(job)
        for job in done:
            for key in job.deliveries():
                if job.outcome == SENT:
                    self.backoff.succeeded(key)
                else:
                    self.backoff.failed(key, now)
        return done

    def seconds_to_deadline(self) -> float | None:
        """Return how long until the oldest call in flight is given up on, if any."""
        with self.lock:
            oldest = min((job.started for job in self.running.values()), default=None)
        if oldest is None:
            return None
        return max(0.0, oldest + ATTEMPT_DEADLINE - time.monotonic())


def unknown_channels(reminder: Reminder, state: State) -> list[str]:
    """Return the channels that left this reminder's current delivery unknown: no answer
    in :data:`UNANSWERED_LIMIT` attempts, and not taken since (``agenda``, ``doctor``)."""
    occurrence = occurrence_key(reminder.delivery)
    tries = state.unanswered.get(reminder.id, {}).get(occurrence, {})
    taken = state.delivered.get(reminder.id, {}).get(occurrence, [])
    return sorted(c for c, n in tries.items() if n >= UNANSWERED_LIMIT and c not in taken)


def ledger_entries(jobs: list[Job], stamp: Stamp) -> list[m.Event]:
    """Return the ``notification.sent`` entries for finished jobs: one per delivery, with
    the channels that took it and those that gave no answer (a failure records nothing)."""
    outcomes: dict[tuple[str, str], tuple[Reminder, list[str], list[str]]] = {}
    for job in jobs:
        for reminder, occurrence in job.items:
            entry = outcomes.setdefault((reminder.id, occurrence), (reminder, [], []))
            if job.outcome == SENT:
                entry[1].append(job.channel.name)
            elif job.outcome == UNKNOWN:
                entry[2].append(job.channel.name)
    return [
        stamp(
            m.NotificationSent,
            reminder=reminder.id,
            occurrence=reminder.delivery,
            channels=sorted(sent),
            unknown=sorted(unknown),
        )
        for reminder, sent, unknown in outcomes.values()
        if sent or unknown
    ]


def report(job: Job, tries: int, again: datetime | None) -> None:
    """Log what became of a finished job; ``tries`` counts the attempts without an answer
    including this one, ``again`` is when it is tried next (if it is)."""
    ids = ", ".join(reminder.id for reminder, _ in job.items)
    name = job.channel.name
    if job.outcome == SENT:
        kinds = ", ".join(sorted({reminder.kind for reminder, _ in job.items}))
        LOG.info("delivered %s (%s) to %s", ids, kinds, name)
        return
    next_try = f"next try {again.isoformat(timespec='seconds')}" if again else "no retry"
    if job.outcome == FAILED:
        LOG.warning("channel %s failed for reminder %s (%s); %s", name, ids, job.detail, next_try)
    elif tries < UNANSWERED_LIMIT:
        LOG.warning(
            "channel %s gave no answer for reminder %s (%s): it may have arrived; "
            "attempt %d of %d, %s",
            *(name, ids, job.detail, tries, UNANSWERED_LIMIT, next_try),
        )
    else:
        LOG.warning(
            "channel %s gave no answer for reminder %s in %d attempts: left as unknown "
            "(coffeechat agenda shows it), not tried again",
            *(name, ids, UNANSWERED_LIMIT),
        )


def _send(channel: Channel, title: str, body: str, reminder: Reminder) -> tuple[str, str]:
    began = time.monotonic()
    try:
        ok = channel.send(title, body, reminder)
    except TimeoutError as error:  # the channel cannot tell whether the service took it
        return UNKNOWN, f"no answer: {error}" if str(error) else "no answer"
    except Exception as error:
        return FAILED, f"{type(error).__name__}: {error}"
    if ok:
        return SENT, f"{time.monotonic() - began:.3f}s"
    return FAILED, channel.last_error or "refused"
