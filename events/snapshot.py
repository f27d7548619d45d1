"""A disposable cache of the projection, so that commands do not replay the whole log.

The snapshot holds the folded state (not the events: decoding events is the cost a
snapshot is meant to save), a mark for each segment, the projection version, and the
damaged lines met so far, so that their warnings keep being shown. Loading it and
folding what was appended since gives the same state as a full replay; a recording
command, which touches one or two contacts, may load it with each contact decoded only
when it is used (:class:`LazyContacts`).

The snapshot is never trusted over the log: each mark (:mod:`coffeechat.events.marks`)
holds the segment's status and the CRC of the bytes read, and a segment that changed
anywhere but after the mark, a segment gone, another format or version, a retraction in
the new data or an unreadable cache fall back to a full replay. Deleting the cache is
always safe.
"""

import gc
import os
import sys
import time
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

import msgspec

from coffeechat.events.caches import replace_cache_file
from coffeechat.events.errors import LogDamaged
from coffeechat.events.lazy import LazyContacts as LazyContacts
from coffeechat.events.links import Links, links_of
from coffeechat.events.log import (
    Appended,
    LogProblem,
    SegmentData,
    iter_segment_events,
    merge_segments,
    read_segments,
)
from coffeechat.events.marks import (
    SegmentMark,
    extended,
    file_clock_ns,
    mark_after_append,
    mark_read,
    moved_while_read,
    segment_statuses,
    trust_marks,
)
from coffeechat.events.model import Event, EventRetracted, order_key
from coffeechat.events.projection import (
    PROJECTION_VERSION,
    State,
    apply_all,
    replay,
    tail_needs_full_replay,
)

SNAPSHOT_NAME = "state.msgpack"
# How long a long-running reader waits for a writer's marks (CachedProjection._vouchers).
VOUCHER_WAIT = 0.1
MARKS_NAME = "marks.msgpack"  # the last snapshot's marks alone (CachedProjection._save_marks)
# The stored layout of the snapshot itself (the marks), beside the projection's version:
# a snapshot of another format is rebuilt. 2: marks hold the CRC and the file's status;
# 3: the links between contacts (events/links.py), so that ``show`` decodes only a few.
SNAPSHOT_FORMAT = 3
SAVE_AFTER_EVENTS = 200
# A load that had to read a segment again to check it saves its new marks once that read
# costs about what writing the snapshot does, so that the next load need not repeat it.
SAVE_AFTER_CHECKED_BYTES = 1 << 20
TRACE_VARIABLE = "COFFEECHAT_TRACE_SNAPSHOT"


_NO_LINKS: bytes = msgspec.msgpack.encode(Links())


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
    format: int = 0  # SNAPSHOT_FORMAT; snapshots written before it had none
    # The state's :class:`Links`, left undecoded by every command but ``show`` (and a
    # lazy writer's save): its own bytes, since ``Links`` is known only from format 3.
    links: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(_NO_LINKS))


_encoder = msgspec.msgpack.Encoder()


# The decoders are built on first use: building one costs about a millisecond.
@cache
def _full_decoder() -> msgspec.msgpack.Decoder[Snapshot]:
    return msgspec.msgpack.Decoder(Snapshot)


@cache
def _lazy_decoder() -> msgspec.msgpack.Decoder[Any]:
    """Reads :class:`Snapshot` with every contact kept as its undecoded bytes."""
    stored_state = _retyped(State, contacts=dict[str, msgspec.Raw])
    return msgspec.msgpack.Decoder(_retyped(Snapshot, state=stored_state))


@cache
def _links_decoder() -> msgspec.msgpack.Decoder[Links]:
    return msgspec.msgpack.Decoder(Links)


def _retyped(struct: type[msgspec.Struct], **types: Any) -> Any:
    """Return a struct type with the layout of ``struct`` but some fields' types replaced.

    Made from the struct's own fields, so that a field added there is never lost.
    """
    fields = []
    for field in msgspec.structs.fields(struct):
        default = field.default
        if field.default_factory is not msgspec.NODEFAULT:
            default = msgspec.field(default_factory=field.default_factory)
        fields.append((field.name, types.get(field.name, field.type), default))
    # Keyword-only, so that a field without a default may follow one with a default.
    return msgspec.defstruct(f"Stored{struct.__name__}", fields, kw_only=True)


