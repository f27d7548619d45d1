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

The ``book`` rule asks this for every contact who replied, so each day's starts are worked
out once per process (many contacts share a zone and a day), with wall-clock arithmetic
on days the clocks do not change, and only as many days as the choice needs.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import chain, islice
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
    earliest = (now + lead).astimezone(UTC)
    first = earliest.astimezone(their_zone).date()
    candidates = (
        slot
        for offset in range(weeks * 7 + 1)
        if (day := first + timedelta(days=offset)).weekday() in weekdays
        for slot in _day_starts(day, their_zone, theirs, length, your_zone, yours)
        if slot.instant >= earliest
    )
    # Only as many days are worked out as the choice needs: up to the first start that
    # suits you too (then only such starts are offered), or all of them when none does.
    seen: list[_Start] = []
    for slot in candidates:
        seen.append(slot)
        if slot.shared:
            break
    shared = bool(seen) and seen[-1].shared
    offered = chain(seen, candidates)
    booked = _booked(tuple(busy), gap)
    free = (
        slot
        for slot in offered
        if (slot.shared or not shared) and not booked.overlaps(slot.instant, length)
    )
    chosen = sorted(_spread(free, count))
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


class _Start(NamedTuple):
    """A meeting start that fits their hours: the instant (UTC), the day on their calendar,
    and whether the meeting also lies inside your hours."""

    instant: datetime
    day: date
    shared: bool


# Many contacts share a zone and ask about the same days: remember each day's starts.
@lru_cache(maxsize=2048)
def _day_starts(
    day: date,
    zone: ZoneInfo,
    hours: tuple[time, time],
    length: timedelta,
    your_zone: ZoneInfo,
    yours: tuple[time, time],
) -> tuple[_Start, ...]:
    """Return the starts on ``day`` of ``zone``'s calendar, on the hour or half-hour, whose
    meeting lies inside ``hours`` on that wall clock, each saying whether it also lies
    inside ``yours`` on ``your_zone``'s.

    A wall time in a spring-forward gap is skipped; a repeated one (fall-back) is read at
    its first instant, and kept only if the meeting still ends inside the hours.
    """
    steps = _steps(hours, length)
    if not steps:
        return ()
    midnight = datetime.combine(day, time(0))
    offset = _steady_offset(midnight + steps[0], midnight + steps[-1] + length, zone)
    if offset is not None:  # no clock change that day: every wall time is one instant
        base = (midnight - offset).replace(tzinfo=UTC)
        yours_offset = _steady_offset_at(base + steps[0], base + steps[-1] + length, your_zone)
        if yours_offset is not None:  # nor on your clock: the same pattern as on any such day
            shared = _shared(steps, length, yours_offset - offset, yours)
            return tuple(
                _Start(base + step, day, fits) for step, fits in zip(steps, shared, strict=True)
            )
        instants = [base + step for step in steps]
    else:
        instants = [
            instant
            for step in steps
            if (instant := _fitting(midnight + step, day, zone, hours, length))
        ]
    if not instants:
        return ()
    yours_offset = _steady_offset_at(instants[0], instants[-1] + length, your_zone)
    return tuple(
        _Start(instant, day, _within(instant, instant + length, your_zone, yours, yours_offset))
        for instant in instants
    )


@lru_cache(maxsize=64)
def _steps(hours: tuple[time, time], length: timedelta) -> tuple[timedelta, ...]:
    """Return the starts on the hour or half-hour whose meeting fits inside ``hours``, as
    times since midnight on the wall clock."""
    any_day = date(2000, 1, 3)
    midnight = datetime.combine(any_day, time(0))
    wall, closes = datetime.combine(any_day, hours[0]), datetime.combine(any_day, hours[1])
    steps = []
    while wall + length <= closes:
        steps.append(wall - midnight)
        wall += _STEP
    return tuple(steps)


@lru_cache(maxsize=256)
def _shared(
    steps: tuple[timedelta, ...], length: timedelta, shift: timedelta, yours: tuple[time, time]
) -> tuple[bool, ...]:
    """Given starts as times since midnight on their clock, and how far your clock is ahead
    of theirs (``shift``), return whether each meeting lies inside ``yours`` on one day of
    your clock. Whole days added to both ends change neither their times nor whether they
    share a date, so any midnight will do."""
    midnight = datetime.combine(date(2000, 1, 3), time(0))
    shared = []
    for step in steps:
        start = midnight + step + shift
        end = start + length
        shared.append(
            start.date() == end.date() and yours[0] <= start.time() and end.time() <= yours[1]
        )
    return tuple(shared)


