"""Commands: given the state and what the user asked, decide which events to record.

Each function checks the request against the state and returns a :class:`Decision`:
the events to append (all or nothing), tips (the article's advice, never errors) and
notices (something unusual that was still recorded). A request that makes no sense
raises :class:`~coffeechat.events.errors.UserError` before anything is written.
Nothing here writes; the caller appends ``decision.events`` in one batch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from coffeechat.events import model as m
from coffeechat.events.clock import next_hlc
from coffeechat.events.contacts import find_by_name, new_handle
from coffeechat.events.errors import UserError
from coffeechat.events.ids import new_event_id
from coffeechat.events.projection import PROFILE_FIELDS, Contact, State
from coffeechat.events.zones import zone_named

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

CHANNELS = ("email", "linkedin", "phone", "event", "other")
MEETING_MODES = ("phone", "video", "in-person")
FUTURE_TOLERANCE = timedelta(minutes=1)

E = TypeVar("E", bound=m.Event)


class Decision(msgspec.Struct):
    """What a command records and what it has to tell the user."""

    events: list[m.Event]
    tips: list[str] = []
    notices: list[str] = []


class Stamp:
    """Makes events: fills in id, version, recording instant, clock, device and zone.

    ``after`` is the greatest ordering key the writer has folded (``State.last_hlc``), or
    a function returning it: each event's ``hlc`` exceeds it and the previous event's,
    so what this command records folds after everything it was decided on.
    """

    def __init__(
        self,
        now: datetime,
        device: str | Callable[[], str],
        zone: ZoneInfo | str,
        *,
        after: int | Callable[[], int] = 0,
    ) -> None:
        self.now = now
        self._device = device
        self.zone_key = zone if isinstance(zone, str) else zone.key
        self._zone = None if isinstance(zone, str) else zone
        self._after = after

    @property
    def device(self) -> str:
        """This device's id (made on first use: a refused command creates nothing)."""
        if callable(self._device):
            self._device = self._device()
        return self._device

    @property
    def zone(self) -> ZoneInfo:
        """The user's zone (built on first use: most commands only need its name)."""
        if self._zone is None:
            self._zone = zone_named(self.zone_key)
        return self._zone

    def __call__(self, event_type: type[E], at: datetime | None = None, **fields: Any) -> E:
        """Return a new event of ``event_type`` that happened ``at`` (default: now).

        Every instant is stored in UTC; the zone it was given in is kept in ``zone``.
        """
        for name, value in fields.items():
            if isinstance(value, datetime):
                fields[name] = value.astimezone(UTC)
        after = self._after() if callable(self._after) else self._after
        self._after = hlc = next_hlc(self.now, after)
        return event_type(
            id=new_event_id(self.now),
            v=event_type.VERSION,
            recorded=self.now.astimezone(UTC),
            hlc=hlc,
            device=self.device,
            at=(self.now if at is None else at).astimezone(UTC),
            zone=self.zone_key,
            **fields,
        )


def as_one_batch(events: list[m.Event]) -> list[m.Event]:
    """Given the events of one command, return them tied together for ``undo``."""
    if len(events) < 2:
        return events
    first = events[0].id
    return [events[0], *(msgspec.structs.replace(event, batch=first) for event in events[1:])]


def check_at(stamp: Stamp, at: datetime | None) -> datetime:
    """Return when something happened; raise UserError if that is in the future."""
    if at is None:
        return stamp.now
    if at > stamp.now + FUTURE_TOLERANCE:
        raise UserError("--at is in the future: record things once they have happened")
    return at


def check_cadence(text: str) -> str:
    """Return a valid keep-in-touch cadence (a DURATION or a 5-field cron) as given."""
    from coffeechat.events.when import parse_duration

    try:
        parse_duration(text)
        return text
    except UserError:
        pass
    if len(text.split()) == 5:
        check_cron(text)
        return text
    raise UserError(f"can't read {text!r} as a cadence: give a duration (90d, 6w) or a cron line")


CRON_HORIZON_YEARS = 5  # a schedule that does not fire within this is refused


def check_cron(text: str, now: datetime | None = None) -> str:
    """Return a valid 5-field cron expression that fires within five years of ``now``
    (the wall clock when not given); raise UserError otherwise (``0 0 30 2 *`` never
    fires, ``0 0 29 2 *`` does)."""
    from croniter import CroniterBadDateError, croniter  # only commands given a cron pay

    if len(text.split()) != 5 or not croniter.is_valid(text):
        raise UserError(
            f"invalid cron {text!r}: five fields, minute hour day month weekday, e.g. '0 9 * * TUE'"
        )
    start = (now or datetime.now(UTC)).replace(tzinfo=None)
    try:
        croniter(text, start, max_years_between_matches=CRON_HORIZON_YEARS).get_next(datetime)
    except (CroniterBadDateError, OverflowError, ValueError):
        raise UserError(
            f"cron {text!r} never fires (no date matches it within {CRON_HORIZON_YEARS} "
            "years): check the day and month"
        ) from None
    return text


