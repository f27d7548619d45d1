"""The dashboard's HTTP server: the standard library's threaded server and a small router.

Each request checks the Host header, the token or cookie and, for a POST, the CSRF token
(:mod:`coffeechat.web.security`), then builds its page from a fresh look at the home
(:class:`~coffeechat.daemon.cli.app.App`, as a command would), one request at a time: a
page is never built from a state that a button is changing. ``/events`` streams the
changes the watcher sees (:mod:`coffeechat.web.live`) and holds no lock.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import secrets
import socket
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from coffeechat.daemon.cli.app import App
from coffeechat.events.errors import LogDamaged, UserError
from coffeechat.web import pages
from coffeechat.web.actions import Outcome, run_command
from coffeechat.web.html import Html
from coffeechat.web.live import Changes, stream
from coffeechat.web.security import Guard

MAX_FORM_BYTES = 64 * 1024
FLASHES_KEPT = 64
STATIC = {
    "app.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
SNOOZES = {"1d": "1d", "1w": "7d"}  # the Snooze buttons: 1 day, 1 week
STEPS = frozenset({"plan", "reach", "reply", "schedule", "met", "thank"})
SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    # same-origin: a form's POST carries its Origin (no-referrer would make it "null"),
    # and a link to another site carries no Referer.
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
)


class Response:
    """What a route answers: a status, headers and a body."""

    def __init__(
        self,
        status: int,
        body: bytes | str = b"",
        content_type: str = "text/html; charset=utf-8",
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = [("Content-Type", content_type), *(headers or [])]


def redirect(location: str, *headers: tuple[str, str]) -> Response:
    """Return a 303 See Other to ``location`` (after a POST, or to drop the token)."""
    return Response(HTTPStatus.SEE_OTHER, b"", headers=[("Location", location), *headers])


class Request:
    """One request as the routes see it."""

    def __init__(self, method: str, target: str, form: dict[str, str]) -> None:
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path
        self.query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        self.form = form


Route = Callable[..., Response]


class Dashboard:
    """The pages and buttons of one home; thread-safe (one request at a time)."""

    def __init__(self, home: str | None, guard: Guard, changes: Changes) -> None:
        self.home = home
        self.guard = guard
        self.changes = changes
        self.lock = threading.Lock()
        self.flashes: OrderedDict[str, tuple[list[str], bool]] = OrderedDict()
        self.routes: list[tuple[str, re.Pattern[str], Route]] = [
            ("GET", re.compile(r"/"), self.board),
            ("GET", re.compile(r"/today"), self.today),
            ("GET", re.compile(r"/insights"), self.insights),
            ("GET", re.compile(r"/contacts/(?P<handle>[^/]+)"), self.contact),
            ("GET", re.compile(r"/contacts/(?P<handle>[^/]+)/draft"), self.draft),
            ("GET", re.compile(r"/static/(?P<name>[^/]+)"), self.static),
            ("GET", re.compile(r"/favicon\.ico"), self.icon),
            ("POST", re.compile(r"/reminders/(?P<rid>[0-9a-z]+)/done"), self.done),
            ("POST", re.compile(r"/reminders/(?P<rid>[0-9a-z]+)/snooze"), self.snooze),
            ("POST", re.compile(r"/contacts/(?P<handle>[^/]+)/(?P<step>[a-z]+)"), self.step),
        ]

    # --- dispatch ------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one authorised request (the caller has checked who is asking)."""
        allowed = []
        for method, pattern, route in self.routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            with self.lock:
                try:
                    return route(request, **match.groupdict())
                except (UserError, LogDamaged, OSError) as error:
                    return _plain(HTTPStatus.INTERNAL_SERVER_ERROR, str(error))
                except Exception:  # a bug: say so on the page and in the terminal
                    traceback.print_exc()
                    return _plain(HTTPStatus.INTERNAL_SERVER_ERROR, "see the terminal")
        if allowed:
            return Response(HTTPStatus.METHOD_NOT_ALLOWED, "", headers=[("Allow", allowed[0])])
        return self._failure(HTTPStatus.NOT_FOUND, f"nothing at {request.path}")

    def _failure(self, status: int, text: str) -> Response:
        title = HTTPStatus(status).phrase
        try:
            body = self._page(None, "error", title, pages.message(title, text))
        except (UserError, LogDamaged, OSError):  # the home cannot be read: plain words
            return _plain(status, text)
        return Response(status, body)

    # --- reading -------------------------------------------------------------------------

    def app(self, *, json: bool = False) -> App:
        """Return a fresh look at the home, as a command gets (its output captured)."""
        return App(home=self.home, json=json, stdout=io.StringIO(), stderr=io.StringIO())

    def view(self, app: App | None = None) -> pages.View:
        """Return this request's view of the home."""
        return pages.View(app or self.app(), self.guard.csrf, self.changes.version)

    def _page(
        self, view: pages.View | None, name: str, title: str, main: Html, said: str = ""
    ) -> str:
        view = view or self.view()
        lines, error = self.flashes.pop(said, ([], False)) if said else ([], False)
        warnings = _lines(view.app.stderr)  # damaged lines and the like, as the CLI warns
        flash = pages.flash([*lines, *warnings], error or bool(warnings and not lines))
        return view.page(name, title, main, flash)

    def board(self, request: Request) -> Response:
        """``/``: the board (``?q=`` filters)."""
        view = self.view()
        query = request.query.get("q", "")
        main = pages.board(view, query)
        return Response(HTTPStatus.OK, self._page(view, "board", "Board", main, _said(request)))

    def today(self, request: Request) -> Response:
        """``/today``: the agenda with Done and Snooze."""
        view = self.view()
        main = pages.today(view)
        return Response(HTTPStatus.OK, self._page(view, "today", "Today", main, _said(request)))

    def insights(self, request: Request) -> Response:
        """``/insights``: the charts."""
        from coffeechat.web.charts import insights_page  # pygal: only this page needs it

        view = self.view()
        main = insights_page(view.state, view.app.zone, view.now)
        return Response(HTTPStatus.OK, self._page(view, "insights", "Insights", main))

    def contact(self, request: Request, handle: str) -> Response:
        """``/contacts/HANDLE``: one contact."""
        view = self.view()
        contact = view.state.contacts.get(handle)
        if contact is None:
            return self._failure(HTTPStatus.NOT_FOUND, f"no contact has the handle {handle!r}")
        main = pages.contact_page(view, contact)
        page = self._page(view, "contact", contact.name, main, _said(request))
        return Response(HTTPStatus.OK, page)

    def draft(self, request: Request, handle: str) -> Response:
        """``/contacts/HANDLE/draft``: the e-mail ``coffeechat draft HANDLE`` writes."""
        app = self.app(json=True)
        contact = app.state.contacts.get(handle)
        if contact is None:
            return self._failure(HTTPStatus.NOT_FOUND, f"no contact has the handle {handle!r}")
        outcome = run_command(app, "draft", ["--", handle])
        view = self.view()
        if not outcome.ok:
            main = pages.message("No e-mail to write", "; ".join(outcome.told))
            return Response(HTTPStatus.OK, self._page(view, "draft", contact.name, main))
        fields = json.loads("\n".join(outcome.said))
        main = pages.draft_page(contact, fields)
        return Response(HTTPStatus.OK, self._page(view, "draft", contact.name, main))

    def static(self, request: Request, name: str) -> Response:
        """``/static/NAME``: the style sheet, the script, the icon."""
        if name not in STATIC:
            return self._failure(HTTPStatus.NOT_FOUND, f"no file {name!r}")
        data = resources.files("coffeechat.web").joinpath("static", name).read_bytes()
        return Response(HTTPStatus.OK, data, STATIC[name])

    def icon(self, request: Request) -> Response:
        """``/favicon.ico``: the icon (browsers ask for it on pages that name none)."""
        return self.static(request, "icon.svg")

    # --- acting --------------------------------------------------------------------------

    def done(self, request: Request, rid: str) -> Response:
        """The Done button: ``coffeechat done ID``."""
        return self._act(request, "done", [rid])

    def snooze(self, request: Request, rid: str) -> Response:
        """The Snooze buttons: ``coffeechat snooze ID 1d`` (or ``7d``)."""
        until = SNOOZES.get(request.form.get("until", ""))
        if until is None:
            return self._failure(HTTPStatus.BAD_REQUEST, "snooze for 1d or 1w")
        return self._act(request, "snooze", [rid, until])

    def step(self, request: Request, handle: str, step: str) -> Response:
        """A next-step form on a contact's page: ``coffeechat STEP HANDLE …``."""
        if step not in STEPS:
            return self._failure(HTTPStatus.NOT_FOUND, f"no step {step!r}")
        return self._act(request, step, step_arguments(step, handle, request.form))

    def _act(self, request: Request, name: str, arguments: list[str]) -> Response:
        outcome: Outcome = run_command(self.app(), name, arguments)
        key = secrets.token_urlsafe(8)
        self.flashes[key] = ([*outcome.said, *outcome.told], not outcome.ok)
        while len(self.flashes) > FLASHES_KEPT:
            self.flashes.popitem(last=False)
        back = _safe_back(request.form.get("back", "/"))
        return redirect(f"{back}{'&' if '?' in back else '?'}said={key}")


