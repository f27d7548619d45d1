"""Sending the e-mail ``coffeechat send`` queued: through the user's SMTP server, at most once.

E-mail to a person is never sent twice by accident. For each mail whose moment has
come, :func:`deliver_mail`:

1. appends ``mail.sending`` and waits until it is on disk (``append`` fsyncs), and only
   then talks to the server. If it cannot record that, it sends nothing;
2. sends it (``smtplib``: ``smtp://`` plain, ``smtp+starttls://``, ``smtps://``);
3. appends the outcome in one batch: ``mail.sent`` plus the journey step the mail was
   (``outreach.sent`` by e-mail for an outreach or a nudge, ``thanks.sent`` for a
   thank-you, ``touch.logged`` for a follow-up or a congratulation); or ``mail.failed``.

A process that dies between 1 and 3 leaves a ``mail.sending`` with no outcome: the
mail's fate is unknown (the server may have taken it). It is never sent again by
itself: the agenda shows it (kind ``mail``) with what to check, and the user says what
happened: ``coffeechat send CONTACT --was-sent`` or ``coffeechat send CONTACT --again``.
The same holds when the connection drops while the server holds the message: only an
answer from the server settles it.

A refusal that may pass (a ``4xx`` answer, no connection, a login or certificate
problem, a missing ``[mail]``) is recorded as ``mail.failed`` with a ``retry_at``
(1 minute, doubling, at most an hour apart) and reported; after ``[mail] retry_for``
(1 day) it is given up. A permanent refusal (``5xx``) is recorded ``mail.failed``
(``permanent``) and reported. A mail that became moot while it waited (they replied
before the outreach went out, the thank-you was recorded by hand, the contact was
archived) is not sent, and recorded so.

``smtplib`` and ``email`` are imported only when a mail is actually sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from coffeechat.daemon.smtp import SmtpTransport, Transport
from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp, as_one_batch
from coffeechat.events.errors import UserError
from coffeechat.events.projection import QueuedMail, State
from coffeechat.events.text import one_line
from coffeechat.plugins.reminders import Reminder, make_reminder

if TYPE_CHECKING:
    from email.message import EmailMessage
    from zoneinfo import ZoneInfo

    from coffeechat.plugins.mail_settings import MailSettings
    from coffeechat.plugins.settings import Settings

LOG = logging.getLogger("coffeechat.daemon")

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
RETRY_SOON = timedelta(minutes=1)  # a due mail this call could not handle (log unwritable)
RETRY_FOR = timedelta(days=1)  # how long to retry when [mail] itself cannot be read
IN_FLIGHT = timedelta(minutes=10)  # ``sending`` younger than this may still be in flight
FAILED_SHOWN = timedelta(days=7)  # how long the agenda shows a mail that was not sent

KIND_NAMES = {
    "outreach": "outreach",
    "nudge": "nudge",
    "thank-you": "thank-you",
    "follow-up": "follow-up",
    "congratulate": "congratulations",
}

Append = Callable[[list[m.Event]], Any]


# --- what is due -----------------------------------------------------------------------------


def due_mail(state: State, now: datetime) -> list[QueuedMail]:
    """Return the queued mail whose moment (``send_at``, or ``retry_at``) has come, oldest first."""
    due = [mail for mail in state.mail.values() if mail.status == "queued" and _moment(mail) <= now]
    return sorted(due, key=lambda mail: (_moment(mail), mail.id))


def next_mail_at(state: State, now: datetime) -> datetime | None:
    """Return when :func:`deliver_mail` should next be called for queued mail (None: no
    mail waits). A mail already due that the last call could not handle (the log could
    not be written) gives ``now`` plus a minute, never a moment in the past."""
    moments = [_moment(mail) for mail in state.mail.values() if mail.status == "queued"]
    if not moments:
        return None
    return max(min(moments), now + RETRY_SOON) if min(moments) <= now else min(moments)


def _moment(mail: QueuedMail) -> datetime:
    return max(mail.send_at, mail.retry_at) if mail.retry_at is not None else mail.send_at


# --- sending ---------------------------------------------------------------------------------


def deliver_mail(
    state: State,
    settings: Settings,
    now: datetime,
    append: Append,
    *,
    device: str,
    zone: str | None = None,
    transport: Transport | None = None,
) -> list[str]:
    """Send every queued mail whose moment has come, at most once; return warnings.

    ``append(events)`` must write the events as one batch and return only once they
    are on disk (``EventLog.append``), raising ``OSError`` if it cannot; the daemon's
    ``record`` does that and folds them into its state. ``device`` is this device's id
    (the events' segment), ``zone`` the user's zone name for the events (default: the
    config's ``timezone``, else the system's). ``transport`` replaces the SMTP client
    (given the message, the envelope sender and the recipient); tests use the real one.
    """
    due = due_mail(state, now)
    if not due:
        return []
    from coffeechat.events.zones import local_zone_key

    zone_key = zone or settings.timezone or local_zone_key()
    after = getattr(state, "last_hlc", 0)
    stamp = Stamp(now, device, zone_key, **({"after": after} if after else {}))
    warnings: list[str] = []
    ready = []
    for mail in due:
        moot = moot_reason(state, mail)
        if moot is None:
            ready.append(mail)
            continue
        event = stamp(
            m.MailFailed, contact=mail.contact, queued=mail.id, reason=moot, permanent=True
        )
        if _append(append, [event], warnings, _label(state, mail)):
            warnings.append(f"{_label(state, mail)} not sent: {moot}")
    if not ready:
        return warnings
    try:
        config, sender, password = _configuration(settings)
    except UserError as error:
        for mail in ready:
            _failed(state, mail, stamp, now, str(error), False, append, warnings, RETRY_FOR)
        return warnings
    retry_for = config.retry_for.delta
    send = transport or SmtpTransport(config, password).send
    for mail in ready:
        label = _label(state, mail)
        started = stamp(
            m.MailSending, contact=mail.contact, queued=mail.id, attempt=mail.attempts + 1
        )
        if not _append(append, [started], warnings, label):
            return warnings  # never send what could not be recorded as being sent
        try:
            message = build_message(state, mail, sender, now)
        except UserError as error:
            _failed(state, mail, stamp, now, str(error), True, append, warnings, retry_for)
            continue
        outcome = send(message, _address(sender), mail.to)
        if outcome.result == "sent":
            events = [
                stamp(
                    m.MailSent,
                    contact=mail.contact,
                    queued=mail.id,
                    message_id=str(message["Message-ID"]),
                ),
                journey_step(stamp, mail),
            ]
            if _append(append, as_one_batch(events), warnings, label, sent=True):
                LOG.info("sent %s to %s", label, mail.to)
        elif outcome.result == "refused":
            _failed(
                state,
                mail,
                stamp,
                now,
                outcome.detail,
                outcome.permanent,
                append,
                warnings,
                retry_for,
            )
        else:
            warnings.append(
                f"{label} may or may not have been sent ({outcome.detail}): it will not be "
                f"sent again by itself; see 'coffeechat agenda'"
            )
    return warnings


def moot_reason(state: State, mail: QueuedMail) -> str | None:
    """Return why a queued mail should no longer go out (None: it should)."""
    contact = state.contacts.get(mail.contact)
    if contact is None:
        return "the contact is gone"
    if contact.archived is not None and contact.archived.at >= mail.queued_at:
        return f"{contact.name} was archived after it was queued"
    replied = contact.replied
    if mail.kind in ("outreach", "nudge") and replied is not None and replied.at > mail.queued_at:
        return f"{contact.name} replied after it was queued"
    thanked = contact.thanked
    if mail.kind == "thank-you" and thanked is not None and thanked.at > mail.queued_at:
        return "a thank-you was recorded after it was queued"
    return None


def journey_step(stamp: Stamp, mail: QueuedMail) -> m.Event:
    """Return the journey event a sent mail is: ``outreach.sent`` (by e-mail) for an
    outreach or a nudge, ``thanks.sent`` for a thank-you, ``touch.logged`` otherwise."""
    if mail.kind in ("outreach", "nudge"):
        return stamp(m.OutreachSent, contact=mail.contact, channel="email")
    if mail.kind == "thank-you":
        return stamp(m.ThanksSent, contact=mail.contact)
    return stamp(m.TouchLogged, contact=mail.contact, note=f"{KIND_NAMES[mail.kind]} e-mail")


def build_message(state: State, mail: QueuedMail, sender: str, now: datetime) -> EmailMessage:
    """Return the message of a queued mail, with its Date and a Message-ID made from the
    queued event's id (the same on every attempt, so the server's log and the user's
    Sent folder can be searched for it)."""
    from coffeechat.plugins.mail import Draft, to_message

    contact = state.contacts.get(mail.contact)
    draft = Draft(
        contact=mail.contact,
        kind=mail.kind,
        name=contact.name if contact is not None else mail.contact,
        to=mail.to,
        subject=mail.subject,
        body=mail.body,
        template="",
    )
    return to_message(draft, sender, message_id=message_id(mail, sender), date=now)


def message_id(mail: QueuedMail, sender: str) -> str:
    """Return the Message-ID of a queued mail: ``<coffeechat.ID@sender's domain>``."""
    domain = _address(sender).rpartition("@")[2] or "coffeechat.invalid"
    return f"<coffeechat.{mail.id.lower()}@{domain}>"


