"""The daemon as a real process: a real HTTP receiver on 127.0.0.1 as Apprise's
``json://`` target, a real datagram socket as systemd's ``NOTIFY_SOCKET``, the real clock.

Reminders are made due by recording the past (``met --at -3h`` owes a thank-you now).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import COMMAND, run_coffeechat

from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.log import EventLog


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps every POST; it can go down and come back."""

    def __init__(self, delay: float = 0.0) -> None:
        self.posts: list[dict] = []
        self.delay = delay
        self.lock = threading.Lock()
        self.began = threading.Event()  # set when a POST has arrived (before the delay)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.server: ThreadingHTTPServer | None = None
        self.up()

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.began.set()
                time.sleep(receiver.delay)
                try:
                    post = json.loads(body)
                except ValueError:
                    return  # the sender died mid-request: nothing was delivered
                with receiver.lock:
                    receiver.posts.append({**post, "received": time.time()})
                try:
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender was killed before it read the answer

            def log_message(self, *arguments: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def titles(self) -> list[str]:
        with self.lock:
            return [post["title"] for post in self.posts]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.titles()) < count:
            time.sleep(0.02)
        return self.titles()


class NotifySocket:
    """A real AF_UNIX datagram socket to pass as NOTIFY_SOCKET; a thread keeps reading it,
    as systemd does (a datagram socket queues only a few messages before senders block).

    It lives in a short folder of its own: a socket path may not exceed ~107 bytes.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.path = os.path.join(tempfile.mkdtemp(prefix="cc-"), "notify")
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(self.path)
        self.socket.settimeout(0.05)
        self.messages: list[str] = []
        self.closed = False
        OPEN_SOCKETS.append(self)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while not self.closed:
            try:
                self.messages.append(self.socket.recv(4096).decode())
            except (TimeoutError, OSError):
                continue

    def collect(self, until: str | None = None, timeout: float = 15.0) -> list[str]:
        """Return what arrived, after waiting for a message containing ``until``."""
        deadline = time.monotonic() + timeout
        while until is not None and time.monotonic() < deadline:
            if any(until in text for text in list(self.messages)):
                break
            time.sleep(0.02)
        if until is None:
            time.sleep(0.1)
        return list(self.messages)

    def first_cycle(self, timeout: float = 20.0) -> None:
        """Wait until the daemon has looked at what is due once: the first ``STATUS=`` of
        its own (READY=1 comes before the channels and the first evaluation)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text.startswith("STATUS=") for text in list(self.messages)):
                return
            time.sleep(0.02)
        raise AssertionError(f"no first cycle within {timeout} s: {self.messages}")

    def close(self) -> None:
        self.closed = True
        time.sleep(0.06)
        self.socket.close()


OPEN_SOCKETS: list[NotifySocket] = []


@pytest.fixture(autouse=True)
def _close_notify_sockets() -> Iterator[None]:
    yield
    while OPEN_SOCKETS:
        OPEN_SOCKETS.pop().close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.down()


# The weekly digest (Tuesday 08:00) would join what these tests count on a Tuesday
# morning: on 29 February only (a schedule must fire within five years).
NO_DIGEST = '[playbook]\ndigest = "0 8 29 2 *"\n\n'


def configure(home: Path, receiver: Receiver, extra: str = "") -> None:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    config.write_text(
        f'{NO_DIGEST}[[channels]]\nurl = "json://127.0.0.1:{receiver.port}/?cto=1&rto=2"\n{extra}'
    )
    config.chmod(0o600)


def record(home: Path, *arguments: str) -> None:
    result = run_coffeechat(home, *arguments, now=None)
    assert result.status == 0, result.stderr


def owe_thanks(home: Path, *names: str, hours_ago: int = 3) -> None:
    """Record meetings held in the past, so each owes a thank-you now."""
    for index, name in enumerate(names):
        record(home, "add", name, "--at", "-2d")
        record(home, "met", name.lower().replace(" ", "-"), "--at", f"-{hours_ago + index}h")


