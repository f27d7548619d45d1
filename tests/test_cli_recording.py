"""The recording commands of the command line, run as real subprocesses.

Each recording command exits 0, prints one human line per event it appended, and with
``--json`` prints the appended events as a JSON list carrying the contract's fields;
the log grows by exactly those events. Homes at the usual points of a journey are built
once per module (each command at its own minute, as a real clock would give) and copied
for each test.
"""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import DEFAULT_NOW, Result, Runner, run_coffeechat

NOW = datetime.fromisoformat(DEFAULT_NOW)  # Thursday 26 Nov 2026, 14:30 in Paris
CONTRACT_FIELDS = {"type", "id", "recorded", "device", "v", "at"}
TIME_FIELDS = {"at", "starts", "recorded"}


def minutes_before_now(minutes: int) -> str:
    """Return the ISO instant ``minutes`` before the tests' fixed now."""
    return (NOW - timedelta(minutes=minutes)).isoformat()


def instant(text: str) -> datetime:
    """Parse an ISO 8601 instant from the JSON output (``Z`` or an offset)."""
    return datetime.fromisoformat(text)


def device_of(home: Path) -> str:
    """Return the home's device id."""
    return (home / "device").read_text().strip()


def segment_of(home: Path) -> Path:
    """Return this device's log segment."""
    return home / "log" / f"{device_of(home)}.jsonl"


def logged(home: Path) -> list[dict[str, Any]]:
    """Return every event of every segment of the home, as JSON objects in file order."""
    events: list[dict[str, Any]] = []
    for path in sorted((home / "log").glob("*.jsonl")):
        events.extend(json.loads(line) for line in path.read_text().splitlines())
    return events


def ok(result: Result) -> Result:
    """Assert a run succeeded without a traceback and return it."""
    assert result.status == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result


def run_all(cli: Runner, runs: Sequence[Sequence[str]], **options: Any) -> list[Result]:
    """Run several read commands at once (they only read) and return their results."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda arguments: cli(*arguments, **options), runs))


# --- homes at points of a journey, built once ------------------------------------------------

JOURNEY: list[tuple[str, list[str]]] = [
    (
        "base",
        ["add", "Ada Lovelace", "--company", "Analytical Engines", "--learn", "how she started"],
    ),
    ("base", ["add", "Grace Hopper"]),
    ("reached", ["reach", "ada"]),
    ("replied", ["reply", "ada"]),
    ("booked", ["schedule", "ada", "tue 10:00"]),
    ("met", ["met", "ada", "--asked", "an introduction"]),
]


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Homes after each point of JOURNEY: base, reached, replied, booked, met."""
    root = tmp_path_factory.mktemp("templates")
    working = root / "working"
    homes: dict[str, Path] = {}
    for minute, (name, arguments) in enumerate(JOURNEY):
        ok(run_coffeechat(working, *arguments, now=minutes_before_now(60 - minute)))
        homes[name] = root / name
        shutil.rmtree(homes[name], ignore_errors=True)
        shutil.copytree(
            working, homes[name], ignore=shutil.ignore_patterns("cache", "device.fingerprint")
        )
    return homes


def use(templates: dict[str, Path], name: str, home: Path) -> Path:
    """Copy a template home into the test's home and return it."""
    # Without its fingerprint a copy keeps the template's device id, as a home from before
    # fingerprints would; a real copy moves to a new id (tests/test_devices.py).
    shutil.copytree(
        templates[name], home, ignore=shutil.ignore_patterns("cache", "device.fingerprint")
    )
    return home


# --- every recording command: human line, JSON, the log ---------------------------------------

