"""CalDAV: the meetings put into a real Radicale server the tests start, with authentication.

Radicale runs on 127.0.0.1 on a free port, in a temporary folder, with a plain htpasswd
file; each test makes its home with the real command line, then calls the daemon's entry
point (:func:`coffeechat.daemon.caldav.sync_calendar`) as the daemon will, and looks at
what the server holds with plain HTTP of its own.
"""

from __future__ import annotations

import base64
import http.client
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import icalendar
import pytest
from conftest import Result, Runner

from coffeechat.daemon.caldav import store_path, sync_calendar
from coffeechat.daemon.calendar import write_ics_file
from coffeechat.events.log import read_segments
from coffeechat.events.projection import replay
from coffeechat.plugins.calendar_settings import CalendarSettings
from coffeechat.plugins.settings import PlaybookSettings, Settings, load_settings

USER, PASSWORD = "me", "s3cret-Pa55"


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Radicale:
    """A Radicale server in a folder of its own; ``start`` and ``stop`` it at will."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        folder.mkdir()
        (folder / "users").write_text(f"{USER}:{PASSWORD}\n")
        (folder / "config").write_text(
            "[server]\n"
            f"hosts = 127.0.0.1:{self.port}\n"
            "[auth]\ntype = htpasswd\n"
            f"htpasswd_filename = {folder / 'users'}\n"
            "htpasswd_encryption = plain\n"
            "[storage]\n"
            f"filesystem_folder = {folder / 'collections'}\n"
            "[rights]\ntype = owner_only\n"
            "[logging]\nlevel = warning\n"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.path = f"/{USER}/coffeechat/"
        self.url = f"http://127.0.0.1:{self.port}{self.path}"

    def start(self) -> None:
        with open(self.folder / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "radicale", "--config", str(self.folder / "config")],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((self.folder / "server.log").read_text()) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def request(
        self, method: str, path: str, body: bytes | None = None, **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one authenticated request; return status, headers and body."""
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        headers = {"Authorization": f"Basic {token}", **headers}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def hrefs(self) -> list[str]:
        """Return the hrefs of the objects in the calendar (PROPFIND, depth 1)."""
        status, _, body = self.request("PROPFIND", self.path, Depth="1")
        assert status == 207, status
        return sorted({href.decode() for href in re.findall(rb"href>([^<]*\.ics)</", body)})

    def event(self, href: str) -> icalendar.Event:
        """Return the one VEVENT stored at ``href``."""
        status, _, body = self.request("GET", href)
        assert status == 200, status
        (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
        return event


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    """A running Radicale with an empty calendar ``/me/coffeechat/``; stopped at the end."""
    server = Radicale(tmp_path / "radicale")
    server.start()
    try:
        status, _, _ = server.request("MKCALENDAR", server.path)
        assert status == 201, status
        yield server
    finally:
        server.stop()


def ok(result: Result) -> Result:
    assert result.status == 0, result.stderr
    return result


def settings_for(home: Path, **calendar: Any) -> Settings:
    """Return the home's settings with a ``[calendar]`` section (as the daemon loads them)."""
    home.mkdir(exist_ok=True)
    lines = "".join(f'{key} = "{value}"\n' for key, value in calendar.items())
    (home / "config.toml").write_text(f"[calendar]\n{lines}")
    return load_settings(
        str(home / "config.toml"), {"playbook": PlaybookSettings, "calendar": CalendarSettings}
    )


def sync(home: Path, settings: Settings) -> list[str]:
    """Call the daemon's entry point on the home as it stands."""
    log_dir = str(home / "log")
    state = replay(read_segments(log_dir), [])
    return sync_calendar(log_dir, state, settings, store_path(str(home)))


@pytest.fixture
def booked(cli: Runner) -> Runner:
    """Ada (Tue 1 Dec 15:00) and Grace (Wed 2 Dec 10:00) booked."""
    ok(cli("add", "Ada Lovelace"))
    ok(cli("schedule", "ada", "tue 15:00", "--mode", "in-person", "--place", "Café de Flore"))
    ok(cli("add", "Grace Hopper"))
    ok(cli("schedule", "grace", "wed 10:00"))
    return cli


def by_contact(server: Radicale) -> dict[str, tuple[str, icalendar.Event]]:
    """Return each stored event, with its href, by contact handle."""
    found = {}
    for href in server.hrefs():
        event = server.event(href)
        found[str(event["X-COFFEECHAT-CONTACT"])] = (href, event)
    return found


def test_sync_with_new_meetings_puts_one_event_each_at_its_uid(
    booked: Runner, home: Path, radicale: Radicale
):
    settings = settings_for(home, caldav=radicale.url, user=USER, password=PASSWORD)
    assert sync(home, settings) == []
    stored = by_contact(radicale)
    assert set(stored) == {"ada-lovelace", "grace-hopper"}
    for href, event in stored.values():
        assert href == f"{radicale.path}{event['UID']}.ics"  # deterministic href
        assert event.decoded("DTSTART").tzinfo is not None
    assert len(stored["ada-lovelace"][1].walk("VALARM")) == 2
    # In step: a second run sends nothing (the server being down makes no difference).
    radicale.stop()
    assert sync(home, settings) == []


def test_sync_after_a_reschedule_updates_the_one_event(
    booked: Runner, home: Path, radicale: Radicale
):
    settings = settings_for(home, caldav=radicale.url, user=USER, password=PASSWORD)
    assert sync(home, settings) == []
    href, before = by_contact(radicale)["grace-hopper"]
    ok(booked("reschedule", "grace", "thu 11:00"))
    assert sync(home, settings) == []
    assert len(radicale.hrefs()) == 2
    after = radicale.event(href)
    assert str(after["UID"]) == str(before["UID"])
    assert (before["SEQUENCE"], after["SEQUENCE"]) == (0, 1)
    assert after.decoded("DTSTART").isoformat() == "2026-12-03T11:00:00+01:00"


def test_sync_after_a_cancellation_marks_it_cancelled_and_an_undone_booking_is_deleted(
    booked: Runner, home: Path, radicale: Radicale
):
    settings = settings_for(home, caldav=radicale.url, user=USER, password=PASSWORD)
    assert sync(home, settings) == []
    ok(booked("cancel", "ada"))
    assert sync(home, settings) == []
    _, ada = by_contact(radicale)["ada-lovelace"]
    assert str(ada["STATUS"]) == "CANCELLED" and ada["SEQUENCE"] == 1
    ok(booked("add", "Alan Turing"))
    ok(booked("schedule", "alan", "fri 09:00"))
    assert sync(home, settings) == []
    assert len(radicale.hrefs()) == 3
    ok(booked("undo"))  # the booking itself is taken back: the event goes (DELETE)
    assert sync(home, settings) == []
    assert set(by_contact(radicale)) == {"ada-lovelace", "grace-hopper"}


def test_sync_after_the_user_changed_the_event_keeps_their_change_and_warns(
    booked: Runner, home: Path, radicale: Radicale
):
    settings = settings_for(home, caldav=radicale.url, user=USER, password=PASSWORD)
    assert sync(home, settings) == []
    href, _ = by_contact(radicale)["grace-hopper"]
    _, _, body = radicale.request("GET", href)
    edited = body.replace(b"SUMMARY:Coffee chat with Grace Hopper", b"SUMMARY:Grace (moved room)")
    status, _, _ = radicale.request("PUT", href, edited, **{"Content-Type": "text/calendar"})
    assert status in (201, 204)
    ok(booked("edit", "grace", "--learn", "how compilers came to be"))  # our version changes
    warnings = sync(home, settings)
    assert len(warnings) == 1 and "Grace Hopper" in warnings[0] and "your change" in warnings[0]
    assert str(radicale.event(href)["SUMMARY"]) == "Grace (moved room)"
    assert sync(home, settings) == []  # said once; that version is left alone
    # A later change in coffeechat (a reschedule) goes over it, as one event still.
    ok(booked("reschedule", "grace", "thu 11:00"))
    assert sync(home, settings) == []
    event = radicale.event(href)
    assert str(event["SUMMARY"]) == "Coffee chat with Grace Hopper"
    assert len(radicale.hrefs()) == 2


def test_sync_after_the_user_deleted_the_event_leaves_it_deleted(
    booked: Runner, home: Path, radicale: Radicale
):
    settings = settings_for(home, caldav=radicale.url, user=USER, password=PASSWORD)
    assert sync(home, settings) == []
    href, _ = by_contact(radicale)["ada-lovelace"]
    assert radicale.request("DELETE", href)[0] in (200, 204)
    ok(booked("edit", "ada", "--learn", "engines"))
    warnings = sync(home, settings)
    assert len(warnings) == 1 and "deleted" in warnings[0]
    assert set(by_contact(radicale)) == {"grace-hopper"}


def test_sync_from_a_second_store_adopts_the_events_already_there(
    booked: Runner, home: Path, radicale: Radicale
):
    # Another machine's daemon (or a lost store) finds the events at their hrefs: its
    # creating PUT (If-None-Match: *) gets 412, and nothing is made twice.
    settings = settings_for(home, caldav=radicale.url, user=USER, password=PASSWORD)
    assert sync(home, settings) == []
    log_dir = str(home / "log")
    state = replay(read_segments(log_dir), [])
    other = str(home / "other-machine.json")
    assert sync_calendar(log_dir, state, settings, other) == []
    assert len(radicale.hrefs()) == 2
    # The user edits one; a third store that never saw it must not overwrite the edit.
    href, _ = by_contact(radicale)["ada-lovelace"]
    _, _, body = radicale.request("GET", href)
    edited = body.replace("LOCATION:Café de Flore".encode(), b"LOCATION:Les Deux Magots")
    assert radicale.request("PUT", href, edited, **{"Content-Type": "text/calendar"})[0] == 204
    third = str(home / "third-machine.json")
    (warning,) = sync_calendar(log_dir, state, settings, third)
    assert "Ada Lovelace" in warning and "your change wins" in warning
    assert str(radicale.event(href)["LOCATION"]) == "Les Deux Magots"
    assert len(radicale.hrefs()) == 2


def test_sync_while_the_server_is_down_warns_then_catches_up(
    booked: Runner, home: Path, radicale: Radicale
):
    settings = settings_for(home, caldav=radicale.url, user=USER, password=PASSWORD)
    assert sync(home, settings) == []
    radicale.stop()
    ok(booked("reschedule", "grace", "thu 11:00"))
    ok(booked("cancel", "ada"))
    warnings = sync(home, settings)
    assert len(warnings) == 1
    assert "connection refused" in warnings[0] and "2 change(s) will be retried" in warnings[0]
    assert PASSWORD not in warnings[0]
    radicale.start()
    assert sync(home, settings) == []
    stored = by_contact(radicale)
    assert str(stored["ada-lovelace"][1]["STATUS"]) == "CANCELLED"
    assert stored["grace-hopper"][1]["SEQUENCE"] == 1
    assert len(radicale.hrefs()) == 2


def test_sync_with_a_wrong_password_says_so_without_the_secret(
    booked: Runner, home: Path, radicale: Radicale
):
    wrong = "not-the-Pa55word"
    settings = settings_for(home, caldav=radicale.url, user=USER, password=wrong)
    warnings = sync(home, settings)
    assert len(warnings) == 1 and "authentication failed" in warnings[0]
    assert wrong not in warnings[0]
    assert radicale.hrefs() == []


def test_sync_with_a_password_command_takes_its_first_line(
    booked: Runner, home: Path, radicale: Radicale
):
    command = f"printf '{PASSWORD}\\nsomething else\\n'"
    settings = settings_for(home, caldav=radicale.url, user=USER, password_command=command)
    assert sync(home, settings) == []
    assert len(radicale.hrefs()) == 2
    failing = settings_for(home, caldav=radicale.url, user=USER, password_command="false")
    ok(booked("cancel", "ada"))
    warnings = sync(home, failing)
    assert warnings == ["calendar: [calendar] password_command failed (exit status 1)"]


def test_sync_with_the_password_in_the_url_never_shows_it(
    booked: Runner, home: Path, radicale: Radicale
):
    url = radicale.url.replace("http://", f"http://{USER}:{PASSWORD}@")
    settings = settings_for(home, caldav=url)
    assert sync(home, settings) == []
    radicale.stop()
    ok(booked("cancel", "ada"))
    (warning,) = sync(home, settings)
    assert PASSWORD not in warning and f"http://127.0.0.1:{radicale.port}/" in warning


def test_sync_without_caldav_settings_does_nothing(booked: Runner, home: Path):
    settings = settings_for(home, file=str(home / "meetings.ics"))
    assert sync(home, settings) == []
    assert not (home / "caldav.json").exists()


def test_write_ics_file_keeps_the_file_current_atomically(booked: Runner, home: Path):
    target = home / "calendars" / "coffeechat.ics"
    settings = settings_for(home, file=str(target))
    log_dir = str(home / "log")
    state = replay(read_segments(log_dir), [])
    assert write_ics_file(log_dir, state, settings, str(target)) is True
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    first = target.read_bytes()
    assert len(icalendar.Calendar.from_ical(first).walk("VEVENT")) == 2
    inode = target.stat().st_ino
    assert write_ics_file(log_dir, state, settings, str(target)) is False  # unchanged
    assert target.stat().st_ino == inode
    ok(booked("cancel", "ada"))
    state = replay(read_segments(log_dir), [])
    assert write_ics_file(log_dir, state, settings, str(target)) is True
    assert target.stat().st_ino != inode  # a new file renamed over the old one
    assert b"STATUS:CANCELLED" in target.read_bytes()
    assert [p.name for p in target.parent.iterdir()] == ["coffeechat.ics"]


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ('caldav = "ftp://example.com/cal/"', "http:// or https://"),
        ('user = "me"\npassword = "a"\npassword_command = "pass x"', "not both"),
        ('password = "a"\ncaldav = "https://example.com/c/"', "needs a user"),
    ],
)
def test_calendar_settings_with_a_mistake_name_it(tmp_path: Path, section: str, problem: str):
    from coffeechat.events.errors import UserError

    config = tmp_path / "config.toml"
    config.write_text(f"[calendar]\n{section}\n")
    with pytest.raises(UserError, match=re.escape(problem)) as raised:
        load_settings(str(config), {"calendar": CalendarSettings})
    assert "calendar" in str(raised.value)


def test_calendar_settings_with_an_unknown_key_warn_naming_it(tmp_path: Path, capsys):
    # A misspelled key is ignored with a warning (its default stands), never exit 2.
    config = tmp_path / "config.toml"
    config.write_text('[calendar]\ncolour = "blue"\n')
    load_settings(str(config), {"calendar": CalendarSettings})
    assert "unknown key 'colour' in [calendar]" in capsys.readouterr().err
