"""A small iCalendar (RFC 5545) writer: the booked meetings as VEVENTs, reminders as VTODOs.

Written by hand rather than with a library: the icalendar package would cost every
``export ics`` ~80 ms of imports and bring ``typing_extensions`` into the install (which
slows every recording command, see FACTS.md). The tests check the output with icalendar
and with a real CalDAV server (Radicale).

What is written, and why:

- Each meeting is one VEVENT whose UID derives from the id of its ``meeting.scheduled``
  event (:func:`meeting_uid`), so a moved meeting stays one event everywhere; its
  ``SEQUENCE`` counts reschedules and cancellations (:mod:`coffeechat.events.meetings`).
  ``DTSTAMP`` and ``LAST-MODIFIED`` are when it last changed in the log, not when the
  file was written: the same log gives the same bytes, so an unchanged meeting is never
  uploaded again.
- Times are written in the meeting's own IANA zone (``DTSTART;TZID=Europe/Paris:…``)
  with a VTIMEZONE built from the zone database for the dates used, as khal does; in UTC
  (``…Z``) when the zone is unknown, or for a local time that a clock change makes
  ambiguous and the meeting falls in its second occurrence.
- The playbook's reminders ride along as VALARMs on a booked meeting: prepare (a day
  before), be on time (30 minutes, 60 in person). Cancelled and held meetings carry none.
- No ATTENDEE or ORGANIZER: a CalDAV server that sees them may e-mail invitations on
  the user's behalf. Who you meet is in SUMMARY and DESCRIPTION.
- Lines end in CRLF and are folded at 75 octets (never inside a UTF-8 character); TEXT
  values escape backslashes, semicolons, commas and newlines; other control characters
  are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from coffeechat.events.meetings import BookedMeeting
    from coffeechat.events.projection import Contact

PRODID = "-//coffeechat//coffeechat//EN"
UID_PREFIX = "coffeechat-"
_SAFE_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_OCTETS = 75


class Alarms(NamedTuple):
    """How long before a meeting each VALARM fires (the playbook's settings)."""

    prep: timedelta = timedelta(days=1)
    on_time: timedelta = timedelta(minutes=30)
    on_time_in_person: timedelta = timedelta(minutes=60)


class Todo(NamedTuple):
    """A reminder written as a VTODO."""

    uid: str
    due: datetime
    summary: str
    description: str
    priority: int = 5  # 1 is the highest, 9 the lowest
    category: str | None = None


class CalendarObject(NamedTuple):
    """One meeting as a calendar object of its own (what CalDAV stores at one href)."""

    uid: str
    text: str
    summary: str


# --- values --------------------------------------------------------------------------------


def escape_text(value: str) -> str:
    r"""Given a TEXT value, return it escaped: ``\`` ``;`` ``,`` and newlines."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Given one content line, return it folded at 75 octets, ending in CRLF.

    A continuation starts with a space, which counts towards its 75 octets; a cut never
    falls inside a UTF-8 character.
    """
    encoded = line.encode("utf-8")
    if len(encoded) <= _LINE_OCTETS:
        return line + "\r\n"
    pieces = []
    start, limit = 0, _LINE_OCTETS
    while start < len(encoded):
        end = min(start + limit, len(encoded))
        while end < len(encoded) and (encoded[end] & 0xC0) == 0x80:
            end -= 1  # back off to the start of a character
        pieces.append(encoded[start:end].decode("utf-8"))
        start, limit = end, _LINE_OCTETS - 1
    return "\r\n ".join(pieces) + "\r\n"


def utc_text(instant: datetime) -> str:
    """Return an instant as an iCalendar UTC DATE-TIME (``20261201T140000Z``)."""
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def duration_text(delta: timedelta) -> str:
    """Return a duration as iCalendar writes it (``P1D``, ``-PT30M``, ``-P1DT2H``)."""
    sign = "-" if delta < timedelta(0) else ""
    seconds = int(abs(delta).total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{sign}P{days}D" if days else f"{sign}P"
    parts = ((hours, "H"), (minutes, "M"), (seconds, "S"))
    clock = "".join(f"{amount}{unit}" for amount, unit in parts if amount)
    if clock or not days:
        text += f"T{clock or '0S'}"
    return text


def _offset_text(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    seconds = int(abs(offset).total_seconds())
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{seconds:02d}" if seconds else "")


def meeting_uid(meeting_id: str) -> str:
    """Return the UID of the meeting booked by the event ``meeting_id``.

    Event ids are ULIDs; an id of any other shape (a segment written by something else)
    is hashed, so a UID is always safe as a file name and in a URL.
    """
    if _SAFE_ID.match(meeting_id):
        return UID_PREFIX + meeting_id
    import hashlib  # rarely needed: ~3 ms of start-up otherwise

    return UID_PREFIX + hashlib.sha256(meeting_id.encode()).hexdigest()[:26]


# --- time zones ----------------------------------------------------------------------------


def _zone(key: str | None) -> ZoneInfo | None:
    if not key:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _in_zone(instant: datetime, zone: ZoneInfo | None) -> datetime | None:
    """Return the local time of ``instant`` in ``zone``, or None when it must be UTC.

    A local time repeated by a fall-back is read by every client as its first occurrence:
    a meeting in the second one is written in UTC instead.
    """
    if zone is None:
        return None
    local = instant.astimezone(zone)
    if local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset():
        return None
    return local


def _state(zone: ZoneInfo, instant: datetime) -> tuple[timedelta, bool, str]:
    local = instant.astimezone(zone)
    return local.utcoffset() or timedelta(0), bool(local.dst()), local.tzname() or zone.key


class _Transition(NamedTuple):
    at: datetime  # UTC
    before: timedelta
    after: timedelta
    daylight: bool
    name: str


def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[_Transition]:
    """Return the zone's changes of offset (or of DST) between two instants, in order.

    Found by looking at every day, then narrowing each change down to the second.
    """

    def state_at(second: int) -> tuple[timedelta, bool, str]:
        return _state(zone, datetime.fromtimestamp(second, UTC))

    found = []
    second = int(start.timestamp()) // 3600 * 3600
    last = int(end.timestamp())
    previous = state_at(second)
    while second < last:
        following = second + 86400
        state = state_at(following)
        if state[:2] != previous[:2]:
            low, high = second, following  # low has the old state, high the new one
            while high - low > 1:
                middle = (low + high) // 2
                if state_at(middle)[:2] == previous[:2]:
                    low = middle
                else:
                    high = middle
            changed = state_at(high)
            at = datetime.fromtimestamp(high, UTC)
            found.append(_Transition(at, previous[0], changed[0], changed[1], changed[2]))
        previous = state
        second = following
    return found


def vtimezone(key: str, first: datetime, last: datetime) -> list[str]:
    """Return the content lines of a VTIMEZONE for ``key`` that covers ``first``..``last``.

    Each observance is the zone's own history: the change in force at ``first`` and every
    change until ``last``, each with its onset in the offset it changes from.
    """
    zone = _zone(key)
    assert zone is not None
    lookback = timedelta(days=400)
    changes = _transitions(zone, first - lookback, last + timedelta(days=1))
    before = [change for change in changes if change.at <= first]
    used = before[-1:] + [change for change in changes if change.at > first]
    lines = ["BEGIN:VTIMEZONE", f"TZID:{key}"]
    if not used or used[0].at > first:
        offset, daylight, name = _state(zone, first)
        onset = datetime(1970, 1, 1)
        lines += _observance(daylight, onset, offset, offset, name)
    for change in used:
        onset = (change.at + change.before).replace(tzinfo=None)
        lines += _observance(change.daylight, onset, change.before, change.after, change.name)
    lines.append("END:VTIMEZONE")
    return lines


def _observance(
    daylight: bool, onset: datetime, before: timedelta, after: timedelta, name: str
) -> list[str]:
    kind = "DAYLIGHT" if daylight else "STANDARD"
    return [
        f"BEGIN:{kind}",
        f"DTSTART:{onset:%Y%m%dT%H%M%S}",
        f"TZOFFSETFROM:{_offset_text(before)}",
        f"TZOFFSETTO:{_offset_text(after)}",
        f"TZNAME:{escape_text(name)}",
        f"END:{kind}",
    ]


# --- components ----------------------------------------------------------------------------


def _when(name: str, instant: datetime, zone: ZoneInfo | None) -> tuple[str, str | None]:
    """Return a DATE-TIME property line, and the TZID it uses (None for UTC)."""
    local = _in_zone(instant, zone)
    if local is None or zone is None:
        return f"{name}:{utc_text(instant)}", None
    return f"{name};TZID={zone.key}:{local:%Y%m%dT%H%M%S}", zone.key


_MODES = {"phone": "by phone", "video": "by video", "in-person": "in person"}


def _summary(meeting: BookedMeeting, contact: Contact) -> str:
    return f"Coffee chat with {contact.name}"


def _description(meeting: BookedMeeting, contact: Contact) -> str:
    who = contact.name
    work = " at ".join(part for part in (contact.role, contact.company) if part)
    lines = [f"Who: {who}" + (f", {work}" if work else "")]
    if meeting.mode:
        lines.append(f"How: {_MODES.get(meeting.mode, meeting.mode)}")
    if contact.learn:
        lines.append(f"What you want to learn: {contact.learn}")
    reach = ", ".join(part for part in (contact.email, contact.phone) if part)
    if reach:
        lines.append(f"Reach them: {reach}")
    if meeting.mode == "in-person":
        lines.append("Pick up the tab: they are doing you a favour.")
    lines.append(f"coffeechat show {contact.handle}")
    return "\n".join(lines)


def _alarms(meeting: BookedMeeting, contact: Contact, alarms: Alarms) -> list[str]:
    in_person = meeting.mode == "in-person"
    before = alarms.on_time_in_person if in_person else alarms.on_time
    ask = f" You want to learn: {contact.learn}." if contact.learn else ""
    tab = " Pick up the tab." if in_person else ""
    prep = (
        f"Prepare for {contact.name}: look them up, read their profile and recent work.{ask} "
        "What is your ask?"
    )
    on_time = f"{contact.name} soon: be on time.{tab}"
    lines = []
    for lead, text in ((alarms.prep, prep), (before, on_time)):
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"TRIGGER:{duration_text(-lead)}",
            f"DESCRIPTION:{escape_text(text)}",
            "END:VALARM",
        ]
    return lines


def vevent(meeting: BookedMeeting, contact: Contact, alarms: Alarms) -> tuple[list[str], set[str]]:
    """Return the content lines of one meeting's VEVENT and the zones (TZIDs) it uses."""
    zone = _zone(meeting.zone)
    ends = meeting.starts + timedelta(minutes=meeting.minutes)
    start_line, start_zone = _when("DTSTART", meeting.starts, zone)
    end_line, end_zone = _when("DTEND", ends, zone)
    changed = utc_text(meeting.last_change)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{meeting_uid(meeting.id)}",
        f"DTSTAMP:{changed}",
        f"CREATED:{utc_text(meeting.created)}",
        f"LAST-MODIFIED:{changed}",
        f"SEQUENCE:{meeting.sequence}",
        start_line,
        end_line,
        f"SUMMARY:{escape_text(_summary(meeting, contact))}",
    ]
    if meeting.place:
        lines.append(f"LOCATION:{escape_text(meeting.place)}")
    lines += [
        f"DESCRIPTION:{escape_text(_description(meeting, contact))}",
        "STATUS:CANCELLED" if meeting.status == "cancelled" else "STATUS:CONFIRMED",
        "TRANSP:TRANSPARENT" if meeting.status == "cancelled" else "TRANSP:OPAQUE",
        f"X-COFFEECHAT-CONTACT:{escape_text(contact.handle)}",
    ]
    if meeting.status == "booked":
        lines += _alarms(meeting, contact, alarms)
    lines.append("END:VEVENT")
    return lines, {key for key in (start_zone, end_zone) if key is not None}


def vtodo(todo: Todo, now: datetime) -> list[str]:
    """Return the content lines of one reminder's VTODO."""
    lines = [
        "BEGIN:VTODO",
        f"UID:{todo.uid}",
        f"DTSTAMP:{utc_text(now)}",
        f"DUE:{utc_text(todo.due)}",
        f"SUMMARY:{escape_text(todo.summary)}",
        f"DESCRIPTION:{escape_text(todo.description)}",
        f"PRIORITY:{todo.priority}",
        "STATUS:NEEDS-ACTION",
    ]
    if todo.category:
        lines.append(f"CATEGORIES:{escape_text(todo.category)}")
    lines.append("END:VTODO")
    return lines


# --- whole calendars -----------------------------------------------------------------------


def _calendar(components: list[str], spans: dict[str, list[datetime]]) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    for key in sorted(spans):
        lines += vtimezone(key, min(spans[key]), max(spans[key]))
    lines += components
    lines.append("END:VCALENDAR")
    return "".join(fold(line) for line in lines)


def _span(meeting: BookedMeeting) -> list[datetime]:
    return [meeting.starts, meeting.starts + timedelta(minutes=meeting.minutes)]


def calendar_text(
    meetings: Iterable[tuple[BookedMeeting, Contact]],
    alarms: Alarms,
    todos: Sequence[Todo] = (),
    now: datetime | None = None,
) -> str:
    """Return a whole calendar: every meeting given, then every reminder given as a VTODO.

    ``now`` is the VTODOs' ``DTSTAMP`` (the moment the reminders were evaluated).
    """
    components: list[str] = []
    spans: dict[str, list[datetime]] = {}
    for meeting, contact in meetings:
        lines, zones = vevent(meeting, contact, alarms)
        components += lines
        for key in zones:
            spans.setdefault(key, []).extend(_span(meeting))
    stamp = now or datetime.now(UTC)
    for todo in todos:
        components += vtodo(todo, stamp)
    return _calendar(components, spans)


def calendar_objects(
    meetings: Iterable[tuple[BookedMeeting, Contact]], alarms: Alarms
) -> list[CalendarObject]:
    """Return each meeting as a calendar of its own (one VEVENT and its VTIMEZONE)."""
    objects = []
    for meeting, contact in meetings:
        lines, zones = vevent(meeting, contact, alarms)
        text = _calendar(lines, {key: _span(meeting) for key in zones})
        objects.append(CalendarObject(meeting_uid(meeting.id), text, _summary(meeting, contact)))
    return objects


def with_contacts(
    meetings: Iterable[BookedMeeting], contacts: dict[str, Contact]
) -> list[tuple[BookedMeeting, Contact]]:
    """Pair each meeting with its contact, leaving out meetings of unknown contacts."""
    paired = []
    for meeting in meetings:
        contact = contacts.get(meeting.contact)
        if contact is not None:
            paired.append((meeting, contact))
    return paired
