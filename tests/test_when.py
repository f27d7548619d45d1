"""Tests for WHEN / DURATION parsing (events/when.py) and time zones (events/zones.py).

Every test uses a fixed "now" and explicit zones: nothing depends on the real clock or
on the machine's time zone.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coffeechat.events import zones
from coffeechat.events.errors import UserError
from coffeechat.events.when import format_duration, parse_duration, parse_when
from coffeechat.events.zones import local_zone, zone_named

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
# A Thursday afternoon in Paris.
NOW = datetime(2026, 11, 26, 14, 30, tzinfo=PARIS)


def paris(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """Return a Paris wall time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=PARIS)


# --- now / today / tomorrow / yesterday -------------------------------------------------


@pytest.mark.parametrize("text", ["now", "today", "NOW", "  Today  "])
def test_parse_when_with_now_or_today_returns_now(text: str) -> None:
    result = parse_when(text, NOW, PARIS)
    assert result == NOW
    assert result.tzinfo is PARIS


def test_parse_when_with_now_in_another_zone_returns_it_in_given_zone() -> None:
    result = parse_when("now", NOW.astimezone(UTC), PARIS)
    assert result == NOW
    assert result.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today 3pm", paris(2026, 11, 26, 15, 0)),
        ("today 08:15", paris(2026, 11, 26, 8, 15)),
        ("tomorrow", paris(2026, 11, 27, 9, 0)),
        ("tomorrow 3pm", paris(2026, 11, 27, 15, 0)),
        ("tomorrow at 3pm", paris(2026, 11, 27, 15, 0)),
        ("  TOMORROW   3PM ", paris(2026, 11, 27, 15, 0)),
        ("yesterday", paris(2026, 11, 25, 9, 0)),
        ("yesterday 17:45", paris(2026, 11, 25, 17, 45)),
    ],
)
def test_parse_when_with_relative_day_returns_that_day_at_time_or_nine(
    text: str, expected: datetime
) -> None:
    assert parse_when(text, NOW, PARIS) == expected


def test_parse_when_with_day_and_no_time_returns_nine_local() -> None:
    result = parse_when("tomorrow", NOW, NEW_YORK)
    assert (result.hour, result.minute) == (9, 0)
    assert result.tzinfo is NEW_YORK


# --- ISO 8601 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01", paris(2026, 12, 1, 9, 0)),
        ("2026-12-01T15:00", paris(2026, 12, 1, 15, 0)),
        ("2026-12-01t15:00", paris(2026, 12, 1, 15, 0)),
        ("2026-12-01T15:00:30", paris(2026, 12, 1, 15, 0, 30)),
        ("2026-12-01 15:00", paris(2026, 12, 1, 15, 0)),
        ("2026-12-01 3pm", paris(2026, 12, 1, 15, 0)),
        ("2026-12-01 noon", paris(2026, 12, 1, 12, 0)),
        ("2026-07-01T15:00", paris(2026, 7, 1, 15, 0)),
    ],
)
def test_parse_when_with_naive_iso_returns_local_time_in_zone(
    text: str, expected: datetime
) -> None:
    result = parse_when(text, NOW, PARIS)
    assert result == expected
    assert result.utcoffset() == expected.utcoffset()
    assert result.tzinfo is PARIS


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("2026-12-01T15:00Z", timedelta(0)),
        ("2026-12-01T15:00z", timedelta(0)),
        ("2026-12-01T15:00+01:00", timedelta(hours=1)),
        ("2026-12-01 15:00:30-05:00", timedelta(hours=-5)),
        ("2026-12-01T15:00+05:30", timedelta(hours=5, minutes=30)),
    ],
)
def test_parse_when_with_iso_offset_keeps_that_offset(text: str, offset: timedelta) -> None:
    result = parse_when(text, NOW, NEW_YORK)
    assert result.utcoffset() == offset
    assert (result.hour, result.minute) == (15, 0)
    assert result == datetime(2026, 12, 1, 15, 0, tzinfo=timezone(offset)).replace(
        second=result.second
    )


# --- weekdays --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("fri", 27),
        ("friday", 27),
        ("sat", 28),
        ("sun", 29),
        ("mon", 30),
        ("Monday", 30),
        ("tue", 1),
        ("tues", 1),
        ("tuesday", 1),
        ("wed", 2),
        ("wednesday", 2),
    ],
)
def test_parse_when_with_weekday_returns_next_such_day_at_nine(text: str, day: int) -> None:
    month = 11 if day > 26 else 12
    assert parse_when(text, NOW, PARIS) == paris(2026, month, day, 9, 0)


