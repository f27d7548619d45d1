"""Following the log: the replay at start, the tail at each cycle, and the home replaced.

The daemon folds what was appended since its last look (another process, another
device, itself) and tells the agenda what is new, so that only what changed is
evaluated again; a full replay (a retraction, a late sync) makes it evaluate
everything. Plugins see each new event through ``coffeechat_event_recorded``.

:class:`LogFollower` is a part of :class:`coffeechat.daemon.runner.Daemon`, split off so
that each module reads in one sitting.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import msgspec

from coffeechat.events import model as m
from coffeechat.events.errors import UserError
from coffeechat.events.log import (
    LogProblem,
    SegmentData,
    iter_segment_events,
    merge_segments,
    read_segments,
)
from coffeechat.events.snapshot import CachedProjection

if TYPE_CHECKING:
    from coffeechat.daemon.agenda import Agenda
    from coffeechat.daemon.ledger import DeliveryLock
    from coffeechat.daemon.outward import Outward
    from coffeechat.daemon.watcher import HomeWatch
    from coffeechat.events.home import Home
    from coffeechat.events.projection import State
    from coffeechat.plugins.manager import Plugins

LOG = logging.getLogger("coffeechat.daemon")


class LogFollower:
    """The daemon's view of the log, kept current."""

    home: Home
    state: State
    projection: CachedProjection
    hook_offsets: dict[str, int]
    agenda: Agenda
    outward: Outward
    plugins: Plugins
    new_here: list[m.Event]
    home_watch: HomeWatch
    home_gone: bool
    lock: DeliveryLock
    device: str
    warned: set[str]

    def say_notices(self) -> None:  # pragma: no cover - the daemon's
        raise NotImplementedError

    def show_status(self, status: str) -> None:  # pragma: no cover - the daemon's
        raise NotImplementedError

    def _warn_once(self, line: str) -> None:  # pragma: no cover - the daemon's
        raise NotImplementedError

    def load_configuration(self) -> None:  # pragma: no cover - the daemon's
        raise NotImplementedError

    def listen_for_actions(self) -> None:  # pragma: no cover - the daemon's
        raise NotImplementedError

    def replay(self) -> None:
        """Fold the log (through the snapshot); remember where the plugins' view stands."""
        problems: list[LogProblem] = []
        self.state = self.projection.load(problems)
        for problem in problems:
            LOG.warning("%s", problem.describe())
        # Plugins are shown what follows the state: where the projection stands (reading
        # the segments to their ends instead would read the whole log again).
        self.hook_offsets = {name: mark.offset for name, mark in self.projection.marks.items()}
        self.agenda.full_needed = True
        self.outward.calendar_changed()

    def observe_new_events(self) -> list[m.Event]:
        """Show plugins the events appended since they last looked (their hook); return
        them."""
        # Only what the projection has folded: a line appended since the refresh is read
        # (and its contact evaluated) by the next cycle, once the state holds it.
        folded = {name: mark.offset for name, mark in self.projection.marks.items()}
        segments = [
            _cut(segment, folded.get(os.path.basename(segment.path), 0))
            for segment in read_segments(self.home.log_dir, self.hook_offsets)
        ]
        events = list(merge_segments([iter_segment_events(s, []) for s in segments]))
        for segment in segments:
            self.hook_offsets[os.path.basename(segment.path)] = segment.end
        for event in events:
            for name, result in self.plugins.call_each(
                "coffeechat_event_recorded", event=event, state=self.state
            ):
                if isinstance(result, Exception):
                    LOG.warning("plugin %r failed in coffeechat_event_recorded: %s", name, result)
        return events

    def rewatch(self) -> None:
        """The home was deleted, or replaced by another folder: while it is gone, deliver
        nothing (and look for it every second); once it exists, replay it and watch it."""
        home = self.home.data_dir
        if not self.home_watch.home_is_back():
            if not self.home_gone:
                self.home_gone = True
                LOG.error("the home %s is gone: delivering nothing until it is back", home)
                self.show_status(f"the home {home} is gone")
            return
        LOG.warning("the home %s was replaced: replaying it and watching it again", home)
        self.lock.close()  # its file went with the old home
        try:
            self.device = self.home.device_id(create=True) or "unknown-device"
            self.say_notices()
            self.projection = CachedProjection(self.home.log_dir, self.home.cache_dir)
            self.warned.clear()
            try:
                self.load_configuration()
            except UserError as error:
                LOG.error("keeping the previous configuration: %s", error)
            self.listen_for_actions()
            self.replay()
            self.home_watch.start()
        except OSError as error:
            LOG.error("cannot watch the home %s yet: %s", home, error)
            self.home_gone = True
            return
        self.home_gone = False

    def replay_tail(self) -> list[m.Event]:
        """Fold what was appended (another process, another device) and show the plugins;
        return what is new since the last cycle, this daemon's own appends included. A
        full replay (a retraction, a late sync) makes the agenda evaluate everything."""
        problems: list[LogProblem] = []
        self.state = self.projection.refresh(problems, own=f"{self.device}.jsonl")
        for problem in problems:
            self._warn_once(problem.describe())
        if self.projection.route == "replay":
            self.agenda.full_needed = True
            self.outward.calendar_changed()
        new, self.new_here = self.new_here, []
        return new + self.observe_new_events()


def _cut(segment: SegmentData, end: int) -> SegmentData:
    """Return ``segment`` without the bytes at or after ``end`` (whole lines: a mark's
    offset is always the end of a line)."""
    if segment.end <= end:
        return segment
    keep = max(0, end - segment.start)
    return msgspec.structs.replace(segment, data=segment.data[:keep], torn=b"")
