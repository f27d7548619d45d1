"""The daemon: replay, then sleep until something can be due, deliver it once, repeat.

It wakes only for: the next time a reminder needs a look (:mod:`coffeechat.daemon.agenda`),
a retry, a channel finishing, a change in ``log/``, ``config.toml`` or the plugin folder
(watchdog), a signal, or the systemd watchdog's ping, which is only a ping: the daemon
answers it and sleeps again. No polling loop; while a fault stands (another process holds
the delivery lock, the log cannot be written, the home is gone) it looks again on a timer.
Each wake costs what changed: the new lines of the log are folded, and only the contacts
they are about are evaluated again.

Deliveries happen under the home's delivery lock, on the latest log folded under it;
each channel has a queue of its own (:mod:`coffeechat.daemon.delivery`); what was
delivered is recorded before the channel is given the next, and kept when the log cannot
be written (:mod:`coffeechat.daemon.ledger`). docs/daemon.md states the guarantees: at
least once, at most one duplicate per channel per crash, never twice otherwise.
"""

import errno
import logging
import os
import signal
import threading
import time
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from coffeechat.daemon.agenda import Agenda
from coffeechat.daemon.channels import Channel, build_channels
from coffeechat.daemon.clicks import click_events, listen
from coffeechat.daemon.delivery import Dispatcher
from coffeechat.daemon.duepass import DeliveryPass
from coffeechat.daemon.following import LogFollower
from coffeechat.daemon.ledger import DeliveryLock, Ledger
from coffeechat.daemon.notify import Notifier
from coffeechat.daemon.outward import Outward, offers_of, pinging
from coffeechat.daemon.watcher import HomeWatch
from coffeechat.events import model as m
from coffeechat.events.clock import Clock
from coffeechat.events.decisions import Stamp
from coffeechat.events.errors import UserError
from coffeechat.events.home import Home
from coffeechat.events.projection import State
from coffeechat.events.snapshot import CachedProjection
from coffeechat.events.zones import local_zone, zone_named
from coffeechat.plugins.manager import Plugins, load_plugins, settings_sections
from coffeechat.plugins.reminders import Reminder, RuleFailure
from coffeechat.plugins.settings import Settings, load_settings

LOG = logging.getLogger("coffeechat.daemon")
DEBOUNCE_SECONDS = 0.02
IDLE_WAKE = timedelta(hours=6)  # with nothing to wait for (the home gone, the lock busy)
# A sleep is measured on the monotonic clock, which stops while the machine is suspended:
# without systemd's watchdog to wake it, the daemon looks at the wall clock at least this
# often, so reminders missed during a suspend fire within minutes of the resume.
RESUME_CHECK_SECONDS = 300.0
LOCK_RETRY_SECONDS = 0.5  # another process holds the delivery lock: look again after this
HOME_CHECK_SECONDS = 1.0  # the home is gone: look for it again after this
LEDGER_RETRY = timedelta(seconds=30)  # the log cannot be written: try again after this
STOP_WAIT_SECONDS = 20.0  # on SIGTERM, wait this long for notifications in flight


