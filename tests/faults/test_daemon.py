"""The daemon under faults (refs #9): real daemon processes on real files and sockets.

Each scenario makes reminders due by writing the past into the log (as another device,
``phone``, would: one in-process append instead of dozens of commands), runs
``coffeechat daemon`` as a subprocess against a real HTTP endpoint on 127.0.0.1 (Apprise's
``json://``), injects a fault that holds for root (two processes at once, a file size
limit set with ``RLIMIT_FSIZE``, a full tmpfs, a channel that answers too late, the home
deleted under the daemon, a schedule that never fires), and counts from what the
endpoint received and what the ledger holds what was delivered, lost or duplicated.

The daemon runs on an accelerated clock (``COFFEECHAT_CLOCK_SPEED``) where it has to
retry, so that retries seconds apart on its clock take a fraction of a second here.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import COMMAND, run_coffeechat
from test_daemon import NotifySocket, Receiver, stop

from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.log import EventLog

PHONE = "phone-abc123"
PARIS = ZoneInfo("Europe/Paris")
LATE_CHANNEL = "late"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.down()


def configure(home: Path, *channels: tuple[str, Receiver, str]) -> None:
    """Write a private config.toml with these channels (name, receiver, URL options)."""
    home.mkdir(parents=True, exist_ok=True)
    # The weekly digest (Tuesday 08:00) would join what is counted on a Tuesday morning.
    lines = ["[daemon]", "summary_after = 100", "", "[playbook]", 'digest = "0 8 29 2 *"', ""]
    for name, receiver, options in channels:
        url = f"json://127.0.0.1:{receiver.port}/?{options or 'cto=1&rto=2'}"
        lines += ["[[channels]]", f'name = "{name}"', f'url = "{url}"', ""]
    config = home / "config.toml"
    config.write_text("\n".join(lines))
    config.chmod(0o600)


def names(count: int, prefix: str = "Person") -> list[str]:
    return [f"{prefix} {index:02d}" for index in range(count)]


def write_past(
    log_dir: Path, build: Callable[[Stamp, datetime], list[m.Event]], now: datetime | None = None
) -> None:
    """Append, as the ``phone`` device, the events ``build(stamp, now)`` returns."""
    now = now or datetime.now(UTC)
    EventLog(log_dir, PHONE).append(build(Stamp(now, PHONE, PARIS), now))


def owe_thanks(log_dir: Path, people: list[str]) -> list[str]:
    """Record meetings held hours ago: each owes a thank-you now. Return the titles the
    endpoint shows for them."""

    def build(stamp: Stamp, now: datetime) -> list[m.Event]:
        events: list[m.Event] = []
        for index, name in enumerate(people):
            handle = name.lower().replace(" ", "-")
            events.append(stamp(m.ContactAdded, now - timedelta(days=2), contact=handle, name=name))
            held = now - timedelta(hours=3, minutes=index)
            events.append(stamp(m.MeetingHeld, held, contact=handle))
        return events

    write_past(log_dir, build)
    return [f"Thank-you owed · {name}" for name in people]


def make_device(home: Path) -> None:
    """Give the home its device id and segment now (a daemon that cannot write a byte
    could not make them: it would exit at start, saying why)."""
    result = run_coffeechat(home, "add", "Someone Else", "--at", "-30d", now=None)
    assert result.status == 0, result.stderr


def launch(
    home: Path,
    *arguments: str,
    speed: float | None = None,
    limit_file_size: bool = False,
    notify: NotifySocket | None = None,
) -> subprocess.Popen[str]:
    """Start ``coffeechat daemon`` (or ``daemon --once``) on ``home``; with ``speed`` its
    clock starts now and runs that many times faster; with ``limit_file_size`` it may not
    write a single byte to any file (``RLIMIT_FSIZE`` 0, raisable later with prlimit)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COFFEECHAT_")}
    environment["TZ"] = "Europe/Paris"
    if speed is not None:
        environment["COFFEECHAT_NOW"] = datetime.now(UTC).isoformat()
        environment["COFFEECHAT_CLOCK_SPEED"] = str(speed)
    if notify is not None:
        environment["NOTIFY_SOCKET"] = notify.path

    def no_file_growth() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))

    return subprocess.Popen(
        [COMMAND, "--home", str(home), "daemon", *arguments],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=no_file_growth if limit_file_size else None,
    )


def ready(home: Path, **options: object) -> tuple[subprocess.Popen[str], NotifySocket]:
    sockets = NotifySocket()
    process = launch(home, notify=sockets, **options)  # type: ignore[arg-type]
    sockets.collect(until="READY=1")
    assert process.poll() is None, stop(process)
    return process, sockets


