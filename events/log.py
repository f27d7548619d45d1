"""The append-only log: a folder of JSON Lines segments, one per writing device.

Writing (:meth:`EventLog.append`): the whole batch is one ``write`` on an ``O_APPEND``
descriptor of this device's segment, under an exclusive ``flock``, followed by
``fsync`` (and an ``fsync`` of the folder when the segment is new). Only then does the
caller hear of success. Before writing, the writer looks at the end of its segment: a
last line cut short by a crash (no newline, or not decodable) is moved to the
quarantine file beside the segment, so the new events never glue onto it.

Reading (:func:`read_segments`, :func:`iter_segment_events`): every segment is read; a
torn last line is left out and reported, a bad line elsewhere is skipped and reported
with ``file:line``, a segment that cannot be read at all is reported and left out.
Readers never fail on damage: they carry on and let the caller warn. A line of an event
type this version does not know (written by a newer coffeechat on another device) is
skipped and reported, but it is not damage.

A segment is a regular file named ``<device id>.jsonl``, the id in the alphabet device
ids are made of (:func:`is_segment_name`). Anything else in ``log/`` (a sync tool's
conflict copy, an editor's backup, a quarantine file, a symbolic link) is never read
as events: :func:`scan_log` names it, with what to do about it. Links inside ``log/``
are never followed, for reading or writing (``log/`` itself may be a link).
:func:`merge_segments` folds each event id at most once.

:func:`check` and :func:`repair` are ``coffeechat fsck``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Literal

import msgspec

from coffeechat.events.errors import LogDamaged
from coffeechat.events.ids import is_device_id
from coffeechat.events.model import TAGS, Event, encode_lines, event_decoder, order_key
from coffeechat.events.upcast import UPCASTERS, decode_event, finish_decoded

SEGMENT_SUFFIX = ".jsonl"
QUARANTINE_SUFFIX = ".quarantine"
REPAIR_SUFFIX = ".repair"
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

ProblemKind = Literal["torn", "bad", "unknown", "unreadable", "stray"]


class LogProblem(msgspec.Struct, frozen=True):
    """One line of a segment that could not be taken as an event, or one file of ``log/``.

    ``kind`` is ``torn`` (the last line, cut short: an interrupted write), ``bad`` (a
    damaged line elsewhere), ``unknown`` (a well-formed event of a type this version
    does not know; not damage), ``unreadable`` (a whole segment that cannot be read:
    damage, ``line`` 0) or ``stray`` (a file in ``log/`` that is not a segment and is
    not read: not damage, ``line`` 0; ``reason`` says what it seems to be and what to do).
    """

    path: str
    line: int
    kind: ProblemKind
    reason: str

    @property
    def is_damage(self) -> bool:
        """Whether ``fsck`` counts this as damage (everything but unknown types and strays)."""
        return self.kind not in ("unknown", "stray")

    def describe(self) -> str:
        """Return the one-line warning shown to the user, naming ``file:line``."""
        if self.kind in ("unreadable", "stray"):
            return f"{self.path}: {self.reason}"
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
    unreadable: str = ""  # why the segment could not be read (then ``data`` is empty)

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


def is_segment_name(name: str) -> bool:
    """Whether a file name in ``log/`` is a segment's: ``<device id>.jsonl``.

    A device id (events/ids.py makes them from the host name as a slug and six hex
    digits) has only lower-case letters, digits and hyphens: conflict copies, backups and
    quarantine files all fall outside (a dot, a space, a capital, another suffix).
    """
    return name.endswith(SEGMENT_SUFFIX) and is_device_id(name[: -len(SEGMENT_SUFFIX)])


def _is_repair_file(name: str) -> bool:
    """Whether a name is fsck --repair's temporary file (``.<segment>.repair``): ours."""
    return (
        name.startswith(".")
        and name.endswith(REPAIR_SUFFIX)
        and is_segment_name(name[1 : -len(REPAIR_SUFFIX)])
    )


def segment_paths(folder: str | os.PathLike[str]) -> list[str]:
    """Return the paths of the segments of a log folder in a deterministic order (by name).

    Only regular files named like a segment count; links are not followed. Raise
    :class:`LogDamaged` if the folder exists but cannot be listed.
    """
    segments, _ = scan_log(folder)
    return segments


