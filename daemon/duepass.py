"""What is due, and to which channels: the daemon's delivery pass.

The agenda (:mod:`coffeechat.daemon.agenda`) keeps the reminders and the ids due now;
this pass looks only at those: which channels still owe each one (the ledger in the log
and what waits to be recorded), which are moot (``expires``) or held by quiet hours
(looked at again when they end), and gives each channel with nothing in flight its
next notification (one summary when too many are due at once).

:class:`DeliveryPass` is a part of :class:`coffeechat.daemon.runner.Daemon`, split off
so that each module reads in one sitting.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from coffeechat.daemon.channels import Channel, route
from coffeechat.daemon.delivery import (
    UNANSWERED_LIMIT,
    Dispatcher,
    Key,
    ledger_entries,
    report,
    title_of,
)
from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.projection import State, occurrence_key
from coffeechat.plugins.quiet import deliver_at
from coffeechat.plugins.reminders import PRIORITIES, Reminder

if TYPE_CHECKING:
    from coffeechat.daemon.agenda import Agenda
    from coffeechat.daemon.ledger import Ledger
    from coffeechat.plugins.settings import Settings

Due = tuple[Reminder, str, list[Channel]]


class DeliveryPass:
    """Owed deliveries: which channel still owes what, and handing them out."""

    state: State
    settings: Settings
    channels: list[Channel]
    ledger: Ledger
    dispatcher: Dispatcher
    agenda: Agenda
    device: str
    due_once: set[tuple[str, str]]

    def stopping(self) -> bool:  # pragma: no cover - the daemon's
        """Whether the daemon was asked to stop."""
        raise NotImplementedError

    def _contact_name(self, handle: str | None) -> str | None:  # pragma: no cover
        raise NotImplementedError

    def classify(self, reminder: Reminder, now: datetime, zone: Any) -> datetime | None:
        """Return when ``reminder`` may be delivered (``now`` or earlier: it is due), or
        None when no channel owes it (delivered, left unknown, or moot)."""
        occurrence = occurrence_key(reminder.delivery)
        owing = route(reminder, self.channels, self.settings.routing)
        if not any(self._owed(reminder.id, occurrence, c.name) for c in owing):
            return None
        if reminder.expires is not None and reminder.expires <= now:
            return None  # moot: the meeting it prepared for has started
        return deliver_at(reminder, self.settings.quiet_hours, zone, now)

    def due_pass(self, now: datetime, zone: Any, delivering: bool) -> datetime | None:
        """Deliver what is due at ``now`` (when ``delivering``); return the earliest retry
        of a channel that failed, or None."""
        wake: datetime | None = None
        due: list[Due] = []
        owed: set[Key] = set()
        agenda = self.agenda
        for entry in list(agenda.due):
            reminder = agenda.reminders.get(entry)
            if reminder is None:
                agenda.due.discard(entry)
                continue
            occurrence = occurrence_key(reminder.delivery)
            missing = [
                c
                for c in route(reminder, self.channels, self.settings.routing)
                if self._owed(reminder.id, occurrence, c.name)
            ]
            if not missing or (reminder.expires is not None and reminder.expires <= now):
                agenda.due.discard(entry)
                continue
            when = deliver_at(reminder, self.settings.quiet_hours, zone, now)
            if when > now:  # quiet hours began: it waits for their end
                agenda.due.discard(entry)
                agenda.looks.push(when, reminder.contact)
                continue
            due.append((reminder, occurrence, missing))
            for channel in missing:
                key = (reminder.id, occurrence, channel.name)
                owed.add(key)
                retry = self.dispatcher.backoff.retry_at(key)
                if retry is not None and retry > now:
                    wake = retry if wake is None else min(wake, retry)
        self.dispatcher.backoff.keep_only(owed)
        due.sort(key=lambda item: (item[0].due, -PRIORITIES.index(item[0].priority), item[0].id))
        if due and delivering:
            self.due_once.update((reminder.id, occurrence) for reminder, occurrence, _ in due)
            self.deliver(due, now)
        return wake

    def _owed(self, reminder: str, occurrence: str, channel: str) -> bool:
        """Whether this channel still owes this delivery: it has not taken it (as far as the
        log and what waits to be recorded say), and has not been left unknown."""
        if channel in self.state.delivered.get(reminder, {}).get(occurrence, ()):
            return False
        if self.ledger.pending and channel in self.ledger.taken(reminder, occurrence):
            return False
        return self._unanswered(reminder, occurrence, channel) < UNANSWERED_LIMIT

    def _unanswered(self, reminder: str, occurrence: str, channel: str) -> int:
        """Return how many attempts at this delivery got no answer (recorded or waiting)."""
        tries = self.state.unanswered.get(reminder, {}).get(occurrence, {}).get(channel, 0)
        if self.ledger.pending:
            tries += self.ledger.unanswered(reminder, occurrence, channel)
        return tries

    def deliver(self, due: list[Due], now: datetime) -> None:
        """Give each channel that has nothing in flight its next due notification (one
        summary when too many are due at once); the rest waits for its turn."""

        def ready(reminder: Reminder, occurrence: str, channel: Channel) -> bool:
            return self.dispatcher.backoff.ready((reminder.id, occurrence, channel.name), now)

        if len(due) > self.settings.daemon.summary_after:
            for channel in self.channels:
                items = [
                    (reminder, occurrence)
                    for reminder, occurrence, missing in due
                    if channel in missing and ready(reminder, occurrence, channel)
                ]
                if items and self.dispatcher.idle(channel.name):
                    title = f"{len(items)} reminders are due"
                    body = "\n".join(f"- {reminder.message}" for reminder, _ in items)
                    self.dispatcher.start(channel, items, title, body)
            return
        for reminder, occurrence, missing in due:
            if self.stopping():
                break  # SIGTERM: what is in flight is finished, the rest waits
            for channel in missing:
                if self.dispatcher.idle(channel.name) and ready(reminder, occurrence, channel):
                    title = title_of(reminder, self._contact_name(reminder.contact))
                    self.dispatcher.start(
                        channel, [(reminder, occurrence)], title, reminder.message
                    )

    def harvest(self, now: datetime) -> list[m.Event]:
        """Return the ledger entries for what the channels finished, saying what happened.

        A reminder whose delivery failed stays due: it is in the agenda's due set again,
        so the next pass retries it when its backoff allows.
        """
        jobs = self.dispatcher.harvest(now)
        for job in jobs:
            reminder, occurrence = job.items[0]
            tries = 1 + self._unanswered(reminder.id, occurrence, job.channel.name)
            report(job, tries, self.dispatcher.backoff.retry_at(job.deliveries()[0]))
            for item, _ in job.items:
                if (item.id, item.delivery) in self.agenda.reminders:
                    self.agenda.due.add((item.id, item.delivery))
        stamp = Stamp(now, self.device, self.settings.timezone or "UTC", after=self.state.last_hlc)
        return ledger_entries(jobs, stamp)
