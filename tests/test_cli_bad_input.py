"""Bad input on the command line, run as real subprocesses.

Every case must exit 2 with exactly one line on stderr, no traceback anywhere, nothing
on stdout, and the log byte for byte as it was. The cases run against a copy of one
prepared home: Ada Lovelace (never met, nothing booked), Grace Hopper (a meeting
booked) and Grace Kelly.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import DEFAULT_NOW, Result, Runner, log_bytes, run_coffeechat

NOW = datetime.fromisoformat(DEFAULT_NOW)  # Thursday 26 Nov 2026, 14:30 in Paris
# Never on a terminal raw: C0 (but newline), DEL, C1, the bidirectional controls.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prepared home the cases run against (copied for each case)."""
    home = tmp_path_factory.mktemp("prepared") / "home"
    steps = [
        ["add", "Ada Lovelace", "--learn", "how she started"],
        ["add", "Grace Hopper", "--learn", "compilers"],
        ["add", "Grace Kelly"],
        ["reach", "grace-h"],
        ["reply", "grace-h"],
        ["schedule", "grace-h", "tue 10:00"],
    ]
    for minute, arguments in enumerate(steps):
        now = (NOW - timedelta(minutes=len(steps) - minute)).isoformat()
        result = run_coffeechat(home, *arguments, now=now)
        assert result.status == 0, result.stderr
    return home


def assert_refused(result: Result) -> str:
    """Assert the run was refused as bad input, on one line; return that line."""
    assert "Traceback" not in result.stdout + result.stderr
    assert result.status == 2, (result.status, result.stdout, result.stderr)
    lines = result.stderr.split("\n")
    assert len(lines) == 2 and lines[0].strip() and lines[1] == "", result.stderr
    assert RAW.search(result.stderr) is None, result.stderr
    assert result.stdout == ""
    return lines[0]


BAD_INPUT = [
    pytest.param(["show", "nobody"], {}, "nobody", id="unknown-contact-show"),
    pytest.param(["reach", "nobody"], {}, "nobody", id="unknown-contact-reach"),
    pytest.param(["add", "Alan Turing", "--via", "nobody"], {}, "nobody", id="unknown-via"),
    pytest.param(
        ["every", "0 9 * * MON", "call", "--contact", "nobody"], {}, "nobody", id="unknown-every"
    ),
    pytest.param(["reach", "grace"], {}, "grace-kelly", id="ambiguous-contact-reach"),
    pytest.param(["show", "GRACE"], {}, "grace-hopper", id="ambiguous-contact-show"),
    pytest.param(["schedule", "ada", "tomorow"], {}, "tomorow", id="malformed-when"),
    pytest.param(["schedule", "ada", "25:00"], {}, "25", id="when-out-of-range"),
    pytest.param(["reach", "ada", "--at", "yesterdy"], {}, "yesterdy", id="malformed-at"),
    pytest.param(["note", "ada", "hi", "--at", "2026-13-01"], {}, "2026-13-01", id="bad-date"),
    pytest.param(["ls", "--at", "last tuesday"], {}, "last tuesday", id="malformed-ls-at"),
    pytest.param(["show", "ada", "--at", "soon"], {}, "soon", id="malformed-show-at"),
    pytest.param(["reach", "ada", "--at", "tomorrow"], {}, "future", id="at-in-the-future"),
    pytest.param(["add", "Alan Turing", "--at", "+2d"], {}, "future", id="add-at-in-the-future"),
    pytest.param(["add", "Alan Turing", "--tz", "Mars/Base"], {}, "Mars/Base", id="zone-add"),
    pytest.param(["edit", "ada", "--tz", "Mars/Base"], {}, "Mars/Base", id="zone-edit"),
    pytest.param(
        ["every", "0 9 * * TUE", "digest", "--tz", "Nope/Zone"], {}, "Nope/Zone", id="zone-every"
    ),
    pytest.param(["every", "61 * * * *", "text"], {}, "61 * * * *", id="cron-minute-61"),
    pytest.param(["every", "0 9 * *", "text"], {}, "0 9 * *", id="cron-four-fields"),
    pytest.param(["every", "0 9 * * TUE", "  "], {}, "", id="every-empty-text"),
    pytest.param(
        ["add", "Alan Turing", "--cadence", "fortnightly"], {}, "fortnightly", id="bad-cadence"
    ),
    pytest.param(["edit", "ada", "--cadence", "0d"], {}, "0d", id="zero-cadence"),
    pytest.param(["edit", "ada", "--cadence", "61 * * * *"], {}, "61", id="cron-cadence"),
    pytest.param(["met", "ada", "--fit", "9"], {}, "9", id="fit-9"),
    pytest.param(["met", "ada", "--fit", "0"], {}, "0", id="fit-0"),
    pytest.param(["met", "ada", "--fit", "abc"], {}, "abc", id="fit-abc"),
    pytest.param(["add", "Ada Lovelace"], {}, "ada-lovelace", id="duplicate-add"),
    pytest.param(["add", "  ada   LOVELACE "], {}, "ada-lovelace", id="duplicate-add-case-spacing"),
    # intro of someone already a contact links them (tests/test_intro.py); of the introducer:
    pytest.param(["intro", "ada", "Ada Lovelace"], {}, "themselves", id="self-intro"),
    pytest.param(["add", "   "], {}, "name", id="empty-name"),
    pytest.param(["edit", "ada", "--name", "grace kelly"], {}, "grace kelly", id="rename-taken"),
    pytest.param(["thank", "ada"], {}, "met", id="thank-before-meeting"),
    pytest.param(["reschedule", "ada", "tomorrow"], {}, "schedule", id="reschedule-no-booking"),
    pytest.param(["cancel", "ada"], {}, "Ada Lovelace", id="cancel-no-booking"),
    pytest.param(["schedule", "grace-h", "tomorrow"], {}, "already", id="schedule-twice"),
    pytest.param(["schedule", "ada", "tomorrow", "--minutes", "0"], {}, "0", id="minutes-0"),
    pytest.param(["reach", "ada", "--channel", "pigeon"], {}, "pigeon", id="unknown-channel"),
    pytest.param(
        ["schedule", "ada", "tomorrow", "--mode", "telepathy"], {}, "telepathy", id="unknown-mode"
    ),
    pytest.param(["undo", "ZZZZ"], {}, "ZZZZ", id="undo-unknown-id"),
    pytest.param(["undo", "01"], {}, "01", id="undo-id-too-short"),
    pytest.param(["note", "ada", ""], {}, "empty", id="empty-note"),
    pytest.param(["note", "ada", "   "], {}, "empty", id="blank-note"),
    pytest.param(["edit", "ada"], {}, "option", id="edit-nothing"),
    pytest.param(["schedule", "ada"], {}, "WHEN", id="missing-when"),
    pytest.param(["add"], {}, "NAME", id="missing-name"),
    pytest.param(["ls", "--stage", "nowhere"], {}, "nowhere", id="unknown-stage"),
    pytest.param(["frobnicate"], {}, "frobnicate", id="unknown-command"),
    pytest.param(["--frobnicate"], {}, "frobnicate", id="unknown-option"),
    pytest.param(["ls"], {"now": "garbage"}, "COFFEECHAT_NOW", id="bad-now-ls"),
    pytest.param(["add", os.fsdecode(b"\xff")], {}, "'\\xff'", id="name-not-utf8"),
    pytest.param(
        ["note", "ada", os.fsdecode(b"caf\xe9 au lait")], {}, "caf\\xe9", id="note-not-utf8"
    ),
    pytest.param(["agenda", "--at", "9999-12-31"], {}, "9999-12-31", id="agenda-at-year-9999"),
    pytest.param(["ls", "--at", "0001-01-01"], {}, "1900", id="ls-at-year-1"),
    pytest.param(["reach", "ada", "--at", "+99999w"], {}, "+99999w", id="at-far-future"),
    pytest.param(["agenda", "--days", "99999999999"], {}, "99999999999", id="agenda-days-huge"),
    pytest.param(["agenda", "--days", "9" * 5000], {}, "--days", id="agenda-days-5000-digits"),
    pytest.param(["edit", "ada", "--cadence", "99999999d"], {}, "99999999d", id="cadence-huge"),
    pytest.param(["ls", "x\ny\x1b[31m\u202e"], {}, "x\\x0ay\\x1b[31m", id="echo-escaped"),
    pytest.param(
        ["ls", "--stage", "\x1b]0;pwned\x07"], {}, "\\x1b]0;pwned", id="echo-choice-escaped"
    ),
    pytest.param(["add", "Alan Turing"], {"now": "2026-11-26T14:30"}, "offset", id="naive-now"),
]