class Daemon(DeliveryPass, LogFollower):
    """One run of ``coffeechat daemon`` on one home."""

    def __init__(
        self,
        home: Home,
        clock: Clock,
        notifier: Notifier,
        environ: dict[str, str] | None = None,
    ) -> None:
        self.home = home
        self.clock = clock
        self.notifier = notifier
        self.environ = dict(os.environ if environ is None else environ)
        self.wake = threading.Event()
        self.changed: set[str] = set()
        self.stop_requested = False
        self.reload_requested = False
        self.dispatcher = Dispatcher(on_finished=self.wake.set)
        self.lock = DeliveryLock(home.data_dir)
        self.ledger = Ledger(home.data_dir, home.log_dir, self._append)
        self.projection = CachedProjection(home.log_dir, home.cache_dir)
        self.outward = Outward(home)
        self.state = State()
        self.hook_offsets: dict[str, int] = {}
        self.plugins: Plugins
        self.settings: Settings
        self.channels: list[Channel] = []
        self.device = ""
        self.last_status = ""
        self.actions: list[tuple[str, str]] = []  # (reminder id, "done" | "snooze")
        self.once = False
        self.lock_busy = False  # another process held the delivery lock at the last look
        self.home_gone = False
        self.home_watch = HomeWatch(
            home.data_dir, home.log_dir, home.config_file, home.plugins_dir, self.on_change
        )
        self.next_ping: float | None = None
        self.warned: set[str] = set()
        self.agenda = Agenda()
        self.new_here: list[m.Event] = []  # appended by this daemon since the last cycle
        self.cycles = 0
        self.due_once: set[tuple[str, str]] = set()  # --once: (reminder, occurrence) it owed

    # --- setting up ---------------------------------------------------------------------

    def load_configuration(self) -> None:
        """Load plugins, settings and channels (at start, and on SIGHUP or a change)."""
        self.load_settings()
        self.build_channels()

    def load_settings(self) -> None:
        """Load plugins and settings; everything is evaluated again at the next cycle."""
        check_config_permissions(self.home.config_file)
        self.plugins = load_plugins(self.home.plugins_dir, self.environ)
        for problem in self.plugins.problems:
            LOG.warning("%s", problem.describe())
        warnings: list[str] = []
        self.settings = load_settings(
            self.home.config_file, settings_sections(self.plugins), warnings
        )
        for line in warnings:
            LOG.warning("%s", line)
        self.agenda.full_needed = True
        self.outward.calendar_changed()

    def build_channels(self) -> None:
        """Build the channels the settings name (Apprise's import is the cost of it)."""
        for channel in self.channels:  # the channels being replaced stop listening
            closing = getattr(channel.target, "close", None)
            if callable(closing):
                closing()
        self.channels = build_channels(self.settings.channels, self.plugins, self.environ)
        LOG.info("channels: %s", ", ".join(c.name for c in self.channels) or "none")

    # --- one look at what is due ----------------------------------------------------------

    def cycle(self, now: datetime) -> datetime:
        """Record what the channels finished, deliver what is due at ``now``; return when
        something may next be due.

        Under the home's delivery lock, and on the latest log folded under it: two daemons
        on one home (or a daemon and ``--once``) take turns and read each other's ledger,
        so neither repeats what the other delivered. The lock stays held while anything is
        in flight. A daemon does not wait for the lock (``lock_busy``: it looks again
        soon); ``--once`` does.
        """
        self.lock_busy = not self.lock.acquire(blocking=self.once)
        if self.lock_busy:
            return now + IDLE_WAKE
        try:
            self.ledger.flush()
            self.record(self.harvest(now))
            new = self.replay_tail()
            offers = offers_of(self.settings, [channel.name for channel in self.channels])
            lease = self.outward.decide(
                self.state, self.device, now, self.settings, offers, self._append
            )
            next_wake = self._cycle(now, new, delivering=lease.deliver)
            self.outward.note(new)
            jobs = self.outward.run(
                self.state,
                self.device,
                now,
                self.settings,
                self._append,
                lease.deliver,
                self.keepalive,
            )
            renewal = self.outward.renewal(self.state, self.device, self.settings)
            if renewal is not None and renewal <= now:  # the renewal could not be recorded
                renewal = now + LEDGER_RETRY
            wakes = (next_wake, lease.wake, jobs, renewal)
            return min(w for w in wakes if w is not None)
        finally:
            if not self.dispatcher.busy():
                self.lock.release()

    def _cycle(self, now: datetime, new: list[m.Event], delivering: bool = True) -> datetime:
        """Bring the agenda up to date with ``new`` events and the time, deliver what is
        due; return when the agenda next needs a look (or a channel a retry)."""
        zone = zone_named(self.settings.timezone) if self.settings.timezone else local_zone()
        agenda = self.agenda
        touched = agenda.touched_by(new)
        looked = agenda.looks_due(now)
        failures: list[RuleFailure] = []

        def classify(reminder: Reminder) -> datetime | None:
            return self.classify(reminder, now, zone)

        if agenda.full_needed:
            ping = min(self.notifier.watchdog_interval or 5.0, 5.0)
            with pinging(self.keepalive, every=ping):  # long on a large home
                failures = agenda.full(self.plugins, self.state, now, self.settings, classify)
            LOG.debug(
                "evaluated every contact: %d reminders, %.0f ms (full evaluations: %d)",
                len(agenda.reminders),
                agenda.full_cost * 1000,
                agenda.full_evaluations,
            )
        elif touched or looked:
            contacts = touched | looked
            failures = agenda.partial(
                self.plugins, self.state, now, self.settings, contacts, classify
            )
            LOG.debug(
                "evaluated %d contacts: %s (full evaluations: %d)",
                len(contacts),
                ", ".join(sorted(contacts)),
                agenda.full_evaluations,
            )
        for failure in failures:
            self._warn_once(failure.describe())
        retry = self.due_pass(now, zone, delivering)
        wakes = [now + IDLE_WAKE, agenda.wake_at(), retry]
        if self.ledger.pending:
            wakes.append(now + LEDGER_RETRY)
        next_wake = min(w for w in wakes if w is not None)
        status = _status(agenda.upcoming(now), zone)
        if not delivering and self.outward.verdict is not None:
            status = f"{self.outward.verdict.reason}; {status}"
        self.show_status(status)
        return next_wake

    def record(self, records: list[m.Event]) -> None:
        """Append events to the log (one fsynced write) and fold them into the state; when
        the log cannot be written, keep them until it can (:class:`Ledger`)."""
        if records:
            self.ledger.record(records)

    def _append(self, records: list[m.Event]) -> None:
        if self.home_watch.watcher is not None and not os.path.isdir(self.home.log_dir):
            # Deleted under the daemon: making it again would put a stray home in place
            # of the one the user is restoring; this waits for the home (rewatch).
            raise FileNotFoundError(errno.ENOENT, "the log folder is gone", self.home.log_dir)
        appended = self.home.log(create=True).append(records)
        self.say_notices()
        if appended is not None:
            # Folds them and moves the snapshot on; if another process wrote in between,
            # the refresh that follows folds both.
            self.projection.appended(records, appended)
            self.hook_offsets[appended.segment] = appended.end
            self.new_here.extend(records)  # the next cycle takes them into account

    def say_notices(self) -> None:
        """Log what the home has to tell (a copied home moved to a new device id)."""
        for notice in self.home.notices:
            LOG.warning("%s", notice)
        self.home.notices.clear()

    def show_status(self, status: str) -> None:
        """Send ``STATUS=`` when it changed (systemd keeps the last one), leading with a
        ledger that cannot be written."""
        if self.ledger.problem is not None:
            waiting = len(self.ledger.pending)
            status = f"cannot write the log ({self.ledger.problem}), {waiting} to record; {status}"
        if status != self.last_status:
            self.notifier.status(status)
            self.last_status = status

    def _warn_once(self, line: str) -> None:
        if line not in self.warned:
            self.warned.add(line)
            LOG.warning("%s", line)

    def _contact_name(self, handle: str | None) -> str | None:
        contact = self.state.contacts.get(handle) if handle else None
        return contact.name if contact is not None else handle

    # --- the loop -----------------------------------------------------------------------

    def on_change(self, kind: str) -> None:
        """Called from the watcher's thread: note what changed and wake the loop."""
        self.changed.add(kind)
        self.wake.set()

    def on_signal(self, number: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: stop after the delivery in flight. SIGHUP: reload."""
        if number == signal.SIGHUP:
            self.reload_requested = True
        else:
            self.stop_requested = True
        self.wake.set()

    def listen_for_actions(self) -> None:
        """Listen for clicks on the channels' buttons (the desktop's "Done" and "Snooze")."""
        listen(self.channels, self._clicked)

    def _clicked(self, reminder_id: str, key: str) -> None:
        self.actions.append((reminder_id, key))
        self.wake.set()

    def act_on_clicks(self, now: datetime) -> None:
        """Record what was clicked on notifications, as ``done`` and ``snooze`` would."""
        clicks, self.actions = self.actions, []
        stamp = Stamp(now, self.device, self.settings.timezone or "UTC", after=self.state.last_hlc)
        reminders = {reminder.id: reminder for reminder in self.agenda.reminders.values()}
        self.record(click_events(clicks, reminders, stamp, self.state))

    def stopping(self) -> bool:
        """Whether SIGTERM (or SIGINT) asked the loop to stop."""
        return self.stop_requested

    def run(self, once: bool = False) -> int:
        """Run until SIGTERM (or one round with ``once``); return the exit status.

        ``READY=1`` goes once the settings and plugins are loaded, the state is loaded and
        the home watched: from then on nothing appended is missed. The channels are built
        right after it (Apprise's import, most of a start's CPU on a small home; a channel
        that cannot be built never failed the start, it is logged and skipped), then the
        first evaluation of every reminder (the longest part on a large home), and what is
        due is delivered.
        """
        self.once = once
        self.device = self.home.device_id(create=True) or "unknown-device"
        self.say_notices()
        self.load_settings()
        self.replay()
        if once:
            self.build_channels()
            return self.run_once()
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(number, self.on_signal)
        self.home_watch.start()
        self.notifier.ready("replayed the log")
        LOG.info("ready: %d contacts, %d events", len(self.state.contacts), self.state.events)
        self.build_channels()
        self.listen_for_actions()
        ping = self.notifier.watchdog_interval
        self.next_ping = time.monotonic() + ping if ping else None
        try:
            self.loop()
        finally:
            self.finish_in_flight()
            self.outward.release(
                self.state, self.device, self.clock.now(), self.settings, self.record
            )
            self.notifier.stopping()
            for channel in self.channels:
                closing = getattr(channel.target, "close", None)
                if callable(closing):
                    closing()
            self.home_watch.stop()
            LOG.info(
                "stopped after %d cycles (evaluations: %d full, %d of a few contacts)",
                self.cycles,
                self.agenda.full_evaluations,
                self.agenda.partial_evaluations,
            )
        return 0

    def loop(self) -> None:
        """Sleep until something needs the daemon, then run a cycle; until SIGTERM.

        A wake for the watchdog's ping alone (nothing changed, nothing came due) is only
        a ping: no cycle. The wall clock is read at every wake, so reminders missed while
        the machine was suspended are found at the first ping (or resume check) after.
        """
        next_wake = self.clock.now()
        deadline: float | None = None  # a real-time limit (monotonic), see _real_time_limit
        while not self.stopping():
            if self.home_watch.moved():
                self.rewatch()
                next_wake = self.clock.now()
            now = self.clock.now()
            expired = deadline is not None and time.monotonic() >= deadline
            if now >= next_wake or expired:
                next_wake = now + IDLE_WAKE if self.home_gone else self.cycle(now)
                self.cycles += 1
                limit = self._real_time_limit()
                deadline = time.monotonic() + limit if limit != float("inf") else None
            timeout = max(0.0, self.clock.seconds_until(next_wake))
            if deadline is not None:
                timeout = min(timeout, max(0.0, deadline - time.monotonic()))
            if self.next_ping is not None:
                timeout = min(timeout, max(0.0, self.next_ping - time.monotonic()))
            else:
                timeout = min(timeout, RESUME_CHECK_SECONDS)
            woke = self.wake.wait(timeout)
            self.wake.clear()
            self.keepalive()
            if self.stopping():
                break
            if woke:
                next_wake = self.clock.now()  # something happened: a cycle looks at it
            if self.actions:
                self.act_on_clicks(self.clock.now())
            if self.changed:
                self.wake.wait(DEBOUNCE_SECONDS)  # let a burst of file events settle
                self.wake.clear()
            changed, self.changed = self.changed, set()
            if self.reload_requested or changed & {"config", "plugins"}:
                self.reload_requested = False
                self.notifier.reloading()
                try:
                    self.load_configuration()
                    self.listen_for_actions()
                except UserError as error:
                    LOG.error("keeping the previous configuration: %s", error)
                self.notifier.ready("reloaded")
            # A change in log/ needs nothing more: the next cycle folds it first.

    def _real_time_limit(self) -> float:
        """Return the longest the loop may sleep in real seconds, given what it waits for
        besides the clock: a busy lock, a missing home, a channel call to give up on."""
        limit = float("inf")
        if self.lock_busy:
            limit = LOCK_RETRY_SECONDS
        if self.home_gone:
            limit = min(limit, HOME_CHECK_SECONDS)
        deadline = self.dispatcher.seconds_to_deadline()
        return limit if deadline is None else min(limit, deadline)

    def keepalive(self) -> None:
        """Ping systemd's watchdog when it is time to."""
        ping = self.notifier.watchdog_interval
        if self.next_ping is not None and ping and time.monotonic() >= self.next_ping:
            self.notifier.watchdog()
            self.next_ping = time.monotonic() + ping

    def run_once(self) -> int:
        """Deliver what is due now, wait for the channels, record; 1 when something
        delivered could not be recorded in the log (it is kept beside it), or when a due
        reminder reached no channel (with no channel configured, the daemon's log is the
        channel: it always takes it)."""
        try:
            while True:
                self.cycle(self.clock.now())
                if not self.dispatcher.busy():
                    break
                self.wake.wait(self.dispatcher.seconds_to_deadline())
                self.wake.clear()
        finally:
            self.lock.release()
        if self.ledger.pending:
            LOG.error(
                "%d deliveries are not recorded in the log yet (%s)",
                len(self.ledger.pending),
                self.ledger.problem,
            )
            return 1
        unreached = sorted(
            reminder
            for reminder, occurrence in self.due_once
            if not self.state.delivered.get(reminder, {}).get(occurrence)
        )
        if unreached:
            LOG.error(
                "%d due reminders reached no channel (%s): the next run tries again; "
                "'coffeechat channels test' says why",
                len(unreached),
                ", ".join(unreached),
            )
            return 1
        return 0

    def finish_in_flight(self) -> None:
        """Stopping: wait a while for the notifications in flight and record them."""
        began = time.monotonic()
        while self.dispatcher.busy() and time.monotonic() - began < STOP_WAIT_SECONDS:
            self.wake.wait(min(0.5, self.dispatcher.seconds_to_deadline() or 0.5))
            self.wake.clear()
            self.keepalive()
            self.record(self.harvest(self.clock.now()))
        self.lock.release()


def _status(upcoming: Reminder | None, zone: Any) -> str:
    if upcoming is None:
        return "nothing coming"
    when = upcoming.due.astimezone(zone)
    who = f" for {upcoming.contact}" if upcoming.contact else ""
    return f"next: {upcoming.kind}{who} at {when:%a} {when.day} {when:%b %H:%M}"


def check_config_permissions(path: str) -> None:
    """Refuse a config.toml that holds channels (secrets) and others can read, and an
    Apprise configuration file it names that others can read (UserError with the chmod).

    See :func:`coffeechat.plugins.settings.check_secrets_private`: decided from the
    parsed config, not from its bytes.
    """
    from coffeechat.plugins.settings import check_secrets_private

    check_secrets_private(path)
