"""A real, headless desktop session for tests: Xvfb, a session D-Bus and dunst.

A test module imports the fixture (``from desktop_session import
desktop_session_fixture  # noqa: F401``) and then takes ``desktop_session`` (module
scope, one session per test module): a :class:`DesktopSession`, which is the
environment a desktop client needs (``DISPLAY``, ``DBUS_SESSION_BUS_ADDRESS``,
``XDG_RUNTIME_DIR`` whose ``bus`` is that bus) plus helpers that drive dunst through
``dunstctl``. :func:`running_bus` starts a bus alone (no notification server on it).

The three programs are real subprocesses (Debian packages ``xvfb``, ``dbus``, ``dunst``),
stopped by their own pids afterwards. Without them the fixture skips, unless ``CI`` is set:
there it fails, since CI installs them.

The bus uses a config of its own: the standard session config would let the bus start a
notification server by activation (``org.knopwob.dunst.service``), on whatever display.
dunst's config (:data:`DUNSTRC`) keeps every notification on screen until closed, shows
the urgency at the start of the rendered message (``critical|summary|body``, visible as
``message`` in ``dunstctl history``), and answers its context menu (``dunstctl action N``
on a notification with several actions) with :meth:`DesktopSession.invoke_action`'s
choice instead of opening dmenu.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

PROGRAMS = ("Xvfb", "dbus-daemon", "dbus-send", "dunst", "dunstctl")
APT_PACKAGES = "xvfb dbus dunst"
START_TIMEOUT = 15.0
NOTIFICATIONS = "org.freedesktop.Notifications"

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:path={path}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

DUNSTRC = """[global]
    font = Monospace 8
    markup = full
    show_indicators = no
    history_length = 100
    idle_threshold = 0
    dmenu = {menu}
    browser = /bin/true
[urgency_low]
    timeout = 0
    format = "low|%s|%b"
[urgency_normal]
    timeout = 0
    format = "normal|%s|%b"
[urgency_critical]
    timeout = 0
    format = "critical|%s|%b"
