"""Recurring schedules: 5-field cron expressions read on a user's wall clock, correct across DST.

A schedule such as ``0 9 * * TUE,WED`` means "09:00 on the clock on the wall of the person it is
for", so it is evaluated in that person's IANA zone. croniter does the calendar arithmetic, but
it is only ever given NAIVE wall-clock times: on a naive clock every wall time exists exactly
once, so croniter's own time-zone handling (which, with aware start times, fires twice in a
fall-back night and moves a spring-forward time to the top of the hour) never comes into play.
Each naive candidate croniter finds is then turned into an instant in the zone by this module,
with these decisions:

* Ordinary wall time: the one instant it names.
* Wall time in a spring-forward gap (02:30 in Paris on 2027-03-28, when 02:00 jumps to 03:00):
  shifted forward by the length of the gap, so it fires at 03:30+02:00. This is what a wall time
  with ``fold=0`` normalised through UTC gives (PEP 495). A gap wall time that lands on the same
  instant as a real wall time (02:00 → 03:00, ``0 * * * *``) fires once.
* Wall time repeated by a fall-back (02:30 in Paris on 2026-10-25, 01:30 in New York on
  2026-11-01): it fires ONCE, at its FIRST instant (``fold=0``, summer time). The second pass
  through the same wall time does not fire again, so ``0 * * * *`` fires once per wall hour that
  night: seven real hours, six reminders.

Every instant is compared in UTC: Python compares two datetimes that share a ``tzinfo`` by
their wall times, ignoring ``fold``, which is wrong exactly around a fall-back.

The naive candidates are not always in the same order as the instants they become: a gap wall
time is shifted forward past real wall times that croniter finds later (with a 30-minute gap,
as on Lord Howe Island, ``20,35 2 * * *`` gives 02:35 and then 02:20 → 02:50). Hence the search
below keeps looking after a shifted candidate, and starts a little earlier (or later, going
backwards) when the starting instant sits just after a spring-forward or in the second pass of
a fall-back.

Day-of-month and day-of-week follow standard cron: when both are restricted, either matching is
enough. Names (``TUE``, ``JAN``) are case-insensitive; ``@daily`` and 6-field (seconds)
expressions are not accepted: a schedule is exactly five fields.

croniter (about 34 ms to import, with dateutil) is imported only when a search really has to
run: the fires of a plain schedule over the years around now are listed once and kept, in
memory and in the home's cache (:mod:`coffeechat.plugins.occurrences`; the command line and
the daemon call :func:`use_cache_folder`), so a command whose send windows were already
listed answers from that list without importing croniter at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from coffeechat.plugins import occurrences
from coffeechat.plugins.occurrences import use_cache_folder

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

__all__ = [
    "FIELD_COUNT",
    "fires_between",
    "is_valid",
    "next_fire",
    "next_in_window",
    "previous_fire",
    "use_cache_folder",
    "validate",
]

FIELD_COUNT = 5
"""Fields of a schedule: minute, hour, day of month, month, day of week."""

_FIELD_NAMES = "minute hour day-of-month month day-of-week"
_ONE_DAY = timedelta(days=1)
_ONE_MICROSECOND = timedelta(microseconds=1)
# Where a validity check starts looking for a first fire; croniter looks 50 years ahead, and
# any satisfiable day/month/weekday combination recurs within 28 years.
_PROBE_START = datetime(2000, 1, 1)


def validate(expression: str) -> str:
    """Given a cron expression, return it normalised to single spaces between its five fields.

    Raise ValueError, with a message fit to show a user, when it does not have exactly five
    fields, when croniter rejects it, or when it can never fire (``0 0 30 2 *``).
    """
    return _checked(expression)


def is_valid(expression: str) -> bool:
    """Given a cron expression, return whether it is a usable five-field schedule."""
    try:
        validate(expression)
    except ValueError:
        return False
    return True


def next_fire(expression: str, after: datetime, zone: ZoneInfo) -> datetime:
    """Given a cron expression, an aware instant and a zone, return the first fire after it.

    The result is the first instant strictly after ``after`` at which ``expression`` fires on
    ``zone``'s wall clock (see the module docstring for gaps and repeated hours), as an aware
    datetime in ``zone``. Raise ValueError for an invalid expression or a naive ``after``.
    """
    listed = occurrences.next_after(expression, after, zone)
    return listed if listed is not None else _search_next(expression, after, zone)


def _search_next(expression: str, after: datetime, zone: ZoneInfo) -> datetime:
    """Return what `next_fire` returns, found by croniter's search."""
    normalized = validate(expression)
    after_utc = _as_utc(after, "after")
    # Gap wall times just before the starting wall time may land after `after`.
    start = _wall(after_utc, zone) - _spring_forward_within_day_before(after_utc, zone)
    best: datetime | None = None
    best_wall: datetime | None = None
    for wall in _candidates(normalized, start, backwards=False):
        if best_wall is not None and wall >= best_wall:
            break  # a real wall time at or after the best one cannot come earlier
        instant, shifted = _localize(wall, zone)
        if instant <= after_utc:
            continue
        if best is None or instant < best:
            best, best_wall = instant, _wall(instant, zone)
        if not shifted:
            break  # every later candidate becomes an instant at or after this one
    if best is None:
        raise ValueError(f"schedule {normalized!r} never fires after {after.isoformat()}")
    return best.astimezone(zone)


