"""The history of one contact, read from the log (the projection keeps no events).

With the cache folder at hand, only that contact's lines are read: the offsets index
(:mod:`coffeechat.events.offsets`) says where they are, and each line read is checked
to begin where a line begins and to be about that contact. A line that is not (a cache
that lies) removes the index and falls back to a scan of the whole log, which gives the
same history.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime

import msgspec

from coffeechat.events.log import (
    SegmentData,
    iter_segment_events,
    merge_segments,
    read_segments,
    segment_paths,
)
from coffeechat.events.model import Event
from coffeechat.events.offsets import Located, OffsetIndex
from coffeechat.events.upcast import decode_event

TRACE_VARIABLE = "COFFEECHAT_TRACE_SNAPSHOT"
_LINE_GUESS = 1024  # bytes read at each offset: most lines fit, longer ones read on


class IndexMismatch(Exception):
    """A line the index points at is not a line about that contact."""


def events_about(
    log_dir: str | os.PathLike[str],
    handle: str,
    retracted: set[str],
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[Event]:
    """Return the events that concern a contact, oldest first (by when they happened),
    leaving out retracted ones.

    With ``cache_dir``, through the offsets index kept there (built or brought up to date
    on the way); without, by a scan of the log that decodes only the lines that mention
    the handle.
    """
    about = None
    if cache_dir is not None:
        index = OffsetIndex(log_dir, cache_dir)
        try:
            about = _read_located(os.fspath(log_dir), handle, index.locate(handle))
            route = f"{index.route}" + (f" ({index.reason})" if index.reason else "")
        except IndexMismatch as mismatch:
            index.forget()
            route = f"scan ({mismatch})"
        if os.environ.get(TRACE_VARIABLE):
            sys.stderr.write(f"index: {route}\n")
    if about is None:
        about = _scanned(log_dir, handle)
    about = [event for event in about if event.id not in retracted]
    about.sort(key=_happened)  # stable: log order among equals
    return about


def _scanned(log_dir: str | os.PathLike[str], handle: str) -> list[Event]:
    """Return the events about ``handle`` in log order, found by reading every segment."""
    needle = f'"{handle}"'.encode()
    narrowed = [_lines_mentioning(segment, needle) for segment in read_segments(log_dir)]
    streams = [iter_segment_events(segment, []) for segment in narrowed]
    return [event for event in merge_segments(streams) if _is_about(event, handle)]


def _read_located(log_dir: str, handle: str, located: Located) -> list[Event]:
    """Read the lines at the offsets ``located`` gives; return their events in log order
    (merged across segments as a scan merges them). Raise :class:`IndexMismatch` if an
    offset is not the start of a line about ``handle``."""
    streams = []
    for path in segment_paths(log_dir):  # every segment: the merge treats ties by position
        offsets = located.get(os.path.basename(path))
        streams.append(iter(_events_at(path, handle, sorted(offsets)) if offsets else []))
    return list(merge_segments(streams))


def _events_at(path: str, handle: str, offsets: list[int]) -> list[Event]:
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise IndexMismatch(f"{os.path.basename(path)} cannot be read") from error
    events = []
    try:
        for offset in offsets:
            line = _line_at(descriptor, offset)
            if line is None:
                raise IndexMismatch(f"no line starts at {os.path.basename(path)}:@{offset}")
            try:
                event = decode_event(line)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue  # a damaged line or a newer type: a scan leaves it out too
            if not _is_about(event, handle):
                raise IndexMismatch(f"{os.path.basename(path)}:@{offset} is not about {handle}")
            events.append(event)
    finally:
        os.close(descriptor)
    return events


def _line_at(descriptor: int, offset: int) -> bytes | None:
    """Return the complete line that starts at ``offset`` (without its newline), or None
    if no complete line starts there."""
    before = 1 if offset else 0
    data = os.pread(descriptor, _LINE_GUESS + before, offset - before)
    if before and data[:1] != b"\n":
        return None
    end = data.find(b"\n", before)
    while end < 0:
        more = os.pread(descriptor, max(len(data), _LINE_GUESS), offset - before + len(data))
        if not more:
            return None
        data += more
        end = data.find(b"\n", before)
    return data[before:end]


def _is_about(event: Event, handle: str) -> bool:
    return handle in (getattr(event, "contact", None), getattr(event, "introduced", None))


def _happened(event: Event) -> datetime:
    return event.at


def _lines_mentioning(segment: SegmentData, needle: bytes) -> SegmentData:
    lines = [line for line in segment.data.split(b"\n") if needle in line]
    data = b"".join(line + b"\n" for line in lines)
    return SegmentData(segment.path, segment.start, data, b"", 0, segment.inode)
