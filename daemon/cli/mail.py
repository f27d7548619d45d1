"""Mail commands: ``draft`` (the e-mail, to read, save or open) and ``send`` (queue it
for the daemon, which sends it at most once). See docs/mail.md.

Neither imports ``smtplib``: ``send`` only records ``mail.queued``; the daemon sends.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from coffeechat.daemon.cli.app import App
from coffeechat.daemon.cli.render import moment, short_id
from coffeechat.daemon.cli.spec import Command
from coffeechat.events import model as m
from coffeechat.events.decisions import Decision
from coffeechat.events.errors import UserError
from coffeechat.events.projection import Contact, QueuedMail
from coffeechat.plugins.mail import KINDS, WINDOW_KINDS, Draft, compose, default_kind, to_message

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from coffeechat.plugins.mail_settings import MailSettings
    from coffeechat.plugins.settings import Settings

OPENER_VARIABLE = "COFFEECHAT_OPENER"
OPENER_WAIT_SECONDS = 10.0


class MailContext:
    """What both commands need: the settings, your zone, the contact's zone and stage."""

    def __init__(self, app: App, contact: Contact) -> None:
        from coffeechat.plugins.mail_settings import load_mail_config

        self.app = app
        self.contact = contact
        self.settings: Settings = load_mail_config(app.home.config_file)
        self.mail: MailSettings = self.settings.section("mail")

    @property
    def your_zone(self) -> ZoneInfo:
        """Your zone: ``timezone`` in config.toml, else the system's."""
        from coffeechat.events.zones import zone_named

        return zone_named(self.settings.timezone) if self.settings.timezone else self.app.zone

    @property
    def their_zone(self) -> ZoneInfo | None:
        """The contact's zone, or None when it is unknown (or no longer a known zone)."""
        from coffeechat.events.zones import zone_named

        if not self.contact.tz:
            return None
        try:
            return zone_named(self.contact.tz)
        except UserError:
            return None

    def stage(self) -> str:
        """The contact's stage under the configured nudge settings."""
        from coffeechat.events.stages import stage_of

        playbook = self.settings.playbook
        return stage_of(
            self.contact,
            self.app.now,
            nudge_after=playbook.nudge_after.delta,
            max_nudges=playbook.max_nudges,
        )

    def kind(self, asked: str | None) -> str:
        """The kind asked for, else the one the stage calls for."""
        if self.contact.archived is not None:
            raise UserError(f"{self.contact.name} is archived: no e-mail to write")
        return asked or default_kind(self.contact, self.stage())

    def compose(self, kind: str, earliest: datetime) -> Draft:
        """Compose the ``kind`` e-mail with meeting times from ``earliest`` on."""
        return compose(
            self.app.state,
            self.contact,
            kind,
            now=self.app.now,
            earliest=earliest,
            mail=self.mail,
            your_zone=self.your_zone,
            their_zone=self.their_zone,
            config_dir=self.app.home.config_dir,
        )