def _address(sender: str) -> str:
    from email.utils import parseaddr

    return parseaddr(sender)[1] or sender


def _configuration(settings: Settings) -> tuple[MailSettings, str, str | None]:
    from coffeechat.plugins.mail_settings import (
        NOT_CONFIGURED,
        check_password_private,
        mail_password,
        mail_settings,
    )

    config = mail_settings(settings)
    if not config.configured or config.sender is None:
        raise UserError(NOT_CONFIGURED)
    if settings.source is not None:
        check_password_private(settings.source, config)
    password = mail_password(config) if config.user is not None else None
    return config, config.sender, password


def _failed(
    state: State,
    mail: QueuedMail,
    stamp: Stamp,
    now: datetime,
    detail: str,
    permanent: bool,
    append: Append,
    warnings: list[str],
    retry_for: timedelta,
) -> None:
    """Record a mail that was certainly not sent: given up, or to be tried again."""
    label = _label(state, mail)
    if not permanent and now >= mail.send_at + retry_for:
        detail = f"given up after trying for {_span(retry_for)}: {detail}"
        permanent = True
    retry_at = None if permanent else now + min(FIRST_RETRY * 2**mail.failures, LONGEST_RETRY)
    event = stamp(
        m.MailFailed,
        contact=mail.contact,
        queued=mail.id,
        reason=one_line(detail, 500),
        permanent=permanent,
        retry_at=retry_at,
    )
    if not _append(append, [event], warnings, label):
        return
    if permanent:
        warnings.append(f"{label} was not sent: {one_line(detail, 500)}")
    else:
        assert retry_at is not None
        warnings.append(
            f"{label} not sent yet: {one_line(detail, 500)}; "
            f"next try {retry_at.isoformat(timespec='seconds')}"
        )


