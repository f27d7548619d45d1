"""Meetings into the user's CalDAV calendar, with plain HTTP (as vdirsyncer does).

Each meeting is one calendar object at a deterministic href, ``<uid>.ics`` in the
calendar collection (the UID derives from the meeting's booking event), so two daemons
can never make two events of one meeting. A small store beside the log (never in it:
it is this machine's view of one server) keeps, per UID, the href, the server's ETag
and a hash of what was last put there; :func:`sync_calendar` compares the calendar the
log gives with it and talks to the server only about what changed:

- a new meeting: ``PUT`` with ``If-None-Match: *``;
- a changed one (moved, cancelled, held): ``PUT`` with ``If-Match: <etag>``; a cancelled
  meeting stays in the calendar, marked ``STATUS:CANCELLED``;
- a meeting gone from the log (its booking undone): ``DELETE`` with ``If-Match``.

``412 Precondition Failed`` means the event changed on the server since coffeechat put
it there: the user edited (or deleted) it in their calendar app, and **the user's change
wins**. coffeechat learns the new ETag, keeps its hands off that version, and says so in
a warning; it puts the meeting again only when the meeting changes in coffeechat (a
reschedule, a cancellation). A server that cannot be reached, or answers 5xx, stops the
run with one warning: what was not done stays pending and the next call retries it.

Secrets: the password (or ``password_command``'s first line) goes only into the
``Authorization`` header; every message names the calendar by its URL without user
information, and any text that could carry the password is redacted.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import http.client
import os
import shlex
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote, urlsplit, urlunsplit

import msgspec

if TYPE_CHECKING:
    from coffeechat.events.ics import CalendarObject
    from coffeechat.events.projection import State
    from coffeechat.plugins.calendar_settings import CalendarSettings
    from coffeechat.plugins.settings import Settings

STORE_NAME = "caldav.json"
TIMEOUT_SECONDS = 20.0
PASSWORD_COMMAND_SECONDS = 30.0


def store_path(data_dir: str) -> str:
    """Return where a home keeps its CalDAV store: beside ``log/``, never inside it."""
    return os.path.join(data_dir, STORE_NAME)


# --- the store -----------------------------------------------------------------------------


class StoredObject(msgspec.Struct):
    """What this machine knows of one meeting on the server.

    ``etag`` is None when the server does not hold coffeechat's version on purpose (the
    user deleted it, or the server refused it): nothing is put until ``digest`` changes.
    """

    href: str
    digest: str
    etag: str | None = None


class Store(msgspec.Struct):
    """The store of one calendar collection (a different URL starts a new store)."""

    url: str
    objects: dict[str, StoredObject] = {}


def load_store(path: str, url: str) -> Store:
    """Return the store at ``path`` for the collection ``url`` (a new one if none, if
    unreadable, or if it was for another URL)."""
    try:
        with open(path, "rb") as file:
            store = msgspec.json.decode(file.read(), type=Store)
    except (FileNotFoundError, msgspec.DecodeError, msgspec.ValidationError):
        return Store(url)
    return store if store.url == url else Store(url)


def save_store(path: str, store: Store) -> None:
    """Write the store atomically, 0600."""
    from coffeechat.daemon.files import write_private

    write_private(path, msgspec.json.encode(store))


@contextmanager
def _locked(path: str) -> Iterator[None]:
    """Hold an exclusive lock beside the store: one sync of a home at a time."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    descriptor = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def digest_of(text: str) -> str:
    """Return the hash that tells whether a calendar object changed."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- HTTP ----------------------------------------------------------------------------------


class Unreachable(Exception):
    """The server could not be talked to now (down, timing out, 5xx): try again later."""


class Stop(Exception):
    """The server refuses us as a whole (authentication, no such calendar): say why."""


class Answer(NamedTuple):
    """One HTTP response, read in full."""

    status: int
    reason: str
    etag: str | None
    body: bytes
    location: str | None = None


def public_url(url: str) -> str:
    """Return a URL without its user information (``https://dav.example.com/…``)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class Client:
    """A connection to one CalDAV collection, reused across requests."""

    def __init__(self, url: str, user: str | None, password: str | None) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port
        self.path = parts.path if parts.path.endswith("/") else parts.path + "/"
        user = user or (parts.username and _unquote(parts.username))
        if password is None and parts.password:
            password = _unquote(parts.password)
        self.secrets = [secret for secret in (password,) if secret]
        self.authorization = None
        if user:
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode("ascii")
            self.authorization = f"Basic {token}"
        self.connection: http.client.HTTPConnection | None = None
        self.used = False

    def href(self, uid: str) -> str:
        """Return the path of the object of a UID in the collection (``…/<uid>.ics``)."""
        return self.path + quote(uid, safe="") + ".ics"

    def _connect(self) -> http.client.HTTPConnection:
        if self.connection is None:
            if self.https:
                import ssl

                self.connection = http.client.HTTPSConnection(
                    self.host,
                    self.port,
                    timeout=TIMEOUT_SECONDS,
                    context=ssl.create_default_context(),
                )
            else:
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=TIMEOUT_SECONDS
                )
            self.used = False
        return self.connection

    def close(self) -> None:
        """Close the connection (if one is open)."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """Send one request and read its answer; reconnect once if a kept-alive
        connection was closed by the server. Raise Unreachable when the server cannot
        be reached or answers 5xx."""
        headers = dict(headers or {})
        if self.authorization:
            headers["Authorization"] = self.authorization
        for attempt in (1, 2):
            connection = self._connect()
            reused = self.used
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.close()
                if reused and attempt == 1:
                    continue  # the server closed an idle connection: once more, afresh
                raise Unreachable(self.redact(_describe(error))) from None
            self.used = True
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            answer = Answer(
                response.status,
                response.reason,
                response.getheader("ETag"),
                data,
                response.getheader("Location"),
            )
            if answer.status >= 500:
                raise Unreachable(f"the server answered {answer.status} {answer.reason}")
            return answer
        raise AssertionError("not reached")  # pragma: no cover

    def redact(self, text: str) -> str:
        """Return text with every secret replaced by ``***``."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