@pytest.mark.parametrize("text", ["thu", "thur", "thurs", "thursday"])
def test_parse_when_with_todays_weekday_and_future_returns_a_week_ahead(text: str) -> None:
    assert parse_when(text, NOW, PARIS) == paris(2026, 12, 3, 9, 0)


@pytest.mark.parametrize("text", ["thu", "thurs", "thursday"])
def test_parse_when_with_todays_weekday_and_past_returns_today(text: str) -> None:
    assert parse_when(text, NOW, PARIS, past=True) == paris(2026, 11, 26, 9, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wed", paris(2026, 11, 25, 9, 0)),
        ("mon 10:00", paris(2026, 11, 23, 10, 0)),
        ("fri", paris(2026, 11, 20, 9, 0)),
        ("sun 3pm", paris(2026, 11, 22, 15, 0)),
    ],
)
def test_parse_when_with_weekday_and_past_returns_most_recent_such_day(
    text: str, expected: datetime
) -> None:
    assert parse_when(text, NOW, PARIS, past=True) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tue 10:00", paris(2026, 12, 1, 10, 0)),
        ("tue at 10:00", paris(2026, 12, 1, 10, 0)),
        ("TUE 10AM", paris(2026, 12, 1, 10, 0)),
        ("friday 3:30pm", paris(2026, 11, 27, 15, 30)),
    ],
)
def test_parse_when_with_weekday_and_time_returns_that_time(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW, PARIS) == expected


# --- times of day ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hour", "minute"),
    [
        ("10:00", 10, 0),
        ("10", 10, 0),
        ("9:30", 9, 30),
        ("09:30", 9, 30),
        ("3pm", 15, 0),
        ("3 pm", 15, 0),
        ("3:30pm", 15, 30),
        ("3:30 p.m.", 15, 30),
        ("11am", 11, 0),
        ("12am", 0, 0),
        ("12pm", 12, 0),
        ("15:00", 15, 0),
        ("0:00", 0, 0),
        ("23:59", 23, 59),
        ("noon", 12, 0),
        ("midnight", 0, 0),
    ],
)
def test_parse_when_with_bare_time_returns_today_at_that_time(
    text: str, hour: int, minute: int
) -> None:
    assert parse_when(text, NOW, PARIS) == paris(2026, 11, 26, hour, minute)


def test_parse_when_with_time_and_seconds_returns_those_seconds() -> None:
    assert parse_when("15:00:30", NOW, PARIS) == paris(2026, 11, 26, 15, 0, 30)


# --- relative --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("+3d", timedelta(days=3)),
        ("+2h", timedelta(hours=2)),
        ("-1d", timedelta(days=-1)),
        ("+30m", timedelta(minutes=30)),
        ("+2w", timedelta(weeks=2)),
        ("-90m", timedelta(minutes=-90)),
        ("+0d", timedelta(0)),
        ("+ 3 days", timedelta(days=3)),
        ("in 3 days", timedelta(days=3)),
        ("in 2 hours", timedelta(hours=2)),
        ("in 30 minutes", timedelta(minutes=30)),
        ("in 1 week", timedelta(weeks=1)),
        ("in 45min", timedelta(minutes=45)),
        ("In 2 Hrs", timedelta(hours=2)),
        ("3 days ago", timedelta(days=-3)),
        ("2h ago", timedelta(hours=-2)),
        ("1 week ago", timedelta(weeks=-1)),
    ],
)
def test_parse_when_with_relative_form_returns_now_plus_delta(text: str, delta: timedelta) -> None:
    result = parse_when(text, NOW, PARIS)
    assert result - NOW == delta
    assert result.tzinfo is PARIS


def test_parse_when_with_relative_form_and_utc_now_returns_result_in_zone() -> None:
    result = parse_when("+2h", NOW.astimezone(UTC), NEW_YORK)
    assert result.tzinfo is NEW_YORK
    assert result == NOW + timedelta(hours=2)
    assert result.hour == 10  # 16:30 Paris is 10:30 in New York