def ledger(home: Path) -> list[dict]:
    """The ``notification.sent`` entries the log holds (read by a fresh process)."""
    result = run_coffeechat(home, "log", "--json", now=None)
    assert result.status == 0, result.stderr
    return [event for event in result.json() if event["type"] == "notification.sent"]


def recorded_channels(home: Path) -> dict[str, list[str]]:
    """Reminder id → every channel recorded as having taken it (repeats included)."""
    taken: dict[str, list[str]] = {}
    for entry in ledger(home):
        taken.setdefault(entry["reminder"], []).extend(entry.get("channels", []))
    return taken


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def settle(receiver: Receiver, count: int, quiet: float = 0.6) -> list[str]:
    """Wait for ``count`` posts, then for ``quiet`` seconds without a new one."""
    receiver.wait_for(count)
    seen = -1
    while seen != len(receiver.titles()):
        seen = len(receiver.titles())
        time.sleep(quiet)
    return receiver.titles()


# --- two processes deliver on one home ---------------------------------------------------


def test_two_daemons_started_together_on_one_home_deliver_each_reminder_once(
    tmp_path: Path, fault_report
):
    slow = Receiver(delay=0.02)  # a delivery takes a moment: the other daemon is ready by then
    try:
        home = tmp_path / "home"
        configure(home, ("phone", slow, ""))
        titles = owe_thanks(home / "log", names(20))
        first, second = launch(home), launch(home)  # both fold the log before either delivers
        observed = settle(slow, len(titles))
        stderr = stop(first) + stop(second)
        figures = fault_report.count(
            "two daemons started at once on one home", titles, observed, "20 due reminders"
        )
        assert figures.lost == 0 and figures.duplicated == 0, stderr
        assert sorted(len(c) for c in recorded_channels(home).values()) == [1] * len(titles)
    finally:
        slow.down()


def test_a_daemon_and_daemon_once_racing_deliver_each_reminder_once(tmp_path: Path, fault_report):
    slow = Receiver(delay=0.02)
    try:
        home = tmp_path / "home"
        configure(home, ("phone", slow, ""))
        titles = owe_thanks(home / "log", names(12))
        daemon, once = launch(home), launch(home, "--once")
        _, once_stderr = once.communicate(timeout=30)
        assert once.returncode == 0, once_stderr
        observed = settle(slow, len(titles))
        stop(daemon)
        figures = fault_report.count(
            "daemon and daemon --once racing", titles, observed, "12 due reminders"
        )
        assert figures.lost == 0 and figures.duplicated == 0, Counter(observed).most_common(3)
    finally:
        slow.down()


# --- the ledger cannot be written ---------------------------------------------------------


def test_daemon_whose_log_writes_fail_on_a_file_size_limit_keeps_running_and_records_later(
    tmp_path: Path, receiver: Receiver, fault_report
):
    home = tmp_path / "home"
    configure(home, ("phone", receiver, ""))
    make_device(home)
    titles = owe_thanks(home / "log", names(5))
    process, sockets = ready(home, speed=60, limit_file_size=True)
    receiver.wait_for(len(titles))
    time.sleep(1.5)  # 90 s on its clock: three retries of the ledger, none delivers again
    assert process.poll() is None, stop(process)  # still running
    delivered_while_broken = receiver.titles()
    assert ledger(home) == []  # nothing could be recorded
    assert any("cannot write the log (File too large" in text for text in sockets.collect())
    resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
    assert wait_until(lambda: len(recorded_channels(home)) == len(titles))
    stderr = stop(process)
    figures = fault_report.count(
        "ledger unwritable (RLIMIT_FSIZE), then writable",
        titles,
        receiver.titles(),
        "5 delivered while no byte could be written",
    )
    assert figures.lost == 0 and figures.duplicated == 0
    assert delivered_while_broken == receiver.titles()
    assert stderr.count("cannot record deliveries in the log (File too large") == 1
    assert "recorded 5 deliveries that were waiting" in stderr
    assert all(len(c) == 1 for c in recorded_channels(home).values())


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs, mounted for the test (root only), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Fill the file system holding ``folder``; return the file to delete to free it."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as file:
        try:
            while True:
                file.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def test_daemon_with_log_on_a_full_disk_keeps_what_it_delivered_across_a_restart(
    tmp_path: Path, receiver: Receiver, full_disk: Path, fault_report
):
    home = tmp_path / "home"
    configure(home, ("phone", receiver, ""))
    make_device(home)
    shutil.rmtree(home / "log")  # this device's segment is made on the full disk (no page)
    (full_disk / "log").mkdir()
    (home / "log").symlink_to(full_disk / "log")  # log/ in a synced folder elsewhere
    titles = owe_thanks(home / "log", names(5))
    filler = fill(full_disk)
    process, _ = ready(home, speed=60)
    receiver.wait_for(len(titles))
    time.sleep(1.0)
    assert process.poll() is None, stop(process)
    stderr = stop(process)
    assert "No space left on device" in stderr
    assert (home / "unrecorded.jsonl").exists()
    assert ledger(home) == []
    again, _ = ready(home, speed=60)  # restarted while the disk is still full
    time.sleep(1.0)
    once = run_coffeechat(home, "daemon", "--once", now=None)
    assert once.status == 1 and "not recorded in the log yet" in once.stderr
    delivered_while_full = receiver.titles()
    filler.unlink()
    assert wait_until(lambda: len(recorded_channels(home)) == len(titles))
    stop(again)
    figures = fault_report.count(
        "ledger on a full disk, restarted while full, then freed",
        titles,
        receiver.titles(),
        "5 delivered; 1 restart and 1 --once while full",
    )
    assert figures.lost == 0 and figures.duplicated == 0
    assert delivered_while_full == receiver.titles()
    assert not (home / "unrecorded.jsonl").exists()
    assert all(len(c) == 1 for c in recorded_channels(home).values())


