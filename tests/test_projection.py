"""The projection: a pure fold whose full replay equals every way of applying it piecemeal.

Hypothesis writes random journeys to a real log in random batches, loading the state
through the snapshot after every batch; the result must equal a fresh full replay.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.log import EventLog, read_segments
from coffeechat.events.projection import State, apply, apply_all, replay
from coffeechat.events.snapshot import CachedProjection, load_state
from coffeechat.events.stages import stage_of

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
HANDLES = ("ada", "grace", "alan")
CORRECTIONS = (m.EventRetracted, m.ContactUpdated)

STEP_KINDS = (
    "plan",
    "reach",
    "reply",
    "decline",
    "schedule",
    "reschedule",
    "cancel",
    "met",
    "thank",
    "touch",
    "note",
    "archive",
    "edit",
    "undo",
)

steps = st.lists(
    st.tuples(
        st.sampled_from(STEP_KINDS),
        st.sampled_from(HANDLES),
        st.integers(min_value=0, max_value=60 * 24 * 40),  # when it happened, minutes in
        st.integers(min_value=1, max_value=3),  # how many events go in this batch
    ),
    max_size=40,
)


def build_events(
    plan: list[tuple[str, str, int, int]], device: str = "laptop"
) -> list[list[m.Event]]:
    """Turn a random plan into batches of events, as the command line would stamp them."""
    batches: list[list[m.Event]] = []
    recorded = START
    made: list[m.Event] = []
    for index, (kind, handle, minutes, batch_size) in enumerate(plan):
        recorded += timedelta(minutes=7)
        stamp = Stamp(recorded, device, PARIS)
        at = START + timedelta(minutes=minutes)
        event = _event(stamp, kind, handle, at, made, index)
        if not batches or len(batches[-1]) >= batch_size:
            batches.append([])
        batches[-1].append(event)
        made.append(event)
    adds = [
        Stamp(START - timedelta(days=1), device, PARIS)(
            m.ContactAdded, contact=handle, name=handle.title()
        )
        for handle in HANDLES
    ]
    return [adds, *batches]


def _event(
    stamp: Stamp, kind: str, handle: str, at: datetime, made: list[m.Event], index: int
) -> m.Event:
    if kind == "plan":
        return stamp(m.OutreachPlanned, at, contact=handle)
    if kind == "reach":
        return stamp(m.OutreachSent, at, contact=handle, channel="email")
    if kind in ("reply", "decline"):
        return stamp(m.ReplyReceived, at, contact=handle, declined=kind == "decline")
    if kind == "schedule":
        return stamp(m.MeetingScheduled, at, contact=handle, starts=at + timedelta(days=3))
    if kind == "reschedule":
        return stamp(m.MeetingRescheduled, at, contact=handle, starts=at + timedelta(days=4))
    if kind == "cancel":
        return stamp(m.MeetingCancelled, at, contact=handle)
    if kind == "met":
        return stamp(m.MeetingHeld, at, contact=handle, fit=3, asked="an intro")
    if kind == "thank":
        return stamp(m.ThanksSent, at, contact=handle)
    if kind == "touch":
        return stamp(m.TouchLogged, at, contact=handle)
    if kind == "archive":
        return stamp(m.ContactArchived, at, contact=handle)
    if kind == "edit":
        return stamp(m.ContactUpdated, at, contact=handle, company=f"Company {index}")
    if kind == "undo" and made:
        target = made[index % len(made)]
        return stamp(m.EventRetracted, target=target.id, contact=getattr(target, "contact", None))
    return stamp(m.NoteAdded, at, contact=handle, text=f"note {index}")


def encoded(state: State) -> bytes:
    """Return a canonical encoding of a state, to compare two states exactly."""
    return msgspec.json.encode(msgspec.to_builtins(state, order="sorted"))


def full_replay(folder: Path) -> State:
    return replay(read_segments(folder), [])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_replay_with_any_batching_and_snapshots_equals_full_replay(plan):
    with tempfile.TemporaryDirectory() as directory:
        folder, cache = Path(directory) / "log", Path(directory) / "cache"
        log = EventLog(folder, "laptop")
        kept = CachedProjection(folder, cache)  # a long-running reader, as the daemon is
        for number, batch in enumerate(build_events(plan)):
            if number % 2:  # as a recording command: contacts decoded when used
                writer = CachedProjection(folder, cache, lazy_contacts=True)
                writer.load([])
                written = log.append(batch)
                assert written is not None
                writer.appended(batch, written)  # saves the snapshot, most contacts as read
            else:
                log.append(batch)
            load_state(folder, cache, [])  # incremental, through the snapshot
            kept.refresh([])  # incremental, from memory
        through_snapshot = load_state(folder, cache, [])
        assert encoded(through_snapshot) == encoded(full_replay(folder))
        assert encoded(kept.refresh([])) == encoded(full_replay(folder))


@settings(max_examples=60, deadline=None)
@given(steps)
def test_apply_one_by_one_with_no_retractions_equals_apply_all(plan):
    events = [
        event
        for batch in build_events(plan)
        for event in batch
        if not isinstance(event, m.EventRetracted)
    ]
    one_by_one = State()
    for event in events:
        apply(one_by_one, event)
    assert encoded(one_by_one) == encoded(apply_all(State(), events))


@settings(max_examples=60, deadline=None)
@given(steps, st.integers(min_value=0, max_value=60 * 24 * 40))
def test_replay_as_of_equals_replay_of_events_that_had_happened(plan, minutes):
    # Corrections (edits, undo) apply to the past too: they fix what was recorded.
    as_of = START + timedelta(minutes=minutes)
    batches = build_events(plan)
    with tempfile.TemporaryDirectory() as directory:
        everything, earlier = Path(directory) / "all", Path(directory) / "earlier"
        for batch in batches:
            EventLog(everything, "laptop").append(batch)
            happened = [e for e in batch if e.at <= as_of or isinstance(e, CORRECTIONS)]
            EventLog(earlier, "laptop").append(happened)
        looked_back = replay(read_segments(everything), [], as_of=as_of)
        assert encoded(looked_back) == encoded(full_replay(earlier))


# --- stages at their boundaries ----------------------------------------------------------------


def journey(*steps: tuple[str, int]) -> State:
    """Fold a contact's steps, each (kind, minutes after START), recorded in that order."""
    events: list[m.Event] = [Stamp(START, "d", PARIS)(m.ContactAdded, contact="ada", name="Ada")]
    for index, (kind, minutes) in enumerate(steps):
        stamp = Stamp(START + timedelta(minutes=index), "d", PARIS)
        events.append(_event(stamp, kind, "ada", START + timedelta(minutes=minutes), events, index))
    return apply_all(State(), events)


