"""The Apprise channel: every notification service Apprise knows (ntfy, Pushover,
Telegram, e-mail, Matrix, ``json://`` …), selected by its URL, and Apprise's own YAML and
TEXT configuration files.

Registered under the scheme ``*``: a channel URL whose scheme no other plugin claims goes
to Apprise. Apprise is imported only when such a channel is built (it costs ~200 ms).
Short connect and read timeouts are added unless the URL sets them, so a service that
does not answer holds its delivery for seconds, not minutes. A request that went out and
got no answer in time raises ``TimeoutError``: the service may have shown it, so the
daemon counts it as unanswered rather than failed (docs/daemon.md).
"""

import logging
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from coffeechat.events.text import printable
from coffeechat.plugins import hookimpl

CONNECT_TIMEOUT = "3"
READ_TIMEOUT = "5"


def with_timeouts(url: str) -> str:
    """Return an Apprise URL with ``cto``/``rto`` timeouts added unless it sets them."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.setdefault("cto", CONNECT_TIMEOUT)
    query.setdefault("rto", READ_TIMEOUT)
    return urlunsplit(parts._replace(query=urlencode(query)))


class AppriseChannel:
    """One Apprise URL (or config file: ``config://PATH``) as a coffeechat channel."""

    def __init__(self, url: str) -> None:
        import apprise

        # A read timeout is told from a refused connection only by Apprise's debug lines,
        # which each call captures (log_level below); they go nowhere else.
        apprise_log = logging.getLogger("apprise")
        apprise_log.setLevel(logging.DEBUG)
        apprise_log.propagate = False
        self.apprise = apprise.Apprise()
        self.last_error: str | None = None
        if url.startswith("config://"):
            config = apprise.AppriseConfig()
            if not config.add(os.path.expanduser(url.removeprefix("config://"))):
                raise ValueError("Apprise could not read that configuration file")
            self.apprise.add(config)
        elif not self.apprise.add(with_timeouts(url)):
            raise ValueError("Apprise does not understand that URL")

    def send(self, title: str, body: str, reminder: Any) -> bool:
        """Deliver through Apprise; True only when every service took it.

        Control characters in the texts (a name typed with an escape sequence) are sent
        escaped, as a terminal would show them.
        """
        result = self.apprise.notify(
            title=printable(title, lines=False), body=printable(body), log_level=logging.DEBUG
        )
        # Apprise 2.x returns a result object, truthy only on SUCCESS (not PARTIAL).
        ok = bool(result)
        self.last_error = None if ok else f"Apprise: {getattr(result, 'status', result)}"
        if not ok and _unanswered(result):
            # The request went out and no answer came: the service may have shown it.
            raise TimeoutError(f"{self.last_error}, no answer in time")
        return ok


# What requests and urllib3 say when a request was sent and no answer came back (unlike
# a refused connection or an error status, which say that nothing was delivered).
_NO_ANSWER = ("Read timed out", "Connection aborted", "closed connection without response")


def _unanswered(result: Any) -> bool:
    """Whether a failed Apprise result says a service gave no answer in time (its own
    TIMEOUT, or a read timeout in a service's log) rather than a definite failure."""
    for service in getattr(result, "results", ()):
        if getattr(getattr(service, "status", None), "name", "") == "TIMEOUT":
            return True
        for entry in service.logs():
            if any(words in str(getattr(entry, "message", "")) for words in _NO_ANSWER):
                return True
    return False


@hookimpl
def coffeechat_channels(register: Callable[..., None]) -> None:
    """Offer Apprise for every URL no other channel claims."""
    register("*", AppriseChannel)
