"""Declares the core settings sections: ``[playbook]``, ``[quiet_hours]``, ``[daemon]``,
``[calendar]`` (``[mail]`` is declared by :mod:`coffeechat.plugins.mail_settings`)."""

from collections.abc import Callable
from typing import Any

from coffeechat.plugins import hookimpl
from coffeechat.plugins.calendar_settings import CalendarSettings
from coffeechat.plugins.settings import DaemonSettings, PlaybookSettings, QuietHours


@hookimpl
def coffeechat_settings(register: Callable[..., Any]) -> None:
    """Declare ``[playbook]`` (every number of the rules), ``[quiet_hours]``, ``[daemon]``
    and ``[calendar]``."""
    register("playbook", PlaybookSettings)
    register("quiet_hours", QuietHours)
    register("daemon", DaemonSettings)
    register("calendar", CalendarSettings)