def _profile(fields: dict[str, Any]) -> dict[str, Any]:
    if fields.get("tz"):
        zone_named(fields["tz"])
    if fields.get("cadence"):
        check_cadence(fields["cadence"])
    return {name: value for name, value in fields.items() if name in PROFILE_FIELDS}


# --- contacts ------------------------------------------------------------------------------


def add_contact(
    state: State, stamp: Stamp, name: str, profile: dict[str, Any], at: datetime | None = None
) -> Decision:
    """Add a person. Raise UserError for an empty name or one already in the network."""
    name = " ".join(name.split())
    if not name:
        raise UserError("a contact needs a name")
    existing = find_by_name(state, name)
    if existing is not None:
        raise UserError(f"{existing.name} is already a contact ({existing.handle})")
    fields = {key: value for key, value in _profile(profile).items() if value}
    event = stamp(
        m.ContactAdded, check_at(stamp, at), contact=new_handle(state, name), name=name, **fields
    )
    return Decision([event])


def edit_contact(
    state: State, stamp: Stamp, contact: Contact, changes: dict[str, Any], at: datetime | None
) -> Decision:
    """Correct or complete a contact; an empty string clears a field."""
    changes = {key: value for key, value in changes.items() if value is not None}
    if not changes:
        raise UserError("nothing to change: give at least one option, e.g. --email or --role")
    if "name" in changes:
        name = " ".join(changes["name"].split())
        other = find_by_name(state, name)
        if not name or (other is not None and other.handle != contact.handle):
            raise UserError(f"can't rename to {changes['name']!r}: empty, or taken by another")
        changes["name"] = name
    cleared = {key: (None if value == "" else value) for key, value in changes.items()}
    fields = {"name": cleared["name"]} if "name" in cleared else {}
    fields.update(_profile(cleared))
    event = stamp(m.ContactUpdated, check_at(stamp, at), contact=contact.handle, **fields)
    return Decision([event])


def archive(state: State, stamp: Stamp, contact: Contact, at: datetime | None) -> Decision:
    """Stop tracking a contact. Raise UserError if already archived."""
    if contact.archived is not None:
        raise UserError(f"{contact.name} is already archived")
    return Decision([stamp(m.ContactArchived, check_at(stamp, at), contact=contact.handle)])


# --- the journey ---------------------------------------------------------------------------


def _learn_tip(contact: Contact, learn: str | None) -> list[str]:
    if learn or contact.learn:
        return []
    return [
        f"be specific about what you want to learn from {contact.name} "
        f'(--learn "how you moved from research into policy"): a precise question is easier '
        "to say yes to"
    ]


def send_time_tip(moment: datetime, zone: ZoneInfo, whose: str) -> list[str]:
    """Return the article's advice when ``moment`` (in ``zone``) is a poor time to e-mail."""
    local = moment.astimezone(zone)
    weekday = local.weekday()  # Monday is 0
    if weekday in (1, 2):
        return []
    if weekday == 0:
        why = "on Mondays people are trying to get things done"
    elif weekday == 3 and local.hour < 12:
        return []
    elif weekday == 3:
        why = "on Thursday afternoons people are finishing the week's work"
    elif weekday == 4:
        why = "Friday can be a bit of a black hole"
    else:
        why = "weekend messages sink under Monday's inbox"
    return [f"{why} ({whose} time): Tuesday or Wednesday are best for outreach"]


def plan(
    state: State, stamp: Stamp, contact: Contact, learn: str | None, at: datetime | None
) -> Decision:
    """You intend to reach out; tip when there is nothing specific to learn yet."""
    when = check_at(stamp, at)
    if _stage(contact, when) == "planned" and contact.planned is not None:
        return _already(f"outreach to {contact.name} planned")
    event = stamp(m.OutreachPlanned, when, contact=contact.handle, learn=learn)
    notices = _new_round(contact, when) + _restored(contact)
    return Decision([event], tips=_learn_tip(contact, learn), notices=notices)


def _stage(contact: Contact, when: datetime) -> str:
    from coffeechat.events.stages import stage_of

    return stage_of(contact, when)


def _already(what: str) -> Decision:
    """The same step twice in a row: nothing to append, and the user hears so."""
    return Decision([], notices=[f"already recorded: {what}"])