def start_daemon(home: Path, sockets: NotifySocket | None = None, **env: str) -> subprocess.Popen:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COFFEECHAT_")}
    environment.update({"TZ": "Europe/Paris", **env})
    if sockets is not None:
        environment["NOTIFY_SOCKET"] = sockets.path
    process = subprocess.Popen(
        [COMMAND, "--home", str(home), "daemon"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    return stderr


def ready(home: Path, tmp_path: Path, **env: str) -> tuple[subprocess.Popen, NotifySocket]:
    sockets = NotifySocket(tmp_path)
    process = start_daemon(home, sockets, **env)
    sockets.collect(until="READY=1")
    assert any("READY=1" in text for text in sockets.collect()), stop(process)
    return process, sockets


def sent_ledger(home: Path) -> list[dict]:
    result = run_coffeechat(home, "log", "--json", now=None)
    return [event for event in result.json() if event["type"] == "notification.sent"]


# --- delivery --------------------------------------------------------------------------------


def test_daemon_with_due_reminders_delivers_each_once_in_order(tmp_path: Path, receiver: Receiver):
    home = tmp_path / "home"
    configure(home, receiver)
    owe_thanks(home, "Ada Lovelace", "Grace Hopper", "Alan Turing")
    process, _ = ready(home, tmp_path)
    titles = receiver.wait_for(3)
    stop(process)
    # Oldest due first: Alan met 5 h ago, Grace 4 h, Ada 3 h.
    assert titles == [
        "Thank-you owed · Alan Turing",
        "Thank-you owed · Grace Hopper",
        "Thank-you owed · Ada Lovelace",
    ]
    assert len(sent_ledger(home)) == 3
    again, sockets = ready(home, tmp_path)
    sockets.first_cycle()
    time.sleep(1.0)
    stop(again)
    assert receiver.titles() == titles  # a restart repeats nothing


def test_daemon_once_twice_delivers_once(tmp_path: Path, receiver: Receiver):
    home = tmp_path / "home"
    configure(home, receiver)
    owe_thanks(home, "Ada Lovelace")
    for _ in range(2):
        result = run_coffeechat(home, "daemon", "--once", now=None)
        assert result.status == 0, result.stderr
    assert receiver.titles() == ["Thank-you owed · Ada Lovelace"]


def test_daemon_with_an_append_by_another_process_wakes_and_delivers(
    tmp_path: Path, receiver: Receiver
):
    home = tmp_path / "home"
    configure(home, receiver)
    record(home, "add", "Ada Lovelace")
    process, sockets = ready(home, tmp_path)
    sockets.first_cycle()
    assert receiver.titles() == []
    began = time.time()
    record(home, "met", "ada", "--at", "-3h")
    titles = receiver.wait_for(1, timeout=5)
    stop(process)
    assert titles == ["Thank-you owed · Ada Lovelace"]
    assert receiver.posts[0]["received"] - began < 3.0


def test_daemon_with_a_segment_arriving_by_atomic_rename_wakes_and_delivers(
    tmp_path: Path, receiver: Receiver
):
    home = tmp_path / "home"
    configure(home, receiver)
    record(home, "add", "Ada Lovelace")
    process, _ = ready(home, tmp_path)
    # Another device's segment, written elsewhere and renamed in (as Syncthing does).
    now = time.time()
    from datetime import UTC, datetime, timedelta

    instant = datetime.fromtimestamp(now, UTC)
    stamp = Stamp(instant, "phone-abc123", ZoneInfo("Europe/Paris"))
    staging = tmp_path / "staging"
    EventLog(staging, "phone-abc123").append(
        [
            stamp(m.ContactAdded, instant - timedelta(days=1), contact="grace", name="Grace H"),
            stamp(m.MeetingHeld, instant - timedelta(hours=3), contact="grace"),
        ]
    )
    os.rename(staging / "phone-abc123.jsonl", home / "log" / "phone-abc123.jsonl")
    titles = receiver.wait_for(1, timeout=5)
    stop(process)
    assert titles == ["Thank-you owed · Grace H"]


def test_daemon_with_the_receiver_down_retries_and_delivers_once_when_it_is_back(
    tmp_path: Path, receiver: Receiver
):
    home = tmp_path / "home"
    configure(home, receiver)
    owe_thanks(home, "Ada Lovelace")
    receiver.down()
    process, _ = ready(home, tmp_path)
    time.sleep(1.5)  # the first attempt fails; the next is 5 s later
    receiver.up()
    record(home, "add", "Grace Hopper")
    record(home, "met", "grace", "--at", "-3h")  # the daemon is not stalled meanwhile
    titles = receiver.wait_for(2, timeout=15)
    time.sleep(0.5)
    stderr = stop(process)
    assert sorted(titles) == ["Thank-you owed · Ada Lovelace", "Thank-you owed · Grace Hopper"]
    assert "failed for reminder" in stderr
    assert len(sent_ledger(home)) == 2


def test_daemon_killed_at_random_moments_delivers_everything_with_bounded_duplicates(
    tmp_path: Path,
):
    """A crash between a channel taking a notification and the ledger write repeats that
    notification after the restart: at most one duplicate per kill, nothing lost."""
    slow = Receiver(delay=0.03)
    try:
        home = tmp_path / "home"
        configure(home, slow, "[daemon]\nsummary_after = 1000\n")
        names = [f"Person {letter}" for letter in "ABCDEFGHIJKL"]
        owe_thanks(home, *names)
        kills = 0
        chooser = random.Random(20261126)
        for _ in range(20):
            process, _ = ready(home, tmp_path)
            time.sleep(chooser.uniform(0.0, 0.25))
            process.kill()  # SIGKILL: no cleanup at all
            process.communicate()
            kills += 1
        final, _ = ready(home, tmp_path)
        slow.wait_for(len(names), timeout=20)
        time.sleep(1.0)
        stop(final)
        titles = slow.titles()
        expected = {f"Thank-you owed · {name}" for name in names}
        assert set(titles) == expected  # nothing lost
        duplicates = len(titles) - len(set(titles))
        assert duplicates <= kills
        ledger = {event["reminder"] for event in sent_ledger(home)}
        assert len(ledger) == len(names)
    finally:
        slow.down()


def test_daemon_with_more_than_a_handful_due_sends_one_summary(tmp_path: Path, receiver: Receiver):
    home = tmp_path / "home"
    configure(home, receiver)
    owe_thanks(home, *(f"Person {letter}" for letter in "ABCDEFG"))
    process, _ = ready(home, tmp_path)
    titles = receiver.wait_for(1)
    time.sleep(0.5)
    stop(process)
    assert receiver.titles() == ["7 reminders are due"]
    assert "Send your thank-you to Person A" in receiver.posts[0]["message"]
    assert len(sent_ledger(home)) == 7
    assert titles


def test_daemon_with_a_meeting_already_started_does_not_send_its_prep_late(
    tmp_path: Path, receiver: Receiver
):
    home = tmp_path / "home"
    configure(home, receiver)
    record(home, "add", "Ada Lovelace", "--at", "-3d")
    record(home, "schedule", "ada", "-10m", "--at", "-2d", "--minutes", "60")
    result = run_coffeechat(home, "daemon", "--once", now=None)
    assert result.status == 0, result.stderr
    moot = [t for t in receiver.titles() if t.startswith(("Prepare", "On time"))]
    assert moot == []  # prep (1 day before) and on-time are moot now


def test_daemon_in_quiet_hours_holds_normal_but_not_high_priority(
    tmp_path: Path, receiver: Receiver
):
    from datetime import datetime, timedelta

    local = datetime.now(ZoneInfo("Europe/Paris"))
    start = (local - timedelta(hours=1)).strftime("%H:%M")
    end = (local + timedelta(hours=1)).strftime("%H:%M")
    home = tmp_path / "home"
    configure(home, receiver, f'[quiet_hours]\nstart = "{start}"\nend = "{end}"\n')
    owe_thanks(home, "Ada Lovelace")  # high priority: not held
    record(home, "add", "Grace Hopper", "--at", "-2d")
    record(home, "met", "grace", "--asked", "an intro", "--at", "-8d")
    result = run_coffeechat(home, "daemon", "--once", now=None)
    assert result.status == 0, result.stderr
    titles = receiver.titles()
    assert "Thank-you owed · Ada Lovelace" in titles
    assert not any("Follow up" in title for title in titles)  # normal: waits for the end


def test_daemon_logs_never_show_a_channel_secret(tmp_path: Path, receiver: Receiver):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        f'[[channels]]\nurl = "json://user:s3cr3t-token@127.0.0.1:{receiver.port}/"\n'
        '[[channels]]\nurl = "json://ghost:t0ps3cret@127.0.0.1:9/?cto=1"\n'
    )
    (home / "config.toml").chmod(0o600)
    owe_thanks(home, "Ada Lovelace")
    result = run_coffeechat(home, "daemon", "--once", now=None)
    assert result.status == 0
    assert "s3cr3t" not in result.stderr and "t0ps3cret" not in result.stderr
    assert "json://…" in result.stderr
    tested = run_coffeechat(home, "channels", "test", now=None)
    assert tested.status == 1  # the second channel fails
    assert "FAIL json://… (channel 2)" in tested.stdout
    doctor = run_coffeechat(home, "doctor", now=None)
    assert "json://… (channel 1), json://… (channel 2)" in doctor.stdout
    for output in (tested.stdout + tested.stderr, doctor.stdout + doctor.stderr):
        assert "s3cr3t" not in output and "t0ps3cret" not in output


def test_daemon_with_a_config_others_can_read_refuses_with_the_chmod(
    tmp_path: Path, receiver: Receiver
):
    home = tmp_path / "home"
    configure(home, receiver)
    (home / "config.toml").chmod(0o644)
    result = run_coffeechat(home, "daemon", "--once", now=None)
    assert result.status == 2
    assert f"chmod 600 {home / 'config.toml'}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# --- systemd: sd_notify and signals ----------------------------------------------------------


def test_daemon_under_systemd_notifies_ready_watchdog_status_and_stopping(
    tmp_path: Path, receiver: Receiver
):
    home = tmp_path / "home"
    configure(home, receiver)
    owe_thanks(home, "Ada Lovelace")
    sockets = NotifySocket(tmp_path)
    process = start_daemon(home, sockets, WATCHDOG_USEC="400000", JOURNAL_STREAM="8:1234")
    sockets.collect(until="READY=1")
    receiver.wait_for(1, timeout=20)  # after READY: the channels, the first evaluation
    time.sleep(1.1)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=15)
    status = process.returncode
    messages = sockets.collect()
    assert status == 0
    ready_at = next(i for i, text in enumerate(messages) if "READY=1" in text)
    assert receiver.titles() == ["Thank-you owed · Ada Lovelace"]
    pings = [text for text in messages[ready_at:] if text == "WATCHDOG=1"]
    assert len(pings) >= 3  # every 0.2 s for a second
    assert any(text.startswith("STATUS=") for text in messages)
    assert messages[-1] == "STOPPING=1", messages[-5:]
    assert stderr.splitlines() and all(line.startswith("<") for line in stderr.splitlines())
    # READY=1 goes once the home is followed; the channels (Apprise's import) come after.
    logged = [line.partition(">")[2].partition(":")[0] for line in stderr.splitlines()]
    assert logged.index("ready") < logged.index("channels"), stderr