def _span(delta: timedelta) -> str:
    from coffeechat.events.when import format_duration

    return format_duration(delta)


def _append(
    append: Append, events: list[m.Event], warnings: list[str], label: str, *, sent: bool = False
) -> bool:
    try:
        append(events)
    except Exception as error:  # OSError mostly; whatever it is, the log did not take it
        what = (error.strerror if isinstance(error, OSError) else None) or str(error)
        if sent:
            warnings.append(
                f"{label} was sent, but that could not be recorded ({what}): it shows as unknown"
            )
        else:
            warnings.append(f"{label}: could not write to the log ({what}); nothing sent")
        return False
    return True


def _label(state: State, mail: QueuedMail) -> str:
    contact = state.contacts.get(mail.contact)
    name = contact.name if contact is not None else mail.contact
    return f"the {KIND_NAMES.get(mail.kind, mail.kind)} e-mail to {name}"


# --- the agenda ------------------------------------------------------------------------------


def queued_mail_rows(state: State, now: datetime, zone: ZoneInfo | None = None) -> list[Reminder]:
    """Return what the agenda shows about e-mail: reminders of kind ``mail``.

    One per mail still waiting (due at its ``send_at`` or ``retry_at``), per mail whose
    fate is unknown (high priority, due when it was being sent, saying what to check and
    the two commands that settle it) and per mail not sent in the last week (high
    priority). Sent and replaced mail shows nothing. Ids are stable
    (:func:`~coffeechat.plugins.reminders.make_reminder`, from the mail's id and status).
    """
    from coffeechat.plugins.playbook.common import clock

    if zone is None:
        from coffeechat.events.zones import local_zone

        zone = local_zone()
    rows = []
    for mail in sorted(state.mail.values(), key=lambda mail: mail.id):
        contact = state.contacts.get(mail.contact)
        if contact is None:
            continue
        what = f"The {KIND_NAMES.get(mail.kind, mail.kind)} e-mail to {contact.name}"
        handle = contact.handle
        kind_option = f" --kind {mail.kind}"
        changed = mail.changed or mail.queued_at
        if mail.status == "queued":
            due = _moment(mail)
            message = f"{what} goes out {clock(due, zone)} ('coffeechat undo' takes it back)"
            if mail.failures:
                message = f"{what} will be tried again {clock(due, zone)}: {mail.reason}"
            priority = "normal"
        elif mail.status == "sending" and now - changed < IN_FLIGHT:
            due, priority = changed, "normal"
            message = f"{what} is being sent"
        elif mail.status == "sending":
            due, priority = changed, "high"
            message = (
                f"{what} may or may not have gone out (sending stopped on "
                f"{clock(changed, zone)}). Check your Sent folder, the server's log or with "
                f"them for Message-ID coffeechat.{mail.id.lower()}@…; then "
                f"'coffeechat send {handle}{kind_option} --was-sent' if it went, or "
                f"'coffeechat send {handle}{kind_option} --again' to send it again"
            )
        elif mail.status == "failed" and now - changed < FAILED_SHOWN:
            due, priority = changed, "high"
            message = (
                f"{what} was not sent: {mail.reason}. "
                f"Fix it, then 'coffeechat send {handle}{kind_option}'"
            )
        else:
            continue
        rows.append(
            make_reminder(
                "mail",
                handle,
                due,
                message,
                because=[mail.id],
                priority=priority,  # type: ignore[arg-type]
                key=mail.status,
            )
        )
    return rows
