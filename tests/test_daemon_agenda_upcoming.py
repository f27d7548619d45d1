"""The daemon's status line names the earliest reminder still ahead: the agenda keeps that
answer as reminders come and go, and it stays the one a scan of every reminder gives."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from test_playbook import Journey, paris, write_config

from coffeechat.daemon.agenda import Agenda
from coffeechat.events import model as m
from coffeechat.plugins.manager import load_plugins
from coffeechat.plugins.reminders import Reminder


def scanned(agenda: Agenda, now: datetime) -> Reminder | None:
    """The earliest reminder due after ``now``, by looking at every one."""
    future = [r for r in agenda.reminders.values() if r.due > now]
    return min(future, key=lambda r: (r.due, r.id), default=None)


def classify(reminder: Reminder) -> datetime | None:
    return reminder.due


def test_upcoming_follows_reminders_added_removed_and_passed(tmp_path: Path):
    plugins = load_plugins(None, {})
    settings = write_config(tmp_path, plugins, "[quiet_hours]\nenabled = false\n")
    journey = Journey()
    # Three meetings held 20 minutes apart: three thank-yous due 20 minutes apart, ahead.
    now = paris("2026-11-26 10:00")
    for number, handle in enumerate(("ada", "bob", "cyd")):
        journey.add(handle, now - timedelta(days=1))
        journey.record(m.MeetingHeld, now - timedelta(minutes=60 - 20 * number), contact=handle)
    agenda = Agenda()
    agenda.full(plugins, journey.state(), now, settings, classify)
    first = agenda.upcoming(now)
    assert first is not None and first.contact == "ada"
    assert first == scanned(agenda, now)

    # Ada's thank-you is sent: the earliest goes, Bob's is next.
    journey.record(m.ThanksSent, now, contact="ada")
    agenda.partial(plugins, journey.state(), now, settings, ["ada"], classify)
    second = agenda.upcoming(now)
    assert second is not None and second.contact == "bob"
    assert second == scanned(agenda, now)

    # A meeting held just now owes a thank-you due before Bob's: it becomes the earliest.
    journey.add("dee", now - timedelta(days=1))
    journey.record(m.MeetingHeld, now - timedelta(minutes=70), contact="dee")
    agenda.partial(plugins, journey.state(), now, settings, ["dee"], classify)
    third = agenda.upcoming(now)
    assert third is not None and third.contact == "dee"
    assert third == scanned(agenda, now)

    # Time passes Dee's and Bob's due times: the answer moves on without any event.
    later = second.due + timedelta(minutes=1)
    fourth = agenda.upcoming(later)
    assert fourth is not None and fourth.contact == "cyd"
    assert fourth == scanned(agenda, later)
    # Asked about an earlier instant again (a clock set back), it is worked out anew.
    assert agenda.upcoming(now) == third
