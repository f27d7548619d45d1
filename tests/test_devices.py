"""Several devices: the order the fold applies their events in, and what a segment is.

Events are written by real ``EventLog`` appends (or the real command line), read back by
the real readers. Only the clock is chosen: each device gets its own, as machines whose
clocks disagree would have. The fault suite (tests/faults/test_devices.py) runs the
same situations as whole journeys on several homes synced file by file.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from conftest import run_coffeechat

from coffeechat.events import model as m
from coffeechat.events.clock import micros
from coffeechat.events.decisions import Stamp, as_one_batch, undo
from coffeechat.events.errors import UserError
from coffeechat.events.log import (
    EventLog,
    check,
    iter_segment_events,
    merge_segments,
    read_segments,
    scan_log,
    segment_paths,
)
from coffeechat.events.projection import State, replay
from coffeechat.events.snapshot import SNAPSHOT_NAME, load_state
from coffeechat.events.stages import stage_of

T = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
LAPTOP, PHONE = "laptop-a1b2c3", "phone-d4e5f6"


def notes(stamp: Stamp, count: int) -> list[m.Event]:
    return [stamp(m.NoteAdded, contact="ada", text=f"note {n}") for n in range(count)]


def fold(folder: Path) -> State:
    """Return a full replay of a log folder."""
    return replay(read_segments(folder), [])


def legacy(event: m.Event) -> m.Event:
    """Return the event as a coffeechat from before the hybrid clock wrote it (no ``hlc``)."""
    return msgspec.structs.replace(event, hlc=0)


# --- the order of the fold ---------------------------------------------------------------


def test_stamp_behind_a_clock_it_has_seen_sorts_after_it_and_keeps_its_own_recorded() -> None:
    seen = micros(T)
    stamp = Stamp(T - timedelta(seconds=30), PHONE, PARIS, after=seen)

    first = stamp(m.OutreachSent, contact="ada")
    second = stamp(m.NoteAdded, contact="ada", text="hi")

    assert first.recorded == T - timedelta(seconds=30)  # what users are shown
    assert seen < first.hlc < second.hlc
    assert m.order_key(first) == first.hlc


def test_stamp_whose_clock_is_ahead_uses_it() -> None:
    stamp = Stamp(T, LAPTOP, PARIS, after=micros(T - timedelta(days=1)))
    assert stamp(m.NoteAdded, contact="ada", text="hi").hlc == micros(T)


def test_events_without_hlc_sort_by_recorded_and_segment_name_as_they_always_did(
    tmp_path: Path,
) -> None:
    # Written by an older coffeechat: the default must give exactly the old order.
    early = legacy(Stamp(T, PHONE, PARIS)(m.NoteAdded, contact="ada", text="phone, 10:00"))
    late = legacy(
        Stamp(T + timedelta(seconds=1), LAPTOP, PARIS)(m.NoteAdded, contact="ada", text="l")
    )
    tie = legacy(Stamp(T, LAPTOP, PARIS)(m.NoteAdded, contact="ada", text="laptop, 10:00"))
    EventLog(tmp_path, PHONE).append([early])
    EventLog(tmp_path, LAPTOP).append([tie, late])
    assert b'"hlc"' not in (tmp_path / f"{LAPTOP}.jsonl").read_bytes()

    merged = list(merge_segments([iter_segment_events(s, []) for s in read_segments(tmp_path)]))

    # 10:00 from the laptop (its name sorts first), 10:00 from the phone, then 10:00:01.
    assert [event.id for event in merged] == [tie.id, early.id, late.id]
    assert fold(tmp_path).last_hlc == micros(late.recorded)


def test_an_old_segment_read_alone_remembers_its_latest_recorded_as_the_clock(
    tmp_path: Path,
) -> None:
    stamps = [Stamp(T + timedelta(seconds=n), LAPTOP, PARIS) for n in (0, 2, 1)]
    EventLog(tmp_path, LAPTOP).append(
        [legacy(stamp(m.NoteAdded, contact="ada", text="old")) for stamp in stamps]
    )

    assert fold(tmp_path).last_hlc == micros(T + timedelta(seconds=2))


def test_outreach_from_a_device_30_seconds_behind_folds_after_the_contact_it_saw(
    tmp_path: Path,
) -> None:
    laptop, phone = EventLog(tmp_path, LAPTOP), EventLog(tmp_path, PHONE)
    added = Stamp(T, LAPTOP, PARIS)(m.ContactAdded, contact="ada", name="Ada")
    laptop.append([added])
    seen = fold(tmp_path)  # the phone has synced the laptop's segment
    stamp = Stamp(T - timedelta(seconds=30), PHONE, PARIS, after=seen.last_hlc)
    phone.append([stamp(m.OutreachSent, contact="ada")])
    phone.append([stamp(m.NoteAdded, contact="ada", text="hi")])

    state = fold(tmp_path)

    ada = state.contacts["ada"]
    assert stage_of(ada, T) == "reached"
    assert ada.notes == 1
    assert len(ada.outreaches) == 1
    assert state.pending == {}


def test_an_old_log_whose_outreach_sorts_before_its_contact_still_folds_it(
    tmp_path: Path,
) -> None:
    # Written before the hybrid clock by a phone 30 s behind: the outreach's recorded is
    # earlier than the contact's. It waits for the contact instead of being dropped.
    EventLog(tmp_path, LAPTOP).append(
        [legacy(Stamp(T, LAPTOP, PARIS)(m.ContactAdded, contact="ada", name="Ada"))]
    )
    behind = Stamp(T - timedelta(seconds=30), PHONE, PARIS)
    EventLog(tmp_path, PHONE).append(
        [
            legacy(behind(m.OutreachSent, contact="ada")),
            legacy(behind(m.ContactUpdated, contact="ada", role="Engineer")),
            legacy(behind(m.NoteAdded, contact="ada", text="hi")),
        ]
    )

    ada = fold(tmp_path).contacts["ada"]

    assert stage_of(ada, T) == "reached"
    assert (ada.notes, ada.role, len(ada.outreaches)) == (1, "Engineer", 1)


def test_an_introduction_whose_introducer_is_added_later_still_links_them(tmp_path: Path) -> None:
    behind = Stamp(T - timedelta(minutes=5), PHONE, PARIS)
    EventLog(tmp_path, PHONE).append(
        [legacy(behind(m.ContactAdded, contact="grace", name="Grace", via="ada"))]
    )
    EventLog(tmp_path, LAPTOP).append(
        [legacy(Stamp(T, LAPTOP, PARIS)(m.ContactAdded, contact="ada", name="Ada"))]
    )

    state = fold(tmp_path)

    assert state.contacts["ada"].introduced == ["grace"]
    assert state.pending == {}


def test_waiting_events_survive_the_snapshot_until_their_contact_arrives(tmp_path: Path) -> None:
    log_dir, cache = tmp_path / "log", tmp_path / "cache"
    behind = Stamp(T - timedelta(seconds=30), PHONE, PARIS)
    EventLog(log_dir, PHONE).append([behind(m.OutreachSent, contact="ada")])
    assert "ada" in load_state(log_dir, cache, []).pending
    stored = msgspec.msgpack.decode((cache / SNAPSHOT_NAME).read_bytes())
    assert "ada" in stored["state"]["pending"]  # kept in the cache, not only in memory

    # The laptop's segment (its contact) arrives later, and sorts after the snapshot.
    EventLog(log_dir, LAPTOP).append(
        [Stamp(T, LAPTOP, PARIS)(m.ContactAdded, contact="ada", name="Ada")]
    )
    state = load_state(log_dir, cache, [])

    assert stage_of(state.contacts["ada"], T) == "reached"
    assert state.pending == {}
    assert msgspec.to_builtins(state) == msgspec.to_builtins(fold(log_dir))


def test_an_edit_made_after_syncing_a_device_6_months_ahead_wins(tmp_path: Path) -> None:
    laptop, phone = EventLog(tmp_path, LAPTOP), EventLog(tmp_path, PHONE)
    laptop.append([Stamp(T, LAPTOP, PARIS)(m.ContactAdded, contact="ada", name="Ada")])
    ahead = Stamp(T + timedelta(days=182), PHONE, PARIS, after=fold(tmp_path).last_hlc)
    phone.append([ahead(m.ContactUpdated, contact="ada", role="from the phone")])
    # The laptop syncs the phone's segment, then corrects the role: its clock says earlier.
    later = Stamp(T + timedelta(minutes=5), LAPTOP, PARIS, after=fold(tmp_path).last_hlc)
    laptop.append([later(m.ContactUpdated, contact="ada", role="from the laptop")])

    assert fold(tmp_path).contacts["ada"].role == "from the laptop"


def test_the_state_remembers_the_greatest_clock_folded_through_the_snapshot(
    tmp_path: Path,
) -> None:
    log_dir, cache = tmp_path / "log", tmp_path / "cache"
    ahead = Stamp(T + timedelta(days=182), PHONE, PARIS)
    event = ahead(m.ContactAdded, contact="ada", name="Ada")
    EventLog(log_dir, PHONE).append([event])
    assert load_state(log_dir, cache, []).last_hlc == event.hlc
    EventLog(log_dir, LAPTOP).append(
        [Stamp(T, LAPTOP, PARIS, after=event.hlc)(m.NoteAdded, contact="ada", text="x")]
    )
    assert load_state(log_dir, cache, []).last_hlc == event.hlc + 1


def test_the_same_events_arriving_in_a_new_segment_after_the_snapshot_fold_once(
    tmp_path: Path,
) -> None:
    # A frozen clock: every event has the same recorded, only the hybrid clock orders them.
    log_dir, cache = tmp_path / "log", tmp_path / "cache"
    log = EventLog(log_dir, LAPTOP)
    log.append([Stamp(T, LAPTOP, PARIS)(m.ContactAdded, contact="ada", name="Ada")])
    log.append(notes(Stamp(T, LAPTOP, PARIS, after=micros(T)), 2))
    assert load_state(log_dir, cache, []).contacts["ada"].notes == 2
    shutil.copyfile(log.segment, log_dir / f"{PHONE}.jsonl")  # the same events, again

    state = load_state(log_dir, cache, [])

    assert state.contacts["ada"].notes == 2 and state.events == 3
    assert msgspec.to_builtins(state) == msgspec.to_builtins(fold(log_dir))


def test_an_edit_after_syncing_a_home_whose_clock_is_6_months_ahead_wins(tmp_path: Path) -> None:
    laptop, phone = tmp_path / "laptop", tmp_path / "phone"
    ahead = (T + timedelta(days=182)).isoformat()

    def sync(source: Path, target: Path) -> None:
        for segment in (source / "log").glob("*.jsonl"):
            (target / "log").mkdir(parents=True, exist_ok=True)
            shutil.copy2(segment, target / "log" / segment.name)

    assert run_coffeechat(laptop, "add", "Ada Lovelace", now=T.isoformat()).status == 0
    sync(laptop, phone)
    assert run_coffeechat(phone, "edit", "ada", "--role", "phone", now=ahead).status == 0
    sync(phone, laptop)
    later = (T + timedelta(minutes=5)).isoformat()
    assert run_coffeechat(laptop, "edit", "ada", "--role", "laptop", now=later).status == 0
    sync(laptop, phone)

    for home in (laptop, phone):
        shown = run_coffeechat(home, "--json", "show", "ada", now=later)
        assert shown.status == 0 and shown.json()["role"] == "laptop", home


# --- what a segment is ---------------------------------------------------------------------


def test_conflict_copies_backups_and_quarantines_are_named_and_never_read(tmp_path: Path) -> None:
    log = EventLog(tmp_path, LAPTOP)
    log.append([Stamp(T, LAPTOP, PARIS)(m.ContactAdded, contact="ada", name="Ada")])
    log.append(notes(Stamp(T, LAPTOP, PARIS, after=micros(T)), 3))
    segment = Path(log.segment)
    copies = [
        f"{LAPTOP}.sync-conflict-20261201-100000-ABCDEFG.jsonl",  # Syncthing
        f"{LAPTOP} (conflicted copy 2026-12-01).jsonl",  # Dropbox
        f"{LAPTOP}.jsonl~",  # an editor's backup
        f"{LAPTOP}.jsonl.quarantine",
        "Notes.jsonl",
    ]
    for name in copies:
        shutil.copyfile(segment, tmp_path / name)
    (tmp_path / ".stfolder").mkdir()  # Syncthing's marker: not ours to judge, left alone
    (tmp_path / f".{LAPTOP}.jsonl.repair").write_bytes(b"")  # fsck's own temporary file

    segments, problems = scan_log(tmp_path)
    state = fold(tmp_path)

    assert segments == [str(segment)]
    assert state.events == 4 and state.contacts["ada"].notes == 3  # nothing counted twice
    assert sorted(Path(p.path).name for p in problems) == sorted(copies)
    assert {p.kind for p in problems} == {"stray"} and not any(p.is_damage for p in problems)
    syncthing = next(p for p in problems if "sync-conflict" in p.path)
    assert syncthing.describe() == (
        f"{tmp_path / copies[0]}: not a segment (a sync tool's conflict copy?): not read; "
        f"compare it with {LAPTOP}.jsonl, keep what only it holds, and delete it"
    )
    assert check(tmp_path) == problems  # fsck names them too (and finds no damage)


def test_the_same_event_in_two_segments_folds_once(tmp_path: Path) -> None:
    log = EventLog(tmp_path, LAPTOP)
    log.append([Stamp(T, LAPTOP, PARIS)(m.ContactAdded, contact="ada", name="Ada")])
    log.append(notes(Stamp(T, LAPTOP, PARIS, after=micros(T)), 3))
    # A copy under a name that is a segment's (renamed by hand, or by a sync tool).
    shutil.copyfile(log.segment, tmp_path / f"{PHONE}.jsonl")

    state = fold(tmp_path)
    merged = list(merge_segments([iter_segment_events(s, []) for s in read_segments(tmp_path)]))

    assert state.events == 4 and state.contacts["ada"].notes == 3
    assert len(merged) == len({event.id for event in merged}) == 4


def test_a_link_inside_log_is_named_and_never_read(tmp_path: Path) -> None:
    log_dir, elsewhere = tmp_path / "log", tmp_path / "elsewhere"
    EventLog(elsewhere, PHONE).append(
        [Stamp(T, PHONE, PARIS)(m.ContactAdded, contact="ada", name="Ada")]
    )
    log_dir.mkdir()
    (log_dir / f"{PHONE}.jsonl").symlink_to(elsewhere / f"{PHONE}.jsonl")

    segments, problems = scan_log(log_dir)

    assert segments == [] and fold(log_dir).contacts == {}
    assert [(Path(p.path).name, p.kind) for p in problems] == [(f"{PHONE}.jsonl", "stray")]
    assert "symbolic link: not read" in problems[0].describe()


def test_a_folder_named_like_a_segment_is_unreadable_damage(tmp_path: Path) -> None:
    EventLog(tmp_path, LAPTOP).append(
        [Stamp(T, LAPTOP, PARIS)(m.ContactAdded, contact="ada", name="Ada")]
    )
    (tmp_path / f"{PHONE}.jsonl").mkdir()

    problems = check(tmp_path)

    assert [(Path(p.path).name, p.kind, p.is_damage) for p in problems] == [
        (f"{PHONE}.jsonl", "unreadable", True)
    ]
    assert segment_paths(tmp_path) == [str(tmp_path / f"{LAPTOP}.jsonl")]
    assert "ada" in fold(tmp_path).contacts


# --- the command line ----------------------------------------------------------------------

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="runs a child as nobody"
)


def world_readable_home(tmp_path: Path) -> Path:
    """A folder other users can reach (pytest's own is private to root)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="coffeechat-devices-", dir="/tmp"))
    folder.chmod(0o755)
    return folder / "home"


def as_nobody(home: Path, *arguments: str) -> tuple[int, str, str]:
    import subprocess

    from conftest import COMMAND, DEFAULT_NOW

    environment = {k: v for k, v in os.environ.items() if not k.startswith("COFFEECHAT_")}
    environment.update(TZ="Europe/Paris", COFFEECHAT_NOW=DEFAULT_NOW, HOME=str(home.parent))
    done = subprocess.run(
        [*NOBODY, COMMAND, "--home", str(home), *arguments],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=60,
    )
    return done.returncode, done.stdout, done.stderr


def two_device_home(home: Path) -> Path:
    """A home with Ada from this device and Grace from another's segment; return that one."""
    assert run_coffeechat(home, "add", "Ada Lovelace").status == 0
    EventLog(home / "log", PHONE).append(
        [Stamp(T, PHONE, PARIS)(m.ContactAdded, contact="grace-hopper", name="Grace Hopper")]
    )
    return home / "log" / f"{PHONE}.jsonl"


@needs_root
def test_a_segment_this_user_cannot_read_is_named_the_rest_loads_and_fsck_exits_3(
    tmp_path: Path,
) -> None:
    home = world_readable_home(tmp_path)
    try:
        other = two_device_home(home)
        shutil.rmtree(home / "cache", ignore_errors=True)
        os.chown(home.parent, 65534, 65534)
        for folder, _, files in os.walk(home):
            os.chown(folder, 65534, 65534)
            for name in files:
                os.chown(os.path.join(folder, name), 65534, 65534)
        os.chown(other, 0, 0)  # root's, 0600: nobody cannot read it

        status, out, err = as_nobody(home, "--json", "ls")
        assert status == 0, err
        assert [row["handle"] for row in msgspec.json.decode(out)] == ["ada-lovelace"]
        assert err == (
            f"warning: {other}: cannot be read (Permission denied): its events are left out; "
            "give your user read access to it\n"
        )

        status, out, err = as_nobody(home, "fsck")
        assert status == 3 and f"{other}: cannot be read (Permission denied)" in out

        os.chmod(home / "log", 0o300)  # the folder itself cannot be listed
        status, out, err = as_nobody(home, "ls")
        assert status == 3 and "cannot read the log" in err and "Traceback" not in err
    finally:
        shutil.rmtree(home.parent, ignore_errors=True)


def test_a_folder_where_a_segment_should_be_is_named_and_fsck_exits_3(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_coffeechat(home, "add", "Ada Lovelace").status == 0
    (home / "log" / f"{PHONE}.jsonl").mkdir()

    listed = run_coffeechat(home, "ls")
    checked = run_coffeechat(home, "fsck")

    assert listed.status == 0 and "Ada Lovelace" in listed.stdout
    assert listed.stderr.count(f"{PHONE}.jsonl") == 1
    assert checked.status == 3 and f"{PHONE}.jsonl: not a regular file" in checked.stdout


def test_a_conflict_copy_is_named_once_per_command_and_nothing_counts_twice(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_coffeechat(home, "add", "Ada Lovelace").status == 0
    assert run_coffeechat(home, "note", "ada", "tea").status == 0
    own = next((home / "log").glob("*.jsonl"))
    copy = own.with_name(own.stem + ".sync-conflict-20261201-100000-ABCDEFG.jsonl")
    shutil.copyfile(own, copy)

    logged = run_coffeechat(home, "--json", "log")
    noted = run_coffeechat(home, "note", "ada", "coffee")
    checked = run_coffeechat(home, "fsck")

    assert len(logged.json()) == 2
    for result in (logged, noted):
        assert result.status == 0
        assert result.stderr.count(copy.name) == 1, result.stderr
    assert checked.status == 0 and checked.stdout.count(copy.name) == 1
    assert f"compare it with {own.name}" in checked.stdout


def test_log_folder_may_itself_be_a_link_into_a_sync_folder(tmp_path: Path) -> None:
    home, synced = tmp_path / "home", tmp_path / "Sync" / "coffeechat-log"
    synced.mkdir(parents=True)
    home.mkdir()
    (home / "log").symlink_to(synced)

    assert run_coffeechat(home, "add", "Ada Lovelace").status == 0
    listed = run_coffeechat(home, "--json", "ls")
    checked = run_coffeechat(home, "fsck")

    assert [row["handle"] for row in listed.json()] == ["ada-lovelace"] and listed.stderr == ""
    assert len(list(synced.glob("*.jsonl"))) == 1 and checked.status == 0


def test_fsck_repair_never_copies_a_links_target(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    assert run_coffeechat(home, "add", "Ada Lovelace").status == 0
    elsewhere.mkdir()
    target = elsewhere / "notes.jsonl"
    target.write_bytes(b'{"not": "an event"}\nsecret\n')
    link = home / "log" / f"{PHONE}.jsonl"
    link.symlink_to(target)

    repaired = run_coffeechat(home, "fsck", "--repair")

    assert repaired.status == 0, repaired.stdout + repaired.stderr
    assert link.is_symlink() and target.read_bytes() == b'{"not": "an event"}\nsecret\n'
    assert sorted(os.listdir(elsewhere)) == ["notes.jsonl"]
    assert not (home / "log" / f"{PHONE}.jsonl.quarantine").exists()
    assert f"{link}: a symbolic link: not read" in repaired.stdout


def test_recording_never_writes_through_a_link_in_place_of_its_segment(tmp_path: Path) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    assert run_coffeechat(home, "add", "Ada Lovelace").status == 0
    own = next((home / "log").glob("*.jsonl"))
    elsewhere.mkdir()
    moved = elsewhere / own.name
    shutil.move(own, moved)
    own.symlink_to(moved)
    before = moved.read_bytes()

    result = run_coffeechat(home, "add", "Grace Hopper")

    assert result.status == 3 and "symbolic link" in result.stderr
    assert "Traceback" not in result.stderr and moved.read_bytes() == before


# --- a copied home -------------------------------------------------------------------------


def device_of(home: Path) -> str:
    return (home / "device").read_text().strip()


def test_a_byte_copy_of_a_home_moves_to_a_new_device_id_before_its_first_write(
    tmp_path: Path,
) -> None:
    original, copy = tmp_path / "original", tmp_path / "copy"
    assert run_coffeechat(original, "add", "Ada Lovelace").status == 0
    shutil.copytree(original, copy, symlinks=True)
    old = device_of(original)

    noted = run_coffeechat(copy, "--json", "note", "ada", "from the copy")
    again = run_coffeechat(copy, "note", "ada", "again")
    here = run_coffeechat(original, "note", "ada", "from the original")

    new = device_of(copy)
    assert new != old and device_of(original) == old
    assert noted.json()[0]["device"] == new
    assert noted.stderr.count("warning: this home was copied") == 1 and old in noted.stderr
    assert again.stderr == "" and here.stderr == ""
    assert (copy / "log" / f"{old}.jsonl").read_bytes() == (
        original / "log" / f"{old}.jsonl"
    ).read_bytes().splitlines(keepends=True)[0]  # the copy never wrote the old segment
    assert len((copy / "log" / f"{new}.jsonl").read_text().splitlines()) == 2


def test_a_home_from_before_fingerprints_adopts_one_silently(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_coffeechat(home, "add", "Ada Lovelace").status == 0
    device = device_of(home)
    (home / "device.fingerprint").unlink()

    noted = run_coffeechat(home, "note", "ada", "hi")

    assert noted.status == 0 and noted.stderr == ""
    assert device_of(home) == device and (home / "device.fingerprint").exists()
    assert (home / "device").read_text() == device + "\n"  # the id alone, as ever


def test_a_device_file_without_a_valid_id_gets_a_new_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run_coffeechat(home, "add", "Ada Lovelace").status == 0
    (home / "device").write_text("My Laptop!\n")

    noted = run_coffeechat(home, "--json", "note", "ada", "hi")

    assert noted.status == 0 and "did not hold a valid device id" in noted.stderr
    assert noted.json()[0]["device"] == device_of(home) != "My Laptop!"
    assert run_coffeechat(home, "--json", "show", "ada").json()["handle"] == "ada-lovelace"


# --- undo ----------------------------------------------------------------------------------


def test_undo_takes_back_this_devices_last_command_not_a_later_one_from_another(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    assert run_coffeechat(home, "add", "Ada Lovelace").status == 0
    mine = run_coffeechat(home, "--json", "note", "ada", "mine").json()
    # Another device's note arrives by sync, recorded after mine.
    theirs = Stamp(T, PHONE, PARIS, after=mine[0]["hlc"])(
        m.NoteAdded, contact="ada-lovelace", text="theirs"
    )
    EventLog(home / "log", PHONE).append([theirs])

    undone = run_coffeechat(home, "--json", "undo")

    assert undone.status == 0, undone.stderr
    assert [event["target"] for event in undone.json()] == [mine[0]["id"]]


def test_undo_decides_on_this_devices_last_batch_whatever_came_after_it() -> None:
    mine = as_one_batch(notes(Stamp(T, LAPTOP, PARIS), 2))
    theirs = Stamp(T, PHONE, PARIS, after=mine[-1].hlc)(m.NoteAdded, contact="ada", text="x")
    undo_stamp = Stamp(T, LAPTOP, PARIS, after=theirs.hlc)

    decision = undo([*mine, theirs], set(), undo_stamp, None, device=LAPTOP)
    with pytest.raises(UserError, match="nothing to undo on this device"):
        undo([theirs], set(), undo_stamp, None, device=LAPTOP)

    assert [event.target for event in decision.events] == [e.id for e in mine]  # type: ignore[attr-defined]
    assert (
        undo([*mine, theirs], set(), undo_stamp, theirs.id, device=LAPTOP).events[0].target
        == theirs.id
    )  # type: ignore[attr-defined]


def test_undo_with_only_other_devices_commands_has_nothing_to_undo(tmp_path: Path) -> None:
    home = tmp_path / "home"
    EventLog(home / "log", PHONE).append(
        [Stamp(T, PHONE, PARIS)(m.ContactAdded, contact="ada", name="Ada")]
    )

    undone = run_coffeechat(home, "undo")

    assert undone.status == 2 and "nothing to undo on this device" in undone.stderr
    assert sorted(os.listdir(home / "log")) == [f"{PHONE}.jsonl"]


def test_daemon_on_a_copied_home_moves_to_a_new_device_id_and_says_so(tmp_path: Path):
    original, copy = tmp_path / "original", tmp_path / "copy"
    assert run_coffeechat(original, "add", "Ada Lovelace").status == 0
    shutil.copytree(original, copy)
    ran = run_coffeechat(copy, "daemon", "--once")
    assert ran.status == 0, ran.stderr
    first = (original / "device").read_text().strip()
    moved = (copy / "device").read_text().strip()
    assert moved != first
    assert first in ran.stderr and moved in ran.stderr  # the warning names both ids
