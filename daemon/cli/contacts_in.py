"""``import linkedin FILE`` and ``import vcard FILE``: your network in (docs/import.md).

The file is read and parsed (:mod:`coffeechat.events.linkedin`,
:mod:`coffeechat.events.vcard`), the import decided (:mod:`coffeechat.events.importing`)
and its events appended in one batch through :meth:`App.record`. ``--dry-run`` says what
would change and appends nothing. A row that cannot be read is named (file and line)
and skipped; the summary counts what was added, updated, unchanged and skipped. A large
file shows a progress bar on standard error when that is a terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING, TextIO

from coffeechat.daemon.cli.app import App
from coffeechat.events.errors import UserError

if TYPE_CHECKING:
    from coffeechat.events.decisions import Stamp
    from coffeechat.events.importing import Parsed, Plan, Progress
    from coffeechat.events.model import Event

BAR_FROM = 500  # rows (or cards): a smaller file is done before a bar would help
_PAST = {"add": "added", "update": "updated", "note": "noted"}


def configure(parser: argparse.ArgumentParser) -> None:
    """Add FILE and ``--dry-run``."""
    parser.add_argument("file", metavar="FILE", help="the exported file (- for stdin)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        dest="dry_run",
        help="show what would be added and updated, and record nothing",
    )


def run_linkedin(app: App, args: argparse.Namespace) -> None:
    """Import LinkedIn's ``Connections.csv``."""
    _run(app, args, "linkedin")


def run_vcard(app: App, args: argparse.Namespace) -> None:
    """Import a vCard file (3.0 or 4.0: a phone's or Google Contacts' export)."""
    _run(app, args, "vcard")


def _run(app: App, args: argparse.Namespace, source: str) -> None:
    from coffeechat.events.importing import decide_import

    data = _read(args.file)
    name = "stdin" if args.file == "-" else os.path.basename(args.file)
    bar = Bar.for_stream(app.stderr, name, _size(source, data))
    parsed = _parse(source, data, name, bar.reading if bar else None)
    if bar is not None:
        bar.matching(len(parsed.rows))
    stamp = _dry_stamp(app) if args.dry_run else app.stamp()
    plan = decide_import(app.state, stamp, source, parsed, bar.update if bar else None)
    if bar is not None:
        bar.close()
    for problem in plan.skipped:
        app.warn(f"{name}:{problem.line}: {problem.reason}; skipped")
    if args.dry_run:
        _dry_run(app, plan)
        return
    events = plan.decision.events
    if events:
        changes = {change.event: change for change in plan.changes}

        def describe(event: Event) -> str:
            change = changes[event.id]
            return f"{_PAST[change.verb]} {change.text}  [{event.id[-8:]}]"

        app.record(plan.decision, describe)
    else:
        if app.json:
            app.print_json([])
        for notice in plan.decision.notices:
            app.warn(notice, label="note")
    _summary(app, f"{source}: {plan.summary.describe()} ({name})")


def _dry_run(app: App, plan: Plan) -> None:
    if app.json:
        app.print_json(plan.decision.events)
    else:
        for change in plan.changes:
            if change.verb != "note":
                app.out(f"would {change.verb} {change.text}")
    for notice in plan.decision.notices:
        app.warn(notice, label="note")
    summary = plan.summary
    _summary(
        app,
        f"dry run: would add {summary.added}, update {summary.updated}; "
        f"{summary.unchanged} unchanged, {summary.skipped} skipped; nothing recorded",
    )


def _dry_stamp(app: App) -> Stamp:
    """Return an event maker that makes no device id: a dry run leaves the home as it is."""
    from coffeechat.events.decisions import Stamp

    device = app.home.device_id(create=False) or "dry-run"
    return Stamp(app.now, device, app.zone_key, after=app.state.last_hlc)


def _summary(app: App, line: str) -> None:
    """The summary goes with the output, or to stderr when stdout is JSON."""
    if app.json:
        app.warn(line, label="summary")
    else:
        app.out(line)


def _read(path: str) -> bytes:
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise UserError(f"{path}: {error.strerror}") from None


def _size(source: str, data: bytes) -> int:
    """Return about how many rows (or cards) the file holds."""
    if source == "vcard":
        from coffeechat.events.vcard import count_cards

        return count_cards(data)
    return data.count(b"\n")


def _parse(source: str, data: bytes, name: str, progress: Progress | None) -> Parsed:
    if source == "linkedin":
        from coffeechat.events.linkedin import parse_connections

        return parse_connections(data, name, progress)
    from coffeechat.events.vcard import parse_vcards

    return parse_vcards(data, name, progress)


class Bar:
    """A progress bar on a terminal: ``reading Connections.csv [#####-----] 2400/5000``,
    redrawn in place at most every tenth of a second and wiped when done."""

    WIDTH = 30

    def __init__(self, stream: TextIO, name: str, total: int) -> None:
        self.stream = stream
        self.name = name
        self.label = "reading"
        self.total = max(total, 1)
        self.drawn = 0.0

    @classmethod
    def for_stream(cls, stream: TextIO, name: str, total: int) -> Bar | None:
        """Return a bar when ``stream`` is a terminal and the file is large, else None."""
        try:
            terminal = stream.isatty()
        except (AttributeError, ValueError):
            terminal = False
        return cls(stream, name, total) if terminal and total >= BAR_FROM else None

    def reading(self, done: int) -> None:
        """Rows read so far."""
        self.update(done)

    def matching(self, total: int) -> None:
        """Start the second part: matching ``total`` rows with your contacts."""
        self.label, self.total, self.drawn = "matching", max(total, 1), 0.0
        self.update(0)

    def update(self, done: int) -> None:
        """Redraw with ``done`` of the total (at most every 0.1 s)."""
        now = time.monotonic()
        if now - self.drawn < 0.1 and done < self.total:
            return
        self.drawn = now
        done = min(done, self.total)
        filled = self.WIDTH * done // self.total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.stream.write(f"\r{self.label} {self.name} [{bar}] {done}/{self.total}")
        self.stream.flush()

    def close(self) -> None:
        """Wipe the bar's line."""
        self.stream.write("\r\x1b[K")
        self.stream.flush()
