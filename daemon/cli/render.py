"""Human-readable lines for events, times and contacts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from coffeechat.events import model as m
from coffeechat.events.projection import PROFILE_FIELDS, State
from coffeechat.events.text import printable

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


def moment(instant: datetime, zone: ZoneInfo, now: datetime | None = None) -> str:
    """Return an instant as the user reads it: ``Tue 1 Dec 15:00`` (year when not this one)."""
    local = instant.astimezone(zone)
    text = f"{local:%a} {local.day} {local:%b} {local:%H:%M}"
    if now is not None and local.year != now.astimezone(zone).year:
        text = f"{local:%a} {local.day} {local:%b %Y} {local:%H:%M}"
    return text


def short_id(event_id: str) -> str:
    """Return the part of an event id a person types: its last 8 characters."""
    return event_id[-8:]


def name_of(state: State, handle: str | None) -> str:
    """Return a contact's name for a handle (the handle itself when unknown)."""
    if handle is None:
        return "-"
    contact = state.contacts.get(handle)
    return contact.name if contact is not None else handle


def describe(event: m.Event, state: State, zone: ZoneInfo | Callable[[], ZoneInfo]) -> str:
    """Return one line saying what an event records, in the user's words.

    ``zone`` may be a function returning the zone: most lines need none, and building
    it would cost a recording command the import of ``zoneinfo``.
    """
    # A name is one line: a newline in it (from another device's segment) is shown too.
    name = printable(name_of(state, getattr(event, "contact", None)), lines=False)
    text = _DESCRIPTIONS.get(type(event), _generic)(event, name, zone)
    return f"{text}  [{short_id(event.id)}]"


def _generic(event: Any, name: str, zone: Any) -> str:
    return f"{m.tag_of(event)} {name}"


def _changes(event: m.ContactUpdated) -> str:
    changes = []
    for field in ("name", *PROFILE_FIELDS):
        value = getattr(event, field)
        if value is None:
            changes.append(f"{field} cleared")
        elif not isinstance(value, msgspec.UnsetType):
            changes.append(f"{field} = {value}")
    return ", ".join(changes)


def _when(instant: datetime, zone: ZoneInfo | Callable[[], ZoneInfo]) -> str:
    return moment(instant, zone() if callable(zone) else zone)


_DESCRIPTIONS: dict[type[m.Event], Callable[[Any, str, Any], str]] = {
    m.ContactAdded: lambda e, n, z: (
        f"added {printable(e.name, lines=False)} ({e.contact})"
        + (f", introduced by {e.via}" if e.via else "")
    ),
    m.ContactUpdated: lambda e, n, z: f"updated {n}: {_changes(e)}",
    m.ContactArchived: lambda e, n, z: f"archived {n}",
    m.OutreachPlanned: lambda e, n, z: f"planned outreach to {n}",
    m.OutreachSent: lambda e, n, z: f"outreach to {n} sent by {e.channel}",
    m.ReplyReceived: lambda e, n, z: f"{n} declined" if e.declined else f"{n} replied",
    m.MeetingScheduled: lambda e, n, z: (
        f"meeting with {n} booked for {_when(e.starts, z)}"
        + f" ({e.minutes} min{', ' + e.mode if e.mode else ''}{', ' + e.place if e.place else ''})"
    ),
    m.MeetingRescheduled: lambda e, n, z: f"meeting with {n} moved to {_when(e.starts, z)}",
    m.MeetingCancelled: lambda e, n, z: f"meeting with {n} cancelled",
    m.MeetingHeld: lambda e, n, z: (
        f"met {n}"
        + (f" (fit {e.fit}/5)" if e.fit else "")
        + (f"; asked: {e.asked}" if e.asked else "")
    ),
    m.ThanksSent: lambda e, n, z: f"thank-you to {n} sent",
    m.IntroReceived: lambda e, n, z: f"{n} introduced you to {e.introduced}",
    m.TouchLogged: lambda e, n, z: f"stayed in touch with {n}" + (f": {e.note}" if e.note else ""),
    m.NoteAdded: lambda e, n, z: f"note on {n}: {e.text}",
    m.RecurringAdded: lambda e, n, z: f"every '{e.cron}': {e.text}",
    m.ReminderDone: lambda e, n, z: f"reminder {e.reminder} done",
    m.ReminderSnoozed: lambda e, n, z: f"reminder {e.reminder} snoozed until {_when(e.until, z)}",
    m.NotificationSent: lambda e, n, z: f"reminder {e.reminder} delivered",
    m.EventRetracted: lambda e, n, z: (
        f"undid {e.target_type or 'event'} {short_id(e.target)}"
        + (f" ({e.contact})" if e.contact else "")
    ),
}


def table(rows: list[list[str]], headers: list[str]) -> list[str]:
    """Return rows as aligned text columns under their headers.

    Each cell is escaped first (:func:`~coffeechat.events.text.printable`, newlines and
    tabs too), so a name holding control characters neither acts on the terminal nor
    breaks the columns; :meth:`App.out` then finds nothing left to escape.
    """
    rows = [[printable(cell, lines=False) for cell in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = []
    for row in [headers, *rows]:
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return lines
