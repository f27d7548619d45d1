"""The e-mails themselves: drafts composed from templates (docs/mail.md).

The article is precise about the outreach: e-mail, say exactly what you want to learn,
ask for little, make it easy for them (times in their zone, offer to come to them, pick
up the tab); and the thank-you is a must. Each kind of e-mail is a template, a text
file the user can override (``<config>/templates/<kind>.txt``): a ``Subject:`` line, a
blank line, the body. Placeholders are ``$name`` or ``${name}`` (:data:`PLACEHOLDERS`;
``$$`` is a dollar sign); one the composer does not know is an error naming the file.
After filling in, a sentence left empty leaves no double space or extra blank line.

:func:`compose` is pure apart from reading the template: the state, the instant, the
zones and the settings come in, a :class:`Draft` comes out. :func:`to_message` makes the
RFC 5322 message (``email.message.EmailMessage``), imported only when one is made.
"""

from __future__ import annotations

import os
import re
import string
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import msgspec

from coffeechat.events.errors import UserError
from coffeechat.events.projection import Contact, State
from coffeechat.plugins.playbook.common import unanswered
from coffeechat.plugins.slots import booked_meetings, plan_slots

if TYPE_CHECKING:
    from email.message import EmailMessage
    from zoneinfo import ZoneInfo

    from coffeechat.plugins.mail_settings import MailSettings

KINDS = ("outreach", "nudge", "thank-you", "follow-up", "congratulate")
# Kinds that wait for the contact's next send window when queued without --now/--when.
WINDOW_KINDS = ("outreach", "nudge", "follow-up", "congratulate")
TEMPLATE_DIR = os.path.join(os.path.dirname(__file__), "templates")

PLACEHOLDERS = {
    "name": "their full name",
    "first_name": "their first name",
    "company": "their company",
    "role": "their role",
    "where": "role at company (what is known of it)",
    "learn": "what you want to learn from them (add/edit --learn)",
    "introduction": "a sentence naming who introduced you, or nothing",
    "via_name": "who introduced you, or nothing",
    "minutes": "how long a meeting you ask for ([mail] meeting_minutes)",
    "times": "two or three Tuesday/Wednesday times in their zone, one per line",
    "times_note": "a sentence when those times are outside your working hours, or nothing",
    "outreach_when": "when you last reached out ('on Tuesday', 'on 1 December')",
    "met_when": "when you met ('yesterday', 'on Tuesday', 'on 1 December')",
    "learned": "what you learned when you met (met --learned)",
    "learned_sentence": "a sentence naming what you learned, or nothing",
    "asked": "the ask you made when you met (met --asked)",
    "ask_sentence": "a sentence thanking them for considering your ask, or nothing",
    "ask_followup": "a sentence following up on your ask (or asking how they are)",
    "news": "a sentence about their new role or company",
    "your_name": "your name ([mail] name, else the name in [mail] from)",
}
# What a draft cannot do without when its template uses it, and how to give it.
ESSENTIAL = {"learn": "say what you want to learn: coffeechat edit {handle} --learn TEXT"}

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class Draft(msgspec.Struct, kw_only=True):
    """A composed e-mail: to whom, subject and body, and what it still lacks.

    ``missing`` says, for each essential value the template needed and the contact
    lacks, how to give it (the body shows a ``[bracketed]`` gap there); ``notes`` are
    things worth knowing (the times are outside your hours, their zone is unknown).
    """

    contact: str
    kind: str
    name: str
    to: str | None
    subject: str
    body: str
    template: str
    missing: list[str] = []
    notes: list[str] = []


def default_kind(contact: Contact, stage: str) -> str:
    """Given a contact and its stage, return the e-mail due: ``outreach`` (new, planned,
    or reached only by another channel), ``nudge`` (an e-mail outreach unanswered),
    ``thank-you`` (met), ``follow-up`` (thanked, in touch). Raise UserError otherwise."""
    if stage in ("new", "planned"):
        return "outreach"
    if stage in ("reached", "no-reply"):
        by_email = any(outreach.channel == "email" for outreach in unanswered(contact))
        return "nudge" if by_email else "outreach"
    if stage == "met":
        return "thank-you"
    if stage in ("thanked", "in-touch"):
        return "follow-up"
    raise UserError(
        f"{contact.name} is at stage {stage}: no e-mail is due; choose one with "
        f"--kind {'|'.join(KINDS)}"
    )


