"""``show``'s timeline through the offsets index is the timeline a scan of the log gives.

Whatever the log went through (several devices, a segment that syncs late or twice,
pending events about a contact not added yet, retractions, renames, torn and damaged
lines, a segment rewritten), :func:`events_about` with the cache folder returns what
it returns without one; and once the index is current it reads only that contact's
lines.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coffeechat.events import model as m
from coffeechat.events import offsets, timeline
from coffeechat.events.decisions import Stamp
from coffeechat.events.log import EventLog, read_segments
from coffeechat.events.offsets import INDEX_NAME, OffsetIndex, StoredIndex
from coffeechat.events.projection import replay
from coffeechat.events.timeline import events_about

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
DEVICES = ("laptop-0a0a0a", "phone-1b1b1b", "tablet-2c2c2c")
HANDLES = ("ada", "grace", "alan", "edsger")


def retracted_in(folder: Path) -> set[str]:
    return replay(read_segments(folder), []).retracted


def assert_index_matches_scan(folder: Path, cache: Path, handles: tuple[str, ...] = HANDLES):
    """Every contact's timeline through the index equals the one a scan gives."""
    retracted = retracted_in(folder)
    for handle in (*handles, "nobody"):
        scanned = events_about(folder, handle, retracted)
        indexed = events_about(folder, handle, retracted, cache)
        assert indexed == scanned, handle


