"""Live pages: the daemon's watcher counts changes to the home; pages hear of them
through Server-Sent Events.

The watcher (:class:`coffeechat.daemon.watcher.Watcher`, watchdog's inotify observer)
calls :meth:`Changes.changed` from its thread for every change in ``log/`` (another
terminal, another device's segment arriving, the daemon's delivery), ``config.toml`` or
the plugin folder. Each open page holds one ``/events`` stream; the stream waits for the
counter to move, lets a burst settle (one append makes several file events), then sends
the new count. The page fetches itself again and swaps its content in place, so what
the reader set on the page (a filter, a marker, the scroll) stays.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

SETTLE_SECONDS = 0.05  # let a burst of file events (open, modify, close) end first
KEEP_ALIVE_SECONDS = 15.0  # a comment line this often: a closed page is noticed


class Changes:
    """A counter of changes to the home, and a way to wait for the next one."""

    def __init__(self) -> None:
        self.version = 0
        self.closed = False
        self._condition = threading.Condition()

    def changed(self, kind: str = "log") -> None:
        """Count one change (called from the watcher's thread; quick)."""
        with self._condition:
            self.version += 1
            self._condition.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Return the count once it differs from ``seen`` (or after ``timeout``)."""
        with self._condition:
            self._condition.wait_for(lambda: self.version != seen or self.closed, timeout)
            return self.version

    def close(self) -> None:
        """Wake every stream so that it ends (the server is stopping)."""
        with self._condition:
            self.closed = True
            self._condition.notify_all()


def stream(changes: Changes, write: Callable[[bytes], None]) -> None:
    """Send Server-Sent Events through ``write`` until the page goes away or the server
    stops: first the current count (``event: hello``), then the count after each change.

    ``write`` raises OSError once the page has closed the connection.
    """
    seen = changes.version
    write(f"retry: 2000\nevent: hello\ndata: {seen}\n\n".encode())
    while True:
        now = changes.wait(seen, KEEP_ALIVE_SECONDS)
        if changes.closed:
            return
        if now == seen:
            write(b": still here\n\n")
            continue
        time.sleep(SETTLE_SECONDS)
        seen = changes.version
        write(f"data: {seen}\n\n".encode())


def watch(log_dir: str, config_file: str, plugins_dir: str, changes: Changes) -> Callable[[], None]:
    """Start the daemon's watcher on a home, counting into ``changes``; return its stop."""
    from coffeechat.daemon.watcher import Watcher

    watcher = Watcher(log_dir, config_file, plugins_dir, changes.changed)
    watcher.start()
    return watcher.stop
