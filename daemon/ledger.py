"""The delivery ledger, and the lock that lets one process at a time deliver.

The ledger is the log: each delivery is appended as ``notification.sent``. When the log
cannot be written (a read-only ``log/``, a full disk, a file size limit), what the daemon
delivered is not forgotten: :class:`Ledger` keeps it, in memory and in a small file
beside ``log/`` (``unrecorded.jsonl`` in the data folder, which is never synced), counts
it as delivered, so nothing is delivered twice, and appends it as soon as the log can be
written. The file is there for a restart while the log is still unwritable: the next
daemon (or ``--once``) reads it and does not deliver again. When it cannot be written
either (a full disk holding both), the entries are kept in memory only, and that is said.

Each cause is said once (the log and the systemd status line carry it) until the log
can be written again.

Everything here runs under the delivery lock (:class:`DeliveryLock`), so two processes
never flush the same entries.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Callable, Iterable

from coffeechat.events import model as m
from coffeechat.events.log import iter_segment_events, read_segments

LOG = logging.getLogger("coffeechat.daemon")

UNRECORDED_NAME = "unrecorded.jsonl"


def describe(error: OSError) -> str:
    """Return an OSError as a short cause: ``No space left on device`` (and the file)."""
    reason = error.strerror or type(error).__name__
    return f"{reason}: {error.filename}" if error.filename else reason


class DeliveryLock:
    """The home's delivery lock (``daemon.lock`` in the data folder): a daemon and a
    ``--once``, or two daemons, on one home take turns delivering."""

    def __init__(self, data_dir: str) -> None:
        self.path = os.path.join(data_dir, "daemon.lock")
        self.descriptor: int | None = None
        self.held = False
        self.problem: str | None = None

    def acquire(self, blocking: bool) -> bool:
        """Take the lock (waiting for it when ``blocking``); return whether it is held.

        A lock file that cannot be opened is said once, and delivery goes on without it.
        """
        if self.held:
            return True
        try:
            if self.descriptor is None:
                os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
                flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
                self.descriptor = os.open(self.path, flags, 0o600)
        except OSError as error:
            if self.problem != describe(error):
                self.problem = describe(error)
                LOG.error("cannot take the delivery lock (%s): delivering without it", self.problem)
            return True
        try:
            fcntl.flock(self.descriptor, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        self.held = True
        return True

    def release(self) -> None:
        """Let another process deliver."""
        if self.held and self.descriptor is not None:
            fcntl.flock(self.descriptor, fcntl.LOCK_UN)
        self.held = False

    def close(self) -> None:
        """Release the lock and close its file (the home was replaced: a new one is due)."""
        self.release()
        if self.descriptor is not None:
            os.close(self.descriptor)
            self.descriptor = None


class Ledger:
    """What the daemon has to append to the log, kept until it is appended.

    ``write(events)`` appends a batch to the log (one fsynced write) or raises OSError.
    """

    def __init__(self, data_dir: str, log_dir: str, write: Callable[[list[m.Event]], None]) -> None:
        self.path = os.path.join(data_dir, UNRECORDED_NAME)
        self.log_dir = log_dir
        self.write = write
        self.pending: list[m.Event] = []
        self.problem: str | None = None  # why the log cannot be written, while it cannot
        self.kept_problem: str | None = None  # why the file cannot be written, if it cannot
        self.in_file: set[str] = set()  # ids of the events this process last wrote to it

    # --- recording ----------------------------------------------------------------------

    def record(self, events: Iterable[m.Event]) -> None:
        """Append ``events`` to the log, or keep them until that works (:meth:`flush`)."""
        self.pending.extend(events)
        self.flush()

    def flush(self) -> bool:
        """Append what is waiting (this process's, and what a previous one left in the
        file); return whether nothing is left waiting."""
        self._take_over_file()
        if not self.pending:
            return True
        try:
            self.write(self.pending)
        except OSError as error:
            cause = describe(error)
            if cause != self.problem:
                self.problem = cause
                LOG.error(
                    "cannot record deliveries in the log (%s): %d kept until it can be "
                    "written, and not delivered again meanwhile",
                    cause,
                    len(self.pending),
                )
            self._keep()
            return False
        if self.problem is not None:
            LOG.warning(
                "the log can be written again: recorded %d deliveries that were waiting",
                len(self.pending),
            )
        self.problem = None
        self.pending = []
        self._forget()
        self.in_file = set()
        return True

    # --- what is waiting counts as recorded ---------------------------------------------

    def taken(self, reminder: str, occurrence: str) -> set[str]:
        """Return the channels that took this delivery, as far as what is waiting says."""
        from coffeechat.events.projection import occurrence_key

        return {
            channel
            for event in self.pending
            if isinstance(event, m.NotificationSent)
            and event.reminder == reminder
            and occurrence_key(event.occurrence) == occurrence
            for channel in event.channels
        }

    def unanswered(self, reminder: str, occurrence: str, channel: str) -> int:
        """Return how many unanswered attempts at this delivery are waiting."""
        from coffeechat.events.projection import occurrence_key

        return sum(
            event.unknown.count(channel)
            for event in self.pending
            if isinstance(event, m.NotificationSent)
            and event.reminder == reminder
            and occurrence_key(event.occurrence) == occurrence
        )

    # --- the file that outlives a restart -----------------------------------------------

    def _keep(self) -> None:
        """Write what is waiting to the file (atomically), or say once why it cannot be."""
        temporary = f"{self.path}.{os.getpid()}"
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                payload = b"".join(m.encoder.encode(event) + b"\n" for event in self.pending)
                view = memoryview(payload)
                while view:
                    view = view[os.write(descriptor, view) :]
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            os.replace(temporary, self.path)
            self.in_file = {event.id for event in self.pending}
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            cause = describe(error)
            if cause != self.kept_problem:
                self.kept_problem = cause
                LOG.error(
                    "cannot keep them in %s either (%s): they are kept in memory, and a "
                    "restart before the log can be written would deliver them again",
                    self.path,
                    cause,
                )
            return
        self.kept_problem = None

    def _forget(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def _take_over_file(self) -> None:
        """Bring what is waiting in line with the file, which another process may have
        used since: drop what this process wrote to it and is gone from it (that process
        appended it to the log), and add what another process left in it, unless it is in
        the log already (that process stopped between appending and removing the file)."""
        try:
            with open(self.path, "rb") as file:
                lines = file.read().splitlines()
        except FileNotFoundError:
            lines = []
        except OSError as error:
            LOG.error("cannot read %s (%s)", self.path, describe(error))
            return
        in_file: list[m.Event] = []
        decoder = m.event_decoder()
        for line in lines:
            try:
                in_file.append(decoder.decode(line))
            except Exception:
                LOG.warning("%s: left out an unreadable line", self.path)
        ids = {event.id for event in in_file}
        gone = self.in_file - ids
        if gone:
            self.pending = [event for event in self.pending if event.id not in gone]
        self.in_file &= ids
        mine = {event.id for event in self.pending}
        found = [event for event in in_file if event.id not in mine]
        if found:
            in_log = self._ids_in_log({event.id for event in found})
            found = [event for event in found if event.id not in in_log]
            LOG.info("%d deliveries from %s are waiting to be recorded", len(found), self.path)
        self.pending.extend(found)
        if lines and not self.pending:
            self._forget()

    def _ids_in_log(self, wanted: set[str]) -> set[str]:
        found: set[str] = set()
        for segment in read_segments(self.log_dir):
            for event in iter_segment_events(segment, []):
                if event.id in wanted:
                    found.add(event.id)
        return found
