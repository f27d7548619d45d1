"""Projections: the state of every relationship, folded from the log.

The fold is pure: ``apply(state, event)`` changes only ``state``. It keeps, per
contact, the latest moment of each step of the journey (by the time it happened in the
world, ``at``) rather than every event, so a replay of a million events stays small;
the stage is derived from those moments when asked (:mod:`coffeechat.events.stages`).
Because every step keeps "the latest by ``at``", a step recorded late with ``--at``
lands where it belongs, whatever order the log has it in.

Retractions (``undo``) are applied before the fold: a first, cheap pass finds every
``event.retracted`` line and works out which events are retracted (a retracted
retraction restores its target); the fold then skips those events. A retraction that
arrives after a snapshot makes the caller replay from scratch
(:func:`tail_needs_full_replay`).

Across devices, events are folded in causal order (``model.order_key``: the hybrid
logical clock ``hlc``), so a correction folds after what it corrects whatever the
devices' clocks say. An event about a contact whose ``contact.added`` has not been
folded yet is kept in ``State.pending`` and applied when it is: nothing is dropped.

``as_of`` evaluates the state as it was at an instant: events that happened later are
left out. Retractions and corrections (``contact.updated``) apply whatever their time:
they say what should have been recorded in the first place.
"""

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from typing import Any

import msgspec

from coffeechat.events import model as m
from coffeechat.events.clock import micros
from coffeechat.events.log import (
    LogProblem,
    SegmentData,
    iter_segment_batches,
    iter_segment_events,
    merge_segments,
)
from coffeechat.events.names import ascii_name_of

PROJECTION_VERSION = 12  # bump whenever the state's layout changes: snapshots are rebuilt
PROFILE_FIELDS = (
    "email",
    "phone",
    "company",
    "role",
    "industry",
    "linkedin",
    "tz",
    "how_met",
    "via",
    "learn",
    "cadence",
    "connected_on",
)


class Step(msgspec.Struct, array_like=True):
    """The latest moment of one step of the journey and the event that recorded it."""

    at: datetime
    event: str


class Meeting(msgspec.Struct):
    """The booked meeting that has not happened yet (or was not recorded as held)."""

    starts: datetime
    minutes: int
    booked: Step
    mode: str | None = None
    place: str | None = None
    zone: str | None = None
    moved: Step | None = None


class HeldMeeting(msgspec.Struct):
    """One meeting that happened, with what you learned and how well it fit.

    ``ends`` is when the booked meeting was due to end (its start plus its length), or
    when it was recorded as held if it was never booked.
    """

    at: datetime
    event: str
    ends: datetime
    fit: int | None = None
    learned: str | None = None
    asked: str | None = None
    notes: str | None = None


class Outreach(msgspec.Struct, array_like=True):
    """One outreach: when, in which zone (for its local weekday), through what."""

    at: datetime
    zone: str | None
    channel: str
    event: str


class Moved(msgspec.Struct, array_like=True):
    """A new company or position an import brought (``contact.updated`` with a source):
    what it is now and what it was, for the ``congratulate`` reminder."""

    at: datetime
    event: str
    company: str | None
    role: str | None
    was_company: str | None
    was_role: str | None


class Contact(msgspec.Struct, kw_only=True):
    """Everything the reminders and the command line need to know about one person."""

    handle: str
    name: str
    added: Step
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    role: str | None = None
    industry: str | None = None
    linkedin: str | None = None
    tz: str | None = None
    how_met: str | None = None
    via: str | None = None
    learn: str | None = None
    cadence: str | None = None
    archived: Step | None = None
    planned: Step | None = None
    reached: Step | None = None
    outreaches: list[Outreach] = []
    replied: Step | None = None
    declined: bool = False
    meeting: Meeting | None = None
    met: Step | None = None
    held: list[HeldMeeting] = []
    thanked: Step | None = None
    touched: Step | None = None
    introduced: list[str] = []
    notes: int = 0
    # The name transliterated and casefolded, for names that are not plain ASCII: reads
    # match and sort by it without importing the transliteration (events/names.py).
    ascii_name: str | None = None
    connected_on: date | None = None
    # What the last import from each source read (source → field → text): the next
    # import from there compares with this, never with what you typed (docs/import.md).
    imported: dict[str, dict[str, str]] = {}
    moved: Moved | None = None  # the latest new company or position an import brought