def _new_round(contact: Contact, when: datetime) -> list[str]:
    """Return the notice that a plan or outreach at ``when`` starts a new round, when the
    contact's last round had ended (thanked, declined, or the nudges ran out)."""
    from coffeechat.events.stages import round_end

    end, how = round_end(contact, when)
    if end is None or when <= end:
        return []
    why = {"thanked": "thanked", "declined": "declined", "no-reply": "no reply after the nudges"}
    return [f"a new round with {contact.name} starts (the last one ended: {why[how or '']})"]


def reach(
    state: State,
    stamp: Stamp,
    contact: Contact,
    channel: str,
    learn: str | None,
    at: datetime | None,
) -> Decision:
    """Outreach sent; tips for a poor send time (their zone, else yours) and a vague ask."""
    if channel not in CHANNELS:
        raise UserError(f"unknown channel {channel!r}: one of {', '.join(CHANNELS)}")
    when = check_at(stamp, at)
    event = stamp(m.OutreachSent, when, contact=contact.handle, channel=channel, learn=learn)
    zone, whose = (zone_named(contact.tz), "their") if contact.tz else (stamp.zone, "your")
    tips = send_time_tip(when, zone, whose) if channel == "email" else []
    notices = _new_round(contact, when) + _restored(contact)
    return Decision([event], tips=tips + _learn_tip(contact, learn), notices=notices)


def _restored(contact: Contact) -> list[str]:
    if contact.archived is None:
        return []
    return [f"{contact.name} was archived: this brings them back"]


def reply(
    state: State, stamp: Stamp, contact: Contact, declined: bool, at: datetime | None
) -> Decision:
    """They answered (or declined)."""
    if _stage(contact, check_at(stamp, at)) == ("declined" if declined else "replied"):
        return _already(f"{contact.name} {'declined' if declined else 'replied'}")
    event = stamp(m.ReplyReceived, check_at(stamp, at), contact=contact.handle, declined=declined)
    notices = [] if contact.reached else [f"no outreach to {contact.name} was recorded"]
    return Decision([event], notices=notices)


def schedule(
    state: State,
    stamp: Stamp,
    contact: Contact,
    starts: datetime,
    minutes: int,
    mode: str | None,
    place: str | None,
    at: datetime | None,
) -> Decision:
    """Book a meeting. Raise UserError if one is already booked (at another time), the
    start is more than an hour past, or the length is silly."""
    if contact.meeting is not None and contact.meeting.starts == starts:
        return _already(f"meeting with {contact.name} booked for that time")
    if at is None:  # a booking made now; one dated back with --at records history
        _check_not_past(stamp, contact, starts)
    if contact.meeting is not None:
        raise UserError(
            f"a meeting with {contact.name} is already booked: "
            f"use 'coffeechat reschedule {contact.handle} WHEN' or 'cancel'"
        )
    if mode is not None and mode not in MEETING_MODES:
        raise UserError(f"unknown mode {mode!r}: one of {', '.join(MEETING_MODES)}")
    _check_minutes(minutes)
    event = stamp(
        m.MeetingScheduled,
        check_at(stamp, at),
        contact=contact.handle,
        starts=starts,
        minutes=minutes,
        mode=mode,
        place=place,
    )
    return Decision([event])


PAST_TOLERANCE = timedelta(hours=1)


def _check_not_past(stamp: Stamp, contact: Contact, starts: datetime) -> None:
    if starts < stamp.now - PAST_TOLERANCE:
        raise UserError(
            f"that time is past: to record a meeting that happened, "
            f"'coffeechat met {contact.handle} --at WHEN'"
        )


def _check_minutes(minutes: int | None) -> None:
    if minutes is not None and not 1 <= minutes <= 24 * 60:
        raise UserError(f"--minutes must be between 1 and 1440, not {minutes}")


def reschedule(
    state: State,
    stamp: Stamp,
    contact: Contact,
    starts: datetime,
    minutes: int | None,
    at: datetime | None,
) -> Decision:
    """Move the booked meeting. Raise UserError if there is none."""
    if contact.meeting is None:
        raise UserError(f"no meeting with {contact.name} is booked: use 'coffeechat schedule'")
    if at is None:
        _check_not_past(stamp, contact, starts)
    _check_minutes(minutes)
    event = stamp(
        m.MeetingRescheduled,
        check_at(stamp, at),
        contact=contact.handle,
        starts=starts,
        minutes=minutes,
    )
    return Decision([event])