# --- a channel that answers too late ------------------------------------------------------


def test_channel_answering_too_late_is_tried_three_times_and_never_holds_up_the_other(
    tmp_path: Path, receiver: Receiver, fault_report
):
    late = Receiver(delay=1.0)  # takes every post, answers after Apprise stopped waiting
    try:
        home = tmp_path / "home"
        configure(home, ("phone", receiver, ""), (LATE_CHANNEL, late, "cto=1&rto=0.5"))
        titles = owe_thanks(home / "log", names(2))
        process, _ = ready(home, speed=60)
        assert wait_until(lambda: len(late.titles()) >= 3 * len(titles), timeout=20)
        time.sleep(0.8)  # 48 s on its clock: a fourth try would have come by now
        stderr = stop(process)
        healthy = receiver.posts
        assert len(late.posts) == 3 * len(titles)
        # The healthy channel had everything before the late one was tried a second time.
        second_late_post = sorted(post["received"] for post in late.posts)[1]
        assert max(post["received"] for post in healthy) < second_late_post
        assert Counter(late.titles()) == Counter(titles * 3)
        unknown = Counter(
            entry["reminder"] for entry in ledger(home) for c in entry.get("unknown", [])
        )
        assert sorted(unknown.values()) == [3] * len(titles)
        assert "left as unknown" in stderr
        agenda = run_coffeechat(home, "agenda", "--json", now=None).json()
        left = {r["id"]: r["unknown"] for r in agenda["reminders"] if r["unknown"]}
        assert left == {rid: [LATE_CHANNEL] for rid in unknown}
        shown = run_coffeechat(home, "agenda", now=None).stdout
        assert "delivery unknown" in shown and all(rid in shown for rid in left)
        doctor = run_coffeechat(home, "doctor", now=None)
        assert "FAIL deliveries: 2 left unknown" in doctor.stdout
        restarted, _ = ready(home, speed=60)
        time.sleep(0.6)
        stop(restarted)
        assert len(late.posts) == 3 * len(titles)  # never tried again without the user's word
        figures = fault_report.count(
            "channel answering too late beside a healthy one",
            titles + [f"unknown {rid}" for rid in unknown],
            receiver.titles() + [f"unknown {rid}" for rid in left],
            "healthy: each once; late: 3 tries each, then left unknown",
        )
        assert figures.lost == 0 and figures.duplicated == 0
        # The user's word: snoozed, it is a new delivery (sent again, three fresh tries).
        target = next(iter(left))
        snoozed = run_coffeechat(home, "snooze", target, "1m", now=None)
        assert snoozed.status == 0, snoozed.stderr
        agenda = run_coffeechat(home, "agenda", "--json", now=None).json()
        assert [r["unknown"] for r in agenda["reminders"] if r["id"] == target] == [[]]
    finally:
        late.down()


# --- the home deleted and made again -------------------------------------------------------


