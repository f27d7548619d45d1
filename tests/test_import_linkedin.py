"""``coffeechat import linkedin FILE``: LinkedIn's Connections.csv, as exported, in.

Every test runs the real ``coffeechat`` command on real export files
(``tests/fixtures/linkedin/``: a BOM, CRLF, the "Notes:" preamble and its blank line,
quoted fields with commas, mostly empty e-mails; an old export without the URL column;
damaged rows) or on large files made here in the same shape. Only the clock is set.
"""

from __future__ import annotations

import os
import pty
import random
import select
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import COMMAND, DEFAULT_TZ, Runner, log_bytes, run_coffeechat
from test_startup import modules_loaded_by

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "linkedin"
EXPORT = str(FIXTURES / "Connections.csv")  # January 2025's export
LATER = str(FIXTURES / "Connections-2025.csv")  # a year on: Grace moved, Alan promoted
OLD = str(FIXTURES / "Connections-2018.csv")  # before the URL column: two John Smiths
DAMAGED = str(FIXTURES / "Connections-damaged.csv")
TUESDAY = "2026-12-01T10:00:00+01:00"  # a working morning, Paris
HEADER = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\r\n"


def ok(result: Any) -> Any:
    assert result.status == 0, (result.stdout, result.stderr)
    return result


def appended(result: Any) -> list[dict[str, Any]]:
    """Return the events a recording command printed with --json."""
    events: list[dict[str, Any]] = ok(result).json()
    return events


def contacts(cli: Runner) -> dict[str, dict[str, Any]]:
    """Return every contact's ``show --json``, by handle."""
    handles = [row["handle"] for row in ok(cli("--json", "ls")).json()]
    return {handle: ok(cli("--json", "show", handle)).json() for handle in handles}


def reminders(cli: Runner, kind: str, **options: Any) -> list[dict[str, Any]]:
    agenda = ok(cli("--json", "agenda", "--days", "30", **options)).json()
    return [reminder for reminder in agenda["reminders"] if reminder["kind"] == kind]


def connections(count: int, seed: int = 12) -> str:
    """Return a Connections.csv of ``count`` people, shaped as LinkedIn writes it."""
    chooser = random.Random(seed)
    first = ["Ada", "Grace", "Alan", "Katherine", "Søren", "Zoë", "Chen", "Amara", "John"]
    last = ["Lovelace", "Hopper", "Turing", "Johnson", "Kierkegaard", "Okafor", "Wei", "Smith"]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    rows = [
        'Notes:\r\n"When exporting your connection data, you may notice that some of the '
        'email addresses are missing."\r\n\r\n',
        HEADER,
    ]
    for number in range(count):
        given, family = chooser.choice(first), chooser.choice(last)
        email = f"person{number}@example.org" if chooser.random() < 0.1 else ""
        day = f"{chooser.randint(1, 28):02d} {chooser.choice(months)} {chooser.randint(2010, 2025)}"
        rows.append(
            f"{given},{family},https://www.linkedin.com/in/{given.lower()}-{number},{email},"
            f'"Company {number % 700}, Inc.","Engineer, team {number % 37}",{day}\r\n'
        )
    return "\ufeff" + "".join(rows)


# --- a first import ----------------------------------------------------------------------


def test_import_linkedin_with_a_real_export_adds_every_connection(cli: Runner) -> None:
    events = appended(cli("--json", "import", "linkedin", EXPORT))

    assert [event["type"] for event in events] == ["contact.added"] * 8
    assert {event["source"] for event in events} == {"linkedin"}
    assert len({event.get("batch") or event["id"] for event in events}) == 1  # one command
    shown = contacts(cli)
    assert sorted(shown) == [
        "ada-lovelace",
        "alan-turing",
        "edsger-dijkstra",
        "grace-hopper",
        "katherine-johnson",
        "margaret-hamilton",
        "soren-kierkegaard",  # transliterated, as every handle
        "tim-berners-lee",
    ]
    grace = shown["grace-hopper"]
    assert grace["name"] == "Grace Hopper"
    assert grace["company"] == "Remington Rand, UNIVAC Division"  # quoted, with a comma
    assert grace["role"] == "Programmer"
    assert grace["linkedin"] == "https://www.linkedin.com/in/grace-hopper"
    assert grace["how_met"] == "LinkedIn"
    assert grace["connected_on"] == "2024-01-15"
    assert grace["email"] is None  # LinkedIn left it empty
    assert shown["ada-lovelace"]["email"] == "ada@example.org"
    assert shown["tim-berners-lee"]["connected_on"] is None  # an empty date is no date
    assert shown["alan-turing"]["role"] == "Cryptanalyst, Hut 8"
    assert "connected on: 2024-01-15" in ok(cli("show", "grace")).stdout


