"""``show`` and ``ls`` evaluate the rules for the contacts they show, and say what a full
evaluation says: the same next reminder for each of them, including the reminders that
read other contacts (a ``book`` reminder avoids everyone's meetings; an introducer is
asked to close the loop when the person they introduced is met)."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from conftest import Runner

from coffeechat.daemon.cli.app import App
from coffeechat.daemon.cli.reading import Outlook, contacts_read_with
from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.log import EventLog
from coffeechat.plugins.reminders import evaluate

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 26, 13, 30, tzinfo=UTC)  # the tests' fixed now (conftest)


def write_home(home: Path) -> list[str]:
    """Write a log where reminders depend on other contacts; return the handles."""
    start = NOW - timedelta(days=20)
    stamp = Stamp(start, "laptop-0a0a0a", PARIS)
    events: list[m.Event] = []
    handles = ["ada", "alan", "edsger", "grace", "barbara", "ken", "dennis"]
    for handle in handles:
        events.append(stamp(m.ContactAdded, start, contact=handle, name=handle.title()))
    events.append(stamp(m.ReplyReceived, NOW - timedelta(hours=3), contact="ada"))
    # Meetings at the times a ``book`` reminder would otherwise offer (Tuesday 9:00 and
    # 12:00, Wednesday 9:00 in Paris).
    for handle, starts in (
        ("grace", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        ("barbara", datetime(2026, 12, 1, 11, 0, tzinfo=UTC)),
        ("ken", datetime(2026, 12, 2, 8, 0, tzinfo=UTC)),
        ("dennis", datetime(2026, 12, 2, 13, 0, tzinfo=UTC)),
    ):
        events.append(stamp(m.MeetingScheduled, start, contact=handle, starts=starts))
    # alan introduced edsger, whom you met: alan is owed a "close the loop".
    events.append(stamp(m.IntroReceived, start, contact="alan", introduced="edsger"))
    events.append(stamp(m.MeetingHeld, NOW - timedelta(days=1), contact="edsger"))
    EventLog(home / "log", "laptop-0a0a0a").append(events)
    return handles


@pytest.fixture
def app(home: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("COFFEECHAT_NOW", NOW.isoformat())
    monkeypatch.setenv("TZ", "Europe/Paris")
    write_home(home)
    return App(str(home), json=True)


def test_show_next_is_the_full_evaluations_next_for_every_contact(app: App):
    full = Outlook(app, app.state, app.now)
    everyone = full.next
    assert everyone["ada"]["kind"] == "book" and everyone["alan"]["kind"] == "follow-up"
    for handle in app.state.contacts:
        alone = Outlook(app, app.state, app.now, only=[handle]).next
        assert alone == ({handle: everyone[handle]} if handle in everyone else {}), handle
    # What it guards against: the rules on ada or alan alone would say something else.
    plugins, settings = full._rules.plugins, full._rules.settings
    for handle in ("ada", "alan"):
        alone_reminders, _ = evaluate(plugins, app.state, app.now, settings, only=[handle])
        first = next(r for r in full.reminders if r.contact == handle)
        assert first not in alone_reminders, handle


SPY = """
import json, os
from coffeechat.plugins import hookimpl

@hookimpl
def coffeechat_reminders(state, now):
    with open(os.path.join(os.path.dirname(__file__), "asked.jsonl"), "a") as file:
        file.write(json.dumps(sorted(state.contacts)) + "\\n")
    return []
"""


def test_show_and_ls_of_a_stage_evaluate_the_rules_only_for_whom_they_show(
    home: Path, cli: Runner, monkeypatch: pytest.MonkeyPatch
):
    write_home(home)
    folder = home / "plugins"
    folder.mkdir(mode=0o700)
    (folder / "spy.py").write_text(textwrap.dedent(SPY))
    (folder / "spy.py").chmod(0o600)
    asked = folder / "asked.jsonl"

    def contacts_seen(*arguments: str) -> list[str]:
        asked.unlink(missing_ok=True)
        result = cli(*arguments)
        assert result.status == 0, result.stderr
        (line,) = asked.read_text().splitlines()
        seen: list[str] = json.loads(line)
        return seen

    booked = ["barbara", "dennis", "grace", "ken"]  # a book reminder avoids their meetings
    assert contacts_seen("show", "ada") == sorted(["ada", *booked])
    assert contacts_seen("show", "alan") == sorted(["alan", "edsger", *booked])
    assert contacts_seen("ls", "--stage", "replied") == sorted(["ada", *booked])
    assert len(contacts_seen("agenda")) == 7
    # ... and still list what a full evaluation gives them.
    monkeypatch.setenv("COFFEECHAT_NOW", NOW.isoformat())
    monkeypatch.setenv("TZ", "Europe/Paris")
    app = App(str(home), json=True)
    everyone = Outlook(app, app.state, app.now).next
    rows = cli("--json", "ls").json()
    assert {row["handle"]: row["next_due"] for row in rows} == {
        handle: everyone[handle]["due"] if handle in everyone else None
        for handle in app.state.contacts
    }
    (row,) = cli("--json", "ls", "--stage", "replied").json()
    assert (row["handle"], row["next_due"]) == ("ada", everyone["ada"]["due"])


def test_show_decodes_only_the_contacts_it_shows_and_says_the_same(
    app: App, home: Path, cli: Runner
):
    everyone = Outlook(app, app.state, app.now).next
    ok = cli("show", "ada")  # the snapshot is written
    assert ok.status == 0, ok.stderr
    for handle in ("ada", "alan", "edsger"):
        lazy = App(str(home), json=True)
        lazy.projection.lazy_contacts = True
        state = lazy.state
        links = lazy.projection.links()
        alone = Outlook(lazy, state, lazy.now, only=[handle], links=links).next
        assert alone == ({handle: everyone[handle]} if handle in everyone else {}), handle
        held = {h: dict.__getitem__(state.contacts, h) for h in dict.keys(state.contacts)}
        decoded = {h for h, value in held.items() if not isinstance(value, msgspec.Raw)}
        assert decoded == contacts_read_with(state, {handle}, links)
        assert len(decoded) < len(held)
