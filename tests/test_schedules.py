"""Tests for recurring schedules (plugins/schedules.py): cron on a wall clock, across DST.

Every instant is explicit; nothing reads the real clock or the machine's zone. Results are
compared as UTC instants plus their offset: two datetimes sharing a ZoneInfo compare by wall
time, ignoring ``fold``, which would hide exactly the fall-back mistakes these tests are for.

Decisions pinned here (see the module docstring):

* spring-forward gap: a wall time that does not exist fires shifted forward by the gap
  (02:30 → 03:30 on the Paris spring-forward night), once;
* fall-back: a repeated wall time fires ONCE, at its first instant (summer time); the second
  pass through it does not fire.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coffeechat.plugins.schedules import (
    fires_between,
    is_valid,
    next_fire,
    next_in_window,
    previous_fire,
    validate,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # DST shifts the clock by 30 minutes
ZONES = [PARIS, NEW_YORK, TOKYO, LORD_HOWE]
WINDOW = "0 9 * * TUE,WED"

# 2026-11-23 is a Monday; 24 Tuesday, 25 Wednesday, 26 Thursday; 2026-12-01 the next Tuesday.


def at(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int = 0, *, fold: int = 0
) -> datetime:
    """Return the wall time in ``zone`` (``fold=1``: its second instant in a fall-back)."""
    return datetime(year, month, day, hour, minute, tzinfo=zone, fold=fold)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """Return a UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def assert_instant(result: datetime | None, expected: datetime, zone: ZoneInfo) -> None:
    """Assert that ``result`` is the instant ``expected``, expressed in ``zone``."""
    assert result is not None
    assert result.astimezone(UTC) == expected.astimezone(UTC)
    assert result.tzinfo is zone
    assert result.utcoffset() == expected.astimezone(zone).utcoffset()


def instants(results: list[datetime]) -> list[datetime]:
    """Return the UTC instants of ``results``, in the same order."""
    return [result.astimezone(UTC) for result in results]


# --- the send window `0 9 * * TUE,WED`, in several zones -------------------------------------

WINDOW_CASES = [
    # (after, as wall time: (day, hour, minute)), expected fire: (month, day)
    pytest.param((23, 10, 0), (11, 24), id="monday-to-tuesday"),
    pytest.param((24, 8, 59), (11, 24), id="tuesday-0859-to-same-tuesday"),
    pytest.param((24, 9, 0), (11, 25), id="tuesday-0900-exactly-to-wednesday"),
    pytest.param((24, 9, 1), (11, 25), id="tuesday-0901-to-wednesday"),
    pytest.param((25, 9, 0), (12, 1), id="wednesday-0900-exactly-to-next-tuesday"),
    pytest.param((26, 14, 30), (12, 1), id="thursday-afternoon-to-next-tuesday"),
]


@pytest.mark.parametrize("zone", ZONES, ids=str)
@pytest.mark.parametrize(("after", "expected"), WINDOW_CASES)
def test_next_fire_with_send_window_returns_next_tuesday_or_wednesday_0900(
    zone: ZoneInfo, after: tuple[int, int, int], expected: tuple[int, int]
) -> None:
    day, hour, minute = after
    result = next_fire(WINDOW, at(zone, 2026, 11, day, hour, minute), zone)
    assert_instant(result, at(zone, 2026, *expected, 9), zone)


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_next_fire_with_send_window_one_microsecond_before_returns_that_window(
    zone: ZoneInfo,
) -> None:
    after = at(zone, 2026, 11, 24, 9) - timedelta(microseconds=1)
    assert_instant(next_fire(WINDOW, after, zone), at(zone, 2026, 11, 24, 9), zone)


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_next_fire_with_send_window_seconds_after_returns_following_window(
    zone: ZoneInfo,
) -> None:
    after = at(zone, 2026, 11, 24, 9) + timedelta(seconds=30)
    assert_instant(next_fire(WINDOW, after, zone), at(zone, 2026, 11, 25, 9), zone)


def test_next_fire_with_caller_in_utc_returns_window_in_target_zone() -> None:
    # 13:59 UTC on Tuesday is 08:59 in New York (EST, -05:00).
    result = next_fire(WINDOW, utc(2026, 11, 24, 13, 59), NEW_YORK)
    assert result.astimezone(UTC) == utc(2026, 11, 24, 14, 0)
    assert result.tzinfo is NEW_YORK