def test_parse_when_with_plus_days_across_dst_returns_same_wall_time() -> None:
    before_fall_back = paris(2026, 10, 24, 12, 0)
    result = parse_when("+1d", before_fall_back, PARIS)
    assert result == paris(2026, 10, 25, 12, 0)
    assert result.astimezone(UTC) - before_fall_back.astimezone(UTC) == timedelta(hours=25)
    before_spring_forward = paris(2027, 3, 27, 9, 0)
    assert parse_when("in 1 day", before_spring_forward, PARIS) == paris(2027, 3, 28, 9, 0)
    assert parse_when("+1w", before_spring_forward, PARIS) == paris(2027, 4, 3, 9, 0)


def test_parse_when_with_plus_hours_across_dst_returns_elapsed_time() -> None:
    before_spring_forward = paris(2027, 3, 28, 1, 30)
    result = parse_when("+2h", before_spring_forward, PARIS)
    assert result.astimezone(UTC) - before_spring_forward.astimezone(UTC) == timedelta(hours=2)
    assert result.isoformat() == "2027-03-28T04:30:00+02:00"


def test_parse_when_with_plus_days_and_utc_now_returns_same_wall_time_in_zone() -> None:
    before_fall_back = datetime(2026, 10, 24, 7, 0, tzinfo=UTC)  # 09:00 in Paris
    assert parse_when("+1d", before_fall_back, PARIS).isoformat() == "2026-10-25T09:00:00+01:00"


# --- DST gaps and repeats --------------------------------------------------------------


def test_parse_when_with_time_in_spring_forward_gap_returns_time_moved_past_gap() -> None:
    result = parse_when("2027-03-28 02:30", NOW, PARIS)
    assert (result.hour, result.minute) == (3, 30)
    assert result.utcoffset() == timedelta(hours=2)
    assert result == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


def test_parse_when_with_day_word_in_spring_forward_gap_returns_time_moved_past_gap() -> None:
    saturday = paris(2027, 3, 27, 12, 0)
    result = parse_when("tomorrow 2:30am", saturday, PARIS)
    assert result.isoformat() == "2027-03-28T03:30:00+02:00"


def test_parse_when_with_new_york_spring_forward_gap_returns_time_moved_past_gap() -> None:
    result = parse_when("2027-03-14T02:30", NOW, NEW_YORK)
    assert result.isoformat() == "2027-03-14T03:30:00-04:00"


def test_parse_when_with_ambiguous_paris_time_returns_first_instant() -> None:
    result = parse_when("2026-10-25 02:30", NOW, PARIS)
    assert result.utcoffset() == timedelta(hours=2)
    # Compare in UTC: Python never finds an ambiguous wall time equal across zones.
    assert result.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert result.fold == 0


def test_parse_when_with_ambiguous_new_york_time_returns_first_instant() -> None:
    result = parse_when("2026-11-01 01:30", NOW, NEW_YORK)
    assert result.utcoffset() == timedelta(hours=-4)
    assert result.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


# --- zones east and west of UTC --------------------------------------------------------


def test_parse_when_with_zone_east_of_utc_returns_day_in_that_zone() -> None:
    # 23:30 UTC on Thursday is already Friday morning in Tokyo.
    now = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    assert parse_when("tomorrow", now, TOKYO) == datetime(2026, 11, 28, 9, 0, tzinfo=TOKYO)
    assert parse_when("fri", now, TOKYO, past=True) == datetime(2026, 11, 27, 9, 0, tzinfo=TOKYO)
    assert parse_when("15:00", now, TOKYO).utcoffset() == timedelta(hours=9)


def test_parse_when_with_zone_west_of_utc_returns_day_in_that_zone() -> None:
    # 02:00 UTC on Friday is still Thursday evening in New York.
    now = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    expected = datetime(2026, 11, 27, 9, 0, tzinfo=NEW_YORK)
    assert parse_when("tomorrow", now, NEW_YORK) == expected
    assert parse_when("thu", now, NEW_YORK, past=True).day == 26
    assert parse_when("2026-12-01T15:00", now, NEW_YORK).utcoffset() == timedelta(hours=-5)


# --- bad input -------------------------------------------------------------------------


BAD_WHENS = [
    "",
    "   ",
    "tomorow",
    "25:00",
    "24:00",
    "10:60",
    "2026-13-01",
    "2026-02-30",
    "2026-12-01T25:00",
    "2026-12-01 banana",
    "+3x",
    "3d",
    "in three days",
    "13pm",
    "0am",
    "tue 99:00",
    "tue banana",
    "now 3pm",
    "next tuesday",
    "+999999999w",
    "0001-01-01T00:00",
    "tue\n10:00x",
]


