"""Two devices, one delivering daemon: the delivery lease under a real sync (refs #8).

Two homes stand for two machines sharing ``log/`` through a sync tool: each writes only
its own segment, and :func:`sync` copies segments across (newer file wins) as
Syncthing would, at the moments the test chooses, so a sync can lag. Both homes send
to the same real HTTP endpoint on 127.0.0.1 (the user's phone): a reminder delivered by
both daemons arrives twice. ``daemon --once`` at chosen instants (the injected clock)
plays each daemon's wake-ups.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_coffeechat
from test_daemon import Receiver, configure

T0 = "2026-11-26T14:30:00+01:00"  # Thursday afternoon in Paris
PEOPLE = ("Ada Lovelace", "Grace Hopper", "Alan Turing")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.down()


def sync(source: Path, target: Path) -> None:
    """Copy every segment of ``source`` into ``target`` whose copy is older or missing."""
    (target / "log").mkdir(parents=True, exist_ok=True)
    for segment in (source / "log").glob("*.jsonl"):
        copy = target / "log" / segment.name
        if not copy.exists() or copy.stat().st_size < segment.stat().st_size:
            shutil.copy2(segment, copy)


def ok(home: Path, *arguments: str, now: str) -> str:
    result = run_coffeechat(home, *arguments, now=now)
    assert result.status == 0, (arguments, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr


def at(hours: float = 0, minutes: float = 0) -> str:
    from datetime import datetime, timedelta

    moment = datetime.fromisoformat(T0) + timedelta(hours=hours, minutes=minutes)
    return moment.isoformat()


@pytest.fixture
def homes(tmp_path: Path, receiver: Receiver) -> tuple[Path, Path]:
    """A laptop that recorded three meetings (each owes a thank-you now) and a server
    that has the same log and has written to it once (so each knows the other)."""
    laptop, server = tmp_path / "laptop", tmp_path / "server"
    for home in (laptop, server):
        configure(home, receiver, "[daemon]\nsummary_after = 100\n")
    for name in PEOPLE:
        ok(laptop, "add", name, "--at", "-2d", now=T0)
        ok(laptop, "met", name.split()[0], "--at", "-3h", now=T0)
    sync(laptop, server)
    ok(server, "note", "ada", "met at the conference", now=at(minutes=1))
    sync(server, laptop)
    return laptop, server


def delivered(receiver: Receiver, since: int) -> list[str]:
    return receiver.titles()[since:]


def test_lease_with_two_devices_delivers_each_reminder_from_one_only(
    homes: tuple[Path, Path], receiver: Receiver, fault_report
):
    laptop, server = homes
    expected: list[str] = []
    observed: list[str] = []

    # The laptop's daemon takes the lease (the home's first claim: no wait) and delivers.
    ok(laptop, "daemon", "--once", now=at(minutes=2))
    sync(laptop, server)
    said = ok(server, "daemon", "--once", now=at(minutes=3))
    assert "delivers" in said  # the server says who does
    ok(laptop, "daemon", "--once", now=at(minutes=5))
    sync(laptop, server)
    ok(server, "daemon", "--once", now=at(minutes=6))
    first = delivered(receiver, 0)
    expected += [f"1:{name}" for name in PEOPLE]
    observed += [f"1:{title.split(' · ')[1]}" for title in first]
    assert sorted(first) == sorted(f"Thank-you owed · {name}" for name in PEOPLE)

    # The laptop is closed for two days: the server takes over once the lease lapses.
    count = len(receiver.titles())
    ok(server, "daemon", "--once", now=at(hours=12, minutes=10))  # lease still the laptop's
    assert delivered(receiver, count) == []
    ok(server, "daemon", "--once", now=at(hours=48))  # lapsed: claims, waits
    assert delivered(receiver, count) == []
    # The laptop wakes before the sync brought the server's claim: it claims too ...
    ok(laptop, "daemon", "--once", now=at(hours=48, minutes=1))
    assert delivered(receiver, count) == []
    # ... then the sync runs both ways, and both agree that the earlier claim won.
    sync(server, laptop)
    sync(laptop, server)
    ok(laptop, "daemon", "--once", now=at(hours=48, minutes=4))
    ok(server, "daemon", "--once", now=at(hours=48, minutes=4))
    second = delivered(receiver, count)
    expected += [f"2:{name}" for name in PEOPLE]
    observed += [f"2:{title.split(' · ')[1]}" for title in second]

    figures = fault_report.count(
        "lease: two devices, one closed for 2 days, claims crossing in a sync lag",
        expected,
        observed,
        "2 rounds of 3 thank-you reminders; the same phone endpoint on both devices",
    )
    assert (figures.lost, figures.duplicated) == (0, 0), (first, second)
    shown = run_coffeechat(laptop, "doctor", now=at(hours=48, minutes=5))
    server_device = (server / "device").read_text().split()[0]
    assert f"delivering device: {server_device} until" in shown.stdout, shown.stdout


def test_lease_with_one_device_delivers_at_once_and_never_waits(tmp_path: Path, receiver: Receiver):
    home = tmp_path / "home"
    configure(home, receiver)
    ok(home, "add", "Ada Lovelace", "--at", "-2d", now=T0)
    ok(home, "met", "ada", "--at", "-3h", now=T0)
    ok(home, "daemon", "--once", now=T0)
    assert receiver.titles() == ["Thank-you owed · Ada Lovelace"]


def test_lease_with_deliver_never_keeps_quiet_and_always_ignores_the_lease(
    homes: tuple[Path, Path], receiver: Receiver
):
    laptop, server = homes
    (server / "config.toml").write_text(
        (server / "config.toml").read_text().replace("[daemon]\n", '[daemon]\ndeliver = "always"\n')
    )
    (laptop / "config.toml").write_text(
        (laptop / "config.toml").read_text().replace("[daemon]\n", '[daemon]\ndeliver = "never"\n')
    )
    ok(laptop, "daemon", "--once", now=at(minutes=2))
    assert receiver.titles() == []
    ok(server, "daemon", "--once", now=at(minutes=2))
    assert sorted(receiver.titles()) == sorted(f"Thank-you owed · {name}" for name in PEOPLE)


def test_doctor_with_a_delivering_device_without_mail_says_queued_mail_waits(
    homes: tuple[Path, Path], receiver: Receiver
):
    laptop, server = homes
    ok(server, "daemon", "--once", now=at(minutes=2))  # the server takes the lease
    sync(server, laptop)
    config = laptop / "config.toml"
    config.write_text(
        config.read_text()
        + '[mail]\nfrom = "Me <me@example.org>"\nsmtp = "smtp://127.0.0.1:2525"\n'
    )
    ok(laptop, "edit", "ada", "--email", "ada@example.org", now=at(minutes=3))
    ok(laptop, "send", "ada", "--kind", "thank-you", now=at(minutes=3))
    shown = run_coffeechat(laptop, "doctor", now=at(minutes=4))
    assert shown.status == 1
    line = next(x for x in shown.stdout.splitlines() if "delivering device" in x)
    assert line.startswith("FAIL")
    assert "1 queued e-mail wait: it has no [mail]" in line