def test_import_linkedin_summary_says_what_it_did(cli: Runner) -> None:
    result = ok(cli("import", "linkedin", EXPORT))

    lines = result.stdout.splitlines()
    assert lines[0].startswith("added Grace Hopper (grace-hopper)  [")
    assert lines[-1] == "linkedin: 8 added, 0 updated, 0 unchanged, 0 skipped (Connections.csv)"
    assert result.stderr == ""


def test_import_linkedin_again_appends_nothing(cli: Runner, home: Path) -> None:
    ok(cli("import", "linkedin", EXPORT))
    before = log_bytes(home)

    again = ok(cli("import", "linkedin", EXPORT, now=TUESDAY))
    as_json = ok(cli("--json", "import", "linkedin", EXPORT, now=TUESDAY))

    assert log_bytes(home) == before
    assert (
        again.stdout == "linkedin: 0 added, 0 updated, 8 unchanged, 0 skipped (Connections.csv)\n"
    )
    assert as_json.json() == []
    assert "summary: linkedin: 0 added" in as_json.stderr  # stdout stays JSON


def test_import_linkedin_with_an_old_export_without_urls_matches_by_name_and_day(
    cli: Runner, home: Path
) -> None:
    # Two John Smiths, told apart only by the day you connected: both are added, and a
    # second import recognises each (neither is merged with the other).
    first = appended(cli("--json", "import", "linkedin", OLD))
    before = log_bytes(home)
    ok(cli("import", "linkedin", OLD))

    assert [event["contact"] for event in first] == [
        "john-smith",
        "john-smith-2",
        "grace-hopper",
        "frances-allen",
    ]
    assert log_bytes(home) == before
    shown = contacts(cli)
    assert shown["john-smith"]["company"] == "Acme, Inc."
    assert shown["john-smith-2"]["company"] == "Globex"
    assert shown["john-smith-2"]["linkedin"] is None


def test_import_linkedin_with_two_people_of_one_name_merges_neither(cli: Runner) -> None:
    ok(cli("add", "John Smith", "--company", "Initech", "--learn", "sales in the 90s"))

    result = ok(cli("--json", "import", "linkedin", OLD))

    added = [event["contact"] for event in result.json() if event["type"] == "contact.added"]
    assert added[:2] == ["john-smith-2", "john-smith-3"]
    assert "neither is merged" in result.stderr
    assert "John Smith" in result.stderr
    assert ok(cli("--json", "show", "john-smith")).json()["company"] == "Initech"  # untouched


def test_import_linkedin_matches_a_contact_by_url_then_email_then_name(cli: Runner) -> None:
    # A URL in another spelling (http, trailing slash, upper case host) is the same profile.
    ok(cli("add", "Gracie", "--linkedin", "http://WWW.LinkedIn.com/in/grace-hopper/"))
    ok(cli("add", "Countess of Lovelace", "--email", "ADA@example.org"))
    ok(cli("add", "Alan Turing", "--learn", "how to break a cipher"))
    # Same name, another profile: another person, never merged.
    ok(cli("add", "Katherine Johnson", "--linkedin", "https://www.linkedin.com/in/someone-else"))

    events = appended(cli("--json", "import", "linkedin", EXPORT))

    updated = {event["contact"] for event in events if event["type"] == "contact.updated"}
    added = {event["contact"] for event in events if event["type"] == "contact.added"}
    assert updated == {"gracie", "countess-of-lovelace", "alan-turing"}
    assert "katherine-johnson-2" in added and "grace-hopper" not in added
    shown = contacts(cli)
    assert shown["gracie"]["name"] == "Gracie"  # what you typed stays
    assert shown["gracie"]["company"] == "Remington Rand, UNIVAC Division"  # what was missing
    assert shown["alan-turing"]["learn"] == "how to break a cipher"
    assert shown["katherine-johnson"]["linkedin"] == "https://www.linkedin.com/in/someone-else"