ALL_PROFILE_OPTIONS = [
    "--email",
    "alan@example.org",
    "--phone",
    "+44 20 7946 0000",
    "--company",
    "Bletchley Park",
    "--role",
    "Cryptanalyst",
    "--industry",
    "Computing",
    "--linkedin",
    "https://www.linkedin.com/in/alan-turing",
    "--tz",
    "Europe/London",
    "--how-met",
    "his paper on computable numbers",
    "--via",
    "grace",
    "--learn",
    "what a week of codebreaking looks like",
    "--cadence",
    "6w",
]
ALL_PROFILE_FIELDS = {
    "email": "alan@example.org",
    "phone": "+44 20 7946 0000",
    "company": "Bletchley Park",
    "role": "Cryptanalyst",
    "industry": "Computing",
    "linkedin": "https://www.linkedin.com/in/alan-turing",
    "tz": "Europe/London",
    "how_met": "his paper on computable numbers",
    "via": "grace-hopper",
    "learn": "what a week of codebreaking looks like",
    "cadence": "6w",
}

# (template, arguments, types appended, fields of the first event, text of the human line)
RECORDING_CASES = [
    pytest.param(
        "base",
        ["add", "Alan Turing", *ALL_PROFILE_OPTIONS],
        ["contact.added"],
        {"contact": "alan-turing", "name": "Alan Turing", **ALL_PROFILE_FIELDS},
        "Alan Turing",
        id="add-all-options",
    ),
    pytest.param(
        "base",
        ["add", "Alan Turing", "--cadence", "0 9 1 * *", "--at", "yesterday 3pm"],
        ["contact.added"],
        {"cadence": "0 9 1 * *", "at": "2026-11-25T15:00:00+01:00"},
        "Alan Turing",
        id="add-cron-cadence-at",
    ),
    pytest.param(
        "base",
        ["edit", "ada", "--email", "ada@example.org", "--role", "Research engineer"],
        ["contact.updated"],
        {"contact": "ada-lovelace", "email": "ada@example.org", "role": "Research engineer"},
        "Ada Lovelace",
        id="edit",
    ),
    pytest.param(
        "base",
        ["edit", "ada", "--company", ""],
        ["contact.updated"],
        {"contact": "ada-lovelace", "company": None},
        "company",
        id="edit-clear-field",
    ),
    pytest.param(
        "base",
        ["edit", "ada", "--name", "Ada King"],
        ["contact.updated"],
        {"contact": "ada-lovelace", "name": "Ada King"},
        "Ada King",
        id="edit-rename",
    ),
    pytest.param(
        "base",
        ["plan", "grace", "--learn", "how the first compiler came about"],
        ["outreach.planned"],
        {"contact": "grace-hopper", "learn": "how the first compiler came about"},
        "Grace Hopper",
        id="plan",
    ),
    pytest.param(
        "base",
        ["reach", "grace", "--channel", "linkedin", "--learn", "compilers"],
        ["outreach.sent"],
        {"contact": "grace-hopper", "channel": "linkedin", "learn": "compilers"},
        "linkedin",
        id="reach-channel",
    ),
    pytest.param(
        "reached",
        ["reply", "ada"],
        ["reply.received"],
        {"contact": "ada-lovelace"},
        "Ada Lovelace",
        id="reply",
    ),
    pytest.param(
        "reached",
        ["reply", "ada", "--declined"],
        ["reply.received"],
        {"contact": "ada-lovelace", "declined": True},
        "declined",
        id="reply-declined",
    ),
    pytest.param(
        "replied",
        ["schedule", "ada", "tue 10:00", "--mode", "video", "--place", "Zoom", "--minutes", "45"],
        ["meeting.scheduled"],
        {
            "contact": "ada-lovelace",
            "starts": "2026-12-01T10:00:00+01:00",
            "minutes": 45,
            "mode": "video",
            "place": "Zoom",
        },
        "Ada Lovelace",
        id="schedule",
    ),
    pytest.param(
        "replied",
        ["schedule", "ada", "2026-12-02 3pm", "--mode", "in-person", "--place", "Café Flore"],
        ["meeting.scheduled"],
        {"starts": "2026-12-02T15:00:00+01:00", "mode": "in-person", "place": "Café Flore"},
        "Café Flore",
        id="schedule-in-person",
    ),
    pytest.param(
        "booked",
        ["reschedule", "ada", "wed 11:00", "--minutes", "60"],
        ["meeting.rescheduled"],
        {"contact": "ada-lovelace", "starts": "2026-12-02T11:00:00+01:00", "minutes": 60},
        "Ada Lovelace",
        id="reschedule",
    ),
    pytest.param(
        "booked",
        ["cancel", "ada"],
        ["meeting.cancelled"],
        {"contact": "ada-lovelace"},
        "Ada Lovelace",
        id="cancel",
    ),
    pytest.param(
        "booked",
        [
            "met",
            "ada",
            "--notes",
            "brought her notes on the Engine",
            "--learned",
            "research engineering is half writing",
            "--fit",
            "4",
            "--asked",
            "an introduction to someone in policy",
        ],
        ["meeting.held"],
        {
            "contact": "ada-lovelace",
            "notes": "brought her notes on the Engine",
            "learned": "research engineering is half writing",
            "fit": 4,
            "asked": "an introduction to someone in policy",
        },
        "Ada Lovelace",
        id="met",
    ),
    pytest.param(
        "met",
        ["thank", "ada"],
        ["thanks.sent"],
        {"contact": "ada-lovelace"},
        "Ada Lovelace",
        id="thank",
    ),
    pytest.param(
        "met",
        ["intro", "ada", "Alan Turing", "--company", "Bletchley Park", "--tz", "Europe/London"],
        ["contact.added", "intro.received"],
        {
            "contact": "alan-turing",
            "name": "Alan Turing",
            "via": "ada-lovelace",
            "company": "Bletchley Park",
            "tz": "Europe/London",
        },
        "Alan Turing",
        id="intro",
    ),
    pytest.param(
        "met",
        ["touch", "ada", "--note", "sent her an article"],
        ["touch.logged"],
        {"contact": "ada-lovelace", "note": "sent her an article"},
        "Ada Lovelace",
        id="touch",
    ),
    pytest.param(
        "base",
        ["note", "ada", "prefers mornings"],
        ["note.added"],
        {"contact": "ada-lovelace", "text": "prefers mornings"},
        "prefers mornings",
        id="note",
    ),
    pytest.param(
        "base",
        ["every", "0 9 * * MON", "review the week", "--contact", "ada", "--tz", "Europe/London"],
        ["recurring.added"],
        {
            "cron": "0 9 * * MON",
            "text": "review the week",
            "contact": "ada-lovelace",
            "tz": "Europe/London",
        },
        "review the week",
        id="every",
    ),
    pytest.param(
        "base",
        ["every", "0 8 * * TUE", "plan outreach"],
        ["recurring.added"],
        {"cron": "0 8 * * TUE", "text": "plan outreach"},
        "plan outreach",
        id="every-no-contact",
    ),
    pytest.param(
        "base",
        ["archive", "grace"],
        ["contact.archived"],
        {"contact": "grace-hopper"},
        "Grace Hopper",
        id="archive",
    ),
    pytest.param(
        "base",
        ["undo"],
        ["event.retracted"],
        {"target_type": "contact.added", "contact": "grace-hopper"},
        "undid",
        id="undo",
    ),
]
CASE_ARGUMENTS = ("template", "arguments", "types", "fields", "says")