class CachedProjection:
    """The state of one log, loaded through its snapshot and kept current after appends.

    :meth:`load` gives the current state; :meth:`appended` folds what this process has
    just written and refreshes the snapshot, so that the next command finds nothing new
    to read (and need not even build the log's decoder).

    After each :meth:`load` or :meth:`refresh`, ``route`` says how the state was had
    (``"cached"``: the snapshot or the state held, plus what followed its marks;
    ``"replay"``: the whole log), ``reason`` why (empty when nothing had changed), and
    ``checked`` the segments whose content had to be read again to trust the marks.
    With ``COFFEECHAT_TRACE_SNAPSHOT=1`` in the environment the same is printed as one
    line on stderr: ``snapshot: cached`` or ``snapshot: replay (why)``.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str],
        cache_dir: str | os.PathLike[str],
        *,
        lazy_contacts: bool = False,
    ) -> None:
        self.log_dir = os.fspath(log_dir)
        self.lazy_contacts = lazy_contacts
        self.cache_dir = os.fspath(cache_dir)
        self.cache_file = os.path.join(self.cache_dir, SNAPSHOT_NAME)
        self.marks_file = os.path.join(self.cache_dir, MARKS_NAME)
        self.state: State | None = None
        self.marks: dict[str, SegmentMark] = {}
        # The links of ``state`` as last known (as stored, or decoded), and the contacts
        # changed since: :meth:`links` brings them up to date without looking at the rest.
        self._links: Links | msgspec.Raw | None = None
        self._touched: set[str] = set()
        self.problems: list[LogProblem] = []
        self.route = ""
        self.reason = ""
        self.checked: list[str] = []

    def load(self, problems: list[LogProblem]) -> State:
        """Return the current state of the log, through the snapshot where it is valid.

        Problems met (including those remembered by the snapshot) are appended to
        ``problems``. The snapshot is refreshed when enough new events were folded.
        """
        self.checked = []
        snapshot = _load(self.cache_file, self.lazy_contacts)
        state = None
        self._links, self._touched = None, set()
        if isinstance(snapshot, str):
            self.reason = snapshot
        else:
            self._links = snapshot.links
            remembered = [
                LogProblem(p.path, p.line, p.kind, p.reason)  # type: ignore[arg-type]
                for p in snapshot.problems
            ]
            state = self._fold_tail(snapshot.state, snapshot.marks, remembered)
        return self._finish(state, problems)

    def refresh(self, problems: list[LogProblem], own: str | None = None) -> State:
        """Return the state this object holds plus what was appended since, without
        reading the snapshot file again (a long-running process calls this). ``own``:
        the segment this device's commands append to (their marks are waited for)."""
        self.checked = []
        state = None
        if self.state is None:
            self.reason = "no state held yet"
        else:
            vouched = self._vouchers(own)
            state = self._fold_tail(self.state, list(self.marks.values()), self.problems, vouched)
        return self._finish(state, problems)

    def _vouchers(self, own: str | None) -> dict[str, SegmentMark] | None:
        """Return the marks the last writer saved, waiting a little for them when ``own``
        (this device's segment) changed since this process's mark and they do not
        describe it yet.

        A command's append wakes the daemon before the command has saved its marks (it
        fsyncs first): up to :data:`VOUCHER_WAIT` seconds are spent on a few looks rather
        than on reading the whole segment again. Another device's segment (a sync tool
        writes it, and vouches for nothing) is not waited for.
        """
        statuses = segment_statuses(self.log_dir)
        vouched = _read_marks(self.marks_file)
        deadline = time.monotonic() + VOUCHER_WAIT
        while True:
            mark, status = self.marks.get(own or ""), statuses.get(own or "")
            voucher = vouched.get(own or "") if vouched else None
            if (
                mark is None
                or status is None
                or _describes(mark, status)
                or (voucher is not None and _describes(voucher, status))
                or time.monotonic() >= deadline
            ):
                return vouched
            time.sleep(VOUCHER_WAIT / 10)
            statuses = segment_statuses(self.log_dir)
            vouched = _read_marks(self.marks_file)

    def _fold_tail(
        self,
        state: State,
        marks: list[SegmentMark],
        known: list[LogProblem],
        vouched: dict[str, SegmentMark] | None = None,
    ) -> State | None:
        """Fold what follows ``marks`` into ``state``; None when only a full replay will do.

        ``vouched``: later marks from the last snapshot written (see :func:`trust_marks`).
        """
        trust = trust_marks(marks, self.log_dir, vouched)
        if isinstance(trust, str):
            self.reason = trust
            return None
        self.checked = trust.checked
        tail = read_segments(self.log_dir, trust.offsets)
        moved = moved_while_read(tail, trust)
        if moved is not None:
            self.reason = moved
            return None
        if tail_needs_full_replay(tail) or _arrived_late(tail, state):
            self.reason = "the new lines hold a retraction or events older than the snapshot"
            return None
        new_problems: list[LogProblem] = []
        before = state.events
        merged = merge_segments([iter_segment_events(s, new_problems) for s in tail])
        apply_all(state, _noting_contacts(merged, self._touched))
        self.problems = [*known, *new_problems]
        self._remember(state, tail, trust.statuses, trust.clock, trust.marks)
        if (
            state.events - before >= SAVE_AFTER_EVENTS
            or new_problems
            or trust.checked_bytes >= SAVE_AFTER_CHECKED_BYTES
        ):
            self._save()
        self.reason = f"checked {', '.join(trust.checked)}: changed since" if trust.checked else ""
        return state

    def _finish(self, state: State | None, problems: list[LogProblem]) -> State:
        self.route = "cached"
        if state is None:  # no usable snapshot: replay everything
            self.route = "replay"
            clock = file_clock_ns()
            statuses = segment_statuses(self.log_dir)  # taken before the bytes are read
            segments = read_segments(self.log_dir)
            self.problems = []
            state = replay(segments, self.problems)
            self._links, self._touched = None, set()
            self._remember(state, segments, statuses, clock, {})
            if segments:
                self._save()
        if os.environ.get(TRACE_VARIABLE):
            why = f" ({self.reason})" if self.reason else ""
            sys.stderr.write(f"snapshot: {self.route}{why}\n")
        problems.extend(self.problems)
        return state

    def appended(self, events: list[Event], written: Appended) -> None:
        """Fold events this process has just appended, and refresh the snapshot.

        Only when nothing else was appended to that segment since :meth:`load` (the write
        began where the snapshot stands): otherwise the next load reads the news itself.
        """
        mark = self.marks.get(written.segment)
        expected = (mark.inode, mark.offset) if mark is not None else (written.inode, 0)
        if self.state is None or expected != (written.inode, written.start):
            return
        if any(isinstance(event, EventRetracted) for event in events):
            return  # a retraction is folded by a full replay, at the next load
        latest = self.state.last_hlc
        if any(order_key(event) <= latest for event in events):
            return  # not after all that was folded (not stamped from it): the next load merges
        for _ in _noting_contacts(events, self._touched):
            pass
        try:
            apply_all(self.state, events)
        except LogDamaged:
            return  # the cache was damaged and is gone: the next load replays the log
        moved_on = mark_after_append(self.log_dir, written, events, mark)
        if moved_on is None:  # the segment does not hold what was written: trust nothing
            self.state = None
            return
        self.marks[written.segment] = moved_on
        self._save_marks()  # first: a long-running reader may be waiting for them
        self._save()

    def _remember(
        self,
        state: State,
        segments: list[SegmentData],
        statuses: dict[str, os.stat_result],
        clock: int,
        bases: dict[str, SegmentMark],
    ) -> None:
        """Hold ``state`` and mark where each segment was read up to.

        ``statuses``: each segment's status, taken before it was read, and ``clock`` the
        file times' clock read before those (see :func:`is_settled`); ``bases``: the mark
        each segment read from an offset was read from.
        """
        self.state = state
        self.marks = {}
        for segment in segments:
            name = os.path.basename(segment.path)
            offset = _resume_offset(segment, self.problems)
            read = memoryview(segment.data)[: offset - segment.start]
            self.marks[name] = mark_read(
                name,
                segment.inode,
                offset,
                extended(bases.get(name), read),
                statuses.get(name),
                clock,
            )

    def links(self) -> Links:
        """Return the links between the contacts of the state held (see
        :mod:`coffeechat.events.links`): from the snapshot's and the contacts changed
        since, when known (no other contact is decoded), else from every contact."""
        assert self.state is not None
        contacts = self.state.contacts
        known = self._links
        if isinstance(known, msgspec.Raw):
            try:
                known = _links_decoder().decode(known)
            except (msgspec.DecodeError, msgspec.ValidationError):
                known = None  # a damaged cache: look at everyone instead
        if known is None:
            links = links_of(contacts)
        else:
            touched = self._touched
            if isinstance(contacts, LazyContacts):  # and whatever else was decoded
                touched = touched | contacts.decoded()
            links = links_of(contacts, known, touched)
        self._links, self._touched = links, set()
        return links

    def _save(self) -> None:
        assert self.state is not None
        snapshot = Snapshot(
            version=PROJECTION_VERSION,
            marks=list(self.marks.values()),
            problems=[
                StoredProblem(p.path, p.line, p.kind, p.reason)
                for p in self.problems
                if p.kind != "torn"
            ],
            state=self.state,
            format=SNAPSHOT_FORMAT,
            links=msgspec.Raw(_encoder.encode(self.links())),
        )
        # A cache that cannot be written is only a slower next start.
        if replace_cache_file(
            self.cache_dir, SNAPSHOT_NAME, _encoder.encode(snapshot), make_folder=True
        ):
            self._save_marks()

    def _save_marks(self) -> None:
        """Write the marks alone beside the snapshot (``marks.msgpack``, a few hundred
        bytes): a long-running reader (the daemon) checks what another process appended
        against them, without reading the snapshot or the segments' old bytes."""
        replace_cache_file(self.cache_dir, MARKS_NAME, _encoder.encode(list(self.marks.values())))


