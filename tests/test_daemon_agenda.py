"""The daemon's cost follows what changed: a real daemon process, a real HTTP receiver, the
project's one clock (``COFFEECHAT_NOW`` with ``COFFEECHAT_CLOCK_SPEED``, so hours pass in
seconds), and the counts it logs with ``--verbose`` (no timing is asserted).

- a reminder due hours after the last event fires by the agenda's look at its contact,
  not by a full evaluation;
- the systemd watchdog's pings are only pings;
- an event about one contact evaluates that contact only; an ``undo`` evaluates
  everything, and the reminder it took back is never delivered;
- the safety net's full evaluation finds a reminder that time alone brought.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

from conftest import COMMAND, run_coffeechat
from test_daemon import (  # noqa: F401 (fixtures)
    NotifySocket,
    Receiver,
    _close_notify_sockets,
    configure,
    start_daemon,
)
from test_daemon import receiver as receiver

SPEED = 1800  # one real second is half an hour (the safety net comes every 2 s)
SLOW = 60  # one real second is a minute (the safety net would come after a minute)
START = datetime.fromisoformat("2026-12-01T09:00:00+01:00")  # a Tuesday in Paris


def record(home: Path, now: datetime, *arguments: str) -> None:
    result = run_coffeechat(home, *arguments, now=now.isoformat())
    assert result.status == 0, result.stderr


def fake_daemon(home: Path, speed: int = SPEED) -> tuple[subprocess.Popen[str], float]:
    """Start ``daemon --verbose`` on a fast clock; return it and when it started."""
    process = subprocess.Popen(
        [COMMAND, "--home", str(home), "daemon", "--verbose"],
        env={
            **_environment(),
            "COFFEECHAT_NOW": START.isoformat(),
            "COFFEECHAT_CLOCK_SPEED": str(speed),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, time.monotonic()


def _environment() -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COFFEECHAT_")}
    environment["TZ"] = "Europe/Paris"
    return environment


def fake_now(began: float, speed: int) -> datetime:
    """Roughly what the daemon's clock shows (it started a moment after ``began``)."""
    return START + timedelta(seconds=(time.monotonic() - began) * speed)


def stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    return str(stderr)


