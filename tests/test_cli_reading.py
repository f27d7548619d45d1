"""Reading the state through the command line, run as real subprocesses.

Stages along a journey (``ls --json`` and ``show --json``), looking back with ``--at``,
the playbook's tips on stderr, contact lookup, a damaged log, the default command,
``--help`` and ``demo``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import DEFAULT_NOW, Result, Runner, log_bytes, run_coffeechat

NOW = datetime.fromisoformat(DEFAULT_NOW)  # Thursday 26 Nov 2026, 14:30 in Paris
LS_KEYS = {"handle", "name", "stage", "next_due"}
SHOW_KEYS = {"handle", "name", "stage", "next", "timeline"}


def later(**delta: float) -> str:
    """Return the ISO instant ``delta`` after the tests' fixed now."""
    return (NOW + timedelta(**delta)).isoformat()


def ok(result: Result) -> Result:
    """Assert a run succeeded without a traceback and return it."""
    assert result.status == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result


def tips(result: Result) -> list[str]:
    """Return the lines of standard error that are tips."""
    return [line for line in result.stderr.splitlines() if line.startswith("tip:")]


def segment_of(home: Path) -> Path:
    """Return this device's log segment."""
    return home / "log" / f"{(home / 'device').read_text().strip()}.jsonl"


def copy_home(source: Path, home: Path) -> Path:
    """Copy a prepared home into the test's home."""
    # Without its fingerprint a copy keeps the template's device id, as a home from before
    # fingerprints would; a real copy moves to a new id (tests/test_devices.py).
    shutil.copytree(source, home, ignore=shutil.ignore_patterns("cache", "device.fingerprint"))
    return home


def run_all(cli: Runner, runs: Sequence[Sequence[str]], **options: Any) -> list[Result]:
    """Run several read commands at once (they only read) and return their results."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda arguments: cli(*arguments, **options), runs))


def stage_seen(cli: Runner, contact: str, **options: Any) -> tuple[str, str]:
    """Return the stage of a contact as ``ls --all --json`` and ``show --json`` give it."""
    listed, shown = run_all(
        cli, [["--json", "ls", "--all"], ["--json", "show", contact]], **options
    )
    rows = ok(listed).json()
    shown_json = ok(shown).json()
    (row,) = [row for row in rows if row["handle"] == shown_json["handle"]]
    return row["stage"], shown_json["stage"]


def record(cli: Runner, steps: Sequence[Sequence[str]], start: int = 0) -> None:
    """Record steps, each one minute after the previous, ending before the fixed now."""
    for minute, arguments in enumerate(steps):
        ok(cli(*arguments, now=later(minutes=start + minute - 100)))


# --- stages -------------------------------------------------------------------------------------

WALK = [
    ("2026-11-20T10:00:00+01:00", ["add", "Ada Lovelace", "--learn", "how she started"], "new"),
    ("2026-11-23T10:00:00+01:00", ["plan", "ada"], "planned"),
    ("2026-11-24T10:00:00+01:00", ["reach", "ada"], "reached"),
    ("2026-11-25T10:00:00+01:00", ["reply", "ada"], "replied"),
    ("2026-11-25T11:00:00+01:00", ["schedule", "ada", "2026-11-27 10:00"], "scheduled"),
    ("2026-11-27T10:45:00+01:00", ["met", "ada", "--asked", "an intro"], "met"),
    ("2026-11-27T14:00:00+01:00", ["thank", "ada"], "thanked"),
    ("2026-12-10T10:00:00+01:00", ["touch", "ada", "--note", "an article"], "in-touch"),
]
WALK_TYPES = [
    "contact.added",
    "outreach.planned",
    "outreach.sent",
    "reply.received",
    "meeting.scheduled",
    "meeting.held",
    "thanks.sent",
    "touch.logged",
]


def test_ls_and_show_with_each_step_of_a_journey_give_its_stage(cli: Runner) -> None:
    for number, (now, arguments, stage) in enumerate(WALK, 1):
        ok(cli(*arguments, now=now))
        listed, shown = run_all(cli, [["--json", "ls"], ["--json", "show", "ada"]], now=now)

        rows = ok(listed).json()
        assert len(rows) == 1 and set(rows[0]) == LS_KEYS
        assert rows[0]["handle"] == "ada-lovelace"
        assert rows[0]["name"] == "Ada Lovelace"
        assert rows[0]["stage"] == stage, arguments
        assert rows[0]["next_due"] is None or isinstance(rows[0]["next_due"], str)
        detail = ok(shown).json()
        assert detail.keys() >= SHOW_KEYS
        assert (detail["handle"], detail["name"], detail["stage"]) == (
            "ada-lovelace",
            "Ada Lovelace",
            stage,
        )
        assert detail["next"] is None or isinstance(detail["next"], dict)
        assert [event["type"] for event in detail["timeline"]] == WALK_TYPES[:number]
        ats = [datetime.fromisoformat(event["at"]) for event in detail["timeline"]]
        assert ats == sorted(ats)


@pytest.fixture(scope="module")
def ada_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home where Ada Lovelace, with something to learn, was added on 1 Nov."""
    home = tmp_path_factory.mktemp("ada") / "home"
    arguments = ["add", "Ada Lovelace", "--learn", "how she started", "--at", "2026-11-01"]
    ok(run_coffeechat(home, *arguments, now=later(minutes=-200)))
    return home