def compose(
    state: State,
    contact: Contact,
    kind: str,
    *,
    now: datetime,
    earliest: datetime,
    mail: MailSettings,
    your_zone: ZoneInfo,
    their_zone: ZoneInfo | None,
    config_dir: str,
) -> Draft:
    """Compose the ``kind`` e-mail to ``contact``.

    ``earliest`` is when the meeting times offered may begin (the moment the mail goes
    out); ``their_zone`` is None when the contact's zone is unknown (yours is used, and
    a note says so). The template is the user's ``<config_dir>/templates/<kind>.txt``
    if there is one, else the built-in. Raise UserError for an unknown kind or a
    template that cannot be used (naming the file and what is wrong).
    """
    if kind not in KINDS:
        raise UserError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    path = template_path(kind, config_dir)
    subject_template, body_template = read_template(path)
    used = set(subject_template.get_identifiers()) | set(body_template.get_identifiers())
    unknown = sorted(used - set(PLACEHOLDERS))
    if unknown:
        raise UserError(f"{path}: unknown placeholder ${unknown[0]}: see docs/mail.md for the list")
    notes = []
    if their_zone is None and used & {"times", "times_note"}:
        notes.append(
            f"{contact.name}'s time zone is unknown: the times are in yours "
            f"(coffeechat edit {contact.handle} --tz ZONE)"
        )
    values = _values(
        state, contact, now, earliest, mail, your_zone, their_zone or your_zone, notes, used
    )
    missing = []
    for key, fix in ESSENTIAL.items():
        if key in used and not values[key]:
            missing.append(fix.format(handle=contact.handle))
            values[key] = f"[{PLACEHOLDERS[key].split(' (')[0]}]"
    subject = " ".join(subject_template.substitute(values).split())
    body = tidy(body_template.substitute(values))
    return Draft(
        contact=contact.handle,
        kind=kind,
        name=contact.name,
        to=contact.email,
        subject=subject,
        body=body,
        template=path,
        missing=missing,
        notes=notes,
    )


def template_path(kind: str, config_dir: str) -> str:
    """Return the template of ``kind``: the user's override if present, else the built-in."""
    own = os.path.join(config_dir, "templates", f"{kind}.txt")
    return own if os.path.exists(own) else os.path.join(TEMPLATE_DIR, f"{kind}.txt")