def step_arguments(step: str, handle: str, form: dict[str, str]) -> list[str]:
    """Return the command-line arguments of a next-step form (options first, then ``--``
    and the positional ones, so that no typed text is ever read as an option)."""
    options: list[str] = []

    def option(name: str, field: str | None = None) -> None:
        value = form.get(field or name, "").strip()
        if value:
            options.append(f"--{name}={value}")

    if step in ("plan", "reach"):
        option("learn")
    if step == "reach":
        option("channel")
    if step == "reply" and form.get("declined"):
        options.append("--declined")
    if step == "schedule":
        for name in ("minutes", "mode", "place"):
            option(name)
    if step == "met":
        for name in ("learned", "fit", "asked", "notes"):
            option(name)
    positional = [handle]
    if step == "schedule":
        positional.append(form.get("when", "").strip())
    return [*options, "--", *positional]


def _said(request: Request) -> str:
    return request.query.get("said", "")


def _lines(stream: object) -> list[str]:
    text = stream.getvalue() if isinstance(stream, io.StringIO) else ""
    return [line for line in text.splitlines() if line.strip()]


def _safe_back(path: str) -> str:
    """Return ``path`` when it is a path on this server, else ``/`` (no open redirect)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return quote(path, safe="/?=&-_.~%")


# --- HTTP --------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    """Checks who is asking, then hands the request to the :class:`Dashboard`."""

    protocol_version = "HTTP/1.1"
    server_version = "coffeechat"
    sys_version = ""
    dashboard: Dashboard  # set on the subclass each server makes
    form_read = False  # whether this request's body has been read

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        self.form_read = False
        guard = self.dashboard.guard
        if not guard.host_allowed(self.headers.get("Host")):
            self._send(_plain(HTTPStatus.FORBIDDEN, "this server answers only to its own URL"))
            return
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if "token" in query:
            self._send(self._login(parts.path, query))
            return
        cookie = guard.cookie_state(self.headers.get("Cookie"))
        if cookie != "ok":
            status = HTTPStatus.UNAUTHORIZED if cookie == "none" else HTTPStatus.FORBIDDEN
            self._send(
                _plain(status, "open the URL that 'coffeechat serve' printed (it holds the token)")
            )
            return
        form: dict[str, str] = {}
        if method == "POST":
            checked = self._read_form()
            if isinstance(checked, Response):
                self._send(checked)
                return
            form = checked
        if parts.path == "/events" and method == "GET":
            self._events()
            return
        self._send(self.dashboard.handle(Request(method, self.path, form)))

    def _login(self, path: str, query: dict[str, list[str]]) -> Response:
        guard = self.dashboard.guard
        if not guard.token_matches(query["token"][-1]):
            return _plain(
                HTTPStatus.FORBIDDEN, "this token is not the one 'coffeechat serve' printed"
            )
        rest = "&".join(
            f"{quote(key)}={quote(value)}"
            for key, values in query.items()
            if key != "token"
            for value in values
        )
        return redirect(path + (f"?{rest}" if rest else ""), ("Set-Cookie", guard.set_cookie()))

    def _read_form(self) -> dict[str, str] | Response:
        guard = self.dashboard.guard
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_FORM_BYTES:
            self.close_connection = True
            return _plain(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "a form is at most 64 KiB")
        body = self.rfile.read(length).decode("utf-8", "replace")
        self.form_read = True
        form = {key: values[-1] for key, values in parse_qs(body, keep_blank_values=True).items()}
        if not guard.origin_allowed(self.headers.get("Origin")) or not guard.csrf_matches(
            form.get("csrf")
        ):
            return _plain(HTTPStatus.FORBIDDEN, "this form did not come from this dashboard")
        return form

    def _events(self) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def write(data: bytes) -> None:
            self.wfile.write(data)
            self.wfile.flush()

        with contextlib.suppress(OSError):  # the page went away
            stream(self.dashboard.changes, write)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        if self.command == "POST" and not self.form_read:
            # Refused before its body was read: that body must never be taken for the
            # next request on this connection, so the connection ends here.
            self.close_connection = True
            self.send_header("Connection", "close")
        for name, value in (*response.headers, *SECURITY_HEADERS):
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Say nothing per request (the terminal shows only the URL and errors)."""


def _plain(status: int, text: str) -> Response:
    return Response(
        status, f"{int(status)} {HTTPStatus(status).phrase}: {text}\n", "text/plain; charset=utf-8"
    )


class Server(ThreadingHTTPServer):
    """A threaded HTTP server whose threads never hold up its stop."""

    daemon_threads = True
    allow_reuse_address = True


def make_server(
    home: str | None, host: str, port: int, changes: Changes, token: str | None = None
) -> tuple[Server, Dashboard]:
    """Bind the dashboard of ``home`` to ``host``:``port`` (0: any free port); return the
    server (not serving yet) and its dashboard. Raise OSError if the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class BoundHandler(Handler):
        pass

    class BoundServer(Server):
        address_family = family

    server = BoundServer((host.strip("[]"), port), BoundHandler)
    bound = server.server_address[1]
    dashboard = Dashboard(home, Guard(host, bound, token), changes)
    BoundHandler.dashboard = dashboard
    return server, dashboard