def test_stage_with_no_steps_is_new():
    assert stage_of(journey().contacts["ada"], START) == "new"


def test_stage_follows_the_whole_journey():
    walk = [
        ("plan", "planned"),
        ("reach", "reached"),
        ("reply", "replied"),
        ("schedule", "scheduled"),
        ("met", "met"),
        ("thank", "thanked"),
        ("touch", "in-touch"),
    ]
    for done in range(1, len(walk) + 1):
        state = journey(*[(kind, 10 * number) for number, (kind, _) in enumerate(walk[:done])])
        assert stage_of(state.contacts["ada"], START + timedelta(hours=1)) == walk[done - 1][1]


def test_stage_with_step_recorded_late_lands_where_it_happened():
    # The reply is recorded after the meeting was booked, but happened before it.
    state = journey(("reach", 0), ("schedule", 100), ("reply", 50))
    assert stage_of(state.contacts["ada"], START + timedelta(hours=3)) == "scheduled"


def test_stage_with_cancelled_meeting_returns_to_replied():
    state = journey(("reach", 0), ("reply", 10), ("schedule", 20), ("cancel", 30))
    assert stage_of(state.contacts["ada"], START + timedelta(hours=1)) == "replied"


def test_stage_with_touch_before_thanks_stays_thanked_after_thanks():
    state = journey(("met", 0), ("touch", 5), ("thank", 10))
    assert stage_of(state.contacts["ada"], START + timedelta(hours=1)) == "thanked"


def test_stage_with_thanks_before_the_last_meeting_is_met():
    state = journey(("met", 0), ("thank", 10), ("schedule", 20), ("met", 30))
    assert stage_of(state.contacts["ada"], START + timedelta(hours=1)) == "met"


def test_stage_with_no_reply_turns_at_three_nudge_periods_exactly():
    contact = journey(("reach", 0)).contacts["ada"]
    turning = START + timedelta(days=21)
    assert stage_of(contact, turning - timedelta(minutes=1)) == "reached"
    assert stage_of(contact, turning) == "no-reply"
    assert stage_of(contact, turning, nudge_after=timedelta(days=10)) == "reached"


def test_stage_with_declined_reply_is_declined():
    state = journey(("reach", 0), ("decline", 10))
    assert stage_of(state.contacts["ada"], START + timedelta(days=60)) == "declined"


def test_stage_with_archive_is_archived_whatever_came_before():
    state = journey(("reach", 0), ("reply", 10), ("archive", 20))
    assert stage_of(state.contacts["ada"], START + timedelta(hours=1)) == "archived"


def test_retracted_reply_is_left_out_and_a_retracted_retraction_restores_it():
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        stamp = Stamp(START, "d", PARIS)
        added = stamp(m.ContactAdded, contact="ada", name="Ada")
        reached = stamp(m.OutreachSent, START, contact="ada")
        replied = stamp(m.ReplyReceived, START + timedelta(hours=1), contact="ada")
        undo = stamp(m.EventRetracted, target=replied.id, contact="ada")
        log = EventLog(folder, "d")
        log.append([added, reached, replied, undo])
        later = START + timedelta(hours=2)
        assert stage_of(full_replay(folder).contacts["ada"], later) == "reached"
        log.append([stamp(m.EventRetracted, target=undo.id)])
        assert stage_of(full_replay(folder).contacts["ada"], later) == "replied"
