"""plugins/slots.py against a plain reference: the same slots for any question.

The module computes each day's starts once (memoised, with wall-clock arithmetic on days
the clocks do not change). The reference below is the straightforward search it replaced,
converting every half-hour step through the zones; both must agree on every instant,
including the days clocks change (gaps and repeated hours, at 30 minutes on Lord Howe, at
midnight in Santiago, a whole day skipped in Apia in December 2011).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from coffeechat.plugins.slots import Slots, plan_slots

ZONES = [
    ZoneInfo(key)
    for key in (
        "Europe/Paris",
        "America/New_York",
        "America/Los_Angeles",
        "Asia/Tokyo",
        "Australia/Lord_Howe",
        "America/Santiago",
        "Pacific/Apia",
        "Asia/Kolkata",
        "UTC",
    )
]
STEP, SPACING, PER_DAY = timedelta(minutes=30), timedelta(hours=3), 2


def reference_plan(
    now: datetime,
    their_zone: ZoneInfo,
    your_zone: ZoneInfo,
    busy: list[tuple[datetime, datetime]],
    *,
    count: int,
    minutes: int,
    yours: tuple[time, time],
    theirs: tuple[time, time],
    lead: timedelta,
    days: tuple[int, ...] = (1, 2),
    gap: timedelta = timedelta(minutes=15),
    weeks: int = 4,
) -> Slots:
    """The slots as the first version of plan_slots found them, step by step."""
    length = timedelta(minutes=minutes)
    intervals = [(start.astimezone(UTC), end.astimezone(UTC)) for start, end in busy]
    earliest = (now + lead).astimezone(UTC)
    candidates = list(_in_hours(earliest, weeks, days, their_zone, theirs, length))
    both = [start for start in candidates if _within(start, start + length, your_zone, yours)]
    free = [
        start
        for start in (both or candidates)
        if not any(b < start + length + gap and e > start - gap for b, e in intervals)
    ]
    chosen = sorted(_spread(free, count, their_zone))
    return Slots([start.astimezone(their_zone) for start in chosen], bool(both))


def _in_hours(
    earliest: datetime,
    weeks: int,
    days: tuple[int, ...],
    zone: ZoneInfo,
    hours: tuple[time, time],
    length: timedelta,
) -> Iterator[datetime]:
    first = earliest.astimezone(zone).date()
    for offset in range(weeks * 7 + 1):
        day = first + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        wall = datetime.combine(day, hours[0])
        while wall + length <= datetime.combine(day, hours[1]):
            instant = wall.replace(tzinfo=zone).astimezone(UTC)
            exists = instant.astimezone(zone).replace(tzinfo=None) == wall
            if exists and instant >= earliest:
                end = (instant + length).astimezone(zone).replace(tzinfo=None)
                if end.date() == day and end.time() <= hours[1]:
                    yield instant
            wall += STEP


def _within(start: datetime, end: datetime, zone: ZoneInfo, hours: tuple[time, time]) -> bool:
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    return (
        local_start.date() == local_end.date()
        and hours[0] <= local_start.time()
        and local_end.time() <= hours[1]
    )


def _spread(free: list[datetime], count: int, zone: ZoneInfo) -> list[datetime]:
    if not free:
        return []
    week = [start for start in free if start < free[0] + timedelta(days=7)]
    chosen: list[datetime] = []
    per_day: dict[date, list[datetime]] = {}
    for start in week:
        same_day = per_day.setdefault(start.astimezone(zone).date(), [])
        if len(same_day) < PER_DAY and all(abs(start - other) >= SPACING for other in same_day):
            same_day.append(start)
            chosen.append(start)
    rest = [start for start in week if start not in chosen]
    while rest and len(chosen) < count:
        start = max(rest, key=lambda s: (min(abs(s - other) for other in chosen), -s.timestamp()))
        rest.remove(start)
        chosen.append(start)
    chosen.extend(start for start in free if start not in chosen)
    return chosen[:count]


def exact(slots: Slots) -> tuple[list[tuple[datetime, timedelta | None, str]], bool]:
    """The slots as instants, offsets and zone keys: what a message prints from them."""
    return [(s.astimezone(UTC), s.utcoffset(), str(s.tzinfo)) for s in slots.times], slots.shared


def clock_changes(zone: ZoneInfo) -> list[date]:
    """Return the days (2011-2030) on which ``zone``'s clocks change."""
    changes = []
    day = date(2011, 1, 1)
    while day.year <= 2030:
        morning = datetime.combine(day, time(0), tzinfo=zone).utcoffset()
        evening = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).utcoffset()
        if morning != evening:
            changes.append(day)
        day += timedelta(days=1)
    return changes


