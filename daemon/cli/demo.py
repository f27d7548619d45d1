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
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from coffeechat.daemon.cli.app import App
from coffeechat.events.clock import ScaledClock
from coffeechat.events.home import Home


def _journey(day: dict[int, str], meet: Callable[[int, str, str | None], str]) -> list[list[str]]:
    """Return the sample journey's commands. ``day[n]`` is the date n days ago; ``meet(n,
    "15:00", zone)`` is the weekday nearest n days from now (negative: ago) at that time
    in that zone (None: yours), written in your time, so every meeting falls in the
    contact's working day whatever your clock says."""
    ada = "Europe/London"
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
            ada,
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
            meet(-20, "15:00", ada),
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
            meet(-20, "15:30", ada),
        ],
        ["thank", "ada", "--at", meet(-20, "17:00", ada)],
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
            meet(2, "10:30", None),
            "--mode",
            "in-person",
            "--place",
            "the cafe by the library",
            "--at",
            day[2],
        ],
    ]


def _meetings(now: datetime, zone: ZoneInfo) -> Callable[[int, str, str | None], str]:
    """Return ``meet`` for :func:`_journey`: a weekday at a time of day in a zone."""

    def meet(days: int, clock: str, where: str | None) -> str:
        theirs = ZoneInfo(where) if where else zone
        date = (now + timedelta(days=days)).astimezone(theirs).date()
        step = 1 if days > 0 else -1  # after "in 2 days" look later, before "20 days ago"
        while date.weekday() >= 5:  # a coffee on a working day
            date += timedelta(days=step)
        hour, minute = (int(part) for part in clock.split(":"))
        instant = datetime(date.year, date.month, date.day, hour, minute, tzinfo=theirs)
        return f"{instant.astimezone(zone):%Y-%m-%d %H:%M}"

    return meet


def run_demo(app: App, *, keep: bool = False, days: float = 7, seconds: float = 40) -> int:
    """Record the sample journey into a new temporary home, show it, live the next
    ``days`` in ``seconds`` with the daemon, and tidy up."""
    from coffeechat.daemon.cli import main

    home = tempfile.mkdtemp(prefix="coffeechat-demo-")
    now = app.now.astimezone(app.zone)
    day = {n: f"{(now - timedelta(days=n)):%Y-%m-%d}" for n in range(0, 31)}
    try:
        for arguments in _journey(day, _meetings(now, app.zone)):
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
    """Run the daemon on ``home`` with a clock that lives ``days`` in ``seconds``: each
    simulated day is announced as it begins, each reminder as it is delivered, and one
    line at the end says what happened."""
    import threading

    from coffeechat.daemon.notify import Notifier
    from coffeechat.daemon.runner import Daemon

    clock = ScaledClock(app.now, days * 86400 / seconds)
    app.out(f"\n$ coffeechat daemon   # the next {days:g} days in {seconds:g} seconds")
    app.stdout.flush()
    progress = _Progress(app, clock)
    logger = logging.getLogger("coffeechat")
    logger.handlers[:] = [_ConsoleHandler(progress)]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    daemon = Daemon(Home.locate(home), clock, Notifier(None))
    over = threading.Event()

    def days_go_by() -> None:
        progress.new_day()
        while not over.wait(max(clock.seconds_until(progress.next_midnight()), 0.01)):
            progress.new_day()

    def finish() -> None:
        over.set()
        daemon.stop_requested = True
        daemon.wake.set()

    ticker = threading.Thread(target=days_go_by, name="demo-days", daemon=True)
    timer = threading.Timer(seconds, finish)
    ticker.start()
    timer.start()
    try:
        daemon.run()
    finally:
        finish()
        timer.cancel()
        ticker.join()
        logger.handlers[:] = []
    progress.new_day()  # the last day, had the ticker not woken for it yet
    app.out(progress.summary(days, seconds))


class _Progress:
    """The demo's console: a line for each simulated day, the reminders under it."""

    def __init__(self, app: App, clock: ScaledClock) -> None:
        import threading

        self.app = app
        self.clock = clock
        self.lock = threading.Lock()
        self.shown: date | None = None  # the last day announced
        self.delivered: dict[str, str] = {}  # reminder id -> its title's kind

    def next_midnight(self) -> datetime:
        """Return the instant the next simulated day begins, in the user's zone."""
        local = self.clock.now().astimezone(self.app.zone)
        following = local.date() + timedelta(days=1)
        return datetime(following.year, following.month, following.day, tzinfo=self.app.zone)

    def new_day(self) -> None:
        """Announce the simulated day, once."""
        with self.lock:
            self._announce(self.clock.now().astimezone(self.app.zone))

    def _announce(self, local: datetime) -> None:
        """Announce every day from the last one announced up to ``local``'s (a busy
        machine may wake the ticker late: no day is skipped)."""
        day = local.date() if self.shown is None else self.shown + timedelta(days=1)
        while day <= local.date():
            self.app.out(f"  {day:%a} {day.day} {day:%b}")
            self.shown = day
            day += timedelta(days=1)
        self.app.stdout.flush()

    def delivered_now(self, reminder: str, text: str) -> None:
        """Show a reminder the daemon delivered, at the simulated time."""
        with self.lock:
            local = self.clock.now().astimezone(self.app.zone)
            self._announce(local)
            self.delivered.setdefault(reminder, text.split(" · ")[0].split(":")[0])
            self.app.out(f"    {local:%H:%M}  {text}")
            self.app.stdout.flush()

    def summary(self, days: float, seconds: float) -> str:
        """Return the one line that says what happened."""
        count = len(self.delivered)
        kinds = ", ".join(dict.fromkeys(kind.lower() for kind in self.delivered.values()))
        what = f"{count} reminder{'s' if count != 1 else ''}" + (f" ({kinds})" if kinds else "")
        return (
            f"{days:g} days lived in {seconds:g} seconds: the daemon delivered {what}, each "
            "at its moment and once, and recorded every delivery in the log."
        )


class _ConsoleHandler(logging.Handler):
    """Shows the reminders the daemon delivers (what its log channel writes)."""

    def __init__(self, progress: _Progress) -> None:
        super().__init__()
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("reminder ") and ": " in message:
            head, text = message.split(": ", 1)
            if text.endswith("from a notification"):
                return  # a click on the desktop, not a delivery
            self.progress.delivered_now(head.removeprefix("reminder "), text)
