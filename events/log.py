"""The append-only log: a folder of JSON Lines segments, one per writing device.

Writing (:meth:`EventLog.append`): the whole batch is one ``write`` on an ``O_APPEND``
descriptor of this device's segment, under an exclusive ``flock``, followed by
``fsync`` (and an ``fsync`` of the folder when the segment is new). Only then does the
caller hear of success. Before writing, the writer looks at the end of its segment: a
last line cut short by a crash (no newline, or not decodable) is moved to the
quarantine file beside the segment, so the new events never glue onto it.

Reading (:func:`read_segments`, :func:`iter_segment_events`): every ``*.jsonl`` segment
is read; a torn last line is left out and reported, a bad line elsewhere is skipped and
reported with ``file:line``. Readers never fail on damage: they carry on and let the
caller warn. A line of an event type this version does not know (written by a newer
coffeechat on another device) is skipped and reported, but it is not damage.

:func:`check` and :func:`repair` are ``coffeechat fsck``.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Literal

import msgspec

from coffeechat.events.model import TAGS, Event, encode_lines, event_decoder, order_key
from coffeechat.events.upcast import UPCASTERS, decode_event, finish_decoded

SEGMENT_SUFFIX = ".jsonl"
QUARANTINE_SUFFIX = ".quarantine"
# Lines are decoded and folded a chunk at a time. 64 KiB (~300 events) keeps a chunk's
# decoded objects in the CPU cache while they are folded and freed: a full replay of
# 1 M events took ~1.45 s with 8-128 KiB chunks against ~2.5 s with 1 MiB ones.
_CHUNK = 1 << 16
# For each type that has upcasters: how its lines are tagged, and how a line at the
# current version starts, as this writer writes them. When a chunk's count of the one
# equals its count of the other, no event in it needs upcasting (checked in C, not per
# event in Python); any doubt falls back to looking at every event.
_UPCAST_CHECKS = tuple(
    (
        f'"{tag}"'.encode(),
        re.compile(f'"type":"{re.escape(tag)}","id":"[^"]*","v":{TAGS[tag].VERSION}[,}}]'.encode()),
    )
    for tag in sorted({tag for tag, _ in UPCASTERS})
)

ProblemKind = Literal["torn", "bad", "unknown"]


class LogProblem(msgspec.Struct, frozen=True):
    """One line of a segment that could not be taken as an event.

    ``kind`` is ``torn`` (the last line, cut short: an interrupted write), ``bad`` (a
    damaged line elsewhere) or ``unknown`` (a well-formed event of a type this version
    does not know; not damage).
    """

    path: str
    line: int
    kind: ProblemKind
    reason: str

    @property
    def is_damage(self) -> bool:
        """Whether ``fsck`` counts this as damage (everything but unknown types)."""
        return self.kind != "unknown"

    def describe(self) -> str:
        """Return the one-line warning shown to the user, naming ``file:line``."""
        where = f"{self.path}:{self.line}"
        if self.kind == "torn":
            return f"{where}: incomplete last line left out ({self.reason})"
        if self.kind == "unknown":
            return f"{where}: skipped an event this version does not know ({self.reason})"
        return f"{where}: skipped a damaged line ({self.reason})"


class SegmentData(msgspec.Struct):
    """The bytes of one segment from ``start``: complete lines in ``data``, the rest in ``torn``.

    ``first_line`` is the 1-based number of the first line of ``data`` (0 while unknown,
    for reads that start past the beginning; it is counted only if a problem needs it).
    """

    path: str
    start: int
    data: bytes
    torn: bytes
    first_line: int
    inode: int = 0

    @property
    def end(self) -> int:
        """The offset just past the last complete line: where the next read starts."""
        return self.start + len(self.data)

    def line_number(self, index: int) -> int:
        """Return the 1-based line number in the file of the ``index``-th line of ``data``."""
        if self.first_line == 0:
            with open(self.path, "rb") as file:
                self.first_line = file.read(self.start).count(b"\n") + 1
        return self.first_line + index


def segment_paths(folder: str | os.PathLike[str]) -> list[str]:
    """Return the paths of the segments of a log folder in a deterministic order (by name)."""
    folder = os.fspath(folder)
    try:
        names = sorted(entry.name for entry in os.scandir(folder) if entry.is_file())
    except FileNotFoundError:
        return []
    return [os.path.join(folder, name) for name in names if name.endswith(SEGMENT_SUFFIX)]


def read_segment(path: str | os.PathLike[str], start: int = 0) -> SegmentData:
    """Read one segment from ``start``; split off an incomplete last line."""
    path = os.fspath(path)
    with open(path, "rb") as file:
        inode = os.fstat(file.fileno()).st_ino
        if start:
            file.seek(start)
        data = file.read()
    complete = data.rfind(b"\n") + 1
    first_line = 1 if start == 0 else 0
    return SegmentData(path, start, data[:complete], data[complete:], first_line, inode)


def read_segments(
    folder: str | os.PathLike[str], offsets: dict[str, int] | None = None
) -> list[SegmentData]:
    """Read every segment of ``folder``, each from its offset in ``offsets`` (by file name)."""
    offsets = offsets or {}
    segments = []
    for path in segment_paths(folder):
        try:
            segments.append(read_segment(path, offsets.get(os.path.basename(path), 0)))
        except FileNotFoundError:  # renamed away by a sync tool between listing and reading
            continue
    return segments


def is_json(line: bytes) -> bool:
    """Whether a line is well-formed JSON (cheap: no event types involved)."""
    try:
        msgspec.json.decode(line)
    except msgspec.DecodeError:
        return False
    return True


def classify(line: bytes) -> tuple[ProblemKind, str] | None:
    """Given one line, return ``None`` if it decodes as an event, else its problem and why."""
    try:
        decode_event(line)
        return None
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        reason = str(error)
    try:
        raw = msgspec.json.decode(line)
    except msgspec.DecodeError:
        return "bad", reason
    if isinstance(raw, dict):
        tag = raw.get("type")
        if isinstance(tag, str) and tag not in TAGS and isinstance(raw.get("id"), str):
            return "unknown", f"type {tag!r}, from a newer coffeechat?"
    return "bad", reason


def iter_segment_events(segment: SegmentData, problems: list[LogProblem]) -> Iterator[Event]:
    """Yield the events of a segment in file order; note unreadable lines in ``problems``."""
    return chain.from_iterable(iter_segment_batches(segment, problems))


def iter_segment_batches(segment: SegmentData, problems: list[LogProblem]) -> Iterator[list[Event]]:
    """Yield the events of a segment in file order, a list per chunk of about 64 KiB.

    A chunk that fails to decode is decoded again line by line to find the culprit, so
    one bad line costs only its chunk's speed. Lines are counted only when a problem
    needs its line number (counting them all costs ~65 ms per million events).
    """
    data = segment.data
    length = len(data)
    position = 0
    counted, lines_before = 0, 0  # how many lines data[:counted] holds
    decoder = event_decoder() if data else None
    while position < length:
        cut = data.rfind(b"\n", position, position + _CHUNK) + 1
        if cut <= position:  # one line longer than a chunk
            cut = data.index(b"\n", position) + 1
        chunk = data[position:cut]
        try:
            batch: list[Event] = decoder.decode_lines(chunk)  # type: ignore[union-attr]
            if _may_need_upcasting(chunk):
                batch = _upcast_batch(batch, chunk)
        except (msgspec.DecodeError, msgspec.ValidationError):
            lines_before += data.count(b"\n", counted, position)
            counted = position
            batch = _decode_one_by_one(segment, chunk, lines_before, cut == length, problems)
        yield batch
        position = cut
    if segment.torn:
        number = segment.line_number(lines_before + data.count(b"\n", counted))
        problems.append(LogProblem(segment.path, number, "torn", "no newline at the end"))


def _may_need_upcasting(chunk: bytes) -> bool:
    for marker, current in _UPCAST_CHECKS:
        mentions = chunk.count(marker)
        if mentions and len(current.findall(chunk)) != mentions:
            return True
    return False


def _upcast_batch(batch: list[Event], chunk: bytes) -> list[Event]:
    if all(event.v >= event.VERSION for event in batch):
        return batch
    lines = [line for line in chunk.split(b"\n") if line.strip()]
    return [finish_decoded(event, line) for event, line in zip(batch, lines, strict=True)]


def _decode_one_by_one(
    segment: SegmentData,
    chunk: bytes,
    first_index: int,
    is_last_chunk: bool,
    problems: list[LogProblem],
) -> list[Event]:
    events = []
    lines = chunk.split(b"\n")[:-1]
    last = len(lines) - 1
    for offset, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            events.append(decode_event(line))
            continue
        except (msgspec.DecodeError, msgspec.ValidationError):
            pass
        kind, reason = classify(line) or ("bad", "unreadable")
        at_the_end = is_last_chunk and offset == last and not segment.torn
        if kind == "bad" and at_the_end and not is_json(line):
            kind = "torn"  # garbage at the very end is an interrupted write too
        problems.append(
            LogProblem(segment.path, segment.line_number(first_index + offset), kind, reason)
        )
    return events


def merge_segments(streams: Sequence[Iterator[Event]]) -> Iterator[Event]:
    """Merge the event streams of several segments into one deterministic order.

    Each segment keeps its own order (a device's clock may step back; its file order
    is the truth); across segments, the smaller :func:`~coffeechat.events.model.order_key`
    comes first (the hybrid logical clock: an event comes after everything its writer
    had seen), and ties go to the segment whose name sorts first. An event id met again
    (the same event in two segments) is left out the second time.
    """
    if len(streams) == 1:
        return streams[0]
    import heapq  # only a log with several devices needs it

    return _first_sightings(heapq.merge(*streams, key=order_key))


def _first_sightings(events: Iterable[Event]) -> Iterator[Event]:
    seen: set[str] = set()
    remember = seen.add
    for event in events:
        if event.id not in seen:
            remember(event.id)
            yield event


class Appended(msgspec.Struct, frozen=True):
    """Where one append landed: the segment's name and inode, and the byte range."""

    segment: str
    inode: int
    start: int
    end: int