def test_next_fire_with_caller_in_tokyo_returns_new_york_window_in_utc() -> None:
    # 23:30 Tuesday in Tokyo is 09:30 Tuesday in New York: Tuesday's window has passed.
    result = next_fire(WINDOW, at(TOKYO, 2026, 11, 24, 23, 30), NEW_YORK)
    assert result.astimezone(UTC) == utc(2026, 11, 25, 14, 0)


def test_next_fire_with_caller_monday_in_paris_returns_tokyo_tuesday_window() -> None:
    # 20:00 Monday in Paris is already 04:00 Tuesday in Tokyo: the window is 5 hours away.
    result = next_fire(WINDOW, at(PARIS, 2026, 11, 23, 20), TOKYO)
    assert result.astimezone(UTC) == utc(2026, 11, 24, 0, 0)
    assert result.replace(tzinfo=None) == datetime(2026, 11, 24, 9, 0)


def test_next_fire_with_caller_tuesday_evening_in_new_york_skips_to_tokyo_thursday() -> None:
    # 20:00 Tuesday in New York is 10:00 Wednesday in Tokyo: Wednesday's window has passed.
    result = next_fire(WINDOW, at(NEW_YORK, 2026, 11, 24, 20), TOKYO)
    assert result.astimezone(UTC) == utc(2026, 12, 1, 0, 0)


def test_next_fire_with_naive_after_raises_value_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_fire(WINDOW, datetime(2026, 11, 24, 9), PARIS)


# --- next_in_window: at or after ---------------------------------------------------------------


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_next_in_window_with_exact_window_instant_returns_it(zone: ZoneInfo) -> None:
    window = at(zone, 2026, 11, 24, 9)
    assert_instant(next_in_window(window, WINDOW, zone), window, zone)


def test_next_in_window_with_exact_instant_in_utc_returns_it_in_zone() -> None:
    result = next_in_window(utc(2026, 11, 24, 8, 0), WINDOW, PARIS)
    assert_instant(result, at(PARIS, 2026, 11, 24, 9), PARIS)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        pytest.param(at(PARIS, 2026, 11, 23, 10), at(PARIS, 2026, 11, 24, 9), id="monday"),
        pytest.param(at(PARIS, 2026, 11, 24, 8, 59), at(PARIS, 2026, 11, 24, 9), id="tue-0859"),
        pytest.param(
            at(PARIS, 2026, 11, 24, 9) + timedelta(microseconds=1),
            at(PARIS, 2026, 11, 25, 9),
            id="tue-0900-plus-1us",
        ),
        pytest.param(at(PARIS, 2026, 11, 26, 14, 30), at(PARIS, 2026, 12, 1, 9), id="thursday"),
    ],
)
def test_next_in_window_with_instant_off_window_returns_next_window(
    after: datetime, expected: datetime
) -> None:
    assert_instant(next_in_window(after, WINDOW, PARIS), expected, PARIS)


def test_next_in_window_with_second_pass_of_repeated_hour_returns_next_day() -> None:
    # 02:00+01:00 is the second 02:00 of the Paris fall-back night; the window fired at the
    # first one (02:00+02:00), an hour earlier. One microsecond before it must be taken in
    # real time, not on the wall clock (which would land on 01:59:59+02:00).
    after = at(PARIS, 2026, 10, 25, 2, fold=1)
    assert after.utcoffset() == timedelta(hours=1)
    result = next_in_window(after, "0 2 * * *", PARIS)
    assert_instant(result, at(PARIS, 2026, 10, 26, 2), PARIS)


def test_next_in_window_with_invalid_expression_raises_value_error() -> None:
    with pytest.raises(ValueError, match="invalid schedule"):
        next_in_window(at(PARIS, 2026, 11, 24, 9), "0 9 * * FUNDAY", PARIS)


# --- spring forward: a gap in the wall clock -----------------------------------------------------


def test_fires_between_with_paris_spring_forward_gap_fires_once_shifted_by_gap() -> None:
    # 2027-03-28: 02:00+01:00 jumps to 03:00+02:00; 02:30 does not exist that night.
    fires = fires_between(
        "30 2 * * *", at(PARIS, 2027, 3, 27, 12), at(PARIS, 2027, 3, 28, 12), PARIS
    )
    assert instants(fires) == [utc(2027, 3, 28, 1, 30)]
    assert_instant(fires[0], at(PARIS, 2027, 3, 28, 3, 30), PARIS)
    assert fires[0].utcoffset() == timedelta(hours=2)


def test_next_fire_with_paris_spring_forward_gap_returns_0330_summer_time() -> None:
    result = next_fire("30 2 * * *", at(PARIS, 2027, 3, 28, 1, 59), PARIS)
    assert result.astimezone(UTC) == utc(2027, 3, 28, 1, 30)
    assert result.replace(tzinfo=None) == datetime(2027, 3, 28, 3, 30)