def test_daemon_with_sighup_reloads_the_configuration(tmp_path: Path, receiver: Receiver):
    home = tmp_path / "home"
    (home).mkdir()
    record(home, "add", "Ada Lovelace")
    process, sockets = ready(home, tmp_path)
    configure(home, receiver)  # no channel before: log and desktop only
    process.send_signal(signal.SIGHUP)
    sockets.collect(until="RELOADING=1", timeout=5)
    record(home, "met", "ada", "--at", "-3h")
    titles = receiver.wait_for(1, timeout=5)
    stop(process)
    assert titles == ["Thank-you owed · Ada Lovelace"]
    assert any(text.startswith("RELOADING=1") for text in sockets.collect())


def test_daemon_once_with_a_snoozed_reminder_delivers_it_again_at_its_new_time(
    tmp_path: Path, receiver: Receiver
):
    home = tmp_path / "home"
    configure(home, receiver)
    t0 = "2026-11-26T14:30:00+01:00"
    for arguments in (("add", "Ada Lovelace", "--at", "-2d"), ("met", "ada", "--at", "-3h")):
        assert run_coffeechat(home, *arguments, now=t0).status == 0
    assert run_coffeechat(home, "daemon", "--once", now=t0).status == 0
    agenda = run_coffeechat(home, "agenda", "--json", now=t0).json()
    (thanks,) = [r for r in agenda["reminders"] if r["kind"] == "thank-you"]
    assert run_coffeechat(home, "snooze", thanks["id"], "1h", now=t0).status == 0
    assert run_coffeechat(home, "daemon", "--once", now="2026-11-26T15:20:00+01:00").status == 0
    assert receiver.titles() == ["Thank-you owed · Ada Lovelace"]  # not yet
    assert run_coffeechat(home, "daemon", "--once", now="2026-11-26T15:31:00+01:00").status == 0
    assert receiver.titles() == ["Thank-you owed · Ada Lovelace"] * 2  # again, once


