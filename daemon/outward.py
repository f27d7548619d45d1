"""Everything the daemon does outwards, under one rule of who does it.

Reminders, e-mail and calendar entries leave the machine; with ``log/`` shared between
devices, each would go out once per running daemon. The delivery lease
(:mod:`coffeechat.daemon.lease`) names the one device that delivers; this module applies
it for the daemon each cycle (claiming and renewing the lease in the log, releasing it
on a clean stop) and runs the outward jobs that are not reminders:

- queued e-mail (:func:`coffeechat.daemon.mailer.deliver_mail`), only on the delivering
  device;
- the CalDAV calendar (:func:`coffeechat.daemon.caldav.sync_calendar`), only on the
  delivering device, after each change to what a calendar shows and while the server is
  unreachable;
- the ``[calendar] file`` (:func:`coffeechat.daemon.calendar.write_ics_file`) on every
  device that names one: it is a file on this machine, not a message to anyone.

Both calendars read the whole log again (every meeting ever booked), so they run only
when an event a calendar shows arrived (:data:`CALENDAR_EVENTS`: a meeting, a contact's
name or what you want to learn from them, also by ``plan``/``reach --learn``, an
``undo``), after a full replay and after a reload of the config; never for a note or a
delivery.

A job that talks to a server can take a while (an SMTP exchange may take a minute):
while one runs, systemd's watchdog is pinged from a helper thread, so a slow server is
not mistaken for a hung daemon.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from coffeechat.daemon.lease import Verdict, verdict
from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.home import Home
from coffeechat.events.log import segment_paths
from coffeechat.events.projection import State
from coffeechat.plugins.settings import Settings

LOG = logging.getLogger("coffeechat.daemon")
CALENDAR_RETRY = timedelta(minutes=5)  # the CalDAV server was unreachable: look again then
# The events that change what a calendar shows (events/meetings.py reads these).
CALENDAR_EVENTS = (
    m.MeetingScheduled,
    m.MeetingRescheduled,
    m.MeetingCancelled,
    m.MeetingHeld,
    m.ContactAdded,
    m.ContactUpdated,
    m.EventRetracted,
)

Append = Callable[[list[m.Event]], None]


class Outward:
    """The lease and the outward jobs of one daemon on one home."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.verdict: Verdict | None = None
        self.calendar_stale = True  # the CalDAV calendar may not show the log any more
        self.calendar_retry: datetime | None = None
        self.ics_stale = True  # the same for the [calendar] file
        self.said: set[str] = set()

    def calendar_changed(self) -> None:
        """Say that the calendars may no longer show the log (a full replay, a reload)."""
        self.calendar_stale = self.ics_stale = True

    def note(self, events: list[m.Event]) -> None:
        """Take in the events new since the last cycle: the calendars are made again only
        when one of them changes what a calendar shows."""
        for event in events:
            learn = getattr(event, "learn", None)  # plan or reach --learn: shown as well
            if isinstance(event, CALENDAR_EVENTS) or (learn and isinstance(learn, str)):
                self.calendar_changed()
                return

    # --- the lease ------------------------------------------------------------------------

    def decide(
        self,
        state: State,
        device: str,
        now: datetime,
        settings: Settings,
        offers: list[str],
        record: Append,
    ) -> Verdict:
        """Say whether this daemon delivers at ``now``; claim or renew the lease when the
        rule says so (appended through ``record``, which raises OSError when the log cannot
        be written: the verdict stands, the claim is tried again next cycle)."""
        daemon = settings.daemon
        result = verdict(
            state.lease,
            device,
            now,
            mode=daemon.deliver,
            duration=daemon.lease.delta,
            takeover_wait=daemon.takeover_wait.delta,
            alone=self.alone(device),
        )
        if result.claim:
            stamp = Stamp(now, device, settings.timezone or "UTC", after=state.last_hlc)
            lease = stamp(
                m.DeliveryLease,
                until=now + daemon.lease.delta,
                offers=offers,
                contested=result.contested,
            )
            try:
                record([lease])
            except OSError as error:  # delivering matters more; the claim is made next time
                self._say(f"could not record the delivery lease: {error}")
        if self.verdict is None or result.reason != self.verdict.reason:
            LOG.info("%s", result.reason)
        self.verdict = result
        return result

    def alone(self, device: str) -> bool:
        """Whether no other device has written to this home's log (then nobody can
        compete for the lease, and a claim needs no wait)."""
        own = f"{device}.jsonl"
        return all(os.path.basename(path) == own for path in segment_paths(self.home.log_dir))

    def renewal(self, state: State, device: str, settings: Settings) -> datetime | None:
        """Return when this device must renew the lease it holds (half of it left), or
        None when it holds none: the daemon wakes for it."""
        lease = state.lease
        if settings.daemon.deliver != "lease" or lease is None or lease.device != device:
            return None
        return lease.until - settings.daemon.lease.delta / 2

    def release(
        self, state: State, device: str, now: datetime, settings: Settings, record: Append
    ) -> None:
        """On a clean stop: give the lease up, so another device takes over at once."""
        lease = state.lease
        if settings.daemon.deliver != "lease" or lease is None:
            return
        if lease.device != device or lease.until <= now:
            return
        stamp = Stamp(now, device, settings.timezone or "UTC", after=state.last_hlc)
        try:
            record([stamp(m.DeliveryLease, until=now, offers=lease.offers)])
        except OSError as error:  # the lease lapses by itself
            LOG.warning("could not release the delivery lease: %s", error)

    # --- jobs -------------------------------------------------------------------------------

    def run(
        self,
        state: State,
        device: str,
        now: datetime,
        settings: Settings,
        append: Append,
        delivering: bool,
        keepalive: Callable[[], None],
    ) -> datetime | None:
        """Run the jobs due at ``now``; return when a job next wants to run (None: when the
        log changes). ``append`` must raise OSError when the log cannot be written (mail
        is at most once: ``mail.sending`` must be on disk before the server is asked)."""
        wake: datetime | None = None
        calendar = settings.sections.get("calendar")
        if calendar is not None and calendar.file and self.ics_stale:
            from coffeechat.daemon.calendar import write_ics_file

            try:
                write_ics_file(
                    self.home.log_dir, state, settings, os.path.expanduser(calendar.file)
                )
                self.ics_stale = False
            except OSError as error:
                self._say(f"calendar file {calendar.file}: {error}")
        if not delivering:
            return None
        if state.mail:
            from coffeechat.daemon.mailer import deliver_mail, next_mail_at

            with pinging(keepalive):
                for line in deliver_mail(state, settings, now, append, device=device):
                    self._say(line)
            wake = next_mail_at(state, now)
        if calendar is not None and calendar.caldav:
            retry_due = self.calendar_retry is not None and self.calendar_retry <= now
            if self.calendar_stale or retry_due:
                wake = _earliest(wake, self._sync_calendar(state, settings, now, keepalive))
            elif self.calendar_retry is not None:
                wake = _earliest(wake, self.calendar_retry)
        return wake

    def _sync_calendar(
        self, state: State, settings: Settings, now: datetime, keepalive: Callable[[], None]
    ) -> datetime | None:
        from coffeechat.daemon.caldav import store_path, sync_calendar

        with pinging(keepalive):
            warnings = sync_calendar(
                self.home.log_dir, state, settings, store_path(self.home.data_dir)
            )
        for line in warnings:
            self._say(line)
        self.calendar_stale = False
        retrying = any("will be retried" in line for line in warnings)
        self.calendar_retry = now + CALENDAR_RETRY if retrying else None
        return self.calendar_retry

    def _say(self, line: str) -> None:
        if line not in self.said:
            self.said.add(line)
            LOG.warning("%s", line)


def offers_of(settings: Settings, channel_names: list[str]) -> list[str]:
    """Return what this daemon can deliver through, for the lease: the channels' kinds
    (``desktop``, ``ntfy`` …, never a URL), ``mail`` and ``calendar`` when configured."""
    kinds = sorted({name.split(":", 1)[0] for name in channel_names})
    mail = settings.sections.get("mail")
    if mail is not None and mail.configured:
        kinds.append("mail")
    calendar = settings.sections.get("calendar")
    if calendar is not None and calendar.caldav:
        kinds.append("calendar")
    return kinds


def _earliest(first: datetime | None, second: datetime | None) -> datetime | None:
    if first is None:
        return second
    return first if second is None else min(first, second)


@contextlib.contextmanager
def pinging(keepalive: Callable[[], None], every: float = 5.0) -> Iterator[None]:
    """While the block runs, call ``keepalive`` every ``every`` seconds from a helper
    thread (a long job: a server that takes its time, a first evaluation of a large home)."""
    done = threading.Event()

    def ping() -> None:
        while not done.wait(every):
            keepalive()

    thread = threading.Thread(target=ping, name="coffeechat-keepalive", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