CHANGES = [(zone, day) for zone in ZONES for day in clock_changes(zone)]
anywhere = st.tuples(
    st.datetimes(
        min_value=datetime(2011, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    st.sampled_from(ZONES),
)
# A question about a zone, asked up to a week before a day its clocks change.
near_changes = st.builds(
    lambda change, minutes: (
        datetime.combine(change[1], time(0), tzinfo=UTC) - timedelta(minutes=minutes),
        change[0],
    ),
    st.sampled_from(CHANGES),
    st.integers(0, 7 * 24 * 60),
)
hours = st.sampled_from(
    [
        (time(9), time(17)),
        (time(0), time(23, 59, 59, 999999)),
        (time(1), time(4)),
        (time(22), time(23, 30)),
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    question=st.one_of(anywhere, near_changes),
    your_zone=st.one_of(st.none(), st.sampled_from(ZONES)),
    yours=hours,
    theirs=hours,
    minutes=st.sampled_from([30, 45, 60]),
    count=st.integers(1, 5),
    lead=st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(days=1)]),
    booked=st.lists(st.tuples(st.integers(0, 30 * 48), st.integers(1, 8)), max_size=6),
    days=st.sampled_from([(1, 2), (0, 1, 2, 3, 4, 5, 6), (5, 6)]),
)
def test_plan_slots_with_any_question_matches_the_reference_search(
    question: tuple[datetime, ZoneInfo],
    your_zone: ZoneInfo | None,
    yours: tuple[time, time],
    theirs: tuple[time, time],
    minutes: int,
    count: int,
    lead: timedelta,
    booked: list[tuple[int, int]],
    days: tuple[int, ...],
) -> None:
    now, their_zone = question
    your_zone = your_zone or their_zone  # same zone: both clocks change that day
    busy = [(now + index * STEP, now + index * STEP + halves * STEP) for index, halves in booked]
    expected = reference_plan(
        now,
        their_zone,
        your_zone,
        busy,
        count=count,
        minutes=minutes,
        yours=yours,
        theirs=theirs,
        lead=lead,
        days=days,
    )
    got = plan_slots(
        now,
        their_zone,
        your_zone,
        busy,
        count=count,
        minutes=minutes,
        working_hours=yours,
        their_hours=theirs,
        lead=lead,
        days=days,
    )
    assert exact(got) == exact(expected)


def test_plan_slots_on_apia_skipped_day_matches_the_reference_search() -> None:
    # Samoa skipped Friday 30 December 2011; every day around it, in their hours.
    apia, paris = ZoneInfo("Pacific/Apia"), ZoneInfo("Europe/Paris")
    now = datetime(2011, 12, 26, 12, tzinfo=apia)
    yours, theirs, every_day = (time(0), time(23)), (time(9), time(17)), tuple(range(7))
    expected = reference_plan(
        now,
        apia,
        paris,
        [],
        count=40,
        minutes=30,
        yours=yours,
        theirs=theirs,
        lead=timedelta(days=1),
        days=every_day,
    )
    got = plan_slots(
        now, apia, paris, [], count=40, working_hours=yours, their_hours=theirs, days=every_day
    )
    assert exact(got) == exact(expected)
    assert len(got.times) == 40
