"""The reminder commands as a user runs them: agenda, done, snooze, why, insights."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import DEFAULT_NOW, Runner, log_bytes

NOW = datetime.fromisoformat(DEFAULT_NOW)  # Thursday 26 Nov 2026, 14:30 in Paris
REMINDER_KEYS = {"id", "kind", "contact", "due", "message", "priority", "because"}


def at(**delta: float) -> str:
    return (NOW + timedelta(**delta)).isoformat()


def ok(result):
    assert result.status == 0, result.stderr
    return result


def agenda(cli: Runner, *arguments: str, now: str = DEFAULT_NOW) -> dict:
    return ok(cli("agenda", "--json", *arguments, now=now)).json()


def by_kind(payload: dict, kind: str) -> list[dict]:
    return [r for r in payload["reminders"] if r["kind"] == kind]


@pytest.fixture
def met_ada(cli: Runner) -> None:
    ok(cli("add", "Ada Lovelace", "--tz", "Europe/London", "--at", "-10d"))
    ok(cli("schedule", "ada", "2026-11-26 10:00", "--at", "-5d"))
    ok(
        cli(
            "met",
            "ada",
            "--asked",
            "an introduction",
            "--learned",
            "writing matters",
            "--fit",
            "4",
            "--at",
            "2026-11-26 10:30",
        )
    )


def test_agenda_json_with_a_meeting_held_has_the_contract_fields_and_the_thank_you(
    cli: Runner, met_ada: None
):
    payload = agenda(cli)
    assert payload["now"] == "2026-11-26T14:30:00+01:00"
    (thanks,) = by_kind(payload, "thank-you")
    assert set(thanks) >= REMINDER_KEYS
    assert thanks["contact"] == "ada-lovelace" and thanks["priority"] == "high"
    assert thanks["due"] == "2026-11-26T12:30:00+01:00"  # the meeting ended 10:30, plus 2 h
    log = ok(cli("log", "--json")).json()
    held = [e["id"] for e in log if e["type"] == "meeting.held"]
    assert thanks["because"] == held
    dues = [r["due"] for r in payload["reminders"]]
    assert dues == sorted(dues, key=datetime.fromisoformat)


def test_agenda_with_no_command_is_the_default(cli: Runner, met_ada: None):
    plain = ok(cli())
    assert "thank-you" in plain.stdout and "Ada Lovelace" in plain.stdout


def test_agenda_days_limits_what_is_coming(cli: Runner, met_ada: None):
    near = agenda(cli, "--days", "0")
    far = agenda(cli, "--days", "120")
    assert not by_kind(near, "keep-in-touch")
    assert by_kind(far, "keep-in-touch")
    assert all(datetime.fromisoformat(r["due"]) <= NOW for r in near["reminders"])


def test_agenda_at_looks_at_another_instant(cli: Runner, met_ada: None):
    before_meeting = agenda(cli, "--at", "2026-11-26 09:00")
    assert not by_kind(before_meeting, "thank-you")
    assert by_kind(before_meeting, "on-time")


def test_done_with_an_id_prefix_stops_the_thank_you_and_records_one_event(
    cli: Runner, met_ada: None, home: Path
):
    (thanks,) = by_kind(agenda(cli), "thank-you")
    done = ok(cli("done", thanks["id"][:4], "--json"))
    (event,) = done.json()  # done on a thank-you records the thank-you (issue #10)
    assert event["type"] == "thanks.sent" and event["contact"] == "ada-lovelace"
    assert not by_kind(agenda(cli), "thank-you")


def test_snooze_with_a_duration_moves_the_due_time(cli: Runner, met_ada: None):
    (follow_up,) = by_kind(agenda(cli, "--days", "30"), "follow-up")
    ok(cli("snooze", follow_up["id"], "30d"))
    (moved,) = by_kind(agenda(cli, "--days", "60"), "follow-up")
    assert moved["id"] == follow_up["id"]
    assert datetime.fromisoformat(moved["due"]) == NOW + timedelta(days=30)


def test_why_names_the_rule_and_the_causing_events(cli: Runner, met_ada: None):
    (thanks,) = by_kind(agenda(cli), "thank-you")
    why = ok(cli("why", thanks["id"]))
    assert "thank_you" in why.stdout and "met Ada Lovelace" in why.stdout
    payload = ok(cli("why", thanks["id"], "--json")).json()
    assert [e["type"] for e in payload["events"]] == ["meeting.held"]


@pytest.mark.parametrize(
    "arguments",
    [
        ("snooze", "zzzzzz", "1d"),
        ("done", "zzzzzz"),
        ("why", "zzzzzz"),
        ("snooze", "{id}", "soon"),
        ("snooze", "{id}", "-1d"),
        ("agenda", "--days", "-1"),
        ("agenda", "--at", "someday"),
    ],
)
def test_reminder_commands_with_bad_input_exit_2_and_append_nothing(
    cli: Runner, met_ada: None, home: Path, arguments: tuple[str, ...]
):
    (thanks,) = by_kind(agenda(cli), "thank-you")
    before = log_bytes(home)
    result = cli(*(word.format(id=thanks["id"]) for word in arguments))
    assert result.status == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert log_bytes(home) == before


def test_agenda_with_a_wrong_setting_exits_2_naming_the_place(cli: Runner, home: Path):
    ok(cli("add", "Ada Lovelace"))
    (home / "config.toml").write_text('[playbook]\nnudge_after = "soon"\n')
    result = cli("agenda")
    assert result.status == 2
    assert result.stderr.startswith(
        "coffeechat agenda: config.toml: at '$.playbook.nudge_after': can't read 'soon'"
    )
    (home / "config.toml").write_text("[playbook\n")
    assert cli("agenda").status == 2


def test_insights_count_the_funnel_and_group_lessons_by_role(cli: Runner, met_ada: None):
    ok(cli("add", "Alan Turing", "--role", "Cryptanalyst", "--industry", "Defence"))
    ok(cli("reach", "alan", "--at", "2026-11-24 10:00"))  # a Tuesday
    ok(cli("intro", "ada", "Grace Hopper"))
    payload = ok(cli("insights", "--json")).json()
    assert payload["funnel"] == {  # who got at least that far: Ada met, so she counts above
        "planned": 2,
        "reached": 2,
        "replied": 1,
        "met": 1,
        "thanked": 0,
        "introductions": 1,
    }
    tuesday = next(r for r in payload["reply_rate_by_weekday"] if r["weekday"] == "Tuesday")
    assert (tuesday["sent"], tuesday["replied"]) == (1, 0)
    (role,) = payload["roles"]
    assert role["average_fit"] == 4 and role["lessons"][0]["learned"] == "writing matters"
    human = ok(cli("insights")).stdout
    assert "funnel" in human and "writing matters" in human


def test_ls_and_show_with_reminders_give_the_next_one(cli: Runner, met_ada: None):
    ok(cli("add", "Alan Turing"))
    everything = agenda(cli, "--days", "400")["reminders"]
    ada_first = next(r for r in everything if r["contact"] == "ada-lovelace")
    listed = {row["handle"]: row for row in ok(cli("ls", "--json")).json()}
    assert listed["ada-lovelace"]["next_due"] == ada_first["due"]
    assert listed["alan-turing"]["next_due"] is None  # nothing planned with Alan yet
    shown = ok(cli("show", "ada", "--json")).json()
    assert shown["next"]["id"] == ada_first["id"] and shown["next"]["kind"] == ada_first["kind"]
    assert ada_first["id"] in ok(cli("show", "ada")).stdout