def test_import_linkedin_onto_a_contact_you_typed_keeps_your_values(cli: Runner) -> None:
    ok(cli("add", "Grace Hopper", "--company", "US Navy", "--role", "Rear admiral"))

    result = ok(cli("--json", "import", "linkedin", EXPORT))

    grace = ok(cli("--json", "show", "grace-hopper")).json()
    assert (grace["company"], grace["role"]) == ("US Navy", "Rear admiral")
    assert grace["connected_on"] == "2024-01-15"  # what was missing is filled in
    assert "kept your company 'US Navy' (linkedin says 'Remington Rand, UNIVAC Division')" in (
        result.stderr
    )
    assert reminders(cli, "congratulate") == []  # not a move: the import knew nothing before
    # The next export with the same values changes nothing: your values still stand.
    assert ok(cli("--json", "import", "linkedin", EXPORT)).json() == []


# --- a later export --------------------------------------------------------------------------


def test_import_linkedin_with_a_later_export_records_moves_and_congratulate(
    cli: Runner,
) -> None:
    ok(cli("import", "linkedin", EXPORT))

    result = ok(cli("--json", "import", "linkedin", LATER, now=TUESDAY))

    events = result.json()
    assert [(event["type"], event["contact"]) for event in events] == [
        ("contact.added", "barbara-liskov"),
        ("contact.updated", "grace-hopper"),
        ("contact.updated", "alan-turing"),
    ]
    grace = events[1]
    assert grace["source"] == "linkedin"
    assert (grace["company"], grace["role"]) == ("Harvard Computation Lab", "Senior Programmer")
    assert "name" not in grace and "email" not in grace  # only what changed is applied
    assert grace["imported"]["company"] == "Harvard Computation Lab"  # what was read, kept
    # Katherine is not in the later export: she stays, as she was.
    assert ok(cli("--json", "show", "katherine")).json()["company"] == "NASA Langley"
    assert "Grace Hopper moved to Harvard Computation Lab as Senior Programmer" in result.stderr

    found = reminders(cli, "congratulate", now=TUESDAY)
    assert sorted((r["contact"], r["due"]) for r in found) == [
        ("alan-turing", "2026-12-01T11:00:00+01:00"),  # an hour after, working hours
        ("grace-hopper", "2026-12-01T11:00:00+01:00"),
    ]
    by_contact = {r["contact"]: r for r in found}
    assert by_contact["grace-hopper"]["message"].startswith(
        "Grace Hopper moved to Harvard Computation Lab as Senior Programmer: a good moment to "
        "congratulate them and catch up."
    )
    assert by_contact["alan-turing"]["message"].startswith(
        "Alan Turing is now Head of Hut 8, Naval Enigma at Bletchley Park: "
    )
    assert by_contact["grace-hopper"]["because"] == [grace["id"]]
    # The same id on every run (done, snooze and the daemon's ledger refer to it).
    assert reminders(cli, "congratulate", now="2026-12-02T09:00:00+01:00") == found
    # A second import of the later export changes nothing, and makes no second reminder.
    assert ok(cli("--json", "import", "linkedin", LATER, now=TUESDAY)).json() == []
    assert reminders(cli, "congratulate", now=TUESDAY) == found