def scan_log(folder: str | os.PathLike[str]) -> tuple[list[str], list[LogProblem]]:
    """Return the segments of a log folder (as :func:`segment_paths`) and the problems
    of everything else in it: one per file that is not read (kind ``stray``), one per
    segment name that is not a regular file (kind ``unreadable``).

    Left alone silently: fsck's own temporary files, and hidden files that have nothing
    to do with segments (a sync tool's ``.stfolder`` or ``.stignore``, ``.DS_Store``).
    """
    folder = os.fspath(folder)
    try:
        with os.scandir(folder) as listing:
            entries = sorted(
                (entry.name, entry.is_symlink(), entry.is_file(follow_symlinks=False))
                for entry in listing
            )
    except FileNotFoundError:
        return [], []
    except OSError as error:
        raise LogDamaged(f"cannot read the log in {folder}: {error.strerror or error}") from None
    segments: list[str] = []
    problems: list[LogProblem] = []
    names = {name for name, link, regular in entries if regular and not link}
    for name, link, regular in entries:
        path = os.path.join(folder, name)
        if is_segment_name(name) and regular and not link:
            segments.append(path)
        elif link:
            problems.append(LogProblem(path, 0, "stray", _LINK_ADVICE))
        elif is_segment_name(name):
            problems.append(LogProblem(path, 0, "unreadable", _NOT_A_FILE))
        elif _is_repair_file(name) or (name.startswith(".") and SEGMENT_SUFFIX not in name):
            continue
        else:
            problems.append(LogProblem(path, 0, "stray", _stray_advice(name, names)))
    return segments, problems


_LINK_ADVICE = (
    "a symbolic link: not read (coffeechat never follows links inside log/); "
    "if it points to a segment, put the file itself here instead"
)
_NOT_A_FILE = "not a regular file: not read; move it out of log/"


def _stray_advice(name: str, names: set[str]) -> str:
    """Return what a file in ``log/`` that is not a segment seems to be, and what to do."""
    if name.endswith(QUARANTINE_SUFFIX):
        return (
            "damaged lines set aside (by 'fsck --repair', or an interrupted write): not read; "
            "look through them, then delete the file"
        )
    lowered = name.lower()
    if "conflict" in lowered:  # Syncthing's .sync-conflict-, "(conflicted copy …)" …
        guess = "a sync tool's conflict copy?"
    elif lowered.endswith(("~", "#", ".bak", ".orig", ".swp", ".tmp", ".old")):
        guess = "a backup or temporary copy?"
    else:
        guess = "coffeechat reads only <device id>.jsonl files here"
    original = re.match(r"\.?(?:syncthing\.)?([a-z0-9][a-z0-9-]*)", name)
    twin = f"{original.group(1)}{SEGMENT_SUFFIX}" if original else ""
    if twin in names and twin != name:
        advice = f"compare it with {twin}, keep what only it holds, and delete it"
    else:
        advice = "move it out of log/"
    return f"not a segment ({guess}): not read; {advice}"


