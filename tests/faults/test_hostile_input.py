"""Hostile input: no traceback ever reaches a user for a mistake they made, nothing a user
(or another device) typed ever acts on the terminal, and bad input appends nothing.

A small fuzz of the real ``coffeechat`` command in subprocesses: names carrying escape
sequences and bidirectional controls, typed here or arriving by hand in another device's
segment; dates and numbers far out of range; arguments that are not UTF-8 or run to
megabytes; a config nested 100,000 deep. Each input is judged from what the process did
(exit status, stdout, stderr, the log's bytes) and counted: tried = the hostile inputs,
survived = those handled as documented, lost = those mishandled.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DEFAULT_NOW, Result, log_bytes, run_coffeechat

# Never on a terminal raw: C0, DEL, C1, the bidirectional controls; standard output may
# hold tabs and newlines (a note's lines), a one-line message neither.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
RAW_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

HOSTILE_NAMES = {
    "osc-title": "Eve\x1b]0;pwned\x07 Osc",
    "csi-clear": "Mallory\x1b[2J\x1b[H Csi",
    "c1-csi": "Trudy\x9b31m C1",
    "bidi-override": "Oscar \u202eevil\u202c Bidi",
    "bidi-isolate": "Isaac \u2066rtl\u2069 \u2067x\u2068 Iso",
    "del-and-bell": "Dora\x7f\x07 Del",
    "carriage-return": "Carol\rROOT Cr",
}
FOREIGN_ONLY = {  # what only a hand-written segment can carry (argv cannot hold NUL)
    "nul": "Nul\x00l Nul",
    "newline-in-name": "Nina\n fake row Nl",
    "all-c0": "C0 " + "".join(chr(code) for code in range(1, 32)),
}


def problems_with(result: Result, status: int) -> list[str]:
    """Return what is wrong with a run that should have exited ``status`` (empty: fine)."""
    found = []
    output = result.stdout + result.stderr
    if "Traceback" in output:
        found.append("traceback")
    if result.status != status:
        found.append(f"exit {result.status}, not {status}")
    if RAW.search(result.stdout):
        found.append(f"raw control character on stdout: {RAW.search(result.stdout)!r}")
    for line in result.stderr.split("\n"):
        if RAW_IN_LINE.search(line):
            found.append(f"raw control character on stderr: {line[:200]!r}")
    if status == 2 and (result.stderr.count("\n") != 1 or result.stdout):
        found.append(f"not one line: {result.stderr[:200]!r}")
    return found


def shown(text: str) -> str:
    """Return how a name is shown (in a table, a title line, an event's description)."""
    return "".join(
        (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        if RAW_IN_LINE.match(c)
        else c
        for c in text
    )


def test_hostile_names_typed_here_are_shown_escaped_by_every_renderer(
    tmp_path: Path, fault_report
) -> None:
    home = tmp_path / "home"
    expected, observed, failures = [], [], []
    for key, typed in HOSTILE_NAMES.items():
        added = run_coffeechat(home, "add", typed, "--json")
        assert added.status == 0, added
        # stored as given (runs of whitespace, \r among them, made one space)
        handle, name = added.json()[0]["contact"], added.json()[0]["name"]
        assert name == " ".join(typed.split())
        assert run_coffeechat(home, "plan", handle).status == 0
        runs = {
            "add": run_coffeechat(home, "add", f"{typed} Twin", "--learn", typed),
            "ls": run_coffeechat(home, "ls"),
            "show": run_coffeechat(home, "show", handle),
            "log": run_coffeechat(home, "log", handle),
            "agenda": run_coffeechat(home, "agenda"),
            "why": run_coffeechat(home, "why", _reminder_of(home, handle)),
        }
        for command, result in runs.items():
            expected.append(f"{key}/{command}")
            wrong = problems_with(result, 0)
            if shown(name) not in result.stdout:
                wrong.append("name not shown escaped")
            if wrong:
                failures.append((key, command, wrong))
            else:
                observed.append(f"{key}/{command}")
        # stored as given: JSON is exact
        listed = {c["handle"]: c["name"] for c in run_coffeechat(home, "ls", "--json").json()}
        assert listed[handle] == name
    figures = fault_report.count(
        "hostile names typed here, in add/ls/show/log/agenda/why",
        expected,
        observed,
        f"{len(HOSTILE_NAMES)} names x 6 commands",
    )
    assert failures == [] and figures.lost == 0 and figures.duplicated == 0


def _reminder_of(home: Path, handle: str) -> str:
    agenda = run_coffeechat(home, "agenda", "--json").json()
    return next(r["id"] for r in agenda["reminders"] if r["contact"] == handle)


def test_hostile_names_in_another_devices_segment_are_shown_escaped(
    tmp_path: Path, fault_report
) -> None:
    # Events made by a real run elsewhere, then written by hand into this home's log/ as
    # the segment of a device "other-abc123", each contact renamed to a hostile name.
    names = {**HOSTILE_NAMES, **FOREIGN_ONLY}
    elsewhere = tmp_path / "elsewhere"
    for index in range(len(names)):
        assert run_coffeechat(elsewhere, "add", f"Foreign {index}").status == 0
        assert run_coffeechat(elsewhere, "plan", f"foreign-{index}").status == 0
    events = run_coffeechat(elsewhere, "log", "--json").json()
    renamed = dict(zip([f"foreign-{i}" for i in range(len(names))], names.items(), strict=True))
    lines = []
    for event in events:
        event["device"] = "other-abc123"
        if event["type"] == "contact.added":
            event["name"] = renamed[event["contact"]][1]
        lines.append(json.dumps(event, ensure_ascii=False))
    home = tmp_path / "home"
    assert run_coffeechat(home, "add", "Ada Lovelace").status == 0
    (home / "log" / "other-abc123.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (home / "log" / "notes\x1b]0;pwned\x07\u202e.txt").write_text("not a segment\n")

    expected, observed, failures = [], [], []
    everyone = {
        "ls": run_coffeechat(home, "ls"),
        "log": run_coffeechat(home, "log"),
        "agenda": run_coffeechat(home, "agenda", "--days", "14"),
    }
    for handle, (key, name) in renamed.items():
        runs = {**everyone, "show": run_coffeechat(home, "show", handle)}
        for command, result in runs.items():
            expected.append(f"{key}/{command}")
            wrong = problems_with(result, 0)
            if shown(name) not in result.stdout:
                wrong.append("name not shown escaped")
            if wrong:
                failures.append((key, command, wrong))
            else:
                observed.append(f"{key}/{command}")
    expected.append("file name in log/")
    warned = everyone["ls"].stderr
    if "notes\\x1b]0;pwned\\x07\\u202e.txt" in warned and not problems_with(everyone["ls"], 0):
        observed.append("file name in log/")
    else:
        failures.append(("file name", "ls", [warned]))
    figures = fault_report.count(
        "hostile names in a foreign segment, in ls/show/log/agenda",
        expected,
        observed,
        f"{len(names)} names from other-abc123.jsonl + 1 file name",
    )
    assert failures == [] and figures.lost == 0 and figures.duplicated == 0


# --- bad input: exit 2, one line, nothing appended -------------------------------------------

NOT_UTF8 = os.fsdecode(b"\xff\xfe")
BAD_INPUT: dict[str, list[str]] = {
    "name not UTF-8": ["add", NOT_UTF8],
    "note not UTF-8": ["note", "ada", os.fsdecode(b"caf\xe9 au lait")],
    "option value not UTF-8": ["add", "Bob", "--learn", NOT_UTF8],
    "command word not UTF-8": [NOT_UTF8],
    "contact not UTF-8": ["show", NOT_UTF8],
    "at year 9999": ["agenda", "--at", "9999-12-31"],
    "at 9999 with offset": ["ls", "--at", "9999-12-31T23:59+14:00"],
    "at year 1": ["show", "ada", "--at", "0001-01-01"],
    "at 30 February": ["note", "ada", "hi", "--at", "2026-02-30"],
    "at +99999999d": ["agenda", "--at", "+99999999d"],
    "at in 999999999 weeks": ["agenda", "--at", "in 999999999 weeks"],
    "at -999999999m": ["note", "ada", "hi", "--at", "-999999999m"],
    "schedule in year 9999": ["schedule", "ada", "9999-12-31 10:00"],
    "schedule +99999w": ["schedule", "ada", "+99999w"],
    "days 99999999999": ["agenda", "--days", "99999999999"],
    "days 5000 digits": ["agenda", "--days", "9" * 5000],
    "days negative": ["agenda", "--days", "-1"],
    "minutes huge": ["schedule", "ada", "tue 10:00", "--minutes", "99999999999999999999"],
    "fit huge": ["met", "ada", "--fit", "99999999999999999999"],
    "cadence 99999999d": ["edit", "ada", "--cadence", "99999999d"],
    "cadence 999999999w": ["add", "Bob", "--cadence", "999999999w"],
    "escape in unknown argument": ["ls", "x\ny\x1b]0;pwned\x07\u202e"],
    "escape in unknown command": ["\x1b[2Jfrob"],
    "escape in a choice": ["ls", "--stage", "\x1b[31mnew"],
    "escape in a contact": ["show", "\x1b]0;pwned\x07"],
    "escape in a date": ["note", "ada", "hi", "--at", "\x1b[2J\u202e"],
    "2 MB of arguments": ["ls", *["\n\x1b[2J" + "x" * 100_000 for _ in range(20)]],
}
DEEP_CONFIGS: dict[str, Callable[[], str]] = {
    "config 100k arrays deep": lambda: "a = " + "[" * 100_000 + "\n",
    "config 100k inline tables deep": lambda: "a = " + "{b = " * 100_000 + "\n",
    "config 2000 arrays closed": lambda: "a = " + "[" * 2000 + "]" * 2000 + "\n",
    "config deep in a section": lambda: "[playbook]\nmax_nudges = " + "[" * 3000 + "\n",
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("hostile") / "home"
    for arguments in (["add", "Ada Lovelace"], ["add", "Grace Hopper"]):
        assert run_coffeechat(home, *arguments).status == 0
    return home


def test_bad_input_fuzz_exits_2_on_one_escaped_line_and_appends_nothing(
    tmp_path: Path, prepared: Path, fault_report
) -> None:
    home = tmp_path / "home"
    shutil.copytree(prepared, home, ignore=shutil.ignore_patterns("cache"))
    before = log_bytes(home)
    expected, observed, failures = [], [], []

    def judge(key: str, result: Result) -> None:
        expected.append(key)
        wrong = problems_with(result, 2)
        if log_bytes(home) != before:
            wrong.append("the log changed")
        if len(result.stderr) > 2000:
            wrong.append(f"{len(result.stderr)} characters on stderr")
        if wrong:
            failures.append((key, wrong))
        else:
            observed.append(key)

    for key, arguments in BAD_INPUT.items():
        judge(key, run_coffeechat(home, *arguments))
    judge(
        "home not UTF-8",
        run_coffeechat(home, "ls", "--home", str(tmp_path / NOT_UTF8)),
    )
    for key, make in DEEP_CONFIGS.items():
        (home / "config.toml").write_text(make())
        for command in ("agenda", "ls", "plugins"):
            judge(f"{key}/{command}", run_coffeechat(home, command))
    (home / "config.toml").unlink()

    figures = fault_report.count(
        "bad input: exit 2, one escaped line, nothing appended",
        expected,
        observed,
        f"{len(BAD_INPUT) + 1} arguments + {len(DEEP_CONFIGS)} configs x 3 commands",
    )
    assert failures == [] and figures.lost == 0 and figures.duplicated == 0
    assert DEFAULT_NOW  # the prepared home ran at the suite's fixed clock
