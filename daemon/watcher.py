"""Waking the daemon when files change: the log folder, config.toml, the plugin folder.

watchdog's inotify observer calls back from its own thread; every relevant event just
sets a flag and wakes the main loop, which coalesces a burst (one append yields
opened, modified, closed and folder events) into one look at the log. Atomic-rename
writes by sync tools arrive as moved events: their destination counts.

A watch follows a folder, not its path: a home deleted and made again (or replaced by
a rename) would leave the watches on folders that are gone. :class:`HomeWatch` tells
when that happened (deleting a watched folder wakes the daemon too), so the daemon can
wait for the home and watch it again.
"""

import os
import threading
from collections.abc import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer


class _Handler(FileSystemEventHandler):
    def __init__(self, on_change: Callable[[str], None], kind: str, names: set[str] | None) -> None:
        self.on_change = on_change
        self.kind = kind
        self.names = names

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reading a file is not a change
        paths = [os.fsdecode(event.src_path), os.fsdecode(getattr(event, "dest_path", "") or "")]
        if self.names is not None and not any(os.path.basename(p) in self.names for p in paths):
            return
        self.on_change(self.kind)


class Watcher:
    """Watches the log folder, the config file and the plugin folder; calls ``on_change``.

    ``on_change(kind)`` receives ``"log"``, ``"config"`` or ``"plugins"`` and must be quick
    (it runs on the observer's thread).
    """

    def __init__(
        self, log_dir: str, config_file: str, plugins_dir: str, on_change: Callable[[str], None]
    ) -> None:
        self.observer = Observer()
        self.lock = threading.Lock()
        for folder in (log_dir, os.path.dirname(config_file)):
            os.makedirs(folder, mode=0o700, exist_ok=True)
        self.observer.schedule(_Handler(on_change, "log", None), log_dir, recursive=False)
        self.observer.schedule(
            _Handler(on_change, "config", {os.path.basename(config_file)}),
            os.path.dirname(config_file),
            recursive=False,
        )
        if os.path.isdir(plugins_dir):
            self.observer.schedule(_Handler(on_change, "plugins", None), plugins_dir)

    def start(self) -> None:
        """Start watching (a daemon thread)."""
        self.observer.daemon = True
        self.observer.start()

    def stop(self) -> None:
        """Stop watching and wait for the observer's thread."""
        self.observer.stop()
        self.observer.join(timeout=5)


def identity(*folders: str) -> tuple[tuple[int, int] | None, ...]:
    """Return what names each folder (device and inode), None for one that is missing: a
    folder deleted and made again, or replaced by a rename, has another."""
    found: list[tuple[int, int] | None] = []
    for folder in folders:
        try:
            status = os.stat(folder)
        except OSError:
            found.append(None)
        else:
            found.append((status.st_dev, status.st_ino))
    return tuple(found)


class HomeWatch:
    """The watches on one home, and whether they still watch the home at its paths."""

    def __init__(
        self,
        data_dir: str,
        log_dir: str,
        config_file: str,
        plugins_dir: str,
        on_change: Callable[[str], None],
    ) -> None:
        self.paths = (log_dir, config_file, plugins_dir)
        self.folders = (data_dir, log_dir, os.path.dirname(config_file))
        self.on_change = on_change
        self.watcher: Watcher | None = None
        self.watched: tuple[tuple[int, int] | None, ...] = ()

    def start(self) -> None:
        """Watch the home's folders as they are now (creating the missing ones)."""
        self.stop()
        self.watcher = Watcher(*self.paths, self.on_change)
        self.watcher.start()
        self.watched = identity(*self.folders)

    def moved(self) -> bool:
        """Whether a watched folder was deleted or replaced since :meth:`start`."""
        return identity(*self.folders) != self.watched

    def home_is_back(self) -> bool:
        """Whether the home is there to be watched again: its ``log/`` folder exists (a
        home being deleted, or made again without a log yet, is left alone)."""
        return os.path.isdir(self.paths[0])

    def stop(self) -> None:
        """Stop watching."""
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
