"""Where a user's coffeechat lives: config, log, device id, caches.

``--home DIR`` (or ``COFFEECHAT_HOME``) puts everything in one folder:
``DIR/config.toml``, ``DIR/plugins/``, ``DIR/log/``, ``DIR/device``, ``DIR/cache/``.
Otherwise the XDG locations are used: the config in
``$XDG_CONFIG_HOME/coffeechat/`` (``~/.config``), the data in
``$XDG_DATA_HOME/coffeechat/`` (``~/.local/share``).

Reading never creates anything; the first write creates folders 0700 and files 0600.
Only ``log/`` is meant to be shared between machines by a sync tool: ``device`` names
this machine's segment and must stay local.

``device`` holds the device id alone (as it always has: scripts and older versions
read it). ``device.fingerprint`` beside it says where that id belongs: this machine's id
(``/etc/machine-id``) and the data folder's inode and real path. A home copied byte for
byte to another folder or machine carries the same id, and two writers of one segment
lose events when a sync tool keeps one side's version; so before each write the
fingerprint is compared, and a copy moves to a new device id (with a notice) before it
writes anything. A home from before fingerprints adopts one silently.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from coffeechat.events.ids import is_device_id, new_device_id
from coffeechat.events.log import EventLog, fsync_folder

HOME_VARIABLE = "COFFEECHAT_HOME"
MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")

# Paths are plain str (os.path, not pathlib): importing pathlib slows recording commands' start.


class Home:
    """The paths of one coffeechat home, as strings."""

    def __init__(
        self, config_dir: str | os.PathLike[str], data_dir: str | os.PathLike[str]
    ) -> None:
        self.config_dir = os.fspath(config_dir)
        self.data_dir = os.fspath(data_dir)
        # What the user should hear about this home's device id (it moved: a copied home).
        self.notices: list[str] = []

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

    @property
    def fingerprint_file(self) -> str:
        """The file that says which machine and folder the device id belongs to."""
        return self.device_file + ".fingerprint"

    def device_id(self, *, create: bool) -> str | None:
        """Return this home's device id, making it on first use when ``create`` is true.

        The id belongs to the machine and folder its fingerprint names. When they are not
        these (the home was copied), the id is not this home's: with ``create`` a new one
        is made and kept (and a line added to :attr:`notices`), otherwise None is
        returned. Two processes starting at once agree on one id: the id is written to a
        private temporary file and hard-linked into place, which fails for the second.
        """
        try:
            device = _read_text(self.device_file).strip()
        except FileNotFoundError:
            if not create:
                return None
            return self._make_device_id()
        stored = _read_if_there(self.fingerprint_file)
        if is_device_id(device) and stored is None:  # from before fingerprints: adopt one
            if create:
                _replace_private(self.fingerprint_file, self.fingerprint(), self.data_dir)
            return device
        if is_device_id(device) and stored == self.fingerprint():
            return device
        if not create:
            return None
        return self._move_device_id(device, stored)

    def fingerprint(self) -> str:
        """Return where this home is: the machine's id, the data folder's inode and path."""
        real = os.path.realpath(self.data_dir)
        return f"{_machine_id()} {os.stat(real).st_ino} {real!r}\n"

    def _make_device_id(self) -> str:
        os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
        _replace_private(self.fingerprint_file, self.fingerprint(), self.data_dir)
        candidate = os.path.join(self.data_dir, f".device.{os.getpid()}")
        _write_private(candidate, new_device_id() + "\n")
        try:
            os.link(candidate, self.device_file)
        except FileExistsError:
            pass
        finally:
            os.unlink(candidate)
        return _read_text(self.device_file).strip()

    def _move_device_id(self, old: str, stored: str | None) -> str:
        """This home is a copy (or its id is not valid): give it a new device id.

        Under a lock, so that processes starting at once move it once. The new id is
        written before its fingerprint: a crash in between moves it again next time,
        which costs an unused id and loses nothing.
        """
        import fcntl  # only a copied home gets here

        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
        lock = os.open(os.path.join(self.data_dir, ".device.lock"), flags, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            device = _read_text(self.device_file).strip()
            here = self.fingerprint()
            if is_device_id(device) and _read_if_there(self.fingerprint_file) == here:
                return device  # another process here moved it first
            new = new_device_id()
            _replace_private(self.device_file, new + "\n", self.data_dir)
            _replace_private(self.fingerprint_file, here, self.data_dir)
        finally:
            os.close(lock)
        if not is_device_id(old):
            self.notices.append(
                f"{self.device_file} did not hold a valid device id ({old!r}); this machine "
                f"now records as {new}"
            )
        else:
            where = (stored or "").strip()
            self.notices.append(
                f"this home was copied from another folder or machine (device {old} belongs "
                f"to {where}): so that the two never write one segment, this copy now "
                f"records as {new} (log/{old}.jsonl stays as it is; nothing is lost)"
            )
        return new

    def log(self, *, create: bool = False) -> EventLog:
        """Return this home's log as this device writes it."""
        device = self.device_id(create=create) or "unknown-device"
        return EventLog(self.log_dir, device)


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()


def _read_if_there(path: str) -> str | None:
    try:
        return _read_text(path)
    except FileNotFoundError:
        return None


def _machine_id() -> str:
    """Return this machine's id (systemd's, or D-Bus's), or "-" where there is none."""
    for path in MACHINE_ID_FILES:
        try:
            machine = _read_text(path).strip()
        except OSError:
            continue
        if machine:
            return machine
    return "-"


def _replace_private(path: str, text: str, folder: str) -> None:
    """Replace a small private file atomically (a new file renamed into place)."""
    candidate = f"{path}.{os.getpid()}.new"
    _write_private(candidate, text)
    os.replace(candidate, path)
    fsync_folder(folder)


def _write_private(path: str, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(descriptor, text.encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