def wait_for_message(receiver: Receiver, text: str, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with receiver.lock:
            if any(text in post["message"] for post in receiver.posts):
                return True
        time.sleep(0.05)
    return False


def full_evaluations(stderr: str) -> int:
    return len(re.findall(r"evaluated every contact", stderr))


def test_daemon_with_a_reminder_due_hours_after_the_last_event_fires_it_by_a_look(
    tmp_path: Path, receiver: Receiver
) -> None:
    home = tmp_path / "home"
    configure(home, receiver)
    record(home, START - timedelta(days=2), "add", "Ada Lovelace")
    # Due at 14:30, five and a half hours of the daemon's clock after it starts (half an
    # hour from the safety net's hourly rounds), with no event since.
    record(
        home, START - timedelta(minutes=1), "every", "30 14 * * *", "Call Ada", "--contact", "ada"
    )
    process, _ = fake_daemon(home)
    delivered = wait_for_message(receiver, "Call Ada")
    stderr = stop(process)
    assert delivered, stderr
    ledger = [
        event
        for event in run_coffeechat(home, "log", "--json", now=None).json()
        if event["type"] == "notification.sent"
        and "Call" not in event.get("reminder", "")
        and datetime.fromisoformat(event["occurrence"]) == START.replace(hour=14, minute=30)
    ]
    assert len(ledger) == 1, stderr
    assert datetime.fromisoformat(ledger[0]["recorded"]) >= START.replace(hour=14, minute=30)
    # Found by the look at Ada when her reminder came due.
    assert "evaluated 1 contacts: ada-lovelace" in stderr


def test_daemon_under_the_watchdog_pings_without_evaluating_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    record(home, START - timedelta(days=2), "add", "Ada Lovelace")
    record(home, START - timedelta(days=2), "plan", "ada")  # due next Tuesday: nothing now
    sockets = NotifySocket(tmp_path)
    process = start_daemon(home, sockets, WATCHDOG_USEC="100000", COFFEECHAT_NOW=START.isoformat())
    sockets.collect(until="READY=1")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sockets.messages.count("WATCHDOG=1") < 20:
        time.sleep(0.05)
    stderr = stop(process)
    assert sockets.messages.count("WATCHDOG=1") >= 20
    stopped = re.search(r"stopped after (\d+) cycles \(evaluations: (\d+) full, (\d+)", stderr)
    assert stopped is not None, stderr
    cycles, full, partial = (int(group) for group in stopped.groups())
    assert (full, partial) == (1, 0)
    # The first, and a few for its own start (the lease it claims wakes it once): never
    # one a ping.
    assert cycles < 10


def test_daemon_with_an_event_about_one_contact_evaluates_that_contact_and_an_undo_everything(
    tmp_path: Path, receiver: Receiver
) -> None:
    home = tmp_path / "home"
    configure(home, receiver)
    for name in ("Ada Lovelace", "Bob Kahn", "Carol Shaw"):
        record(home, START - timedelta(days=2), "add", name)
    process, began = fake_daemon(home, SLOW)
    try:
        time.sleep(1)  # let it start: what follows is news to it
        now = fake_now(began, SLOW)
        record(home, now, "met", "ada", "--at", (now - timedelta(hours=3)).isoformat())
        assert wait_for_message(receiver, "Ada Lovelace"), "Ada's thank-you"
        # Bob's thank-you would be due in five minutes of the daemon's clock: taken back.
        now = fake_now(began, SLOW)
        record(home, now, "met", "bob", "--at", (now - timedelta(minutes=115)).isoformat())
        record(home, now, "undo")
        # Carol's is due after Bob's would have been: once hers is here, his is not coming.
        record(home, now, "met", "carol", "--at", (now - timedelta(minutes=110)).isoformat())
        assert wait_for_message(receiver, "Carol Shaw"), "Carol's thank-you"
    finally:
        stderr = stop(process)
    thanks = [title for title in receiver.titles() if title.startswith("Thank-you")]
    assert thanks == ["Thank-you owed · Ada Lovelace", "Thank-you owed · Carol Shaw"], stderr
    assert "evaluated 1 contacts: ada-lovelace" in stderr
    assert "evaluated 1 contacts: carol-shaw" in stderr
    assert full_evaluations(stderr) == 2, stderr  # at the start, and for the undo


PLUGIN = """
from datetime import datetime, timedelta

from coffeechat.plugins import hookimpl
from coffeechat.plugins.reminders import make_reminder

SINCE = datetime.fromisoformat("{since}")


@hookimpl
def coffeechat_reminders(state, now, settings):
    # Time alone brings this one: no event, and nothing due before it to look at.
    if now < SINCE or "ada-lovelace" not in state.contacts:
        return []
    return [make_reminder("ripe", "ada-lovelace", SINCE, "Ripe now", because=[])]
"""


def test_daemon_safety_net_finds_a_reminder_time_alone_brought(
    tmp_path: Path, receiver: Receiver
) -> None:
    home = tmp_path / "home"
    configure(home, receiver)
    plugins = home / "plugins"
    plugins.mkdir(mode=0o700)
    plugin = plugins / "ripe.py"
    plugin.write_text(PLUGIN.format(since=(START + timedelta(minutes=30)).isoformat()))
    plugin.chmod(0o600)
    record(home, START - timedelta(days=2), "add", "Ada Lovelace")
    process, _ = fake_daemon(home)
    delivered = wait_for_message(receiver, "Ripe now")
    stderr = stop(process)
    assert delivered, stderr
    assert full_evaluations(stderr) >= 2, stderr  # at the start, then the safety net
