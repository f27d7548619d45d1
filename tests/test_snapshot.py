"""The snapshot as a recording command loads it: each contact decoded when it is used.

(That any mix of lazy writers, snapshot readers and a long-running reader folds to
the full replay is the hypothesis test in ``test_projection.py``.)
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from conftest import Runner, log_bytes

from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.errors import LogDamaged
from coffeechat.events.log import EventLog, read_segments
from coffeechat.events.projection import Contact, State, replay
from coffeechat.events.snapshot import SNAPSHOT_NAME, CachedProjection, LazyContacts, load_state

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
NAMES = ("ada", "grace", "alan", "edsger", "barbara")


def canonical(state: State) -> bytes:
    contacts = {handle: state.contacts[handle] for handle in state.contacts}
    fields = {name: getattr(state, name) for name in State.__struct_fields__}
    plain = State(**{**fields, "contacts": contacts})
    return msgspec.json.encode(msgspec.to_builtins(plain, order="sorted"))


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """A log of five contacts with a few steps each, and a current snapshot of it."""
    folder, cache = tmp_path / "log", tmp_path / "cache"
    log = EventLog(folder, "laptop")
    for number, handle in enumerate(NAMES):
        stamp = Stamp(START + timedelta(minutes=number), "laptop", PARIS)
        log.append(
            [
                stamp(m.ContactAdded, contact=handle, name=handle.title(), company="Acme"),
                stamp(m.OutreachSent, START, contact=handle, channel="email"),
                stamp(m.NoteAdded, START, contact=handle, text="likes tea"),
            ]
        )
    load_state(folder, cache, [])  # writes the snapshot
    return folder, cache


def lazy_load(folder: Path, cache: Path) -> tuple[CachedProjection, State]:
    projection = CachedProjection(folder, cache, lazy_contacts=True)
    state = projection.load([])
    assert isinstance(state.contacts, LazyContacts)
    return projection, state


def stored(contacts: LazyContacts) -> dict[str, object]:
    """The values as held, without decoding them."""
    return {handle: dict.__getitem__(contacts, handle) for handle in dict.keys(contacts)}


def test_a_lazy_load_decodes_only_the_contacts_used(folders):
    _, state = lazy_load(*folders)
    assert all(isinstance(v, msgspec.Raw) for v in stored(state.contacts).values())  # type: ignore[arg-type]
    ada = state.contacts["ada"]
    assert isinstance(ada, Contact) and ada.name == "Ada" and ada.notes == 1
    held = stored(state.contacts)  # type: ignore[arg-type]
    assert isinstance(held["ada"], Contact)
    assert [h for h, v in held.items() if isinstance(v, msgspec.Raw)] == list(NAMES[1:])
    assert state.contacts.get("grace").company == "Acme"
    assert state.contacts.get("nobody") is None and state.contacts.get("nobody", 1) == 1


def test_a_lazy_load_equals_the_full_load_by_every_way_of_reading(folders):
    folder, cache = folders
    full = load_state(folder, cache, [])
    for read in (
        lambda c: dict(c),
        lambda c: {**c},
        lambda c: c.copy(),
        lambda c: dict(c.items()),
        lambda c: dict(zip(c, c.values(), strict=True)),
        lambda c: {h: c.setdefault(h, None) for h in list(c)},
        lambda c: {h: c.pop(h) for h in list(c)},
    ):
        _, state = lazy_load(folder, cache)
        assert read(state.contacts) == full.contacts
    _, state = lazy_load(folder, cache)
    assert state.contacts == full.contacts  # equality decodes first
    _, state = lazy_load(folder, cache)
    assert "Raw" not in repr(state.contacts)


def test_folding_after_a_lazy_load_and_saving_keeps_the_untouched_contacts(folders):
    folder, cache = folders
    projection, _ = lazy_load(folder, cache)
    event = Stamp(START + timedelta(hours=1), "laptop", PARIS)(
        m.NoteAdded, START, contact="grace", text="second note"
    )
    written = EventLog(folder, "laptop").append([event])
    assert written is not None
    projection.appended([event], written)
    # The snapshot now on disk decodes, fully typed, to exactly a full replay.
    assert canonical(load_state(folder, cache, [])) == canonical(replay(read_segments(folder), []))
    assert load_state(folder, cache, []).contacts["grace"].notes == 2


def test_a_damaged_contact_in_the_cache_removes_it_and_says_so(folders):
    folder, cache = folders
    snapshot = cache / SNAPSHOT_NAME
    data = snapshot.read_bytes()
    # Still well-formed msgpack, but ada's name is no longer a string.
    damaged = data.replace(b"\xa3Ada", b"\x93\x01\x02\x03", 1)
    assert damaged != data and len(damaged) == len(data)
    snapshot.write_bytes(damaged)
    _, state = lazy_load(folder, cache)
    assert state.contacts["grace"].name == "Grace"
    with pytest.raises(LogDamaged, match=r"snapshot cache is damaged.*removed"):
        state.contacts["ada"]
    assert not snapshot.exists()
    assert load_state(folder, cache, []).contacts["ada"].name == "Ada"  # replayed


def test_recording_with_a_damaged_cache_exits_3_appends_nothing_and_recovers(cli: Runner, home):
    assert cli("add", "Ada Lovelace").status == 0
    assert cli("ls").status == 0
    snapshot = home / "cache" / SNAPSHOT_NAME
    data = snapshot.read_bytes()
    snapshot.write_bytes(data.replace(b"\xacAda Lovelace", b"\x9c" + b"\x01" * 12, 1))
    before = log_bytes(home)
    result = cli("note", "ada-lovelace", "likes tea")
    assert result.status == 3, result
    assert result.stderr.count("\n") == 1 and "snapshot cache is damaged" in result.stderr
    assert "Traceback" not in result.stderr
    assert log_bytes(home) == before
    again = cli("note", "ada-lovelace", "likes tea")
    assert again.status == 0, again
    assert "note on Ada Lovelace" in again.stdout


GC_PROBE = """
import atexit, gc, sys
atexit.register(lambda: print("gc", gc.isenabled(), gc.get_freeze_count() > 0))
sys.argv = ["coffeechat", *sys.argv[1:]]
from coffeechat.daemon.console import run
run()
"""


def probe_gc(home: Path, *arguments: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", GC_PROBE, "--home", str(home), *arguments],
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.splitlines()[-1]


def test_the_console_script_keeps_the_collector_off_only_to_record(home: Path):
    # Recording: off from the start to the end; every object frozen before shutdown.
    assert probe_gc(home, "add", "Ada Lovelace") == "gc False True"
    assert probe_gc(home, "note", "ada", "likes tea") == "gc False True"
    # Any other command turns it back on (the daemon runs for months).
    assert probe_gc(home, "ls") == "gc True True"
    assert probe_gc(home, "fsck") == "gc True True"


def test_decoding_a_snapshot_runs_at_most_one_collection_and_leaves_the_collector_on(
    tmp_path: Path,
):
    folder, cache = tmp_path / "log", tmp_path / "cache"
    stamp = Stamp(START, "laptop", PARIS)
    EventLog(folder, "laptop").append(
        [stamp(m.ContactAdded, contact=f"c{number}", name=f"C {number}") for number in range(3000)]
    )
    load_state(folder, cache, [])
    collections: list[str] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(phase)

    import gc

    gc.collect()
    gc.callbacks.append(seen)
    try:
        for lazy in (False, True):
            projection = CachedProjection(folder, cache, lazy_contacts=lazy)
            assert len(projection.load([]).contacts) == 3000
            assert projection.route == "cached"
    finally:
        gc.callbacks.remove(seen)
    # Tens of thousands of objects made: walked once, after (not dozens of times, during).
    assert len(collections) <= 2
    assert gc.isenabled()


def test_a_reading_command_keeps_the_collector_off_the_state_it_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import gc

    from coffeechat.daemon.cli.app import App
    from coffeechat.daemon.cli.reading import state_at

    home = tmp_path / "home"
    stamp = Stamp(START, "laptop", PARIS)
    EventLog(home / "log", "laptop").append([stamp(m.ContactAdded, contact="ada", name="Ada")])
    monkeypatch.setenv("COFFEECHAT_NOW", "2026-11-26T14:30:00+01:00")
    try:
        state, _ = state_at(App(str(home), json=True), None)
        tracked = {id(thing) for thing in gc.get_objects()}
        assert id(state.contacts["ada"]) not in tracked and id(state) not in tracked
    finally:
        gc.unfreeze()