def test_next_fire_with_paris_spring_forward_after_shifted_fire_returns_next_day() -> None:
    result = next_fire("30 2 * * *", at(PARIS, 2027, 3, 28, 3, 30), PARIS)
    assert_instant(result, at(PARIS, 2027, 3, 29, 2, 30), PARIS)


def test_next_fire_with_new_york_spring_forward_gap_returns_0330_summer_time() -> None:
    # 2027-03-14: 02:00-05:00 jumps to 03:00-04:00.
    result = next_fire("30 2 * * *", at(NEW_YORK, 2027, 3, 13, 12), NEW_YORK)
    assert result.astimezone(UTC) == utc(2027, 3, 14, 7, 30)
    assert result.replace(tzinfo=None) == datetime(2027, 3, 14, 3, 30)


def test_next_fire_with_lord_howe_half_hour_gap_returns_time_shifted_by_30_minutes() -> None:
    # 2026-10-04: 02:00+10:30 jumps to 02:30+11:00.
    result = next_fire("15 2 * * *", at(LORD_HOWE, 2026, 10, 3, 12), LORD_HOWE)
    assert result.astimezone(UTC) == utc(2026, 10, 3, 15, 45)
    assert result.replace(tzinfo=None) == datetime(2026, 10, 4, 2, 45)


def test_fires_between_with_daily_0900_across_spring_forward_keeps_0900_local() -> None:
    fires = fires_between("0 9 * * *", at(PARIS, 2027, 3, 27, 0), at(PARIS, 2027, 3, 29, 0), PARIS)
    assert [fire.replace(tzinfo=None) for fire in fires] == [
        datetime(2027, 3, 27, 9),
        datetime(2027, 3, 28, 9),
    ]
    first, second = instants(fires)
    assert (first, second) == (utc(2027, 3, 27, 8), utc(2027, 3, 28, 7))
    assert second - first == timedelta(hours=23)


def test_fires_between_with_hourly_over_spring_forward_fires_0200_as_0300_once() -> None:
    # The missing 02:00 becomes 03:00, the very instant 03:00 fires anyway: one fire.
    fires = fires_between(
        "0 * * * *", at(PARIS, 2027, 3, 27, 23, 30), at(PARIS, 2027, 3, 28, 4, 30), PARIS
    )
    assert instants(fires) == [
        utc(2027, 3, 27, 23),  # 00:00+01:00
        utc(2027, 3, 28, 0),  # 01:00+01:00
        utc(2027, 3, 28, 1),  # 03:00+02:00
        utc(2027, 3, 28, 2),  # 04:00+02:00
    ]


def test_fires_between_with_two_gap_minutes_paris_fires_both_shifted() -> None:
    # 02:10 → 03:10 and 02:45 → 03:45; repeated next_fire from the wall time 03:10 alone
    # would miss 02:45, which croniter finds before 03:10 on the naive clock.
    fires = fires_between(
        "10,45 2 * * *", at(PARIS, 2027, 3, 27, 12), at(PARIS, 2027, 3, 28, 12), PARIS
    )
    assert instants(fires) == [utc(2027, 3, 28, 1, 10), utc(2027, 3, 28, 1, 45)]


def test_next_fire_with_after_first_shifted_gap_fire_returns_second_shifted_fire() -> None:
    result = next_fire("10,45 2 * * *", at(PARIS, 2027, 3, 28, 3, 10), PARIS)
    assert_instant(result, at(PARIS, 2027, 3, 28, 3, 45), PARIS)


def test_fires_between_with_half_hour_gap_orders_shifted_after_real_wall_time() -> None:
    # Lord Howe 2026-10-04, gap 02:00–02:30: 02:35 exists; 02:20 does not and becomes 02:50,
    # so the fires come in the opposite order from the wall times croniter gives.
    fires = fires_between(
        "20,35 2 * * *", at(LORD_HOWE, 2026, 10, 3, 12), at(LORD_HOWE, 2026, 10, 4, 12), LORD_HOWE
    )
    assert [fire.replace(tzinfo=None) for fire in fires] == [
        datetime(2026, 10, 4, 2, 35),
        datetime(2026, 10, 4, 2, 50),
    ]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        pytest.param(at(LORD_HOWE, 2026, 10, 4, 1, 59), (2, 35), id="before-the-gap"),
        pytest.param(at(LORD_HOWE, 2026, 10, 4, 2, 30), (2, 35), id="end-of-the-gap"),
        pytest.param(at(LORD_HOWE, 2026, 10, 4, 2, 35), (2, 50), id="at-real-wall-time"),
        pytest.param(at(LORD_HOWE, 2026, 10, 4, 2, 40), (2, 50), id="between"),
    ],
)
def test_next_fire_with_half_hour_gap_returns_earliest_instant_not_first_wall_time(
    after: datetime, expected: tuple[int, int]
) -> None:
    result = next_fire("20,35 2 * * *", after, LORD_HOWE)
    assert_instant(result, at(LORD_HOWE, 2026, 10, 4, *expected), LORD_HOWE)