def _describes(mark: SegmentMark, status: os.stat_result) -> bool:
    """Whether ``mark`` was taken of the segment as ``status`` shows it now."""
    seen = (status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
    return seen == (mark.inode, mark.size, mark.mtime_ns, mark.ctime_ns)


def _read_marks(path: str) -> dict[str, SegmentMark] | None:
    """Return the marks the last snapshot was written with, by segment; None if unreadable.

    They are only ever a shortcut: a mark that does not describe its segment as it is now
    proves nothing (:func:`~coffeechat.events.marks.grew_as_vouched`).
    """
    try:
        with open(path, "rb") as file:
            marks = msgspec.msgpack.decode(file.read(), type=list[SegmentMark])
    except (OSError, msgspec.DecodeError):
        return None
    return {mark.name: mark for mark in marks}


def _noting_contacts(events: Iterable[Event], touched: set[str]) -> Iterator[Event]:
    """Yield ``events``, adding to ``touched`` the contact each one is about."""
    for event in events:
        contact = getattr(event, "contact", None)
        if contact is not None:
            touched.add(contact)
        yield event


def _arrived_late(tail: list[SegmentData], state: State) -> bool:
    """Whether new data holds events that do not sort after every folded one (a late sync).

    The fold applies events in causal order (``order_key``: profile corrections and
    leases depend on it): an event that sorts before a folded one, or ties with it (the
    same event met again, or a tie the segments' names break), needs a full replay.
    """
    latest = state.last_hlc
    if not latest or not any(segment.data for segment in tail):
        return False
    for segment in tail:
        for event in iter_segment_events(segment, []):
            if order_key(event) <= latest:
                return True
    return False


def load_state(
    log_dir: str | os.PathLike[str], cache_dir: str | os.PathLike[str], problems: list[LogProblem]
) -> State:
    """Return the current state of the log, through the snapshot where it is valid."""
    return CachedProjection(log_dir, cache_dir).load(problems)


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def _load(cache_file: str, lazy_contacts: bool = False) -> Snapshot | str:
    """Return the snapshot in ``cache_file``, or why there is none to use."""
    try:
        with open(cache_file, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        return "no snapshot"
    except OSError as error:
        return f"the snapshot cannot be read ({error.strerror})"
    # The decoded state holds no cycles: a collection in the middle of building it would
    # only walk every object made so far (half the cost of decoding a big snapshot).
    collecting = gc.isenabled()
    gc.disable()
    try:
        if not lazy_contacts:
            snapshot = _full_decoder().decode(data)
        else:
            stored = _lazy_decoder().decode(data)
            fields = {name: getattr(stored.state, name) for name in State.__struct_fields__}
            fields["contacts"] = LazyContacts(stored.state.contacts, cache_file)
            snapshot = Snapshot(
                stored.version,
                stored.marks,
                stored.problems,
                State(**fields),
                stored.format,
                stored.links,
            )
    except (msgspec.DecodeError, msgspec.ValidationError):
        return "the snapshot does not decode"
    finally:
        if collecting:
            gc.enable()
    if snapshot.format != SNAPSHOT_FORMAT or snapshot.version != PROJECTION_VERSION:
        return "the snapshot is of another format or projection version"
    return snapshot


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