class Recurring(msgspec.Struct):
    """A recurring reminder of the user's own (``every``)."""

    id: str
    cron: str
    text: str
    since: datetime
    contact: str | None = None
    tz: str | None = None


class Lease(msgspec.Struct, array_like=True):
    """The delivery lease in force: ``device`` delivers until ``until``."""

    device: str
    until: datetime
    since: datetime  # when this device's claim began (renewals keep it)
    event: str
    offers: list[str] = []
    contested: bool = False  # the claim was made beside other devices (it waits first)


class QueuedMail(msgspec.Struct, kw_only=True):
    """One e-mail ``coffeechat send`` queued, and what became of it (docs/mail.md).

    ``status``: ``queued`` (waiting for ``send_at``, or for ``retry_at`` after a refusal),
    ``sending`` (the daemon recorded that it is talking to the server; if it stays so, the
    mail's fate is unknown: a crash in between), ``sent``, ``failed`` (for good), or
    ``replaced`` (sent again as another mail, ``send --again``). A sent mail keeps no body.
    """

    id: str  # the ``mail.queued`` event's id
    contact: str
    kind: str
    to: str
    subject: str
    body: str
    send_at: datetime
    queued_at: datetime
    status: str = "queued"
    attempts: int = 0  # ``mail.sending`` folded
    failures: int = 0  # refusals that left it to be tried again
    retry_at: datetime | None = None
    reason: str | None = None  # why the last attempt failed
    changed: datetime | None = None  # when the status last changed
    message_id: str | None = None


class State(msgspec.Struct, kw_only=True):
    """The whole projection: contacts by handle, recurring reminders, reminder bookkeeping."""

    contacts: dict[str, Contact] = {}
    recurring: dict[str, Recurring] = {}
    done: dict[str, list[datetime]] = {}
    snoozed: dict[str, datetime] = {}
    # The delivery ledger: reminder id → occurrence (ISO, UTC) → channels that took it.
    delivered: dict[str, dict[str, list[str]]] = {}
    # Unanswered attempts: reminder id → occurrence → channel → how many timed out.
    unanswered: dict[str, dict[str, dict[str, int]]] = {}
    retracted: set[str] = set()
    events: int = 0  # how many events were folded (those after ``as_of`` are not)
    # The greatest ordering key folded so far (``model.order_key``): a writer's next event
    # must exceed it (``decisions.Stamp``'s ``after``), so it folds after all of this.
    # (It replaces ``last_recorded``, the latest ``recorded``: the order it used to be.)
    last_hlc: int = 0
    # Events about a contact whose ``contact.added`` has not been folded yet (it sorts
    # later: an old event from a device whose clock was behind, or a segment that arrived
    # late), by handle, as their JSON lines: applied when the contact is added.
    pending: dict[str, list[bytes]] = {}
    lease: Lease | None = None  # which device's daemon delivers (daemon/lease.py)
    mail: dict[str, QueuedMail] = {}  # e-mail queued by ``send``, by its event id


# --- the fold ------------------------------------------------------------------------------


def _later(current: Step | None, event: m.Event) -> bool:
    # Ties go to the event seen last: with a frozen test clock, log order decides.
    return current is None or event.at >= current.at


def _wait(state: State, event: m.ContactEvent) -> None:
    """Keep an event about a contact not added yet; :func:`_on_contact_added` applies it."""
    state.pending.setdefault(event.contact, []).append(m.encoder.encode(event))


def _on_contact_added(state: State, event: m.ContactAdded) -> None:
    existing = state.contacts.get(event.contact)
    waiting = None
    if existing is None:
        contact = Contact(handle=event.contact, name=event.name, added=Step(event.at, event.id))
        contact.ascii_name = ascii_name_of(event.name)
        state.contacts[event.contact] = contact
        waiting = state.pending.pop(event.contact, None)
    else:  # the same person added on two devices before they synced: merge, keep the first
        contact = existing
    for field in PROFILE_FIELDS:
        value = getattr(event, field)
        if value is not None:
            setattr(contact, field, value)
    if event.source is not None:
        contact.imported[event.source] = event.imported or imported_record(event)
    if contact.via is not None:
        introducer = state.contacts.get(contact.via)
        if introducer is None:  # introduced by someone not added yet: link them then
            state.pending.setdefault(contact.via, []).append(m.encoder.encode(event))
        elif contact.handle not in introducer.introduced:
            introducer.introduced.append(contact.handle)
    if waiting:
        _apply_waiting(state, contact, waiting)


