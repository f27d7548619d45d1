"""Meeting times to offer: the next Tuesday and Wednesday slots inside both people's hours.

The article asks you to make meeting as easy as possible for the other person: offer two
or three concrete times, in their zone. :func:`propose_slots` finds them. It is pure (no
clock, no I/O, no settings read behind your back), so the e-mail drafts and the ``book``
reminder get the same answer for the same question, and tests can ask it anything.

How the times are chosen:

* Days: Tuesday and Wednesday on THEIR calendar (``days``), from ``now + lead`` on
  (a day by default: they need time to read and answer), over ``weeks`` weeks.
* Hours: each slot, start to end (``minutes`` long), lies inside their working hours on
  their wall clock AND inside yours on yours. Starts are on the hour or half-hour.
  Wall clocks are read through each zone, so a DST change between now and the slot (or
  the weeks in March when Europe and America are not on summer time together) moves
  the slots with it. A wall time that does not exist (a spring-forward gap) is skipped.
* Busy: a slot that overlaps a meeting already booked (``busy``, with ``gap`` around it)
  is skipped; :func:`booked_meetings` gives those intervals from the state.
* Spread: in the first week that has free slots, at most two on one day, at least three
  hours apart; then that week's others farthest from those; then the earliest after it.
* No overlap: when their hours and yours never meet on those days (Tokyo and Los Angeles
  in summer), the slots are chosen inside THEIR hours alone and :attr:`Slots.shared` is
  False, so the caller can say so ("these are outside my working hours").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from coffeechat.events.projection import State

__all__ = [
    "MEETING_DAYS",
    "Slots",
    "WorkingHours",
    "booked_meetings",
    "plan_slots",
    "propose_slots",
]

WorkingHours = tuple[int | time, int | time]
"""Start and end of a working day on the wall clock: ``(9, 17)`` or ``(time(9), time(17, 30))``."""

MEETING_DAYS = (1, 2)
"""Tuesday and Wednesday (``date.weekday()``: Monday is 0)."""

_STEP = timedelta(minutes=30)
_SPACING = timedelta(hours=3)
_PER_DAY = 2


class Slots(NamedTuple):
    """The proposed times, and whether they lie inside both people's working hours."""

    times: list[datetime]
    shared: bool


def propose_slots(
    now: datetime,
    their_zone: ZoneInfo,
    your_zone: ZoneInfo,
    busy: Iterable[tuple[datetime, datetime]] = (),
    count: int = 3,
    working_hours: WorkingHours = (9, 17),
    **options: object,
) -> list[datetime]:
    """Given the current instant, both zones and the booked meetings, return ``count``
    meeting starts to offer, earliest first, each an aware datetime in ``their_zone``.

    ``working_hours`` are yours (and theirs, unless ``their_hours=`` says otherwise).
    Other keyword options are those of :func:`plan_slots`, which also says whether the
    times fit both people's hours. Raise ValueError for a naive ``now``, hours that
    leave no room for a meeting, or ``count`` below 1.
    """
    return plan_slots(
        now,
        their_zone,
        your_zone,
        busy,
        count=count,
        working_hours=working_hours,
        **options,  # type: ignore[arg-type]
    ).times