def previous_fire(expression: str, before: datetime, zone: ZoneInfo) -> datetime | None:
    """Given a cron expression, an aware instant and a zone, return the last fire at or before it.

    Same wall-clock rules as `next_fire`, going backwards; the result is an aware datetime in
    ``zone``, or None when the expression never fired before (croniter looks back 50 years).
    Raise ValueError for an invalid expression or a naive ``before``.
    """
    listed = occurrences.last_at_or_before(expression, before, zone)
    return listed if listed is not None else _search_previous(expression, before, zone)


def _search_previous(expression: str, before: datetime, zone: ZoneInfo) -> datetime | None:
    """Return what `previous_fire` returns, found by croniter's search."""
    normalized = validate(expression)
    before_utc = _as_utc(before, "before")
    local = before_utc.astimezone(zone)
    # In the second pass of a fall-back (fold=1), the first pass through the next wall times
    # came earlier: look from the wall time that is that much later (zero otherwise).
    first_pass_lead = _offset(local.replace(fold=0)) - _offset(local)
    start = local.replace(tzinfo=None, fold=0) + first_pass_lead
    best: datetime | None = None
    stop_wall: datetime | None = None
    for wall in _candidates(normalized, start + _ONE_MICROSECOND, backwards=True):
        if stop_wall is not None and wall <= stop_wall:
            break  # even shifted by the gap it would not come after the best one
        instant, shifted = _localize(wall, zone)
        if instant > before_utc:
            continue
        if best is None or instant > best:
            best = instant
        if shifted:
            break  # every earlier candidate becomes an instant before this one
        if stop_wall is None:
            gap = _spring_forward_within_day_before(instant, zone)
            if not gap:
                break  # every earlier candidate becomes an instant before this one
            # A gap wall time up to `gap` earlier is shifted forward, maybe past this one.
            stop_wall = _wall(instant, zone) - gap
    return None if best is None else best.astimezone(zone)


def fires_between(
    expression: str, start: datetime, end: datetime, zone: ZoneInfo, limit: int = 1000
) -> list[datetime]:
    """Given a cron expression, two aware instants and a zone, return the fires in (start, end].

    The fires are in order, as aware datetimes in ``zone``, at most ``limit`` of them (the
    earliest). Raise ValueError for an invalid expression, naive bounds or a negative limit.
    """
    normalized = validate(expression)
    end_utc = _as_utc(end, "end")
    cursor = _as_utc(start, "start")
    if limit < 0:
        raise ValueError(f"limit must not be negative, not {limit}")
    fires: list[datetime] = []
    while len(fires) < limit:
        try:
            fire = next_fire(normalized, cursor, zone)
        except ValueError:
            break  # no further fire at all
        cursor = fire.astimezone(UTC)
        if cursor > end_utc:
            break
        fires.append(fire)
    return fires