def test_daemon_whose_home_is_deleted_and_made_again_delivers_from_the_new_one(
    tmp_path: Path, receiver: Receiver, fault_report
):
    home = tmp_path / "home"
    configure(home, ("phone", receiver, ""))
    owe_thanks(home / "log", names(1, "Before"))
    process, _ = ready(home)
    receiver.wait_for(1)
    home.rename(tmp_path / "deleted")  # gone at once, as `rm -rf` leaves it in the end
    shutil.rmtree(tmp_path / "deleted", ignore_errors=True)
    time.sleep(0.3)  # the daemon notices the home is gone
    configure(home, ("phone", receiver, ""))
    titles = owe_thanks(home / "log", names(3, "After"))
    observed = settle(receiver, 1 + len(titles))[1:]
    alive = process.poll() is None
    stderr = stop(process)
    assert alive, stderr
    assert "is gone" in stderr and "was replaced" in stderr
    figures = fault_report.count(
        "home deleted and made again under the daemon", titles, observed, "3 due after"
    )
    assert figures.lost == 0 and figures.duplicated == 0
    after = [e["reminder"] for e in ledger(home) if e["occurrence"] and e.get("channels")]
    assert len(after) >= len(titles) and len(set(after)) == len(after)  # each recorded once


# --- a schedule that never fires ----------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        ("every", "0 0 30 2 *", "on the 30th of February"),
        ("add", "Ada Lovelace", "--cadence", "0 0 31 4 *"),
    ],
)
def test_cron_that_never_fires_is_refused_at_input(tmp_path: Path, arguments: tuple[str, ...]):
    home = tmp_path / "home"
    result = run_coffeechat(home, *arguments)
    assert result.status == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "never fires" in result.stderr
    assert not (home / "log").exists() or not any((home / "log").iterdir())


def test_cron_on_the_29th_of_february_is_accepted(tmp_path: Path):
    result = run_coffeechat(tmp_path / "home", "every", "0 0 29 2 *", "leap day")
    assert result.status == 0, result.stderr


def test_schedule_that_never_fires_in_the_log_costs_only_its_own_reminder(
    tmp_path: Path, receiver: Receiver, fault_report
):
    """Recorded by an older version (or another device): every other recurring and
    keep-in-touch reminder is still delivered."""
    home = tmp_path / "home"
    configure(home, ("phone", receiver, ""))

    def build(stamp: Stamp, now: datetime) -> list[m.Event]:
        events: list[m.Event] = []
        for handle, cadence in (("ada", None), ("grace", "30d"), ("bad", "0 0 31 4 *")):
            added = now - timedelta(days=200)
            events.append(
                stamp(m.ContactAdded, added, contact=handle, name=handle.title(), cadence=cadence)
            )
            events.append(stamp(m.MeetingHeld, now - timedelta(days=100), contact=handle))
            events.append(stamp(m.ThanksSent, now - timedelta(days=99), contact=handle))
        since = now - timedelta(days=2)
        events.append(stamp(m.RecurringAdded, since, cron="0 0 30 2 *", text="never"))
        events.append(
            stamp(m.RecurringAdded, since, cron="0 0 31 4 *", text="never", contact="ada")
        )
        events.append(stamp(m.RecurringAdded, since, cron="0 9 * * *", text="Water the plants"))
        return events

    thursday_afternoon = datetime(2026, 11, 26, 14, 30, tzinfo=PARIS)  # not in quiet hours
    write_past(home / "log", build, thursday_afternoon)
    result = run_coffeechat(home, "daemon", "--once", now=thursday_afternoon.isoformat())
    assert result.status == 0, result.stderr
    expected = ["Stay in touch · Ada", "Stay in touch · Grace", "Reminder"]
    observed = receiver.titles()
    figures = fault_report.count(
        "schedules that never fire, in the log", expected, observed, "3 bad, 3 good"
    )
    assert figures.lost == 0 and figures.duplicated == 0
    assert "for bad's cadence" in result.stderr and "for every '0 0 30 2 *'" in result.stderr
    agenda = run_coffeechat(home, "agenda", now=thursday_afternoon.isoformat())
    assert agenda.status == 0 and "never exists" in agenda.stderr
    assert "Water the plants" in agenda.stdout


def test_sigterm_is_clean_with_a_notification_in_flight(tmp_path: Path):
    """SIGTERM waits for the notification in flight, records it, exits 0."""
    slow = Receiver(delay=0.8)
    try:
        home = tmp_path / "home"
        configure(home, ("phone", slow, ""))
        titles = owe_thanks(home / "log", names(3))
        process, _ = ready(home)
        # The channels are built after READY, then the first is sent: wait until it is.
        assert slow.began.wait(timeout=20), "no notification was sent"
        process.send_signal(signal.SIGTERM)  # the receiver holds it 0.8 s: in flight
        process.communicate(timeout=15)
        assert process.returncode == 0
        assert len(recorded_channels(home)) == len(slow.titles()) >= 1
        assert set(slow.titles()) <= set(titles)
    finally:
        slow.down()
