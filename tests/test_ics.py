"""``export ics``: the booked meetings as iCalendar, checked by a real parser (icalendar).

Homes are made by the real command line; the calendar it exports is parsed by the
icalendar package (a test-only dependency), which must find each meeting as one event
with a stable UID, its times in real zones, the playbook's reminders as alarms, and
every TEXT value back exactly as typed.
"""

from __future__ import annotations

import os
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from conftest import COMMAND, DEFAULT_NOW, Result, Runner, run_coffeechat
from hypothesis import given
from hypothesis import strategies as st
from test_startup import modules_loaded_by

from coffeechat.events.ics import duration_text, escape_text, fold

PARIS = ZoneInfo("Europe/Paris")


def ok(result: Result) -> Result:
    """Assert a run succeeded without a traceback and return it."""
    assert result.status == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result


def export(cli: Runner, *arguments: str, **options: Any) -> str:
    """Run ``export ics`` and return the calendar it printed."""
    return ok(cli("export", "ics", *arguments, **options)).stdout


def parse(text: str) -> icalendar.Calendar:
    """Parse a calendar with icalendar, strictly (a component it cannot read fails)."""
    calendar = icalendar.Calendar.from_ical(text)
    for component in calendar.walk():
        assert not component.errors, (component.name, component.errors)
    return calendar


def events_of(text: str) -> dict[str, icalendar.Event]:
    """Return the VEVENTs of a calendar by contact handle."""
    return {str(event["X-COFFEECHAT-CONTACT"]): event for event in parse(text).walk("VEVENT")}


def triggers(event: icalendar.Event) -> list[timedelta]:
    """Return the VALARM triggers of an event."""
    return sorted(alarm.decoded("TRIGGER") for alarm in event.walk("VALARM"))


@pytest.fixture
def booked(cli: Runner) -> Runner:
    """A home with Ada (in person, Tue 1 Dec 15:00 Paris) and Grace (video, Wed 10:00)."""
    ok(cli("add", "Ada Lovelace", "--company", "Analytical Engines", "--role", "Engineer"))
    ok(cli("schedule", "ada", "tue 15:00", "--mode", "in-person", "--place", "Café de Flore"))
    ok(cli("add", "Grace Hopper", "--learn", "how compilers came to be"))
    ok(cli("schedule", "grace", "wed 10:00", "--mode", "video", "--minutes", "45"))
    return cli


def test_export_ics_with_booked_meetings_gives_one_valid_event_each(booked: Runner, home: Path):
    target = home.parent / "meetings.ics"
    ok(booked("export", "ics", str(target)))
    text = target.read_bytes().decode()
    events = events_of(text)
    assert set(events) == {"ada-lovelace", "grace-hopper"}
    ada, grace = events["ada-lovelace"], events["grace-hopper"]
    starts = ada.decoded("DTSTART")
    assert starts == datetime(2026, 12, 1, 15, 0, tzinfo=PARIS)
    assert ada["DTSTART"].params["TZID"] == "Europe/Paris"
    assert ada.decoded("DTEND") - starts == timedelta(minutes=30)
    assert grace.decoded("DTEND") - grace.decoded("DTSTART") == timedelta(minutes=45)
    assert str(ada["LOCATION"]) == "Café de Flore"
    assert str(ada["SUMMARY"]) == "Coffee chat with Ada Lovelace"
    assert "how compilers came to be" in str(grace["DESCRIPTION"])
    assert str(ada["STATUS"]) == "CONFIRMED" and ada["SEQUENCE"] == 0
    assert ada.decoded("DTSTAMP").tzinfo is not None and "PRODID" in parse(text)
    # The article's reminders: prep the day before; on time 30 min before, 60 in person.
    assert triggers(ada) == [timedelta(days=-1), timedelta(minutes=-60)]
    assert triggers(grace) == [timedelta(days=-1), timedelta(minutes=-30)]
    assert "Pick up the tab" in str(ada["DESCRIPTION"])
    assert "ATTENDEE" not in ada and "ORGANIZER" not in ada  # no invitations sent
    # Wire format: CRLF everywhere, no physical line over 75 octets.
    assert text.endswith("END:VCALENDAR\r\n")
    lines = text.split("\r\n")
    assert "\n" not in "".join(lines)
    assert max(len(line.encode()) for line in lines) <= 75


def test_export_ics_alarms_follow_the_playbook_settings(booked: Runner, home: Path):
    (home / "config.toml").write_text(
        '[playbook]\nprep_before = "2d"\non_time_before = "15m"\non_time_before_in_person = "90m"\n'
    )
    events = events_of(export(booked))
    assert triggers(events["ada-lovelace"]) == [timedelta(days=-2), timedelta(minutes=-90)]
    assert triggers(events["grace-hopper"]) == [timedelta(days=-2), timedelta(minutes=-15)]


