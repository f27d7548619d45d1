"""The daemon: replay, then sleep until something can be due, deliver it once, repeat.

It wakes only for: the next reminder's delivery time, a retry, a change in ``log/``,
``config.toml`` or the plugin folder (watchdog), a signal, or the systemd watchdog's ping.
No polling loop.

Exactly-once, as far as a crash allows: a delivery is recorded in the log
(``notification.sent``, reminder id + occurrence + the channels that took it) right after
the channels took it, in one fsynced write. A restart, a second daemon on the same home,
or another ``--once`` reads that ledger and does not deliver again. The one gap is a
crash after a channel took the notification and before the ledger write: that
notification is delivered again after the restart. So: at least once, and at most one
duplicate per channel per crash, only for what was in flight.

Missed while asleep: a reminder due while the machine slept is delivered once on wake;
when more than ``[daemon] summary_after`` (5) are due at once, one summary goes instead. A
reminder that became moot meanwhile (the prep of a meeting that has started) is not
delivered late.
"""

import logging
import os
import signal
import threading
import time
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from coffeechat.daemon.channels import Channel, build_channels, route
from coffeechat.daemon.delivery import Dispatcher, title_of
from coffeechat.daemon.notify import Notifier
from coffeechat.events import model as m
from coffeechat.events.clock import Clock
from coffeechat.events.decisions import Stamp
from coffeechat.events.errors import UserError
from coffeechat.events.home import Home
from coffeechat.events.log import LogProblem, iter_segment_events, merge_segments, read_segments
from coffeechat.events.projection import State, occurrence_key
from coffeechat.events.snapshot import CachedProjection
from coffeechat.events.zones import local_zone, zone_named
from coffeechat.plugins.manager import Plugins, load_plugins, settings_sections
from coffeechat.plugins.quiet import deliver_at
from coffeechat.plugins.reminders import Reminder, evaluate
from coffeechat.plugins.settings import Settings, load_settings

LOG = logging.getLogger("coffeechat.daemon")
DEBOUNCE_SECONDS = 0.02
IDLE_WAKE = timedelta(hours=6)  # re-evaluate at least this often (schedules move on)
# A sleep is measured on the monotonic clock, which stops while the machine is suspended:
# without systemd's watchdog to wake it, the daemon looks at the wall clock at least this
# often, so reminders missed during a suspend fire within minutes of the resume.
RESUME_CHECK_SECONDS = 300.0


