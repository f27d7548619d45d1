"""A home's meetings as a calendar: for ``export ics``, ``[calendar] file`` and CalDAV.

The meetings come from the log (:func:`coffeechat.events.meetings.meeting_history`:
cancelled and held ones too), the people from the projection, the reminders' lead times
from the ``[playbook]`` settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from coffeechat.events.ics import Alarms, Todo, calendar_text, with_contacts
from coffeechat.events.log import read_segments
from coffeechat.events.meetings import meeting_history

if TYPE_CHECKING:
    from coffeechat.events.meetings import BookedMeeting
    from coffeechat.events.projection import Contact, State
    from coffeechat.plugins.settings import PlaybookSettings, Settings


def alarms_of(playbook: PlaybookSettings) -> Alarms:
    """Return the VALARM lead times the playbook's settings ask for."""
    return Alarms(
        prep=playbook.prep_before.delta,
        on_time=playbook.on_time_before.delta,
        on_time_in_person=playbook.on_time_before_in_person.delta,
    )


def meetings_of(log_dir: str, state: State) -> list[tuple[BookedMeeting, Contact]]:
    """Return every meeting booked in the log, with its contact, by start time."""
    return with_contacts(meeting_history(read_segments(log_dir)), state.contacts)


def calendar_of(
    log_dir: str,
    state: State,
    playbook: PlaybookSettings,
    todos: Sequence[Todo] = (),
    now: datetime | None = None,
) -> str:
    """Return the home's whole calendar as iCalendar text (CRLF line ends)."""
    return calendar_text(meetings_of(log_dir, state), alarms_of(playbook), todos, now)


def write_ics_file(log_dir: str, state: State, settings: Settings, path: str) -> bool:
    """Keep the ICS file at ``path`` (``[calendar] file``) current with the log.

    Written atomically (a temporary file renamed over it), 0600; left alone, and False
    returned, when it already holds exactly this calendar. Raise OSError if it cannot
    be written.
    """
    from coffeechat.daemon.files import write_private

    text = calendar_of(log_dir, state, settings.playbook)
    return write_private(path, text.encode("utf-8"))