def test_export_ics_with_a_rescheduled_meeting_keeps_its_uid_and_raises_sequence(
    booked: Runner,
):
    before = events_of(export(booked))["grace-hopper"]
    ok(booked("reschedule", "grace", "thu 11:00"))
    after_text = export(booked)
    after = events_of(after_text)["grace-hopper"]
    assert str(after["UID"]) == str(before["UID"])
    assert after_text.count(f"UID:{before['UID']}") == 1
    assert (before["SEQUENCE"], after["SEQUENCE"]) == (0, 1)
    assert after.decoded("DTSTART") == datetime(2026, 12, 3, 11, 0, tzinfo=PARIS)
    assert after.decoded("DTEND") - after.decoded("DTSTART") == timedelta(minutes=45)
    assert after.decoded("LAST-MODIFIED") >= before.decoded("LAST-MODIFIED")


def test_export_ics_with_a_cancelled_meeting_marks_it_cancelled(booked: Runner):
    uid = str(events_of(export(booked))["ada-lovelace"]["UID"])
    ok(booked("cancel", "ada"))
    ada = events_of(export(booked))["ada-lovelace"]
    assert str(ada["UID"]) == uid
    assert str(ada["STATUS"]) == "CANCELLED" and ada["SEQUENCE"] == 1
    assert triggers(ada) == []  # no reminders for a meeting that will not happen
    # Undoing the cancellation brings it back with a higher SEQUENCE, never a lower one.
    ok(booked("undo"))
    ada = events_of(export(booked))["ada-lovelace"]
    assert str(ada["STATUS"]) == "CONFIRMED" and ada["SEQUENCE"] == 2
    assert len(triggers(ada)) == 2


def test_export_ics_with_a_held_meeting_keeps_it_as_a_past_event(cli: Runner):
    earlier = "2026-11-20T09:00:00+01:00"
    ok(cli("add", "Ada Lovelace", now=earlier))
    ok(cli("schedule", "ada", "mon 10:00", now=earlier))
    ok(cli("met", "ada", "--at", "2026-11-23T10:30:00+01:00", "--learned", "a lot"))
    ada = events_of(export(cli))["ada-lovelace"]
    assert ada.decoded("DTSTART") == datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
    assert str(ada["STATUS"]) == "CONFIRMED" and triggers(ada) == []


def test_export_ics_after_undoing_a_booking_has_no_event(booked: Runner):
    ok(booked("add", "Alan Turing"))
    ok(booked("schedule", "alan", "fri 09:00"))
    assert "alan-turing" in events_of(export(booked))
    ok(booked("undo"))
    assert "alan-turing" not in events_of(export(booked))


def test_export_ics_text_values_come_back_exactly(cli: Runner, home: Path):
    name = "Søren Kierkégaard-Ørsted 🐙"
    learn = 'how, exactly; she did it \\ with "care"\nand a second line, ' + "é" * 80
    ok(cli("add", name, "--learn", learn))
    ok(cli("schedule", "soren", "tue 15:00", "--place", "Rue de Rivoli; 2nd floor, left"))
    target = home.parent / "meetings.ics"
    ok(cli("export", "ics", str(target)))
    text = target.read_bytes().decode()
    event = next(iter(parse(text).walk("VEVENT")))
    assert str(event["SUMMARY"]) == f"Coffee chat with {name}"
    assert str(event["LOCATION"]) == "Rue de Rivoli; 2nd floor, left"
    assert f"What you want to learn: {learn}\n" in str(event["DESCRIPTION"])
    assert max(len(line.encode()) for line in text.split("\r\n")) <= 75


def test_export_ics_in_another_zone_writes_that_zone_with_a_matching_vtimezone(home: Path):
    # Booked in New York, across the US spring change (14 March 2027): both sides covered.
    now = "2027-03-01T09:00:00-05:00"
    york = ZoneInfo("America/New_York")
    for arguments in (
        ("add", "Ada Lovelace"),
        ("schedule", "ada", "2027-03-10T09:00"),
        ("add", "Grace Hopper"),
        ("schedule", "grace", "2027-03-17T09:00"),
    ):
        ok(run_coffeechat(home, *arguments, now=now, tz="America/New_York"))
    text = ok(run_coffeechat(home, "export", "ics", now=now, tz="America/New_York")).stdout
    calendar = parse(text)
    (timezone,) = calendar.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == "America/New_York"
    built = timezone.to_tz(lookup_tzid=False)  # from our observances, not the database
    for event in calendar.walk("VEVENT"):
        local = event.decoded("DTSTART")
        assert local.tzinfo is not None and local.hour == 9
        naive = local.replace(tzinfo=None)
        assert naive.replace(tzinfo=built).utcoffset() == naive.replace(tzinfo=york).utcoffset()
    starts = sorted(event.decoded("DTSTART") for event in calendar.walk("VEVENT"))
    assert [s.astimezone(UTC).hour for s in starts] == [14, 13]  # EST, then EDT


