"""The playbook rules at their boundaries: pure functions of the state, a clock and settings.

Every test folds real events (made by ``Stamp``) into a ``State``, loads the real plugin
manager and a real ``config.toml`` (``timezone = "Europe/Paris"``, so nothing depends on the
machine), and calls ``evaluate`` with a ``now`` it chooses: the real clock is never read.
A reminder is due when ``due <= now``: rows are checked a minute either side of due, across
Paris DST nights (2027-03-28, 2026-10-25) and for a contact in New York.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.errors import UserError
from coffeechat.events.log import EventLog, read_segments
from coffeechat.events.projection import State, apply_all, replay
from coffeechat.events.stages import stage_of
from coffeechat.plugins.manager import Plugins, load_plugins, settings_sections
from coffeechat.plugins.quiet import deliver_at
from coffeechat.plugins.reminders import Reminder, evaluate, make_reminder
from coffeechat.plugins.settings import QuietHours, Settings, load_settings

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

# --- helpers ---------------------------------------------------------------------------------


def paris(text: str) -> datetime:
    """Return a wall time in Paris: ``paris("2026-12-01 09:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def utc(text: str) -> datetime:
    """Return an instant written in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Journey:
    """The events of a test, each recorded (by ``Stamp``) when it happened; Ada added at ``ada``."""

    def __init__(self, ada: datetime | None = None, **profile: Any) -> None:
        self.events: list[m.Event] = []
        if ada is not None:
            self.add("ada", ada, **profile)

    def record(self, kind: type[m.Event], at: datetime, **fields: Any) -> Any:
        event = Stamp(at, "laptop", PARIS)(kind, at, **fields)
        self.events.append(event)
        return event

    def add(self, handle: str, at: datetime, **profile: Any) -> Any:
        return self.record(m.ContactAdded, at, contact=handle, name=handle.title(), **profile)

    def schedule(self, handle: str, at: datetime, starts: datetime, **fields: Any) -> Any:
        return self.record(m.MeetingScheduled, at, contact=handle, starts=starts, **fields)

    def done(self, reminder: Reminder, at: datetime) -> Any:
        occurrence = reminder.occurrence
        return self.record(m.ReminderDone, at, reminder=reminder.id, occurrence=occurrence)

    def state(self) -> State:
        return apply_all(State(), self.events)


Agenda = Callable[..., list[Reminder]]


def write_config(folder: Path, plugins: Plugins, body: str = "") -> Settings:
    """Write ``config.toml`` (Paris, then ``body``) and load it against the real sections."""
    path = folder / "config.toml"
    path.write_text('timezone = "Europe/Paris"\n' + body)
    return load_settings(str(path), settings_sections(plugins))


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    loaded = load_plugins(None, {})
    assert loaded.problems == []
    return loaded


@pytest.fixture
def settings(tmp_path: Path, plugins: Plugins) -> Settings:
    return write_config(tmp_path, plugins)


@pytest.fixture
def agenda(plugins: Plugins, settings: Settings) -> Agenda:
    """``agenda(journey_or_state, now)``: every reminder, after done/snooze/archive."""

    def run(source: Journey | State, now: datetime, config: Settings = settings) -> list[Reminder]:
        state = source.state() if isinstance(source, Journey) else source
        reminders, failures = evaluate(plugins, state, now, config)
        assert failures == []
        return reminders

    return run


def pick(reminders: list[Reminder], kind: str, contact: str | None = "ada") -> list[Reminder]:
    return [r for r in reminders if r.kind == kind and r.contact == contact]


def one(reminders: list[Reminder], kind: str, contact: str | None = "ada") -> Reminder:
    """The one reminder of a kind; for a recurring one, its current (earliest) occurrence.

    A recurring rule also proposes the next occurrence, so the daemon wakes for it.
    """
    found = pick(reminders, kind, contact)
    if found and all(r.recurring and r.id == found[0].id for r in found):
        found = [min(found, key=lambda r: r.due)]
    assert len(found) == 1, f"expected one {kind} for {contact}, got {found}"
    return found[0]


def assert_due_at(
    agenda: Agenda, journey: Journey, kind: str, due: datetime, who: str | None = "ada", **kw: Any
) -> Reminder:
    """The reminder is there with ``due`` exactly: not due a minute before, due a minute after."""
    before = one(agenda(journey, due - MINUTE, **kw), kind, who)
    after = one(agenda(journey, due + MINUTE, **kw), kind, who)
    assert before.due == due and after.due == due and before.id == after.id
    assert not before.due <= due - MINUTE and after.due <= due + MINUTE
    return after


# --- reach-out -------------------------------------------------------------------------------


def planned(at: datetime, **profile: Any) -> Journey:
    journey = Journey(at - DAY, **profile)
    journey.record(m.OutreachPlanned, at, contact="ada")
    return journey


@pytest.mark.parametrize(
    ("plan_at", "tz", "due"),
    [
        ("2026-11-26 14:30", None, paris("2026-12-01 09:00")),  # Thursday afternoon
        ("2026-11-26 14:30", "America/New_York", utc("2026-12-01 14:00")),  # 15:00 Paris
        ("2026-12-01 10:00", "America/New_York", utc("2026-12-01 14:00")),  # 04:00 for them
        ("2026-12-01 08:59", None, paris("2026-12-01 09:00")),
        ("2026-12-01 09:00", None, paris("2026-12-01 09:00")),
        ("2026-12-01 09:01", None, paris("2026-12-02 09:00")),
        ("2026-12-02 09:01", None, paris("2026-12-08 09:00")),
        ("2026-11-30 10:00", None, paris("2026-12-01 09:00")),  # Monday
        ("2027-03-25 15:00", None, utc("2027-03-30 07:00")),  # spring-forward week: CEST
        ("2027-03-28 03:30", None, utc("2027-03-30 07:00")),  # just after the jump
        ("2026-10-22 15:00", None, utc("2026-10-27 08:00")),  # fall-back week: CET
        ("2026-10-25 02:30", None, utc("2026-10-27 08:00")),  # in the repeated hour
    ],
)
def test_reach_out_with_plan_due_at_first_window_at_or_after_in_contact_zone(
    agenda: Agenda, plan_at: str, tz: str | None, due: datetime
) -> None:
    journey = planned(paris(plan_at), tz=tz)
    reminder = assert_due_at(agenda, journey, "reach-out", due)
    local = reminder.due.astimezone(ZoneInfo(tz) if tz else PARIS)
    assert (local.strftime("%a"), local.hour, local.minute) in (("Tue", 9, 0), ("Wed", 9, 0))


def test_reach_out_with_contact_reached_after_plan_none(agenda: Agenda) -> None:
    journey = planned(paris("2026-11-26 14:30"))
    assert pick(agenda(journey, paris("2026-12-01 09:01")), "reach-out")
    journey.record(m.OutreachSent, paris("2026-11-27 10:00"), contact="ada")
    assert pick(agenda(journey, paris("2026-12-01 09:01")), "reach-out") == []


# --- nudge -----------------------------------------------------------------------------------

REACHED = paris("2026-11-03 10:00")  # a Tuesday, after that day's window


def reached(at: datetime = REACHED, **profile: Any) -> Journey:
    journey = Journey(at - DAY, **profile)
    journey.record(m.OutreachSent, at, contact="ada")
    return journey


@pytest.mark.parametrize(
    ("reach_at", "tz", "due"),
    [
        ("2026-11-03 10:00", None, paris("2026-11-11 09:00")),  # T+7d Tue 10:00 → Wed 09:00
        ("2026-11-03 09:00", None, paris("2026-11-10 09:00")),  # T+7d is a window: that instant
        ("2026-11-03 10:00", "America/New_York", utc("2026-11-10 14:00")),  # Tue 09:00 NY
        ("2026-10-22 14:00", None, utc("2026-11-03 08:00")),  # reached in CEST, nudged in CET
    ],
)
def test_nudge_with_no_reply_due_at_first_window_after_seven_days(
    agenda: Agenda, reach_at: str, tz: str | None, due: datetime
) -> None:
    journey = reached(paris(reach_at), tz=tz)
    reminder = assert_due_at(agenda, journey, "nudge", due)
    assert "(1 of 2)" in reminder.message and reminder.priority == "normal"


def test_nudge_with_first_done_second_due_fourteen_days_after(agenda: Agenda) -> None:
    journey = reached()
    first = one(agenda(journey, paris("2026-11-11 09:01")), "nudge")
    journey.done(first, paris("2026-11-11 09:30"))
    second = assert_due_at(agenda, journey, "nudge", paris("2026-11-18 09:00"))
    assert "(2 of 2)" in second.message and second.id != first.id


def test_nudge_with_second_reach_counts_as_first_nudge_second_due(agenda: Agenda) -> None:
    journey = reached()
    again = journey.record(m.OutreachSent, paris("2026-11-11 09:30"), contact="ada")
    second = assert_due_at(agenda, journey, "nudge", paris("2026-11-18 09:00"))
    assert "(2 of 2)" in second.message
    assert second.because == [journey.events[1].id, again.id]


def test_nudge_with_max_nudges_done_closing_low_priority_and_no_reply(agenda: Agenda) -> None:
    journey = reached()
    for now in (paris("2026-11-11 09:01"), paris("2026-11-18 09:01")):
        journey.done(one(agenda(journey, now), "nudge"), now)
    closing = assert_due_at(agenda, journey, "nudge", REACHED + 21 * DAY)
    assert closing.priority == "low" and "personally" in closing.message
    contact = journey.state().contacts["ada"]
    assert stage_of(contact, REACHED + 21 * DAY - MINUTE) == "reached"
    assert stage_of(contact, REACHED + 21 * DAY) == "no-reply"


def test_nudge_with_nudges_never_marked_sent_turns_to_closing_when_time_is_up(
    agenda: Agenda,
) -> None:
    journey = reached()  # nothing marked done, no follow-up recorded
    closing_time = REACHED + 21 * DAY
    before = one(agenda(journey, closing_time - MINUTE), "nudge")
    after = one(agenda(journey, closing_time), "nudge")
    assert "(1 of 2)" in before.message and before.priority == "normal"
    assert after.due == closing_time and after.priority == "low"
    assert "personally" in after.message
    assert stage_of(journey.state().contacts["ada"], closing_time) == "no-reply"


@pytest.mark.parametrize(
    ("kind", "after", "fields"),
    [
        (m.ReplyReceived, MINUTE, {}),
        (m.ReplyReceived, 2 * DAY, {}),
        (m.ReplyReceived, 30 * DAY, {}),  # after the stage went no-reply
        (m.ReplyReceived, DAY, {"declined": True}),
        (m.ContactArchived, DAY, {}),
    ],
)
def test_nudge_with_reply_decline_or_archive_none(
    agenda: Agenda, kind: type[m.Event], after: timedelta, fields: dict[str, Any]
) -> None:
    journey = reached()
    assert pick(agenda(journey, REACHED + 40 * DAY), "nudge")
    journey.record(kind, REACHED + after, contact="ada", **fields)
    for now in (paris("2026-11-11 09:01"), REACHED + 40 * DAY):
        assert pick(agenda(journey, now), "nudge") == []


def test_nudge_with_nudge_after_three_days_in_config_moves(
    agenda: Agenda, plugins: Plugins, tmp_path: Path
) -> None:
    config = write_config(tmp_path, plugins, '[playbook]\nnudge_after = "3d"\n')
    journey = reached(paris("2026-10-31 10:00"))  # Saturday; +3d is Tuesday 10:00
    assert_due_at(agenda, journey, "nudge", paris("2026-11-04 09:00"), config=config)
    default = one(agenda(journey, paris("2026-11-04 09:01")), "nudge")
    assert default.due == paris("2026-11-10 09:00")


# --- prep, on-time, did-it-happen ------------------------------------------------------------

BOOKED = paris("2026-11-30 10:00")
STARTS = paris("2026-12-03 15:00")  # a Thursday


def booked(starts: datetime = STARTS, tz: str | None = None, **fields: Any) -> Journey:
    journey = Journey(BOOKED - DAY, tz=tz)
    journey.schedule("ada", BOOKED, starts, **fields)
    return journey


@pytest.mark.parametrize(
    ("starts", "due"),
    [
        (STARTS, paris("2026-12-02 15:00")),
        (paris("2027-03-29 10:00"), paris("2027-03-28 10:00")),  # over the spring-forward night
    ],
)
def test_prep_with_meeting_due_one_day_before_and_expires_at_start(
    agenda: Agenda, starts: datetime, due: datetime
) -> None:
    reminder = assert_due_at(agenda, booked(starts), "prep", due)
    assert reminder.expires == starts and "ask" in reminder.message


@pytest.mark.parametrize(
    ("mode", "before", "tab"),
    [("video", 30, False), ("phone", 30, False), (None, 30, False), ("in-person", 60, True)],
)
def test_on_time_with_mode_due_before_start_high_priority(
    agenda: Agenda, mode: str | None, before: int, tab: bool
) -> None:
    journey = booked(mode=mode, place="Café de Flore" if tab else None)
    reminder = assert_due_at(agenda, journey, "on-time", STARTS - before * MINUTE)
    assert reminder.priority == "high" and reminder.expires == STARTS
    assert ("tab" in reminder.message) is tab


def test_on_time_with_spring_forward_night_due_thirty_real_minutes_before(agenda: Agenda) -> None:
    journey = booked(paris("2027-03-28 03:15"), mode="video")  # 01:15 UTC, after 02:00 → 03:00
    reminder = assert_due_at(agenda, journey, "on-time", utc("2027-03-28 00:45"))
    assert reminder.due.astimezone(PARIS).strftime("%H:%M") == "01:45"


def test_meeting_reminders_with_new_york_contact_keep_their_instant(agenda: Agenda) -> None:
    journey = booked(tz="America/New_York", mode="video")
    reminder = assert_due_at(agenda, journey, "on-time", utc("2026-12-03 13:30"))
    assert "15:00" in reminder.message  # your clock, where you will be
    assert_due_at(agenda, journey, "prep", utc("2026-12-02 14:00"))
    assert_due_at(agenda, journey, "did-it-happen", utc("2026-12-03 16:30"))


@pytest.mark.parametrize(
    ("starts", "minutes", "due"),
    [
        (STARTS, 30, paris("2026-12-03 17:30")),
        (STARTS, 60, paris("2026-12-03 18:00")),
        (paris("2026-10-25 00:30"), 60, utc("2026-10-25 01:30")),  # ends 01:30 CEST; 02:30 CET
    ],
)
def test_did_it_happen_with_nothing_recorded_due_two_hours_after_end(
    agenda: Agenda, starts: datetime, minutes: int, due: datetime
) -> None:
    assert_due_at(agenda, booked(starts, minutes=minutes), "did-it-happen", due)


def test_meeting_reminders_with_met_recorded_none(agenda: Agenda) -> None:
    journey = booked()
    journey.record(m.MeetingHeld, STARTS + 40 * MINUTE, contact="ada")
    reminders = agenda(journey, STARTS + 3 * HOUR)
    for kind in ("prep", "on-time", "did-it-happen"):
        assert pick(reminders, kind) == []
    assert pick(reminders, "thank-you")


def test_meeting_reminders_with_reschedule_move_and_old_ids_gone(agenda: Agenda) -> None:
    journey = booked(mode="video")
    now = paris("2026-12-01 12:00")
    old = {r.kind: r.id for r in agenda(journey, now) if r.contact == "ada"}
    moved = journey.record(
        m.MeetingRescheduled, now, contact="ada", starts=paris("2026-12-04 11:00")
    )
    new = {r.kind: r for r in agenda(journey, now) if r.contact == "ada"}
    assert set(new) == set(old) == {"prep", "on-time", "did-it-happen"}
    assert not {r.id for r in new.values()} & set(old.values())
    assert new["prep"].due == paris("2026-12-03 11:00")
    assert new["on-time"].due == paris("2026-12-04 10:30")
    assert new["did-it-happen"].due == paris("2026-12-04 13:30")
    assert new["prep"].because == [journey.events[1].id, moved.id]


def test_meeting_reminders_with_cancel_none(agenda: Agenda) -> None:
    journey = booked(mode="in-person")
    assert len(agenda(journey, paris("2026-12-03 20:00"))) == 4  # the three and the digest
    journey.record(m.MeetingCancelled, paris("2026-12-01 12:00"), contact="ada")
    assert [r.kind for r in agenda(journey, paris("2026-12-03 20:00"))] == ["digest"]


# --- thank-you -------------------------------------------------------------------------------


def met_after_booking(minutes: int | None = None) -> Journey:
    journey = booked(**({} if minutes is None else {"minutes": minutes}))
    journey.record(m.MeetingHeld, STARTS + 70 * MINUTE, contact="ada")
    return journey


@pytest.mark.parametrize(("minutes", "due"), [(None, "2026-12-03 17:30"), (45, "2026-12-03 17:45")])
def test_thank_you_with_booked_meeting_due_two_hours_after_it_ends(
    agenda: Agenda, minutes: int | None, due: str
) -> None:
    reminder = assert_due_at(agenda, met_after_booking(minutes), "thank-you", paris(due))
    assert reminder.priority == "high" and reminder.occurrence == reminder.due


def test_thank_you_with_met_without_booking_due_two_hours_after_met(agenda: Agenda) -> None:
    journey = Journey(STARTS - DAY, tz="America/New_York")
    held = journey.record(m.MeetingHeld, STARTS, contact="ada")
    reminder = assert_due_at(agenda, journey, "thank-you", STARTS + 2 * HOUR)
    assert reminder.because == [held.id]


def test_thank_you_with_met_before_booked_start_due_two_hours_after_met(agenda: Agenda) -> None:
    journey = booked()  # booked Monday for Thursday 15:00
    held = journey.record(m.MeetingHeld, paris("2026-12-01 12:00"), contact="ada")  # met Tuesday
    reminder = one(agenda(journey, paris("2026-12-01 14:01")), "thank-you")
    assert reminder.due == held.at + 2 * HOUR


def test_thank_you_with_twelve_hours_passed_repeats_same_id(agenda: Agenda) -> None:
    journey = met_after_booking()
    first = paris("2026-12-03 17:30")
    initial = one(agenda(journey, first + 12 * HOUR - MINUTE), "thank-you")
    repeat = one(agenda(journey, first + 12 * HOUR + MINUTE), "thank-you")
    assert initial.due == initial.occurrence == first
    assert repeat.due == repeat.occurrence == first + 12 * HOUR
    assert repeat.id == initial.id
    assert one(agenda(journey, first + 36 * HOUR + MINUTE), "thank-you").due == first + 36 * HOUR


def test_thank_you_with_fall_back_night_repeats_after_twelve_real_hours(agenda: Agenda) -> None:
    journey = Journey(paris("2026-10-20 10:00"))
    journey.record(m.MeetingHeld, paris("2026-10-24 22:00"), contact="ada")  # 20:00 UTC
    repeat = one(agenda(journey, utc("2026-10-25 10:01")), "thank-you")
    assert repeat.due == utc("2026-10-25 10:00")  # 11:00 CET, twelve hours after 00:00 CEST


@pytest.mark.parametrize("action", ["thank", "done"])
def test_thank_you_with_thank_or_done_none(agenda: Agenda, action: str) -> None:
    journey = met_after_booking()
    now = paris("2026-12-03 18:00")
    reminder = one(agenda(journey, now), "thank-you")
    if action == "thank":
        journey.record(m.ThanksSent, now, contact="ada")
    else:
        journey.done(reminder, now)
    assert pick(agenda(journey, now + 2 * DAY), "thank-you") == []


# --- follow-up -------------------------------------------------------------------------------

ASKED = paris("2026-12-03 16:00")


def introduce(journey: Journey, at: datetime, who: str = "grace", via: str = "ada") -> Any:
    added = journey.add(who, at, via=via)
    journey.record(m.IntroReceived, at, contact=via, introduced=who)
    return added


def asked(introduced_on: datetime | None = None) -> Journey:
    journey = Journey(ASKED - 10 * DAY)
    if introduced_on is not None and introduced_on < ASKED:
        introduce(journey, introduced_on)
    journey.record(m.MeetingHeld, ASKED, contact="ada", asked="an intro")
    if introduced_on is not None and introduced_on >= ASKED:
        introduce(journey, introduced_on)
    return journey


def test_follow_up_with_ask_and_no_intro_due_seven_days_after(agenda: Agenda) -> None:
    reminder = assert_due_at(agenda, asked(), "follow-up", ASKED + 7 * DAY)
    assert "an intro" in reminder.message


@pytest.mark.parametrize("after", [DAY, 7 * DAY - MINUTE])
def test_follow_up_with_intro_before_deadline_none(agenda: Agenda, after: timedelta) -> None:
    journey = asked(introduced_on=ASKED + after)
    assert pick(agenda(journey, ASKED + 7 * DAY + MINUTE), "follow-up") == []


def test_follow_up_with_intro_before_ask_or_from_someone_else_still_due(agenda: Agenda) -> None:
    journey = asked(introduced_on=ASKED - 2 * DAY)
    journey.add("bob", ASKED - DAY)
    introduce(journey, ASKED + DAY, "carol", via="bob")
    assert_due_at(agenda, journey, "follow-up", ASKED + 7 * DAY)


def test_follow_up_with_introduced_person_met_closes_loop_with_introducer(agenda: Agenda) -> None:
    journey = asked()
    added = introduce(journey, ASKED + DAY)
    journey.record(m.TouchLogged, ASKED + 2 * DAY, contact="ada")  # before the meeting
    assert pick(agenda(journey, ASKED + 30 * DAY), "follow-up") == []  # not met yet
    met = paris("2026-12-15 10:00")
    held = journey.record(m.MeetingHeld, met, contact="grace")
    reminder = assert_due_at(agenda, journey, "follow-up", met + 2 * HOUR)
    assert reminder.because == [added.id, held.id] and "Grace" in reminder.message
    assert pick(agenda(journey, met + 3 * HOUR), "follow-up", "grace") == []
    journey.record(m.TouchLogged, met + 5 * HOUR, contact="ada")
    assert pick(agenda(journey, met + 6 * HOUR), "follow-up") == []


# --- keep-in-touch ---------------------------------------------------------------------------

MET = paris("2026-12-03 16:00")


def met_once(**profile: Any) -> Journey:
    journey = Journey(MET - 10 * DAY, **profile)
    journey.record(m.MeetingHeld, MET, contact="ada")
    return journey


@pytest.mark.parametrize(
    ("profile", "due"),
    [
        ({}, paris("2027-03-03 16:00")),  # 90 days
        ({"cadence": "30d"}, paris("2027-01-02 16:00")),
        ({"cadence": "0 9 1 * *"}, paris("2027-01-01 09:00")),
        ({"cadence": "0 9 1 * *", "tz": "America/New_York"}, utc("2027-01-01 14:00")),
    ],
)
def test_keep_in_touch_with_cadence_due_after_last_touchpoint_low_priority(
    agenda: Agenda, profile: dict[str, str], due: datetime
) -> None:
    reminder = assert_due_at(agenda, met_once(**profile), "keep-in-touch", due)
    assert reminder.priority == "low"


@pytest.mark.parametrize(
    ("kind", "at", "cadence", "due"),
    [
        (m.ThanksSent, "2026-12-04 10:00", None, paris("2027-03-04 10:00")),
        (m.TouchLogged, "2026-12-20 10:00", None, paris("2027-03-20 10:00")),
        (m.TouchLogged, "2027-03-15 10:00", "0 9 1 * *", utc("2027-04-01 07:00")),  # CEST
    ],
)
def test_keep_in_touch_with_later_touchpoint_counts_from_it(
    agenda: Agenda, kind: type[m.Event], at: str, cadence: str | None, due: datetime
) -> None:
    journey = met_once(**({"cadence": cadence} if cadence else {}))
    step = journey.record(kind, paris(at), contact="ada")
    reminder = assert_due_at(agenda, journey, "keep-in-touch", due)
    assert reminder.because == [step.id]


def test_keep_in_touch_with_contact_never_met_none(agenda: Agenda) -> None:
    journey = reached()
    journey.record(m.ReplyReceived, REACHED + DAY, contact="ada")
    journey.record(m.TouchLogged, REACHED + 2 * DAY, contact="ada")
    assert pick(agenda(journey, REACHED + 400 * DAY), "keep-in-touch") == []


# --- digest ----------------------------------------------------------------------------------


def test_digest_with_contacts_due_tuesday_0800_your_zone_recurring_low(agenda: Agenda) -> None:
    journey = Journey(paris("2026-11-30 10:00"), tz="America/New_York")
    reminder = assert_due_at(agenda, journey, "digest", paris("2026-12-01 08:00"), None)
    assert reminder.recurring and reminder.occurrence == reminder.due
    assert reminder.priority == "low"
    assert pick(agenda(Journey(), paris("2026-12-01 08:01")), "digest", None) == []


def test_digest_with_this_weeks_pending_also_proposes_next_weeks(agenda: Agenda) -> None:
    journey = Journey(paris("2026-11-30 10:00"))
    dues = [r.due for r in pick(agenda(journey, paris("2026-12-01 08:01")), "digest", None)]
    assert dues == [paris("2026-12-01 08:00"), paris("2026-12-08 08:00")]
    stale = [r.due for r in pick(agenda(journey, paris("2026-12-02 08:01")), "digest", None)]
    assert stale == [paris("2026-12-08 08:00")]  # a day late, last week's is no news


def test_digest_with_occurrence_done_moves_to_next_tuesday(agenda: Agenda) -> None:
    journey = Journey(paris("2026-11-30 10:00"))
    now = paris("2026-12-01 08:01")
    this_week = one(agenda(journey, now), "digest", None)
    journey.done(this_week, now)
    next_week = one(agenda(journey, now), "digest", None)
    assert next_week.due == paris("2026-12-08 08:00") and next_week.id == this_week.id
    assert_due_at(agenda, journey, "digest", paris("2026-12-08 08:00"), None)


@pytest.mark.parametrize(
    ("added", "due_utc"),
    [("2026-10-19 10:00", "2026-10-27 07:00"), ("2027-03-22 10:00", "2027-03-30 06:00")],
)
def test_digest_with_dst_week_still_0800_local(agenda: Agenda, added: str, due_utc: str) -> None:
    journey = Journey(paris(added))
    week_before = paris(added) + 22 * HOUR  # Tuesday 08:00, before the clocks change
    journey.done(one(agenda(journey, week_before), "digest", None), week_before)
    reminder = assert_due_at(agenda, journey, "digest", utc(due_utc), None)
    assert reminder.due.astimezone(PARIS).strftime("%a %H:%M") == "Tue 08:00"


# --- recurring (every) -----------------------------------------------------------------------


def every(cron: str, at: datetime, tz: str | None = None) -> tuple[Journey, Any]:
    journey = Journey(at - DAY)
    added = journey.record(m.RecurringAdded, at, cron=cron, text="Update the CV", tz=tz)
    return journey, added


@pytest.mark.parametrize(
    ("tz", "due"),
    [(None, paris("2026-11-30 10:00")), ("America/New_York", utc("2026-11-30 15:00"))],
)
def test_recurring_with_cron_due_in_its_zone_and_next_after_done(
    agenda: Agenda, tz: str | None, due: datetime
) -> None:
    journey, added = every("0 10 * * MON", paris("2026-11-26 14:30"), tz)
    reminder = assert_due_at(agenda, journey, "recurring", due, None)
    assert reminder.recurring and reminder.occurrence == due
    assert reminder.because == [added.id]
    journey.done(reminder, due + MINUTE)
    assert one(agenda(journey, due + MINUTE), "recurring", None).due == due + 7 * DAY


def test_recurring_with_fall_back_night_fires_once(agenda: Agenda) -> None:
    # New York falls back on 2026-11-01: 01:30 EDT (05:30 UTC), then 01:30 EST (06:30 UTC).
    journey, _ = every("30 1 * * *", paris("2026-10-31 12:00"), "America/New_York")
    first = assert_due_at(agenda, journey, "recurring", utc("2026-11-01 05:30"), None)
    second_pass = utc("2026-11-01 06:31")
    assert one(agenda(journey, second_pass), "recurring", None).due == first.due
    journey.done(first, second_pass)
    assert one(agenda(journey, second_pass), "recurring", None).due == utc("2026-11-02 06:30")


# --- engine ----------------------------------------------------------------------------------


def listing(reminders: list[Reminder]) -> list[tuple[str, str, str | None, datetime]]:
    return [(r.id, r.kind, r.contact, r.due) for r in reminders]


def test_engine_with_same_events_ids_stable_across_runs_and_refolds(
    agenda: Agenda, tmp_path: Path
) -> None:
    journey = asked()
    journey.add("grace", BOOKED - DAY)
    journey.schedule("grace", BOOKED, STARTS, mode="video")
    journey.add("alan", REACHED - DAY)
    journey.record(m.OutreachSent, REACHED, contact="alan")
    now = paris("2026-12-02 12:00")
    first = listing(agenda(journey, now))
    assert len({kind for _, kind, _, _ in first}) >= 7
    assert listing(agenda(journey, now)) == first
    assert listing(agenda(apply_all(State(), list(journey.events)), now)) == first
    EventLog(tmp_path / "log", "laptop").append(journey.events)
    assert listing(agenda(replay(read_segments(tmp_path / "log"), []), now)) == first


def test_engine_with_snooze_moves_due_to_until(agenda: Agenda) -> None:
    journey = met_after_booking()
    now = paris("2026-12-03 18:00")
    reminder = one(agenda(journey, now), "thank-you")
    until = paris("2026-12-03 20:00")
    journey.record(m.ReminderSnoozed, now, reminder=reminder.id, until=until)
    snoozed = one(agenda(journey, now), "thank-you")
    assert snoozed.due == until and snoozed.id == reminder.id


def test_engine_with_causing_event_retracted_in_log_reminder_gone(
    agenda: Agenda, tmp_path: Path
) -> None:
    journey = met_after_booking()
    held = journey.events[-1]
    now = paris("2026-12-03 18:00")
    log = EventLog(tmp_path / "log", "laptop")
    log.append(journey.events)
    assert pick(agenda(replay(read_segments(tmp_path / "log"), []), now), "thank-you")
    log.append([Stamp(now, "laptop", PARIS)(m.EventRetracted, now, target=held.id)])
    state = replay(read_segments(tmp_path / "log"), [])
    assert held.id in state.retracted
    reminders = agenda(state, now)
    assert pick(reminders, "thank-you") == []
    assert one(reminders, "did-it-happen").due == paris("2026-12-03 17:30")


def test_engine_with_contact_archived_silences_every_reminder(agenda: Agenda) -> None:
    journey = asked()
    journey.schedule("ada", ASKED + DAY, ASKED + 5 * DAY, mode="in-person")
    journey.record(m.RecurringAdded, ASKED, cron="0 9 * * *", text="Ada?", contact="ada")
    now = ASKED + 8 * DAY
    assert len({r.kind for r in agenda(journey, now) if r.contact == "ada"}) == 7
    journey.record(m.ContactArchived, ASKED + 2 * DAY, contact="ada")
    assert [r for r in agenda(journey, now) if r.contact == "ada"] == []


# --- quiet hours -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "priority", "due", "delivered"),
    [
        ("", "normal", "2026-12-01 22:00", "2026-12-02 08:00"),
        ("", "low", "2026-12-01 21:00", "2026-12-02 08:00"),
        ("", "normal", "2026-12-01 07:59", "2026-12-01 08:00"),
        ("", "normal", "2026-12-01 08:00", "2026-12-01 08:00"),
        ("", "normal", "2026-12-01 20:59", "2026-12-01 20:59"),
        ("", "normal", "2027-03-27 22:00", "2027-03-28 08:00"),  # 08:00 CEST after the jump
        ("", "high", "2026-12-01 22:00", "2026-12-01 22:00"),
        ("enabled = false", "normal", "2026-12-01 22:00", "2026-12-01 22:00"),
        ('start = "13:00"\nend = "14:00"', "normal", "2026-12-01 12:59", "2026-12-01 12:59"),
        ('start = "13:00"\nend = "14:00"', "normal", "2026-12-01 13:00", "2026-12-01 14:00"),
        ('start = "13:00"\nend = "14:00"', "normal", "2026-12-01 13:59", "2026-12-01 14:00"),
        ('start = "13:00"\nend = "14:00"', "normal", "2026-12-01 14:00", "2026-12-01 14:00"),
        ('start = "13:00"\nend = "14:00"', "normal", "2026-12-01 22:00", "2026-12-01 22:00"),
    ],
)
def test_quiet_hours_with_config_hold_non_urgent_until_end(
    plugins: Plugins, tmp_path: Path, body: str, priority: Any, due: str, delivered: str
) -> None:
    config = write_config(tmp_path, plugins, f"[quiet_hours]\n{body}\n")
    reminder = make_reminder("nudge", "ada", paris(due), "hi", because=["x"], priority=priority)
    assert deliver_at(reminder, config.quiet_hours, PARIS) == paris(delivered)
    assert deliver_at(reminder, QuietHours(enabled=False), PARIS) == paris(due)


# --- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "where", "mentions"),
    [
        ('nudge_after = "soon"', "$.playbook.nudge_after", "'soon'"),
        ("max_nudges = 99", "$.playbook.max_nudges", "10"),
        ('send_window = "61 * * * *"', "$.playbook.send_window", "'61 * * * *'"),
    ],
)
def test_settings_with_bad_playbook_value_raise_user_error_naming_path(
    plugins: Plugins, tmp_path: Path, body: str, where: str, mentions: str
) -> None:
    with pytest.raises(UserError) as raised:
        write_config(tmp_path, plugins, f"[playbook]\n{body}\n")
    prefix = f"config.toml: at '{where}': "
    message = str(raised.value)
    assert message.startswith(prefix) and len(message) > len(prefix) and "\n" not in message
    assert mentions in message.removeprefix(prefix)


def test_settings_with_unknown_keys_warn_and_keep_the_defaults(
    plugins: Plugins, tmp_path: Path
) -> None:
    # A misspelled key costs its own value, never the config: the known keys still count.
    path = tmp_path / "config.toml"
    path.write_text(
        'timezon = "Europe/Paris"\n[playbook]\nnudge_afterr = "3d"\nmax_nudges = 1\n'
        '[[channels]]\nurl = "json://localhost"\ntag = ["phone"]\n'
    )
    warnings: list[str] = []
    config = load_settings(str(path), settings_sections(plugins), warnings)
    assert sorted(warnings) == [
        "config.toml: unknown key 'nudge_afterr' in [playbook] (ignored; did you mean "
        "'nudge_after'?)",
        "config.toml: unknown key 'tag' in [[channels]] #1 (ignored; did you mean 'tags'?)",
        "config.toml: unknown key 'timezon' (ignored; did you mean 'timezone'?)",
    ]
    assert config.playbook.nudge_after.text == "7d" and config.playbook.max_nudges == 1
    assert [c.url for c in config.channels] == ["json://localhost"] and config.timezone is None


def test_settings_with_unknown_section_only_warn(plugins: Plugins, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('timezone = "Europe/Paris"\n[mystery]\nanswer = 42\n')
    warnings: list[str] = []
    config = load_settings(str(path), settings_sections(plugins), warnings)
    assert warnings == ["config.toml: section [mystery] is not used by any installed plugin"]
    assert config.playbook.max_nudges == 2 and config.timezone == "Europe/Paris"


# --- evaluating a few contacts ------------------------------------------------------------


def test_evaluate_only_some_contacts_gives_their_reminders_as_a_full_evaluation_does(
    plugins: Plugins, settings: Settings
) -> None:
    """``only`` (what ``show`` and the daemon use) is the full agenda cut to those contacts:
    the same reminders, ids and times for them, none for the others, none about no one."""
    journey = Journey()
    start = paris("2026-11-02 10:00")
    journey.add("ada", start)
    journey.add("bob", start)
    journey.add("cy", start)
    journey.record(m.OutreachPlanned, start + HOUR, contact="ada")
    journey.record(m.OutreachSent, start + HOUR, contact="bob")
    journey.schedule("cy", start + HOUR, paris("2026-12-03 15:00"))
    state = journey.state()
    now = paris("2026-12-01 10:00")
    full, failures = evaluate(plugins, state, now, settings)
    assert failures == []
    assert {r.contact for r in full} >= {"ada", "bob", "cy", None}  # a digest is about no one
    for handles in (["ada"], ["bob", "cy"], ["cy", "nobody"]):
        some, failures = evaluate(plugins, state, now, settings, only=handles)
        assert failures == []
        assert some == [r for r in full if r.contact in handles]
        assert some  # each of them has something due
    assert evaluate(plugins, state, now, settings, only=[]) == ([], [])
    assert len(state.contacts) == 3  # the state itself is left whole