def read_template(path: str) -> tuple[string.Template, string.Template]:
    """Read a template file: ``Subject: …``, a blank line, the body. Return the subject's
    and the body's templates. Raise UserError naming the file if it is not that shape or
    a ``$`` is not a placeholder (``$$`` writes a dollar sign)."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise UserError(f"{path}: cannot read the template ({reason})") from None
    head, blank, body = text.replace("\r\n", "\n").partition("\n\n")
    if not blank or not head.startswith("Subject:") or "\n" in head.strip():
        raise UserError(f"{path}: a template starts with 'Subject: …' and a blank line")
    subject = string.Template(head.removeprefix("Subject:").strip())
    content = string.Template(body)
    for part in (subject, content):
        if not part.is_valid():
            raise UserError(f"{path}: a '$' that is no placeholder: write $$ for a dollar sign")
    return subject, content


def tidy(text: str) -> str:
    """Given a filled-in body, return it without the traces of empty placeholders: no
    double spaces, no spaces at line ends, at most one blank line in a row."""
    lines = [re.sub(r"(?<=\S) {2,}", " ", line).rstrip() for line in text.split("\n")]
    lines = [re.sub(r"(?<=\S) +(?=[.,;:!?](\s|$))", "", line) for line in lines]
    lines = [line.lstrip() if not line.lstrip().startswith("- ") else line for line in lines]
    folded = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return folded.strip("\n") + "\n"


def word_count(text: str) -> int:
    """Return how many words a body has (what 'under 200 words' counts)."""
    return len(text.split())


# --- placeholders --------------------------------------------------------------------------


def _values(
    state: State,
    contact: Contact,
    now: datetime,
    earliest: datetime,
    mail: MailSettings,
    your_zone: ZoneInfo,
    their_zone: ZoneInfo,
    notes: list[str],
    used: set[str],
) -> dict[str, str]:
    held = contact.held[-1] if contact.held else None
    learned = held.learned if held is not None and held.learned else ""
    asked = held.asked if held is not None and held.asked else ""
    via = state.contacts.get(contact.via) if contact.via else None
    values = {
        "name": contact.name,
        "first_name": contact.name.split()[0] if contact.name.split() else contact.name,
        "company": contact.company or "",
        "role": contact.role or "",
        "where": values_where(contact),
        "learn": (contact.learn or "").strip().rstrip("."),
        "via_name": via.name if via is not None else "",
        "introduction": f"{via.name} suggested I get in touch with you." if via else "",
        "minutes": str(mail.meeting_minutes),
        "times": "",
        "times_note": "",
        "outreach_when": "recently",
        "met_when": "",
        "learned": learned.strip().rstrip("."),
        "learned_sentence": f"What stayed with me most: {learned.strip().rstrip('.')}."
        if learned
        else "",
        "asked": asked.strip().rstrip("."),
        "ask_sentence": (
            f"Thank you as well for considering my ask, {asked.strip().rstrip('.')}: "
            "I would be very grateful for it."
            if asked
            else ""
        ),
        "ask_followup": (
            f"When we met, I asked about {asked.strip().rstrip('.')}. If that is still "
            "possible, I would be very grateful; and if not, no worries at all."
            if asked
            else "I would love to hear how things are going on your side."
        ),
        "news": (
            f"I just saw that you are now {values_where(contact)}."
            if contact.role or contact.company
            else "I just saw your news."
        ),
        "your_name": your_name(mail),
    }
    runs = unanswered(contact)
    if runs:
        values["outreach_when"] = _when(runs[-1].at, now, their_zone)
    if held is not None:
        values["met_when"] = _when(held.at, now, your_zone)
    if used & {"times", "times_note"}:
        hours = mail.hours()
        slots = plan_slots(
            earliest,
            their_zone,
            your_zone,
            booked_meetings(state),
            minutes=mail.meeting_minutes,
            working_hours=hours,
            their_hours=mail.hours_of_others(),
            lead=timedelta(days=1),
        )
        values["times"] = "\n".join(time_line(slot, their_zone, your_zone) for slot in slots.times)
        if not slots.shared:
            values["times_note"] = (
                "These fall inside your working hours and outside mine, which is no "
                "trouble at all for me."
            )
            notes.append(
                f"your working hours and {contact.name}'s never meet on a Tuesday or "
                "Wednesday: the times are in theirs"
            )
    return values


def values_where(contact: Contact) -> str:
    """Return ``role at company`` with what is known of either."""
    return " at ".join(part for part in (contact.role, contact.company) if part)


def your_name(mail: MailSettings) -> str:
    """Return how you sign: ``[mail] name``, else the name in ``[mail] from``, else nothing."""
    if mail.name:
        return mail.name
    if mail.sender and "<" in mail.sender:
        return mail.sender.split("<", 1)[0].strip().strip('"')
    return ""


def time_line(slot: datetime, their_zone: ZoneInfo, your_zone: ZoneInfo) -> str:
    """Return one offered time: ``- Tuesday 1 December, 10:00`` on their clock, with
    yours beside it when the two clocks differ then."""
    theirs = slot.astimezone(their_zone)
    line = f"- {_date(theirs)}, {theirs:%H:%M}"
    mine = slot.astimezone(your_zone)
    if mine.utcoffset() == theirs.utcoffset():
        return line
    day = "" if mine.date() == theirs.date() else f"{_date(mine)}, "
    return f"{line} your time ({day}{mine:%H:%M} for me in {city(your_zone)})"


def city(zone: ZoneInfo) -> str:
    """Return a zone as people name it: ``America/New_York`` → ``New York``."""
    return zone.key.rsplit("/", 1)[-1].replace("_", " ")


def _date(local: datetime) -> str:
    return f"{_DAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]}"


def _when(instant: datetime, now: datetime, zone: ZoneInfo) -> str:
    """Return a past instant as a sentence says it: ``today``, ``yesterday``, ``on
    Tuesday`` (within the week), else ``on 1 December``."""
    then, today = instant.astimezone(zone).date(), now.astimezone(zone).date()
    days = (today - then).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 7:
        return f"on {_DAYS[then.weekday()]}"
    return f"on {then.day} {_MONTHS[then.month - 1]}"


# --- the message ---------------------------------------------------------------------------


def to_message(
    draft: Draft,
    sender: str | None,
    *,
    unsent: bool = False,
    message_id: str | None = None,
    date: datetime | None = None,
    eight_bit: bool = False,
) -> EmailMessage:
    """Return the draft as an RFC 5322 message (``From`` when ``sender`` is given, ``To``
    when the contact has an address). ``unsent`` adds ``X-Unsent: 1``, which makes mail
    programs open it as a message to send. ``eight_bit`` keeps the body as it is, long
    lines and non-ASCII text readable (a draft to read: take it with ``as_bytes()``);
    otherwise it is encoded for any SMTP server."""
    from email.headerregistry import Address
    from email.message import EmailMessage
    from email.utils import format_datetime

    message = EmailMessage()
    if sender is not None:
        message["From"] = sender
    if draft.to:
        try:
            message["To"] = Address(display_name=draft.name, addr_spec=draft.to)
        except (ValueError, IndexError):  # email.errors.HeaderParseError is a ValueError
            raise UserError(
                f"{draft.name}'s e-mail address {draft.to!r} is not valid: "
                f"coffeechat edit {draft.contact} --email ADDRESS"
            ) from None
    message["Subject"] = draft.subject
    if date is not None:
        message["Date"] = format_datetime(date)
    if message_id is not None:
        message["Message-ID"] = message_id
    if unsent:
        message["X-Unsent"] = "1"
    if eight_bit and max(map(len, draft.body.splitlines() or [""])) < 900:
        message.set_content(draft.body, cte="7bit" if draft.body.isascii() else "8bit")
    else:  # quoted-printable or base64, as the text needs: any SMTP server takes it
        message.set_content(draft.body)
    return message