def _apply_waiting(state: State, contact: Contact, waiting: list[bytes]) -> None:
    """Apply, in the order they were folded, the events that waited for ``contact``."""
    decoder = m.event_decoder()
    for line in waiting:
        event = decoder.decode(line)
        if isinstance(event, m.ContactAdded):  # someone this contact introduced
            if event.contact not in contact.introduced:
                contact.introduced.append(event.contact)
        else:
            _HANDLERS[type(event)](state, event)


def _on_contact_updated(state: State, event: m.ContactUpdated) -> None:
    contact = state.contacts.get(event.contact)
    if contact is None:
        return _wait(state, event)
    if event.source is not None:
        _on_import(contact, event)
    if not isinstance(event.name, msgspec.UnsetType):
        contact.name = event.name
        contact.ascii_name = ascii_name_of(event.name)
    for field in PROFILE_FIELDS:
        value = getattr(event, field)
        if not isinstance(value, msgspec.UnsetType):
            setattr(contact, field, value)
    if isinstance(event.via, str):  # ``edit --via``: the introducer lists them too
        introducer = state.contacts.get(event.via)
        if introducer is not None and contact.handle not in introducer.introduced:
            introducer.introduced.append(contact.handle)


def imported_record(event: m.ContactAdded) -> dict[str, str]:
    """Return what an import read for a contact it added: the event's own fields as text."""
    record = {"name": event.name}
    for field in PROFILE_FIELDS:
        value = getattr(event, field)
        if value is not None:
            record[field] = value if isinstance(value, str) else value.isoformat()
    return record


def _on_import(contact: Contact, event: m.ContactUpdated) -> None:
    """Remember what an import read; a company or position it changes (from a value the
    contact had) is a move, which the ``congratulate`` rule turns into a reminder."""
    assert event.source is not None
    if event.imported is not None:
        contact.imported[event.source] = event.imported
    company = contact.company if isinstance(event.company, msgspec.UnsetType) else event.company
    role = contact.role if isinstance(event.role, msgspec.UnsetType) else event.role
    changed = (contact.company is not None and company != contact.company) or (
        contact.role is not None and role != contact.role
    )
    if changed and (company is not None or role is not None):
        contact.moved = Moved(event.at, event.id, company, role, contact.company, contact.role)


def _on_archived(state: State, event: m.ContactArchived) -> None:
    contact = state.contacts.get(event.contact)
    if contact is None:
        return _wait(state, event)
    if _later(contact.archived, event):
        contact.archived = Step(event.at, event.id)


def _restore(contact: Contact, event: m.Event) -> None:
    """A plan or an outreach after an archive brings the contact back."""
    if contact.archived is not None and event.at >= contact.archived.at:
        contact.archived = None


def _on_planned(state: State, event: m.OutreachPlanned) -> None:
    contact = state.contacts.get(event.contact)
    if contact is None:
        return _wait(state, event)
    _restore(contact, event)
    if _later(contact.planned, event):
        contact.planned = Step(event.at, event.id)
        if event.learn:
            contact.learn = event.learn


def _on_outreach(state: State, event: m.OutreachSent) -> None:
    contact = state.contacts.get(event.contact)
    if contact is None:
        return _wait(state, event)
    _restore(contact, event)
    contact.outreaches.append(Outreach(event.at, event.zone, event.channel, event.id))
    if _later(contact.reached, event):
        contact.reached = Step(event.at, event.id)
    if event.learn:
        contact.learn = event.learn


def _on_reply(state: State, event: m.ReplyReceived) -> None:
    contact = state.contacts.get(event.contact)
    if contact is None:
        return _wait(state, event)
    if _later(contact.replied, event):
        contact.replied = Step(event.at, event.id)
        contact.declined = event.declined


