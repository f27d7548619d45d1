"""The daemon's status line names the earliest reminder still ahead: the agenda keeps that
answer as reminders come and go, and it stays the one a scan of every reminder gives."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from coffeechat.daemon.agenda import Agenda
from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.projection import State, apply_all
from coffeechat.plugins.manager import load_plugins, settings_sections
from coffeechat.plugins.reminders import Reminder
from coffeechat.plugins.settings import load_settings

PARIS = ZoneInfo("Europe/Paris")
THURSDAY = datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)


def scanned(agenda: Agenda, now: datetime) -> Reminder | None:
    """The earliest reminder due after ``now``, by looking at every one."""
    future = [r for r in agenda.reminders.values() if r.due > now]
    return min(future, key=lambda r: (r.due, r.id), default=None)


def test_upcoming_follows_reminders_added_removed_and_passed(tmp_path: Path):
    plugins = load_plugins(None, {})
    config = tmp_path / "config.toml"
    config.write_text('timezone = "Europe/Paris"\n[quiet_hours]\nenabled = false\n')
    settings = load_settings(str(config), settings_sections(plugins))
    events: list[m.Event] = []

    def record(kind: type[m.Event], at: datetime, **fields: object) -> None:
        events.append(Stamp(at, "laptop", PARIS)(kind, at, **fields))

    # Three meetings held 20 minutes apart: three thank-yous due 20 minutes apart, ahead.
    now = THURSDAY
    for number, handle in enumerate(("ada", "bob", "cyd")):
        record(m.ContactAdded, now - timedelta(days=1), contact=handle, name=handle.title())
        record(m.MeetingHeld, now - timedelta(minutes=60 - 20 * number), contact=handle)
    agenda = Agenda()

    def classify(reminder: Reminder) -> datetime | None:
        return reminder.due

    agenda.full(plugins, apply_all(State(), events), now, settings, classify)
    first = agenda.upcoming(now)
    assert first is not None and first.contact == "ada"
    assert first == scanned(agenda, now)

    # Ada's thank-you is sent: the earliest goes, Bob's is next.
    record(m.ThanksSent, now, contact="ada")
    agenda.partial(plugins, apply_all(State(), events), now, settings, ["ada"], classify)
    second = agenda.upcoming(now)
    assert second is not None and second.contact == "bob"
    assert second == scanned(agenda, now)

    # A meeting held just now owes a thank-you due before Bob's: it becomes the earliest.
    record(m.ContactAdded, now - timedelta(days=1), contact="dee", name="Dee")
    record(m.MeetingHeld, now - timedelta(minutes=70), contact="dee")
    agenda.partial(plugins, apply_all(State(), events), now, settings, ["dee"], classify)
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
