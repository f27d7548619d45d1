"""Screens that fit: tables at the terminal's width by display width, colour on a terminal
only, one date style, times labelled with the zone they are in, names instead of handles.

Each runs the real ``coffeechat`` command; a terminal is a real pseudo-terminal.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
import unicodedata
from pathlib import Path

import pytest
from conftest import COMMAND, DEFAULT_NOW, Result, Runner

LONG = "how a research group decides which problems are worth a decade of someone's life"


def ok(result: Result) -> Result:
    assert result.status == 0, result.stderr
    return result


def cells(text: str) -> int:
    """The display width of a line, computed independently of coffeechat's own."""
    width = 0
    for character in text:
        if unicodedata.category(character) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1
    return width


def record(cli: Runner, *commands: list[str]) -> None:
    for arguments in commands:
        ok(cli(*arguments))


@pytest.fixture
def busy(cli: Runner) -> Runner:
    """A home with long free text in every table: roles, what to learn, notes."""
    record(
        cli,
        ["add", "Ada Lovelace", "--role", "Research engineer", "--company", "Analytical "
         "Engines and Difference Machines of London", "--learn", LONG],
        ["add", "李小龍", "--role", "Martial artist ☕ and philosopher of water", "--learn", LONG],
        ["add", "Zoë Ångström", "--role", "Chemist", "--learn", LONG],
        ["plan", "ada"],
        ["plan", "李小龍"],
        ["reach", "zoe", "--at", "-9d"],
        ["note", "ada", LONG],
    )  # fmt: skip
    return cli


def test_tables_with_columns_80_fit_and_shorten_the_free_text(busy: Runner) -> None:
    environment = {"COLUMNS": "80"}
    for arguments in (["ls"], ["agenda"], ["log"], ["show", "ada"], ["plugins"]):
        printed = ok(busy(*arguments, env=environment)).stdout
        lines = printed.splitlines()
        if arguments[0] != "show":  # show's profile lines are free text, not a table
            assert max(cells(line) for line in lines) <= 80, (arguments, printed)
        if arguments[0] != "plugins":  # which fits as it is
            assert "…" in printed, arguments
    shown = ok(busy("show", "ada", env=environment)).stdout
    rows = [line for line in shown.splitlines() if re.match(r"  [A-Z][a-z]{2} \d", line)]
    assert rows and max(cells(line) for line in rows) <= 80
    assert max(cells(line) for line in shown.splitlines() if "next:" in line) <= 80


def test_tables_piped_without_columns_keep_the_whole_text(busy: Runner) -> None:
    # No terminal and no COLUMNS: no limit (a script reads every word).
    printed = ok(busy("agenda", env={"COLUMNS": ""})).stdout
    assert "…" not in printed and LONG in printed
    assert max(len(line) for line in printed.splitlines()) > 150


def test_tables_with_wide_characters_line_up(busy: Runner) -> None:
    # 李小龍 is 3 characters and 6 cells; Zoë's ë may be one character or two (e + U+0308).
    ok(busy("add", "Zoe\u0308 Combining", "--role", "Decomposed"))
    lines = ok(busy("ls", env={"COLUMNS": "80"})).stdout.splitlines()
    header, rows = lines[0], lines[1:]
    stage_at = cells(header[: header.index("STAGE")])
    where_at = cells(header[: header.index("WHERE")])
    assert len(rows) == 4
    for row in rows:
        stage = re.search(r"  (new|planned|reached)  ", row)
        assert stage is not None, row
        assert cells(row[: stage.start(1)]) == stage_at, row
        where = row.index("  ", stage.end(1) - 1)
        assert cells(row[: len(row) - len(row[where:].lstrip())]) == where_at, row


