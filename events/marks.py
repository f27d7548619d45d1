"""Marks: how far the snapshot has read each segment, and whether that still holds.

The snapshot (:mod:`coffeechat.events.snapshot`) is never trusted over the log. A mark
says how far into a segment the snapshot has read (``offset``), the CRC-32 of the bytes
before it, and the file's status (inode, size, mtime, ctime) taken before they were
read. A segment whose status is the one its mark holds is unchanged (every write changes
ctime; a status counts as proof only once the clock has ticked past it, see
:func:`is_settled`, and a writer makes its own append provable at once, see
:func:`mark_after_append`): one ``stat`` per segment. A segment whose status differs is
read again up to the offset and its CRC compared: the same bytes mean it only grew (or
was replaced by a longer copy of itself) and only the rest need be read; other bytes (an
edit, an insertion, a shorter or different copy) mean a full replay.
"""

import contextlib
import os
import sys
import time
from collections.abc import Mapping

import msgspec

from coffeechat.events.log import Appended, SegmentData, segment_paths
from coffeechat.events.model import Event, encode_lines

_CHECK_CHUNK = 1 << 20
# The bytes a mark keeps as they are rather than in its CRC: appending a command's events
# then costs no CRC (nor the import of its module) until they add up to this.
_PENDING_MAX = 4096
# File times are stamped from the coarse real-time clock on Linux (5 where the time
# module does not name it).
_COARSE_CLOCK: int | None = getattr(
    time, "CLOCK_REALTIME_COARSE", 5 if sys.platform == "linux" else None
)


class SegmentMark(msgspec.Struct, array_like=True):
    """How far into one segment the snapshot has read, and how to tell it is unchanged.

    The segment's bytes before ``offset`` are ``pending`` (the last few, kept as they
    are) preceded by bytes whose CRC-32 is ``crc``. ``size``, ``mtime_ns`` and ``ctime_ns``
    (with ``inode``) are the file's status taken before those bytes were read; ``settled``
    says whether any later write must change that status. An unsettled mark (or one whose
    status no longer matches) is checked against the bytes.
    """

    name: str
    inode: int
    offset: int
    crc: int = 0
    pending: bytes = b""
    size: int = -1
    mtime_ns: int = -1
    ctime_ns: int = -1
    settled: bool = False


class Trust:
    """What the marks allow: the offset each segment is read from, and what was seen.

    ``statuses``: every segment's status, taken (after ``clock``) before it is read;
    ``marks``: the trusted mark of each segment read from an offset; ``checked``: the
    segments that had to be read again to be trusted, ``checked_bytes`` in all.
    """

    def __init__(self) -> None:
        self.clock = file_clock_ns()
        self.offsets: dict[str, int] = {}
        self.statuses: dict[str, os.stat_result] = {}
        self.marks: dict[str, SegmentMark] = {}
        self.checked: list[str] = []
        self.checked_bytes = 0


def trust_marks(
    known: list[SegmentMark], log_dir: str, vouched: Mapping[str, SegmentMark] | None = None
) -> Trust | str:
    """Decide from which offset each segment can be read on; or say why none will do.

    A segment whose status is the one its settled mark holds is unchanged (one ``stat``).
    Any other is read again up to its mark and trusted only if those bytes have the
    mark's CRC: then it only grew (or was replaced by a longer copy of itself).

    ``vouched``: marks another process wrote since (the last snapshot's, see
    :func:`grew_as_vouched`): a segment one of them describes as it is now is trusted by
    reading only the bytes between the two marks, not everything before ``offset``.
    """
    marks = {mark.name: mark for mark in known}
    trust = Trust()
    # A segment gone since it was listed has no status: told below if the snapshot read it.
    trust.statuses = segment_statuses(log_dir)
    for name, status in trust.statuses.items():
        mark = marks.get(name)
        if mark is None:
            continue  # a new segment: read from the start
        voucher = vouched.get(name) if vouched is not None else None
        path = os.path.join(log_dir, name)
        if not (mark.settled and _same_status(status, mark)) and not (
            voucher is not None and grew_as_vouched(path, mark, voucher, status)
        ):
            changed = _changed_before_offset(path, mark, status)
            if changed is not None:
                return changed
            trust.checked.append(name)
            trust.checked_bytes += mark.offset
        trust.offsets[name] = mark.offset
        trust.marks[name] = mark
    gone = sorted(set(marks) - set(trust.offsets))
    if gone:  # its events must leave the state too
        return f"{gone[0]} is gone"
    return trust


