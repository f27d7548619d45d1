"""The ``[calendar]`` section: where the daemon puts your meetings (docs/calendar.md).

```toml
[calendar]
file = "~/Calendars/coffeechat.ics"      # kept current, for apps that subscribe to a file
caldav = "https://dav.example.com/calendars/me/coffeechat/"
user = "me"
password_command = "pass show dav.example.com"   # or password = "…" (config 0600)
```

Every field is optional; with none, the daemon leaves calendars alone.
"""

import msgspec


class CalendarSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Where the meetings go: an ICS ``file`` kept current, and/or a ``caldav`` calendar.

    ``caldav`` is the URL of the calendar collection itself (it ends in ``/``; create the
    calendar in your calendar app or server first). ``user`` with ``password`` or
    ``password_command`` (run without a shell, its first line of output is the password)
    authenticate with HTTP basic authentication: use ``https://`` for anything but a
    server on your own machine.
    """

    file: str | None = None
    caldav: str | None = None
    user: str | None = None
    password: str | None = None
    password_command: str | None = None

    def __post_init__(self) -> None:
        if self.file is not None and not self.file.strip():
            raise ValueError("file: give a path, or leave it out")
        if self.caldav is not None:
            from urllib.parse import urlsplit  # only when a caldav URL is set

            parts = urlsplit(self.caldav)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    "caldav: expected the calendar's http:// or https:// URL, "
                    "e.g. https://dav.example.com/calendars/me/coffeechat/"
                )
        if self.password is not None and self.password_command is not None:
            raise ValueError("give either password or password_command, not both")
        if (self.password is not None or self.password_command is not None) and not self.user:
            raise ValueError("a password needs a user")