@pytest.mark.parametrize("text", BAD_WHENS)
def test_parse_when_with_bad_input_raises_user_error(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_when(text, NOW, PARIS)
    message = str(caught.value)
    assert "\n" not in message
    assert "try 2026-12-01" in message
    assert text.strip()[:5] in message or "\\n" in message


def test_parse_when_with_typo_raises_message_naming_input_and_forms() -> None:
    with pytest.raises(UserError) as caught:
        parse_when("tomorow", NOW, PARIS)
    assert str(caught.value) == (
        "can't read 'tomorow' as a time: try 2026-12-01, 2026-12-01T15:00, tomorrow 3pm,"
        " tue 10:00, +3d or 'in 3 days'"
    )


def test_parse_when_with_out_of_range_hour_raises_message_with_reason() -> None:
    with pytest.raises(UserError, match=r"'25:00' as a time \(hour 25"):
        parse_when("25:00", NOW, PARIS)


def test_parse_when_with_naive_now_raises_value_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("now", datetime(2026, 11, 26, 14, 30), PARIS)


# --- durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("2w", timedelta(weeks=2)),
        ("90 minutes", timedelta(minutes=90)),
        ("1 minute", timedelta(minutes=1)),
        ("3 days", timedelta(days=3)),
        ("1 week", timedelta(weeks=1)),
        ("2 hours", timedelta(hours=2)),
        ("45min", timedelta(minutes=45)),
        ("5 mins", timedelta(minutes=5)),
        ("1hr", timedelta(hours=1)),
        ("3 hrs", timedelta(hours=3)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_parse_duration_with_valid_form_returns_timedelta(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x",
        "0m",
        "0 days",
        "-1d",
        "+1d",
        "1.5h",
        "2",
        "h",
        "3 fortnights",
        "2h30m",
        "999999999w",
        "in 3 days",
        "٣d",
    ],
)
def test_parse_duration_with_bad_input_raises_user_error(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_duration(text)
    assert "as a duration: try 30m, 2h, 1d or 2w" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_parse_duration_with_garbage_raises_exact_message() -> None:
    with pytest.raises(UserError) as caught:
        parse_duration("x")
    assert str(caught.value) == "can't read 'x' as a duration: try 30m, 2h, 1d or 2w"


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(weeks=2), "2w"),
        (timedelta(days=3), "3d"),
        (timedelta(days=14), "2w"),
        (timedelta(hours=5), "5h"),
        (timedelta(hours=36), "36h"),
        (timedelta(minutes=45), "45m"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=30), "30s"),
        (timedelta(milliseconds=1500), "1.5s"),
        (timedelta(0), "0m"),
        (timedelta(hours=-2), "-2h"),
    ],
)
def test_format_duration_with_delta_returns_shortest_exact_unit(
    delta: timedelta, expected: str
) -> None:
    assert format_duration(delta) == expected


# --- properties ------------------------------------------------------------------------

UNITS = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


@given(n=st.integers(min_value=1, max_value=1000), unit=st.sampled_from(sorted(UNITS)))
def test_parse_duration_with_any_whole_amount_returns_that_delta_and_round_trips(
    n: int, unit: str
) -> None:
    delta = parse_duration(f"{n}{unit}")
    assert delta == n * UNITS[unit]
    assert parse_duration(format_duration(delta)) == delta


@given(n=st.integers(min_value=1, max_value=1000))
def test_parse_when_with_any_plus_days_returns_exactly_that_many_days_later(n: int) -> None:
    assert parse_when(f"+{n}d", NOW, PARIS) - NOW == timedelta(days=n)


TOKENS = [
    "now", "today", "tomorrow", "yesterday", "tue", "thurs", "at", "in", "ago", "+", "-",
    "3", "12", "99", "2026-12-01", "2026-13-40", "T", "15:00", "25:61", ":", "pm", "am",
    "noon", "midnight", "d", "days", "h", "w", "x", "Z", "+01:00", " ", "9999-12-31",
    "0001-01-01", "999999999", "\n", "\x00", "٣",
]  # fmt: skip


