"""Several devices sharing one ``log/`` through a sync tool (refs #8).

Each scenario runs the real ``coffeechat`` on real homes, one per device, each with its
own clock (``COFFEECHAT_NOW`` per process: a laptop on time, a phone 30 s behind, a
tablet 6 months ahead), and moves segment files between them as a sync tool would:
late, twice (a conflict copy), or last-writer-wins over a home copied byte for byte.
Figures come from what the homes show at the end: the ids of the events every command
printed (``--json``) against the ids ``coffeechat log --json`` lists on each device,
and the stage or field each device folds against the one expected (a wrong one is lost).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, run_coffeechat

TRUE_START = datetime.fromisoformat("2026-12-01T10:00:00+01:00")  # a Tuesday morning in Paris


class Device:
    """One machine: a home, and a clock ``skew`` away from the true time."""

    def __init__(self, home: Path, skew: timedelta = timedelta(0)) -> None:
        self.home = home
        self.skew = skew
        self.printed: list[str] = []  # ids of every event its commands reported appending

    def run(self, *arguments: str, minute: int) -> Result:
        """Run a command at ``minute`` of true time, as this device's clock shows it."""
        now = TRUE_START + timedelta(minutes=minute) + self.skew
        result = run_coffeechat(self.home, *arguments, now=now.isoformat())
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def record(self, *arguments: str, minute: int) -> list[dict[str, Any]]:
        """Run a recording command with ``--json``; return (and remember) what it appended."""
        result = self.run("--json", *arguments, minute=minute)
        assert result.status == 0, (arguments, result.stderr)
        events: list[dict[str, Any]] = result.json()
        self.printed.extend(event["id"] for event in events)
        return events

    def reads(self) -> Iterable[str]:
        """Read twice: through the home's snapshot as it stands, then with no cache at all
        (a full replay), so that both the incremental and the full fold are looked at."""
        yield "cached"
        shutil.rmtree(self.home / "cache", ignore_errors=True)
        yield "fresh"

    def logged(self, minute: int) -> list[dict[str, Any]]:
        result = self.run("--json", "log", minute=minute)
        assert result.status == 0, result.stderr
        events: list[dict[str, Any]] = result.json()
        return events

    def stage(self, handle: str, minute: int) -> str:
        rows = self.run("--json", "ls", "--all", minute=minute).json()
        return next((row["stage"] for row in rows if row["handle"] == handle), "missing")

    def shown(self, contact: str, minute: int) -> dict[str, Any]:
        result = self.run("--json", "show", contact, minute=minute)
        assert result.status == 0, result.stderr
        shown: dict[str, Any] = result.json()
        return shown


def segments(home: Path) -> list[Path]:
    folder = home / "log"
    return sorted(p for p in folder.glob("*.jsonl") if p.is_file()) if folder.is_dir() else []


def sync(source: Device, target: Device) -> None:
    """Deliver what changed on the source to the target (a one-way sync tool): each file
    the target lacks or holds an older copy of (by mtime, which the copy keeps)."""
    (target.home / "log").mkdir(parents=True, exist_ok=True)
    for segment in segments(source.home):
        there = target.home / "log" / segment.name
        if not there.exists() or segment.stat().st_mtime_ns > there.stat().st_mtime_ns:
            shutil.copy2(segment, there)


def own_segment(device: Device) -> Path:
    return device.home / "log" / f"{(device.home / 'device').read_text().strip()}.jsonl"


def sync_newest_wins(one: Path, other: Path) -> None:
    """Both ways, file by file: the newer copy (by mtime) replaces the older one."""
    for folder in (one / "log", other / "log"):
        folder.mkdir(parents=True, exist_ok=True)
    names = {p.name for home in (one, other) for p in (home / "log").iterdir() if p.is_file()}
    for name in sorted(names):
        a, b = one / "log" / name, other / "log" / name
        if not b.exists() or (a.exists() and a.stat().st_mtime_ns > b.stat().st_mtime_ns):
            shutil.copy2(a, b)
        elif not a.exists() or b.stat().st_mtime_ns > a.stat().st_mtime_ns:
            shutil.copy2(b, a)


def keyed(device: str, keys: Iterable[str]) -> list[str]:
    return [f"{device}:{key}" for key in keys]


def ids(events: Iterable[dict[str, Any]]) -> list[str]:
    return [event["id"] for event in events]


# --- clocks --------------------------------------------------------------------------------