def cancel(state: State, stamp: Stamp, contact: Contact, at: datetime | None) -> Decision:
    """Cancel the booked meeting. Raise UserError if there is none."""
    if contact.meeting is None:
        raise UserError(f"no meeting with {contact.name} is booked, so nothing to cancel")
    return Decision([stamp(m.MeetingCancelled, check_at(stamp, at), contact=contact.handle)])


def met(
    state: State,
    stamp: Stamp,
    contact: Contact,
    notes: str | None,
    learned: str | None,
    fit: int | None,
    asked: str | None,
    at: datetime | None,
) -> Decision:
    """The meeting happened. Allowed without a booking, but the user hears of it."""
    if fit is not None and not 1 <= fit <= 5:
        raise UserError(f"--fit must be 1 to 5 (how well the role fits you), not {fit}")
    when = check_at(stamp, at)
    if contact.meeting is None and _stage(contact, when) == "met":
        return _already(f"met {contact.name} (record another meeting after booking it)")
    event = stamp(
        m.MeetingHeld,
        when,
        contact=contact.handle,
        notes=notes,
        learned=learned,
        fit=fit,
        asked=asked,
    )
    notices = []
    if contact.meeting is None:
        notices.append(f"no meeting with {contact.name} was scheduled; recorded as met anyway")
    tips = (
        [] if asked else ["did you make an ask? an introduction to someone they know is a good one"]
    )
    return Decision([event], tips=tips, notices=notices)


def thank(state: State, stamp: Stamp, contact: Contact, at: datetime | None) -> Decision:
    """Thank-you sent. Raise UserError before any meeting."""
    if contact.met is None:
        raise UserError(
            f"you haven't met {contact.name} yet: record 'coffeechat met {contact.handle}' first"
        )
    when = check_at(stamp, at)
    if _stage(contact, when) in ("thanked", "in-touch"):
        return _already(f"thank-you to {contact.name} sent")
    return Decision([stamp(m.ThanksSent, when, contact=contact.handle)])


def intro(
    state: State,
    stamp: Stamp,
    introducer: Contact,
    name: str,
    profile: dict[str, Any],
    at: datetime | None,
) -> Decision:
    """``introducer`` introduced you to a person: add them, linked, in one batch; or, when
    they are already a contact, link them (the introduction, and their ``via`` when unset).
    Raise UserError for an introduction of the introducer to themselves."""
    existing = find_by_name(state, " ".join(name.split()))
    if existing is not None:
        return _link_intro(stamp, introducer, existing, profile, at)
    added = add_contact(state, stamp, name, {**profile, "via": introducer.handle}, at)
    new = added.events[0]
    assert isinstance(new, m.ContactAdded)
    link = stamp(m.IntroReceived, new.at, contact=introducer.handle, introduced=new.contact)
    return Decision([new, link])


def _link_intro(
    stamp: Stamp, introducer: Contact, known: Contact, profile: dict[str, Any], at: datetime | None
) -> Decision:
    """Link ``known`` (already a contact) as introduced by ``introducer``."""
    if known.handle == introducer.handle:
        raise UserError(f"{introducer.name} can't introduce you to themselves")
    if known.handle in introducer.introduced:
        return Decision([], notices=[f"{introducer.name} already introduced you to {known.name}"])
    when = check_at(stamp, at)
    link = stamp(m.IntroReceived, when, contact=introducer.handle, introduced=known.handle)
    fields = {key: value for key, value in _profile(profile).items() if value}
    fields.pop("via", None)
    if known.via is None:
        fields["via"] = introducer.handle
    if not fields:
        return Decision([link])
    update = stamp(m.ContactUpdated, link.at, contact=known.handle, **fields)
    return Decision([update, link])


def touch(
    state: State, stamp: Stamp, contact: Contact, note: str | None, at: datetime | None
) -> Decision:
    """A touchpoint: resets the keep-in-touch clock."""
    return Decision([stamp(m.TouchLogged, check_at(stamp, at), contact=contact.handle, note=note)])


def note(state: State, stamp: Stamp, contact: Contact, text: str, at: datetime | None) -> Decision:
    """A note about a contact. Raise UserError for an empty one."""
    if not text.strip():
        raise UserError("the note is empty")
    return Decision([stamp(m.NoteAdded, check_at(stamp, at), contact=contact.handle, text=text)])


def every(
    state: State, stamp: Stamp, cron: str, text: str, contact: Contact | None, tz: str | None
) -> Decision:
    """A recurring reminder of your own. Raise UserError for a bad cron or zone."""
    check_cron(cron)
    if tz is not None:
        zone_named(tz)
    if not text.strip():
        raise UserError("the reminder needs a text")
    event = stamp(
        m.RecurringAdded,
        cron=cron,
        text=text,
        contact=contact.handle if contact else None,
        tz=tz,
    )
    return Decision([event])