def _fitting(
    wall: datetime, day: date, zone: ZoneInfo, hours: tuple[time, time], length: timedelta
) -> datetime | None:
    """Return the instant (UTC) of a wall time on a day the clocks change, or None when it
    does not exist or its meeting does not end inside the hours on that day."""
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        return None  # in a spring-forward gap
    end = (instant + length).astimezone(zone).replace(tzinfo=None)
    return instant if end.date() == day and end.time() <= hours[1] else None


# Clocks never change twice within a few days anywhere in the tz database (in 2026f the
# shortest interval between two offset changes is four days, Freetown's in 1939): between
# two moments less than a day apart, an unchanged offset means no change at all.


def _steady_offset(first: datetime, last: datetime, zone: ZoneInfo) -> timedelta | None:
    """Given two naive wall times less than a day apart, return ``zone``'s UTC offset if
    it is the same at both, neither repeated nor skipped (None otherwise)."""
    offsets = {
        wall.replace(tzinfo=zone, fold=fold).utcoffset()
        for wall in (first, last)
        for fold in (0, 1)
    }
    return offsets.pop() if len(offsets) == 1 else None


def _steady_offset_at(first: datetime, last: datetime, zone: ZoneInfo) -> timedelta | None:
    """Given two aware instants less than a day apart, return ``zone``'s UTC offset if it
    is the same at both (None otherwise)."""
    offset = first.astimezone(zone).utcoffset()
    return offset if last.astimezone(zone).utcoffset() == offset else None


def _within(
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    hours: tuple[time, time],
    offset: timedelta | None = None,
) -> bool:
    """Whether [start, end] lies inside ``hours`` on one day of ``zone``'s wall clock
    (``offset``: the zone's UTC offset at both, when known)."""
    if offset is not None:
        local_start, local_end = start + offset, end + offset
    else:
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    return (
        local_start.date() == local_end.date()
        and hours[0] <= local_start.time()
        and local_end.time() <= hours[1]
    )


class _Booked:
    """The meetings already booked, and the room kept around them, ready for overlap
    questions."""

    def __init__(self, busy: tuple[tuple[datetime, datetime], ...], gap: timedelta) -> None:
        intervals = sorted((start.astimezone(UTC), end.astimezone(UTC)) for start, end in busy)
        self.gap = gap
        self.starts = [start for start, _ in intervals]
        # latest[i]: the latest end among the first i meetings (by start)
        self.latest: list[datetime | None] = [None]
        for _, end in intervals:
            previous = self.latest[-1]
            self.latest.append(end if previous is None or end > previous else previous)

    def overlaps(self, start: datetime, length: timedelta) -> bool:
        """Whether a meeting from ``start`` (UTC) comes within ``gap`` of a booked one."""
        # The booked meetings that start before this one ends (plus the gap) overlap it
        # when one of them ends after it starts (minus the gap).
        latest = self.latest[bisect_left(self.starts, start + length + self.gap)]
        return latest is not None and latest > start - self.gap


# Every contact's slots are checked against the same booked meetings.
@lru_cache(maxsize=8)
def _booked(busy: tuple[tuple[datetime, datetime], ...], gap: timedelta) -> _Booked:
    return _Booked(busy, gap)


def _spread(free: Iterator[_Start], count: int) -> list[datetime]:
    """Pick ``count`` starts from ``free`` (in order): within the first week that has any,
    spread out first, then those of that week farthest from the chosen ones; then the
    earliest after it. Only what is needed of ``free`` is taken from it."""
    first = next(free, None)
    if first is None:
        return []
    week_end = first.instant + timedelta(days=7)
    week, later = [first], []
    for slot in free:
        if slot.instant >= week_end:
            later.append(slot.instant)
            break
        week.append(slot)
    later.extend(slot.instant for slot in islice(free, count - 1))
    chosen: list[datetime] = []
    per_day: dict[date, list[datetime]] = {}
    for slot in week:
        start = slot.instant
        same_day = per_day.setdefault(slot.day, [])
        if len(same_day) < _PER_DAY and all(abs(start - other) >= _SPACING for other in same_day):
            same_day.append(start)
            chosen.append(start)
    rest = [slot.instant for slot in week if slot.instant not in chosen]
    while rest and len(chosen) < count:  # the one farthest from those chosen, earliest on a tie
        start = max(rest, key=lambda s: (min(abs(s - other) for other in chosen), -s.timestamp()))
        rest.remove(start)
        chosen.append(start)
    chosen.extend(start for start in later)
    return chosen[:count]