def test_next_fire_with_half_hour_gap_after_both_returns_next_day() -> None:
    result = next_fire("20,35 2 * * *", at(LORD_HOWE, 2026, 10, 4, 2, 50), LORD_HOWE)
    assert_instant(result, at(LORD_HOWE, 2026, 10, 5, 2, 20), LORD_HOWE)


# --- fall back: a repeated hour -------------------------------------------------------------------
# Decision: a wall time that occurs twice fires once, at its FIRST instant (summer time).


def test_fires_between_with_paris_fall_back_repeated_0230_fires_once_at_first_instant() -> None:
    # 2026-10-25: 03:00+02:00 falls back to 02:00+01:00; 02:00–02:59 happens twice.
    fires = fires_between(
        "30 2 * * *", at(PARIS, 2026, 10, 24, 18), at(PARIS, 2026, 10, 25, 12), PARIS
    )
    assert instants(fires) == [utc(2026, 10, 25, 0, 30)]
    assert fires[0].utcoffset() == timedelta(hours=2)


def test_fires_between_with_paris_fall_back_0130_fires_once() -> None:
    # In Paris 01:30 is not repeated (the repeated hour is 02:xx): a plain single fire.
    fires = fires_between(
        "30 1 * * *", at(PARIS, 2026, 10, 24, 18), at(PARIS, 2026, 10, 25, 12), PARIS
    )
    assert instants(fires) == [utc(2026, 10, 24, 23, 30)]


def test_fires_between_with_new_york_fall_back_repeated_0130_fires_once_at_first_instant() -> None:
    # 2026-11-01: 02:00-04:00 falls back to 01:00-05:00; 01:00–01:59 happens twice.
    fires = fires_between(
        "30 1 * * *", at(NEW_YORK, 2026, 10, 31, 18), at(NEW_YORK, 2026, 11, 1, 12), NEW_YORK
    )
    assert instants(fires) == [utc(2026, 11, 1, 5, 30)]
    assert fires[0].utcoffset() == timedelta(hours=-4)


def test_fires_between_with_lord_howe_half_hour_fall_back_fires_once() -> None:
    # 2026-04-05: 02:00+11:00 falls back to 01:30+10:30; 01:30–01:59 happens twice.
    fires = fires_between(
        "45 1 * * *", at(LORD_HOWE, 2026, 4, 4, 18), at(LORD_HOWE, 2026, 4, 5, 12), LORD_HOWE
    )
    assert instants(fires) == [utc(2026, 4, 4, 14, 45)]


def test_fires_between_with_hourly_over_paris_fall_back_fires_each_wall_hour_once() -> None:
    # Seven real hours from 00:00+02:00 to 05:00+01:00, six wall hours: the second 02:00
    # (02:00+01:00) does not fire.
    fires = fires_between(
        "0 * * * *", at(PARIS, 2026, 10, 24, 23, 30), at(PARIS, 2026, 10, 25, 5, 30), PARIS
    )
    assert [fire.replace(tzinfo=None).hour for fire in fires] == [0, 1, 2, 3, 4, 5]
    assert instants(fires) == [
        utc(2026, 10, 24, 22),  # 00:00+02:00
        utc(2026, 10, 24, 23),  # 01:00+02:00
        utc(2026, 10, 25, 0),  # 02:00+02:00 (first pass)
        utc(2026, 10, 25, 2),  # 03:00+01:00 (02:00+01:00, at 01:00 UTC, is skipped)
        utc(2026, 10, 25, 3),  # 04:00+01:00
        utc(2026, 10, 25, 4),  # 05:00+01:00
    ]


def test_fires_between_with_half_hourly_over_new_york_fall_back_fires_each_wall_time_once() -> None:
    fires = fires_between(
        "*/30 * * * *", at(NEW_YORK, 2026, 11, 1, 0, 45), at(NEW_YORK, 2026, 11, 1, 2, 45), NEW_YORK
    )
    assert [fire.replace(tzinfo=None).strftime("%H:%M") for fire in fires] == [
        "01:00",
        "01:30",
        "02:00",
        "02:30",
    ]
    assert instants(fires) == [
        utc(2026, 11, 1, 5, 0),
        utc(2026, 11, 1, 5, 30),
        utc(2026, 11, 1, 7, 0),
        utc(2026, 11, 1, 7, 30),
    ]


