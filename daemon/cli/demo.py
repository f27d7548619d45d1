"""``coffeechat demo``: a sample journey recorded into a temporary home, shown, then lived.

It drives the real command line (the same ``main`` a user runs) against a fresh home,
with ``--at`` placing each step in the past weeks, so what it prints is exactly what
those commands print. Then it runs the real daemon on that home with an accelerated
clock, so the next days' reminders fire in order within a minute: on the console, and
on the desktop when there is one.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import tempfile
from datetime import timedelta

from coffeechat.daemon.cli.app import App
from coffeechat.events.clock import ScaledClock
from coffeechat.events.home import Home


def _journey(day: dict[int, str]) -> list[list[str]]:
    return [
        [
            "add",
            "Ada Lovelace",
            "--company",
            "Analytical Engines",
            "--role",
            "Research engineer",
            "--industry",
            "Computing",
            "--tz",
            "Europe/London",
            "--how-met",
            "her talk at PyCon",
            "--learn",
            "how she moved from mathematics into engineering",
            "--at",
            day[30],
        ],
        ["plan", "ada", "--at", day[29]],
        ["reach", "ada", "--channel", "email", "--at", f"{day[28]} 09:30"],
        ["reply", "ada", "--at", day[26]],
        [
            "schedule",
            "ada",
            f"{day[20]} 15:00",
            "--mode",
            "video",
            "--minutes",
            "30",
            "--at",
            day[26],
        ],
        [
            "met",
            "ada",
            "--learned",
            "research engineering is half writing",
            "--fit",
            "4",
            "--asked",
            "an introduction to someone in policy",
            "--at",
            f"{day[20]} 15:30",
        ],
        ["thank", "ada", "--at", f"{day[20]} 17:00"],
        [
            "intro",
            "ada",
            "Grace Hopper",
            "--company",
            "US Navy",
            "--role",
            "Rear admiral",
            "--industry",
            "Public sector",
            "--at",
            day[15],
        ],
        [
            "add",
            "Alan Turing",
            "--company",
            "Bletchley Park",
            "--role",
            "Cryptanalyst",
            "--learn",
            "what a week of codebreaking looks like",
            "--at",
            day[10],
        ],
        ["reach", "alan", "--channel", "linkedin", "--at", f"{day[9]} 10:00"],
        ["note", "ada", "prefers mornings; ask about the Engine's notes", "--at", day[5]],
        ["plan", "grace", "--learn", "how she got compilers taken seriously", "--at", day[1]],
        [
            "add",
            "Katherine Johnson",
            "--company",
            "NASA",
            "--role",
            "Mathematician",
            "--industry",
            "Public sector",
            "--at",
            day[6],
        ],
        [
            "schedule",
            "katherine",
            "in 2 days",
            "--mode",
            "in-person",
            "--place",
            "the cafe by the library",
            "--at",
            day[2],
        ],
    ]


def run_demo(app: App, *, keep: bool = False, days: float = 7, seconds: float = 40) -> int:
    """Record the sample journey into a new temporary home, show it, live the next
    ``days`` in ``seconds`` with the daemon, and tidy up."""
    from coffeechat.daemon.cli import main

    home = tempfile.mkdtemp(prefix="coffeechat-demo-")
    now = app.now.astimezone(app.zone)
    day = {n: f"{(now - timedelta(days=n)):%Y-%m-%d}" for n in range(0, 31)}
    try:
        for arguments in _journey(day):
            app.out(f"$ coffeechat {shlex.join(arguments)}")
            app.stdout.flush()
            status = main(["--home", home, *arguments])
            if status != 0:
                return status
        for arguments in (["ls"], ["show", "ada"], ["agenda"]):
            app.out(f"\n$ coffeechat {shlex.join(arguments)}")
            app.stdout.flush()
            main(["--home", home, *arguments])
        if seconds > 0 and days > 0:
            live(app, home, days, seconds)
    finally:
        if keep:
            app.out(f"\nthe demo home is kept: coffeechat --home {home} ls")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 0


def live(app: App, home: str, days: float, seconds: float) -> None:
    """Run the daemon on ``home`` with a clock that lives ``days`` in ``seconds``."""
    import threading

    from coffeechat.daemon.notify import Notifier
    from coffeechat.daemon.runner import Daemon

    clock = ScaledClock(app.now, days * 86400 / seconds)
    app.out(f"\n$ coffeechat daemon   # the next {days:g} days in {seconds:g} seconds")
    app.stdout.flush()
    logger = logging.getLogger("coffeechat")
    handler = _ConsoleHandler(app, clock)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    daemon = Daemon(Home.locate(home), clock, Notifier(None))

    def finish() -> None:
        daemon.stop_requested = True
        daemon.wake.set()

    timer = threading.Timer(seconds, finish)
    timer.start()
    try:
        daemon.run()
    finally:
        timer.cancel()
        logger.handlers[:] = []


class _ConsoleHandler(logging.Handler):
    """Prints the reminders the daemon delivers, stamped with the demo's clock."""

    def __init__(self, app: App, clock: ScaledClock) -> None:
        super().__init__()
        self.app = app
        self.clock = clock

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("reminder "):
            when = self.clock.now().astimezone(self.app.zone)
            text = message.split(": ", 1)[1] if ": " in message else message
            self.app.out(f"  {when:%a %d %b %H:%M}  {text}")
            self.app.stdout.flush()
