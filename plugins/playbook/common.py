"""What the playbook rules share: zones, the contacts still tracked, friendly dates.

Dates in messages are on your clock (the agenda's, ``Tue 1 Dec``); when a message means
the contact's clock (a send window is 09:00 *their* time), it says so with
:func:`their_time`.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from coffeechat.events.projection import Contact, Outreach, State
from coffeechat.events.stages import stage_of
from coffeechat.events.zones import local_zone, zone_named
from coffeechat.plugins.settings import Settings


def user_zone(settings: Settings) -> ZoneInfo:
    """Return the user's zone: ``timezone`` in config.toml, else the system's."""
    return _zone(settings.timezone) if settings.timezone else local_zone()


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return zone_named(name)


def contact_zone(contact: Contact, settings: Settings) -> ZoneInfo:
    """Return the contact's zone when known, else the user's."""
    if contact.tz:
        try:
            return _zone(contact.tz)
        except Exception:
            pass
    return user_zone(settings)


# Every rule walks the contacts in handle order: sort the handles once per contacts dict
# (kept referenced, so a new dict never takes its id), again when contacts are added
# (the projection never removes one).
_order: tuple[dict[str, Contact], int, list[str]] | None = None


def tracked(state: State) -> Iterator[Contact]:
    """Yield the contacts not archived, in handle order (a stable order for tests)."""
    global _order
    contacts = state.contacts
    if _order is None or _order[0] is not contacts or _order[1] != len(contacts):
        _order = (contacts, len(contacts), sorted(contacts))
    for handle in _order[2]:
        contact = contacts[handle]
        if contact.archived is None:
            yield contact


def unanswered(contact: Contact) -> list[Outreach]:
    """Return the outreaches since their last reply (all of them if none), oldest first."""
    replied = contact.replied.at if contact.replied is not None else None
    run = [o for o in contact.outreaches if replied is None or o.at > replied]
    return sorted(run, key=lambda outreach: outreach.at)


class Stages(dict[str, str]):
    """The stages of a state's contacts at one instant, by handle, each worked out on
    first use and remembered (several rules ask for the same contact's)."""

    def __init__(self, state: State, now: datetime, settings: Settings) -> None:
        super().__init__()
        self.state, self.events, self.now, self.settings = state, state.events, now, settings
        self.nudge_after = settings.playbook.nudge_after.delta
        self.max_nudges = settings.playbook.max_nudges

    def __missing__(self, handle: str) -> str:
        answer = self.of(self.state.contacts[handle])
        self[handle] = answer
        return answer

    def of(self, contact: Contact) -> str:
        """Return ``contact``'s stage (not remembered)."""
        return stage_of(contact, self.now, nudge_after=self.nudge_after, max_nudges=self.max_nudges)


# The stages of one (state, number of events folded, instant, settings) at a time: the
# rules of one evaluation share them.
_stages: Stages | None = None


def stages(state: State, now: datetime, settings: Settings) -> Stages:
    """Return the stages of ``state``'s contacts at ``now``, by handle (worked out as they
    are asked for, shared by the rules of one evaluation)."""
    global _stages
    known = _stages
    if (
        known is None
        or known.state is not state
        or known.events != state.events
        or known.now != now
        or known.settings is not settings
    ):
        _stages = known = Stages(state, now, settings)
    return known


def stage(contact: Contact, now: datetime, settings: Settings, state: State | None = None) -> str:
    """Return the contact's stage under the configured nudge settings.

    With ``state`` (the one the contact belongs to), answers are remembered for the rest
    of this evaluation.
    """
    if state is None:
        return Stages(State(), now, settings).of(contact)
    known = stages(state, now, settings)
    answer = known.get(contact.handle)
    if answer is None:
        answer = known[contact.handle] = known.of(contact)
    return answer


def shift(instant: datetime, delta: timedelta, zone: ZoneInfo) -> datetime:
    """Return ``instant`` moved by ``delta``: whole days on the wall clock of ``zone``
    (a day before Sunday 15:00 is Saturday 15:00, DST or not), hours and minutes in
    real time (2 h after a meeting is 2 h after it)."""
    if delta % timedelta(days=1):
        return instant + delta
    moved = instant.astimezone(zone) + delta  # aware arithmetic keeps the wall clock
    return moved.astimezone(UTC).astimezone(zone)  # a wall time in a DST gap moves forward


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day(instant: datetime, zone: ZoneInfo) -> str:
    """Return a date as people say it: ``Tue 1 Dec`` (in English, whatever the locale)."""
    local = instant.astimezone(zone)
    return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}"


def clock(instant: datetime, zone: ZoneInfo) -> str:
    """Return a day and time as people say it: ``Tue 1 Dec 15:00``."""
    local = instant.astimezone(zone)
    return f"{day(local, zone)} {local:%H:%M}"


def their_time(instant: datetime, contact: Contact, settings: Settings) -> str | None:
    """Return an instant on the contact's clock, labelled as theirs
    (``Tue 1 Dec 09:00 their time (Asia/Tokyo)``), or None when their zone is yours
    or unknown: every other date in a message is on your clock."""
    theirs = contact_zone(contact, settings)
    if theirs.key == user_zone(settings).key:
        return None
    return f"{clock(instant, theirs)} their time ({theirs.key})"