# --- reminders -------------------------------------------------------------------------------

# The step a reminder asks for: ``done`` on it records that step (whose event clears the
# reminder by itself); every other kind (prep, on-time, book, did-it-happen, digest, mail,
# a recurring reminder of your own) records only ``reminder.done``.
STEP_OF_KIND = {
    "thank-you": "thanks.sent",
    "reach-out": "outreach.sent",
    "nudge": "outreach.sent",  # a follow-up outreach (not the closing word)
    "keep-in-touch": "touch.logged",
    "follow-up": "touch.logged",
    "congratulate": "touch.logged",
}


def done(
    state: State,
    stamp: Stamp,
    reminder_id: str,
    kind: str,
    contact: Contact | None,
    occurrence: datetime | None,
    *,
    step: bool = True,
) -> Decision:
    """A reminder is taken care of: record the journey step it asks for, else
    ``reminder.done`` (one occurrence of a repeating reminder).

    ``step`` is False for a reminder of a step kind that asks for no step (the closing
    word of the nudges). The CLI and the dashboard (which runs ``coffeechat done``) both
    decide here.
    """
    wanted = STEP_OF_KIND.get(kind) if step and contact is not None else None
    if contact is not None and contact.archived is not None:
        wanted = None
    if wanted == "thanks.sent" and contact is not None and contact.met is not None:
        return thank(state, stamp, contact, None)
    if wanted == "outreach.sent" and contact is not None:
        last = max(contact.outreaches, key=lambda o: o.at, default=None)
        channel = last.channel if kind == "nudge" and last is not None else "email"
        return reach(state, stamp, contact, channel, None, None)
    if wanted == "touch.logged" and contact is not None:
        return touch(state, stamp, contact, None, None)
    return Decision([stamp(m.ReminderDone, reminder=reminder_id, occurrence=occurrence)])


# --- corrections -----------------------------------------------------------------------------

# What the daemon records about the world (a delivery, a lease, an e-mail handed to the
# server) is not the user's to take back: undoing it would deliver or send again.
_NOT_UNDOABLE = (
    m.EventRetracted,
    m.NotificationSent,
    m.DeliveryLease,
    m.MailSending,
    m.MailSent,
    m.MailFailed,
)


def undo(
    events: list[m.Event],
    retracted: set[str],
    stamp: Stamp,
    target: str | None,
    *,
    device: str | None,
) -> Decision:
    """Retract this device's last command (one batch), or the event ``target`` names.

    Without ``target``, the last command is the last batch in log order among the events
    ``device`` recorded (this device; None when it has recorded nothing) that is not
    retracted and is not itself an undo or a delivery: another device's commands are
    never taken back by a bare ``undo``. ``target`` is an event id or an unambiguous
    prefix or suffix of one (4 characters at least), from any device; retracting a
    retraction restores what it retracted. Raise UserError if there is nothing to undo
    or the id matches no event, or several.
    """
    if target is None:
        mine = [event for event in events if event.device == device]
        # A batch the daemon wrote (a delivery, or an e-mail sent with the step it was)
        # is not a command: none of it is taken back by a bare undo.
        daemons = {event.batch or event.id for event in mine if isinstance(event, _NOT_UNDOABLE)}
        live = [
            event
            for event in mine
            if event.id not in retracted and (event.batch or event.id) not in daemons
        ]
        if not live:
            raise UserError(
                "nothing to undo on this device ('undo EVENT-ID' takes back any event: "
                "see 'coffeechat log')"
            )
        batch = live[-1].batch or live[-1].id
        chosen = [event for event in live if batch in (event.id, event.batch)]
    else:
        chosen = [find_event(events, target)]
    retractions: list[m.Event] = [
        stamp(
            m.EventRetracted,
            target=event.id,
            target_type=m.tag_of(event),
            contact=getattr(event, "contact", None),
        )
        for event in chosen
    ]
    return Decision(retractions)


def find_event(events: list[m.Event], query: str) -> m.Event:
    """Return the event whose id starts or ends with ``query``; raise UserError otherwise."""
    wanted = query.strip().upper()
    if len(wanted) < 4:
        raise UserError(f"event id {query!r} is too short: give at least 4 characters")
    matches = [
        event for event in events if event.id.startswith(wanted) or event.id.endswith(wanted)
    ]
    if not matches:
        raise UserError(f"no event has the id {query!r}: see 'coffeechat log'")
    if len(matches) > 1:
        raise UserError(f"{query!r} matches {len(matches)} events: give more of the id")
    return matches[0]