class EventLog:
    """The log folder as one device sees it: it writes its own segment and reads them all."""

    def __init__(self, folder: str | os.PathLike[str], device: str) -> None:
        self.folder = os.fspath(folder)
        self.device = device
        self.segment = os.path.join(self.folder, f"{device}{SEGMENT_SUFFIX}")

    def append(self, events: Sequence[Event]) -> Appended | None:
        """Append a batch of events durably: one write, under the lock, then fsync.

        Return where they landed, only once they are on disk (None for an empty batch,
        which writes nothing). Raise ``OSError`` if they could not be written (a partial
        write is then a torn last line, repaired next time).
        """
        if not events:
            return None
        payload = encode_lines(list(events))
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        with _locked_segment(self.segment) as (descriptor, created):
            _quarantine_torn_tail(self.segment, descriptor)
            status = os.fstat(descriptor)
            _write_all(descriptor, payload)
            os.fsync(descriptor)
        if created:
            _fsync_folder(self.folder)
        start = status.st_size
        name = os.path.basename(self.segment)
        return Appended(name, status.st_ino, start, start + len(payload))


class _locked_segment:
    """Open a segment for appending and hold its exclusive lock.

    ``fsck --repair`` replaces a segment by renaming a new file over it; a writer that
    was waiting for the lock on the old file would then append to a file nobody reads.
    So after taking the lock, check that the path still names the locked file, and
    start again if not.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.descriptor = -1

    def __enter__(self) -> tuple[int, bool]:
        while True:
            created = False
            try:
                descriptor = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
            except FileNotFoundError:
                flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
                try:
                    descriptor = os.open(self.path, flags, 0o600)
                    created = True
                except FileExistsError:
                    continue
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                same = os.path.samestat(os.fstat(descriptor), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                self.descriptor = descriptor
                return descriptor, created
            os.close(descriptor)

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.descriptor)  # closing releases the lock


def _write_all(descriptor: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]


def _fsync_folder(folder: str) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def quarantine_path(segment: str | os.PathLike[str]) -> str:
    """Return the path of the quarantine file beside a segment, where damaged lines are kept."""
    return os.fspath(segment) + QUARANTINE_SUFFIX


def _append_to_quarantine(segment: str, lines: list[bytes]) -> None:
    target = quarantine_path(segment)
    created = not os.path.exists(target)
    descriptor = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        _write_all(
            descriptor, b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
        )
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if created:
        _fsync_folder(os.path.dirname(segment))


def _quarantine_torn_tail(segment: str, descriptor: int) -> None:
    """Under the lock: move an interrupted last write to the quarantine file.

    That is a last line without its newline, or one that is not even JSON. A complete
    JSON line that is not a valid event stays: readers report it and ``fsck`` repairs it.
    """
    size = os.fstat(descriptor).st_size
    if size == 0:
        return
    window = 4096
    while True:
        start = max(0, size - window)
        tail = os.pread(descriptor, size - start, start)
        body = tail[:-1] if tail.endswith(b"\n") else tail
        newline = body.rfind(b"\n")
        if newline >= 0 or start == 0:
            break
        window *= 4
    line_start = start + newline + 1
    last_line = tail[newline + 1 :]
    if last_line.endswith(b"\n") and (not last_line.strip() or is_json(last_line)):
        return  # a complete line: if it is not an event, readers report it and fsck repairs
    # Keep the damaged bytes first, then cut them off: a crash in between leaves them
    # twice, never zero times.
    _append_to_quarantine(segment, [last_line])
    os.ftruncate(descriptor, line_start)
    os.fsync(descriptor)


# --- fsck ----------------------------------------------------------------------------------


def check(folder: str | os.PathLike[str]) -> list[LogProblem]:
    """Read every segment of ``folder`` and return every line that is not a readable event."""
    problems: list[LogProblem] = []
    for segment in read_segments(folder):
        for _ in iter_segment_events(segment, problems):
            pass
    return problems


def repair(folder: str | os.PathLike[str]) -> list[LogProblem]:
    """Move every damaged line of every segment to its quarantine file; return what moved.

    Each segment is rewritten under its lock as a new file renamed over the old one,
    holding exactly its good lines in their order; events of unknown types stay. The
    damaged lines are fsynced into the quarantine file before the segment is replaced.
    """
    folder = os.fspath(folder)
    moved: list[LogProblem] = []
    for path in segment_paths(folder):
        with _locked_segment(path):
            problems: list[LogProblem] = []
            segment = read_segment(path)
            for _ in iter_segment_events(segment, problems):
                pass
            damaged = {problem.line for problem in problems if problem.is_damage}
            if not damaged:
                continue
            lines = (segment.data + segment.torn).split(b"\n")
            if lines and lines[-1] == b"":
                lines.pop()
            keep = [line + b"\n" for number, line in enumerate(lines, 1) if number not in damaged]
            bad = [lines[number - 1] for number in sorted(damaged)]
            _append_to_quarantine(path, bad)
            replacement = os.path.join(folder, f".{os.path.basename(path)}.repair")
            with open(replacement, "wb", opener=_private_opener) as file:
                file.write(b"".join(keep))
                file.flush()
                os.fsync(file.fileno())
            os.replace(replacement, path)
            _fsync_folder(folder)
            moved.extend(problem for problem in problems if problem.is_damage)
    return moved


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
