"""The daemon's reminders, kept current at the cost of what changed.

A full evaluation asks every rule about every contact; on a large home it is the most
expensive thing the daemon does, so it is done only when something could have changed
any reminder: at start, after a reload of the config or the plugins, after a full
replay of the log (a retraction, a late sync), when an event that is not about one
contact arrives (a schedule, a lease of the calendar's kind, an unknown type), when a
reminder about no contact (the digest, your own schedules) comes due, and as a safety
net at a low rate (:data:`SAFETY_NET_MIN` to :data:`SAFETY_NET_MAX`, see
:meth:`Agenda.safety_net_after`).

Otherwise the agenda re-evaluates contacts (:func:`coffeechat.plugins.reminders.evaluate`
with ``only``) and replaces their entries:

- the contacts the new events are about, with their neighbours by introduction (the
  ``follow-up`` rule reminds an introducer of a meeting with the person they
  introduced); ``done`` or ``snooze`` on a reminder re-evaluates the contact it is about;
- a contact at each time its reminders may change by time alone: when one of them comes
  due (or may be delivered, after quiet hours), when a repeating one is next due again,
  and when its nudges run out (the stage ``reached`` becomes ``no-reply`` with no event,
  :func:`coffeechat.events.stages.current_run`).

Those times are kept in a heap (:class:`Looks`); the daemon sleeps until the earliest.
docs/daemon.md argues why no reminder is missed.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from coffeechat.events import model as m
from coffeechat.events.projection import Contact, State
from coffeechat.events.stages import current_run
from coffeechat.plugins.reminders import Reminder, RuleFailure, evaluate

# The safety net re-evaluates everything at least this often, and at most this often:
# its period is SAFETY_NET_FACTOR times what the last full evaluation cost in CPU, so
# that it costs at most 1/SAFETY_NET_FACTOR of a CPU on average (24,000: 2.5 ms a minute).
SAFETY_NET_MIN = timedelta(hours=1)
SAFETY_NET_MAX = timedelta(hours=24)
SAFETY_NET_FACTOR = 24_000

# Events that change no reminder's evaluation (the ledger and the lease are read when
# delivering; the mail queue by the mailer).
_NEUTRAL = (m.NotificationSent, m.DeliveryLease)
# Events about reminders, by id: they change the reminders of the contact it is about.
_ABOUT_REMINDER = (m.ReminderDone, m.ReminderSnoozed)

Entry = tuple[str, datetime]
"""A reminder in the agenda: its id and the instant naming this delivery (a recurring
reminder has two at once: the occurrence overdue until done, and the next)."""

Classify = Callable[[Reminder], datetime | None]
"""Given a reminder, say when it next needs the daemon for its delivery: ``now`` or
earlier (due: deliver it), a later instant (look then), or None (nothing owed)."""


class Looks:
    """A heap of when a contact (or, for ``None``, everything) needs another look.

    An entry is stale once its contact was evaluated again (the evaluation pushed the
    contact's new times): :meth:`pop_due` skips those.
    """

    def __init__(self) -> None:
        self.heap: list[tuple[datetime, int, str | None]] = []
        self.generation: dict[str | None, int] = {}
        self.counter = itertools.count()

    def clear(self) -> None:
        """Forget every entry (a full evaluation pushes them all again)."""
        self.heap = []
        self.generation = {}

    def renew(self, handle: str | None) -> None:
        """Make the entries pushed so far for ``handle`` stale."""
        self.generation[handle] = next(self.counter)

    def push(self, when: datetime, handle: str | None) -> None:
        """Look at ``handle`` (None: everything) at ``when``."""
        generation = self.generation.get(handle)
        if generation is None:
            generation = self.generation[handle] = next(self.counter)
        heapq.heappush(self.heap, (when, generation, handle))

    def earliest(self) -> datetime | None:
        """Return when the next look is due, or None when none is."""
        while self.heap and self.generation.get(self.heap[0][2]) != self.heap[0][1]:
            heapq.heappop(self.heap)
        return self.heap[0][0] if self.heap else None

    def pop_due(self, now: datetime) -> tuple[set[str], bool]:
        """Return the contacts due for a look at ``now``, and whether everything is."""
        handles: set[str] = set()
        everything = False
        while self.heap and self.heap[0][0] <= now:
            _, generation, handle = heapq.heappop(self.heap)
            if self.generation.get(handle) != generation:
                continue
            if handle is None:
                everything = True
            else:
                handles.add(handle)
        return handles, everything


class Agenda:
    """The reminders of one home as the daemon last evaluated them.

    ``reminders`` maps each :data:`Entry` to its reminder; ``due`` holds the entries due
    for delivery (as the last :data:`Classify` said). ``full_evaluations``,
    ``partial_evaluations`` and ``contacts_evaluated`` count the work done, for the
    daemon's debug log and the tests.
    """

    def __init__(self) -> None:
        self.reminders: dict[Entry, Reminder] = {}
        self.by_contact: dict[str | None, set[Entry]] = {}
        self.contact_of: dict[str, str | None] = {}  # a reminder's id → its contact
        self.due: set[Entry] = set()
        self.looks = Looks()
        self.neighbours: dict[str, set[str]] = {}
        # Who has a meeting booked: the `book` rule offers times that avoid every booked
        # meeting, so a partial evaluation lets the rules see these contacts too.
        self.booked: set[str] = set()
        self.full_needed = True
        self.next_full: datetime | None = None
        self.full_cost = 0.0
        self.full_evaluations = 0
        self.partial_evaluations = 0
        self.contacts_evaluated = 0
        # upcoming()'s answer, kept as reminders come and go (a scan of every reminder at
        # each cycle was most of what a note cost the daemon on a large home):
        # ``_next_since`` is the ``now`` it was worked out for, None when it must be.
        self._next: Reminder | None = None
        self._next_since: datetime | None = None

    # --- what changed ---------------------------------------------------------------------

    def touched_by(self, events: Iterable[m.Event]) -> set[str]:
        """Return the contacts whose reminders the events may change; set
        ``full_needed`` for an event that may change reminders beyond its contacts."""
        touched: set[str] = set()
        for event in events:
            if isinstance(event, _NEUTRAL):
                continue
            if isinstance(event, _ABOUT_REMINDER):
                contact = self.contact_of.get(event.reminder)
                if contact is None:
                    self.full_needed = True  # a digest, a schedule, one not known here
                else:
                    touched.add(contact)
                continue
            contact = getattr(event, "contact", None)
            if isinstance(event, m.EventRetracted):
                self.full_needed = True  # it may take back anything (docs/daemon.md)
            elif isinstance(contact, str):
                touched.add(contact)
                for other in (getattr(event, "via", None), getattr(event, "introduced", None)):
                    if isinstance(other, str):
                        touched.add(other)
            else:  # a schedule of your own, or an event type this version does not know
                self.full_needed = True
        return touched

    # --- evaluating -----------------------------------------------------------------------

    def full(
        self, plugins: Any, state: State, now: datetime, settings: Any, classify: Classify
    ) -> list[RuleFailure]:
        """Evaluate every rule for everything; reschedule every look."""
        began = time.process_time()
        reminders, failures = evaluate(plugins, state, now, settings)
        self.reminders = {}
        self.by_contact = {}
        self.contact_of = {}
        self.due = set()
        self._next_since = None
        self.looks.clear()
        for reminder in reminders:
            self._add(reminder)
        self.neighbours = _introductions(state.contacts.values())
        self.booked = {h for h, c in state.contacts.items() if c.meeting is not None}
        for handle in state.contacts:
            self._look_at(handle, state, now, settings, classify)
        self._look_at(None, state, now, settings, classify)
        self.full_needed = False
        self.full_evaluations += 1
        self.full_cost = time.process_time() - began
        self.next_full = now + self.safety_net_after()
        return failures

    def partial(
        self,
        plugins: Any,
        state: State,
        now: datetime,
        settings: Any,
        touched: Collection[str],
        classify: Classify,
    ) -> list[RuleFailure]:
        """Re-evaluate the contacts in ``touched`` and their neighbours by introduction,
        replacing their reminders; return the rules' failures."""
        if not touched:
            return []
        for handle in touched:
            contact = state.contacts.get(handle)
            if contact is not None:
                _link(self.neighbours, contact)
            if contact is not None and contact.meeting is not None:
                self.booked.add(handle)
            else:
                self.booked.discard(handle)
        affected = set(touched).union(*(self.neighbours.get(h, ()) for h in touched))
        seen = affected.union(*(self.neighbours.get(h, ()) for h in affected), self.booked)
        reminders, failures = evaluate(plugins, state, now, settings, only=seen)
        for handle in affected:
            for entry in self.by_contact.pop(handle, ()):
                if self.reminders.pop(entry) is self._next:
                    self._next_since = None
                self.due.discard(entry)
        for reminder in reminders:
            if reminder.contact in affected:
                self._add(reminder)
        for handle in affected:
            self._look_at(handle, state, now, settings, classify)
        self.partial_evaluations += 1
        self.contacts_evaluated += len(seen)
        return failures

    def safety_net_after(self) -> timedelta:
        """Return how long after a full evaluation the next one is due with nothing else
        asking for it: an hour, or longer when a full evaluation costs more (so that it
        takes at most 1/SAFETY_NET_FACTOR of the CPU), at most a day."""
        period = timedelta(seconds=self.full_cost * SAFETY_NET_FACTOR)
        return min(SAFETY_NET_MAX, max(SAFETY_NET_MIN, period))

    def wake_at(self) -> datetime | None:
        """Return when the agenda next needs the daemon: a look or the safety net."""
        looks = self.looks.earliest()
        if looks is None:
            return self.next_full
        return looks if self.next_full is None else min(looks, self.next_full)

    def looks_due(self, now: datetime) -> set[str]:
        """Return the contacts due for another look at ``now``; set ``full_needed`` when
        everything is (a reminder about no contact came due, or the safety net)."""
        handles, everything = self.looks.pop_due(now)
        if everything or (self.next_full is not None and self.next_full <= now):
            self.full_needed = True
        return handles

    def upcoming(self, now: datetime) -> Reminder | None:
        """Return the next reminder due after ``now`` (for the status line)."""
        since, known = self._next_since, self._next
        if since is not None and since <= now and (known is None or known.due > now):
            return known  # still the earliest: what was added since was weighed in _add
        future = (r for r in self.reminders.values() if r.due > now)
        self._next = min(future, key=_soonest_first, default=None)
        self._next_since = now
        return self._next

    # --- helpers ----------------------------------------------------------------------------

    def _add(self, reminder: Reminder) -> None:
        entry = (reminder.id, reminder.delivery)
        self.reminders[entry] = reminder
        self.by_contact.setdefault(reminder.contact, set()).add(entry)
        self.contact_of[reminder.id] = reminder.contact
        since, known = self._next_since, self._next
        earlier = known is None or _soonest_first(reminder) < _soonest_first(known)
        if since is not None and reminder.due > since and earlier:
            self._next = reminder

    def _look_at(
        self,
        handle: str | None,
        state: State,
        now: datetime,
        settings: Any,
        classify: Classify,
    ) -> None:
        """Push the times this contact's reminders may next change or need delivering."""
        self.looks.renew(handle)
        for entry in self.by_contact.get(handle, ()):
            reminder = self.reminders[entry]
            if reminder.due > now:
                self.looks.push(reminder.due, handle)
            elif reminder.occurrence is not None and not reminder.recurring:
                # Repeats (the thank-you owed): its next occurrence needs a look.
                repeat = settings.playbook.thank_you_repeat.delta
                if repeat > timedelta(0):
                    self.looks.push(reminder.due + repeat, handle)
            when = classify(reminder)
            if when is None:
                continue
            if when <= now:
                self.due.add(entry)
            elif when != reminder.due:
                self.looks.push(when, handle)
        contact = state.contacts.get(handle) if handle is not None else None
        if contact is not None:
            for when in _nudges_run_out(contact, settings):
                if when > now:
                    self.looks.push(when, handle)


def _soonest_first(reminder: Reminder) -> tuple[datetime, str]:
    """Order reminders by due time, then id (the status line names the first)."""
    return reminder.due, reminder.id


def _nudges_run_out(contact: Contact, settings: Any) -> list[datetime]:
    """Return when the contact's current run of unanswered outreaches runs out of nudges,
    as the stage counts it and as the nudge rule does (whole days on the contact's wall
    clock): the two moments time alone changes its reminders."""
    from coffeechat.plugins.playbook.common import contact_zone, shift

    playbook = settings.playbook
    run = current_run(contact, None, playbook.nudge_after.delta, playbook.max_nudges)
    if not run:
        return []
    span = playbook.nudge_after.delta * (playbook.max_nudges + 1)
    return [run[0].at + span, shift(run[0].at, span, contact_zone(contact, settings))]


def _introductions(contacts: Iterable[Contact]) -> dict[str, set[str]]:
    """Return each contact's neighbours by introduction (who introduced them, whom they
    introduced), both ways."""
    neighbours: dict[str, set[str]] = {}
    for contact in contacts:
        _link(neighbours, contact)
    return neighbours


def _link(neighbours: dict[str, set[str]], contact: Contact) -> None:
    """Add the contact's introductions to ``neighbours`` (they only grow: a retraction,
    which could remove one, brings a full evaluation that builds them again)."""
    others = set(contact.introduced)
    if contact.via:
        others.add(contact.via)
    others.discard(contact.handle)
    for other in others:
        neighbours.setdefault(contact.handle, set()).add(other)
        neighbours.setdefault(other, set()).add(contact.handle)
