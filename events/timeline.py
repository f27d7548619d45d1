"""The history of one contact, read from the log (the projection keeps no events)."""

from __future__ import annotations

import os
from datetime import datetime

from coffeechat.events.log import SegmentData, iter_segment_events, merge_segments, read_segments
from coffeechat.events.model import Event


def events_about(log_dir: str | os.PathLike[str], handle: str, retracted: set[str]) -> list[Event]:
    """Return the events that concern a contact, oldest first (by when they happened),
    leaving out retracted ones.

    Only lines that mention the handle are decoded, so this costs a read of the log and
    little more.
    """
    needle = f'"{handle}"'.encode()
    narrowed = [_lines_mentioning(segment, needle) for segment in read_segments(log_dir)]
    streams = [iter_segment_events(segment, []) for segment in narrowed]
    about = [
        event
        for event in merge_segments(streams)
        if event.id not in retracted
        and handle in (getattr(event, "contact", None), getattr(event, "introduced", None))
    ]
    about.sort(key=_happened)  # stable: log order among equals
    return about


def _happened(event: Event) -> datetime:
    return event.at


def _lines_mentioning(segment: SegmentData, needle: bytes) -> SegmentData:
    lines = [line for line in segment.data.split(b"\n") if needle in line]
    data = b"".join(line + b"\n" for line in lines)
    return SegmentData(segment.path, segment.start, data, b"", 0, segment.inode)