# (steps recorded one minute apart, expected stage of ada)
SHORT_JOURNEYS = [
    pytest.param([["reach", "ada"], ["reply", "ada", "--declined"]], "declined", id="declined"),
    pytest.param([["reach", "ada"], ["archive", "ada"]], "archived", id="archived"),
    pytest.param(
        [["reach", "ada"], ["reply", "ada"], ["schedule", "ada", "tue 10:00"], ["cancel", "ada"]],
        "replied",
        id="cancel-returns-to-replied",
    ),
    pytest.param(
        [["schedule", "ada", "tue 10:00"], ["reschedule", "ada", "wed 10:00"]],
        "scheduled",
        id="rescheduled",
    ),
    pytest.param([["met", "ada"], ["touch", "ada"]], "met", id="touch-before-thanks-stays-met"),
    pytest.param(
        [
            ["reach", "ada", "--at", "2026-11-20"],
            ["reply", "ada", "--at", "2026-11-24"],
            ["plan", "ada", "--at", "2026-11-18"],
        ],
        "replied",
        id="late-plan-lands-before-the-reach",
    ),
    pytest.param(
        [["plan", "ada"], ["reach", "ada", "--at", "2026-11-20"]],
        "reached",  # the outreach fulfils the plan it answers, whatever the dates (#10)
        id="late-reach-fulfils-the-plan",
    ),
]


@pytest.mark.parametrize(("steps", "stage"), SHORT_JOURNEYS)
def test_stage_with_a_short_journey_is_its_latest_step(
    cli: Runner, home: Path, ada_home: Path, steps: list[list[str]], stage: str
) -> None:
    copy_home(ada_home, home)
    record(cli, steps, start=1)
    assert stage_seen(cli, "ada") == (stage, stage)


def test_ls_with_an_archived_contact_hides_it_unless_asked(cli: Runner) -> None:
    record(cli, [["add", "Ada Lovelace"], ["add", "Grace Hopper"], ["archive", "grace"]])

    default, everyone, archived = run_all(
        cli, [["--json", "ls"], ["--json", "ls", "--all"], ["--json", "ls", "--stage", "archived"]]
    )

    assert [row["handle"] for row in ok(default).json()] == ["ada-lovelace"]
    assert [row["handle"] for row in ok(everyone).json()] == ["ada-lovelace", "grace-hopper"]
    assert [(row["handle"], row["stage"]) for row in ok(archived).json()] == [
        ("grace-hopper", "archived")
    ]