def test_two_daemons_on_one_home_deliver_each_reminder_once(tmp_path: Path, receiver: Receiver):
    home = tmp_path / "home"
    configure(home, receiver, "[daemon]\nsummary_after = 100\n")
    record(home, "add", "Someone", "--at", "-2d")
    first, _ = ready(home, tmp_path)
    second, _ = ready(home, tmp_path)
    owe_thanks(home, *(f"Person {letter}" for letter in "ABCDEF"))
    receiver.wait_for(6)
    time.sleep(1.5)
    stop(first)
    stop(second)
    titles = receiver.titles()
    assert sorted(titles) == sorted(f"Thank-you owed · Person {letter}" for letter in "ABCDEF")


def test_daemon_with_an_apprise_config_file_delivers_through_it(tmp_path: Path, receiver: Receiver):
    home = tmp_path / "home"
    home.mkdir()
    apprise_file = tmp_path / "apprise.yml"
    apprise_file.write_text(f"urls:\n  - json://127.0.0.1:{receiver.port}/\n")
    apprise_file.chmod(0o600)  # it may hold secrets: the daemon refuses it readable by others
    (home / "config.toml").write_text(f'{NO_DIGEST}[[channels]]\nconfig = "{apprise_file}"\n')
    (home / "config.toml").chmod(0o600)
    owe_thanks(home, "Ada Lovelace")
    result = run_coffeechat(home, "daemon", "--once", now=None)
    assert result.status == 0, result.stderr
    assert receiver.titles() == ["Thank-you owed · Ada Lovelace"]


def test_channels_add_creates_a_private_config_the_daemon_uses(tmp_path: Path, receiver: Receiver):
    home = tmp_path / "home"
    url = f"json://user:s3cr3t@127.0.0.1:{receiver.port}/"
    added = run_coffeechat(home, "channels", "add", url, "--tag", "phone", now=None)
    assert added.status == 0, added.stderr
    assert "s3cr3t" not in added.stdout
    assert (home / "config.toml").stat().st_mode & 0o777 == 0o600
    with (home / "config.toml").open("a") as config:
        config.write(f"\n{NO_DIGEST}")
    owe_thanks(home, "Ada Lovelace")
    result = run_coffeechat(home, "daemon", "--once", now=None)
    assert result.status == 0, result.stderr
    assert receiver.titles() == ["Thank-you owed · Ada Lovelace"]
    tested = run_coffeechat(home, "channels", "test", "--tag", "phone", now=None)
    assert tested.status == 0 and tested.stdout.startswith("ok ")
