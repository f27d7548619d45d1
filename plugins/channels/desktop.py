"""The desktop channel (``desktop://``): a notification on the freedesktop session bus.

It calls ``org.freedesktop.Notifications.Notify`` with jeepney (pure Python, no libdbus),
so it works from a virtual environment and under a systemd user service, on any desktop
that runs a notification server (GNOME, KDE, dunst, mako, xfce4-notifyd …). Each
notification offers two buttons, *Done* and *Snooze 1 day* (action keys ``done`` and
``snooze``), where the server supports actions; the reminder's priority sets the urgency
(``high`` is critical: most servers keep it on screen until dismissed).

The channel keeps one connection to the bus and remembers which reminder each
notification it sent was for (:attr:`DesktopChannel.sent`). A notification server
reports a click on a button only to the connection that sent the notification, so the
daemon runs :meth:`DesktopChannel.listen_for_actions` in a thread on the same channel
object that sends.

``send`` never raises: without a session bus, or when the call fails, it returns False
and leaves the reason in :attr:`DesktopChannel.last_error`. jeepney is imported only when
a channel connects, so loading this plugin costs nothing.
"""

import html
import importlib
import os
import queue
import socket
import stat
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any
from urllib.parse import quote, unquote

from coffeechat.events.text import printable
from coffeechat.plugins import hookimpl

SCHEME = "desktop"
APP_NAME = "coffeechat"
BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
ACTIONS = ("done", "Done", "snooze", "Snooze 1 day")
"""Action keys and labels, alternating, as ``Notify`` takes them."""
URGENCY = {"low": 0, "normal": 1, "high": 2}
"""Reminder priority → the ``urgency`` hint (0 low, 1 normal, 2 critical)."""
EXPIRE_DEFAULT = -1
"""``expire_timeout``: the server's default."""
DEFAULT_TIMEOUT = 5.0
"""Seconds to wait for the bus or the notification server."""
REMEMBERED = 1000
"""At most this many notification ids are remembered in :attr:`DesktopChannel.sent`."""
_SIGNALS = ("ActionInvoked", "NotificationClosed")
_QUEUED = 256

ActionCallback = Callable[[int, str], None]


def session_bus_address(environ: Mapping[str, str] = os.environ) -> str | None:
    """Return the session bus address, or None when there is none to try.

    ``DBUS_SESSION_BUS_ADDRESS`` when set; otherwise ``$XDG_RUNTIME_DIR/bus`` if that
    socket exists (where systemd's user bus lives, as libsystemd looks for it).
    """
    address = environ.get("DBUS_SESSION_BUS_ADDRESS", "").strip()
    if address:
        return address
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if runtime:
        path = os.path.join(runtime, "bus")
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                return "unix:path=" + quote(path, safe="/*")
        except OSError:
            pass
    return None


def session_bus_available(environ: Mapping[str, str] = os.environ, timeout: float = 1.0) -> bool:
    """Return True when a session bus answers at the address ``environ`` gives.

    Only opens a socket (no D-Bus handshake): a stale address (a socket file left behind
    by a bus that has gone) is False. The daemon delivers on the desktop by default when
    this is True.
    """
    address = session_bus_address(environ)
    if address is None:
        return False
    for target in _unix_targets(address):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(timeout)
            try:
                probe.connect(target)
            except OSError:
                continue
            return True
    return False


def _unix_targets(address: str) -> list[str]:
    """Return the socket paths (abstract ones with a leading NUL) of a D-Bus address."""
    targets = []
    for alternative in address.split(";"):
        transport, _, details = alternative.partition(":")
        if transport != "unix":
            continue
        pairs = dict(item.partition("=")[::2] for item in details.split(",") if "=" in item)
        if pairs.get("path"):
            targets.append(unquote(pairs["path"]))
        elif pairs.get("abstract"):
            targets.append("\0" + unquote(pairs["abstract"]))
    return targets


def _jeepney_address(target: str) -> str:
    if target.startswith("\0"):
        return "unix:abstract=" + quote(target[1:], safe="/*")
    return "unix:path=" + quote(target, safe="/*")


def _jeepney(submodule: str = "") -> Any:
    """Import jeepney (or ``jeepney.<submodule>``) at first use.

    Through ``importlib`` because jeepney ships no type hints: its names are ``Any`` here.
    """
    return importlib.import_module(f"jeepney.{submodule}" if submodule else "jeepney")


class _Unavailable(Exception):
    """No session bus to talk to (its message is meant for the user as is)."""