class Writer:
    """Appends events to a log folder as several devices would, each with its own clock."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.minute = 0
        self.ids: list[str] = []

    def append(self, device: str, kinds: list[tuple[str, str, int]], skew: int = 0) -> None:
        """``kinds``: (what, handle, other) for each event; ``skew``: the device's clock
        is that many days behind (its events sort before what is already there)."""
        self.minute += 1
        now = START + timedelta(minutes=self.minute) - timedelta(days=skew)
        stamp = Stamp(now, device, PARIS)
        batch: list[m.Event] = []
        for what, handle, other in kinds:
            at = now - timedelta(hours=other)  # recorded late with --at, in any order
            if what == "add":
                event: m.Event = stamp(m.ContactAdded, at, contact=handle, name=handle.title())
            elif what == "note":
                event = stamp(m.NoteAdded, at, contact=handle, text=f"note {other}")
            elif what == "intro":
                introduced = HANDLES[other % len(HANDLES)]
                event = stamp(m.IntroReceived, at, contact=handle, introduced=introduced)
            elif what == "rename":
                event = stamp(m.ContactUpdated, at, contact=handle, name=f"{handle} {other}")
            elif what == "undo" and self.ids:
                target = self.ids[other % len(self.ids)]
                event = stamp(m.EventRetracted, target=target, contact=handle)
            else:
                event = stamp(m.TouchLogged, at, contact=handle)
            batch.append(event)
        self.ids.extend(event.id for event in batch)
        EventLog(self.folder, device).append(batch)


EVENT = st.tuples(
    st.sampled_from(["add", "note", "intro", "rename", "undo", "touch"]),
    st.sampled_from(HANDLES),
    st.integers(0, 40),
)
STEP = st.one_of(
    st.tuples(st.just("append"), st.sampled_from(DEVICES), st.lists(EVENT, min_size=1, max_size=4)),
    st.tuples(st.just("late"), st.sampled_from(DEVICES), st.lists(EVENT, min_size=1, max_size=6)),
    st.tuples(st.just("check"), st.just(""), st.just([])),
    st.tuples(st.just("torn"), st.sampled_from(DEVICES), st.just([])),
    st.tuples(st.just("damage"), st.sampled_from(DEVICES), st.just([])),
    st.tuples(st.just("rewrite"), st.sampled_from(DEVICES), st.just([])),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=st.lists(STEP, min_size=1, max_size=14), save_every_time=st.booleans())
def test_show_through_the_index_equals_a_scan_of_the_log_whatever_happened(steps, save_every_time):
    saved = offsets.SAVE_AFTER_BYTES
    offsets.SAVE_AFTER_BYTES = 0 if save_every_time else saved
    try:
        with tempfile.TemporaryDirectory() as temporary:
            folder, cache = Path(temporary) / "log", Path(temporary) / "cache"
            folder.mkdir()
            writer = Writer(folder)
            for action, device, kinds in steps:
                segment = folder / f"{device}.jsonl"
                if action == "append":
                    writer.append(device, kinds)
                elif action == "late":  # a device whose clock is behind syncs its segment
                    writer.append(device, kinds, skew=3)
                elif action == "torn" and segment.exists():  # a write cut short
                    with segment.open("ab") as file:
                        file.write(b'{"type":"note.added","id":"01J')
                elif action == "damage" and segment.exists():  # a line garbled by a disk
                    with segment.open("ab") as file:
                        file.write(b'{"type":"note.added", garbage "ada"}\n')
                elif action == "rewrite" and segment.exists():  # fsck --repair, a sync
                    lines = segment.read_bytes().splitlines(keepends=True)
                    segment.write_bytes(b"".join(lines[1:]))
                assert_index_matches_scan(folder, cache)
    finally:
        offsets.SAVE_AFTER_BYTES = saved


@pytest.fixture
def big_log(tmp_path: Path) -> tuple[Path, Path]:
    """A log of 40 contacts and 4,000 events over two devices, and a cache folder."""
    folder, cache = tmp_path / "log", tmp_path / "cache"
    handles = [f"person-{number}" for number in range(40)]
    for device in DEVICES[:2]:
        stamp = Stamp(START, device, PARIS)
        events: list[m.Event] = [
            stamp(m.ContactAdded, contact=handle, name=handle) for handle in handles
        ]
        events += [
            stamp(m.NoteAdded, contact=handles[number % 40], text="x" * (number % 90))
            for number in range(2000 - 40)
        ]
        EventLog(folder, device).append(events)
    return folder, cache


def count_reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the lines ``show`` decodes and the bytes it reads, and forbid a scan."""
    counted = {"lines": 0, "bytes": 0}
    decode, pread = timeline.decode_event, os.pread

    def counting_decode(line: bytes) -> m.Event:
        counted["lines"] += 1
        return decode(line)

    def counting_pread(descriptor: int, length: int, offset: int) -> bytes:
        data = pread(descriptor, length, offset)
        counted["bytes"] += len(data)
        return data

    def no_scan(*arguments: object, **options: object) -> object:
        raise AssertionError("the whole log was read")

    monkeypatch.setattr(timeline, "decode_event", counting_decode)
    monkeypatch.setattr(timeline.os, "pread", counting_pread)
    monkeypatch.setattr(timeline, "read_segments", no_scan)
    monkeypatch.setattr(offsets, "_index_block", no_scan)
    return counted


def test_show_with_a_current_index_reads_only_that_contacts_lines(big_log, monkeypatch):
    folder, cache = big_log
    expected = events_about(folder, "person-7", set())
    assert len(expected) == 2 * 50  # 1 + 49 on each device
    assert events_about(folder, "person-7", set(), cache) == expected  # builds the index
    log_size = sum(path.stat().st_size for path in folder.iterdir())
    counted = count_reads(monkeypatch)
    assert events_about(folder, "person-7", set(), cache) == expected
    assert counted["lines"] == len(expected)
    assert counted["bytes"] <= len(expected) * 1200  # one line's read each, not the log
    assert counted["bytes"] < log_size / 5