@pytest.mark.parametrize(CASE_ARGUMENTS, RECORDING_CASES)
def test_recording_command_with_json_prints_exactly_the_appended_events(
    cli: Runner,
    home: Path,
    templates: dict[str, Path],
    template: str,
    arguments: list[str],
    types: list[str],
    fields: dict[str, Any],
    says: str,
) -> None:
    use(templates, template, home)
    before = logged(home)

    events = ok(cli("--json", *arguments)).json()

    assert isinstance(events, list)
    assert [event["type"] for event in events] == types
    for event in events:
        assert event.keys() >= CONTRACT_FIELDS
        assert event["device"] == device_of(home)
        assert instant(event["recorded"]) == NOW
        assert isinstance(event["v"], int) and event["v"] >= 1
        assert isinstance(event["id"], str) and event["id"]
    assert len({event["id"] for event in events}) == len(events)
    first = events[0]
    for key, expected in fields.items():
        assert key in first, (key, first)
        if key in TIME_FIELDS:
            assert instant(first[key]) == instant(expected), key
        else:
            assert first[key] == expected, key
    assert logged(home) == before + events


@pytest.mark.parametrize(CASE_ARGUMENTS, RECORDING_CASES)
def test_recording_command_without_json_prints_one_human_line_per_event(
    cli: Runner,
    home: Path,
    templates: dict[str, Path],
    template: str,
    arguments: list[str],
    types: list[str],
    fields: dict[str, Any],
    says: str,
) -> None:
    use(templates, template, home)
    before = logged(home)

    result = ok(cli(*arguments))

    lines = result.stdout.splitlines()
    assert len(lines) == len(types)
    assert all(line.strip() for line in lines)
    assert says in result.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)
    after = logged(home)
    assert after[: len(before)] == before
    assert [event["type"] for event in after[len(before) :]] == types