@pytest.mark.parametrize(("arguments", "options", "mentions"), BAD_INPUT)
def test_command_with_bad_input_exits_2_with_one_line_and_appends_nothing(
    cli: Runner,
    home: Path,
    prepared: Path,
    arguments: list[str],
    options: dict[str, str],
    mentions: str,
) -> None:
    shutil.copytree(prepared, home, ignore=shutil.ignore_patterns("cache", "device.fingerprint"))
    before = log_bytes(home)
    assert before

    line = assert_refused(cli(*arguments, **options))

    assert mentions in line
    assert log_bytes(home) == before


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param(["undo"], id="undo"),
        pytest.param(["undo", "ABCD1234"], id="undo-id"),
        pytest.param(["show", "ada"], id="show"),
        pytest.param(["reach", "ada"], id="reach"),
    ],
)
def test_command_with_bad_input_and_an_empty_log_exits_2_and_writes_no_log(
    cli: Runner, home: Path, arguments: list[str]
) -> None:
    assert_refused(cli(*arguments))
    assert log_bytes(home) == {}


def test_ambiguous_contact_with_bad_input_lists_every_candidate(
    cli: Runner, home: Path, prepared: Path
) -> None:
    shutil.copytree(prepared, home, ignore=shutil.ignore_patterns("cache", "device.fingerprint"))
    line = assert_refused(cli("note", "gr", "hello"))
    assert "grace-hopper" in line and "grace-kelly" in line and "ada-lovelace" not in line


def test_config_nested_100k_deep_with_bad_input_exits_2_naming_the_file(
    cli: Runner, home: Path, prepared: Path
) -> None:
    shutil.copytree(prepared, home, ignore=shutil.ignore_patterns("cache", "device.fingerprint"))
    (home / "config.toml").write_text("a = " + "[" * 100_000 + "\n")
    for command in (["agenda"], ["ls"], ["doctor"]):
        result = cli(*command)
        if command == ["doctor"]:  # doctor reports it among its checks
            assert "FAIL config: config.toml: nested too deeply" in result.stdout
            assert "Traceback" not in result.stderr
            continue
        assert "config.toml: nested too deeply" in assert_refused(result)


def test_many_huge_arguments_with_newlines_are_echoed_on_one_short_line(
    cli: Runner, home: Path
) -> None:
    # 20 arguments of 100,000 characters: 2 MB that argparse would print whole.
    huge = ["\n\x1b[2J" + "x" * 100_000 for _ in range(20)]
    line = assert_refused(cli("ls", *huge))
    assert line.startswith("coffeechat ls: unrecognized arguments: \\x0a\\x1b[2Jxxx")
    assert line.endswith("(see 'coffeechat ls --help')")
    assert len(line) < 1000