@given(text=st.text() | st.lists(st.sampled_from(TOKENS), max_size=6).map("".join))
def test_parse_when_with_arbitrary_text_raises_nothing_but_user_error(text: str) -> None:
    for past in (False, True):
        try:
            result = parse_when(text, NOW, PARIS, past=past)
        except UserError as exc:
            assert "\n" not in str(exc)
        else:
            assert result.utcoffset() is not None


@given(text=st.text() | st.lists(st.sampled_from(TOKENS), max_size=4).map("".join))
def test_parse_duration_with_arbitrary_text_raises_nothing_but_user_error(text: str) -> None:
    try:
        result = parse_duration(text)
    except UserError as exc:
        assert "\n" not in str(exc)
    else:
        assert result > timedelta(0)


# --- zones -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "key"),
    [
        ("Europe/Paris", "Europe/Paris"),
        (":America/New_York", "America/New_York"),
        ("/usr/share/zoneinfo/Asia/Tokyo", "Asia/Tokyo"),
        ("UTC", "UTC"),
    ],
)
def test_local_zone_with_valid_tz_returns_that_zone(tz: str, key: str) -> None:
    assert local_zone({"TZ": tz}).key == key


@pytest.mark.parametrize("tz", ["Mars/Base", "", ":", "CET-1CEST", "../../etc/passwd"])
def test_local_zone_with_invalid_tz_returns_system_zone(tz: str) -> None:
    assert local_zone({"TZ": tz}) == local_zone({})


def test_local_zone_with_no_environ_reads_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert local_zone().key == "Asia/Tokyo"


def test_local_zone_with_same_tz_twice_returns_cached_zone() -> None:
    zones._zone_for_tz.cache_clear()
    first = local_zone({"TZ": "Europe/Paris"})
    second = local_zone({"TZ": "Europe/Paris"})
    assert first is second
    assert zones._zone_for_tz.cache_info().hits >= 1


def test_system_zone_with_localtime_symlink_returns_its_target(tmp_path: Path) -> None:
    link = tmp_path / "localtime"
    os.symlink("/usr/share/zoneinfo/America/New_York", link)
    assert zones._system_zone(str(link), str(tmp_path / "missing")).key == "America/New_York"


def test_system_zone_with_posix_variant_symlink_returns_plain_key(tmp_path: Path) -> None:
    link = tmp_path / "localtime"
    os.symlink("../usr/share/zoneinfo/posix/Europe/Paris", link)
    assert zones._system_zone(str(link), str(tmp_path / "missing")).key == "Europe/Paris"


def test_system_zone_with_timezone_file_only_returns_its_zone(tmp_path: Path) -> None:
    (tmp_path / "timezone").write_text("Asia/Tokyo\n", encoding="utf-8")
    result = zones._system_zone(str(tmp_path / "missing"), str(tmp_path / "timezone"))
    assert result.key == "Asia/Tokyo"


def test_system_zone_with_nothing_usable_returns_utc(tmp_path: Path) -> None:
    (tmp_path / "localtime").write_bytes(b"not a symlink")
    (tmp_path / "timezone").write_text("Mars/Base\n", encoding="utf-8")
    result = zones._system_zone(str(tmp_path / "localtime"), str(tmp_path / "timezone"))
    assert result.key == "UTC"


@pytest.mark.parametrize("name", ["Europe/Paris", "America/New_York", " Asia/Tokyo ", "UTC"])
def test_zone_named_with_iana_name_returns_zone(name: str) -> None:
    assert zone_named(name).key == name.strip()


@pytest.mark.parametrize(
    "name",
    [
        "Mars/Base",
        "",
        "  ",
        "Europe/../Europe/Paris",
        "/etc/localtime",
        "America",
        "zone.tab",
        "europe/paris",
        "a\x00b",
        "x" * 5000,
    ],
)
def test_zone_named_with_unknown_name_raises_user_error(name: str) -> None:
    with pytest.raises(UserError) as caught:
        zone_named(name)
    message = str(caught.value)
    assert message.startswith("unknown time zone ")
    assert message.endswith("use an IANA name such as Europe/Paris or America/New_York")
    assert "\n" not in message


def test_zone_named_with_mars_raises_exact_message() -> None:
    with pytest.raises(UserError) as caught:
        zone_named("Mars/Base")
    assert str(caught.value) == (
        "unknown time zone 'Mars/Base': use an IANA name such as Europe/Paris or America/New_York"
    )
