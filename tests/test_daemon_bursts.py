"""Appends that arrive while the daemon is busy: every contact they bring is evaluated once
the state holds it, so each reminder is delivered (a real daemon, a real receiver, the
real clock; what is asserted is that every reminder arrives, not how fast)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from test_daemon import Receiver, configure, ready, stop
from test_daemon import receiver as receiver

from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.log import EventLog

PARIS = ZoneInfo("Europe/Paris")


def owe_thanks(log: EventLog, name: str, due: datetime) -> None:
    """One append: a contact and a meeting held, so that the thank-you is due at ``due``."""
    now = datetime.now(UTC)
    stamp = Stamp(now, "phone", PARIS)
    handle = name.lower().replace(" ", "-")
    log.append(
        [
            stamp(m.ContactAdded, now - timedelta(days=1), contact=handle, name=name),
            stamp(m.MeetingHeld, min(now, due - timedelta(hours=2)), contact=handle),
        ]
    )


def test_a_burst_of_appends_while_the_daemon_delivers_loses_no_reminder(
    tmp_path: Path, receiver: Receiver
) -> None:
    home = tmp_path / "home"
    configure(home, receiver, "[quiet_hours]\nenabled = false\n[daemon]\nsummary_after = 1000\n")
    daemon, _ = ready(home, tmp_path)
    try:
        log = EventLog(home / "log", "phone")  # another device's segment, synced in
        for number in range(20):  # overdue, one after the other: each wakes the daemon ...
            owe_thanks(log, f"Overdue {number}", datetime.now(UTC) - timedelta(minutes=1))
            receiver.wait_for(number + 1)
        first = datetime.now(UTC) + timedelta(seconds=2)
        for number in range(12):  # ... while these arrive, each due a second apart
            owe_thanks(log, f"Soon {number}", first + timedelta(seconds=number))
        titles = receiver.wait_for(32, timeout=40)
    finally:
        stop(daemon)
    for number in range(20):
        assert f"Thank-you owed · Overdue {number}" in titles
    for number in range(12):
        assert f"Thank-you owed · Soon {number}" in titles