def test_recording_command_with_at_keeps_recorded_now_and_at_then(
    cli: Runner, home: Path, templates: dict[str, Path]
) -> None:
    use(templates, "reached", home)
    (event,) = ok(cli("--json", "reply", "ada", "--at", "2026-11-25T18:15")).json()
    assert instant(event["recorded"]) == NOW
    assert instant(event["at"]) == datetime.fromisoformat("2026-11-25T18:15:00+01:00")


def test_recording_command_with_at_stores_the_instant_in_utc(
    cli: Runner, home: Path, templates: dict[str, Path]
) -> None:
    # Regression: instants were stored with the local offset (+01:00), not in UTC.
    use(templates, "replied", home)
    (event,) = ok(cli("--json", "schedule", "ada", "2026-12-01 10:00", "--at=-1h")).json()
    assert event["at"] == "2026-11-26T12:30:00Z"
    assert event["starts"] == "2026-12-01T09:00:00Z"
    assert event["zone"] == "Europe/Paris"


def test_reach_with_at_minus_two_days_records_two_days_ago(
    cli: Runner, home: Path, templates: dict[str, Path]
) -> None:
    # Regression: argparse took '-2d' for an option, though --help gives it as an example.
    use(templates, "base", home)
    for contact, at in (("ada", ["--at", "-2d"]), ("grace", ["--at=-2d"])):
        (event,) = ok(cli("--json", "reach", contact, *at)).json()
        assert instant(event["at"]) == NOW - timedelta(days=2)


# --- contacts: all options, clearing, renaming, introductions -----------------------------------


def test_add_with_every_profile_option_shows_them_all(
    cli: Runner, home: Path, templates: dict[str, Path]
) -> None:
    use(templates, "base", home)
    ok(cli("add", "Alan Turing", *ALL_PROFILE_OPTIONS))

    shown = ok(cli("--json", "show", "alan-turing")).json()

    assert shown["handle"] == "alan-turing"
    assert shown["name"] == "Alan Turing"
    assert shown["stage"] == "new"
    for key, expected in ALL_PROFILE_FIELDS.items():
        assert shown[key] == expected, key


def test_edit_with_an_empty_string_clears_only_that_field(
    cli: Runner, home: Path, templates: dict[str, Path]
) -> None:
    use(templates, "base", home)
    ok(cli("edit", "ada", "--company", "", "--role", "Research engineer"))

    shown = ok(cli("--json", "show", "ada")).json()

    assert shown["company"] is None
    assert shown["role"] == "Research engineer"
    assert shown["learn"] == "how she started"


def test_edit_with_a_new_name_keeps_the_handle(
    cli: Runner, home: Path, templates: dict[str, Path]
) -> None:
    use(templates, "base", home)
    ok(cli("edit", "ada", "--name", "Augusta Ada King"))

    results = run_all(
        cli, [["--json", "show", "ada-lovelace"], ["--json", "show", "augusta"], ["--json", "ls"]]
    )
    by_handle, by_new_name, listed = (ok(result).json() for result in results)

    assert by_handle["handle"] == by_new_name["handle"] == "ada-lovelace"
    assert by_handle["name"] == "Augusta Ada King"
    assert {"handle": "ada-lovelace", "name": "Augusta Ada King"}.items() <= listed[0].items()