def plan_slots(
    now: datetime,
    their_zone: ZoneInfo,
    your_zone: ZoneInfo,
    busy: Iterable[tuple[datetime, datetime]] = (),
    *,
    count: int = 3,
    minutes: int = 30,
    working_hours: WorkingHours = (9, 17),
    their_hours: WorkingHours | None = None,
    days: Iterable[int] = MEETING_DAYS,
    lead: timedelta = timedelta(days=1),
    weeks: int = 4,
    gap: timedelta = timedelta(minutes=15),
) -> Slots:
    """Given the current instant, both zones and the booked meetings, return the slots.

    ``minutes`` is the meeting's length; ``working_hours`` yours, ``their_hours`` theirs
    (default: the same); ``days`` the weekdays on their calendar; ``lead`` how long
    from ``now`` the first slot may start; ``weeks`` how far ahead to look; ``gap`` the
    room kept around a booked meeting. Fewer than ``count`` times come back only when
    that many do not fit in ``weeks``. Raise ValueError for a naive ``now``, a
    ``count`` below 1, or working hours shorter than the meeting.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if count < 1:
        raise ValueError("count must be at least 1")
    length = timedelta(minutes=minutes)
    yours = _hours(working_hours, length)
    theirs = _hours(their_hours, length) if their_hours is not None else yours
    weekdays = frozenset(days)
    intervals = [(start.astimezone(UTC), end.astimezone(UTC)) for start, end in busy]
    earliest = (now + lead).astimezone(UTC)
    candidates = list(_in_hours(earliest, weeks, weekdays, their_zone, theirs, length))
    both = [start for start in candidates if _within(start, start + length, your_zone, yours)]
    shared = bool(both)
    free = [
        start
        for start in (both if shared else candidates)
        if not _overlaps(start, start + length, intervals, gap)
    ]
    chosen = sorted(_spread(free, count, their_zone))
    return Slots([start.astimezone(their_zone) for start in chosen], shared)


def booked_meetings(state: State) -> list[tuple[datetime, datetime]]:
    """Return the (start, end) of every meeting booked in ``state`` (contacts not archived)."""
    meetings = []
    for contact in state.contacts.values():
        meeting = contact.meeting
        if meeting is None or contact.archived is not None:
            continue
        meetings.append((meeting.starts, meeting.starts + timedelta(minutes=meeting.minutes)))
    return sorted(meetings)


# --- helpers -------------------------------------------------------------------------------


def _clock(value: int | time) -> time:
    if isinstance(value, time):
        return value
    if not 0 <= value <= 24:
        raise ValueError(f"an hour of the day is between 0 and 24, not {value}")
    return time(23, 59, 59, 999999) if value == 24 else time(value)


def _hours(hours: WorkingHours, length: timedelta) -> tuple[time, time]:
    start, end = _clock(hours[0]), _clock(hours[1])
    day = date(2000, 1, 3)
    if datetime.combine(day, end) - datetime.combine(day, start) < length:
        raise ValueError(f"working hours {start:%H:%M}-{end:%H:%M} leave no room for a meeting")
    return start, end


def _in_hours(
    earliest: datetime,
    weeks: int,
    weekdays: frozenset[int],
    zone: ZoneInfo,
    hours: tuple[time, time],
    length: timedelta,
) -> Iterator[datetime]:
    """Yield every start (UTC) on ``weekdays`` of ``zone``'s calendar whose meeting lies
    inside ``hours`` on that wall clock, from ``earliest`` on, for ``weeks`` weeks."""
    first = earliest.astimezone(zone).date()
    for offset in range(weeks * 7 + 1):
        day = first + timedelta(days=offset)
        if day.weekday() not in weekdays:
            continue
        wall = datetime.combine(day, hours[0])
        while wall + length <= datetime.combine(day, hours[1]):
            instant = wall.replace(tzinfo=zone).astimezone(UTC)
            exists = instant.astimezone(zone).replace(tzinfo=None) == wall
            if exists and instant >= earliest:
                end = (instant + length).astimezone(zone).replace(tzinfo=None)
                if end.date() == day and end.time() <= hours[1]:
                    yield instant
            wall += _STEP


def _within(start: datetime, end: datetime, zone: ZoneInfo, hours: tuple[time, time]) -> bool:
    """Whether [start, end] lies inside ``hours`` on one day of ``zone``'s wall clock."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    return (
        local_start.date() == local_end.date()
        and hours[0] <= local_start.time()
        and local_end.time() <= hours[1]
    )


def _overlaps(
    start: datetime, end: datetime, busy: list[tuple[datetime, datetime]], gap: timedelta
) -> bool:
    return any(
        booked_start < end + gap and booked_end > start - gap for booked_start, booked_end in busy
    )


def _spread(free: list[datetime], count: int, zone: ZoneInfo) -> list[datetime]:
    """Pick ``count`` starts from ``free`` (sorted): within the first week that has any,
    spread out first, then those of that week farthest from the chosen ones; then the
    earliest after it."""
    if not free:
        return []
    week = [start for start in free if start < free[0] + timedelta(days=7)]
    chosen: list[datetime] = []
    per_day: dict[date, list[datetime]] = {}
    for start in week:
        same_day = per_day.setdefault(start.astimezone(zone).date(), [])
        if len(same_day) < _PER_DAY and all(abs(start - other) >= _SPACING for other in same_day):
            same_day.append(start)
            chosen.append(start)
    rest = [start for start in week if start not in chosen]
    while rest and len(chosen) < count:  # the one farthest from those chosen, earliest on a tie
        start = max(rest, key=lambda s: (min(abs(s - other) for other in chosen), -s.timestamp()))
        rest.remove(start)
        chosen.append(start)
    chosen.extend(start for start in free if start not in chosen)
    return chosen[:count]