@pytest.mark.parametrize(
    ("reached", "stage"),
    [
        pytest.param("2026-11-05T14:30", "no-reply", id="21-days"),
        pytest.param("2026-11-04T10:00", "no-reply", id="22-days"),
        pytest.param("2026-11-06T14:30", "reached", id="20-days"),
    ],
)
def test_stage_with_an_unanswered_reach_turns_no_reply_after_three_nudge_periods(
    cli: Runner, home: Path, ada_home: Path, reached: str, stage: str
) -> None:
    copy_home(ada_home, home)
    ok(cli("reach", "ada", "--at", reached))
    assert stage_seen(cli, "ada") == (stage, stage)


def test_stage_with_the_clock_moved_on_after_a_reach_turns_no_reply(
    cli: Runner, home: Path, ada_home: Path
) -> None:
    copy_home(ada_home, home)
    ok(cli("reach", "ada"))

    assert stage_seen(cli, "ada", now=later(days=20)) == ("reached", "reached")
    assert stage_seen(cli, "ada", now=later(days=22)) == ("no-reply", "no-reply")
    ok(cli("reply", "ada", now=later(days=23)))
    assert stage_seen(cli, "ada", now=later(days=23)) == ("replied", "replied")


def test_show_with_a_backdated_step_lists_the_timeline_oldest_first(cli: Runner) -> None:
    # Regression: the timeline was in log order, so a late --at step came last.
    record(
        cli,
        [
            ["add", "Ada Lovelace", "--learn", "x", "--at", "2026-11-01"],
            ["reach", "ada", "--at", "2026-11-20"],
            ["plan", "ada", "--at", "2026-11-18"],
        ],
    )
    timeline = ok(cli("--json", "show", "ada")).json()["timeline"]
    assert [event["type"] for event in timeline] == [
        "contact.added",
        "outreach.planned",
        "outreach.sent",
    ]


def test_schedule_with_a_backdated_booking_of_a_held_meeting_books_a_new_one(
    cli: Runner,
) -> None:
    # Regression: a booking recorded after 'met' but dated before it stayed booked.
    record(
        cli,
        [
            ["add", "Ada Lovelace", "--learn", "x", "--at", "2026-11-01"],
            ["met", "ada", "--at", "2026-11-25 10:30"],
            ["schedule", "ada", "2026-11-25 10:00", "--at", "2026-11-20"],
        ],
    )
    assert stage_seen(cli, "ada") == ("met", "met")
    result = cli("schedule", "ada", "tue 10:00")
    assert result.status == 0, result.stderr


# --- looking back ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def looked_back_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ada added on 1 Nov, reached on 10 Nov, replied on 20 Nov; Grace added on 15 Nov."""
    home = tmp_path_factory.mktemp("looked-back") / "home"
    for minute, arguments in enumerate(
        [
            ["add", "Ada Lovelace", "--learn", "x", "--at", "2026-11-01"],
            ["reach", "ada", "--at", "2026-11-10"],
            ["reply", "ada", "--at", "2026-11-20"],
            ["add", "Grace Hopper", "--at", "2026-11-15"],
        ]
    ):
        ok(run_coffeechat(home, *arguments, now=later(minutes=minute - 10)))
    return home


@pytest.fixture
def looked_back(cli: Runner, home: Path, looked_back_home: Path) -> Runner:
    """The command line on a copy of ``looked_back_home``."""
    copy_home(looked_back_home, home)
    return cli


