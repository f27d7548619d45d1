"""The desktop channel against a real notification server: dunst, headless (Xvfb)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pluggy
import pytest
from desktop_session import (
    DesktopSession,
    desktop_session_fixture,  # noqa: F401  (the desktop_session fixture)
    running_bus,
    wait_until,
)

from coffeechat.plugins import hookspecs
from coffeechat.plugins.channels import desktop
from coffeechat.plugins.channels.desktop import DesktopChannel, session_bus_available
from coffeechat.plugins.manager import Plugins
from coffeechat.plugins.reminders import Priority, Reminder, make_reminder

TITLE = "Thank-you owed"
BODY = "Send your thank-you to Ada"


def a_reminder(priority: Priority = "high") -> Reminder:
    return make_reminder(
        "thank-you",
        "ada-lovelace",
        datetime(2026, 11, 26, 16, 0, tzinfo=UTC),
        BODY,
        because=["01JDQ0000000000000000000AA"],
        priority=priority,
    )


def dead_socket(folder: Path) -> Path:
    """A socket file nobody listens on (what a bus that has gone leaves behind)."""
    path = folder / "bus"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
    return path


@pytest.fixture
def session(desktop_session: DesktopSession) -> DesktopSession:
    """The module's desktop session, with nothing on screen."""
    desktop_session.close_all()
    return desktop_session


@pytest.fixture
def channel(session: DesktopSession) -> Iterator[DesktopChannel]:
    """A channel on the session's bus, closed after the test."""
    made = DesktopChannel("desktop://", environ=dict(session))
    yield made
    made.close()


def only_sent_id(channel: DesktopChannel) -> int:
    assert len(channel.sent) == 1, channel.sent
    return next(iter(channel.sent))


# --- delivery -------------------------------------------------------------------------------