def test_a_device_30_seconds_behind_records_after_syncing(tmp_path: Path, fault_report) -> None:
    laptop = Device(tmp_path / "laptop")
    phone = Device(tmp_path / "phone", skew=-timedelta(seconds=30))
    laptop.record("add", "Ada Lovelace", minute=0)
    sync(laptop, phone)
    # The phone's clock still shows 09:59:30 when it records on Ada, added at 10:00:00.
    phone.record("reach", "ada", "--learn", "how she moved into engineering", minute=0)
    phone.record("note", "ada", "met at the conference", minute=0)
    sync(phone, laptop)

    expected, observed = [], []
    for name, device in (("laptop", laptop), ("phone", phone)):
        for read in device.reads():
            where = f"{name}/{read}"
            expected += keyed(where, [*laptop.printed, *phone.printed, "stage:reached", "notes:1"])
            shown = device.shown("ada", minute=1)
            notes = sum(1 for event in shown["timeline"] if event["type"] == "note.added")
            observed += keyed(where, [*ids(device.logged(minute=1)), f"stage:{shown['stage']}"])
            observed += keyed(where, [f"notes:{notes}"])
    figures = fault_report.count(
        "clock skew: a device 30 s behind records after syncing",
        expected,
        observed,
        "3 events on 2 devices; each device folds stage reached",
    )
    assert (figures.lost, figures.duplicated) == (0, 0), sorted(set(expected) - set(observed))


def test_an_edit_after_syncing_a_device_6_months_ahead_wins(tmp_path: Path, fault_report) -> None:
    laptop = Device(tmp_path / "laptop")
    tablet = Device(tmp_path / "tablet", skew=timedelta(days=182))
    laptop.record("add", "Ada Lovelace", "--role", "engineer", minute=0)
    sync(laptop, tablet)
    tablet.record("edit", "ada", "--role", "research engineer", minute=1)
    tablet.record("note", "ada", "from the tablet", minute=1)
    sync(tablet, laptop)
    # Later in true time, though the laptop's clock shows months before the tablet's.
    laptop.record("edit", "ada", "--role", "director of research", minute=2)
    laptop.record("reach", "ada", minute=3)
    sync(laptop, tablet)

    expected, observed = [], []
    everything = [*laptop.printed, *tablet.printed]
    # Six months on by the tablet's clock, the outreach has had no reply: no-reply there.
    stages = {"laptop": "reached", "tablet": "no-reply"}
    for name, device in (("laptop", laptop), ("tablet", tablet)):
        for read in device.reads():
            where = f"{name}/{read}"
            facts = ["role:director of research", f"stage:{stages[name]}"]
            expected += keyed(where, [*everything, *facts])
            shown = device.shown("ada", minute=4)
            observed += keyed(where, ids(device.logged(minute=4)))
            observed += keyed(where, [f"role:{shown['role']}", f"stage:{shown['stage']}"])
    figures = fault_report.count(
        "clock skew: an edit after syncing a device 6 months ahead",
        expected,
        observed,
        "the later edit (by causality, not by clock) is the role on both devices",
    )
    assert (figures.lost, figures.duplicated) == (0, 0), sorted(set(expected) - set(observed))


# --- syncs -----------------------------------------------------------------------------------


def test_a_segment_that_arrives_late(tmp_path: Path, fault_report) -> None:
    laptop = Device(tmp_path / "laptop")
    phone = Device(tmp_path / "phone", skew=-timedelta(minutes=3))
    laptop.record("add", "Ada Lovelace", minute=0)
    laptop.record("add", "Grace Hopper", minute=0)
    sync(laptop, phone)
    # The phone records on Ada; its segment reaches the laptop only much later.
    phone.record("reach", "ada", minute=1)
    phone.record("reply", "ada", minute=2)
    phone.record("edit", "ada", "--company", "Analytical Engines", minute=2)
    # Meanwhile the laptop records on Grace and reads (its snapshot is current).
    laptop.record("reach", "grace", minute=3)
    laptop.record("note", "grace", "compilers", minute=4)
    assert laptop.run("ls", minute=5).status == 0
    sync(phone, laptop)
    laptop.record("edit", "ada", "--role", "engineer", minute=6)  # now seen the phone's
    sync(laptop, phone)

    expected, observed = [], []
    everything = [*laptop.printed, *phone.printed]
    facts = ["ada:replied", "grace:reached", "company:Analytical Engines", "role:engineer"]
    for name, device in (("laptop", laptop), ("phone", phone)):
        for read in device.reads():
            where = f"{name}/{read}"
            expected += keyed(where, [*everything, *facts])
            ada = device.shown("ada", minute=7)
            found = [
                f"ada:{ada['stage']}",
                f"grace:{device.stage('grace-hopper', minute=7)}",
                f"company:{ada['company']}",
                f"role:{ada['role']}",
            ]
            observed += keyed(where, [*ids(device.logged(minute=7)), *found])
    figures = fault_report.count(
        "late sync: a segment arrives after the other device recorded more",
        expected,
        observed,
        f"{len(everything)} events; stages and profile on both devices",
    )
    assert (figures.lost, figures.duplicated) == (0, 0), sorted(set(expected) - set(observed))