"""

# dunst pipes its context menu ("#Label (summary) [id,key]" lines) into this script and
# invokes the line it prints: the one whose action key was chosen.
MENU_SCRIPT = """#!/bin/sh
entries=$(cat)
printf '%s\\n' "$entries" > {entries}
key=$(cat {choice} 2>/dev/null)
printf '%s\\n' "$entries" | grep -m1 -F ",$key]"
"""


def wait_until(condition: Callable[[], Any], timeout: float = 5.0, what: str = "it") -> Any:
    """Return the first truthy value of ``condition()``, polled for up to ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class DesktopSession(dict[str, str]):
    """The session's environment (a dict), with helpers around ``dunstctl``."""

    def __init__(self, environment: dict[str, str], directory: Path) -> None:
        super().__init__(environment)
        self.directory = directory
        self.dunst_log = directory / "dunst.log"
        self._entries = directory / "menu-entries"
        self._choice = directory / "menu-choice"

    def environ(self) -> dict[str, str]:
        """Return ``os.environ`` with this session's variables (for a subprocess)."""
        return {**_clean_environment(), **self}

    def dunstctl(self, *arguments: str) -> str:
        """Run ``dunstctl ARGUMENTS…`` against this session; return its output."""
        completed = subprocess.run(
            ["dunstctl", *arguments],
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if completed.returncode != 0:
            raise AssertionError(f"dunstctl {shlex.join(arguments)}: {completed.stderr}")
        return completed.stdout

    def count(self, which: str = "displayed") -> int:
        """Return how many notifications are ``displayed``, ``waiting`` or in ``history``."""
        return int(self.dunstctl("count", which).strip())

    def close_all(self) -> None:
        """Close every notification on screen (they move to the history)."""
        self.dunstctl("close-all")

    def history(self) -> list[dict[str, Any]]:
        """Return dunst's history, newest first, as plain ``{field: value}`` dicts."""
        document = json.loads(self.dunstctl("history"))
        return [
            {field: typed["data"] for field, typed in entry.items()}
            for entry in document["data"][0]
        ]

    def in_history(self, notification_id: int) -> dict[str, Any] | None:
        """Return the history entry of one notification (by the id Notify returned)."""
        return next((n for n in self.history() if n["id"] == notification_id), None)

    def invoke_action(self, key: str, position: int = 0) -> None:
        """Click the action ``key`` of the notification shown at ``position`` (0 = newest).

        dunst invokes a lone action directly; with several it opens its context menu,
        which this session answers with ``key``. The ``ActionInvoked`` signal goes to the
        connection that sent the notification.
        """
        self._entries.unlink(missing_ok=True)
        self._choice.write_text(key)
        self.dunstctl("action", str(position))

    def menu_entries(self) -> list[str]:
        """Return the lines dunst offered in its last context menu (waits for them)."""
        text = wait_until(
            lambda: self._entries.exists() and self._entries.read_text(), what="dunst's menu"
        )
        return [line for line in str(text).splitlines() if line]


def missing_programs() -> list[str]:
    """Return the programs a desktop session needs that are not on PATH."""
    return [program for program in PROGRAMS if shutil.which(program) is None]


def _clean_environment() -> dict[str, str]:
    drop = ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR")
    return {key: value for key, value in os.environ.items() if key not in drop}


def _read_line(stream: IO[bytes], process: subprocess.Popen[bytes], what: str) -> str:
    """Read one line from a child's pipe, within START_TIMEOUT, or fail saying why."""
    deadline = time.monotonic() + START_TIMEOUT
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError(f"{what} did not start within {START_TIMEOUT} s")
        ready, _, _ = select.select([stream], [], [], remaining)
        if ready:
            chunk = os.read(stream.fileno(), 1)
            if not chunk:
                raise RuntimeError(f"{what} exited (status {process.wait()}) before it started")
            data += chunk
    return data.decode().strip()


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


@contextlib.contextmanager
def running_bus(directory: Path) -> Iterator[str]:
    """Run a session-type D-Bus daemon listening on ``directory/bus``; yield its address."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "bus.conf"
    config.write_text(BUS_CONFIG.format(path=directory / "bus"))
    with (directory / "dbus.log").open("wb") as log:
        process = subprocess.Popen(
            ["dbus-daemon", "--nofork", "--print-address=1", f"--config-file={config}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            env=_clean_environment(),
        )
    try:
        assert process.stdout is not None
        yield _read_line(process.stdout, process, "dbus-daemon")
    finally:
        _stop(process)


@contextlib.contextmanager
def running_display(directory: Path) -> Iterator[str]:
    """Run Xvfb on a free display (it picks one: ``-displayfd``); yield ``:N``."""
    read_end, write_end = os.pipe()
    try:
        with (directory / "xvfb.log").open("wb") as log:
            process = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write_end), "-nolisten", "tcp"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                pass_fds=(write_end,),
                env=_clean_environment(),
            )
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    try:
        with open(read_end, "rb", buffering=0) as numbers:
            yield ":" + _read_line(numbers, process, "Xvfb")
    finally:
        _stop(process)


def _wait_for_owner(address: str, dunst: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until dunst owns org.freedesktop.Notifications on the bus."""
    from jeepney import message_bus
    from jeepney.io.blocking import open_dbus_connection

    deadline = time.monotonic() + START_TIMEOUT
    with open_dbus_connection(bus=address) as connection:
        while True:
            reply = connection.send_and_get_reply(
                message_bus.NameHasOwner(NOTIFICATIONS), timeout=START_TIMEOUT
            )
            if reply.body[0]:
                return
            if dunst.poll() is not None:
                raise RuntimeError(
                    f"dunst exited with status {dunst.returncode}:\n{log.read_text()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"dunst did not own {NOTIFICATIONS}:\n{log.read_text()}")
            time.sleep(0.05)


@contextlib.contextmanager
def running_desktop_session(directory: Path) -> Iterator[DesktopSession]:
    """Run Xvfb, a session bus and dunst; yield the session; stop all three."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config").mkdir(exist_ok=True)
    session_entries = directory / "menu-entries"
    menu = directory / "menu.sh"
    menu.write_text(
        MENU_SCRIPT.format(
            entries=shlex.quote(str(session_entries)),
            choice=shlex.quote(str(directory / "menu-choice")),
        )
    )
    menu.chmod(0o700)
    dunstrc = directory / "dunstrc"
    dunstrc.write_text(DUNSTRC.format(menu=menu))
    with running_display(directory) as display, running_bus(directory) as address:
        environment = {
            "DISPLAY": display,
            "DBUS_SESSION_BUS_ADDRESS": address,
            "XDG_RUNTIME_DIR": str(directory),
        }
        session = DesktopSession(environment, directory)
        with session.dunst_log.open("wb") as log:
            dunst = subprocess.Popen(
                ["dunst", "-config", str(dunstrc)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**session.environ(), "XDG_CONFIG_HOME": str(directory / "config")},
            )
        try:
            _wait_for_owner(address, dunst, session.dunst_log)
            yield session
        finally:
            _stop(dunst)


@pytest.fixture(scope="module", name="desktop_session")
def desktop_session_fixture(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DesktopSession]:
    """A real headless desktop session (Xvfb, session bus, dunst) for one test module."""
    missing = missing_programs()
    if missing:
        message = f"a desktop session needs {', '.join(missing)} (apt-get install {APT_PACKAGES})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with running_desktop_session(tmp_path_factory.mktemp("desktop")) as session:
        yield session
