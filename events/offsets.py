"""Where each contact's lines are in the log: a per-contact index of byte offsets.

``show`` prints one contact's history; without help it would read and split the whole
log to find it (a second and half a gigabyte at a million events). The index maps each
contact to the offsets, in each segment, of the lines about them (the event's
``contact`` or ``introduced`` is their handle), so ``show`` reads only those lines
(:mod:`coffeechat.events.timeline`).

It is a cache beside the snapshot (``cache/timeline.msgpack``), disposable like it, and
kept apart from it so that no other command ever reads or writes it: recording
commands leave it behind, and the next ``show`` indexes what was appended since. It is
trusted exactly as the snapshot is, segment by segment (:mod:`coffeechat.events.marks`):
a segment that only grew has its new lines indexed; any other change (an edit, a
shorter or replaced copy, a segment gone) rebuilds the whole index; a new segment (a
device that synced late) is indexed from its start.

Only the two fields are decoded to build it (much cheaper than whole events). The
offsets of one contact are kept as one packed array per segment, and the contacts are
spread over buckets by a hash of their handle, each bucket stored as undecoded bytes:
finding one contact decodes one bucket, not the whole index.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from array import array
from collections.abc import Iterator
from typing import Any, TypeAlias

import msgspec

from coffeechat.events.caches import replace_cache_file
from coffeechat.events.marks import (
    SegmentMark,
    crc32_of,
    extend_crc,
    file_clock_ns,
    mark_read,
    segment_statuses,
    trust_marks,
)

INDEX_NAME = "timeline.msgpack"
# The stored layout of the index: an index of another format is rebuilt. It reads the
# ``contact`` and ``introduced`` fields as lines store them: an upcaster that ever moves
# them must bump it.
INDEX_FORMAT = 1
_BUCKETS = 256
_BLOCK = 8 << 20  # read a segment this much at a time: indexing a big log stays small
_CHUNK = 1 << 16  # and decode it this much at a time (the log's own chunk)
# The index is written again once the lines it had to index since add up to this much
# (a few commands' worth is cheaper to index again than to write the index).
SAVE_AFTER_BYTES = 256 << 10

Located: TypeAlias = "dict[str, array[int]]"  # segment name → offsets of its lines


class _About(msgspec.Struct):
    """The only fields of an event the index reads (the others are skipped, not built)."""

    contact: Any = None
    introduced: Any = None


class StoredIndex(msgspec.Struct, array_like=True):
    """The index as stored: its format, the marks it was read up to, and the buckets."""

    format: int
    marks: list[SegmentMark]
    # Each bucket: handle → segment name → offsets (packed, see :func:`_pack`), undecoded.
    buckets: list[msgspec.Raw]


_decoder = msgspec.json.Decoder(_About)
_encoder = msgspec.msgpack.Encoder()
_stored_decoder = msgspec.msgpack.Decoder(StoredIndex)
_bucket_decoder = msgspec.msgpack.Decoder(dict[str, dict[str, bytes]])


class OffsetIndex:
    """The offsets index of one log, brought up to date when a contact is looked up.

    After :meth:`locate`, ``route`` says how: ``"cached"`` (the stored index, plus what
    was appended since), ``"rebuilt"`` (the whole log indexed), with ``reason`` why.
    """

    def __init__(self, log_dir: str | os.PathLike[str], cache_dir: str | os.PathLike[str]) -> None:
        self.log_dir = os.fspath(log_dir)
        self.cache_dir = os.fspath(cache_dir)
        self.index_file = os.path.join(self.cache_dir, INDEX_NAME)
        self.route = ""
        self.reason = ""

    def locate(self, handle: str) -> Located:
        """Return where the lines about ``handle`` are, in every segment (by name).

        Lines appended since the index was stored are indexed first (and the index
        written again once that is worth it); an index that cannot be trusted is rebuilt.
        """
        stored = _load(self.index_file)
        if isinstance(stored, str):
            return self._rebuild(handle, stored)
        trust = trust_marks(stored.marks, self.log_dir)
        if isinstance(trust, str):
            return self._rebuild(handle, trust)
        fresh: dict[str, Located] = {}
        marks: dict[str, SegmentMark] = {}
        indexed = 0
        for name, status in trust.statuses.items():
            mark = trust.marks.get(name)
            read = _index_segment(self.log_dir, name, mark, status, trust.clock, fresh)
            if read is None and mark is None:  # unreadable: a scan would not show it either
                continue
            if read is None or read.inode != status.st_ino:  # its offsets cannot be kept
                return self._rebuild(handle, f"{name} was replaced or hidden while it was read")
            marks[name] = read
            indexed += read.offset - (mark.offset if mark is not None else 0)
        self.route, self.reason = "cached", ""
        located = _merged(_entry(stored.buckets, handle), fresh.get(handle, {}))
        if indexed >= SAVE_AFTER_BYTES or trust.checked_bytes >= SAVE_AFTER_BYTES:
            self._save(list(marks.values()), _extended_buckets(stored.buckets, fresh))
        return located

    def _rebuild(self, handle: str, why: str) -> Located:
        """Index every segment from its start, store it, and return ``handle``'s lines."""
        self.route, self.reason = "rebuilt", why
        clock = file_clock_ns()
        statuses = segment_statuses(self.log_dir)
        found: dict[str, Located] = {}
        marks = []
        for name, status in statuses.items():
            mark = _index_segment(self.log_dir, name, None, status, clock, found)
            if mark is not None:
                marks.append(mark)
        self._save(marks, _extended_buckets([], found))
        return found.get(handle, {})

    def _save(self, marks: list[SegmentMark], buckets: list[msgspec.Raw]) -> None:
        stored = StoredIndex(INDEX_FORMAT, marks, buckets)
        # One that cannot be written is only a slower next show.
        replace_cache_file(self.cache_dir, INDEX_NAME, _encoder.encode(stored), make_folder=True)

    def forget(self) -> None:
        """Remove the stored index (it pointed at lines that are not what it says)."""
        _remove(self.index_file)


