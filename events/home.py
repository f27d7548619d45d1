"""Where a user's coffeechat lives: config, log, device id, caches.

``--home DIR`` (or ``COFFEECHAT_HOME``) puts everything in one folder:
``DIR/config.toml``, ``DIR/plugins/``, ``DIR/log/``, ``DIR/device``, ``DIR/cache/``.
Otherwise the XDG locations are used: the config in
``$XDG_CONFIG_HOME/coffeechat/`` (``~/.config``), the data in
``$XDG_DATA_HOME/coffeechat/`` (``~/.local/share``).

Reading never creates anything; the first write creates folders 0700 and files 0600.
Only ``log/`` is meant to be shared between machines by a sync tool: ``device`` names
this machine's segment and must stay local.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from coffeechat.events.ids import new_device_id
from coffeechat.events.log import EventLog

HOME_VARIABLE = "COFFEECHAT_HOME"

# Paths are plain str (os.path, not pathlib): importing pathlib slows recording commands' start.


class Home:
    """The paths of one coffeechat home, as strings."""

    def __init__(
        self, config_dir: str | os.PathLike[str], data_dir: str | os.PathLike[str]
    ) -> None:
        self.config_dir = os.fspath(config_dir)
        self.data_dir = os.fspath(data_dir)

    def __repr__(self) -> str:
        return f"Home(config_dir={self.config_dir!r}, data_dir={self.data_dir!r})"

    @classmethod
    def locate(cls, home: str | None = None, environ: Mapping[str, str] | None = None) -> Home:
        """Given ``--home`` (or None) and the environment, return the home to use."""
        environ = os.environ if environ is None else environ
        chosen = home or environ.get(HOME_VARIABLE)
        if chosen:
            folder = os.path.abspath(os.path.expanduser(chosen))
            return cls(folder, folder)
        user_home = environ.get("HOME") or os.path.expanduser("~")
        config = environ.get("XDG_CONFIG_HOME") or os.path.join(user_home, ".config")
        data = environ.get("XDG_DATA_HOME") or os.path.join(user_home, ".local", "share")
        return cls(os.path.join(config, "coffeechat"), os.path.join(data, "coffeechat"))

    @property
    def config_file(self) -> str:
        """The user's ``config.toml``."""
        return os.path.join(self.config_dir, "config.toml")

    @property
    def plugins_dir(self) -> str:
        """The folder of single-file plugins."""
        return os.path.join(self.config_dir, "plugins")

    @property
    def log_dir(self) -> str:
        """The folder of log segments, one per device."""
        return os.path.join(self.data_dir, "log")

    @property
    def cache_dir(self) -> str:
        """Disposable caches (projection snapshots)."""
        return os.path.join(self.data_dir, "cache")

    @property
    def device_file(self) -> str:
        """The file that names this machine's device id."""
        return os.path.join(self.data_dir, "device")

    def device_id(self, *, create: bool) -> str | None:
        """Return this home's device id, making it on first use when ``create`` is true.

        Two processes starting at once agree on one id: the id is written to a private
        temporary file and hard-linked into place, which fails for the second.
        """
        try:
            return _read_text(self.device_file).strip() or None
        except FileNotFoundError:
            if not create:
                return None
        os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
        candidate = os.path.join(self.data_dir, f".device.{os.getpid()}")
        descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(descriptor, (new_device_id() + "\n").encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            os.link(candidate, self.device_file)
        except FileExistsError:
            pass
        finally:
            os.unlink(candidate)
        return _read_text(self.device_file).strip()

    def log(self, *, create: bool = False) -> EventLog:
        """Return this home's log as this device writes it."""
        device = self.device_id(create=create) or "unknown-device"
        return EventLog(self.log_dir, device)


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()
