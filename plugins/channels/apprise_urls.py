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
import re
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
            scheme = url.partition("://")[0]
            if scheme.lower() not in apprise_schemes():
                raise ValueError(
                    f"no Apprise service or plugin has the scheme {scheme}:// "
                    "(the services: https://github.com/caronc/apprise/wiki)"
                )
            raise ValueError(
                f"Apprise does not accept that {scheme}:// URL: a part is missing or "
                "malformed, or the service needs a package this install lacks"
            )

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
        self.last_error = None if ok else failure_cause(result)
        if not ok and _unanswered(result):
            # The request went out and no answer came: the service may have shown it.
            raise TimeoutError(self.last_error)
        return ok


def apprise_schemes() -> set[str]:
    """Return every scheme Apprise has a service for (``json``, ``ntfy``, ``mailto`` …)."""
    from apprise.manager_plugins import NotificationManager

    manager: Any = NotificationManager()  # type: ignore[no-untyped-call]
    return {str(scheme).lower() for scheme in manager.schemas()}


# Why a request failed, read from what Apprise logged for it: fixed words only, never
# the log line itself (it may quote a URL, a token or a topic).
_CAUSES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Read timed out\.? \(read timeout=([\d.]+)\)"), "timeout: no answer within {0} s"),
    (re.compile(r"Read timed out"), "timeout: no answer in time"),
    (re.compile(r"connect timeout=([\d.]+)"), "timeout: could not connect within {0} s"),
    (re.compile(r"Connection refused"), "connection refused"),
    (
        re.compile(
            r"Name or service not known|Temporary failure in name resolution"
            r"|nodename nor servname|getaddrinfo failed|No address associated"
        ),
        "host not found",
    ),
    (
        re.compile(r"CERTIFICATE_VERIFY_FAILED|SSLError|SSL:"),
        "TLS error (certificate or handshake)",
    ),
    (
        re.compile(r"Connection aborted|closed connection without response|RemoteDisconnected"),
        "connection closed without an answer",
    ),
    (re.compile(r":\s*([A-Za-z][A-Za-z ()-]{0,60}?)\.?,\s*error=(\d{3})\b"), "HTTP {1} ({0})"),
    (re.compile(r"error=(\d{3})\b"), "HTTP {0}"),
    (re.compile(r"Connection error|Socket Exception"), "connection failed"),
]


def failure_cause(result: Any) -> str:
    """Return why a failed Apprise notification did not go through, in a few words
    (``connection refused``, ``timeout: no answer within 5 s``, ``HTTP 500 (…)``), one
    per service that failed; secrets are never part of it."""
    causes: list[str] = []
    for service in getattr(result, "results", ()):
        status = getattr(getattr(service, "status", None), "name", "")
        if status == "SUCCESS":
            continue
        text = "\n".join(str(getattr(entry, "message", "")) for entry in service.logs())
        cause = _explain(text) or ("timeout" if status == "TIMEOUT" else "")
        name = getattr(service, "name", "") or "the service"
        causes.append(cause or f"{name} refused it ({status or 'failure'}, no reason given)")
    if not causes:
        status = getattr(getattr(result, "status", None), "name", str(result))
        return f"Apprise: {status.lower()} (no service was notified)"
    return "; ".join(dict.fromkeys(causes))


def _explain(text: str) -> str:
    for pattern, words in _CAUSES:
        found = pattern.search(text)
        if found:
            return words.format(*(group.strip() for group in found.groups()))
    return ""


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