def test_ls_and_show_with_at_give_the_state_as_it_was_then(looked_back: Runner) -> None:
    before_reply, before_any, after_reply, now, shown, shown_before = run_all(
        looked_back,
        [
            ["--json", "ls", "--at", "2026-11-12"],
            ["--json", "ls", "--at", "2026-10-01"],
            ["--json", "ls", "--at", "2026-11-21"],
            ["--json", "ls"],
            ["--json", "show", "ada", "--at", "2026-11-12"],
            ["--json", "show", "ada", "--at", "2026-11-05"],
        ],
    )

    assert [(r["handle"], r["stage"]) for r in ok(before_reply).json()] == [
        ("ada-lovelace", "reached")
    ]
    assert ok(before_any).json() == []
    assert [(r["handle"], r["stage"]) for r in ok(after_reply).json()] == [
        ("ada-lovelace", "replied"),
        ("grace-hopper", "new"),
    ]
    assert [r["stage"] for r in ok(now).json()] == ["replied", "new"]
    detail = ok(shown).json()
    assert detail["stage"] == "reached"
    assert [event["type"] for event in detail["timeline"]] == ["contact.added", "outreach.sent"]
    assert ok(shown_before).json()["stage"] == "new"


def test_ls_with_at_and_the_no_reply_rule_uses_the_instant_looked_at(
    looked_back: Runner,
) -> None:
    # Grace was reached on 16 Nov: 20 days later she was still awaited, 22 days later not.
    ok(looked_back("reach", "grace", "--at", "2026-11-16"))
    listed = ok(looked_back("--json", "ls", "--at", "2026-12-06T12:00", now=later(days=30)))
    assert [(r["handle"], r["stage"]) for r in listed.json()] == [
        ("ada-lovelace", "replied"),
        ("grace-hopper", "reached"),
    ]
    listed = ok(looked_back("--json", "ls", "--at", "2026-12-08T12:00", now=later(days=30)))
    assert [r["stage"] for r in listed.json()] == ["replied", "no-reply"]


def test_show_with_at_and_a_later_rename_finds_the_corrected_name(looked_back: Runner) -> None:
    # Regression: looking back left out corrections made later (contact.updated).
    ok(looked_back("edit", "ada", "--name", "Augusta Ada King"))
    shown = ok(looked_back("--json", "show", "augusta", "--at", "2026-11-12")).json()
    assert (shown["handle"], shown["name"], shown["stage"]) == (
        "ada-lovelace",
        "Augusta Ada King",
        "reached",
    )


# --- tips --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tipped_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with Ada (your zone) and Kenji (Asia/Tokyo), both with something to learn."""
    home = tmp_path_factory.mktemp("tips") / "home"
    for minute, arguments in enumerate(
        [
            ["add", "Ada Lovelace", "--learn", "how she started"],
            ["add", "Kenji Tanaka", "--tz", "Asia/Tokyo", "--learn", "how he started"],
            ["add", "Grace Hopper"],
        ]
    ):
        ok(run_coffeechat(home, *arguments, now=later(days=-30, minutes=minute)))
    return home


@pytest.mark.parametrize(
    ("now", "contact", "extra", "tip"),
    [
        pytest.param("2026-11-26T14:30:00+01:00", "ada", [], "Thursday", id="thu-afternoon"),
        pytest.param("2026-11-23T10:00:00+01:00", "ada", [], "Monday", id="monday"),
        pytest.param("2026-11-27T10:00:00+01:00", "ada", [], "Friday", id="friday"),
        pytest.param("2026-11-28T10:00:00+01:00", "ada", [], "weekend", id="saturday"),
        pytest.param("2026-11-24T10:00:00+01:00", "ada", [], None, id="tuesday"),
        pytest.param("2026-11-25T16:00:00+01:00", "ada", [], None, id="wednesday"),
        pytest.param("2026-11-26T10:00:00+01:00", "ada", [], None, id="thu-morning"),
        # 10:00 in Paris is 18:00 in Tokyo: their Thursday afternoon.
        pytest.param("2026-11-26T10:00:00+01:00", "kenji", [], "their", id="their-thu-pm"),
        # Monday 23:30 in Paris is Tuesday 07:30 in Tokyo: a good time for them.
        pytest.param("2026-11-23T23:30:00+01:00", "kenji", [], None, id="their-tuesday"),
        # The tip follows when it was sent, not when it was recorded.
        pytest.param(
            "2026-11-24T10:00:00+01:00",
            "ada",
            ["--at", "2026-11-20T10:00"],
            "Friday",
            id="at-a-friday",
        ),
        pytest.param(
            "2026-11-27T10:00:00+01:00",
            "ada",
            ["--at", "2026-11-24T10:00"],
            None,
            id="at-a-tuesday",
        ),
    ],
)
def test_reach_with_a_send_time_gives_the_playbook_tip_on_stderr(
    cli: Runner,
    home: Path,
    tipped_home: Path,
    now: str,
    contact: str,
    extra: list[str],
    tip: str | None,
) -> None:
    copy_home(tipped_home, home)
    result = ok(cli("reach", contact, *extra, now=now))
    assert result.stdout.strip()
    if tip is None:
        assert tips(result) == []
    else:
        (line,) = tips(result)
        assert tip in line and "Tuesday or Wednesday" in line


