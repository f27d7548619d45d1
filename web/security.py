"""Who may use the dashboard: the token, the cookie, the Host header, the CSRF token.

- ``serve`` prints a URL holding a random token (as Jupyter does). A request carrying
  it gets an HttpOnly, SameSite=Strict cookie and is sent on to the same page without
  the token (so it stays out of the history); later requests carry the cookie, which
  the live updates need (an EventSource sends cookies, not a token of ours).
- Without the token or the cookie: 401. With a wrong one: 403.
- The Host header must name this machine as the URL did (127.0.0.1, localhost, or the
  ``--host`` given): a page on another site cannot reach the server through a DNS name
  of its own that points here (DNS rebinding).
- Every POST carries the CSRF token of the session in a form field, and an ``Origin``,
  when the browser sends one, must be this server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost"})


def host_name(value: str) -> str:
    """Return the host part of a Host header or a URL's netloc (no port), lower-cased;
    an IPv6 address keeps its brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end != -1 else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """The secrets of one ``serve`` run and the checks made on every request."""

    def __init__(self, host: str, port: int, token: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(32)
        self.session = secrets.token_urlsafe(32)  # the cookie's value
        self.csrf = hmac.new(self.session.encode(), b"csrf", hashlib.sha256).hexdigest()
        self.port = port
        # Two servers on two ports share cookies (cookies ignore ports): one name each.
        self.cookie_name = f"coffeechat-{port}"
        given = host_name(f"[{host}]" if ":" in host and not host.startswith("[") else host)
        self.hosts = LOOPBACK_NAMES | {given}

    def host_allowed(self, header: str | None) -> bool:
        """Whether a request's Host header names this server as its URL does."""
        return header is not None and host_name(header) in self.hosts

    def origin_allowed(self, origin: str | None) -> bool:
        """Whether a POST's Origin header (when there is one) is this server."""
        if origin is None:
            return True
        parts = urlsplit(origin)
        return parts.scheme == "http" and host_name(parts.netloc) in self.hosts

    def token_matches(self, given: str) -> bool:
        """Whether ``given`` is the token printed by ``serve``."""
        return hmac.compare_digest(given.encode(), self.token.encode())

    def cookie_state(self, header: str | None) -> str:
        """Return ``"ok"`` when the Cookie header holds this session's cookie, ``"wrong"``
        when it holds another value under our name, ``"none"`` when there is none."""
        if not header:
            return "none"
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            return "wrong"
        morsel = jar.get(self.cookie_name)
        if morsel is None:
            return "none"
        return (
            "ok" if hmac.compare_digest(morsel.value.encode(), self.session.encode()) else "wrong"
        )

    def set_cookie(self) -> str:
        """Return the Set-Cookie header value that opens the session."""
        return f"{self.cookie_name}={self.session}; HttpOnly; SameSite=Strict; Path=/"

    def csrf_matches(self, given: str | None) -> bool:
        """Whether a form's ``csrf`` field is this session's token."""
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())
