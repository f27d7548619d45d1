"""Declares the playbook's settings sections: ``[playbook]`` and ``[quiet_hours]``."""

from collections.abc import Callable
from typing import Any

from coffeechat.plugins import hookimpl
from coffeechat.plugins.settings import DaemonSettings, PlaybookSettings, QuietHours


@hookimpl
def coffeechat_settings(register: Callable[..., Any]) -> None:
    """Declare ``[playbook]`` (every number of the rules), ``[quiet_hours]``, ``[daemon]``."""
    register("playbook", PlaybookSettings)
    register("quiet_hours", QuietHours)
    register("daemon", DaemonSettings)