def next_in_window(after: datetime, expression: str, zone: ZoneInfo) -> datetime:
    """Given an aware instant, a send-window expression and a zone, return the next window.

    The window (e.g. ``0 9 * * TUE,WED``) is the first fire AT or after ``after``: an
    ``after`` that is exactly a fire instant is returned as it is (in ``zone``).
    Raise ValueError for an invalid expression or a naive ``after``.
    """
    return next_fire(expression, _as_utc(after, "after") - _ONE_MICROSECOND, zone)


@lru_cache(maxsize=256)
def _checked(expression: str) -> str:
    """Given a cron expression, return it normalised, or raise ValueError (see `validate`)."""
    fields = expression.split()
    if len(fields) != FIELD_COUNT:
        raise ValueError(
            f"invalid schedule {expression!r}: a cron expression has {FIELD_COUNT} fields "
            f"({_FIELD_NAMES}), this one has {len(fields)}"
        )
    normalized = " ".join(fields)
    from croniter import CroniterBadDateError, croniter

    if not croniter.is_valid(normalized):
        raise ValueError(f"invalid schedule {expression!r}: {_croniter_complaint(normalized)}")
    try:
        croniter(normalized, _PROBE_START).get_next(datetime)
    except CroniterBadDateError:
        raise ValueError(
            f"invalid schedule {expression!r}: it names a date that never exists"
        ) from None
    return normalized


def _croniter_complaint(expression: str) -> str:
    """Given an expression croniter rejects, return croniter's reason (or a generic one)."""
    from croniter import CroniterError, croniter

    try:
        croniter(expression)
    except CroniterError as error:
        return str(error)
    return f"not a valid cron expression ({_FIELD_NAMES})"


def _as_utc(moment: datetime, name: str) -> datetime:
    """Given an aware datetime, return the same instant in UTC; raise ValueError if naive."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone), not {moment}")
    return moment.astimezone(UTC)


def _offset(local: datetime) -> timedelta:
    """Given an aware datetime, return its UTC offset."""
    offset = local.utcoffset()
    if offset is None:  # pragma: no cover - every caller passes a ZoneInfo-aware datetime
        raise ValueError(f"{local} has no UTC offset")
    return offset


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    """Given an aware instant, return the naive wall-clock time it shows in ``zone``."""
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def _localize(wall: datetime, zone: ZoneInfo) -> tuple[datetime, bool]:
    """Given a naive wall time in ``zone``, return the UTC instant it fires at, and whether
    that instant shows another wall time (the wall time fell in a spring-forward gap).

    ``fold=0`` takes the first instant of a repeated wall time, and reads a wall time in a gap
    with the offset from before the gap, which shifts it forward by the gap's length.
    """
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return instant, _wall(instant, zone) != wall


def _spring_forward_within_day_before(instant: datetime, zone: ZoneInfo) -> timedelta:
    """Given a UTC instant, return how far ``zone``'s clocks jumped forward during the day
    before it (zero when they did not)."""
    now = _offset(instant.astimezone(zone))
    try:
        day_before = _offset((instant - _ONE_DAY).astimezone(zone))
    except OverflowError:  # the first day of year 1: no clock changed before it
        return timedelta(0)
    return max(now - day_before, timedelta(0))


def _candidates(expression: str, start: datetime, *, backwards: bool) -> Iterator[datetime]:
    """Given a valid expression and a naive wall time, yield the naive wall times the
    expression matches, strictly after it (or strictly before it, ``backwards``), in order.

    croniter works at the minute: going forwards the seconds of ``start`` are dropped, going
    backwards a wall time in ``start``'s own minute counts only once ``start`` is past it.
    """
    from croniter import CroniterBadDateError, croniter

    schedule = croniter(expression, start)
    while True:
        try:
            wall: datetime = (
                schedule.get_prev(datetime) if backwards else schedule.get_next(datetime)
            )
        except CroniterBadDateError:
            return  # nothing within croniter's search span (50 years)
        except (OverflowError, ValueError):
            return  # past the first or last day datetime can represent
        yield wall