def on_a_terminal(
    home: Path, *arguments: str, columns: int = 100, env: dict[str, str] | None = None
) -> str:
    """Run coffeechat with its standard output on a pseudo-terminal ``columns`` wide."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COFFEECHAT_")}
    environment.pop("NO_COLOR", None)
    environment.pop("COLUMNS", None)
    environment.update({"TZ": "Europe/Paris", "COFFEECHAT_NOW": DEFAULT_NOW, "TERM": "xterm"})
    environment.update(env or {})
    process = subprocess.Popen(
        [COMMAND, "--home", str(home), *arguments],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=environment,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.stderr is not None
    with process.stderr:
        errors = process.stderr.read()
    assert process.wait(timeout=60) == 0, errors
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_colour_on_a_terminal_only_and_never_with_no_color(busy: Runner, home: Path) -> None:
    ok(busy("reply", "zoe"))
    coloured = on_a_terminal(home, "ls")
    assert "\x1b[1;32mreplied\x1b[0m" in coloured  # your move stands out
    assert "\x1b[36mplanned\x1b[0m" in coloured
    agenda = on_a_terminal(home, "agenda")
    assert "\x1b[" in agenda
    assert "\x1b[" not in on_a_terminal(home, "ls", env={"NO_COLOR": "1"})
    assert "\x1b[" not in on_a_terminal(home, "--json", "ls")
    assert "\x1b[" not in on_a_terminal(home, "ls", env={"TERM": "dumb"})
    assert "\x1b[" not in ok(busy("ls")).stdout  # piped


def test_colour_marks_overdue_and_high_priority(cli: Runner, home: Path) -> None:
    record(cli, ["add", "Ada Lovelace"], ["met", "ada", "--at", "-1d"])
    agenda = on_a_terminal(home, "agenda")
    overdue = [line for line in agenda.splitlines() if "thank-you" in line]
    assert overdue and "\x1b[1;31m!\x1b[0m" in overdue[0] and "\x1b[31m" in overdue[0]


def test_a_terminal_without_columns_sets_the_width(busy: Runner, home: Path) -> None:
    printed = on_a_terminal(home, "agenda", columns=72, env={"NO_COLOR": "1"})
    assert max(cells(line) for line in printed.splitlines()) <= 72
    assert "…" in printed


# --- names, not handles -------------------------------------------------------------------


def test_intro_and_undo_speak_in_names(cli: Runner) -> None:
    record(cli, ["add", "Ada Lovelace"], ["met", "ada"])
    introduced = ok(cli("intro", "ada", "Grace Hopper")).stdout
    assert "added Grace Hopper (grace-hopper), introduced by Ada Lovelace" in introduced
    assert "Ada Lovelace introduced you to Grace Hopper" in introduced
    assert "introduced you to: Grace Hopper" in ok(cli("show", "ada")).stdout
    undone = ok(cli("undo")).stdout
    assert re.match(r"undid adding Grace Hopper  \[\w{8}\]\n", undone), undone
    assert "undid Ada Lovelace's introduction to Grace Hopper" in undone
    ok(cli("thank", "ada"))
    assert re.fullmatch(r"undid the thank-you to Ada Lovelace  \[\w{8}\]\n", ok(cli("undo")).stdout)
    # log names them too, and shows the undone events as undone
    log = ok(cli("log")).stdout
    assert "thanks.sent" in log and "undid the thank-you to Ada Lovelace" in log
    assert "grace-hopper" not in log.replace("(grace-hopper)", "")


def test_edit_via_names_the_introducer(cli: Runner) -> None:
    record(cli, ["add", "Ada Lovelace"], ["add", "Grace Hopper"])
    assert "via = Ada Lovelace" in ok(cli("edit", "grace", "--via", "ada")).stdout


# --- dates and zones ------------------------------------------------------------------------


def test_daemon_and_demo_dates_are_in_the_agenda_style(cli: Runner) -> None:
    # The week from Thursday 26 November holds 1, 2 and 3 December: never "Tue 01 Dec".
    printed = ok(cli("demo", "--seconds", "2")).stdout
    assert re.search(r"^  Tue 1 Dec$", printed, re.M)
    assert not re.search(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) 0\d ", printed)


def test_reach_out_says_their_time_when_their_zone_is_not_yours(cli: Runner) -> None:
    record(
        cli,
        ["add", "Ken Tanaka", "--tz", "Asia/Tokyo", "--learn", "how teams work"],
        ["add", "Paul Durand", "--learn", "how teams work"],
        ["plan", "ken"],
        ["plan", "paul"],
    )
    reminders = ok(cli("agenda", "--json")).json()["reminders"]
    by_contact = {r["contact"]: r for r in reminders if r["kind"] == "reach-out"}
    # Tokyo's window, Tuesday 09:00 there, is Tuesday 01:00 in Paris: the agenda's WHEN.
    assert by_contact["ken-tanaka"]["due"] == "2026-12-01T01:00:00+01:00"
    assert by_contact["ken-tanaka"]["message"].startswith(
        "Reach out to Ken Tanaka today, Tue 1 Dec 09:00 their time (Asia/Tokyo): "
    )
    assert by_contact["paul-durand"]["message"].startswith("Reach out to Paul Durand today: ")


def test_nudge_dates_the_outreach_on_your_clock(cli: Runner) -> None:
    # Sent Monday 23:30 in Paris: Tuesday 07:30 in Tokyo. "No reply since" is your Monday.
    record(
        cli,
        ["add", "Ken Tanaka", "--tz", "Asia/Tokyo"],
        ["reach", "ken", "--at", "2026-11-16T23:30"],
    )
    nudges = [r for r in ok(cli("agenda", "--json")).json()["reminders"] if r["kind"] == "nudge"]
    assert nudges and nudges[0]["message"].startswith(
        "No reply from Ken Tanaka since Mon 16 Nov: "
    ), nudges