def _load(index_file: str) -> StoredIndex | str:
    """Return the stored index, or why there is none to use."""
    try:
        with open(index_file, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        return "no index"
    except OSError as error:
        return f"the index cannot be read ({error.strerror})"
    try:
        stored = _stored_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return "the index does not decode"
    if stored.format != INDEX_FORMAT or len(stored.buckets) != _BUCKETS:
        return "the index is of another format"
    return stored


def _index_segment(
    log_dir: str,
    name: str,
    mark: SegmentMark | None,
    status: os.stat_result,
    clock: int,
    found: dict[str, Located],
) -> SegmentMark | None:
    """Index a segment's complete lines from ``mark`` (its start without one) into
    ``found``; return the mark just past them, None if the segment cannot be read.

    A last line that is not even JSON is left out of the mark (the next writer cuts it
    off and appends in its place): it is looked at again next time.
    """
    start = mark.offset if mark is not None else 0
    crc, pending = (mark.crc, mark.pending) if mark is not None else (0, b"")
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        with open(os.open(os.path.join(log_dir, name), flags), "rb") as file:
            opened = os.fstat(file.fileno())
            if not stat.S_ISREG(opened.st_mode):
                return None
            file.seek(start)
            blocks = _complete_lines(file)
            block, position, end = next(blocks, None), start, start
            while block is not None:
                following = next(blocks, None)  # the last block may end in a torn write
                end = _index_block(block, position, name, found, last=following is None)
                crc, pending = extend_crc(crc, pending, memoryview(block)[: end - position])
                position += len(block)
                block = following
    except OSError:
        return None
    return mark_read(name, opened.st_ino, end, (crc, pending), status, clock)


def _complete_lines(file: Any) -> Iterator[bytes]:
    """Yield a file's complete lines from where it stands, a block of whole lines at a time."""
    rest = b""
    while True:
        data = file.read(_BLOCK)
        if not data:
            return
        data = rest + data
        cut = data.rfind(b"\n") + 1
        rest = data[cut:]
        if cut:
            yield data[:cut]


def _index_block(
    block: bytes, start: int, segment: str, found: dict[str, Located], *, last: bool
) -> int:
    """Index one block of complete lines that begins at offset ``start`` of a segment.

    Return the offset just past the lines indexed: the block's end or, for the ``last``
    block of the segment, the start of its last line if that is not even JSON (an
    interrupted write, which the next writer cuts off).
    """
    position, length = 0, len(block)
    end = start + length
    while position < length:
        cut = block.rfind(b"\n", position, position + _CHUNK) + 1
        if cut <= position:  # one line longer than a chunk
            cut = block.index(b"\n", position) + 1
        chunk = block[position:cut]
        lines = chunk.split(b"\n")[:-1]
        starts = []
        offset = start + position
        for line in lines:
            if line.strip():
                starts.append(offset)
            offset += len(line) + 1
        end = start + cut
        try:
            abouts = _decoder.decode_lines(chunk)
        except (msgspec.DecodeError, msgspec.ValidationError):
            abouts, starts = _decode_one_by_one(lines, start + position)
            if last and cut == length and lines[-1].strip() and not _is_json(lines[-1]):
                end -= len(lines[-1]) + 1
        for about, line_start in zip(abouts, starts, strict=True):
            for handle in (about.contact, about.introduced):
                if isinstance(handle, str):
                    _add(found, handle, segment, line_start)
        position = cut
    return end


def _decode_one_by_one(lines: list[bytes], start: int) -> tuple[list[_About], list[int]]:
    abouts, starts = [], []
    offset = start
    for line in lines:
        if line.strip():
            try:
                abouts.append(_decoder.decode(line))
                starts.append(offset)
            except (msgspec.DecodeError, msgspec.ValidationError):
                pass  # a damaged line: a scan leaves it out too (the state warns of it)
        offset += len(line) + 1
    return abouts, starts


def _is_json(line: bytes) -> bool:
    try:
        msgspec.json.decode(line)
    except msgspec.DecodeError:
        return False
    return True


def _add(found: dict[str, Located], handle: str, segment: str, offset: int) -> None:
    by_segment = found.get(handle)
    if by_segment is None:
        by_segment = found[handle] = {}
    offsets = by_segment.get(segment)
    if offsets is None:
        offsets = by_segment[segment] = array("Q")
    if not offsets or offsets[-1] != offset:  # a line about someone they introduced: once
        offsets.append(offset)


# --- buckets -------------------------------------------------------------------------------


def _bucket_of(handle: str) -> int:
    return crc32_of(handle.encode()) % _BUCKETS


def _entry(buckets: list[msgspec.Raw], handle: str) -> Located:
    """Return one contact's offsets from the stored buckets (decoding only theirs)."""
    if not buckets:
        return {}
    stored = _bucket_decoder.decode(buckets[_bucket_of(handle)]).get(handle, {})
    return {segment: _unpack(packed) for segment, packed in stored.items()}


def _merged(first: Located, then: Located) -> Located:
    merged = dict(first)
    for segment, offsets in then.items():
        merged[segment] = merged[segment] + offsets if segment in merged else offsets
    return merged


def _extended_buckets(buckets: list[msgspec.Raw], fresh: dict[str, Located]) -> list[msgspec.Raw]:
    """Return the buckets with ``fresh`` offsets added (the untouched ones as they were)."""
    touched: dict[int, list[str]] = {}
    for handle in fresh:
        touched.setdefault(_bucket_of(handle), []).append(handle)
    result = list(buckets) if buckets else [msgspec.Raw(_encoder.encode({}))] * _BUCKETS
    for number, handles in touched.items():
        bucket = _bucket_decoder.decode(result[number])
        for handle in handles:
            entry = bucket.setdefault(handle, {})
            for segment, offsets in fresh[handle].items():
                entry[segment] = entry.get(segment, b"") + _pack(offsets)
        result[number] = msgspec.Raw(_encoder.encode(bucket))
    return result


def _pack(offsets: array[int]) -> bytes:
    """Return offsets as stored: little-endian unsigned 64-bit integers, end to end."""
    if sys.byteorder != "little":
        offsets = array("Q", offsets)
        offsets.byteswap()
    return offsets.tobytes()


def _unpack(packed: bytes) -> array[int]:
    offsets = array("Q")
    offsets.frombytes(packed[: len(packed) - len(packed) % 8])
    if sys.byteorder != "little":
        offsets.byteswap()
    return offsets


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
