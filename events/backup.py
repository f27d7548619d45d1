"""The whole log as one file, and back: ``export json`` and ``import json``.

The backup is JSON Lines: every event of every segment, one per line, byte for byte as
the segment stores it (ids, times, devices, versions: nothing is decoded and encoded
again, and an event of a type this version does not know is kept too), in the order the
log merges its segments: the hybrid logical clock ``hlc`` (``recorded`` for events
written before it existed), ties going to the segment whose name sorts first; each
segment keeps its own file order.

A restore writes each event to the segment of the device named in it, in the order of
the file: every segment comes back as it was, so exporting the restored home gives the
same bytes. It is the one time coffeechat writes a segment of another device, which is
why it only ever restores into an empty home (no segment at all), and builds the whole
log folder aside before renaming it into place.
"""

import heapq
import os
from collections.abc import Iterator
from datetime import datetime

import msgspec

from coffeechat.events.clock import micros
from coffeechat.events.errors import UserError
from coffeechat.events.ids import is_device_id
from coffeechat.events.log import (
    QUARANTINE_SUFFIX,
    SEGMENT_SUFFIX,
    LogProblem,
    SegmentData,
    fsync_folder,
)
from coffeechat.events.model import TAGS


class Envelope(msgspec.Struct):
    """What every stored event carries, whatever its type: enough to order and route it."""

    type: str
    id: str
    recorded: datetime
    device: str
    hlc: int = 0

    @property
    def order(self) -> int:
        """The fold's ordering key (``model.order_key``), without decoding the event."""
        return self.hlc or micros(self.recorded)


_envelopes = msgspec.json.Decoder(Envelope)


def _lines(segment: SegmentData, problems: list[LogProblem]) -> Iterator[tuple[int, bytes]]:
    """Yield (ordering key, line with its newline) for each event of a segment."""
    unreadable = getattr(segment, "unreadable", "")
    if unreadable:
        problems.append(LogProblem(segment.path, 0, "bad", unreadable))
        return
    data = segment.data
    position = 0
    index = 0
    while position < len(data):
        end = data.index(b"\n", position) + 1
        line = data[position:end]
        position = end
        index += 1
        if not line.strip():
            continue
        try:
            envelope = _envelopes.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            number = segment.line_number(index - 1)
            problems.append(LogProblem(segment.path, number, "bad", f"left out: {error}"))
            continue
        yield envelope.order, line
    if segment.torn:
        number = segment.line_number(index)
        problems.append(LogProblem(segment.path, number, "torn", "no newline at the end"))


def export_lines(segments: list[SegmentData], problems: list[LogProblem]) -> Iterator[bytes]:
    """Yield every event line of the segments in the log's merge order.

    A line that is not an event at all (damage) is left out and noted in ``problems``,
    as is a torn last line; ``coffeechat fsck`` tells more.
    """
    streams = [_lines(segment, problems) for segment in segments]
    for _, line in heapq.merge(*streams, key=lambda pair: pair[0]):
        yield line


def log_is_empty(log_dir: str) -> bool:
    """Whether a log folder holds no segment (and no quarantined lines) at all."""
    try:
        names = os.listdir(log_dir)
    except FileNotFoundError:
        return True
    return not any(name.endswith((SEGMENT_SUFFIX, QUARANTINE_SUFFIX)) for name in names)


def split_backup(data: bytes, source: str) -> dict[str, list[bytes]]:
    """Given a backup's bytes, return each device's lines, in the backup's order.

    Raise UserError naming ``source`` and the line for anything that is not a stored
    event: a restore writes all of it or nothing.
    """
    segments: dict[str, list[bytes]] = {}
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            envelope = _envelopes.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise UserError(
                f"{source}:{number}: not an event of a coffeechat log ({error})"
            ) from None
        # Only a device id names a segment: nothing in it can leave the log folder.
        if not is_device_id(envelope.device):
            raise UserError(f"{source}:{number}: {envelope.device!r} is not a device id")
        if envelope.type in TAGS:
            _check_known(line, source, number)
        segments.setdefault(envelope.device, []).append(line + b"\n")
    if not segments:
        raise UserError(f"{source}: no events in it")
    return segments


def _check_known(line: bytes, source: str, number: int) -> None:
    from coffeechat.events.upcast import decode_event

    try:
        decode_event(line)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise UserError(f"{source}:{number}: a damaged event ({error})") from None


def restore(segments: dict[str, list[bytes]], data_dir: str) -> str:
    """Write the segments as the log folder of an empty home; return the folder.

    The folder is built aside (``.log.restore-PID``), every file fsynced, then renamed
    to ``log``: an interruption leaves no partial log. An existing ``log`` without
    segments (a sync tool's folder, or a link to one) receives each file by a hard link
    that never replaces a file. Raise UserError if the home's log is not empty (checked
    before writing anything, and again by the rename or the links).
    """
    log_dir = os.path.join(data_dir, "log")
    if not log_is_empty(log_dir):
        raise UserError(
            f"{log_dir} already holds a log: import json restores into an empty home only "
            "(give a new folder with --home)"
        )
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    staging = os.path.join(data_dir, f".log.restore-{os.getpid()}")
    os.mkdir(staging, 0o700)
    try:
        for device, lines in sorted(segments.items()):
            path = os.path.join(staging, device + SEGMENT_SUFFIX)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(b"".join(lines))
                file.flush()
                os.fsync(file.fileno())
        fsync_folder(staging)
        if os.path.lexists(log_dir):  # a sync tool's folder (or a link to one): file by file
            _move_each(staging, log_dir)
        else:
            try:
                os.rename(staging, log_dir)  # the whole folder at once
            except OSError:
                _move_each(staging, log_dir)  # made meanwhile
        fsync_folder(data_dir)
    finally:
        _remove_tree(staging)
    return log_dir


def _move_each(staging: str, log_dir: str) -> None:
    """Link each staged segment into an existing log folder, none over an existing file."""
    linked: list[str] = []
    try:
        for name in sorted(os.listdir(staging)):
            target = os.path.join(log_dir, name)
            os.link(os.path.join(staging, name), target)
            linked.append(target)
    except OSError:
        for target in linked:
            os.unlink(target)
        raise UserError(f"{log_dir} changed while restoring: nothing was restored") from None
    fsync_folder(log_dir)


def _remove_tree(folder: str) -> None:
    if not os.path.isdir(folder):
        return
    for name in os.listdir(folder):
        os.unlink(os.path.join(folder, name))
    os.rmdir(folder)
