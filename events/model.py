"""The event types of coffeechat: one tagged union, one encoder, one decoder.

Every line of the log is one of these structs encoded as JSON. The tag strings
(``"contact.added"``, ``"outreach.sent"`` …) are part of the stored format: renaming a
class never changes them, and a tag is never reused for something else.

Schema evolution follows msgspec's rules: a new field gets a default, a field never
changes its type, and an event whose layout had to change gets a new ``VERSION`` and an
upcaster in :mod:`coffeechat.events.upcast`. Old lines are upcast on read; the log is
never migrated in place.
"""

from datetime import date, datetime
from typing import ClassVar

import msgspec
from msgspec import UNSET, UnsetType

from coffeechat.events.clock import EPOCH, MICROSECOND

# No ``from __future__ import annotations`` here (nor in the projection and the
# snapshot): msgspec builds decoders from real annotations several milliseconds faster
# than from strings, and every command pays that at start.


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", omit_defaults=True):
    """What every event carries.

    ``id`` is time-ordered and unique; ``recorded`` is the UTC instant it was appended
    (by the writer's clock, shown to users); ``hlc`` is what the fold orders events by
    across devices (:func:`order_key`): a hybrid logical clock in microseconds that
    exceeds everything the writer had folded, absent (0) in events written before it
    existed; ``device`` names the segment that holds it; ``v`` is the schema version of
    its type; ``at`` is when it happened in the world (UTC) and ``zone`` the IANA zone the user
    was in, so that local times ("Tuesday 9:00") can be rebuilt. ``batch`` ties the
    events one command appended together: every event but the first carries the first
    one's id (a batch of one carries nothing), which is what ``undo`` takes back.
    """

    VERSION: ClassVar[int] = 1

    id: str
    v: int
    recorded: datetime
    hlc: int = 0
    device: str
    at: datetime
    zone: str | None = None
    batch: str | None = None


class ContactEvent(Event, frozen=True, kw_only=True):
    """An event about one contact, named by its handle (which never changes)."""

    contact: str


# --- contacts --------------------------------------------------------------------------


class ContactAdded(ContactEvent, frozen=True, kw_only=True, tag="contact.added"):
    """A person you find interesting; ``learn`` is what you want to learn from them."""

    name: str
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
    # Set by ``import linkedin|vcard`` (docs/import.md): when you connected there, which
    # import recorded this, and what it read (absent: this event's own fields).
    connected_on: date | None = None
    source: str | None = None
    imported: dict[str, str] | None = None


class ContactUpdated(ContactEvent, frozen=True, kw_only=True, tag="contact.updated"):
    """A correction or completion of a contact: an absent field is unchanged, null clears it."""

    name: str | UnsetType = UNSET
    email: str | UnsetType | None = UNSET
    phone: str | UnsetType | None = UNSET
    company: str | UnsetType | None = UNSET
    role: str | UnsetType | None = UNSET
    industry: str | UnsetType | None = UNSET
    linkedin: str | UnsetType | None = UNSET
    tz: str | UnsetType | None = UNSET
    how_met: str | UnsetType | None = UNSET
    via: str | UnsetType | None = UNSET
    learn: str | UnsetType | None = UNSET
    cadence: str | UnsetType | None = UNSET
    connected_on: date | UnsetType | None = UNSET
    # An import's update: its ``source`` and everything it read there (``imported``), which
    # the next import from that source compares with (docs/import.md).
    source: str | None = None
    imported: dict[str, str] | None = None


class ContactArchived(ContactEvent, frozen=True, kw_only=True, tag="contact.archived"):
    """Stop tracking this contact: no more reminders about them."""


# --- the journey -----------------------------------------------------------------------


class OutreachPlanned(ContactEvent, frozen=True, kw_only=True, tag="outreach.planned"):
    """You intend to reach out; the next good send window will remind you."""

    learn: str | None = None