def test_reach_with_your_zone_elsewhere_judges_the_time_in_your_zone(
    cli: Runner, home: Path, tipped_home: Path
) -> None:
    copy_home(tipped_home, home)
    # Thursday 14:30 in Paris is Thursday 08:30 in New York: a morning, no tip.
    result = ok(cli("reach", "ada", tz="America/New_York"))
    assert tips(result) == []


@pytest.mark.parametrize(
    ("arguments", "learn_tip"),
    [
        pytest.param(["plan", "grace"], True, id="plan-without-learn"),
        pytest.param(["plan", "grace", "--learn", "compilers"], False, id="plan-with-learn"),
        pytest.param(["reach", "grace"], True, id="reach-without-learn"),
        pytest.param(["reach", "grace", "--learn", "compilers"], False, id="reach-with-learn"),
        pytest.param(["plan", "ada"], False, id="plan-contact-has-learn"),
        pytest.param(["reach", "ada"], False, id="reach-contact-has-learn"),
    ],
)
def test_plan_and_reach_with_nothing_to_learn_give_a_learn_tip(
    cli: Runner, home: Path, tipped_home: Path, arguments: list[str], learn_tip: bool
) -> None:
    copy_home(tipped_home, home)
    result = ok(cli(*arguments, now="2026-11-24T10:00:00+01:00"))  # a Tuesday: no time tip
    assert result.stdout.strip()
    if learn_tip:
        (line,) = tips(result)
        assert "--learn" in line
    else:
        assert tips(result) == []


def test_met_with_no_meeting_scheduled_records_it_and_says_so(
    cli: Runner, home: Path, tipped_home: Path
) -> None:
    copy_home(tipped_home, home)
    result = ok(cli("met", "ada", "--asked", "an introduction"))
    assert "met Ada Lovelace" in result.stdout
    assert any("scheduled" in line for line in result.stderr.splitlines())
    assert ok(cli("--json", "show", "ada")).json()["stage"] == "met"


# --- contact lookup ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lookup_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ada Lovelace (renamed Augusta Ada King), Grace Hopper and Grace Kelly."""
    home = tmp_path_factory.mktemp("lookup") / "home"
    for minute, arguments in enumerate(
        [
            ["add", "Ada Lovelace"],
            ["add", "Grace Hopper"],
            ["add", "Grace Kelly"],
            ["edit", "ada", "--name", "Augusta Ada King"],
        ]
    ):
        ok(run_coffeechat(home, *arguments, now=later(days=-1, minutes=minute)))
    return home


@pytest.mark.parametrize(
    ("query", "handle"),
    [
        pytest.param("grace-hopper", "grace-hopper", id="exact-handle"),
        pytest.param("GRACE-KELLY", "grace-kelly", id="exact-handle-any-case"),
        pytest.param("grace-h", "grace-hopper", id="handle-prefix"),
        pytest.param("ada", "ada-lovelace", id="handle-prefix-after-rename"),
        pytest.param("augusta", "ada-lovelace", id="name-prefix"),
        pytest.param("GRACE K", "grace-kelly", id="name-prefix-any-case"),
        pytest.param("Grace Hopper", "grace-hopper", id="full-name"),
    ],
)
def test_show_with_an_unambiguous_contact_finds_them(
    cli: Runner, home: Path, lookup_home: Path, query: str, handle: str
) -> None:
    copy_home(lookup_home, home)
    assert ok(cli("--json", "show", query)).json()["handle"] == handle