def read_segment(path: str | os.PathLike[str], start: int = 0) -> SegmentData:
    """Read one segment from ``start``; split off an incomplete last line.

    Raise ``OSError`` if it cannot be read, or is a link or not a regular file (it is
    opened without following links, and without waiting on a pipe).
    """
    path = os.fspath(path)
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    with open(os.open(path, flags), "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise OSError(errno.EISDIR, "not a regular file", path)
        if start:
            file.seek(start)
        data = file.read()
    complete = data.rfind(b"\n") + 1
    first_line = 1 if start == 0 else 0
    return SegmentData(path, start, data[:complete], data[complete:], first_line, status.st_ino)


def read_segments(
    folder: str | os.PathLike[str], offsets: dict[str, int] | None = None
) -> list[SegmentData]:
    """Read every segment of ``folder``, each from its offset in ``offsets`` (by file name).

    A segment that cannot be read (no permission, an I/O error) comes back empty, with
    the reason in ``unreadable``: reading it reports the problem, the others load.
    """
    offsets = offsets or {}
    segments = []
    for path in segment_paths(folder):
        start = offsets.get(os.path.basename(path), 0)
        try:
            segments.append(read_segment(path, start))
        except FileNotFoundError:  # renamed away by a sync tool between listing and reading
            continue
        except OSError as error:
            reason = (
                f"cannot be read ({error.strerror or error}): its events are left out; "
                "give your user read access to it"
            )
            segments.append(SegmentData(path, start, b"", b"", 0, 0, reason))
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
    if segment.unreadable:
        problems.append(LogProblem(segment.path, 0, "unreadable", segment.unreadable))
        return
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


def merge_segments(streams: Sequence[Iterator[Event]], *, unique: bool = True) -> Iterator[Event]:
    """Merge the event streams of several segments into one deterministic order.

    Each segment keeps its own order (a device's clock may step back; its file order
    is the truth); across segments, the smaller :func:`~coffeechat.events.model.order_key`
    comes first (the hybrid logical clock: an event comes after everything its writer
    had seen), and ties go to the segment whose name sorts first. An event id met again
    (the same event in two segments) is left out the second time, unless ``unique`` is
    false (for a caller that leaves it out itself, more cheaply: the replay's fold).
    """
    if len(streams) == 1:
        return streams[0]
    import heapq  # only a log with several devices needs it

    merged = heapq.merge(*streams, key=order_key)
    return _first_sightings(merged) if unique else merged


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
        with _locked_segment(self.segment, for_writing=True) as (descriptor, created):
            _quarantine_torn_tail(self.segment, descriptor)
            status = os.fstat(descriptor)
            _write_all(descriptor, payload)
            os.fsync(descriptor)
        if created:
            fsync_folder(self.folder)
        start = status.st_size
        name = os.path.basename(self.segment)
        return Appended(name, status.st_ino, start, start + len(payload))


_APPEND_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW


class _locked_segment:
    """Open a segment for appending and hold its exclusive lock.

    ``fsck --repair`` replaces a segment by renaming a new file over it; a writer that
    was waiting for the lock on the old file would then append to a file nobody reads.
    So after taking the lock, check that the path still names the locked file, and
    start again if not. A link in its place is never followed (readers do not follow
    it either, so what was written through it would never be read): that is
    :class:`LogDamaged`, and so is a folder in its place.
    """

    def __init__(self, path: str, *, for_writing: bool = False) -> None:
        self.path = path
        self.descriptor = -1
        self.for_writing = for_writing

    def __enter__(self) -> tuple[int, bool]:
        while True:
            created = False
            try:
                descriptor = os.open(self.path, _APPEND_FLAGS)
            except FileNotFoundError:
                if not self.for_writing:
                    raise
                try:
                    descriptor = os.open(self.path, _APPEND_FLAGS | os.O_CREAT | os.O_EXCL, 0o600)
                    created = True
                except FileExistsError:
                    continue
            except OSError as error:
                if error.errno not in (errno.ELOOP, errno.EISDIR):
                    raise
                what = "a symbolic link" if error.errno == errno.ELOOP else "a folder"
                raise LogDamaged(
                    f"{self.path} is {what}: coffeechat writes only to a plain file there "
                    "(it never follows links inside log/); put the file itself in its place"
                ) from None
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                same = os.path.samestat(os.fstat(descriptor), os.lstat(self.path))
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


def fsync_folder(folder: str) -> None:
    """Flush a folder's entries to disk (a new or renamed file survives a crash)."""
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
    created = not os.path.lexists(target)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        descriptor = os.open(target, flags, 0o600)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        raise LogDamaged(
            f"{target} is a symbolic link: coffeechat never writes through links inside log/; "
            "move it away"
        ) from None
    try:
        _write_all(
            descriptor, b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
        )
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    if created:
        fsync_folder(os.path.dirname(segment))


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
    """Read every segment of ``folder`` and return every line that is not a readable event,
    every segment that cannot be read, and every file in ``log/`` that is not a segment."""
    _, problems = scan_log(folder)
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
        locked = _locked_segment(path)
        try:
            descriptor, _ = locked.__enter__()
        except OSError:
            continue  # gone, or unreadable: check() reports it, there is nothing to move
        try:
            moved.extend(_repair_segment(folder, path, descriptor))
        finally:
            locked.__exit__()
    return moved


def _repair_segment(folder: str, path: str, descriptor: int) -> list[LogProblem]:
    """Under the segment's lock: move its damaged lines aside; return them."""
    problems: list[LogProblem] = []
    segment = _read_locked(descriptor, path)
    for _ in iter_segment_events(segment, problems):
        pass
    damaged = {problem.line for problem in problems if problem.is_damage}
    if not damaged:
        return []
    lines = (segment.data + segment.torn).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    keep = [line + b"\n" for number, line in enumerate(lines, 1) if number not in damaged]
    bad = [lines[number - 1] for number in sorted(damaged)]
    _append_to_quarantine(path, bad)
    replacement = os.path.join(folder, f".{os.path.basename(path)}{REPAIR_SUFFIX}")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(replacement)  # left by an interrupted repair (a link: only the link goes)
    with open(replacement, "wb", opener=_new_private_file) as file:
        file.write(b"".join(keep))
        file.flush()
        os.fsync(file.fileno())
    os.replace(replacement, path)
    fsync_folder(folder)
    return [problem for problem in problems if problem.is_damage]


def _read_locked(descriptor: int, path: str) -> SegmentData:
    """Read a whole segment through the descriptor its lock is held on (not its path)."""
    size = os.fstat(descriptor).st_size
    chunks, position = [], 0
    while position < size:
        chunk = os.pread(descriptor, size - position, position)
        if not chunk:
            break
        chunks.append(chunk)
        position += len(chunk)
    data = b"".join(chunks)
    complete = data.rfind(b"\n") + 1
    inode = os.fstat(descriptor).st_ino
    return SegmentData(path, 0, data[:complete], data[complete:], 1, inode)


def _new_private_file(path: str, flags: int) -> int:
    # A new file, never a link's target: O_EXCL fails on anything already there.
    return os.open(path, flags | os.O_EXCL | os.O_NOFOLLOW, 0o600)