class OutreachSent(ContactEvent, frozen=True, kw_only=True, tag="outreach.sent"):
    """Outreach sent. Version 2 renamed v1's ``medium`` (mail/li/call …) to ``channel``."""

    VERSION: ClassVar[int] = 2

    channel: str = "email"
    learn: str | None = None


class ReplyReceived(ContactEvent, frozen=True, kw_only=True, tag="reply.received"):
    """They answered; ``declined`` when the answer was no."""

    declined: bool = False


class MeetingScheduled(ContactEvent, frozen=True, kw_only=True, tag="meeting.scheduled"):
    """A meeting is booked to start at ``starts`` (UTC; ``zone`` is where it was given)."""

    starts: datetime
    minutes: int = 30
    mode: str | None = None
    place: str | None = None


class MeetingRescheduled(ContactEvent, frozen=True, kw_only=True, tag="meeting.rescheduled"):
    """The booked meeting moved to ``starts``."""

    starts: datetime
    minutes: int | None = None


class MeetingCancelled(ContactEvent, frozen=True, kw_only=True, tag="meeting.cancelled"):
    """The booked meeting will not happen."""


class MeetingHeld(ContactEvent, frozen=True, kw_only=True, tag="meeting.held"):
    """The meeting happened; ``asked`` is the ask you made (an introduction, say)."""

    notes: str | None = None
    learned: str | None = None
    fit: int | None = None
    asked: str | None = None


class ThanksSent(ContactEvent, frozen=True, kw_only=True, tag="thanks.sent"):
    """The thank-you was sent."""


class IntroReceived(ContactEvent, frozen=True, kw_only=True, tag="intro.received"):
    """``contact`` introduced you to ``introduced`` (a handle, added in the same batch)."""

    introduced: str


class TouchLogged(ContactEvent, frozen=True, kw_only=True, tag="touch.logged"):
    """You stayed in touch; resets the keep-in-touch clock."""

    note: str | None = None


class NoteAdded(ContactEvent, frozen=True, kw_only=True, tag="note.added"):
    """A free-form note about a contact."""

    text: str


# --- reminders of your own and their bookkeeping -----------------------------------------


class RecurringAdded(Event, frozen=True, kw_only=True, tag="recurring.added"):
    """A recurring reminder of your own: ``cron`` in ``tz`` (yours when absent)."""

    cron: str
    text: str
    contact: str | None = None
    tz: str | None = None


class ReminderDone(Event, frozen=True, kw_only=True, tag="reminder.done"):
    """A reminder (one occurrence of it, when given) was acted on."""

    reminder: str
    occurrence: datetime | None = None


class ReminderSnoozed(Event, frozen=True, kw_only=True, tag="reminder.snoozed"):
    """A reminder is put off until ``until``."""

    reminder: str
    until: datetime


class NotificationSent(Event, frozen=True, kw_only=True, tag="notification.sent"):
    """The daemon delivered one occurrence of a reminder through ``channels``. ``unknown``
    names the channels that gave no answer in time on this attempt (they may or may not
    have shown it): each such event counts one unanswered attempt, and the daemon stops
    trying a channel after three (docs/daemon.md)."""

    reminder: str
    occurrence: datetime
    channels: list[str] = []
    unknown: list[str] = []


class DeliveryLease(Event, frozen=True, kw_only=True, tag="delivery.lease"):
    """This device's daemon delivers until ``until`` (a claim, a renewal, or a release when
    ``until`` equals ``at``). ``offers`` says what it can deliver through (``desktop``,
    ``apprise``, ``mail``, ``calendar`` …), so another device's ``doctor`` can tell."""

    until: datetime
    offers: list[str] = []
    # Claimed beside other devices' segments: it delivers only after the takeover wait,
    # so that a competing claim still in transit can arrive (docs/daemon.md).
    contested: bool = False


# --- e-mail sent by the daemon (docs/mail.md) --------------------------------------------