def _describe(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return "no answer (timed out)"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


# --- the password --------------------------------------------------------------------------


def password_of(calendar: CalendarSettings) -> str | None:
    """Return the password: ``password``, or the first line ``password_command`` prints.

    Raise Stop if the command cannot be run or fails (its output is never shown).
    """
    if calendar.password_command is None:
        return calendar.password
    try:
        arguments = shlex.split(calendar.password_command)
    except ValueError:
        raise Stop("[calendar] password_command: cannot read it as a command line") from None
    if not arguments:
        raise Stop("[calendar] password_command is empty")
    try:
        completed = subprocess.run(
            arguments,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=PASSWORD_COMMAND_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise Stop(f"[calendar] password_command: {arguments[0]!r} not found") from None
    except subprocess.TimeoutExpired:
        raise Stop("[calendar] password_command did not finish in 30 s") from None
    except OSError as error:
        raise Stop(f"[calendar] password_command: {error.strerror}") from None
    if completed.returncode != 0:
        raise Stop(f"[calendar] password_command failed (exit status {completed.returncode})")
    lines = completed.stdout.decode("utf-8", "replace").splitlines()
    if not lines or not lines[0]:
        raise Stop("[calendar] password_command printed no password")
    return lines[0]


# --- syncing -------------------------------------------------------------------------------


def same_event(ours: str, theirs: bytes) -> bool:
    """Whether the server's copy holds what coffeechat put (a server may refold lines
    or reorder properties; the content lines, unfolded, must be the same set)."""
    return _content_lines(ours) == _content_lines(theirs.decode("utf-8", "replace"))


def _content_lines(text: str) -> set[str]:
    unfolded = text.replace("\r\n", "\n").replace("\n ", "").replace("\n\t", "")
    return {line.strip() for line in unfolded.split("\n") if line.strip()}


class _Sync:
    """One run of putting a calendar's objects on the server."""

    def __init__(self, client: Client, store: Store, path: str, where: str) -> None:
        self.client = client
        self.store = store
        self.path = path
        self.where = where
        self.warnings: list[str] = []

    def _save(self) -> None:
        save_store(self.path, self.store)

    def put(self, item: CalendarObject) -> None:
        digest = digest_of(item.text)
        known = self.store.objects.get(item.uid)
        href = known.href if known is not None else self.client.href(item.uid)
        body = item.text.encode("utf-8")
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        if known is not None and known.etag is not None:
            headers["If-Match"] = known.etag
        else:
            headers["If-None-Match"] = "*"
        answer = self.client.request("PUT", href, body, headers)
        if answer.status in (200, 201, 204):
            etag = answer.etag or self._current(href).etag
            self.store.objects[item.uid] = StoredObject(href, digest, etag)
        elif answer.status == 412:
            self._conflict(item, href, digest)
        else:
            self._refused(answer, f"{item.summary} ({item.uid})")
            self.store.objects[item.uid] = StoredObject(href, digest, None)
        self._save()

    def _current(self, href: str) -> Answer:
        answer = self.client.request("GET", href)
        if answer.status not in (200, 404, 410):
            self._refused(answer, href)
        return answer

    def _conflict(self, item: CalendarObject, href: str, digest: str) -> None:
        """412: the object is not what we last saw. Adopt the server's version."""
        current = self._current(href)
        if current.status != 200:  # deleted in the calendar app: stays deleted
            self.store.objects[item.uid] = StoredObject(href, digest, None)
            self.warnings.append(
                f"{item.summary} was deleted from your calendar {self.where}: left deleted "
                "(coffeechat puts it back only if the meeting changes in coffeechat)"
            )
            return
        self.store.objects[item.uid] = StoredObject(href, digest, current.etag)
        if not same_event(item.text, current.body):
            self.warnings.append(
                f"{item.summary} was changed in your calendar {self.where}: your change "
                "wins (coffeechat updates it again only if the meeting changes in coffeechat)"
            )

    def delete(self, uid: str) -> None:
        known = self.store.objects[uid]
        if known.etag is None:
            del self.store.objects[uid]
            self._save()
            return
        answer = self.client.request("DELETE", known.href, headers={"If-Match": known.etag})
        if answer.status in (200, 202, 204, 404, 410):
            del self.store.objects[uid]
        elif answer.status == 412:
            del self.store.objects[uid]
            self.warnings.append(
                f"{known.href} was changed in your calendar {self.where} and is no longer a "
                "meeting in coffeechat: your change wins, it stays in your calendar"
            )
        else:
            self._refused(answer, known.href)
        self._save()

    def _refused(self, answer: Answer, what: str) -> None:
        status = f"{answer.status} {answer.reason}".strip()
        if answer.status == 401:
            raise Stop(f"{self.where}: authentication failed ({status}): check [calendar] user")
        if answer.status == 403:
            raise Stop(f"{self.where}: access refused ({status})")
        if answer.status in (301, 302, 303, 307, 308):
            moved = public_url(answer.location) if answer.location else "another URL"
            raise Stop(f"{self.where} redirects to {moved}: put that in [calendar] caldav")
        if answer.status in (404, 405, 409):
            raise Stop(
                f"{self.where}: no such calendar ({status}): create it in your calendar app "
                "and put its URL in [calendar] caldav"
            )
        self.warnings.append(f"{self.where} refused {what}: {status}")


def sync_objects(objects: list[CalendarObject], calendar: CalendarSettings, path: str) -> list[str]:
    """Put ``objects`` into the ``[calendar] caldav`` collection; delete those it no longer
    has; return warnings (empty when all went well).

    Nothing is sent (and no password asked for) when the store shows the server up to
    date. The store at ``path`` is saved after every change the server took, so an
    interruption loses nothing; what could not be done is done by the next call.
    """
    if calendar.caldav is None:
        return []
    url = calendar.caldav
    where = public_url(url)
    with _locked(path):
        store = load_store(path, url)
        pending = [
            item
            for item in objects
            if (known := store.objects.get(item.uid)) is None
            or known.digest != digest_of(item.text)
        ]
        wanted = {item.uid for item in objects}
        gone = [uid for uid in store.objects if uid not in wanted]
        if not pending and not gone:
            return []
        client: Client | None = None
        warnings: list[str] = []
        done = 0
        try:
            client = Client(url, calendar.user, password_of(calendar))
            sync = _Sync(client, store, path, where)
            warnings = sync.warnings
            for item in pending:
                sync.put(item)
                done += 1
            for uid in gone:
                sync.delete(uid)
                done += 1
            return warnings
        except Unreachable as error:
            left = len(pending) + len(gone) - done
            return [*warnings, f"calendar {where}: {error}; {left} change(s) will be retried"]
        except Stop as error:
            text = client.redact(str(error)) if client is not None else str(error)
            return [*warnings, f"calendar: {text}"]
        finally:
            if client is not None:
                client.close()


def sync_calendar(log_dir: str, state: State, settings: Settings, path: str) -> list[str]:
    """Bring the ``[calendar] caldav`` calendar in step with the log; return warnings.

    The daemon's entry point: call it after every change to the log and now and then
    (every few minutes) while it returns a warning about an unreachable server. It does
    nothing, without a request, when the settings name no CalDAV calendar or when the
    server already holds every meeting as the log has it.
    """
    calendar: CalendarSettings | None = settings.sections.get("calendar")
    if calendar is None or calendar.caldav is None:
        return []
    from coffeechat.daemon.calendar import alarms_of, meetings_of
    from coffeechat.events.ics import calendar_objects

    objects = calendar_objects(meetings_of(log_dir, state), alarms_of(settings.playbook))
    return sync_objects(objects, calendar, path)