def test_next_fire_with_second_pass_of_repeated_hour_returns_next_day() -> None:
    after = at(PARIS, 2026, 10, 25, 2, 15, fold=1)  # 02:15+01:00, after 02:30+02:00 fired
    result = next_fire("30 2 * * *", after, PARIS)
    assert_instant(result, at(PARIS, 2026, 10, 26, 2, 30), PARIS)


def test_next_fire_with_first_pass_of_repeated_hour_returns_first_instant() -> None:
    after = at(PARIS, 2026, 10, 25, 2, 15)  # 02:15+02:00
    result = next_fire("30 2 * * *", after, PARIS)
    assert result.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    assert result.utcoffset() == timedelta(hours=2)


def test_next_fire_with_hourly_in_second_pass_returns_0300_winter_time() -> None:
    # 01:59+01:00 (second pass): the second 02:00 does not fire, 03:00+01:00 is next.
    result = next_fire("0 * * * *", at(PARIS, 2026, 10, 25, 2, 30, fold=1), PARIS)
    assert result.astimezone(UTC) == utc(2026, 10, 25, 2, 0)
    assert result.utcoffset() == timedelta(hours=1)


def test_next_fire_with_hourly_before_repeated_hour_returns_first_0200() -> None:
    result = next_fire("0 * * * *", at(PARIS, 2026, 10, 25, 1, 59), PARIS)
    assert result.astimezone(UTC) == utc(2026, 10, 25, 0, 0)
    assert result.utcoffset() == timedelta(hours=2)


# --- previous_fire ----------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ZONES, ids=str)
@pytest.mark.parametrize(
    ("before", "expected"),
    [
        pytest.param((24, 9, 0), (11, 24), id="tuesday-0900-exactly-is-itself"),
        pytest.param((24, 8, 59), (11, 18), id="tuesday-0859-to-last-wednesday"),
        pytest.param((24, 9, 1), (11, 24), id="tuesday-0901-to-tuesday"),
        pytest.param((25, 8, 59), (11, 24), id="wednesday-0859-to-tuesday"),
        pytest.param((23, 10, 0), (11, 18), id="monday-to-last-wednesday"),
        pytest.param((26, 14, 30), (11, 25), id="thursday-afternoon-to-wednesday"),
    ],
)
def test_previous_fire_with_send_window_returns_last_window_at_or_before(
    zone: ZoneInfo, before: tuple[int, int, int], expected: tuple[int, int]
) -> None:
    day, hour, minute = before
    result = previous_fire(WINDOW, at(zone, 2026, 11, day, hour, minute), zone)
    assert_instant(result, at(zone, 2026, *expected, 9), zone)


def test_previous_fire_with_caller_in_utc_returns_window_in_target_zone() -> None:
    result = previous_fire(WINDOW, utc(2026, 11, 24, 13, 59), NEW_YORK)
    assert result is not None
    assert result.astimezone(UTC) == utc(2026, 11, 18, 14, 0)
    assert result.tzinfo is NEW_YORK


def test_previous_fire_with_seconds_past_window_returns_that_window() -> None:
    before = at(PARIS, 2026, 11, 24, 9) + timedelta(seconds=1)
    assert_instant(previous_fire(WINDOW, before, PARIS), at(PARIS, 2026, 11, 24, 9), PARIS)


def test_previous_fire_with_spring_forward_at_shifted_fire_returns_it() -> None:
    before = at(PARIS, 2027, 3, 28, 3, 30)
    assert_instant(previous_fire("30 2 * * *", before, PARIS), before, PARIS)


def test_previous_fire_with_spring_forward_before_shifted_fire_returns_day_before() -> None:
    before = at(PARIS, 2027, 3, 28, 3, 29)
    result = previous_fire("30 2 * * *", before, PARIS)
    assert_instant(result, at(PARIS, 2027, 3, 27, 2, 30), PARIS)


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        pytest.param((3, 50), (3, 45), id="after-both"),
        pytest.param((3, 30), (3, 10), id="between"),
    ],
)
def test_previous_fire_with_two_gap_minutes_returns_latest_shifted_fire(
    before: tuple[int, int], expected: tuple[int, int]
) -> None:
    result = previous_fire("10,45 2 * * *", at(PARIS, 2027, 3, 28, *before), PARIS)
    assert_instant(result, at(PARIS, 2027, 3, 28, *expected), PARIS)


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        pytest.param((2, 55), (2, 50), id="after-both-shifted-is-latest"),
        pytest.param((2, 45), (2, 35), id="between-real-is-latest"),
    ],
)
def test_previous_fire_with_half_hour_gap_returns_latest_instant_not_last_wall_time(
    before: tuple[int, int], expected: tuple[int, int]
) -> None:
    result = previous_fire("20,35 2 * * *", at(LORD_HOWE, 2026, 10, 4, *before), LORD_HOWE)
    assert_instant(result, at(LORD_HOWE, 2026, 10, 4, *expected), LORD_HOWE)