def test_the_same_segment_arriving_twice(tmp_path: Path, fault_report) -> None:
    laptop, phone = Device(tmp_path / "laptop"), Device(tmp_path / "phone")
    laptop.record("add", "Ada Lovelace", minute=0)
    sync(laptop, phone)
    phone.record("reach", "ada", minute=1)
    phone.record("note", "ada", "one", minute=2)
    sync(phone, laptop)
    own = own_segment(phone)
    folder = laptop.home / "log"
    copies = [
        f"{own.stem}.sync-conflict-20261201-101500-ABCDEFG.jsonl",  # Syncthing
        f"{own.stem} (conflicted copy 2026-12-01).jsonl",  # Dropbox
    ]
    for name in copies:
        shutil.copy2(own, folder / name)
    # And once more under a name that is a segment's (renamed by hand): read, and deduplicated.
    shutil.copy2(own, folder / f"{own.stem}-2.jsonl")

    listed = laptop.run("--json", "log", minute=3)
    noted = laptop.run("--json", "note", "ada", "two", minute=3)
    checked = laptop.run("fsck", minute=4)

    assert noted.status == 0 and checked.status == 0
    laptop.printed.extend(ids(noted.json()))
    for result in (listed, noted, checked):  # each copy named once by each command
        assert all(result.stdout.count(n) + result.stderr.count(n) == 1 for n in copies)
    expected = [*laptop.printed, *phone.printed, "stage:reached"]
    observed = [*ids(laptop.logged(minute=5)), f"stage:{laptop.stage('ada-lovelace', minute=5)}"]
    figures = fault_report.count(
        "the same segment twice (conflict copies, a renamed copy)",
        expected,
        observed,
        "2 conflict copies named once per command and by fsck; a renamed copy folds once",
    )
    assert (figures.lost, figures.duplicated) == (0, 0), observed


# --- a copied home -------------------------------------------------------------------------


def test_a_copied_home_with_a_last_writer_wins_sync(tmp_path: Path, fault_report) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    first = Device(one)
    first.record("add", "Ada Lovelace", minute=0)
    first.record("add", "Grace Hopper", minute=0)
    shutil.copytree(one, two, symlinks=True)  # the whole home, device file and all
    second = Device(two)
    rounds, per_round = 4, 3

    def work(device: Device, who: str, round_number: int) -> None:
        for index in range(per_round):
            contact = ("ada", "grace")[index % 2]
            text = f"{who} round {round_number} note {index}"
            events = device.run("--json", "note", contact, text, minute=1)
            assert events.status == 0, events.stderr
            device.printed.extend(ids(events.json()))

    with ThreadPoolExecutor(max_workers=2) as pool:
        for round_number in range(rounds):
            done = [
                pool.submit(work, first, "one", round_number),
                pool.submit(work, second, "two", round_number),
            ]
            for future in done:
                future.result()
            sync_newest_wins(one, two)
    sync_newest_wins(one, two)

    everything = [*first.printed, *second.printed]
    expected, observed = [], []
    for name, device in (("one", first), ("two", second)):
        expected += keyed(name, everything)
        observed += keyed(name, ids(device.logged(minute=2)))
    devices = {(home / "device").read_text().strip() for home in (one, two)}
    figures = fault_report.count(
        "a home copied byte for byte, synced last-writer-wins",
        expected,
        observed,
        f"{rounds} rounds of {per_round} notes on each copy at once; "
        f"{len(devices)} device ids after the copy",
    )
    assert len(devices) == 2
    assert (figures.lost, figures.duplicated) == (0, 0), sorted(set(expected) - set(observed))


# --- undo ----------------------------------------------------------------------------------


def retracted(events: list[dict[str, Any]]) -> set[str]:
    return {event["target"] for event in events if event["type"] == "event.retracted"}


def test_undo_across_devices(tmp_path: Path, fault_report) -> None:
    laptop, phone = Device(tmp_path / "laptop"), Device(tmp_path / "phone")
    laptop.record("add", "Ada Lovelace", minute=0)
    sync(laptop, phone)
    mine = laptop.record("note", "ada", "from the laptop", minute=1)
    theirs = phone.record("note", "ada", "from the phone", minute=2)
    phone_reach = phone.record("reach", "ada", minute=3)
    sync(phone, laptop)  # the phone's commands are the last in the merged log
    undone = laptop.record("undo", minute=4)
    sync(laptop, phone)
    undone_on_phone = phone.record("undo", minute=5)  # the phone's own last: its reach
    sync(phone, laptop)

    intended = {"laptop": ids(mine), "phone": ids(phone_reach)}
    kept = ids(theirs)
    assert [event["target"] for event in undone] == intended["laptop"]
    assert [event["target"] for event in undone_on_phone] == intended["phone"]
    expected, observed = [], []
    for name, device in (("laptop", laptop), ("phone", phone)):
        expected += keyed(name, [f"undone:{i}" for ids_ in intended.values() for i in ids_])
        expected += keyed(name, [f"kept:{i}" for i in kept])
        gone = retracted(device.logged(minute=6))
        observed += keyed(name, [f"undone:{target}" for target in sorted(gone)])
        observed += keyed(name, [f"kept:{i}" for i in kept if i not in gone])
    figures = fault_report.count(
        "undo on two devices takes back each one's own last command",
        expected,
        observed,
        "the other device's later command is kept",
    )
    assert (figures.lost, figures.duplicated) == (0, 0), observed


@pytest.fixture(autouse=True)
def _no_stray_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("COFFEECHAT_"):
            monkeypatch.delenv(name)