def _on_scheduled(state: State, event: m.MeetingScheduled) -> None:
    contact = state.contacts.get(event.contact)
    if contact is None:
        return _wait(state, event)
    if contact.met is not None and contact.met.at >= event.at:
        return  # booked before a meeting that is already recorded as held
    contact.meeting = Meeting(
        starts=event.starts,
        minutes=event.minutes,
        booked=Step(event.at, event.id),
        mode=event.mode,
        place=event.place,
        zone=event.zone,
    )


def _on_rescheduled(state: State, event: m.MeetingRescheduled) -> None:
    contact = state.contacts.get(event.contact)
    if contact is None:
        return _wait(state, event)
    if contact.meeting is None:
        return
    contact.meeting.starts = event.starts
    if event.minutes is not None:
        contact.meeting.minutes = event.minutes
    contact.meeting.moved = Step(event.at, event.id)


def _on_cancelled(state: State, event: m.MeetingCancelled) -> None:
    contact = state.contacts.get(event.contact)
    if contact is None:
        return _wait(state, event)
    contact.meeting = None


def _on_held(state: State, event: m.MeetingHeld) -> None:
    contact = state.contacts.get(event.contact)
    if contact is None:
        return _wait(state, event)
    booked = contact.meeting
    consumed = booked is not None and booked.booked.at <= event.at
    # The booked end, unless the meeting was held before its booked start (moved earlier).
    on_time = consumed and booked is not None and event.at >= booked.starts
    ends = booked.starts + timedelta(minutes=booked.minutes) if on_time and booked else event.at
    contact.held.append(
        HeldMeeting(event.at, event.id, ends, event.fit, event.learned, event.asked, event.notes)
    )
    if _later(contact.met, event):
        contact.met = Step(event.at, event.id)
        # The latest meeting consumes the pending booking whatever the dates: the meeting
        # happened on another day than booked (a booking recorded after this was folded
        # is a new one, kept by _on_scheduled when it comes later).
        contact.meeting = None


def _on_thanked(state: State, event: m.ThanksSent) -> None:
    contact = state.contacts.get(event.contact)
    if contact is None:
        return _wait(state, event)
    if _later(contact.thanked, event):
        contact.thanked = Step(event.at, event.id)


def _on_intro(state: State, event: m.IntroReceived) -> None:
    contact = state.contacts.get(event.contact)
    if contact is None:
        return _wait(state, event)
    if event.introduced not in contact.introduced:
        contact.introduced.append(event.introduced)


def _on_touch(state: State, event: m.TouchLogged) -> None:
    contact = state.contacts.get(event.contact)
    if contact is None:
        return _wait(state, event)
    if _later(contact.touched, event):
        contact.touched = Step(event.at, event.id)


def _on_note(state: State, event: m.NoteAdded) -> None:
    contact = state.contacts.get(event.contact)
    if contact is None:
        return _wait(state, event)
    contact.notes += 1


def _on_recurring(state: State, event: m.RecurringAdded) -> None:
    state.recurring[event.id] = Recurring(
        event.id, event.cron, event.text, event.at, event.contact, event.tz or event.zone
    )


def _on_done(state: State, event: m.ReminderDone) -> None:
    state.done.setdefault(event.reminder, []).append(event.occurrence or event.at)


def _on_snoozed(state: State, event: m.ReminderSnoozed) -> None:
    state.snoozed[event.reminder] = event.until


def occurrence_key(occurrence: datetime) -> str:
    """Return how the delivery ledger names one occurrence of a reminder (ISO, UTC)."""
    return occurrence.astimezone(UTC).isoformat()


def _on_delivered(state: State, event: m.NotificationSent) -> None:
    taken = state.delivered.setdefault(event.reminder, {}).setdefault(
        occurrence_key(event.occurrence), []
    )
    taken.extend(channel for channel in event.channels if channel not in taken)
    if event.unknown:
        tries = state.unanswered.setdefault(event.reminder, {}).setdefault(
            occurrence_key(event.occurrence), {}
        )
        for channel in event.unknown:
            tries[channel] = tries.get(channel, 0) + 1


