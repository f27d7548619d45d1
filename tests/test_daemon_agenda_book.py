"""The daemon's partial evaluation gives a contact the reminders a full one gives: the
`book` rule's free times avoid every booked meeting, not only the touched contacts'."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from test_playbook import Journey, paris, write_config

from coffeechat.daemon.agenda import Agenda
from coffeechat.events import model as m
from coffeechat.plugins.manager import load_plugins
from coffeechat.plugins.reminders import Reminder, evaluate


def test_a_partial_evaluation_offers_times_around_other_contacts_meetings(tmp_path: Path):
    plugins = load_plugins(None, {})
    settings = write_config(tmp_path, plugins)
    thursday = paris("2026-11-26 14:00")
    journey = Journey()
    for handle in ("ada", "bob"):
        journey.add(handle, thursday)
    # Ada's meeting takes Tuesday 09:00, the first time Bob would otherwise be offered.
    journey.schedule("ada", thursday, starts=paris("2026-12-01 09:00"))
    now = paris("2026-11-26 16:00")
    agenda = Agenda()

    def classify(reminder: Reminder) -> datetime | None:
        return reminder.due

    agenda.full(plugins, journey.state(), now, settings, classify)
    journey.record(m.OutreachSent, thursday, contact="bob")
    journey.record(m.ReplyReceived, paris("2026-11-26 15:00"), contact="bob")
    state = journey.state()
    agenda.partial(plugins, state, now, settings, ["bob"], classify)
    [partial] = [r for r in agenda.reminders.values() if r.kind == "book"]
    full, _ = evaluate(plugins, state, now, settings)
    [expected] = [r for r in full if r.kind == "book"]
    assert "Tue 1 Dec 09:00" not in expected.message  # taken by Ada's meeting
    assert partial.message == expected.message