def _same_status(status: os.stat_result, mark: SegmentMark) -> bool:
    seen = (status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
    return seen == (mark.inode, mark.size, mark.mtime_ns, mark.ctime_ns)


def grew_as_vouched(
    path: str, mark: SegmentMark, voucher: SegmentMark, status: os.stat_result
) -> bool:
    """Whether the segment at ``path`` holds ``mark``'s bytes, as ``voucher`` proves.

    ``voucher`` is a later mark of the same segment (another process's, after its
    append). When its status is the segment's now and settled, the segment's first
    ``voucher.offset`` bytes are the ones it sums up: a CRC of those before its pending
    bytes. If reading on from ``mark``'s CRC over the bytes between the two gives
    ``voucher``'s CRC (a CRC continues over appended bytes, and for given bytes different
    starting CRCs give different results), and ``mark``'s pending bytes are where it says,
    the segment only grew since ``mark``: only those few bytes are read, not all before
    ``mark.offset``. False whenever that cannot be shown (then the caller checks all).
    """
    base, until = mark.offset - len(mark.pending), voucher.offset - len(voucher.pending)
    if not (
        voucher.settled
        and voucher.inode == mark.inode
        and _same_status(status, voucher)
        and until >= base
        and voucher.offset >= mark.offset
    ):
        return False
    try:
        with open(path, "rb") as file:
            file.seek(base)
            between = file.read(max(until, mark.offset) - base)
    except OSError:
        return False
    return (
        between.startswith(mark.pending)
        and len(between) == max(until, mark.offset) - base
        and crc32_of(between[: until - base], mark.crc) == voucher.crc
    )


def _changed_before_offset(path: str, mark: SegmentMark, status: os.stat_result) -> str | None:
    """Read a segment up to its mark again; say how it changed there, None if it did not."""
    if status.st_size < mark.offset:
        return f"{mark.name} is shorter than the snapshot read ({status.st_size} < {mark.offset})"
    crc, left = 0, mark.offset - len(mark.pending)
    try:
        with open(path, "rb") as file:
            while left:
                chunk = file.read(min(left, _CHECK_CHUNK))
                if not chunk:
                    break
                crc = crc32_of(chunk, crc)
                left -= len(chunk)
            pending = file.read(len(mark.pending)) if mark.pending else b""
    except OSError as error:
        return f"{mark.name} cannot be read again ({error.strerror})"
    if left or crc != mark.crc or pending != mark.pending:
        return f"{mark.name} changed before byte {mark.offset}"
    return None


def moved_while_read(tail: list[SegmentData], trust: Trust) -> str | None:
    """Say which segment the read found replaced or gone since its mark was trusted."""
    inodes = {os.path.basename(segment.path): segment.inode for segment in tail}
    for name in trust.offsets:
        if inodes.get(name) != trust.statuses[name].st_ino:
            return f"{name} was replaced or removed while it was read"
    return None


def segment_statuses(log_dir: str) -> dict[str, os.stat_result]:
    statuses = {}
    for path in segment_paths(log_dir):
        with contextlib.suppress(FileNotFoundError):
            statuses[os.path.basename(path)] = os.stat(path)
    return statuses


def file_clock_ns() -> int:
    """Read the clock the kernel stamps file times with (Linux: the coarse real-time one)."""
    if _COARSE_CLOCK is not None:
        return time.clock_gettime_ns(_COARSE_CLOCK)
    return time.time_ns() - 20_000_000  # elsewhere, assume it ticks at least every 20 ms


def is_settled(status: os.stat_result, clock_before: int) -> bool:
    """Whether any later write to the file must change the status ``status`` shows.

    A write stamps ctime from a clock that ticks every few milliseconds (every second or
    two on filesystems that keep whole seconds), so another write in the same tick could
    leave the status as it was. ``clock_before`` is that clock, read before the status
    was taken: once it is past the ctime, any later write stamps a later one.
    """
    changed = status.st_ctime_ns
    if changed % 1_000_000 == 0:  # whole milliseconds or seconds: a coarse filesystem
        return clock_before > changed + 2_000_000_000
    return clock_before > changed


def crc32_of(data: bytes | memoryview, crc: int = 0) -> int:
    if not data:
        return crc
    from binascii import crc32  # only when bytes are to be checked (~0.2 ms to import)

    return crc32(data, crc)


def extended(mark: SegmentMark | None, data: bytes | memoryview) -> tuple[int, bytes]:
    """Return the ``crc`` and ``pending`` of a mark's bytes (none without a mark) followed
    by ``data``: kept as they are while few, folded into the CRC beyond that."""
    crc, pending = (mark.crc, mark.pending) if mark is not None else (0, b"")
    return extend_crc(crc, pending, data)


def extend_crc(crc: int, pending: bytes, data: bytes | memoryview) -> tuple[int, bytes]:
    """Return the ``crc`` and ``pending`` of the bytes ``crc`` and ``pending`` stand for,
    followed by ``data`` (bytes read a block at a time extend them block by block)."""
    if not data:
        return crc, pending
    if len(pending) + len(data) <= _PENDING_MAX:
        return crc, pending + data
    return crc32_of(data, crc32_of(pending, crc)), b""


def mark_read(
    name: str,
    inode: int,
    offset: int,
    crc_and_pending: tuple[int, bytes],
    status: os.stat_result | None,
    clock: int,
) -> SegmentMark:
    """Return the mark of a segment read up to ``offset`` (its bytes before it summed up in
    ``crc_and_pending``), given its status taken before the read and the file clock read
    before that (see :func:`is_settled`).

    A segment without a status, or replaced between the look and the read (another
    inode), gets a mark without one: the next reader checks its bytes.
    """
    crc, pending = crc_and_pending
    if status is None or status.st_ino != inode:
        return SegmentMark(name, inode, offset, crc, pending)
    return SegmentMark(
        name,
        inode,
        offset,
        crc,
        pending,
        status.st_size,
        status.st_mtime_ns,
        status.st_ctime_ns,
        is_settled(status, clock),
    )


def mark_after_append(
    log_dir: str, written: Appended, events: list[Event], previous: SegmentMark | None
) -> SegmentMark | None:
    """Return the mark just past this process's own append (``previous``: the mark it
    began at), or None when the segment does not hold exactly those events there.

    The status right after a write proves nothing for a clock tick (see
    :func:`is_settled`), so the writer sets the file's mtime one nanosecond back: every
    later write stamps a later mtime, whatever the clock, so the status is settled at
    once and the next command trusts it with one ``stat``.
    """
    path = os.path.join(log_dir, written.segment)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        status = os.fstat(descriptor)
        if status.st_ino != written.inode or status.st_size < written.end:
            return None
        data = os.pread(descriptor, written.end - written.start, written.start)
        if data != encode_lines(events):
            return None
        crc, pending = extended(previous, data)
        if status.st_size != written.end:  # another append followed: the next load checks
            return SegmentMark(written.segment, written.inode, written.end, crc, pending)
        with contextlib.suppress(OSError):
            os.utime(descriptor, ns=(status.st_atime_ns, status.st_mtime_ns - 1))
        after = os.fstat(descriptor)
    except OSError:
        return None
    finally:
        os.close(descriptor)
    settled = after.st_mtime_ns < status.st_mtime_ns and after.st_size == written.end
    return SegmentMark(
        written.segment,
        written.inode,
        written.end,
        crc,
        pending,
        after.st_size,
        after.st_mtime_ns,
        after.st_ctime_ns,
        settled,
    )
