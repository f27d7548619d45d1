"""The ``[mail]`` section of ``config.toml``: how the daemon sends e-mail, and the hours
the drafts offer meetings in (docs/mail.md).

::

    [mail]
    from = "Ada Lovelace <ada@example.org>"
    smtp = "smtp+starttls://smtp.example.org:587"   # or smtps://…:465, or smtp://127.0.0.1:25
    user = "ada@example.org"
    password_command = "pass show mail/example.org"  # or password = "…" (config kept 0600)

The password is a secret: it is never shown (``repr`` redacts it, errors never quote
it), and a config holding one must not be readable by others. ``password_command`` is
run without a shell; the first line it prints is the password. A server whose
certificate is not signed by a known authority (a self-signed one on a home server) is
trusted through ``cafile``, never by turning verification off. Plain ``smtp://`` sends
everything in clear, so it takes a user and password only towards this machine
(a local relay).

This module is also the plugin that declares the section (``coffeechat_settings``).
"""

import ipaddress
import os
import re
from collections.abc import Callable
from datetime import time
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec

from coffeechat.events.errors import UserError
from coffeechat.plugins import hookimpl
from coffeechat.plugins.settings import Duration, PlaybookSettings, Settings, load_settings

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
NOT_CONFIGURED = "add [mail] to config.toml: see docs/mail.md"
_HOURS = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)-([01]?\d|2[0-4]):([0-5]\d)$")


class MailSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``[mail]``: the sender, the SMTP server and its credentials, and meeting hours.

    ``sender`` is written ``from`` in the file. ``name`` signs the drafts (default: the
    name in ``from``). ``working_hours`` are yours, ``their_hours`` what the drafts
    assume of the people you write to (default: the same), ``meeting_minutes`` how long
    a meeting you ask for lasts. ``retry_for`` is how long a mail the server refuses for
    now (a 4xx answer, or no connection) is tried again before it is given up.
    ``timeout`` is in seconds, for each exchange with the server.
    """

    sender: str | None = msgspec.field(default=None, name="from")
    name: str | None = None
    smtp: str | None = None
    user: str | None = None
    password: str | None = None
    password_command: str | None = None
    cafile: str | None = None
    timeout: Annotated[float, msgspec.Meta(gt=0, le=600)] = 60.0
    working_hours: str = "09:00-17:00"
    their_hours: str | None = None
    meeting_minutes: Annotated[int, msgspec.Meta(ge=10, le=240)] = 30
    retry_for: Duration = Duration("1d")

    def __post_init__(self) -> None:
        if self.sender is not None and "@" not in self.sender:
            raise ValueError(f"from: {self.sender!r} is not an e-mail address")
        if self.password is not None and self.password_command is not None:
            raise ValueError("give password or password_command, not both")
        if self.smtp is not None:
            _check_url(self.smtp, self.user is not None)
        for hours in (self.working_hours, self.their_hours):
            if hours is not None:
                parse_hours(hours)

    def __repr__(self) -> str:
        shown = {
            field: getattr(self, field)
            for field in self.__struct_fields__
            if field not in ("password", "password_command")
        }
        secret = "password=<redacted>" if self.password is not None else ""
        if self.password_command is not None:
            secret = "password_command=<redacted>"
        inside = ", ".join([*(f"{k}={v!r}" for k, v in shown.items()), *filter(None, [secret])])
        return f"MailSettings({inside})"

    @property
    def configured(self) -> bool:
        """Whether mail can be sent: ``from`` and ``smtp`` are both given."""
        return self.sender is not None and self.smtp is not None

    def endpoint(self) -> tuple[str, str, int]:
        """Return (scheme, host, port) of ``smtp``; ValueError if it is not set."""
        if self.smtp is None:
            raise ValueError(NOT_CONFIGURED)
        parts = urlsplit(self.smtp)
        host = parts.hostname or ""
        return parts.scheme, host, parts.port or SCHEMES[parts.scheme]

    def hours(self) -> tuple[time, time]:
        """Return your working hours."""
        return parse_hours(self.working_hours)

    def hours_of_others(self) -> tuple[time, time]:
        """Return the working hours the drafts assume of the people you write to."""
        return parse_hours(self.their_hours or self.working_hours)


def parse_hours(text: str) -> tuple[time, time]:
    """Given ``HH:MM-HH:MM``, return (start, end); raise ValueError if it is not that or
    the end is not after the start (``24:00`` is the end of the day)."""
    match = _HOURS.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"can't read {text!r} as working hours: use HH:MM-HH:MM, e.g. 09:00-17:00")
    start = time(int(match.group(1)), int(match.group(2)))
    end_hour, end_minute = int(match.group(3)), int(match.group(4))
    if end_hour == 24 and end_minute:
        raise ValueError(f"can't read {text!r} as working hours: the day ends at 24:00")
    end = time(23, 59, 59, 999999) if end_hour == 24 else time(end_hour, end_minute)
    if end <= start:
        raise ValueError(f"working hours {text!r} end before they start")
    return start, end


def _check_url(url: str, with_user: bool) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError(f"smtp: can't read {url!r} as a server URL") from None
    if parts.scheme not in SCHEMES:
        known = ", ".join(f"{scheme}://" for scheme in SCHEMES)
        raise ValueError(f"smtp: use one of {known} (e.g. smtps://smtp.example.org:465)")
    if parts.username is not None or parts.password is not None:
        raise ValueError("smtp: put the user and password in user and password, not in the URL")
    if not parts.hostname:
        raise ValueError(f"smtp: {url!r} names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"smtp: {url!r}: give only scheme://host:port")
    if port == 0:
        raise ValueError(f"smtp: {url!r}: port 0")
    if with_user and parts.scheme == "smtp" and not _loopback(parts.hostname):
        raise ValueError(
            "smtp: smtp:// sends the password in clear: use smtp+starttls:// or smtps:// "
            "(smtp:// with a user is only for a relay on this machine)"
        )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- reading the section ---------------------------------------------------------------------


@hookimpl
def coffeechat_settings(register: Callable[..., Any]) -> None:
    """Declare ``[mail]``."""
    register("mail", MailSettings)


def mail_settings(settings: Settings) -> MailSettings:
    """Return the ``[mail]`` section of validated settings.

    When no plugin declared it (the settings were loaded without this module among the
    plugins), it is read from the same config file. Raise UserError for a bad value.
    """
    try:
        section: MailSettings = settings.section("mail")
        return section
    except KeyError:
        pass
    if settings.source is None:
        return MailSettings()
    section = load_settings(settings.source, {"mail": MailSettings}).section("mail")
    return section


def load_mail_config(config_file: str) -> Settings:
    """Read ``[playbook]`` and ``[mail]`` (and ``timezone``) from ``config_file``, without
    loading the plugins: what ``draft`` and ``send`` need. Raise UserError for a bad
    value (naming the file and the path inside it)."""
    return load_settings(config_file, {"playbook": PlaybookSettings, "mail": MailSettings})


def check_password_private(config_file: str, mail: MailSettings) -> None:
    """Raise UserError if the config holds a ``[mail]`` password and group or others can
    read it (the fix: ``chmod 600``)."""
    if mail.password is None:
        return
    try:
        mode = os.stat(config_file).st_mode
    except OSError:
        return
    if mode & 0o077:
        raise UserError(
            f"{config_file} holds the [mail] password and others can read it: "
            f"chmod 600 {config_file}"
        )


def mail_password(mail: MailSettings) -> str | None:
    """Return the SMTP password: ``password``, or the first line ``password_command``
    prints. Raise UserError (never quoting the output) if the command fails."""
    if mail.password_command is None:
        return mail.password
    import shlex
    import subprocess

    try:
        words = shlex.split(mail.password_command)
    except ValueError as error:
        raise UserError(f"[mail] password_command: {error}") from None
    if not words:
        raise UserError("[mail] password_command is empty")
    try:
        completed = subprocess.run(
            words,
            capture_output=True,
            text=True,
            timeout=mail.timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UserError(
            f"[mail] password_command {words[0]!r} gave no password within {mail.timeout:g} s"
        ) from None
    except OSError as error:
        raise UserError(
            f"[mail] password_command {words[0]!r} could not run: {error.strerror or error}"
        ) from None
    lines = completed.stdout.splitlines()
    if completed.returncode != 0 or not lines or not lines[0]:
        raise UserError(
            f"[mail] password_command {words[0]!r} gave no password "
            f"(exit status {completed.returncode})"
        )
    return lines[0]
