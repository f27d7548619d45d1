"""Human-readable lines for events, times and contacts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from coffeechat.events import model as m
from coffeechat.events.projection import PROFILE_FIELDS, State
from coffeechat.events.text import printable

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


# English names whatever the locale (strftime's %a and %b follow LC_TIME), and without
# strftime: the agenda formats a date per row.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def moment(instant: datetime, zone: ZoneInfo, now: datetime | None = None) -> str:
    """Return an instant as the user reads it: ``Tue 1 Dec 15:00`` (year when not this one)."""
    local = instant.astimezone(zone)
    year = ""
    if now is not None and local.year != now.astimezone(zone).year:
        year = f" {local.year}"
    return (
        f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}{year} "
        f"{local.hour:02d}:{local.minute:02d}"
    )


def short_id(event_id: str) -> str:
    """Return the part of an event id a person types: its last 8 characters."""
    return event_id[-8:]


def name_of(state: State, handle: str | None, related: Related | None = None) -> str:
    """Return a contact's name for a handle: from the state, else from the events
    ``related`` holds (a contact added in the same batch, or one undone since), else the
    handle itself."""
    if handle is None:
        return "-"
    contact = state.contacts.get(handle)
    if contact is not None:
        return contact.name
    if related is not None:
        return related.name(handle) or handle
    return handle


class Related:
    """Events a line may refer to beyond the state: the rest of a batch (``intro`` adds
    the person it names), or the events an undo takes back (to say what it undid)."""

    def __init__(self, events: Iterable[m.Event]) -> None:
        self.events = {event.id: event for event in events}
        self._names: dict[str, str] | None = None

    def name(self, handle: str) -> str | None:
        """Return the latest name these events give a handle (None when they give none)."""
        if self._names is None:
            self._names = {}
            for event in self.events.values():
                if isinstance(event, m.ContactAdded | m.ContactUpdated) and isinstance(
                    event.name, str
                ):
                    self._names[event.contact] = event.name
        return self._names.get(handle)


def describe(
    event: m.Event,
    state: State,
    zone: ZoneInfo | Callable[[], ZoneInfo],
    related: Related | None = None,
) -> str:
    """Return one line saying what an event records, in the user's words, and its id.

    ``zone`` may be a function returning the zone: most lines need none, and building
    it would cost a recording command the import of ``zoneinfo``. ``related``: other
    events the line may name (see :class:`Related`).
    """
    return f"{describe_text(event, state, zone, related)}  [{short_id(event.id)}]"


def describe_text(
    event: m.Event,
    state: State,
    zone: ZoneInfo | Callable[[], ZoneInfo],
    related: Related | None = None,
) -> str:
    """Return what :func:`describe` says, without the event's id."""
    names = _Names(state, related)
    # A name is one line: a newline in it (from another device's segment) is shown too.
    name = names(getattr(event, "contact", None))
    return _DESCRIPTIONS.get(type(event), _generic)(event, name, zone, names)


class _Names:
    """Handles to names, each escaped to one line, for the describing functions."""

    def __init__(self, state: State, related: Related | None) -> None:
        self.state = state
        self.related = related

    def __call__(self, handle: str | None) -> str:
        return printable(name_of(self.state, handle, self.related), lines=False)


def _generic(event: Any, name: str, zone: Any, names: _Names) -> str:
    return f"{m.tag_of(event)} {name}"


def _changes(event: m.ContactUpdated, names: _Names) -> str:
    changes = []
    for field in ("name", *PROFILE_FIELDS):
        value = getattr(event, field)
        if value is None:
            changes.append(f"{field} cleared")
        elif not isinstance(value, msgspec.UnsetType):
            shown = names(value) if field == "via" else value
            changes.append(f"{field.replace('_', ' ')} = {shown}")
    return ", ".join(changes)


def _when(instant: datetime, zone: ZoneInfo | Callable[[], ZoneInfo]) -> str:
    return moment(instant, zone() if callable(zone) else zone)


