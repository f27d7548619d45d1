"""The snapshot is never trusted over the log.

Hypothesis writes a log of two devices' segments through the snapshot (commands that
append and fold their own events, a writer that only appends, a long-running reader
that refreshes from memory), then changes one segment behind the snapshot's back the
ways a user, an editor or a sync tool can: a same-length edit, a line inserted in place
(valid or not), a truncation, a deletion, a longer copy written over it, two
replacements by rename (which may bring the inode back), or an honest append. At once
(in the clock tick of the last write, where a file's times alone cannot tell), a load
through the snapshot, a lazy one and the long-running reader's refresh must each give
exactly a full replay's state and warnings, every warning naming the real line. When
nothing changed, the snapshot's route is the one taken.

Each test runs on this machine's disk and on a ramfs, whose file times come from the
kernel's coarse clock and keep their value for a whole tick (a few milliseconds) however
many writes it sees: there, as on any Linux before 6.13 (and on filesystems without
multigrain times), only the CRC and the writer's mark tell a same-tick edit.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.log import EventLog, LogProblem, read_segments, segment_paths
from coffeechat.events.projection import State, replay
from coffeechat.events.snapshot import SNAPSHOT_NAME, CachedProjection, Snapshot

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
HANDLES = ("ada", "bob", "cyd")  # one length, so that a handle can be swapped in place
DEVICES = ("laptop", "phone")
STEP_KINDS = ("note", "email", "reach", "reply", "schedule", "archive")
TAMPERINGS = (
    "nothing",
    "append",
    "same-length edit",
    "same-length garbage",
    "insert valid line",
    "insert bad line",
    "truncate",
    "delete",
    "longer copy over",
    "replace twice by rename",
)


@pytest.fixture(scope="module", params=["disk", "ramfs"])
def base(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A folder to make logs in: on the disk, or on a ramfs mounted for the module."""
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "disk":
        yield folder
        return
    mounted = subprocess.run(
        ["mount", "-t", "ramfs", "-o", "mode=0700", "ramfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a ramfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def canonical(state: State) -> bytes:
    """Encode a state (lazy contacts decoded) so that two states compare exactly."""
    contacts = {handle: state.contacts[handle] for handle in state.contacts}
    fields = {name: getattr(state, name) for name in State.__struct_fields__}
    plain = State(**{**fields, "contacts": contacts})
    return msgspec.json.encode(msgspec.to_builtins(plain, order="sorted"))


def where(problems: list[LogProblem]) -> list[tuple[str, int, str]]:
    return sorted((problem.path, problem.line, problem.kind) for problem in problems)


class Writer:
    """Stamps events in order and appends them, as the command line and the daemon do."""

    def __init__(self, folder: Path, cache: Path) -> None:
        self.folder, self.cache = folder, cache
        self.recorded = START
        self.count = 0

    def stamp(self, device: str) -> Stamp:
        self.recorded += timedelta(minutes=3)
        return Stamp(self.recorded, device, PARIS)

    def event(self, device: str, kind: str, handle: str) -> m.Event:
        self.count += 1
        make, at = self.stamp(device), START + timedelta(hours=self.count)
        if kind == "email":
            return make(m.ContactUpdated, at, contact=handle, email=f"{handle}{self.count:04}@x.io")
        if kind == "reach":
            return make(m.OutreachSent, at, contact=handle, channel="email")
        if kind == "reply":
            return make(m.ReplyReceived, at, contact=handle)
        if kind == "schedule":
            return make(m.MeetingScheduled, at, contact=handle, starts=at + timedelta(days=2))
        if kind == "archive":
            return make(m.ContactArchived, at, contact=handle)
        return make(m.NoteAdded, at, contact=handle, text=f"note {self.count:04}")

    def command(self, device: str, events: list[m.Event]) -> None:
        """A command: load through the snapshot, append, fold its own events, save."""
        projection = CachedProjection(self.folder, self.cache, lazy_contacts=True)
        projection.load([])
        written = EventLog(self.folder, device).append(events)
        assert written is not None
        projection.appended(events, written)


steps = st.lists(
    st.tuples(
        st.sampled_from(DEVICES),
        st.sampled_from(STEP_KINDS),
        st.sampled_from(HANDLES),
        # Events in this batch: a big one takes a mark past the bytes it keeps as they are.
        st.integers(min_value=1, max_value=3) | st.just(20),
        st.sampled_from(("command", "append only", "append and read")),
    ),
    min_size=1,
    max_size=12,
)


def build(
    folder: Path, cache: Path, plan: list[tuple[str, str, str, int, str]]
) -> tuple[Writer, CachedProjection]:
    """Write the plan's batches; return the writer and a long-running reader kept current."""
    writer = Writer(folder, cache)
    adds = [writer.stamp("laptop")(m.ContactAdded, contact=h, name=h.title()) for h in HANDLES]
    writer.command("laptop", adds)
    kept = CachedProjection(folder, cache)
    kept.load([])
    for device, kind, handle, size, how in plan:
        events = [writer.event(device, kind, handle) for _ in range(size)]
        if how == "command":
            writer.command(device, events)
        else:
            EventLog(folder, device).append(events)
            if how == "append and read":
                CachedProjection(folder, cache).load([])
        kept.refresh([])
    return writer, kept


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def tamper(data: st.DataObject, kind: str, folder: Path, writer: Writer) -> tuple[Path | None, str]:
    """Change one segment as ``kind`` says; return it and what was done."""
    paths = [Path(p) for p in segment_paths(folder)]
    path = data.draw(st.sampled_from(paths), label="segment")
    lines = lines_of(path)
    if kind == "nothing":
        return None, kind
    if kind == "append":
        extra = [writer.event(path.stem, "note", data.draw(st.sampled_from(HANDLES)))]
        with open(path, "ab") as file:
            file.write(m.encode_lines(extra))
        return path, kind
    if kind == "delete":
        path.unlink()
        return path, kind
    if kind == "truncate":
        size = data.draw(st.integers(min_value=0, max_value=path.stat().st_size - 1), label="size")
        os.truncate(path, size)
        return path, f"{kind} to {size}"
    if kind == "same-length edit":
        changed = _same_length_edit(data, lines)
        if changed is None:
            return None, "nothing (no line to edit)"
        _write_in_place(path, b"".join(changed))
        return path, kind
    if kind == "same-length garbage":
        index = data.draw(st.integers(min_value=0, max_value=len(lines) - 1), label="line")
        line = lines[index]
        at = data.draw(st.integers(min_value=0, max_value=len(line) - 2), label="at")
        lines[index] = line[:at] + b"\x00" + line[at + 1 :]
        _write_in_place(path, b"".join(lines))
        return path, f"{kind} at line {index + 1}"
    if kind in ("insert valid line", "insert bad line"):
        index = data.draw(st.integers(min_value=0, max_value=len(lines) - 1), label="before")
        if kind == "insert bad line":
            inserted = b'{"type":"note.added","id":\n'
        else:
            handle = data.draw(st.sampled_from(HANDLES))
            inserted = m.encode_lines([writer.event(path.stem, "archive", handle)])
        lines.insert(index, inserted)
        _write_in_place(path, b"".join(lines))
        return path, f"{kind} at line {index + 1}"
    if kind == "longer copy over":
        changed = _same_length_edit(data, lines) or lines
        extra = m.encode_lines([writer.event(path.stem, "reply", "ada")])
        _write_in_place(path, b"".join(changed) + extra)
        return path, kind
    assert kind == "replace twice by rename"
    inode = path.stat().st_ino
    for _ in range(2):
        changed = _same_length_edit(data, lines) or lines
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(b"".join(changed))
        os.replace(temporary, path)
        lines = changed
    reused = "inode reused" if path.stat().st_ino == inode else "new inode"
    return path, f"{kind} ({reused})"


def _same_length_edit(data: st.DataObject, lines: list[bytes]) -> list[bytes] | None:
    """Swap the contact of one event for another of the same length: still a valid line."""
    candidates = [i for i, line in enumerate(lines) if b'"contact":"' in line]
    if not candidates:
        return None
    index = data.draw(st.sampled_from(candidates), label="edited line")
    line = lines[index]
    current = line.split(b'"contact":"', 1)[1][:3]
    other = data.draw(st.sampled_from([h.encode() for h in HANDLES if h.encode() != current]))
    changed = list(lines)
    changed[index] = line.replace(b'"contact":"' + current, b'"contact":"' + other, 1)
    assert len(changed[index]) == len(line)
    return changed


def _write_in_place(path: Path, content: bytes) -> None:
    """Write over the file itself (same inode), as an editor saving in place does."""
    with open(path, "r+b") as file:
        file.write(content)
        file.truncate()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps, st.sampled_from(TAMPERINGS), st.data())
def test_any_change_to_a_segment_then_a_cached_read_equals_a_full_replay(base, plan, kind, data):
    with tempfile.TemporaryDirectory(dir=base) as directory:
        folder, cache = Path(directory) / "log", Path(directory) / "cache"
        writer, kept = build(folder, cache, plan)

        changed, what = tamper(data, kind, folder, writer)

        replayed_problems: list[LogProblem] = []
        replayed = canonical(replay(read_segments(folder), replayed_problems))
        for lazy in (False, True):
            problems: list[LogProblem] = []
            projection = CachedProjection(folder, cache, lazy_contacts=lazy)
            assert canonical(projection.load(problems)) == replayed, (what, projection.reason)
            assert where(problems) == where(replayed_problems), what
            if changed is None:
                assert projection.route == "cached", projection.reason
        held: list[LogProblem] = []
        assert canonical(kept.refresh(held)) == replayed, (what, kept.reason)
        assert where(held) == where(replayed_problems), what


def test_when_nothing_changed_the_cached_route_is_taken_with_one_stat_per_segment(base):
    directory = Path(tempfile.mkdtemp(dir=base))
    folder, cache = directory / "log", directory / "cache"
    writer = Writer(folder, cache)
    writer.command("laptop", [writer.stamp("laptop")(m.ContactAdded, contact="ada", name="Ada")])
    for _ in range(3):
        writer.command("laptop", [writer.event("laptop", "note", "ada")])

    projection = CachedProjection(folder, cache)
    state = projection.load([])

    assert (projection.route, projection.reason, projection.checked) == ("cached", "", [])
    assert state.contacts["ada"].notes == 3


def test_a_segment_that_only_grew_is_checked_once_and_read_from_the_mark(base):
    directory = Path(tempfile.mkdtemp(dir=base))
    folder, cache = directory / "log", directory / "cache"
    writer = Writer(folder, cache)
    writer.command("laptop", [writer.stamp("laptop")(m.ContactAdded, contact="ada", name="Ada")])
    EventLog(folder, "laptop").append([writer.event("laptop", "note", "ada")])  # another process

    projection = CachedProjection(folder, cache)
    state = projection.load([])

    assert (projection.route, projection.checked) == ("cached", ["laptop.jsonl"])
    assert state.contacts["ada"].notes == 1


def test_a_snapshot_of_the_old_format_is_rebuilt(base):
    directory = Path(tempfile.mkdtemp(dir=base))
    folder, cache = directory / "log", directory / "cache"
    writer = Writer(folder, cache)
    writer.command("laptop", [writer.stamp("laptop")(m.ContactAdded, contact="ada", name="Ada")])
    snapshot = msgspec.msgpack.decode((cache / SNAPSHOT_NAME).read_bytes(), type=Snapshot)
    # What the first format stored: a mark was the name, inode and offset, nothing else.
    old = msgspec.msgpack.encode(
        {
            "version": snapshot.version,
            "marks": [[mark.name, mark.inode, mark.offset] for mark in snapshot.marks],
            "problems": [],
            "state": snapshot.state,
        }
    )
    (cache / SNAPSHOT_NAME).write_bytes(old)

    projection = CachedProjection(folder, cache)
    projection.load([])

    assert projection.route == "replay"
    assert "format" in projection.reason


def _with_a_long_running_reader(base: Path) -> tuple[Path, Path, Writer, CachedProjection]:
    """A home with 120 events and a reader (the daemon) that holds the state in memory."""
    directory = Path(tempfile.mkdtemp(dir=base))
    folder, cache = directory / "log", directory / "cache"
    writer = Writer(folder, cache)
    writer.command("laptop", [writer.stamp("laptop")(m.ContactAdded, contact="ada", name="Ada")])
    writer.command("laptop", [writer.event("laptop", "note", "ada") for _ in range(120)])
    kept = CachedProjection(folder, cache)
    kept.load([])
    return folder, cache, writer, kept


def test_a_long_running_reader_trusts_another_commands_append_without_reading_old_bytes(base):
    folder, _, writer, kept = _with_a_long_running_reader(base)
    for notes in (122, 123):  # twice: the second time, from the mark it took itself
        writer.command("laptop", [writer.event("laptop", "note", "ada")])
        state = kept.refresh([])
        # The command's own mark (marks.msgpack) vouches for the old bytes: none re-read.
        assert (kept.route, kept.checked) == ("cached", [])
        assert state.contacts["ada"].notes == notes - 1
        assert canonical(state) == canonical(replay(read_segments(folder), []))


def test_a_long_running_reader_is_not_fooled_by_a_mark_written_after_an_edit(base):
    folder, _, writer, kept = _with_a_long_running_reader(base)
    segment = folder / "laptop.jsonl"
    data = segment.read_bytes()
    at = data.index(b"note 0005")
    _write_in_place(segment, data[:at] + b"note 9995" + data[at + 9 :])  # an old line edited
    # A command then appends: it replays (it checks its own mark) and writes new marks,
    # which describe the edited segment truthfully.
    writer.command("laptop", [writer.event("laptop", "note", "ada")])
    state = kept.refresh([])
    assert kept.route == "replay"  # the reader's own bytes no longer match: it replays
    assert canonical(state) == canonical(replay(read_segments(folder), []))