def test_export_ics_in_the_repeated_hour_of_a_clock_change_writes_utc(home: Path):
    # 25 Oct 2026, Paris: 02:30 happens twice; this meeting is in the second (CET, +01:00).
    now = "2026-10-20T10:00:00+02:00"
    ok(run_coffeechat(home, "add", "Ada Lovelace", now=now))
    ok(run_coffeechat(home, "schedule", "ada", "2026-10-25T02:30:00+01:00", now=now))
    text = ok(run_coffeechat(home, "export", "ics", now=now)).stdout
    event = next(iter(parse(text).walk("VEVENT")))
    assert "DTSTART:20261025T013000Z" in text
    assert event.decoded("DTSTART") == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_export_ics_with_todos_adds_the_agendas_reminders(cli: Runner):
    ok(cli("add", "Ada Lovelace"))
    ok(cli("plan", "ada", "--learn", "how she started"))
    ok(cli("add", "Grace Hopper"))
    ok(cli("schedule", "grace", "mon 10:00"))
    plain = parse(export(cli))
    assert not plain.walk("VTODO")
    calendar = parse(export(cli, "--todos"))
    todos = calendar.walk("VTODO")
    kinds = {str(todo["CATEGORIES"].cats[0]) for todo in todos}
    assert "reach-out" in kinds
    assert not kinds & {"prep", "on-time"}  # those are the meeting's alarms already
    agenda = ok(cli("agenda", "--json")).json()
    reach = next(r for r in agenda["reminders"] if r["kind"] == "reach-out")
    todo = next(t for t in todos if str(t["UID"]).endswith(reach["id"]))
    assert todo.decoded("DUE") == datetime.fromisoformat(reach["due"])
    assert str(todo["DESCRIPTION"]) == reach["message"]


def test_export_ics_to_a_file_writes_the_same_bytes_privately(booked: Runner, home: Path):
    target = home.parent / "out" / "meetings.ics"
    assert ok(booked("export", "ics", str(target))).stdout == ""
    stdout = subprocess.run(
        [COMMAND, "--home", str(home), "export", "ics"],
        capture_output=True,
        env={**os.environ, "TZ": "Europe/Paris", "COFFEECHAT_NOW": DEFAULT_NOW},
        check=True,
    ).stdout
    assert target.read_bytes() == stdout and b"\r\n" in stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert export(booked) == export(booked)  # the same log gives the same bytes


def test_export_ics_with_no_meetings_is_an_empty_valid_calendar(cli: Runner, home: Path):
    home.mkdir(mode=0o700)  # an empty home (a missing one is exit 2)
    calendar = parse(export(cli))
    assert calendar.walk("VEVENT") == []


def test_export_ics_with_a_bad_setting_exits_2(booked: Runner, home: Path):
    (home / "config.toml").write_text('[playbook]\nprep_before = "soon"\n')
    result = booked("export", "ics")
    assert result.status == 2 and result.stdout == ""
    assert "prep_before" in result.stderr and "Traceback" not in result.stderr


# --- the writer's pieces --------------------------------------------------------------------


@given(st.text(min_size=0, max_size=400))
def test_fold_with_any_text_keeps_lines_short_and_unfolds_to_the_same(value: str):
    line = "DESCRIPTION:" + escape_text(value)
    folded = fold(line)
    assert folded.endswith("\r\n")
    physical = folded[:-2].split("\r\n")
    assert all(len(piece.encode()) <= 75 for piece in physical)
    assert all(piece.startswith(" ") for piece in physical[1:])
    assert folded[:-2].replace("\r\n ", "") == line


@given(st.text(max_size=200))
def test_escape_text_with_any_text_parses_back(value: str):
    event = icalendar.Event.from_ical(
        "BEGIN:VEVENT\r\n" + fold("SUMMARY:" + escape_text(value)) + "END:VEVENT\r\n"
    )
    expected = value.replace("\r\n", "\n").replace("\r", "\n")
    expected = "".join(c for c in expected if c in "\t\n" or not (ord(c) < 32 or ord(c) == 127))
    assert str(event["SUMMARY"]) == expected


def test_duration_text_writes_rfc_5545_durations():
    assert duration_text(-timedelta(days=1)) == "-P1D"
    assert duration_text(-timedelta(minutes=30)) == "-PT30M"
    assert duration_text(-timedelta(days=1, hours=2)) == "-P1DT2H"
    assert duration_text(timedelta(0)) == "PT0S"
    assert duration_text(timedelta(seconds=90)) == "PT1M30S"


# --- recording stays light ------------------------------------------------------------------


def modules_after(home: Path, *arguments: str) -> set[str]:
    """Run the command line in a fresh interpreter; return every module it loaded."""
    environment = {key: value for key, value in os.environ.items() if key != "COFFEECHAT_HOME"}
    return modules_loaded_by(home, *arguments, every=True, env=environment)


def test_recording_commands_load_neither_the_calendar_writer_nor_caldav(tmp_path: Path):
    home = tmp_path / "home"
    calendar = {"coffeechat.events.ics", "coffeechat.daemon.caldav", "coffeechat.daemon.calendar"}
    for arguments in (("add", "Ada Lovelace"), ("note", "ada", "likes tea")):
        loaded = modules_after(home, *arguments)
        assert "coffeechat.events.projection" in loaded  # the probe sees our modules
        assert not loaded & calendar, (arguments, loaded & calendar)
    assert calendar - {"coffeechat.daemon.caldav"} <= modules_after(home, "export", "ics")
