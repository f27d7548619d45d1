"""The meeting times a draft offers: plugins/slots.py, a pure function, asked directly."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from coffeechat.events.projection import Contact, Meeting, State, Step
from coffeechat.plugins.slots import booked_meetings, plan_slots, propose_slots

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
THURSDAY = datetime(2026, 11, 26, 14, 30, tzinfo=PARIS)


def local(slot: datetime, zone: ZoneInfo) -> str:
    return slot.astimezone(zone).strftime("%a %d %H:%M")


def assert_inside(slot: datetime, zone: ZoneInfo, start: time, end: time, minutes: int = 30):
    begins, ends = slot.astimezone(zone), (slot + timedelta(minutes=minutes)).astimezone(zone)
    assert begins.date() == ends.date(), slot
    assert start <= begins.time() and ends.time() <= end, (slot, zone)


def test_propose_slots_in_one_zone_gives_three_tuesday_wednesday_times_spread_out():
    slots = propose_slots(THURSDAY, PARIS, PARIS, [])
    assert [local(s, PARIS) for s in slots] == ["Tue 01 09:00", "Tue 01 12:00", "Wed 02 09:00"]
    assert all(s.tzinfo is PARIS for s in slots)


def test_propose_slots_with_zones_apart_lie_inside_both_working_days():
    slots = plan_slots(THURSDAY, NEW_YORK, PARIS)
    assert slots.shared and len(slots.times) == 3
    for slot in slots.times:
        assert slot.astimezone(NEW_YORK).weekday() in (1, 2)
        assert_inside(slot, NEW_YORK, time(9), time(17))
        assert_inside(slot, PARIS, time(9), time(17))
    # New York 09:00-11:00 is Paris 15:00-17:00: the last start that fits is 10:30.
    assert [local(s, NEW_YORK) for s in slots.times] == [
        "Tue 01 09:00",
        "Tue 01 10:30",
        "Wed 02 09:00",
    ]


def test_propose_slots_follow_the_weeks_when_america_is_on_summer_time_and_europe_not():
    # 2026: America moves its clocks on 8 March, Europe on 29 March. In between, New York
    # is 5 hours behind Paris instead of 6, so New York 11:30 is Paris 16:30 (it fits);
    # after 29 March it is 17:30 again (it does not).
    in_between = plan_slots(datetime(2026, 3, 13, 12, tzinfo=PARIS), NEW_YORK, PARIS, count=20)
    assert "Tue 17 11:30" in [local(s, NEW_YORK) for s in in_between.times]
    after = plan_slots(datetime(2026, 3, 30, 12, tzinfo=PARIS), NEW_YORK, PARIS, count=20)
    starts = {s.astimezone(NEW_YORK).time() for s in after.times}
    assert max(starts) == time(10, 30)
    for slot in [*in_between.times, *after.times]:
        assert_inside(slot, PARIS, time(9), time(17))
        assert_inside(slot, NEW_YORK, time(9), time(17))


def test_propose_slots_across_a_dst_change_keep_the_wall_clock():
    # Saturday 28 March 2026 in Paris; the clocks go forward that night. The slots of
    # Tuesday 31 March are 09:00 on the summer wall clock (07:00 UTC), not 08:00 UTC.
    slots = propose_slots(datetime(2026, 3, 28, 10, tzinfo=PARIS), PARIS, PARIS, [])
    first = slots[0]
    assert local(first, PARIS) == "Tue 31 09:00"
    assert first.utcoffset() == timedelta(hours=2)


def test_plan_slots_tokyo_and_los_angeles_meet_in_winter_only():
    # December: Tokyo 09:00 is Los Angeles 16:00 the day before (UTC-8): an hour in common.
    winter = plan_slots(datetime(2026, 11, 26, 12, tzinfo=LOS_ANGELES), TOKYO, LOS_ANGELES)
    assert winter.shared
    for slot in winter.times:
        assert_inside(slot, TOKYO, time(9), time(10))
        assert_inside(slot, LOS_ANGELES, time(16), time(17))
    # July: Los Angeles is UTC-7, Tokyo 09:00 is 17:00 there: no overlap at all. The
    # slots fall back to Tokyo's working hours, and say so.
    summer = plan_slots(datetime(2026, 7, 2, 12, tzinfo=LOS_ANGELES), TOKYO, LOS_ANGELES)
    assert not summer.shared
    assert len(summer.times) == 3
    for slot in summer.times:
        assert slot.astimezone(TOKYO).weekday() in (1, 2)
        assert_inside(slot, TOKYO, time(9), time(17))


def test_propose_slots_skip_meetings_already_booked():
    free = propose_slots(THURSDAY, PARIS, PARIS, [])
    booked = [(free[0], free[0] + timedelta(minutes=30)), (free[1], free[1] + timedelta(hours=1))]
    slots = propose_slots(THURSDAY, PARIS, PARIS, booked)
    for slot in slots:
        for start, end in booked:
            # 15 minutes kept free around a booked meeting
            assert slot + timedelta(minutes=30) <= start - timedelta(
                minutes=15
            ) or slot >= end + timedelta(minutes=15)
    assert len(slots) == 3


def test_booked_meetings_come_from_the_state_without_archived_contacts():
    starts = datetime(2026, 12, 1, 9, tzinfo=PARIS)
    step = Step(THURSDAY, "E1")
    state = State(
        contacts={
            "ada": Contact(handle="ada", name="Ada", added=step, meeting=Meeting(starts, 45, step)),
            "bob": Contact(
                handle="bob",
                name="Bob",
                added=step,
                archived=step,
                meeting=Meeting(starts + timedelta(days=1), 30, step),
            ),
        }
    )
    assert booked_meetings(state) == [(starts, starts + timedelta(minutes=45))]
    slots = propose_slots(THURSDAY, PARIS, PARIS, booked_meetings(state))
    assert local(slots[0], PARIS) != "Tue 01 09:00"


def test_propose_slots_respect_the_lead_time_and_the_hours_given():
    tuesday_morning = datetime(2026, 12, 1, 8, tzinfo=PARIS)
    slots = propose_slots(tuesday_morning, PARIS, PARIS, [], working_hours=(time(10), time(12)))
    assert slots[0] >= tuesday_morning + timedelta(days=1)
    assert [local(s, PARIS) for s in slots] == ["Wed 02 10:00", "Wed 02 11:30", "Tue 08 10:00"]


def test_plan_slots_refuses_what_makes_no_sense():
    with pytest.raises(ValueError):
        plan_slots(datetime(2026, 12, 1, 8), PARIS, PARIS)
    with pytest.raises(ValueError):
        plan_slots(THURSDAY, PARIS, PARIS, working_hours=(9, 9))
    with pytest.raises(ValueError):
        plan_slots(THURSDAY, PARIS, PARIS, count=0)