def test_congratulate_is_cleared_by_a_later_touch(cli: Runner) -> None:
    ok(cli("import", "linkedin", EXPORT))
    ok(cli("import", "linkedin", LATER, now=TUESDAY))

    ok(cli("touch", "grace", "--note", "congratulated her", now="2026-12-01T11:30:00+01:00"))

    left = reminders(cli, "congratulate", now="2026-12-01T12:00:00+01:00")
    assert [r["contact"] for r in left] == ["alan-turing"]
    # A touch from before the move does not count.
    ok(cli("touch", "alan", "--at", "2026-11-30", now="2026-12-01T12:00:00+01:00"))
    assert [r["contact"] for r in reminders(cli, "congratulate")] == ["alan-turing"]


@pytest.mark.parametrize(
    ("imported_at", "due"),
    [
        ("2026-11-27T20:30:00+01:00", "2026-11-30T09:00:00+01:00"),  # Friday evening: Monday
        ("2026-11-28T11:00:00+01:00", "2026-11-30T09:00:00+01:00"),  # Saturday: Monday
        ("2026-12-01T06:00:00+01:00", "2026-12-01T09:00:00+01:00"),  # early: at nine
        ("2026-12-01T16:30:00+01:00", "2026-12-02T09:00:00+01:00"),  # after five: next day
    ],
)
def test_congratulate_with_an_import_out_of_hours_is_due_in_working_hours(
    cli: Runner, imported_at: str, due: str
) -> None:
    ok(cli("import", "linkedin", EXPORT, now="2026-11-26T10:00:00+01:00"))
    ok(cli("import", "linkedin", LATER, now=imported_at))

    found = reminders(cli, "congratulate", now=imported_at)
    assert {r["due"] for r in found} == {due}


def test_congratulate_with_config_respects_its_settings_and_quiet_hours(
    cli: Runner, home: Path
) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        '[congratulate]\nafter = "3h"\nstart = "08:00"\n[quiet_hours]\nstart = "20:00"\n'
        'end = "11:30"\n'
    )
    ok(cli("import", "linkedin", EXPORT, now="2026-11-26T10:00:00+01:00"))
    ok(cli("import", "linkedin", LATER, now="2026-11-30T06:00:00+01:00"))  # Monday, early

    # 06:00 + 3 h = 09:00, inside working hours from 08:00 but quiet until 11:30.
    found = reminders(cli, "congratulate", now="2026-11-30T06:00:00+01:00")
    assert {r["due"] for r in found} == {"2026-11-30T11:30:00+01:00"}


def test_import_linkedin_never_reverts_a_correction_typed_by_hand(cli: Runner, home: Path) -> None:
    ok(cli("import", "linkedin", EXPORT))
    ok(cli("edit", "alan", "--role", "Cryptanalyst", "--company", "GC&CS"))
    before = log_bytes(home)

    ok(cli("import", "linkedin", EXPORT))  # the source has not changed: yours stands

    assert log_bytes(home) == before
    alan = ok(cli("--json", "show", "alan")).json()
    assert (alan["company"], alan["role"]) == ("GC&CS", "Cryptanalyst")
    # The source changes his position: that is news, recorded; the company it did not
    # change stays as you corrected it.
    events = appended(cli("--json", "import", "linkedin", LATER, now=TUESDAY))
    assert next(e for e in events if e["contact"] == "alan-turing")["role"] == (
        "Head of Hut 8, Naval Enigma"
    )
    alan = ok(cli("--json", "show", "alan")).json()
    assert (alan["company"], alan["role"]) == ("GC&CS", "Head of Hut 8, Naval Enigma")


def test_import_linkedin_with_a_new_position_you_typed_already_makes_no_reminder(
    cli: Runner,
) -> None:
    ok(cli("import", "linkedin", EXPORT))
    ok(cli("edit", "grace", "--company", "Harvard Computation Lab", "--role", "Senior Programmer"))

    events = appended(cli("--json", "import", "linkedin", LATER, now=TUESDAY))

    grace = [e for e in events if e["contact"] == "grace-hopper"]
    assert len(grace) == 1 and "company" not in grace[0]  # remembered, nothing to apply
    assert [r["contact"] for r in reminders(cli, "congratulate", now=TUESDAY)] == ["alan-turing"]
    assert ok(cli("--json", "import", "linkedin", LATER, now=TUESDAY)).json() == []