def _on_lease(state: State, event: m.DeliveryLease) -> None:
    # Folded in causal order: a claim made while another device's lease was still in
    # force is void (that device had not been heard from yet); a renewal or a release
    # by the holder, or a claim once the lease has lapsed, takes effect.
    current = state.lease
    if current is not None and current.device != event.device and current.until > event.at:
        return
    holder = current is not None and current.device == event.device and current.until > event.at
    if holder and current is not None:  # a renewal or a release keeps the claim's start
        since, contested = current.since, current.contested
    else:
        since, contested = event.at, event.contested
    state.lease = Lease(event.device, event.until, since, event.id, list(event.offers), contested)


def _on_mail_queued(state: State, event: m.MailQueued) -> None:
    state.mail[event.id] = QueuedMail(
        id=event.id,
        contact=event.contact,
        kind=event.kind,
        to=event.to,
        subject=event.subject,
        body=event.body,
        send_at=event.send_at,
        queued_at=event.at,
        changed=event.at,
    )
    replaced = state.mail.get(event.replaces) if event.replaces else None
    if replaced is not None and replaced.status in ("queued", "sending"):
        replaced.status, replaced.changed = "replaced", event.at


def _on_mail_sending(state: State, event: m.MailSending) -> None:
    mail = state.mail.get(event.queued)
    if mail is not None and mail.status == "queued":
        mail.status, mail.changed = "sending", event.at
        mail.attempts += 1


def _on_mail_sent(state: State, event: m.MailSent) -> None:
    mail = state.mail.get(event.queued)
    if mail is not None and mail.status in ("queued", "sending"):
        mail.status, mail.changed = "sent", event.at
        mail.message_id = event.message_id
        mail.body = ""  # sent: the text is in the recipient's hands, not needed here


def _on_mail_failed(state: State, event: m.MailFailed) -> None:
    mail = state.mail.get(event.queued)
    if mail is None or mail.status not in ("queued", "sending"):
        return
    mail.reason, mail.changed = event.reason, event.at
    if event.permanent:
        mail.status = "failed"
    else:
        mail.status = "queued"
        mail.failures += 1
        mail.retry_at = event.retry_at


def _ignore(state: State, event: m.Event) -> None:
    pass


_HANDLERS: dict[type[m.Event], Callable[[State, Any], None]] = {
    m.ContactAdded: _on_contact_added,
    m.ContactUpdated: _on_contact_updated,
    m.ContactArchived: _on_archived,
    m.OutreachPlanned: _on_planned,
    m.OutreachSent: _on_outreach,
    m.ReplyReceived: _on_reply,
    m.MeetingScheduled: _on_scheduled,
    m.MeetingRescheduled: _on_rescheduled,
    m.MeetingCancelled: _on_cancelled,
    m.MeetingHeld: _on_held,
    m.ThanksSent: _on_thanked,
    m.IntroReceived: _on_intro,
    m.TouchLogged: _on_touch,
    m.NoteAdded: _on_note,
    m.RecurringAdded: _on_recurring,
    m.ReminderDone: _on_done,
    m.ReminderSnoozed: _on_snoozed,
    m.NotificationSent: _on_delivered,
    m.DeliveryLease: _on_lease,
    m.MailQueued: _on_mail_queued,
    m.MailSending: _on_mail_sending,
    m.MailSent: _on_mail_sent,
    m.MailFailed: _on_mail_failed,
    m.EventRetracted: _ignore,
}


# Corrections say what should have been recorded in the first place: looking back
# (``as_of``) applies them whenever they were made.
_CORRECTIONS = (m.ContactUpdated, m.EventRetracted)


def apply(state: State, event: m.Event) -> State:
    """Fold one event into ``state`` (in place) and return it. Retracted events are skipped."""
    if event.id not in state.retracted:
        _HANDLERS[type(event)](state, event)
    state.events += 1
    state.last_hlc = max(state.last_hlc, m.order_key(event))
    return state


