"""The stage follows what happened (issue #10, section 1), through the real command line.

The clock is fixed at Thursday 26 Nov 2026, 14:30 in Paris (``conftest.DEFAULT_NOW``);
each scenario records what a user would type and reads the stage, the agenda and the
log back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import Result, Runner


def ok(result: Result) -> Result:
    """Assert a run succeeded without a traceback and return it."""
    assert result.status == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result


def logged(home: Path) -> list[dict[str, Any]]:
    """Return every event of the home's log, in file order."""
    events: list[dict[str, Any]] = []
    for path in sorted((home / "log").glob("*.jsonl")):
        events.extend(json.loads(line) for line in path.read_text().splitlines())
    return events


def agenda(cli: Runner, *extra: str, **options: Any) -> list[dict[str, Any]]:
    """Return the agenda's reminders (30 days ahead)."""
    shown = ok(cli("agenda", "--days", "30", "--json", *extra, **options)).json()
    reminders: list[dict[str, Any]] = shown["reminders"]
    return reminders


def reminder(cli: Runner, kind: str, contact: str, **options: Any) -> dict[str, Any]:
    """Return the one reminder of ``kind`` about ``contact`` in the agenda."""
    found = [r for r in agenda(cli, **options) if r["kind"] == kind and r["contact"] == contact]
    assert len(found) == 1, found
    return found[0]


def stage(cli: Runner, contact: str, **options: Any) -> str:
    """Return a contact's stage as ``show --json`` says it."""
    value: str = ok(cli("show", contact, "--json", **options)).json()["stage"]
    return value


def done_types(cli: Runner, reminder_id: str, **options: Any) -> list[str]:
    """Run ``done --json`` and return the types of the events it recorded."""
    return [event["type"] for event in ok(cli("done", reminder_id, "--json", **options)).json()]


# --- 1. done on a reminder whose action is a step records that step ---------------------------


def test_done_on_a_thank_you_records_the_thank_you(cli: Runner, home: Path) -> None:
    ok(cli("add", "Priya Shah", "--role", "CTO"))
    ok(cli("add", "Max Weber"))
    for handle in ("priya-shah", "max-weber"):
        ok(cli("met", handle, "--at", "-3h", "--learned", "how boards work", "--fit", "4"))
    thank_you = reminder(cli, "thank-you", "priya-shah")
    why = ok(cli("why", thank_you["id"])).stdout
    assert "done records thanks.sent, as 'coffeechat thank priya-shah' would" in why

    said = ok(cli("done", thank_you["id"]))
    assert said.stdout.startswith("done: thank-you to Priya Shah sent  [")
    assert [e["type"] for e in logged(home)][-1] == "thanks.sent"
    assert "reminder.done" not in [e["type"] for e in logged(home)]
    assert stage(cli, "priya-shah") == "thanked"
    shown = ok(cli("show", "priya-shah")).stdout
    assert "thank-you to Priya Shah sent" in shown
    # The thank-you was recorded, so its reminder is gone on its own, and only Max's is owed.
    owed = [r for r in agenda(cli) if r["kind"] == "thank-you"]
    assert [r["contact"] for r in owed] == ["max-weber"]
    assert ok(cli("insights", "--json")).json()["funnel"]["thanked"] == 1
    # The digest counts the thank-yous the agenda lists (next Tuesday's digest).
    digest = [r for r in agenda(cli) if r["kind"] == "digest"]
    assert digest and "Thank-you owed: 1." in digest[-1]["message"]


def test_done_on_each_kind_records_its_step_or_only_done(cli: Runner, home: Path) -> None:
    ok(cli("add", "Ada Lovelace", "--tz", "Europe/London"))
    ok(cli("plan", "ada", "--learn", "engines"))
    assert done_types(cli, reminder(cli, "reach-out", "ada-lovelace")["id"]) == ["outreach.sent"]
    assert stage(cli, "ada") == "reached"
    assert not [r for r in agenda(cli) if r["kind"] == "reach-out"]

    # A week later, the nudge: done records a follow-up outreach, and nudge 2 comes next.
    later = "2026-12-04T10:00:00+01:00"
    nudge = reminder(cli, "nudge", "ada-lovelace", now=later)
    assert "(1 of 2)" in nudge["message"]
    assert done_types(cli, nudge["id"], now=later) == ["outreach.sent"]
    assert len([e for e in logged(home) if e["type"] == "outreach.sent"]) == 2
    assert "(2 of 2)" in reminder(cli, "nudge", "ada-lovelace", now=later)["message"]

    # A meeting booked: its prep reminder is only marked done.
    ok(cli("add", "Grace Hopper"))
    ok(cli("schedule", "grace", "mon 10:00"))
    assert done_types(cli, reminder(cli, "prep", "grace-hopper")["id"]) == ["reminder.done"]

    # Met long ago, thanked: keep in touch records a touch and the next one is 90 days on.
    ok(cli("add", "Alan Turing"))
    ok(cli("met", "alan", "--at", "2026-07-01 10:00"))
    ok(cli("thank", "alan", "--at", "2026-07-01 18:00"))
    keep = reminder(cli, "keep-in-touch", "alan-turing")
    assert done_types(cli, keep["id"]) == ["touch.logged"]
    assert stage(cli, "alan") == "in-touch"
    assert not [r for r in agenda(cli) if r["kind"] == "keep-in-touch"]

    # The ask followed up: done records a touch, and the follow-up is settled.
    ok(cli("add", "Linus Pauling"))
    ok(cli("met", "linus", "--at", "2026-11-10 10:00", "--asked", "an intro to his editor"))
    ok(cli("thank", "linus", "--at", "2026-11-10 18:00"))
    follow = reminder(cli, "follow-up", "linus-pauling")
    assert done_types(cli, follow["id"]) == ["touch.logged"]
    assert not [r for r in agenda(cli) if r["kind"] == "follow-up"]

    # A recurring reminder of your own: only done.
    ok(cli("every", "0 9 * * *", "read the news"))
    tomorrow = "2026-11-27T10:00:00+01:00"
    recurring = [r for r in agenda(cli, now=tomorrow) if r["kind"] == "recurring"]
    assert done_types(cli, recurring[0]["id"], now=tomorrow) == ["reminder.done"]


