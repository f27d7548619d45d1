"""The daemon's partial evaluation gives a contact the reminders a full one gives: the
`book` rule's free times avoid every booked meeting, not only the touched contacts'."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from coffeechat.daemon.agenda import Agenda
from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.projection import State, apply_all
from coffeechat.plugins.manager import load_plugins, settings_sections
from coffeechat.plugins.reminders import Reminder, evaluate
from coffeechat.plugins.settings import load_settings

PARIS = ZoneInfo("Europe/Paris")


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def test_a_partial_evaluation_offers_times_around_other_contacts_meetings(tmp_path: Path):
    plugins = load_plugins(None, {})
    config = tmp_path / "config.toml"
    config.write_text('timezone = "Europe/Paris"\n')
    settings = load_settings(str(config), settings_sections(plugins))
    events: list[m.Event] = []

    def record(kind: type[m.Event], at: datetime, **fields: object) -> None:
        events.append(Stamp(at, "laptop", PARIS)(kind, at, **fields))

    thursday = paris("2026-11-26 14:00")
    for handle in ("ada", "bob"):
        record(m.ContactAdded, thursday, contact=handle, name=handle.title())
    # Ada's meeting takes Tuesday 09:00, the first time Bob would otherwise be offered.
    record(m.MeetingScheduled, thursday, contact="ada", starts=paris("2026-12-01 09:00"))
    now = paris("2026-11-26 16:00")
    agenda = Agenda()

    def classify(reminder: Reminder) -> datetime | None:
        return reminder.due

    agenda.full(plugins, apply_all(State(), events), now, settings, classify)
    record(m.OutreachSent, thursday, contact="bob")
    record(m.ReplyReceived, paris("2026-11-26 15:00"), contact="bob")
    state = apply_all(State(), events)
    agenda.partial(plugins, state, now, settings, ["bob"], classify)
    [partial] = [r for r in agenda.reminders.values() if r.kind == "book"]
    full, _ = evaluate(plugins, state, now, settings)
    [expected] = [r for r in full if r.kind == "book"]
    assert "Tue 1 Dec 09:00" not in expected.message  # taken by Ada's meeting
    assert partial.message == expected.message