def test_intro_with_a_new_name_adds_and_links_them_in_one_batch(
    cli: Runner, home: Path, templates: dict[str, Path]
) -> None:
    use(templates, "met", home)
    added, link = ok(cli("--json", "intro", "ada", "Alan Turing", "--role", "Cryptanalyst")).json()

    assert link["contact"] == "ada-lovelace"
    assert link["introduced"] == added["contact"] == "alan-turing"
    assert (added["recorded"], added["device"]) == (link["recorded"], link["device"])
    results = run_all(cli, [["--json", "show", "ada"], ["--json", "show", "alan"]])
    introducer, introduced = (ok(result).json() for result in results)
    assert "alan-turing" in introducer["introduced"]
    assert introduced["via"] == "ada-lovelace"
    assert introduced["role"] == "Cryptanalyst"
    assert introduced["stage"] == "new"


# --- undo ----------------------------------------------------------------------------------------


def test_undo_with_no_id_retracts_both_events_of_an_intro(
    cli: Runner, home: Path, templates: dict[str, Path]
) -> None:
    use(templates, "met", home)
    intro_events = ok(cli("--json", "intro", "ada", "Alan Turing")).json()
    later = (NOW + timedelta(minutes=1)).isoformat()

    retractions = ok(cli("--json", "undo", now=later)).json()

    assert [event["type"] for event in retractions] == ["event.retracted"] * 2
    assert {event["target"] for event in retractions} == {event["id"] for event in intro_events}
    results = run_all(cli, [["--json", "ls"], ["--json", "show", "ada"]], now=later)
    listed, shown = (ok(result).json() for result in results)
    assert [row["handle"] for row in listed] == ["ada-lovelace", "grace-hopper"]
    assert shown["introduced"] == []


def test_undo_with_a_fixed_clock_retracts_only_the_last_command(cli: Runner) -> None:
    # Regression: undo took every event sharing the last one's 'recorded' for one batch;
    # with a fixed clock (COFFEECHAT_NOW) that was the whole log.
    ok(cli("add", "Ada Lovelace"))
    ok(cli("add", "Grace Hopper"))

    retractions = ok(cli("--json", "undo")).json()

    assert [event["contact"] for event in retractions] == ["grace-hopper"]
    assert [row["handle"] for row in ok(cli("--json", "ls")).json()] == ["ada-lovelace"]


def test_undo_with_an_id_suffix_retracts_only_that_event(
    cli: Runner, home: Path, templates: dict[str, Path]
) -> None:
    use(templates, "base", home)
    (note,) = ok(cli("--json", "note", "ada", "likes tea", now=minutes_before_now(2))).json()
    (touch,) = ok(cli("--json", "touch", "ada", now=minutes_before_now(1))).json()

    (retraction,) = ok(cli("--json", "undo", note["id"][-8:])).json()

    assert retraction["target"] == note["id"]
    assert retraction["target_type"] == "note.added"
    timeline_ids = [event["id"] for event in ok(cli("--json", "show", "ada")).json()["timeline"]]
    assert touch["id"] in timeline_ids
    assert note["id"] not in timeline_ids


def test_undo_of_a_retraction_restores_what_it_retracted(
    cli: Runner, home: Path, templates: dict[str, Path]
) -> None:
    use(templates, "base", home)
    ok(cli("archive", "grace", now=minutes_before_now(3)))
    (retraction,) = ok(cli("--json", "undo", now=minutes_before_now(2))).json()
    assert ok(cli("--json", "show", "grace")).json()["stage"] == "new"

    (restoring,) = ok(cli("--json", "undo", retraction["id"][-8:])).json()

    assert restoring["target"] == retraction["id"]
    assert restoring["target_type"] == "event.retracted"
    assert ok(cli("--json", "show", "grace")).json()["stage"] == "archived"


# --- files ---------------------------------------------------------------------------------------


def test_first_recording_command_with_a_new_home_makes_private_files(
    cli: Runner, home: Path
) -> None:
    ok(cli("add", "Ada Lovelace"))

    assert stat.S_IMODE((home / "log").stat().st_mode) == 0o700
    assert stat.S_IMODE(segment_of(home).stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "device").stat().st_mode) == 0o600
    assert [event["type"] for event in logged(home)] == ["contact.added"]