def test_import_linkedin_keeps_handles_when_a_name_changes(cli: Runner, tmp_path: Path) -> None:
    ok(cli("import", "linkedin", EXPORT))
    renamed = Path(EXPORT).read_text(encoding="utf-8-sig").replace("Ada,Lovelace", "Ada,King")
    target = tmp_path / "renamed.csv"
    target.write_text(renamed, encoding="utf-8-sig", newline="")

    events = appended(cli("--json", "import", "linkedin", str(target), now=TUESDAY))

    assert [(e["contact"], e.get("name")) for e in events] == [("ada-lovelace", "Ada King")]
    assert ok(cli("--json", "show", "ada-lovelace")).json()["name"] == "Ada King"


# --- what it shows, what it refuses ---------------------------------------------------------


def test_import_linkedin_dry_run_shows_the_changes_and_records_nothing(
    cli: Runner, home: Path
) -> None:
    ok(cli("import", "linkedin", EXPORT))
    before = log_bytes(home)

    result = ok(cli("import", "linkedin", LATER, "--dry-run", now=TUESDAY))

    assert log_bytes(home) == before
    assert result.stdout.splitlines() == [
        "would add Barbara Liskov (barbara-liskov)",
        "would update Grace Hopper from linkedin: company = Harvard Computation Lab (was "
        "Remington Rand, UNIVAC Division), role = Senior Programmer (was Programmer)",
        "would update Alan Turing from linkedin: role = Head of Hut 8, Naval Enigma (was "
        "Cryptanalyst, Hut 8)",
        "dry run: would add 1, update 2; 5 unchanged, 0 skipped; nothing recorded",
    ]
    as_json = ok(cli("--json", "import", "linkedin", LATER, "--dry-run", now=TUESDAY)).json()
    assert [event["type"] for event in as_json] == [
        "contact.added",
        "contact.updated",
        "contact.updated",
    ]
    assert log_bytes(home) == before


def test_import_linkedin_dry_run_in_a_new_home_creates_nothing(cli: Runner, home: Path) -> None:
    result = ok(cli("import", "linkedin", EXPORT, "--dry-run"))

    assert result.stdout.splitlines()[-1].startswith("dry run: would add 8, update 0")
    assert not (home / "log").exists()
    assert not any(path.name == "device" for path in home.rglob("*")) if home.exists() else True


def test_import_linkedin_with_damaged_rows_names_each_line_and_imports_the_rest(
    cli: Runner,
) -> None:
    result = ok(cli("import", "linkedin", DAMAGED))

    warnings = result.stderr.splitlines()
    assert warnings == [
        "warning: Connections-damaged.csv:6: can't read the row: ',' expected after '\"'; skipped",
        "warning: Connections-damaged.csv:7: 5 fields where the header has 7; skipped",
        "warning: Connections-damaged.csv:8: can't read 'the 7th of June' as a date (like "
        "15 Jan 2024); skipped",
        "warning: Connections-damaged.csv:9: no first or last name; skipped",
    ]
    assert result.stdout.splitlines()[-1] == (
        "linkedin: 2 added, 0 updated, 0 unchanged, 4 skipped (Connections-damaged.csv)"
    )
    assert sorted(contacts(cli)) == ["grace-hopper", "margaret-hamilton"]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada\r\nEND:VCARD\r\n", "no header row"),
        (b"Name,Company\r\nAda Lovelace,Analytical Engines\r\n", "no header row"),
        (b"", "no header row"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8 text"),
    ],
    ids=["a-vcard", "another-csv", "empty", "binary"],
)
def test_import_linkedin_with_a_file_that_is_no_export_exits_2_and_appends_nothing(
    cli: Runner, home: Path, tmp_path: Path, content: bytes, says: str
) -> None:
    ok(cli("add", "Ada Lovelace"))
    before = log_bytes(home)
    path = tmp_path / "Connections.csv"
    path.write_bytes(content)

    result = cli("import", "linkedin", str(path))

    assert result.status == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("coffeechat import: Connections.csv: ")
    assert says in result.stderr
    assert log_bytes(home) == before