def _undone(event: m.EventRetracted, name: str, names: _Names) -> str:
    """Return what an undo took back, in words: "the thank-you to Ada Lovelace"."""
    target = names.related.events.get(event.target) if names.related is not None else None
    kind = event.target_type or (m.tag_of(target) if target is not None else None)
    if isinstance(target, m.ContactAdded):
        name = printable(target.name, lines=False)
    if isinstance(target, m.IntroReceived):
        return f"{name}'s introduction to {names(target.introduced)}"
    words = _UNDONE.get(kind or "")
    if words is None:
        return f"{kind or 'an event'} {short_id(event.target)}" + (
            f" about {name}" if event.contact else ""
        )
    return words.format(name=name)


# What an undo took back, by the type of the event: {name} is the contact's.
_UNDONE = {
    "contact.added": "adding {name}",
    "contact.updated": "the edit of {name}",
    "contact.archived": "archiving {name}",
    "outreach.planned": "the planned outreach to {name}",
    "outreach.sent": "the outreach to {name}",
    "reply.received": "the reply from {name}",
    "meeting.scheduled": "the meeting booked with {name}",
    "meeting.rescheduled": "moving the meeting with {name}",
    "meeting.cancelled": "cancelling the meeting with {name}",
    "meeting.held": "the meeting held with {name}",
    "thanks.sent": "the thank-you to {name}",
    "intro.received": "{name}'s introduction",
    "touch.logged": "staying in touch with {name}",
    "note.added": "the note on {name}",
    "recurring.added": "the recurring reminder",
    "reminder.done": "a reminder done",
    "reminder.snoozed": "a reminder snoozed",
    "event.retracted": "an undo",
}


_DESCRIPTIONS: dict[type[m.Event], Callable[[Any, str, Any, _Names], str]] = {
    m.ContactAdded: lambda e, n, z, names: (
        f"added {printable(e.name, lines=False)} ({e.contact})"
        + (f", introduced by {names(e.via)}" if e.via else "")
    ),
    m.ContactUpdated: lambda e, n, z, names: f"updated {n}: {_changes(e, names)}",
    m.ContactArchived: lambda e, n, z, names: f"archived {n}",
    m.OutreachPlanned: lambda e, n, z, names: f"planned outreach to {n}",
    m.OutreachSent: lambda e, n, z, names: f"outreach to {n} sent by {e.channel}",
    m.ReplyReceived: lambda e, n, z, names: f"{n} declined" if e.declined else f"{n} replied",
    m.MeetingScheduled: lambda e, n, z, names: (
        f"meeting with {n} booked for {_when(e.starts, z)}"
        + f" ({e.minutes} min{', ' + e.mode if e.mode else ''}{', ' + e.place if e.place else ''})"
    ),
    m.MeetingRescheduled: lambda e, n, z, names: f"meeting with {n} moved to {_when(e.starts, z)}",
    m.MeetingCancelled: lambda e, n, z, names: f"meeting with {n} cancelled",
    m.MeetingHeld: lambda e, n, z, names: (
        f"met {n}"
        + (f" (fit {e.fit}/5)" if e.fit else "")
        + (f"; asked: {e.asked}" if e.asked else "")
    ),
    m.ThanksSent: lambda e, n, z, names: f"thank-you to {n} sent",
    m.IntroReceived: lambda e, n, z, names: f"{n} introduced you to {names(e.introduced)}",
    m.TouchLogged: lambda e, n, z, names: (
        f"stayed in touch with {n}" + (f": {e.note}" if e.note else "")
    ),
    m.NoteAdded: lambda e, n, z, names: f"note on {n}: {e.text}",
    m.RecurringAdded: lambda e, n, z, names: f"every '{e.cron}': {e.text}",
    m.ReminderDone: lambda e, n, z, names: f"reminder {e.reminder} done",
    m.ReminderSnoozed: lambda e, n, z, names: (
        f"reminder {e.reminder} snoozed until {_when(e.until, z)}"
    ),
    m.NotificationSent: lambda e, n, z, names: f"reminder {e.reminder} delivered",
    m.EventRetracted: lambda e, n, z, names: f"undid {_undone(e, n, names)}",
}
