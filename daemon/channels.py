"""Channels: building them from ``config.toml`` and the plugins, and routing reminders.

A ``[[channels]]`` URL goes to the plugin that registered its scheme (``desktop://`` is
the built-in desktop channel), or else to Apprise (the built-in plugin registered under
``*``). A channel that cannot be built is reported (its URL redacted) and left out; the
others work. With no channel configured, reminders go to the desktop when a session bus
exists, and always to the daemon's log.

``[routing]`` maps a reminder's kind, else its priority, else ``default`` to the tags of
the channels that get it; ``*`` means every channel, and is the default.
"""

import logging
from collections.abc import Mapping
from typing import Any

from coffeechat.events.text import one_line
from coffeechat.plugins.manager import Plugins
from coffeechat.plugins.reminders import Reminder
from coffeechat.plugins.settings import ChannelSettings

LOG = logging.getLogger("coffeechat.daemon")


def redact(url: str) -> str:
    """Return a channel URL with everything but its scheme hidden (tokens, topics, hosts)."""
    scheme, separator, _ = url.partition("://")
    return f"{scheme}://…" if separator else "…"


class Channel:
    """A built channel: a name safe to log, its tags, and the object that sends."""

    def __init__(self, name: str, tags: list[str], target: Any) -> None:
        self.name = name
        self.tags = tags
        self.target = target

    def send(self, title: str, body: str, reminder: Reminder) -> bool:
        """Deliver one notification; True when the service took it, False when it did not.

        Raise ``TimeoutError`` when the channel cannot tell (the request went out and no
        answer came in time): the daemon then counts an unanswered attempt, not a failure.
        """
        return bool(self.target.send(title, body, reminder))

    @property
    def last_error(self) -> str | None:
        """What went wrong last, when the channel says."""
        error = getattr(self.target, "last_error", None)
        return str(error) if error else None


class LogChannel:
    """The daemon's own log: every reminder lands there, whatever else is configured."""

    last_error = None

    def send(self, title: str, body: str, reminder: Reminder) -> bool:
        # One journal line per reminder, whatever the text holds (events/text.py).
        LOG.info("reminder %s: %s: %s", reminder.id, one_line(title), one_line(body, 2000))
        return True


def channel_factories(plugins: Plugins) -> dict[str, Any]:
    """Return each scheme a plugin registered (``*`` is Apprise's) with what builds it."""
    factories: dict[str, Any] = {}
    for _plugin, args, kwargs in plugins.collect("coffeechat_channels"):
        scheme, factory = (*args, *kwargs.values())[:2]
        factories.setdefault(scheme, factory)
    return factories


def channel_url(entry: ChannelSettings) -> str:
    """Return a ``[[channels]]`` entry's URL (``config://PATH`` for an Apprise file)."""
    return entry.url if entry.url is not None else f"config://{entry.config}"


def build_channels(
    configured: list[ChannelSettings],
    plugins: Plugins,
    environ: Mapping[str, str],
    problems: list[tuple[str, str]] | None = None,
) -> list[Channel]:
    """Return the channels to deliver through (see the module's docstring); those that
    cannot be built are logged, and added to ``problems`` as (name, why) when given."""
    factories = channel_factories(plugins)
    if not configured:
        channels = [Channel("log", [], LogChannel())]
        desktop = factories.get("desktop")
        if desktop is not None and _session_bus(environ):
            channels.append(Channel("desktop", ["desktop"], desktop("desktop://")))
        return channels
    channels = []
    for index, entry in enumerate(configured, 1):
        url = channel_url(entry)
        scheme = url.partition("://")[0]
        name = entry.name or f"{redact(url)} (channel {index})"
        factory = factories.get(scheme) or factories.get("*")
        if factory is None:
            LOG.error("channel %s: no plugin handles %s", name, redact(url))
            if problems is not None:
                problems.append((name, f"no plugin handles {redact(url)}"))
            continue
        try:
            channels.append(Channel(name, entry.tags, factory(url)))
        except Exception as error:
            LOG.error("channel %s: cannot be set up: %s", name, _redacted(error, url))
            if problems is not None:
                problems.append((name, f"cannot be set up: {_redacted(error, url)}"))
    return channels


def _redacted(error: BaseException, url: str) -> str:
    return str(error).replace(url, redact(url)) or type(error).__name__


def _session_bus(environ: Mapping[str, str]) -> bool:
    try:
        from coffeechat.plugins.channels.desktop import session_bus_available
    except ImportError:
        return False
    return bool(session_bus_available(environ))


def route(
    reminder: Reminder, channels: list[Channel], routing: dict[str, list[str]]
) -> list[Channel]:
    """Return the channels a reminder goes to, by its kind, else its priority, else default."""
    tags = routing.get(reminder.kind) or routing.get(reminder.priority) or routing.get("default")
    if not tags or "*" in tags:
        return list(channels)
    wanted = set(tags)
    return [channel for channel in channels if wanted & set(channel.tags) or channel.name == "log"]
