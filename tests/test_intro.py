"""Introductions through the real command line: ``intro`` of someone already a contact
links them, ``add``/``edit --via`` record who introduced whom on both sides, and the
follow-up that thanks the introducer comes whichever way they were linked.

The clock is COFFEECHAT_NOW (Thursday 26 Nov 2026, 14:30 in Paris).
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Runner

LATER = "2026-11-27T10:00:00+01:00"


def events(cli: Runner) -> list[dict[str, Any]]:
    result = cli("--json", "log")
    assert result.status == 0, result.stderr
    found: list[dict[str, Any]] = result.json()
    return found


def thank_introducer(cli: Runner, introducer: str, met: str) -> list[dict[str, Any]]:
    """Meet ``met`` and return the follow-ups that ask to thank ``introducer``."""
    assert cli("met", met, now=LATER).status == 0
    agenda = cli("--json", "agenda", "--days", "7", now=LATER)
    assert agenda.status == 0, agenda.stderr
    return [
        r
        for r in agenda.json()["reminders"]
        if r["kind"] == "follow-up"
        and r["contact"] == introducer
        and "Close the loop" in r["message"]
    ]


def test_intro_links_an_existing_contact_without_a_duplicate(cli: Runner) -> None:
    assert cli("add", "Ada Lovelace").status == 0
    assert cli("add", "Grace Hopper").status == 0
    result = cli("intro", "ada", "Grace Hopper")
    assert result.status == 0, result.stderr
    assert "linked Grace Hopper (grace-hopper)" in result.stdout
    recorded = events(cli)
    added = [e for e in recorded if e["type"] == "contact.added"]
    assert [e["contact"] for e in added] == ["ada-lovelace", "grace-hopper"]  # no duplicate
    [intro] = [e for e in recorded if e["type"] == "intro.received"]
    assert (intro["contact"], intro["introduced"]) == ("ada-lovelace", "grace-hopper")
    [update] = [e for e in recorded if e["type"] == "contact.updated"]
    assert (update["contact"], update["via"]) == ("grace-hopper", "ada-lovelace")
    shown = cli("show", "ada")
    assert "introduced you to: Grace Hopper" in shown.stdout
    # The same introduction again records nothing.
    before = len(events(cli))
    assert cli("intro", "ada", "Grace Hopper").status == 0
    assert len(events(cli)) == before


def test_intro_keeps_an_existing_via_and_still_thanks_the_new_introducer(cli: Runner) -> None:
    for name in ("Ada Lovelace", "Alan Turing"):
        assert cli("add", name).status == 0
    assert cli("add", "Grace Hopper", "--via", "alan").status == 0
    assert cli("intro", "ada", "Grace Hopper").status == 0
    assert not [e for e in events(cli) if e["type"] == "contact.updated"]  # via kept: Alan
    assert cli("--json", "show", "grace").json()["via"] == "alan-turing"
    assert len(thank_introducer(cli, "ada-lovelace", "grace")) == 1
    assert len(thank_introducer(cli, "alan-turing", "grace")) == 1


def test_intro_of_existing_contact_then_meeting_thanks_the_introducer(cli: Runner) -> None:
    assert cli("add", "Ada Lovelace").status == 0
    assert cli("add", "Grace Hopper").status == 0
    assert cli("intro", "ada", "Grace Hopper").status == 0
    [reminder] = thank_introducer(cli, "ada-lovelace", "grace")
    assert "tell Ada Lovelace you met Grace Hopper" in reminder["message"]


def test_edit_via_records_the_introduction_on_the_introducers_side(cli: Runner) -> None:
    assert cli("add", "Ada Lovelace").status == 0
    assert cli("add", "Grace Hopper").status == 0
    assert cli("edit", "grace", "--via", "ada").status == 0
    assert cli("--json", "show", "grace").json()["via"] == "ada-lovelace"
    assert "introduced you to: Grace Hopper" in cli("show", "ada").stdout
    assert len(thank_introducer(cli, "ada-lovelace", "grace")) == 1


def test_intro_of_the_introducer_to_themselves_is_refused(cli: Runner) -> None:
    assert cli("add", "Ada Lovelace").status == 0
    before = len(events(cli))
    result = cli("intro", "ada", "Ada Lovelace")
    assert result.status == 2
    assert "themselves" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(events(cli)) == before