def test_recording_command_with_a_name_prefix_finds_the_contact(
    cli: Runner, home: Path, lookup_home: Path
) -> None:
    copy_home(lookup_home, home)
    (event,) = ok(cli("--json", "note", "grace k", "sings")).json()
    assert event["contact"] == "grace-kelly"


@pytest.mark.parametrize("query", ["grace", "GR", "g"])
def test_show_with_an_ambiguous_contact_lists_the_candidates_on_one_line(
    cli: Runner, home: Path, lookup_home: Path, query: str
) -> None:
    copy_home(lookup_home, home)
    before = log_bytes(home)
    result = cli("show", query)
    assert result.status == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "grace-hopper" in line and "grace-kelly" in line
    assert "ada-lovelace" not in line
    assert log_bytes(home) == before


# --- a damaged log -----------------------------------------------------------------------------

BAD_LINE = b'{"type": "contact.added", "oops": \n'


@pytest.fixture(scope="module")
def two_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with Ada Lovelace and Grace Hopper."""
    home = tmp_path_factory.mktemp("two") / "home"
    ok(run_coffeechat(home, "add", "Ada Lovelace", now=later(minutes=-2)))
    ok(run_coffeechat(home, "add", "Grace Hopper", now=later(minutes=-1)))
    return home


def put_line_in_the_middle(segment: Path, line: bytes) -> None:
    """Insert a line after the first, replacing the file as a sync tool would."""
    first, rest = segment.read_bytes().split(b"\n", 1)
    replacement = segment.with_name("replacement.tmp")
    replacement.write_bytes(first + b"\n" + line + rest)
    os.chmod(replacement, 0o600)
    os.replace(replacement, segment)


def test_read_commands_with_a_damaged_line_in_the_middle_warn_and_carry_on(
    cli: Runner, home: Path, two_home: Path
) -> None:
    copy_home(two_home, home)
    segment = segment_of(home)
    put_line_in_the_middle(segment, BAD_LINE)

    listed, shown = run_all(cli, [["--json", "ls"], ["--json", "show", "grace"]])

    assert [row["handle"] for row in ok(listed).json()] == ["ada-lovelace", "grace-hopper"]
    assert ok(shown).json()["handle"] == "grace-hopper"
    for result in (listed, shown):
        assert f"{segment}:2" in result.stderr
        assert all(line.startswith("warning:") for line in result.stderr.splitlines())


def only_the_quarantine_named(quarantine: Path) -> str:
    """The one warning a command gives about a quarantine file: it is not read, look at it."""
    return (
        f"warning: {quarantine}: damaged lines set aside (by 'fsck --repair', or an "
        "interrupted write): not read; look through them, then delete the file\n"
    )


def test_fsck_with_a_damaged_line_exits_3_and_repair_quarantines_it(
    cli: Runner, home: Path, two_home: Path
) -> None:
    copy_home(two_home, home)
    segment = segment_of(home)
    good = segment.read_bytes()
    put_line_in_the_middle(segment, BAD_LINE)
    ok(cli("note", "ada", "likes tea"))  # a recording command leaves damage in the middle alone

    checked = cli("fsck")
    assert checked.status == 3
    assert f"{segment}:2" in checked.stdout + checked.stderr
    assert "Traceback" not in checked.stdout + checked.stderr

    repaired = ok(cli("fsck", "--repair"))
    assert f"{segment}:2" in repaired.stdout + repaired.stderr

    quarantine = segment.with_name(segment.name + ".quarantine")
    assert quarantine.read_bytes() == BAD_LINE
    assert segment.read_bytes().startswith(good)
    assert len(segment.read_bytes().splitlines()) == 3
    again, listed = run_all(cli, [["fsck"], ["--json", "ls"]])
    assert ok(again).stderr == ""
    assert ok(listed).stderr == only_the_quarantine_named(quarantine)
    assert [row["handle"] for row in listed.json()] == ["ada-lovelace", "grace-hopper"]


def test_fsck_json_with_a_damaged_line_names_file_and_line(
    cli: Runner, home: Path, two_home: Path
) -> None:
    copy_home(two_home, home)
    segment = segment_of(home)
    put_line_in_the_middle(segment, BAD_LINE)
    result = cli("--json", "fsck")
    assert result.status == 3
    problems = result.json()["problems"]
    assert [(p["file"], p["line"]) for p in problems] == [(str(segment), 2)]


def test_ls_with_a_torn_last_line_warns_and_the_next_record_repairs_it(
    cli: Runner, home: Path, ada_home: Path
) -> None:
    copy_home(ada_home, home)
    segment = segment_of(home)
    torn = b'{"type":"note.added","text":"cut short by a cr'
    with open(segment, "ab") as file:
        file.write(torn)

    listed = ok(cli("--json", "ls"))
    assert [row["handle"] for row in listed.json()] == ["ada-lovelace"]
    assert f"{segment}:2" in listed.stderr

    ok(cli("add", "Grace Hopper"))

    data = segment.read_bytes()
    assert data.endswith(b"\n") and torn not in data
    assert torn in segment.with_name(segment.name + ".quarantine").read_bytes()
    listed, checked = run_all(cli, [["--json", "ls"], ["fsck"]])
    assert [row["handle"] for row in ok(listed).json()] == ["ada-lovelace", "grace-hopper"]
    quarantine = segment.with_name(segment.name + ".quarantine")
    assert listed.stderr == only_the_quarantine_named(quarantine)
    ok(checked)


def test_record_with_an_undecodable_last_line_quarantines_it_and_ls_lists_the_new_contact(
    cli: Runner, home: Path, ada_home: Path
) -> None:
    # A bad last line counts as an interrupted write: the next writer moves it to the
    # quarantine file instead of leaving it in the middle of the segment. (This used to
    # lose the new event from the cached state: the snapshot's offset pointed past it.)
    copy_home(ada_home, home)
    segment = segment_of(home)
    with open(segment, "ab") as file:
        file.write(b"this is not an event\n")
    warned = ok(cli("ls"))  # warns, and caches the state
    assert f"{segment}:2" in warned.stderr
    ok(cli("add", "Grace Hopper"))  # quarantines the bad last line, then appends

    listed, checked = run_all(cli, [["--json", "ls"], ["fsck"]])

    assert [row["handle"] for row in ok(listed).json()] == ["ada-lovelace", "grace-hopper"]
    quarantine = segment.with_name(segment.name + ".quarantine")
    assert listed.stderr == only_the_quarantine_named(quarantine)
    ok(checked)
    assert quarantine.read_bytes() == b"this is not an event\n"
    assert b"this is not an event" not in segment.read_bytes()


# --- the default command, help, demo ------------------------------------------------------------


def listed_commands(help_text: str) -> list[str]:
    """Return the command names a top-level ``--help`` lists."""
    section = help_text.split("options:")[0]
    return re.findall(r"^    ([a-z][a-z-]*)\b", section, flags=re.MULTILINE)


def test_coffeechat_with_no_command_runs_the_default_command(cli: Runner) -> None:
    record(cli, [["add", "Ada Lovelace"]])
    commands = listed_commands(ok(cli("--help")).stdout)
    default = "agenda" if "agenda" in commands else "ls"

    bare, explicit, bare_json, explicit_json = run_all(
        cli, [[], [default], ["--json"], ["--json", default]]
    )

    assert ok(bare).stdout == ok(explicit).stdout
    assert ok(bare).stdout.strip()
    assert ok(bare_json).json() == ok(explicit_json).json()


def test_coffeechat_with_no_command_and_an_empty_home_exits_0(cli: Runner, home: Path) -> None:
    home.mkdir(mode=0o700)  # empty, not missing (a missing --home is exit 2)
    result = ok(cli())
    assert result.stdout.strip()
    assert log_bytes(home) == {}


def test_help_with_every_command_exits_0(cli: Runner) -> None:
    top = ok(cli("--help"))
    assert top.stdout.startswith("usage:")
    commands = listed_commands(top.stdout)
    expected = {
        "add",
        "edit",
        "plan",
        "reach",
        "reply",
        "schedule",
        "reschedule",
        "cancel",
        "met",
        "thank",
        "intro",
        "touch",
        "note",
        "every",
        "archive",
        "undo",
        "ls",
        "show",
        "log",
        "fsck",
        "demo",
    }
    assert expected <= set(commands)

    results = run_all(cli, [[command, "--help"] for command in commands])

    for command, result in zip(commands, results, strict=True):
        assert result.status == 0, (command, result.stderr)
        assert result.stdout.startswith("usage:"), command
        assert f"coffeechat {command}" in result.stdout, command
        assert result.stderr == "", command


def test_demo_with_a_fixed_clock_prints_the_sample_contacts(cli: Runner, home: Path) -> None:
    result = ok(cli("demo", "--seconds", "4"))
    for name in ("Ada Lovelace", "Grace Hopper", "Alan Turing"):
        assert name in result.stdout
    assert "thanked" in result.stdout
    assert log_bytes(home) == {}
    # Then the daemon lives the next week in seconds, day by day: a line for each day as
    # it begins (Thursday 26 November to Thursday 3 December), the reminders under it in
    # order, and one line at the end saying what happened.
    lived = result.stdout.split("$ coffeechat daemon", 1)[1].splitlines()[1:]
    days = [
        line.strip()
        for line in lived
        if re.fullmatch(r"  [A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2}", line)
    ]
    assert days == [
        "Thu 26 Nov", "Fri 27 Nov", "Sat 28 Nov", "Sun 29 Nov", "Mon 30 Nov", "Tue 1 Dec",
        "Wed 2 Dec", "Thu 3 Dec",
    ]  # fmt: skip
    fired = [line[11:] for line in lived if re.match(r"    \d\d:\d\d  ", line)]
    kinds = [text.split(" · ")[0].split(":")[0] for text in fired]
    assert set(kinds[:2]) == {"Reach out", "Nudge"}  # both overdue: delivered first
    assert kinds.index("Prepare") < kinds.index("On time") < kinds.index("Did it happen?")
    summary = re.fullmatch(
        r"7 days lived in 4 seconds: the daemon delivered (\d+) reminders \((.*)\), each at "
        r"its moment and once, and recorded every delivery in the log\.",
        lived[-1],
    )
    assert summary is not None, lived[-1]
    assert int(summary.group(1)) == len(fired)
    assert summary.group(2).split(", ") == list(dict.fromkeys(kind.lower() for kind in kinds))


def test_demo_at_night_books_meetings_in_working_hours(cli: Runner) -> None:
    # Run at 02:04 on a Thursday: "in 2 days" was 02:04 on a Saturday. Each meeting is on a
    # working day, at 15:00 in Ada's zone (London: 16:00 in Paris) and 10:30 for Katherine.
    result = ok(cli("demo", "--seconds", "0", now="2026-11-26T02:04:00+01:00"))
    booked = re.findall(r"^\$ coffeechat schedule (\w+) '([\d-]+ [\d:]+)'", result.stdout, re.M)
    assert booked == [("ada", "2026-11-06 16:00"), ("katherine", "2026-11-30 10:30")]
    for _, when in booked:
        assert datetime.fromisoformat(when).weekday() < 5
    assert "in 2 days" not in result.stdout
