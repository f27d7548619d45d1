"""A pure-Python ``sd_notify`` client: tell systemd how the daemon is doing.

The protocol is one datagram per notification, sent to the ``AF_UNIX`` socket named by
``$NOTIFY_SOCKET``; the datagram holds ``NAME=value`` fields, one per line (see
``sd_notify(3)``). A value starting with ``@`` names an abstract socket (Linux), whose address
begins with a NUL byte instead of the ``@``.

Nothing here links to libsystemd and nothing here may kill the daemon: when systemd is gone
(the socket was removed, nobody reads it, the queue is full) a send fails quietly and only
``Notifier.failures`` grows. Without ``$NOTIFY_SOCKET`` (not started by systemd, or by a unit
that is not ``Type=notify``) the notifier is disabled and every method does nothing, so the
daemon calls it unconditionally.

Each notification opens a fresh socket, sends one datagram and closes it, as libsystemd does.
Notifications are rare (readiness, a status line, a watchdog ping every few seconds), so the
cost is negligible, and in exchange there is no descriptor to keep across ``fork``, to close
on shutdown, or to share between threads, and nothing stale survives a restart of systemd.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping

__all__ = ["Notifier"]

#: How long one send may block when systemd's receive queue is full, in seconds.
DEFAULT_TIMEOUT = 1.0


def _one_line(value: str) -> str:
    """Return *value* with every line break replaced by a space.

    A line break inside a value would end the field and start another one.
    """
    return value.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def _socket_address(notify_socket: str) -> bytes:
    """Return the ``AF_UNIX`` address for a ``$NOTIFY_SOCKET`` value.

    ``@name`` is the abstract socket ``\\0name``; anything else is a filesystem path.
    """
    address = os.fsencode(notify_socket)
    if address.startswith(b"@"):
        return b"\0" + address[1:]
    return address


def _positive_int(text: str | None) -> int | None:
    """Return *text* as a positive integer, or None when it is missing or not one."""
    if text is None:
        return None
    try:
        value = int(text.strip())
    except ValueError:
        return None
    return value if value > 0 else None


class Notifier:
    """Sends ``sd_notify`` messages to systemd, or does nothing when there is no systemd.

    Build it with :meth:`from_environment`. Every sending method returns True when the
    datagram was handed to the socket and False otherwise (disabled, or the send failed);
    the daemon may ignore the result. Failures are never raised: they are counted in
    :attr:`failures` and the last one is kept in :attr:`last_error`.
    """

    def __init__(
        self,
        notify_socket: str | None,
        *,
        watchdog_usec: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Notify through *notify_socket* (a ``$NOTIFY_SOCKET`` value), or not at all if None.

        *watchdog_usec* is the watchdog timeout systemd expects pings within, in
        microseconds, or None without a watchdog; it is ignored when the notifier is
        disabled. *timeout* bounds how long one send may block, in seconds.
        """
        self._address: bytes | None = _socket_address(notify_socket) if notify_socket else None
        self._watchdog_usec: int | None = (
            watchdog_usec
            if self._address is not None and watchdog_usec is not None and watchdog_usec > 0
            else None
        )
        self._timeout = timeout
        #: How many notifications could not be sent.
        self.failures: int = 0
        #: Why the last failed notification could not be sent, or None.
        self.last_error: OSError | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Notifier:
        """Build a notifier from ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID``.

        The watchdog applies only when ``WATCHDOG_USEC`` is a positive integer and
        ``WATCHDOG_PID`` is unset or names this process (systemd sets it so that children
        inheriting the environment do not think the watchdog is theirs).
        """
        watchdog_usec = _positive_int(environ.get("WATCHDOG_USEC"))
        watchdog_pid = environ.get("WATCHDOG_PID")
        if watchdog_pid is not None and _positive_int(watchdog_pid) != os.getpid():
            watchdog_usec = None
        return cls(environ.get("NOTIFY_SOCKET") or None, watchdog_usec=watchdog_usec)

    @property
    def enabled(self) -> bool:
        """Whether there is a socket to notify; False makes every method a no-op."""
        return self._address is not None

    @property
    def watchdog_usec(self) -> int | None:
        """The watchdog timeout in microseconds, or None without a watchdog."""
        return self._watchdog_usec

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between two watchdog pings (half the timeout), or None without a watchdog."""
        if self._watchdog_usec is None:
            return None
        return self._watchdog_usec / 2_000_000

    def ready(self, status: str | None = None) -> bool:
        """Send ``READY=1``, with ``STATUS=status`` in the same datagram when given."""
        if status is None:
            return self.send(READY=1)
        return self.send(READY=1, STATUS=status)

    def status(self, text: str) -> bool:
        """Send ``STATUS=text``, the line ``systemctl status`` shows; line breaks become spaces."""
        return self.send(STATUS=text)

    def reloading(self) -> bool:
        """Send ``RELOADING=1`` with ``MONOTONIC_USEC``, the current ``CLOCK_MONOTONIC`` in µs.

        ``Type=notify-reload`` (systemd 253 and later) requires the timestamp; older
        systemd ignores it. Send :meth:`ready` once the reload is done.
        """
        now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.send(RELOADING=1, MONOTONIC_USEC=now_usec)

    def stopping(self) -> bool:
        """Send ``STOPPING=1``: the daemon is shutting down."""
        return self.send(STOPPING=1)

    def watchdog(self) -> bool:
        """Send ``WATCHDOG=1``, the keep-alive ping; call it every :attr:`watchdog_interval`."""
        return self.send(WATCHDOG=1)

    def send(self, **fields: str | int) -> bool:
        """Send *fields* as ``NAME=value`` lines in one datagram, in the order given.

        Integers (and booleans, as 1 or 0) are written in decimal; line breaks in a value
        become spaces. A name that is empty or holds ``=`` or a line break is a programming
        error and raises ValueError, even when the notifier is disabled.
        """
        lines = []
        for name, value in fields.items():
            if not name or "=" in name or "\n" in name or "\r" in name:
                raise ValueError(f"not an sd_notify field name: {name!r}")
            text = str(int(value)) if isinstance(value, int) else _one_line(value)
            lines.append(f"{name}={text}")
        if not lines:
            return False
        return self.send_raw("\n".join(lines))

    def send_raw(self, text: str) -> bool:
        """Send *text* as it is, in one datagram; nothing is checked or escaped."""
        if self._address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.settimeout(self._timeout)
                sock.sendto(text.encode("utf-8", "surrogateescape"), self._address)
        except OSError as error:  # ENOENT, ECONNREFUSED, EAGAIN, timeout, path too long…
            self.failures += 1
            self.last_error = error
            return False
        return True

    def __repr__(self) -> str:
        """Show where the notifier sends and how many sends failed."""
        where = "disabled" if self._address is None else repr(os.fsdecode(self._address))
        return f"Notifier({where}, watchdog_usec={self._watchdog_usec}, failures={self.failures})"