def test_show_after_appends_indexes_only_the_new_lines(big_log, monkeypatch):
    folder, cache = big_log
    OffsetIndex(folder, cache).locate("person-7")
    stamp = Stamp(START + timedelta(days=1), DEVICES[2], PARIS)
    EventLog(folder, DEVICES[2]).append([stamp(m.NoteAdded, contact="person-7", text="new")])
    index = OffsetIndex(folder, cache)
    blocks: list[int] = []
    index_block = offsets._index_block

    def watched(block: bytes, *arguments: object, **options: object) -> int:
        blocks.append(len(block))
        return index_block(block, *arguments, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(offsets, "_index_block", watched)
    located = index.locate("person-7")
    assert index.route == "cached"
    assert blocks == [(folder / f"{DEVICES[2]}.jsonl").stat().st_size]  # the new segment only
    assert sum(len(found) for found in located.values()) == 101
    assert events_about(folder, "person-7", set(), cache)[-1].text == "new"  # type: ignore[attr-defined]


def test_an_index_that_points_at_other_lines_is_dropped_and_the_log_scanned(big_log, capsys):
    folder, cache = big_log
    expected = events_about(folder, "person-7", set())
    OffsetIndex(folder, cache).locate("person-7")
    stored = msgspec.msgpack.decode((cache / INDEX_NAME).read_bytes(), type=StoredIndex)
    buckets = [msgspec.msgpack.decode(bucket) for bucket in stored.buckets]
    entries = {handle: entry for bucket in buckets for handle, entry in bucket.items()}
    for bucket in buckets:  # everyone's lines are said to be person-8's
        for handle in bucket:
            bucket[handle] = entries["person-8"]
    stored.buckets = [msgspec.Raw(msgspec.msgpack.encode(bucket)) for bucket in buckets]
    (cache / INDEX_NAME).write_bytes(msgspec.msgpack.encode(stored))
    os.environ["COFFEECHAT_TRACE_SNAPSHOT"] = "1"
    try:
        assert events_about(folder, "person-7", set(), cache) == expected
    finally:
        del os.environ["COFFEECHAT_TRACE_SNAPSHOT"]
    assert "index: scan (" in capsys.readouterr().err
    assert not (cache / INDEX_NAME).exists()  # rebuilt by the next show
    assert events_about(folder, "person-7", set(), cache) == expected


def test_a_rewritten_segment_rebuilds_the_index_and_a_torn_write_does_not(tmp_path):
    folder, cache = tmp_path / "log", tmp_path / "cache"
    writer = Writer(folder)
    writer.append(DEVICES[0], [("add", "ada", 0), ("note", "ada", 1), ("add", "grace", 0)])
    index = OffsetIndex(folder, cache)
    index.locate("ada")
    assert index.route == "rebuilt"
    segment = folder / f"{DEVICES[0]}.jsonl"
    with segment.open("ab") as file:
        file.write(b'{"type":"note.added","id"')  # cut short: the next writer moves it away
    index = OffsetIndex(folder, cache)
    assert sum(len(found) for found in index.locate("ada").values()) == 2
    assert index.route == "cached"
    writer.append(DEVICES[0], [("note", "ada", 2)])
    index = OffsetIndex(folder, cache)
    assert sum(len(found) for found in index.locate("ada").values()) == 3
    assert index.route == "cached"
    assert_index_matches_scan(folder, cache)
    segment.write_bytes(segment.read_bytes().replace(b"note 1", b"note 9"))
    index = OffsetIndex(folder, cache)
    index.locate("ada")
    assert index.route == "rebuilt"
    assert index.reason.startswith(f"{segment.name} changed before byte")
    assert_index_matches_scan(folder, cache)


def test_the_same_events_synced_into_two_segments_show_once_as_a_scan_shows_them(tmp_path):
    folder, cache = tmp_path / "log", tmp_path / "cache"
    writer = Writer(folder)
    writer.append(DEVICES[0], [("add", "ada", 0), ("note", "ada", 1), ("intro", "ada", 1)])
    assert_index_matches_scan(folder, cache)
    # A sync tool delivers the laptop's lines again inside the phone's segment, then both grow.
    original = (folder / f"{DEVICES[0]}.jsonl").read_bytes()
    (folder / f"{DEVICES[1]}.jsonl").write_bytes(original)
    assert_index_matches_scan(folder, cache)
    writer.append(DEVICES[1], [("note", "ada", 2)])
    writer.append(DEVICES[0], [("note", "grace", 2), ("undo", "ada", 1)])
    assert_index_matches_scan(folder, cache)
    retracted = retracted_in(folder)
    timeline = events_about(folder, "ada", retracted, cache)
    assert len(timeline) == len({event.id for event in timeline}) == 4  # each once