def test_import_linkedin_with_a_missing_file_exits_2(cli: Runner, tmp_path: Path) -> None:
    result = cli("import", "linkedin", str(tmp_path / "nowhere.csv"))

    assert result.status == 2
    missing = tmp_path / "nowhere.csv"
    assert result.stderr == f"coffeechat import: {missing}: No such file or directory\n"


def test_import_linkedin_from_stdin(home: Path) -> None:
    completed = subprocess.run(
        [COMMAND, "--home", str(home), "import", "linkedin", "-"],
        input=Path(EXPORT).read_bytes(),
        capture_output=True,
        env=_environment(),
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.decode().splitlines()[-1].startswith("linkedin: 8 added")


def test_undo_takes_back_a_whole_import(cli: Runner) -> None:
    ok(cli("import", "linkedin", EXPORT))

    ok(cli("undo"))

    assert ok(cli("--json", "ls")).json() == []


# --- large files: one batch, a progress bar on a terminal ------------------------------------


def test_import_linkedin_with_5000_rows_appends_one_batch(
    cli: Runner, home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "Connections.csv"
    path.write_text(connections(5000), encoding="utf-8", newline="")

    events = appended(cli("--json", "import", "linkedin", str(path)))

    assert len(events) == 5000
    assert {event.get("batch") for event in events[1:]} == {events[0]["id"]}
    segments = list((home / "log").glob("*.jsonl"))
    assert len(segments) == 1 and segments[0].read_bytes().count(b"\n") == 5000
    assert len({event["contact"] for event in events}) == 5000  # a handle each
    again = ok(cli("import", "linkedin", str(path)))
    assert again.stdout.splitlines()[-1].endswith(
        "0 added, 0 updated, 5000 unchanged, 0 skipped (Connections.csv)"
    )


def _environment() -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COFFEECHAT_")}
    environment.update({"TZ": DEFAULT_TZ, "COFFEECHAT_NOW": "2026-11-26T14:30:00+01:00"})
    return environment


def _run_with_terminal_stderr(arguments: list[str], folder: Path) -> tuple[int, bytes, bytes]:
    """Run the real command with its standard error on a pseudo-terminal (python's pty)
    and its standard output into a file; return the exit status, standard output and
    everything the terminal received."""
    main, secondary = pty.openpty()
    output = folder / "stdout"
    with output.open("wb") as stdout:
        process = subprocess.Popen(
            [COMMAND, *arguments],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=secondary,
            env=_environment(),
        )
    os.close(secondary)
    received = b""
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            process.kill()
            raise AssertionError("the command printed nothing for 60 s")
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: every writer of the terminal has gone
            break
        if not chunk:
            break
        received += chunk
    os.close(main)
    return process.wait(timeout=60), output.read_bytes(), received


def test_import_linkedin_with_a_large_file_shows_a_progress_bar_on_a_terminal(
    home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "Connections.csv"
    path.write_text(connections(2000), encoding="utf-8", newline="")

    status, output, terminal = _run_with_terminal_stderr(
        ["--home", str(home), "import", "linkedin", str(path)], tmp_path
    )

    assert status == 0
    assert b"\rreading Connections.csv [" in terminal
    assert b"\rmatching Connections.csv [##############################] 2000/2000" in terminal
    assert terminal.endswith(b"\r\x1b[K")  # wiped when done
    assert output.decode().splitlines()[-1] == (
        "linkedin: 2000 added, 0 updated, 0 unchanged, 0 skipped (Connections.csv)"
    )


def test_import_linkedin_without_a_terminal_shows_no_bar(cli: Runner, tmp_path: Path) -> None:
    path = tmp_path / "Connections.csv"
    path.write_text(connections(2000), encoding="utf-8", newline="")

    result = ok(cli("import", "linkedin", str(path)))

    assert result.stderr == ""


def test_import_linkedin_with_a_small_file_shows_no_bar_on_a_terminal(
    home: Path, tmp_path: Path
) -> None:
    status, _, terminal = _run_with_terminal_stderr(
        ["--home", str(home), "import", "linkedin", EXPORT], tmp_path
    )
    assert status == 0
    assert terminal == b""


# --- several devices -------------------------------------------------------------------------


def sync(*homes: Path) -> None:
    """Copy every device's segment into every home's log/ (a file-sync tool's work)."""
    segments = {p.name: p.read_bytes() for h in homes for p in (h / "log").glob("*.jsonl")}
    for h in homes:
        for name, data in segments.items():
            (h / "log" / name).write_bytes(data)


def test_import_on_two_devices_before_a_sync_makes_one_contact_per_person(tmp_path: Path) -> None:
    laptop, phone = tmp_path / "laptop", tmp_path / "phone"
    ok(run_coffeechat(laptop, "add", "Ada Lovelace", "--learn", "notation"))
    ok(run_coffeechat(phone, "add", "Alan Turing"))
    sync(laptop, phone)  # both know Ada; then both import the same file before a sync
    ok(run_coffeechat(laptop, "import", "linkedin", EXPORT))
    ok(run_coffeechat(phone, "import", "linkedin", EXPORT, now=TUESDAY))

    sync(laptop, phone)

    for device in (laptop, phone):
        listed = ok(run_coffeechat(device, "--json", "ls", now=TUESDAY)).json()
        handles = [row["handle"] for row in listed]
        assert len(handles) == len(set(handles))
        assert "ada-lovelace" in handles and "ada-lovelace-2" not in handles
        names = sorted(row["name"] for row in listed)
        assert names.count("Grace Hopper") == 1
        again = ok(run_coffeechat(device, "--json", "import", "linkedin", EXPORT, now=TUESDAY))
        assert again.json() == []


def test_import_on_two_devices_with_different_handles_names_the_duplicate(
    tmp_path: Path,
) -> None:
    # The laptop knows another Grace Hopper (another profile) the phone has not seen yet:
    # the laptop adds the imported Grace as grace-hopper-2, the phone as grace-hopper. After
    # the sync, both of the phone's grace-hopper events fold into one contact, and the next
    # import names the two contacts that share the profile instead of guessing.
    laptop, phone = tmp_path / "laptop", tmp_path / "phone"
    ok(run_coffeechat(phone, "add", "Alan Turing"))
    ok(
        run_coffeechat(
            laptop, "add", "Grace Hopper", "--linkedin", "https://www.linkedin.com/in/other"
        )
    )
    ok(run_coffeechat(laptop, "import", "linkedin", EXPORT))
    ok(run_coffeechat(phone, "import", "linkedin", EXPORT))
    sync(laptop, phone)

    again = run_coffeechat(laptop, "--json", "import", "linkedin", EXPORT, now=TUESDAY)

    assert again.status == 0 and again.json() == []
    assert "matches several contacts (grace-hopper, grace-hopper-2)" in again.stderr
    assert "archive the duplicate" in again.stderr


# --- cost ------------------------------------------------------------------------------------


def modules_after(home: Path, *arguments: str) -> set[str]:
    """Return every module a fresh interpreter has loaded after running the command."""
    return modules_loaded_by(home, *arguments, every=True)


IMPORT_ONLY = {"vobject", "csv", "coffeechat.events.importing", "coffeechat.events.linkedin"}


def test_recording_commands_never_load_the_importers(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ok(run_coffeechat(home, "import", "linkedin", EXPORT))
    for arguments in (("add", "Barbara Liskov"), ("note", "grace", "likes COBOL")):
        loaded = modules_after(home, *arguments)
        assert not loaded & IMPORT_ONLY, (arguments, loaded & IMPORT_ONLY)
    # The probe does see them where they are used: a LinkedIn import loads csv, not vobject.
    loaded = modules_after(home, "import", "linkedin", EXPORT)
    assert {"csv", "coffeechat.events.importing"} <= loaded and "vobject" not in loaded