def test_previous_fire_with_half_hour_gap_before_both_returns_day_before() -> None:
    result = previous_fire("20,35 2 * * *", at(LORD_HOWE, 2026, 10, 4, 2, 34), LORD_HOWE)
    assert_instant(result, at(LORD_HOWE, 2026, 10, 3, 2, 35), LORD_HOWE)


def test_previous_fire_with_second_pass_of_repeated_hour_returns_first_pass_fire() -> None:
    # 02:15+01:00 comes after 02:30+02:00 (which is 00:30 UTC): that is the last fire.
    before = at(PARIS, 2026, 10, 25, 2, 15, fold=1)
    result = previous_fire("30 2 * * *", before, PARIS)
    assert result is not None
    assert result.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    assert result.utcoffset() == timedelta(hours=2)


def test_previous_fire_with_first_pass_of_repeated_hour_returns_day_before() -> None:
    before = at(PARIS, 2026, 10, 25, 2, 15)  # 02:15+02:00, before 02:30+02:00
    result = previous_fire("30 2 * * *", before, PARIS)
    assert_instant(result, at(PARIS, 2026, 10, 24, 2, 30), PARIS)


def test_previous_fire_with_hourly_in_second_pass_returns_first_pass_0200() -> None:
    before = at(PARIS, 2026, 10, 25, 2, 59, fold=1)  # the second 02:00 did not fire
    result = previous_fire("0 * * * *", before, PARIS)
    assert result is not None
    assert result.astimezone(UTC) == utc(2026, 10, 25, 0, 0)


def test_previous_fire_with_new_york_second_pass_returns_first_pass_0130() -> None:
    before = at(NEW_YORK, 2026, 11, 1, 1, 45, fold=1)  # 01:45-05:00
    result = previous_fire("30 1 * * *", before, NEW_YORK)
    assert result is not None
    assert result.astimezone(UTC) == utc(2026, 11, 1, 5, 30)
    assert result.utcoffset() == timedelta(hours=-4)


def test_previous_fire_with_nothing_before_start_of_calendar_returns_none() -> None:
    assert previous_fire("0 0 2 1 *", datetime(1, 1, 1, 12, tzinfo=UTC), ZoneInfo("UTC")) is None


def test_previous_fire_with_naive_before_raises_value_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        previous_fire(WINDOW, datetime(2026, 11, 24, 9), PARIS)


# --- fires_between ---------------------------------------------------------------------------


def test_fires_between_with_window_over_two_weeks_returns_four_windows() -> None:
    fires = fires_between(WINDOW, at(PARIS, 2026, 11, 23, 0), at(PARIS, 2026, 12, 7, 0), PARIS)
    assert [fire.replace(tzinfo=None) for fire in fires] == [
        datetime(2026, 11, 24, 9),
        datetime(2026, 11, 25, 9),
        datetime(2026, 12, 1, 9),
        datetime(2026, 12, 2, 9),
    ]


def test_fires_between_with_fires_on_bounds_excludes_start_includes_end() -> None:
    start, end = at(PARIS, 2026, 11, 24, 9), at(PARIS, 2026, 12, 1, 9)
    fires = fires_between(WINDOW, start, end, PARIS)
    assert instants(fires) == instants([at(PARIS, 2026, 11, 25, 9), end])


def test_fires_between_with_limit_returns_only_earliest() -> None:
    fires = fires_between("* * * * *", utc(2026, 1, 1, 0), utc(2026, 1, 2, 0), PARIS, limit=3)
    assert instants(fires) == [utc(2026, 1, 1, 0, 1), utc(2026, 1, 1, 0, 2), utc(2026, 1, 1, 0, 3)]


def test_fires_between_with_default_limit_stops_at_1000() -> None:
    fires = fires_between("* * * * *", utc(2026, 1, 1, 0), utc(2026, 1, 3, 0), PARIS)
    assert len(fires) == 1000