def _contact_and_kind(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("contact", metavar="CONTACT", help="handle, or the start of a name")
    parser.add_argument(
        "--kind",
        choices=KINDS,
        help="which e-mail (default: the one the stage calls for)",
    )


# --- draft -----------------------------------------------------------------------------------


def _configure_draft(parser: argparse.ArgumentParser) -> None:
    _contact_and_kind(parser)
    parser.add_argument(
        "--eml", metavar="FILE", help="write it to FILE as a draft mail programs open unsent"
    )
    parser.add_argument(
        "--open", action="store_true", help="open it in your mail program ($COFFEECHAT_OPENER)"
    )


def _run_draft(app: App, args: argparse.Namespace) -> int | None:
    context = MailContext(app, app.contact(args.contact))
    draft = context.compose(context.kind(args.kind), app.now)
    sender = context.mail.sender
    for notice in draft.notes:
        app.warn(notice, label="note")
    for fix in draft.missing:
        app.warn(fix, label="tip")
    if args.eml is None and not args.open:
        text = to_message(draft, sender, eight_bit=True).as_bytes().decode("utf-8")
        if app.json:
            app.print_json({**_draft_json(draft), "message": text})
        else:
            app.stdout.write(text if text.endswith("\n") else text + "\n")
        return None
    path = args.eml or os.path.join(
        app.home.data_dir, "drafts", f"{draft.contact}-{draft.kind}.eml"
    )
    from email.policy import SMTP  # an .eml file has CRLF line ends

    message = to_message(draft, sender, unsent=True, eight_bit=True)
    _write_private(path, message.as_bytes(policy=SMTP))
    if app.json:
        app.print_json({**_draft_json(draft), "eml": path})
    else:
        app.out(f"wrote the {draft.kind} e-mail to {draft.name}: {path}")
    if args.open:
        return _open(app, path)
    return None


def _draft_json(draft: Draft) -> dict[str, Any]:
    return {
        "contact": draft.contact,
        "kind": draft.kind,
        "to": draft.to,
        "subject": draft.subject,
        "body": draft.body,
        "missing": draft.missing,
        "notes": draft.notes,
        "template": draft.template,
    }


def _write_private(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` (0600 when new: a draft is private)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with open(descriptor, "wb") as file:
        file.write(data)


def opener_command(environ: dict[str, str] | None = None) -> list[str]:
    """Return the command that opens a file in the desktop's program for it:
    ``$COFFEECHAT_OPENER`` (split like a shell would, the file appended), else
    ``xdg-open`` (``open`` on macOS). Raise UserError for an unreadable variable."""
    import shlex

    source = os.environ if environ is None else environ
    chosen = source.get(OPENER_VARIABLE, "").strip()
    if chosen:
        try:
            words = shlex.split(chosen)
        except ValueError as error:
            raise UserError(f"{OPENER_VARIABLE}: {error}") from None
        if words:
            return words
    return ["open"] if sys.platform == "darwin" else ["xdg-open"]


def _open(app: App, path: str) -> int:
    """Hand the draft to the opener; return 0, or 1 when it could not run or failed."""
    import subprocess

    command = [*opener_command(), path]
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as error:
        app.warn(
            f"could not open the draft with {command[0]!r} ({error.strerror or error}): "
            f"set {OPENER_VARIABLE}, or open {path} yourself"
        )
        return 1
    try:
        status = process.wait(OPENER_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        return 0  # a mail program that stays in the foreground: leave it running
    if status != 0:
        app.warn(f"{command[0]!r} could not open {path} (exit status {status})")
        return 1
    return 0


# --- send ------------------------------------------------------------------------------------


def _configure_send(parser: argparse.ArgumentParser) -> None:
    _contact_and_kind(parser)
    moment_group = parser.add_mutually_exclusive_group()
    moment_group.add_argument("--now", action="store_true", help="send it at once")
    moment_group.add_argument(
        "--when", metavar="WHEN", help="send it then (default: the next send window in their zone)"
    )
    settle = parser.add_mutually_exclusive_group()
    settle.add_argument(
        "--again",
        action="store_true",
        help="a mail whose fate was unknown did not arrive: send it again",
    )
    settle.add_argument(
        "--was-sent",
        action="store_true",
        dest="was_sent",
        help="a mail whose fate was unknown did go out: record it as sent",
    )


def _run_send(app: App, args: argparse.Namespace) -> None:
    from coffeechat.plugins.mail_settings import NOT_CONFIGURED, check_password_private

    contact = app.contact(args.contact)
    context = MailContext(app, contact)
    if not context.mail.configured:
        raise UserError(NOT_CONFIGURED)
    check_password_private(app.home.config_file, context.mail)
    if contact.archived is not None:
        raise UserError(f"{contact.name} is archived: no e-mail to send")
    if args.again or args.was_sent:
        unknown = _unknown_mail(app, contact, args.kind)
        if args.was_sent:
            if args.now or args.when:
                raise UserError("--was-sent records what happened: it takes no --now or --when")
            _record(app, _was_sent(app, unknown))
            return
        send_at = app.now if args.when is None else _future(app, args.when)
        again = app.stamp()(
            m.MailQueued,
            contact=contact.handle,
            kind=unknown.kind,
            to=contact.email or unknown.to,  # a corrected address is the likely reason
            subject=unknown.subject,
            body=unknown.body,
            send_at=send_at,
            replaces=unknown.id,
        )
        _record(app, Decision([again]))
        return
    if not contact.email:
        fix = f"coffeechat edit {contact.handle} --email ADDRESS"
        raise UserError(f"{contact.name} has no e-mail address: {fix}")
    kind = context.kind(args.kind)
    _refuse_twice(app, contact, kind)
    send_at = _send_at(app, context, kind, args)
    draft = context.compose(kind, send_at)
    if draft.missing:
        raise UserError(f"the {kind} e-mail to {contact.name} is not ready: {draft.missing[0]}")
    to_message(draft, context.mail.sender)  # an address the message cannot carry is refused
    event = app.stamp()(
        m.MailQueued,
        contact=contact.handle,
        kind=kind,
        to=contact.email,
        subject=draft.subject,
        body=draft.body,
        send_at=send_at,
    )
    _record(app, Decision([event], notices=draft.notes))


def _send_at(app: App, context: MailContext, kind: str, args: argparse.Namespace) -> datetime:
    """When the mail goes out: ``--now``, ``--when``, else the next send window in the
    contact's zone for an outreach, nudge, follow-up or congratulation, else now."""
    if args.now:
        return app.now
    if args.when is not None:
        return _future(app, args.when)
    if kind not in WINDOW_KINDS:
        return app.now
    from coffeechat.plugins.playbook.common import contact_zone
    from coffeechat.plugins.schedules import next_in_window, use_cache_folder

    use_cache_folder(app.home.cache_dir)
    window = context.settings.playbook.send_window.text
    return next_in_window(app.now, window, contact_zone(context.contact, context.settings))


def _future(app: App, text: str) -> datetime:
    moment_ = app.when(text)
    if moment_ < app.now:
        raise UserError(f"--when {text!r} is in the past: use --now to send it at once")
    return moment_


def _mail_of(app: App, contact: Contact) -> list[QueuedMail]:
    return [mail for mail in app.state.mail.values() if mail.contact == contact.handle]


def _refuse_twice(app: App, contact: Contact, kind: str) -> None:
    """Refuse to queue a second mail of one kind while the first waits or is unknown."""
    from coffeechat.daemon.mailer import IN_FLIGHT

    for mail in _mail_of(app, contact):
        if mail.kind != kind:
            continue
        if mail.status == "queued":
            raise UserError(
                f"the {kind} e-mail to {contact.name} is already queued for "
                f"{moment(mail.send_at, app.zone, app.now)}: 'coffeechat undo' takes it back"
            )
        changed = mail.changed or mail.queued_at
        if mail.status == "sending" and app.now - changed < IN_FLIGHT:
            raise UserError(f"the {kind} e-mail to {contact.name} is being sent right now")
        if mail.status == "sending":
            raise UserError(
                f"the {kind} e-mail to {contact.name} may or may not have gone out: check, then "
                f"'coffeechat send {contact.handle} --kind {kind} --was-sent' or '--again'"
            )


def _unknown_mail(app: App, contact: Contact, kind: str | None) -> QueuedMail:
    """Return the one mail to ``contact`` (of ``kind``) whose fate is unknown."""
    from coffeechat.daemon.mailer import IN_FLIGHT

    found = [
        mail
        for mail in _mail_of(app, contact)
        if mail.status == "sending" and (kind is None or mail.kind == kind)
    ]
    if not found:
        raise UserError(
            f"no e-mail to {contact.name} is of unknown fate: --again and --was-sent settle "
            "one that 'coffeechat agenda' shows as such"
        )
    if len(found) > 1:
        kinds = ", ".join(sorted({mail.kind for mail in found}))
        raise UserError(f"several e-mails to {contact.name} are of unknown fate ({kinds}): --kind")
    mail = found[0]
    if app.now - (mail.changed or mail.queued_at) < IN_FLIGHT:
        raise UserError(
            f"the {mail.kind} e-mail to {contact.name} is being sent right now: wait a few minutes"
        )
    return mail


def _was_sent(app: App, mail: QueuedMail) -> Decision:
    from coffeechat.daemon.mailer import journey_step

    stamp = app.stamp()
    sent = stamp(m.MailSent, contact=mail.contact, queued=mail.id, confirmed=True)
    return Decision([sent, journey_step(stamp, mail)])


def _record(app: App, decision: Decision) -> None:
    state = app.state

    def describe(event: m.Event) -> str:
        from coffeechat.daemon.cli.render import describe as generic

        name = state.contacts[event.contact].name if isinstance(event, m.ContactEvent) else ""
        if isinstance(event, m.MailQueued):
            when = moment(event.send_at, app.zone, app.now)
            return (
                f"queued the {event.kind} e-mail to {name} <{event.to}> for {when}"
                f"  [{short_id(event.id)}]"
            )
        if isinstance(event, m.MailSent):
            return f"recorded the e-mail to {name} as sent  [{short_id(event.id)}]"
        return generic(event, state, app.zone)

    app.record(decision, describe)


COMMANDS: dict[str, Command] = {
    "draft": Command(
        "the e-mail to a contact (RFC 5322 text on stdout)",
        _configure_draft,
        _run_draft,
        description="Write the e-mail due to CONTACT (or --kind) from its template "
        "(<config>/templates/KIND.txt overrides the built-in; docs/mail.md).",
    ),
    "send": Command(
        "queue the e-mail for the daemon to send",
        _configure_send,
        _run_send,
        description="Queue the e-mail for the daemon to send through [mail] SMTP, at most "
        "once: an outreach, nudge or follow-up at the contact's next send window, a "
        "thank-you at once, unless --now or --when says otherwise (docs/mail.md).",
    ),
}
