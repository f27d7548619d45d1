"""events/meetings.py: every meeting ever booked, folded as the projection folds them.

Homes are made by the real command line; the calendar is read back with icalendar.
"""

from __future__ import annotations

from pathlib import Path

import icalendar
from conftest import Runner

from coffeechat.events.log import read_segments
from coffeechat.events.meetings import meeting_history


def test_meeting_history_with_a_meeting_held_before_its_booking_was_recorded_is_held(
    cli: Runner, home: Path
) -> None:
    # Booked on the 20th for Monday; then recorded as held with an --at before the
    # booking (it happened on the 19th after all): the projection's latest meeting.held
    # consumes the pending booking whatever the dates, and so must the calendar.
    booking = "2026-11-20T09:00:00+01:00"
    assert cli("add", "Ada Lovelace", now=booking).status == 0
    assert cli("schedule", "ada", "mon 10:00", now=booking).status == 0
    assert cli("met", "ada", "--at", "2026-11-19T16:00:00+01:00").status == 0
    [meeting] = meeting_history(read_segments(str(home / "log")))
    assert meeting.status == "held"
    show = cli("show", "ada", "--json").json()
    assert show["stage"] != "scheduled"  # the projection agrees
    calendar = icalendar.Calendar.from_ical(cli("export", "ics").stdout)
    [event] = calendar.walk("VEVENT")
    assert list(event.walk("VALARM")) == []  # a past event, not a booking to be reminded of