def test_fires_between_with_zero_limit_returns_nothing() -> None:
    assert fires_between(WINDOW, utc(2026, 1, 1, 0), utc(2026, 2, 1, 0), PARIS, limit=0) == []


def test_fires_between_with_negative_limit_raises_value_error() -> None:
    with pytest.raises(ValueError, match="limit"):
        fires_between(WINDOW, utc(2026, 1, 1, 0), utc(2026, 2, 1, 0), PARIS, limit=-1)


def test_fires_between_with_end_before_start_returns_nothing() -> None:
    assert fires_between(WINDOW, utc(2026, 2, 1, 0), utc(2026, 1, 1, 0), PARIS) == []


def test_fires_between_with_naive_end_raises_value_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        fires_between(WINDOW, utc(2026, 1, 1, 0), datetime(2026, 2, 1), PARIS)


# --- validation --------------------------------------------------------------------------------

INVALID = [
    pytest.param("61 * * * *", "out of range", id="minute-61"),
    pytest.param("* * * *", "5 fields", id="four-fields"),
    pytest.param("nonsense", "5 fields", id="nonsense"),
    pytest.param("", "5 fields", id="empty"),
    pytest.param("0 9 * * TUE *", "5 fields", id="six-fields-croniter-reads-as-seconds"),
    pytest.param("@daily", "5 fields", id="alias"),
    pytest.param("0 24 * * *", "invalid schedule", id="hour-24"),
    pytest.param("0 9 * * FUNDAY", "invalid schedule", id="bad-day-name"),
    pytest.param("0 0 30 2 *", "never exists", id="february-30"),
]