# --- 2. a step fulfils the step it answers, whatever the dates ------------------------------


def test_reach_dated_before_the_plan_fulfils_it(cli: Runner) -> None:
    ok(cli("add", "Ada Lovelace", "--learn", "engines"))
    ok(cli("plan", "ada"))
    ok(cli("reach", "ada", "--at", "thu 10:00"))  # last Thursday, before the plan
    assert stage(cli, "ada") == "reached"
    assert not [r for r in agenda(cli) if r["kind"] == "reach-out"]


def test_met_before_the_booked_day_consumes_the_booking(cli: Runner) -> None:
    ok(cli("add", "Max Weber"))
    ok(cli("schedule", "max", "mon 10:00"))
    ok(cli("met", "max", "--at", "-1d"))
    assert stage(cli, "max") == "met"
    kinds = {r["kind"] for r in agenda(cli) if r["contact"] == "max-weber"}
    assert "prep" not in kinds and "on-time" not in kinds and "did-it-happen" not in kinds
    assert "thank-you" in kinds


def test_a_plan_after_a_finished_round_starts_a_new_one_and_says_so(cli: Runner) -> None:
    ok(cli("add", "Grace Hopper", "--learn", "compilers"))
    ok(cli("met", "grace", "--at", "2026-06-01 10:00"))
    ok(cli("thank", "grace", "--at", "2026-06-01 18:00"))
    assert stage(cli, "grace") == "thanked"
    planned = ok(cli("plan", "grace"))
    assert "a new round with Grace Hopper starts (the last one ended: thanked)" in planned.stderr
    assert stage(cli, "grace") == "planned"
    # Nudges that ran out end a round too: an outreach months later starts a new one.
    ok(cli("add", "Alan Turing", "--learn", "machines"))
    ok(cli("reach", "alan", "--at", "2026-08-04 10:00"))
    assert stage(cli, "alan") == "no-reply"
    again = ok(cli("reach", "alan"))
    assert "the last one ended: no reply after the nudges" in again.stderr
    assert stage(cli, "alan") == "reached"
    nudges = [r for r in agenda(cli) if r["kind"] == "nudge" and r["contact"] == "alan-turing"]
    assert nudges and all("(1 of 2)" in r["message"] for r in nudges)


# --- 3. impossible or repeated steps --------------------------------------------------------


def test_the_same_step_twice_appends_nothing(cli: Runner, home: Path) -> None:
    ok(cli("add", "Ada Lovelace", "--learn", "engines"))
    ok(cli("plan", "ada"))
    before = logged(home)
    again = ok(cli("plan", "ada"))
    assert again.stdout.startswith("already recorded: outreach to Ada Lovelace planned")
    assert ok(cli("plan", "ada", "--json")).json() == []
    assert logged(home) == before
    ok(cli("reach", "ada"))
    ok(cli("reach", "ada"))  # a follow-up is legitimate
    ok(cli("reply", "ada"))
    assert ok(cli("reply", "ada", "--json")).json() == []
    ok(cli("schedule", "ada", "mon 10:00"))
    assert "already recorded" in ok(cli("schedule", "ada", "mon 10:00")).stdout
    ok(cli("met", "ada", "--at", "-2h"))
    assert ok(cli("met", "ada", "--json")).json() == []
    ok(cli("thank", "ada"))
    assert "already recorded: thank-you to Ada Lovelace sent" in ok(cli("thank", "ada")).stdout
    ok(cli("touch", "ada"))
    ok(cli("touch", "ada"))
    types = [e["type"] for e in logged(home)]
    assert types.count("outreach.planned") == 1 and types.count("outreach.sent") == 2
    assert types.count("reply.received") == 1 and types.count("meeting.scheduled") == 1
    assert types.count("meeting.held") == 1 and types.count("thanks.sent") == 1
    assert types.count("touch.logged") == 2


def test_reach_brings_back_an_archived_contact(cli: Runner) -> None:
    ok(cli("add", "Max Weber"))
    ok(cli("archive", "max"))
    reached = ok(cli("reach", "max"))
    assert "Max Weber was archived: this brings them back" in reached.stderr
    assert stage(cli, "max") == "reached"


def test_schedule_in_the_past_is_refused_with_met_at(cli: Runner, home: Path) -> None:
    ok(cli("add", "Max Weber"))
    before = logged(home)
    refused = cli("schedule", "max", "yesterday 10:00")
    assert refused.status == 2 and "coffeechat met max-weber --at WHEN" in refused.stderr
    assert logged(home) == before
    ok(cli("schedule", "max", "mon 10:00"))
    assert cli("reschedule", "max", "-2h").status == 2
