"""A disposable cache of the projection, so that commands do not replay the whole log.

The snapshot holds the folded state (not the events: decoding events is the cost a
snapshot is meant to save), the offset reached in each segment (with its inode, so a
segment replaced by ``fsck --repair`` or a sync tool is noticed), the projection
version, and the damaged lines met so far, so that their warnings keep being shown.
Loading it and folding what was appended since gives the same state as a full replay;
anything unexpected (another version, a segment gone or shorter, a retraction in the
new data, an unreadable cache) falls back to a full replay. Deleting the cache is
always safe.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from coffeechat.events.log import (
    LogProblem,
    SegmentData,
    iter_segment_events,
    merge_segments,
    read_segments,
    segment_paths,
)
from coffeechat.events.projection import (
    PROJECTION_VERSION,
    State,
    apply_all,
    replay,
    tail_needs_full_replay,
)

SNAPSHOT_NAME = "state.msgpack"
SAVE_AFTER_EVENTS = 200


class SegmentMark(msgspec.Struct, array_like=True):
    """How far into one segment the snapshot has read."""

    name: str
    inode: int
    offset: int


class StoredProblem(msgspec.Struct, array_like=True):
    """A damaged line met before the snapshot's offsets, to be warned about again."""

    path: str
    line: int
    kind: str
    reason: str


class Snapshot(msgspec.Struct):
    """The cached projection and where in the log it stands."""

    version: int
    marks: list[SegmentMark]
    problems: list[StoredProblem]
    state: State


_decoder = msgspec.msgpack.Decoder(Snapshot)
_encoder = msgspec.msgpack.Encoder()


def load_state(log_dir: Path, cache_dir: Path, problems: list[LogProblem]) -> State:
    """Return the current state of the log, through the snapshot where it is valid.

    Problems met (including those remembered by the snapshot) are appended to
    ``problems``. The snapshot is refreshed when enough new events were folded.
    """
    cache_file = cache_dir / SNAPSHOT_NAME
    snapshot = _load(cache_file)
    offsets = _offsets_if_valid(snapshot, log_dir) if snapshot is not None else None
    if snapshot is not None and offsets is not None:
        tail = read_segments(log_dir, offsets)
        if not tail_needs_full_replay(tail):
            problems.extend(
                LogProblem(Path(p.path), p.line, p.kind, p.reason)  # type: ignore[arg-type]
                for p in snapshot.problems
            )
            new_problems: list[LogProblem] = []
            state = snapshot.state
            before = state.events
            streams = [iter_segment_events(segment, new_problems) for segment in tail]
            apply_all(state, merge_segments(streams))
            problems.extend(new_problems)
            if state.events - before >= SAVE_AFTER_EVENTS or new_problems:
                _save(cache_file, state, tail, problems)
            return state
    segments = read_segments(log_dir)
    found: list[LogProblem] = []
    state = replay(segments, found)
    problems.extend(found)
    if segments:
        _save(cache_file, state, segments, found)
    return state


def _load(cache_file: Path) -> Snapshot | None:
    try:
        snapshot = _decoder.decode(cache_file.read_bytes())
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    return snapshot if snapshot.version == PROJECTION_VERSION else None


def _offsets_if_valid(snapshot: Snapshot, log_dir: Path) -> dict[str, int] | None:
    marks = {mark.name: mark for mark in snapshot.marks}
    offsets: dict[str, int] = {}
    present = set()
    for path in segment_paths(log_dir):
        mark = marks.get(path.name)
        if mark is None:
            continue  # a new segment: read from the start
        try:
            status = os.stat(path)
        except FileNotFoundError:
            return None
        if status.st_ino != mark.inode or status.st_size < mark.offset:
            return None
        offsets[path.name] = mark.offset
        present.add(path.name)
    if present != set(marks):
        return None  # a segment went away: its events must leave the state too
    return offsets


def _save(
    cache_file: Path, state: State, segments: list[SegmentData], problems: list[LogProblem]
) -> None:
    snapshot = Snapshot(
        version=PROJECTION_VERSION,
        marks=[SegmentMark(s.path.name, s.inode, _resume_offset(s, problems)) for s in segments],
        problems=[
            StoredProblem(str(p.path), p.line, p.kind, p.reason)
            for p in problems
            if p.kind != "torn"
        ],
        state=state,
    )
    try:
        cache_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = cache_file.with_name(f".{cache_file.name}.{os.getpid()}")
        with open(temporary, "wb", opener=lambda p, f: os.open(p, f, 0o600)) as file:
            file.write(_encoder.encode(snapshot))
        os.replace(temporary, cache_file)
    except OSError:
        pass  # a cache that cannot be written is only a slower next start


def _resume_offset(segment: SegmentData, problems: list[LogProblem]) -> int:
    # An undecodable last line that does end in a newline is inside ``data``, but the
    # next writer cuts it off (to the quarantine file) and appends in its place: resume
    # at its start, or the next read would begin in the middle of the new events.
    torn_inside = not segment.torn and any(
        problem.kind == "torn" and problem.path == segment.path for problem in problems
    )
    if not torn_inside:
        return segment.end
    return segment.start + segment.data.rfind(b"\n", 0, len(segment.data) - 1) + 1