class MailQueued(ContactEvent, frozen=True, kw_only=True, tag="mail.queued"):
    """An e-mail for the daemon to send to ``to`` at ``send_at`` (``coffeechat send``).

    ``kind`` is the step it is (``outreach``, ``nudge``, ``thank-you``, ``follow-up``,
    ``congratulate``); ``subject`` and ``body`` are the text as composed when queued.
    ``replaces`` names a mail whose fate is unknown that this one sends again
    (``send --again``). Retracting it (``undo``) before it went out cancels it.
    """

    kind: str
    to: str
    subject: str
    body: str
    send_at: datetime
    replaces: str | None = None


class MailSending(ContactEvent, frozen=True, kw_only=True, tag="mail.sending"):
    """The daemon is about to hand the mail ``queued`` to the SMTP server (try ``attempt``).

    Appended and on disk before the daemon talks to the server: a ``mail.sending`` with
    no ``mail.sent`` or ``mail.failed`` after it is a mail whose fate is unknown (a crash
    in between), which is never sent again without the user's word.
    """

    queued: str
    attempt: int = 1


class MailSent(ContactEvent, frozen=True, kw_only=True, tag="mail.sent"):
    """The server accepted the mail ``queued`` (``message_id`` is its Message-ID), or,
    with ``confirmed``, the user said a mail whose fate was unknown did go out."""

    queued: str
    message_id: str | None = None
    confirmed: bool = False


class MailFailed(ContactEvent, frozen=True, kw_only=True, tag="mail.failed"):
    """The mail ``queued`` was not sent: ``reason`` says why. ``permanent`` (the server
    refused it for good, or it was given up) ends it; otherwise it is tried again from
    ``retry_at`` on."""

    queued: str
    reason: str
    permanent: bool = False
    retry_at: datetime | None = None


class EventRetracted(Event, frozen=True, kw_only=True, tag="event.retracted"):
    """``target`` should never have been recorded (``undo``). Retracting a retraction restores."""

    target: str
    target_type: str | None = None
    contact: str | None = None


AnyEvent = (
    ContactAdded
    | ContactUpdated
    | ContactArchived
    | OutreachPlanned
    | OutreachSent
    | ReplyReceived
    | MeetingScheduled
    | MeetingRescheduled
    | MeetingCancelled
    | MeetingHeld
    | ThanksSent
    | IntroReceived
    | TouchLogged
    | NoteAdded
    | RecurringAdded
    | ReminderDone
    | ReminderSnoozed
    | NotificationSent
    | DeliveryLease
    | MailQueued
    | MailSending
    | MailSent
    | MailFailed
    | EventRetracted
)

EVENT_TYPES: tuple[type[Event], ...] = AnyEvent.__args__
TAGS: dict[str, type[Event]] = {str(cls.__struct_config__.tag): cls for cls in EVENT_TYPES}

encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[Event] | None = None


def event_decoder() -> msgspec.json.Decoder[Event]:
    """Return the one decoder of log lines (built on first use: it costs ~1 ms to build)."""
    global _decoder
    if _decoder is None:
        _decoder = msgspec.json.Decoder(AnyEvent)
    return _decoder


def order_key(event: Event) -> int:
    """Return what the fold orders events of several devices by: ``hlc``, or for an event
    written before ``hlc`` existed, ``recorded`` in microseconds (the order it always had).
    """
    # micros() inlined: a replay of several segments of old events calls this per event.
    return event.hlc or (event.recorded - EPOCH) // MICROSECOND


def tag_of(event: Event) -> str:
    """Return the stored tag of an event (``"note.added"`` …)."""
    return type(event).__struct_config__.tag  # type: ignore[return-value]


def encode_lines(events: list[Event]) -> bytes:
    """Given events, return them as JSON Lines, each line ending in a newline."""
    return b"".join([encoder.encode(event) + b"\n" for event in events])