def _describe(error: BaseException) -> str:
    if isinstance(error, _Unavailable):
        return str(error)
    wrappers = sys.modules.get("jeepney.wrappers")
    if wrappers is not None and isinstance(error, wrappers.DBusErrorResponse):
        name, data = str(error.name), error.data
        detail = data[0] if isinstance(data, tuple) and data and isinstance(data[0], str) else ""
        return f"{name}: {detail}" if detail else name
    if isinstance(error, TimeoutError):
        return "no answer in time" + (f" ({error})" if str(error) else "")
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class _Bus:
    """One connection to the session bus with a receiver thread.

    The thread reads every message: a reply goes to the call waiting for it, a signal of
    the notification interface to :attr:`signals`. When the connection ends (closed, or
    the bus went away) the waiting calls fail and :attr:`signals` receives None.
    """

    def __init__(self, address: str, timeout: float) -> None:
        self.address = address
        self.connection: Any = _jeepney("io.threading").open_dbus_connection(
            bus=address, auth_timeout=timeout
        )
        self.capabilities: frozenset[str] | None = None
        self.signals: queue.Queue[tuple[str, tuple[Any, ...]] | None] = queue.Queue()
        self.alive = True
        self._closed = False
        self._pending: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._receive, name="coffeechat-desktop-bus", daemon=True
        )
        self._thread.start()

    def call(self, message: Any, timeout: float) -> tuple[Any, ...]:
        """Send a method call; return the reply's body or raise (DBusErrorResponse …)."""
        future: Future[Any] = Future()
        serial: int = next(self.connection.outgoing_serial)
        with self._lock:
            if not self.alive:
                raise _Unavailable("the session bus connection is closed")
            self._pending[serial] = future
        try:
            self.connection.send(message, serial=serial)
            reply = future.result(timeout=timeout)
        finally:
            with self._lock:
                self._pending.pop(serial, None)
        return tuple(_jeepney("wrappers").unwrap_msg(reply))

    def close(self) -> None:
        """Close the connection (the receiver thread ends, waiting calls fail)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.connection.interrupt()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=2)
        self.connection.close()

    def _receive(self) -> None:
        stopped = _jeepney("io.threading").ReceiveStopped
        error: Exception = _Unavailable("the session bus connection was closed")
        try:
            while True:
                self._dispatch(self.connection.receive())
        except stopped:
            pass
        except Exception as lost:
            error = _Unavailable(f"lost the session bus: {_describe(lost)}")
        finally:
            with self._lock:
                self.alive = False
                pending, self._pending = self._pending, {}
            for future in pending.values():
                future.set_exception(error)
            self.signals.put(None)

    def _dispatch(self, message: Any) -> None:
        jeepney = _jeepney()
        header_fields = jeepney.HeaderFields
        fields = message.header.fields
        reply_to = fields.get(header_fields.reply_serial)
        if reply_to is not None:
            with self._lock:
                future = self._pending.pop(reply_to, None)
            if future is not None:
                future.set_result(message)
            return
        member = fields.get(header_fields.member)
        if (
            message.header.message_type == jeepney.MessageType.signal
            and fields.get(header_fields.interface) == INTERFACE
            and member in _SIGNALS
            and self.signals.qsize() < _QUEUED
        ):
            self.signals.put((member, tuple(message.body)))


class DesktopChannel:
    """``desktop://``: notifications on the session bus, with Done and Snooze buttons.

    :param url: the channel URL (``desktop://``; nothing in it is used yet).
    :param environ: where to read ``DBUS_SESSION_BUS_ADDRESS`` (default: ``os.environ``,
        read at each connection).
    :param timeout: seconds to wait for the bus and for the notification server.
    """

    def __init__(
        self,
        url: str = f"{SCHEME}://",
        *,
        environ: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = url
        self.environ = environ
        self.timeout = timeout
        self.sent: dict[int, str] = {}
        """Notification id → reminder id, for the notifications this channel sent
        (forgotten once the server reports the notification closed)."""
        self.last_error: str | None = None
        """Why the last ``send`` failed (None after a success)."""
        self.listen_error: str | None = None
        """The last problem :meth:`listen_for_actions` met (it carries on)."""
        self._state = threading.Condition()
        self._bus: _Bus | None = None
        self._closed = False

    def send(self, title: str, body: str, reminder: Any) -> bool:
        """Show a notification; return True once the server gave it an id. Never raises.

        ``reminder`` (a :class:`coffeechat.plugins.reminders.Reminder`, or None for a
        test message) gives the urgency and the id remembered in :attr:`sent`.
        """
        bus: _Bus | None = None
        try:
            bus = self._connect()
            notification_id = self._notify(bus, title, body, getattr(reminder, "priority", None))
        except Exception as error:
            self.last_error = _describe(error)
            if bus is not None and not bus.alive:
                self._forget(bus)
            return False
        reminder_id = getattr(reminder, "id", None)
        with self._state:
            if isinstance(reminder_id, str):
                self.sent[notification_id] = reminder_id
                while len(self.sent) > REMEMBERED:
                    del self.sent[next(iter(self.sent))]
            self.last_error = None
        return True

    def listen_for_actions(self, callback: ActionCallback) -> None:
        """Call ``callback(notification_id, action_key)`` for each button clicked; block.

        Only clicks on notifications this channel sent (ids in :attr:`sent`) are
        reported, in the order the server sent them; ``sent`` still holds the
        notification's reminder id while the callback runs. A callback that raises is
        recorded in :attr:`listen_error` and listening goes on. When the bus goes away the
        listener waits for the next successful ``send`` to reconnect. Returns after
        :meth:`close`. Run it in a thread of its own.
        """
        try:
            jeepney = _jeepney()
        except ImportError as error:
            self.listen_error = _describe(error)
            return
        rule = jeepney.MatchRule(type="signal", interface=INTERFACE)
        while True:
            with self._state:
                bus = None
                while not self._closed and bus is None:
                    try:
                        bus = self._connect()
                    except Exception as error:
                        self.listen_error = _describe(error)
                        self._state.wait()  # until a send connects, or close()
                if bus is None:
                    return
            try:
                # dunst sends ActionInvoked to the sender alone; other servers broadcast it.
                bus.call(jeepney.message_bus.AddMatch(rule), self.timeout)
            except Exception as error:
                self.listen_error = f"cannot subscribe to notification actions: {_describe(error)}"
            while (item := bus.signals.get()) is not None:
                self._handle(item, callback)
            self._forget(bus)

    def close(self) -> None:
        """Close the connection and end :meth:`listen_for_actions` (a later send reconnects)."""
        with self._state:
            self._closed = True
            bus, self._bus = self._bus, None
            self._state.notify_all()
        if bus is not None:
            bus.close()

    def _handle(self, item: tuple[str, tuple[Any, ...]], callback: ActionCallback) -> None:
        member, arguments = item
        if not arguments or not isinstance(arguments[0], int):
            return
        notification_id = arguments[0]
        if member == "NotificationClosed":
            with self._state:
                self.sent.pop(notification_id, None)
            return
        if notification_id not in self.sent or len(arguments) < 2:
            return
        try:
            callback(notification_id, str(arguments[1]))
        except Exception as error:
            self.listen_error = f"action callback failed: {_describe(error)}"

    def _connect(self) -> _Bus:
        with self._state:
            if self._bus is not None:
                if self._bus.alive:
                    return self._bus
                self._bus.close()  # the bus went away: a new connection, maybe a new bus
                self._bus = None
            environ = os.environ if self.environ is None else self.environ
            address = session_bus_address(environ)
            if address is None:
                raise _Unavailable("no session bus: DBUS_SESSION_BUS_ADDRESS is not set")
            targets = _unix_targets(address)
            if not targets:
                raise _Unavailable(f"no unix socket in the session bus address {address!r}")
            failures = []
            for target in targets:
                try:
                    bus = _Bus(_jeepney_address(target), self.timeout)
                except ImportError:
                    raise
                except Exception as error:
                    failures.append(f"{target.lstrip(chr(0))}: {_describe(error)}")
                    continue
                self._bus = bus
                self._state.notify_all()
                return bus
            raise _Unavailable(f"cannot connect to the session bus: {'; '.join(failures)}")

    def _forget(self, bus: _Bus) -> None:
        with self._state:
            if self._bus is bus:
                self._bus = None
        bus.close()

    def _notify(self, bus: _Bus, title: str, body: str, priority: Any) -> int:
        jeepney = _jeepney()
        server = jeepney.DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=INTERFACE)
        if bus.capabilities is None:
            (capabilities,) = bus.call(
                jeepney.new_method_call(server, "GetCapabilities"), self.timeout
            )
            bus.capabilities = frozenset(str(name) for name in capabilities)
        # A name may hold control characters: shown escaped, never passed on raw.
        title, body = printable(title, lines=False), printable(body)
        if "body-markup" in bus.capabilities:
            body = html.escape(body, quote=False)  # the server reads markup: show text as is
        hints = {"urgency": ("y", URGENCY.get(str(priority), URGENCY["normal"]))}
        message = jeepney.new_method_call(
            server,
            "Notify",
            "susssasa{sv}i",
            (APP_NAME, 0, "", title, body, list(ACTIONS), hints, EXPIRE_DEFAULT),
        )
        (notification_id,) = bus.call(message, self.timeout)
        if not isinstance(notification_id, int) or notification_id <= 0:
            raise ValueError(f"the notification server returned {notification_id!r}")
        return notification_id


@hookimpl
def coffeechat_channels(register: Callable[..., None]) -> None:
    """Offer the desktop (``desktop://``)."""
    register(SCHEME, DesktopChannel)