class Daemon:
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
        self.dispatcher = Dispatcher()
        self.projection = CachedProjection(home.log_dir, home.cache_dir)
        self.state = State()
        self.hook_offsets: dict[str, int] = {}
        self.plugins: Plugins
        self.settings: Settings
        self.channels: list[Channel] = []
        self.device = ""
        self.last_status = ""
        self.actions: list[tuple[str, str]] = []  # (reminder id, "done" | "snooze")
        self.lock_descriptor: int | None = None
        self.fresh = False  # the state was just replayed
        self.warned: set[str] = set()
        self.reminders: dict[str, Reminder] = {}

    # --- setting up ---------------------------------------------------------------------

    def load_configuration(self) -> None:
        """Load plugins, settings and channels (at start, and on SIGHUP or a change)."""
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
        for channel in self.channels:  # the channels being replaced stop listening
            closing = getattr(channel.target, "close", None)
            if callable(closing):
                closing()
        self.channels = build_channels(self.settings.channels, self.plugins, self.environ)
        LOG.info("channels: %s", ", ".join(c.name for c in self.channels) or "none")

    def replay(self) -> None:
        """Fold the log (through the snapshot); remember where the plugins' view stands."""
        problems: list[LogProblem] = []
        self.state = self.projection.load(problems)
        self.fresh = True
        for problem in problems:
            LOG.warning("%s", problem.describe())
        self.hook_offsets = {
            os.path.basename(s.path): s.end for s in read_segments(self.home.log_dir)
        }

    # --- one look at what is due ----------------------------------------------------------

    def cycle(self, now: datetime) -> datetime:
        """Deliver what is due at ``now``; return when something may next be due.

        Under the home's delivery lock, after folding what others appended: two daemons on
        one home (or a daemon and ``--once``) take turns and read each other's ledger, so
        neither repeats what the other delivered.
        """
        with self.delivery_lock():
            if self.fresh:
                self.fresh = False  # just replayed: nothing to catch up on
            else:
                self.replay_tail()
            return self._cycle(now)

    def delivery_lock(self) -> Any:
        """Return a context manager holding the home's exclusive delivery lock."""
        import contextlib
        import fcntl

        @contextlib.contextmanager
        def held() -> Any:
            if self.lock_descriptor is None:
                os.makedirs(self.home.data_dir, mode=0o700, exist_ok=True)
                path = os.path.join(self.home.data_dir, "daemon.lock")
                self.lock_descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(self.lock_descriptor, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self.lock_descriptor, fcntl.LOCK_UN)

        return held()

    def _cycle(self, now: datetime) -> datetime:
        zone = zone_named(self.settings.timezone) if self.settings.timezone else local_zone()
        reminders, failures = evaluate(self.plugins, self.state, now, self.settings)
        for failure in failures:
            LOG.warning("%s", failure.describe())
        self.reminders = {reminder.id: reminder for reminder in reminders}
        next_wake = now + IDLE_WAKE
        due: list[tuple[Reminder, str, list[Channel]]] = []
        for reminder in reminders:
            occurrence = occurrence_key(reminder.delivery)
            taken = self.state.delivered.get(reminder.id, {}).get(occurrence, [])
            missing = [
                c
                for c in route(reminder, self.channels, self.settings.routing)
                if c.name not in taken
            ]
            if not missing:
                continue
            if reminder.expires is not None and reminder.expires <= now:
                continue  # moot: the meeting it prepared for has started
            when = deliver_at(reminder, self.settings.quiet_hours, zone, now)
            if when <= now:
                due.append((reminder, occurrence, missing))
            else:
                next_wake = min(next_wake, when)
        if due:
            self.deliver(due, now)
        retry = self.dispatcher.backoff.next_retry()
        if retry is not None:
            next_wake = min(next_wake, retry)
        upcoming = [r for r in reminders if r.due > now]
        status = _status(upcoming[0] if upcoming else None, zone)
        if status != self.last_status:  # systemd keeps the last one; say only what changed
            self.notifier.status(status)
            self.last_status = status
        return next_wake

    def deliver(self, due: list[tuple[Reminder, str, list[Channel]]], now: datetime) -> None:
        """Send the due reminders (one summary when too many), recording each in the ledger
        as soon as its channels took it, so a crash repeats at most what was in flight."""
        stamp = Stamp(now, self.device, self.settings.timezone or "UTC")
        if len(due) > self.settings.daemon.summary_after:
            channels = {c.name: c for _, _, missing in due for c in missing}
            lines = [f"- {r.message}" for r, _, _ in due]
            title = f"{len(due)} reminders are due"
            taken = self.dispatcher.send(
                due[0][0], "summary", title, "\n".join(lines), channels.values(), now
            )
            records = [
                _sent(stamp, reminder, [c.name for c in missing if c.name in taken])
                for reminder, _, missing in due
                if any(c.name in taken for c in missing)
            ]
            self.record(records)
            return
        for reminder, occurrence, missing in due:
            if self.stopping():
                break  # SIGTERM: the delivery in flight is finished, the rest waits
            name = self._contact_name(reminder.contact)
            title = title_of(reminder, name)
            taken = self.dispatcher.send(
                reminder, occurrence, title, reminder.message, missing, now
            )
            if taken:
                LOG.info("delivered %s (%s) to %s", reminder.id, reminder.kind, ", ".join(taken))
                self.record([_sent(stamp, reminder, taken)])

    def record(self, records: list[m.Event]) -> None:
        """Append ledger events (one fsynced write) and fold them into the state."""
        if not records:
            return
        appended = self.home.log(create=True).append(records)
        if appended is not None:
            # Folds them and moves the snapshot on; if another process wrote in between,
            # the next cycle's refresh folds both.
            self.projection.appended(records, appended)
            self.hook_offsets[appended.segment] = appended.end

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
        """Start a listener thread per channel that reports clicks on its buttons
        (the desktop's "Done" and "Snooze 1 day")."""
        for channel in self.channels:
            listen = getattr(channel.target, "listen_for_actions", None)
            if not callable(listen):
                continue
            target = channel.target

            def on_click(notification_id: int, key: str, target: Any = target) -> None:
                reminder_id = getattr(target, "sent", {}).get(notification_id)
                if reminder_id is not None and key in ("done", "snooze"):
                    self.actions.append((reminder_id, key))
                    self.wake.set()

            threading.Thread(target=listen, args=(on_click,), daemon=True).start()

    def act_on_clicks(self, now: datetime) -> None:
        """Record what was clicked on notifications, as ``done`` and ``snooze`` would."""
        clicks, self.actions = self.actions, []
        stamp = Stamp(now, self.device, self.settings.timezone or "UTC")
        events: list[m.Event] = []
        for reminder_id, key in clicks:
            reminder = self.reminders.get(reminder_id)
            occurrence = reminder.occurrence if reminder is not None else None
            if key == "done":
                events.append(stamp(m.ReminderDone, reminder=reminder_id, occurrence=occurrence))
            else:
                until = now + timedelta(days=1)
                events.append(stamp(m.ReminderSnoozed, reminder=reminder_id, until=until))
            LOG.info("reminder %s: %s from a notification", reminder_id, key)
        self.record(events)

    def stopping(self) -> bool:
        """Whether SIGTERM (or SIGINT) asked the loop to stop."""
        return self.stop_requested

    def observe_new_events(self) -> None:
        """Show plugins the events appended since they last looked (their hook)."""
        segments = read_segments(self.home.log_dir, self.hook_offsets)
        events = list(merge_segments([iter_segment_events(s, []) for s in segments]))
        for segment in segments:
            self.hook_offsets[os.path.basename(segment.path)] = segment.end
        for event in events:
            for name, result in self.plugins.call_each(
                "coffeechat_event_recorded", event=event, state=self.state
            ):
                if isinstance(result, Exception):
                    LOG.warning("plugin %r failed in coffeechat_event_recorded: %s", name, result)

    def run(self, once: bool = False) -> int:
        """Run until SIGTERM (or one cycle with ``once``); return the exit status."""
        self.device = self.home.device_id(create=True) or "unknown-device"
        self.load_configuration()
        self.replay()
        if once:
            self.cycle(self.clock.now())
            self.dispatcher.close()
            return 0
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(number, self.on_signal)
        from coffeechat.daemon.watcher import Watcher

        watcher = Watcher(
            self.home.log_dir, self.home.config_file, self.home.plugins_dir, self.on_change
        )
        watcher.start()
        self.listen_for_actions()
        self.notifier.ready("replayed the log")
        LOG.info("ready: %d contacts, %d events", len(self.state.contacts), self.state.events)
        ping = self.notifier.watchdog_interval
        next_ping = time.monotonic() + ping if ping else None
        try:
            while not self.stopping():
                next_wake = self.cycle(self.clock.now())
                timeout = max(0.0, self.clock.seconds_until(next_wake))
                if next_ping is not None:
                    timeout = min(timeout, max(0.0, next_ping - time.monotonic()))
                else:
                    timeout = min(timeout, RESUME_CHECK_SECONDS)
                self.wake.wait(timeout)
                self.wake.clear()
                if next_ping is not None and time.monotonic() >= next_ping:
                    self.notifier.watchdog()
                    next_ping = time.monotonic() + (ping or 0)
                if self.stopping():
                    break
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
        finally:
            self.notifier.stopping()
            for channel in self.channels:
                closing = getattr(channel.target, "close", None)
                if callable(closing):
                    closing()
            watcher.stop()
            self.dispatcher.close()
            LOG.info("stopped")
        return 0

    def replay_tail(self) -> None:
        """Fold what was appended (another process, another device) and show the plugins."""
        problems: list[LogProblem] = []
        self.state = self.projection.refresh(problems)
        for problem in problems:
            if problem.describe() not in self.warned:
                self.warned.add(problem.describe())
                LOG.warning("%s", problem.describe())
        self.observe_new_events()


def _sent(stamp: Stamp, reminder: Reminder, channels: list[str]) -> m.Event:
    return stamp(
        m.NotificationSent,
        reminder=reminder.id,
        occurrence=reminder.delivery,
        channels=sorted(channels),
    )


def _status(upcoming: Reminder | None, zone: Any) -> str:
    if upcoming is None:
        return "nothing coming"
    when = upcoming.due.astimezone(zone)
    who = f" for {upcoming.contact}" if upcoming.contact else ""
    return f"next: {upcoming.kind}{who} at {when:%a %d %b %H:%M}"


def check_config_permissions(path: str) -> None:
    """Refuse a config.toml that holds channels (secrets) and others can read, and an
    Apprise configuration file it names that others can read (UserError with the chmod).

    See :func:`coffeechat.plugins.settings.check_secrets_private`: decided from the
    parsed config, not from its bytes.
    """
    from coffeechat.plugins.settings import check_secrets_private

    check_secrets_private(path)