@pytest.mark.parametrize(("expression", "reason"), INVALID)
def test_validate_with_invalid_expression_raises_value_error_naming_it(
    expression: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        validate(expression)
    assert repr(expression) in str(caught.value)


@pytest.mark.parametrize(("expression", "reason"), INVALID)
def test_is_valid_with_invalid_expression_returns_false(expression: str, reason: str) -> None:
    assert is_valid(expression) is False


@pytest.mark.parametrize(
    "expression", [WINDOW, "0 8 * * TUE", "*/15 * * * *", "0 9 * * tue,wed", "0 0 29 2 *"]
)
def test_is_valid_with_valid_expression_returns_true(expression: str) -> None:
    assert is_valid(expression) is True


def test_validate_with_extra_spaces_returns_normalised_expression() -> None:
    assert validate("  0  9 *\t* TUE,WED ") == WINDOW


@pytest.mark.parametrize(("expression", "reason"), INVALID)
def test_next_fire_with_invalid_expression_raises_value_error(expression: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        next_fire(expression, utc(2026, 1, 1, 0), PARIS)


@pytest.mark.parametrize(("expression", "reason"), INVALID)
def test_previous_fire_with_invalid_expression_raises_value_error(
    expression: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        previous_fire(expression, utc(2026, 1, 1, 0), PARIS)


@pytest.mark.parametrize(("expression", "reason"), INVALID)
def test_fires_between_with_invalid_expression_raises_value_error(
    expression: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        fires_between(expression, utc(2026, 1, 1, 0), utc(2026, 2, 1, 0), PARIS)


def test_next_fire_with_leap_day_expression_returns_next_leap_day() -> None:
    result = next_fire("0 0 29 2 *", utc(2026, 1, 1, 0), PARIS)
    assert_instant(result, at(PARIS, 2028, 2, 29, 0), PARIS)


# --- properties --------------------------------------------------------------------------------

# Expressions whose fields are spelled out for an independent check: (minutes, hours,
# weekdays as Python's Monday=0); day of month and month are `*`.
EVERY_DAY = frozenset(range(7))
EXPRESSIONS: dict[str, tuple[frozenset[int], frozenset[int], frozenset[int]]] = {
    WINDOW: (frozenset({0}), frozenset({9}), frozenset({1, 2})),
    "0 8 * * TUE": (frozenset({0}), frozenset({8}), frozenset({1})),
    "30 1 * * *": (frozenset({30}), frozenset({1}), EVERY_DAY),
    "30 2 * * *": (frozenset({30}), frozenset({2}), EVERY_DAY),
    "10,45 2 * * *": (frozenset({10, 45}), frozenset({2}), EVERY_DAY),
    "20,35 2 * * *": (frozenset({20, 35}), frozenset({2}), EVERY_DAY),
    "0 * * * *": (frozenset({0}), frozenset(range(24)), EVERY_DAY),
    "*/15 * * * *": (frozenset({0, 15, 30, 45}), frozenset(range(24)), EVERY_DAY),
    "0,30 1-3 * * SAT,SUN": (frozenset({0, 30}), frozenset({1, 2, 3}), frozenset({5, 6})),
}
PROPERTY_ZONES = [*ZONES, ZoneInfo("UTC"), ZoneInfo("America/Sao_Paulo")]


def matches(expression: str, wall: datetime) -> bool:
    """Return whether the naive wall time ``wall`` matches ``expression``'s fields."""
    minutes, hours, weekdays = EXPRESSIONS[expression]
    return (
        wall.second == 0
        and wall.microsecond == 0
        and wall.minute in minutes
        and wall.hour in hours
        and wall.weekday() in weekdays
    )


def oracle(expression: str, start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """Return the fires in (start, end] by brute force: every matching wall minute around the
    interval, read with fold=0 and normalised through UTC, kept once."""
    first = start.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    wall = first - timedelta(hours=6)
    last = end.astimezone(zone).replace(tzinfo=None) + timedelta(hours=6)
    found: set[datetime] = set()
    while wall <= last:
        if matches(expression, wall):
            instant = wall.replace(tzinfo=zone).astimezone(UTC)
            if start.astimezone(UTC) < instant <= end.astimezone(UTC):
                found.add(instant)
        wall += timedelta(minutes=1)
    return sorted(found)


def utc_instants(low: datetime, high: datetime) -> st.SearchStrategy[datetime]:
    """Return a strategy of aware UTC instants between two naive UTC times."""
    return st.datetimes(min_value=low, max_value=high).map(
        lambda moment: moment.replace(tzinfo=UTC)
    )


def transitions() -> list[datetime]:
    """Return the UTC instants of the offset changes of PROPERTY_ZONES in 2026–2028."""
    found: list[datetime] = []
    for zone in PROPERTY_ZONES:
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        offset = moment.astimezone(zone).utcoffset()
        while moment.year < 2029:
            moment += timedelta(minutes=30)
            current = moment.astimezone(zone).utcoffset()
            if current != offset:
                found.append(moment)
                offset = current
    return found


TRANSITIONS = transitions()


def test_transitions_with_property_zones_finds_the_dst_changes() -> None:
    # Paris, New York and Lord Howe change twice a year, São Paulo and Tokyo not at all.
    assert len(TRANSITIONS) == 3 * 2 * 3


@settings(max_examples=200, deadline=None)
@given(
    after=utc_instants(datetime(2026, 1, 1), datetime(2028, 12, 31)),
    zone=st.sampled_from(PROPERTY_ZONES),
    expression=st.sampled_from(sorted(EXPRESSIONS)),
)
def test_next_fire_with_any_instant_returns_later_matching_wall_time(
    after: datetime, zone: ZoneInfo, expression: str
) -> None:
    result = next_fire(expression, after, zone)
    assert result.tzinfo is zone
    assert result.astimezone(UTC) > after
    wall = result.replace(tzinfo=None)
    if not matches(expression, wall):
        # Only a wall time from a spring-forward gap, shifted forward by the gap.
        offset = result.utcoffset()
        earlier = (result.astimezone(UTC) - timedelta(days=1)).astimezone(zone).utcoffset()
        assert offset is not None and earlier is not None and offset > earlier
        assert matches(expression, wall - (offset - earlier))
    assert result.fold == 0
    following = next_fire(expression, result, zone)
    assert following.astimezone(UTC) > result.astimezone(UTC)
    # previous_fire and next_fire agree: nothing fires between the last fire and `after`.
    previous = previous_fire(expression, after, zone)
    assert previous is not None
    assert previous.astimezone(UTC) <= after
    assert next_fire(expression, previous, zone).astimezone(UTC) == result.astimezone(UTC)
    again = previous_fire(expression, result, zone)
    assert again is not None
    assert again.astimezone(UTC) == result.astimezone(UTC)


@settings(max_examples=150, deadline=None)
@given(
    transition=st.sampled_from(TRANSITIONS),
    shift=st.integers(min_value=-36 * 60, max_value=12 * 60),
    seconds=st.integers(min_value=0, max_value=59),
    zone=st.sampled_from([PARIS, NEW_YORK, LORD_HOWE]),
    expression=st.sampled_from(sorted(EXPRESSIONS)),
)
def test_fires_between_with_any_interval_near_dst_change_matches_brute_force(
    transition: datetime, shift: int, seconds: int, zone: ZoneInfo, expression: str
) -> None:
    start = transition + timedelta(minutes=shift, seconds=seconds)
    end = start + timedelta(hours=48)
    assert instants(fires_between(expression, start, end, zone)) == oracle(
        expression, start, end, zone
    )
