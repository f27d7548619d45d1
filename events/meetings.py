"""Every meeting ever booked, read from the log: what a calendar shows.

The projection keeps only the meeting booked now, which is all the reminders need. A
calendar needs more: a cancelled meeting stays in it, marked cancelled; a meeting that
was held stays as a past event; and a meeting keeps one identity from its booking on,
the id of its ``meeting.scheduled`` event (the projection's ``Meeting.booked.event``),
whatever reschedules follow, with a count of its changes (iCalendar's ``SEQUENCE``).

:func:`meeting_history` reads only the lines that can matter (meetings, contacts,
retractions: found by their tag in the raw bytes, the rest never decoded) and folds
them in the log's merge order with the projection's rules: a booking recorded before a
meeting already held is ignored, a reschedule or a cancellation applies to the meeting
booked at that point, the latest meeting held consumes the booking pending then
(whatever the dates), and retracted events (``undo``) are left out.

``sequence`` counts what changed the meeting for the people in it: each reschedule,
a cancellation, and each ``undo`` of one of those (so undoing a cancellation brings the
meeting back with a higher number, never a lower one, and calendar programs take the
new version).
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Literal

import msgspec

from coffeechat.events import model as m
from coffeechat.events.log import SegmentData, merge_segments
from coffeechat.events.projection import effective_retractions
from coffeechat.events.upcast import decode_event

MeetingStatus = Literal["booked", "cancelled", "held"]

# The tags of the events read here, as they appear in a log line.
_MARKERS = (
    b'"meeting.',
    b'"event.retracted"',
    b'"contact.added"',
    b'"contact.updated"',
)


class BookedMeeting(msgspec.Struct, kw_only=True):
    """One meeting as a calendar shows it.

    ``id`` is the id of its ``meeting.scheduled`` event; ``created`` and ``modified``
    are when it was booked and last changed (by the writers' clocks, UTC);
    ``profile_changed`` is when the contact's profile last changed (their name or what
    you want to learn appears in the event too).
    """

    id: str
    contact: str
    starts: datetime
    minutes: int
    booked_at: datetime
    created: datetime
    modified: datetime
    mode: str | None = None
    place: str | None = None
    zone: str | None = None
    status: MeetingStatus = "booked"
    sequence: int = 0
    profile_changed: datetime | None = None

    @property
    def last_change(self) -> datetime:
        """The latest change to anything the calendar shows of this meeting."""
        if self.profile_changed is not None and self.profile_changed > self.modified:
            return self.profile_changed
        return self.modified


def _marked_lines(segment: SegmentData) -> Iterator[m.Event]:
    """Yield, in file order, the events of a segment whose line carries one of the tags.

    A line that does not decode is left out: the projection's reading reports it.
    """
    data = segment.data
    starts: set[int] = set()
    for marker in _MARKERS:
        position = data.find(marker)
        while position >= 0:
            starts.add(data.rfind(b"\n", 0, position) + 1)
            position = data.find(b"\n", position)
            if position < 0:
                break
            position = data.find(marker, position)
    for start in sorted(starts):
        try:
            yield decode_event(data[start : data.find(b"\n", start)])
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue


class _Fold:
    """The meetings of every contact, folded one event at a time."""

    def __init__(self, retracted: set[str]) -> None:
        self.retracted = retracted
        self.meetings: dict[str, BookedMeeting] = {}
        self.current: dict[str, str] = {}  # contact → the id of the meeting booked now
        self.met_at: dict[str, datetime] = {}  # contact → the latest meeting held
        self.change_of: dict[str, str] = {}  # a change (or its undo) → the meeting's id
        self.profile_changed: dict[str, datetime] = {}

    def apply(self, event: m.Event) -> None:
        undone = event.id in self.retracted
        if isinstance(event, m.MeetingScheduled):
            if not undone:
                self._scheduled(event)
        elif isinstance(event, m.MeetingRescheduled | m.MeetingCancelled):
            self._changed(event, undone)
        elif isinstance(event, m.MeetingHeld):
            if not undone:
                self._held(event)
        elif isinstance(event, m.EventRetracted):
            meeting_id = self.change_of.get(event.target)
            if meeting_id is not None:  # an undo (or redo) of a reschedule or cancellation
                self.change_of[event.id] = meeting_id
                self._bump(self.meetings[meeting_id], event)
        elif isinstance(event, m.ContactAdded | m.ContactUpdated) and not undone:
            self.profile_changed[event.contact] = event.recorded

    def _bump(self, meeting: BookedMeeting, event: m.Event) -> None:
        meeting.sequence += 1
        if event.recorded > meeting.modified:
            meeting.modified = event.recorded

    def _scheduled(self, event: m.MeetingScheduled) -> None:
        held = self.met_at.get(event.contact)
        if held is not None and held >= event.at:
            return  # booked before a meeting already recorded as held (as the projection)
        replaced = self.current.get(event.contact)
        if replaced is not None:  # booked twice (two devices at once): the new one stands
            meeting = self.meetings[replaced]
            meeting.status = "cancelled"
            self._bump(meeting, event)
        self.meetings[event.id] = BookedMeeting(
            id=event.id,
            contact=event.contact,
            starts=event.starts,
            minutes=event.minutes,
            booked_at=event.at,
            created=event.recorded,
            modified=event.recorded,
            mode=event.mode,
            place=event.place,
            zone=event.zone,
        )
        self.current[event.contact] = event.id

    def _changed(self, event: m.MeetingRescheduled | m.MeetingCancelled, undone: bool) -> None:
        meeting_id = self.current.get(event.contact)
        if meeting_id is None:
            return
        meeting = self.meetings[meeting_id]
        self.change_of[event.id] = meeting_id
        self._bump(meeting, event)
        if undone:
            return
        if isinstance(event, m.MeetingCancelled):
            meeting.status = "cancelled"
            del self.current[event.contact]
            return
        meeting.starts = event.starts
        if event.minutes is not None:
            meeting.minutes = event.minutes
        if event.zone is not None:
            meeting.zone = event.zone  # the zone the new time was given in

    def _held(self, event: m.MeetingHeld) -> None:
        latest = self.met_at.get(event.contact)
        if latest is not None and event.at < latest:
            return
        self.met_at[event.contact] = event.at
        meeting_id = self.current.get(event.contact)
        if meeting_id is None:
            return
        # The latest meeting held consumes the pending booking whatever the dates (as the
        # projection's _on_held): the meeting happened on another day than booked.
        meeting = self.meetings[meeting_id]
        meeting.status = "held"
        if event.recorded > meeting.modified:
            meeting.modified = event.recorded
        del self.current[event.contact]


def meeting_history(segments: list[SegmentData]) -> list[BookedMeeting]:
    """Given the segments of a log, return every meeting ever booked, by start time.

    Meetings whose booking was retracted are not there at all; cancelled and held ones
    are, with their status.
    """
    streams = [_marked_lines(segment) for segment in segments]
    events = list(merge_segments(streams))
    retractions = [event for event in events if isinstance(event, m.EventRetracted)]
    fold = _Fold(effective_retractions(retractions))
    for event in events:
        fold.apply(event)
    meetings = sorted(fold.meetings.values(), key=lambda meeting: (meeting.starts, meeting.id))
    for meeting in meetings:
        meeting.profile_changed = fold.profile_changed.get(meeting.contact)
    return meetings
