"""What every command works with: the home, the clock, the zone, the state, the output.

Built once per invocation from the parsed arguments. The state is loaded on first use
(through the snapshot), so a command that does not need it never reads the log.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from coffeechat.events.clock import clock_from_environment
from coffeechat.events.contacts import resolve
from coffeechat.events.decisions import Decision, Stamp, as_one_batch
from coffeechat.events.errors import UserError
from coffeechat.events.home import Home
from coffeechat.events.log import EventLog, LogProblem, scan_log
from coffeechat.events.model import Event, encoder
from coffeechat.events.projection import Contact, State
from coffeechat.events.snapshot import CachedProjection
from coffeechat.events.text import printable
from coffeechat.events.zones import local_zone, local_zone_key

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


class App:
    """One invocation of the command line."""

    def __init__(
        self,
        home: str | None,
        json: bool,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        *,
        few_contacts: bool = False,
    ) -> None:
        """``few_contacts``: the command touches one or two contacts (a recording
        command), so the snapshot decodes each contact only when it is used."""
        self.home = Home.locate(home)
        self.json = json
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        try:
            self.clock = clock_from_environment()
        except ValueError as error:
            raise UserError(f"COFFEECHAT_NOW: {error}") from None
        self.zone_key = local_zone_key()
        self._zone: ZoneInfo | None = None
        self.now = self.clock.now()
        self._state: State | None = None
        self.projection = CachedProjection(
            self.home.log_dir, self.home.cache_dir, lazy_contacts=few_contacts
        )
        self.problems: list[LogProblem] = []
        self._listed = False  # whether files in log/ that are not read were named yet
        self._width: int | bool | None = False  # False: not asked yet

    @property
    def zone(self) -> ZoneInfo:
        """The user's time zone (imported on first use: recording a note needs only its name)."""
        if self._zone is None:
            self._zone = local_zone()
        return self._zone

    # --- reading -------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """The current state of every relationship (loaded, and warned about, once)."""
        if self._state is None:
            self._state = self.projection.load(self.problems)
            self.warn_problems(self.problems)
        return self._state

    def warn_problems(self, problems: list[LogProblem]) -> None:
        """Print one warning line per damaged or unreadable line of the log; the first
        time in a command, also one per file in ``log/`` that is not read (not a segment)."""
        if not self._listed:
            self._listed = True
            problems = [*problems, *scan_log(self.home.log_dir)[1]]
        for problem in problems:
            self.warn(problem.describe())

    def contact(self, query: str) -> Contact:
        """Return the contact a CONTACT argument names (UserError if none or several)."""
        return resolve(self.state, query)

    def when(self, text: str, *, past: bool = False) -> datetime:
        """Parse a WHEN argument in the user's zone; ``past`` for when something happened."""
        from coffeechat.events.when import parse_when

        return parse_when(text, self.now, self.zone, past=past)

    def when_or_none(self, text: str | None, *, past: bool = True) -> datetime | None:
        """Parse an optional ``--at`` value."""
        return None if text is None else self.when(text, past=past)

    # --- writing -------------------------------------------------------------------------

    def stamp(self) -> Stamp:
        """Return the event maker for this device (creating the device id on first write)."""

        def device() -> str:
            made = self.home.device_id(create=True)
            assert made is not None
            for notice in self.home.notices:  # a copied home moved to a new device id
                self.warn(notice)
            self.home.notices.clear()
            return made

        # Each event's clock exceeds everything the state it was decided on had folded.
        return Stamp(
            self.now, device, self._zone or self.zone_key, after=lambda: self.state.last_hlc
        )

    def record(self, decision: Decision, describe: Any) -> list[Event]:
        """Append a decision's events in one durable batch, then tell the user.

        ``describe(event)`` returns the human line for an event. With ``--json`` the
        appended events are printed as a JSON list instead.
        """
        os.makedirs(self.home.data_dir, mode=0o700, exist_ok=True)
        events = as_one_batch(decision.events)
        # The events name their device (read once, when they were stamped).
        written = EventLog(self.home.log_dir, events[0].device).append(events)
        if self._state is not None and written is not None:
            self.projection.appended(events, written)
        if self.json:
            self.print_json(events)
        else:
            for event in events:
                self.out(describe(event))
        for notice in decision.notices:
            self.warn(notice, label="note")
        for tip in decision.tips:
            self.warn(tip, label="tip")
        return events

    # --- output --------------------------------------------------------------------------

    def out(self, line: str = "", *, escaped: bool = False) -> None:
        """Print a line to standard output, its control characters escaped (a name or a
        note typed here or on another device is shown, never obeyed by the terminal).

        ``escaped``: the line was built from escaped parts and holds only our own colour
        codes (a table from :func:`~coffeechat.daemon.cli.screen.table`).
        """
        print(line if escaped else printable(line), file=self.stdout)

    @property
    def width(self) -> int | None:
        """How many cells a line may take: ``$COLUMNS``, else the terminal's width, else
        None (piped into a file or a program: no limit)."""
        if self._width is False:
            from coffeechat.daemon.cli.screen import output_width

            self._width = output_width(self.stdout)
        return self._width

    @property
    def colour(self) -> bool:
        """Whether to colour the output: on a terminal only, never with ``--json``, never
        when ``$NO_COLOR`` is set (https://no-color.org) or the terminal is ``dumb``."""
        from coffeechat.daemon.cli.screen import wants_colour

        return not self.json and wants_colour(self.stdout)

    def warn(self, message: str, label: str = "warning") -> None:
        """Print a labelled line to standard error (one line, control characters escaped)."""
        print(f"{label}: {printable(message, lines=False)}", file=self.stderr)

    def print_json(self, value: Any) -> None:
        """Print a value as JSON (msgspec structs, datetimes and all)."""
        self.stdout.write(encoder.encode(value).decode())
        self.stdout.write("\n")