def apply_all(
    state: State,
    events: Iterable[m.Event],
    as_of: datetime | None = None,
    *,
    unique: bool = False,
) -> State:
    """Fold events into ``state`` in order, leaving out those that happened after ``as_of``
    and, with ``unique``, every event whose id was met before (several segments)."""
    handlers = _HANDLERS
    retracted = state.retracted
    count = 0
    top = state.last_hlc
    last = None  # the latest recorded among events without hlc (older coffeechats')
    seen: set[str] = set()
    remember = seen.add
    for event in events:
        if unique:
            if event.id in seen:
                continue
            remember(event.id)
        if as_of is not None and event.at > as_of and type(event) not in _CORRECTIONS:
            continue
        count += 1
        clock = event.hlc
        if clock:
            if clock > top:
                top = clock
        elif last is None or event.recorded > last:
            last = event.recorded
        if retracted and event.id in retracted:
            continue
        handlers[type(event)](state, event)
    state.events += count
    state.last_hlc = top if last is None else max(top, micros(last))
    return state


# --- replay --------------------------------------------------------------------------------

_RETRACTION_MARKER = b'"event.retracted"'


def find_retractions(segments: Iterable[SegmentData]) -> list[m.EventRetracted]:
    """Return every ``event.retracted`` in the segments, found without decoding the rest."""
    found: list[m.EventRetracted] = []
    for segment in segments:
        data = segment.data
        position = data.find(_RETRACTION_MARKER)
        while position >= 0:
            start = data.rfind(b"\n", 0, position) + 1
            end = data.find(b"\n", position)
            try:
                event = m.event_decoder().decode(data[start:end])
            except (msgspec.DecodeError, msgspec.ValidationError):
                event = None  # the main pass reports it
            if isinstance(event, m.EventRetracted):
                found.append(event)
            position = data.find(_RETRACTION_MARKER, end)
    return found


def effective_retractions(retractions: Iterable[m.EventRetracted]) -> set[str]:
    """Given every retraction, return the ids of the events that stay retracted.

    A retraction is in effect unless it is itself retracted; so undoing an undo restores.
    """
    target_of = {retraction.id: retraction.target for retraction in retractions}
    retracted_by: dict[str, list[str]] = {}
    for retraction_id, target in target_of.items():
        retracted_by.setdefault(target, []).append(retraction_id)

    memo: dict[str, bool] = {}

    def is_retracted(event_id: str, depth: int = 0) -> bool:
        if event_id not in memo:
            memo[event_id] = depth < 64 and any(
                not is_retracted(retraction, depth + 1)
                for retraction in retracted_by.get(event_id, ())
            )
        return memo[event_id]

    return {target for target in retracted_by if is_retracted(target)}


def replay(
    segments: list[SegmentData],
    problems: list[LogProblem],
    *,
    as_of: datetime | None = None,
) -> State:
    """Fold every segment into a new state. Problems met on the way go to ``problems``."""
    state = State()
    state.retracted = effective_retractions(find_retractions(segments))
    with _collector_paused():
        if len(segments) == 1 and as_of is None and not state.retracted:
            # The common case, and the hot loop of a full replay: one device, no look-back.
            return _apply_batches(state, iter_segment_batches(segments[0], problems))
        streams = [iter_segment_events(segment, problems) for segment in segments]
        merged = merge_segments(streams, unique=False)
        return apply_all(state, merged, as_of, unique=len(streams) > 1)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a replay makes no cycles for it to find.

    Every decoded event counts towards a collection, and the contacts the fold creates
    make the oldest generation grow, so a replay of 1 M events otherwise runs three
    full collections of the whole heap (~85 ms). What the fold made is still looked at
    once, by the first young collection after it (~23 ms).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _apply_batches(state: State, batches: Iterable[list[m.Event]]) -> State:
    """Fold whole decoded chunks: the same as :func:`apply_all` with nothing to skip."""
    handlers = _HANDLERS
    recorded, hlc = attrgetter("recorded"), attrgetter("hlc")
    top = state.last_hlc
    for batch in batches:
        for event in batch:
            handlers[type(event)](state, event)
        if batch:
            clocks = list(map(hlc, batch))
            latest = max(clocks)
            if 0 in clocks:  # events from before hlc: their recorded stands in for it
                # An event's hlc is never below its recorded, so this is the greatest key.
                latest = max(latest, micros(max(map(recorded, batch))))
            if latest > top:
                top = latest
        state.events += len(batch)
    state.last_hlc = top
    return state


def tail_needs_full_replay(segments: Iterable[SegmentData]) -> bool:
    """Whether new data holds a retraction, which a snapshot cannot take incrementally."""
    return any(_RETRACTION_MARKER in segment.data for segment in segments)