def test_send_with_notification_server_displays_it_and_it_reaches_history(
    session: DesktopSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in session.items():
        monkeypatch.setenv(name, value)  # the factory's way: the process environment
    channel = DesktopChannel("desktop://")
    reminder = a_reminder()
    try:
        assert channel.send(TITLE, BODY, reminder) is True
        assert channel.last_error is None
        notification_id = only_sent_id(channel)
        assert channel.sent[notification_id] == reminder.id
        assert wait_until(lambda: session.count("displayed") == 1, what="it on screen")
    finally:
        channel.close()
    session.close_all()
    shown = session.in_history(notification_id)
    assert shown is not None, session.history()
    assert (shown["summary"], shown["body"], shown["appname"]) == (TITLE, BODY, "coffeechat")


@pytest.mark.parametrize(
    ("priority", "urgency"), [("low", "low"), ("normal", "normal"), ("high", "critical")]
)
def test_send_with_reminder_priority_sets_the_matching_urgency(
    session: DesktopSession, channel: DesktopChannel, priority: Priority, urgency: str
) -> None:
    assert channel.send(TITLE, BODY, a_reminder(priority))
    notification_id = only_sent_id(channel)
    session.close_all()
    shown = session.in_history(notification_id)
    assert shown is not None
    # the session's dunstrc renders each urgency as "<urgency>|summary|body"
    assert shown["message"] == f"{urgency}|{TITLE}|{BODY}"


def test_send_with_no_reminder_delivers_at_normal_urgency_and_remembers_nothing(
    session: DesktopSession, channel: DesktopChannel
) -> None:
    assert channel.send("coffeechat", "channels test", None) is True
    assert channel.sent == {}
    assert wait_until(lambda: session.count("displayed") == 1, what="it on screen")
    session.close_all()
    assert session.history()[0]["message"] == "normal|coffeechat|channels test"


def test_send_with_markup_characters_in_body_shows_them_as_text(
    session: DesktopSession, channel: DesktopChannel
) -> None:
    body = "Ask about R&D <team> plans"
    assert channel.send(TITLE, body, a_reminder())
    notification_id = only_sent_id(channel)
    session.close_all()
    shown = session.in_history(notification_id)
    assert shown is not None
    # dunst advertises body-markup: the body is escaped, so the text shows as written
    assert shown["body"] == "Ask about R&amp;D &lt;team&gt; plans"
    assert "Unable to parse markup" not in session.dunst_log.read_text()


def test_send_with_many_notifications_reuses_one_bus_connection(
    session: DesktopSession, channel: DesktopChannel
) -> None:
    for priority in ("low", "normal", "high"):
        assert channel.send(TITLE, priority, a_reminder(priority))
    assert len(channel.sent) == 3
    assert wait_until(lambda: session.count("displayed") == 3, what="three on screen")
    bus = channel._bus
    assert bus is not None and bus.alive
    assert channel.send(TITLE, "again", a_reminder()) and channel._bus is bus


# --- no session bus, no server --------------------------------------------------------------


def test_send_with_no_bus_address_returns_false_quickly_with_the_reason() -> None:
    channel = DesktopChannel("desktop://", environ={})
    started = time.monotonic()
    assert channel.send(TITLE, BODY, a_reminder()) is False
    assert time.monotonic() - started < 1
    assert channel.last_error is not None
    assert "DBUS_SESSION_BUS_ADDRESS" in channel.last_error
    assert channel.sent == {}


def test_send_with_bus_address_of_a_dead_socket_returns_false_quickly(tmp_path: Path) -> None:
    path = dead_socket(tmp_path)
    channel = DesktopChannel(
        "desktop://", environ={"DBUS_SESSION_BUS_ADDRESS": f"unix:path={path}"}
    )
    started = time.monotonic()
    assert channel.send(TITLE, BODY, a_reminder()) is False
    assert time.monotonic() - started < 1
    assert channel.last_error is not None
    assert "cannot connect to the session bus" in channel.last_error
    assert str(path) in channel.last_error


def test_send_with_bus_address_of_a_missing_socket_returns_false(tmp_path: Path) -> None:
    address = f"unix:path={tmp_path / 'nothing-here'}"
    channel = DesktopChannel("desktop://", environ={"DBUS_SESSION_BUS_ADDRESS": address})
    assert channel.send(TITLE, BODY, a_reminder()) is False
    assert channel.last_error is not None
    assert "FileNotFoundError" in channel.last_error


def test_send_with_bus_but_no_notification_server_returns_false_with_the_bus_error(
    desktop_session: DesktopSession, tmp_path: Path
) -> None:
    with running_bus(tmp_path / "bare") as address:
        channel = DesktopChannel("desktop://", environ={"DBUS_SESSION_BUS_ADDRESS": address})
        try:
            assert channel.send(TITLE, BODY, a_reminder()) is False
        finally:
            channel.close()
    assert channel.last_error is not None
    assert "org.freedesktop.DBus.Error.ServiceUnknown" in channel.last_error


def test_send_with_bus_gone_since_last_send_returns_false_then_recovers(
    desktop_session: DesktopSession, tmp_path: Path
) -> None:
    folder = tmp_path / "restarting"
    with running_bus(folder) as address:
        channel = DesktopChannel("desktop://", environ={"DBUS_SESSION_BUS_ADDRESS": address})
        channel.send(TITLE, BODY, None)  # connects (no server on it: False)
        bus = channel._bus
        assert bus is not None
    wait_until(lambda: not bus.alive, what="the channel to notice the bus has gone")
    try:
        assert channel.send(TITLE, BODY, None) is False
        assert channel.last_error is not None
        assert "cannot connect to the session bus" in channel.last_error
        with running_bus(folder):  # the same address again: the channel reconnects
            assert channel.send(TITLE, BODY, None) is False
            assert "ServiceUnknown" in (channel.last_error or "")
    finally:
        channel.close()


# --- session_bus_available ------------------------------------------------------------------


def test_session_bus_available_with_running_bus_is_true(desktop_session: DesktopSession) -> None:
    address = desktop_session["DBUS_SESSION_BUS_ADDRESS"]
    assert session_bus_available({"DBUS_SESSION_BUS_ADDRESS": address}) is True


def test_session_bus_available_with_no_address_is_false() -> None:
    assert session_bus_available({}) is False


def test_session_bus_available_with_dead_socket_is_false(tmp_path: Path) -> None:
    address = f"unix:path={dead_socket(tmp_path)}"
    assert session_bus_available({"DBUS_SESSION_BUS_ADDRESS": address}) is False


def test_session_bus_available_with_only_runtime_dir_bus_uses_it(
    desktop_session: DesktopSession, tmp_path: Path
) -> None:
    runtime = desktop_session["XDG_RUNTIME_DIR"]  # holds the session's "bus" socket
    assert session_bus_available({"XDG_RUNTIME_DIR": runtime}) is True
    assert session_bus_available({"XDG_RUNTIME_DIR": str(tmp_path)}) is False
    channel = DesktopChannel("desktop://", environ={"XDG_RUNTIME_DIR": runtime})
    try:
        assert channel.send(TITLE, BODY, a_reminder()) is True
    finally:
        channel.close()


# --- actions --------------------------------------------------------------------------------


class Clicks:
    """What ``listen_for_actions`` reported, with the reminder each click mapped to."""

    def __init__(self, channel: DesktopChannel) -> None:
        self.channel = channel
        self.seen: list[tuple[int, str, str | None]] = []
        self.arrived = threading.Event()

    def __call__(self, notification_id: int, action: str) -> None:
        self.seen.append((notification_id, action, self.channel.sent.get(notification_id)))
        self.arrived.set()


@pytest.fixture
def listening(channel: DesktopChannel) -> Iterator[Clicks]:
    """The channel's action listener, running in a thread; stopped by ``close``."""
    clicks = Clicks(channel)
    thread = threading.Thread(target=channel.listen_for_actions, args=(clicks,), daemon=True)
    thread.start()
    yield clicks
    channel.close()
    thread.join(timeout=5)
    assert not thread.is_alive(), "listen_for_actions did not return after close()"


@pytest.mark.parametrize("action", ["done", "snooze"])
def test_listen_for_actions_with_button_clicked_reports_it_with_the_reminder(
    session: DesktopSession, channel: DesktopChannel, listening: Clicks, action: str
) -> None:
    reminder = a_reminder()
    assert channel.send(TITLE, BODY, reminder)
    notification_id = only_sent_id(channel)
    wait_until(lambda: session.count("displayed") == 1, what="it on screen")
    session.invoke_action(action)
    assert sorted(session.menu_entries()) == [
        f"#Done ({TITLE}) [{notification_id},done]",
        f"#Snooze 1 day ({TITLE}) [{notification_id},snooze]",
    ]
    assert listening.arrived.wait(timeout=5), "no ActionInvoked reached the listener"
    assert listening.seen == [(notification_id, action, reminder.id)]


def test_listen_for_actions_with_notification_closed_forgets_its_reminder(
    session: DesktopSession, channel: DesktopChannel, listening: Clicks
) -> None:
    assert channel.send(TITLE, BODY, a_reminder())
    notification_id = only_sent_id(channel)
    session.close_all()
    wait_until(lambda: notification_id not in channel.sent, what="NotificationClosed")
    assert listening.seen == []


def test_listen_for_actions_with_callback_raising_keeps_listening(
    session: DesktopSession, channel: DesktopChannel
) -> None:
    seen: list[str] = []
    arrived = threading.Event()

    def callback(notification_id: int, action: str) -> None:
        seen.append(action)
        arrived.set()
        if len(seen) == 1:
            raise RuntimeError("the daemon tripped")

    thread = threading.Thread(target=channel.listen_for_actions, args=(callback,), daemon=True)
    thread.start()
    try:
        for action in ("done", "snooze"):
            arrived.clear()
            assert channel.send(TITLE, action, a_reminder())
            wait_until(lambda: session.count("displayed") >= 1, what="it on screen")
            session.invoke_action(action)
            assert arrived.wait(timeout=5)
            session.close_all()
        assert seen == ["done", "snooze"]
        assert channel.listen_error is not None
        assert "the daemon tripped" in channel.listen_error
    finally:
        channel.close()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_listen_for_actions_with_no_bus_returns_on_close() -> None:
    channel = DesktopChannel("desktop://", environ={})
    thread = threading.Thread(target=channel.listen_for_actions, args=(print,), daemon=True)
    thread.start()
    wait_until(lambda: channel.listen_error is not None, what="the listener to try")
    assert thread.is_alive()  # waiting for a bus, not spinning or gone
    channel.close()
    thread.join(timeout=5)
    assert not thread.is_alive()


# --- the plugin -----------------------------------------------------------------------------


def test_coffeechat_channels_with_desktop_plugin_registers_desktop_scheme() -> None:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    plugins = Plugins(manager)
    assert plugins.register(desktop, "desktop", "built-in"), plugins.problems
    registered = {args[0]: args[1] for _, args, _ in plugins.collect("coffeechat_channels")}
    assert registered == {"desktop": DesktopChannel}
    made = registered["desktop"]("desktop://")
    assert callable(made.send) and made.sent == {} and made.last_error is None
    assert made.listen_error is None
