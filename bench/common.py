"""Shared pieces of the benchmarks: homes that look like users' homes, and fair stopwatches.

A benchmark home (:func:`realistic_events`, :func:`write_home`) holds ``events`` events over
``events // 50`` contacts, dated over the three years before it was built and up to that
moment, in the real log format (one segment per device, two devices). Every stage has
people: new, planned, reached (some with a nudge due, most not yet), replied, scheduled
(meetings in the coming weeks), met (a thank-you owed), thanked, in touch (most touched
within their 90 days, some overdue), no-reply, declined and archived; journeys under way
are capped in number (:data:`ACTIVE_CAPS`), as a person's hours cap them. The rest of the
events are notes and touchpoints, most on the people one stays in touch with. The same
size and seed give the same events, whatever the machine.

Building a million events takes tens of seconds, so :func:`cached_home` keeps built homes
under ``bench/out/homes/<size>/`` keyed by the size, :data:`GENERATOR_VERSION` and the day
they were built for ("now" moves on: a home a week old has more reminders overdue than a
user's). Benchmarks run on a copy (:func:`working_copy`), never on the cached home.

Figures are reported as ratios against references measured in the same run (``python -c
pass`` from the same interpreter, Taskwarrior, ``remind``), because the machines are shared
and noisy.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from coffeechat.events import model as m

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
HOMES = OUT / "homes"

#: Change it whenever the generator changes what it writes: cached homes are rebuilt.
GENERATOR_VERSION = 5
EVENTS_PER_CONTACT = 50
YEARS = 3
ZONE = "Europe/Paris"
#: The home's own device (it writes ``note``) and a second one whose segment is synced in.
DEVICES = ("laptop-5f1c2a", "desktop-9b04e7")
SECOND_DEVICE_SHARE = 0.2

DAY = 86_400.0
HOUR = 3_600.0

# Where each contact's journey stands, with how many in a hundred contacts stand there.
# The first contacts take one stage each (in this order), so that every stage is present
# from 12 contacts (600 events) on; the others are drawn with these weights.
# The stages of a journey under way are capped (ACTIVE_CAPS): how many people one is
# planning, waiting on, booking or thanking depends on the hours one has (a busy user
# reaches out to ~10 people a week), not on how large the network has grown over the
# years; a large home has more people in touch, archived or never contacted (imports).
STAGE_WEIGHTS: dict[str, int] = {
    "in-touch": 30,
    "thanked": 8,
    "archived": 12,
    "declined": 6,
    "no-reply": 7,
    "met": 2,
    "scheduled": 5,
    "replied": 4,
    "reached": 5,
    "reached, nudge due": 3,
    "planned": 6,
    "new": 12,
}

ACTIVE_CAPS: dict[str, int] = {
    "thanked": 60,
    "met": 5,
    "scheduled": 20,
    "replied": 10,
    "reached": 40,
    "reached, nudge due": 15,
    "planned": 30,
}
PAST_STAGES = ("in-touch", "archived", "new", "no-reply", "declined")

_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def parse_size(text: str) -> int:
    """Given ``1k``, ``10k``, ``1M`` or ``2500``, return the number of events."""
    text = text.strip()
    factor = {"k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if factor > 1 else text) * factor)


def size_label(events: int) -> str:
    """Given a number of events, return it as ``1k``, ``10k``, ``1M`` (or the number)."""
    if events % 1_000_000 == 0:
        return f"{events // 1_000_000}M"
    if events % 1_000 == 0:
        return f"{events // 1_000}k"
    return str(events)


def ulid(milliseconds: int, random_bits: int) -> str:
    """Return the ULID of an instant and its random part (as ``coffeechat.events.ids``
    writes them: 26 characters of Crockford's base 32), without a Python loop per digit."""
    number = (milliseconds << 80 | random_bits) << 6  # 130 bits of digits, then 6 zero bits
    return base64.b32encode(number.to_bytes(17, "big")).decode()[:26].translate(_CROCKFORD)


@dataclass
class _Planned:
    """One event to write: when it happened, who it is about, its type and fields."""

    at: float
    contact: str | None
    kind: type[m.Event]
    fields: dict[str, Any]


def _stages(contacts: int, chooser: random.Random) -> list[str]:
    names = list(STAGE_WEIGHTS)
    drawn = chooser.choices(names, weights=list(STAGE_WEIGHTS.values()), k=contacts)
    stages = (names + drawn[len(names) :])[:contacts]
    counts = dict.fromkeys(names, 0)
    past_weights = [STAGE_WEIGHTS[name] for name in PAST_STAGES]
    for index, stage in enumerate(stages):
        if counts[stage] >= ACTIVE_CAPS.get(stage, contacts):
            stage = stages[index] = chooser.choices(PAST_STAGES, weights=past_weights)[0]
        counts[stage] += 1
    return stages


def _office_hour(instant: float, chooser: random.Random) -> float:
    """Return the day of ``instant`` at a full hour between 8:00 and 16:00 UTC."""
    return instant - instant % DAY + chooser.randint(8, 16) * HOUR


def _journey(
    handle: str, stage: str, now: float, chooser: random.Random
) -> tuple[list[_Planned], float, float]:
    """Return a contact's journey events, and the window (start, end) its notes fall in."""
    uniform = chooser.uniform
    oldest = now - YEARS * 365 * DAY
    if stage in ("in-touch", "archived", "declined", "no-reply"):
        start = uniform(oldest, now - 120 * DAY)
    elif stage == "thanked":  # thanked lately (a journey takes up to 27 days): the
        start = uniform(now - 80 * DAY, now - 40 * DAY)  # keep-in-touch reminder still ahead
    elif stage == "new":
        start = uniform(oldest, now - DAY)
    elif stage == "reached, nudge due":
        start = uniform(now - 16 * DAY, now - 14 * DAY)
    elif stage == "reached":
        start = uniform(now - 9 * DAY, now - 7 * DAY)
    elif stage == "met":
        start = uniform(now - 30 * DAY, now - 20 * DAY)
    else:  # planned, replied, scheduled: within the last weeks
        start = uniform(now - 20 * DAY, now - 3 * DAY)
    number = int(handle.rsplit("-", 1)[1])
    events = [
        _Planned(
            start,
            handle,
            m.ContactAdded,
            {
                "name": f"Person {number}",
                "company": f"Company {number % 97}",
                "role": chooser.choice(("Engineer", "Economist", "Designer", "Researcher")),
                "industry": chooser.choice(("Computing", "Public sector", "Finance")),
                "how_met": chooser.choice(("conference", "alumni list", "a friend", None)),
            },
        )
    ]
    if stage == "new":
        return events, start, now
    moment = start + uniform(0.1, 3) * DAY

    def step(kind: type[m.Event], gap_days: tuple[float, float] = (0, 0), **fields: Any) -> None:
        nonlocal moment
        moment += uniform(*gap_days) * DAY
        events.append(_Planned(min(moment, now - 60), handle, kind, fields))

    step(m.OutreachPlanned, learn="how they moved into the field")
    if stage == "planned":
        return events, start, now
    channel = chooser.choice(("email", "linkedin"))
    if stage in ("reached", "reached, nudge due"):  # sent 1-5 days ago, or 8-11 (nudge due)
        moment = now - (uniform(1, 5) if stage == "reached" else uniform(8, 11)) * DAY
        step(m.OutreachSent, channel=channel)
        return events, start, now
    step(m.OutreachSent, (0, 2), channel=channel)
    if stage == "no-reply":
        return events, start, now
    if stage == "archived" and chooser.random() < 0.5:
        step(m.ContactArchived, (20, 60))
        return events, start, moment
    step(m.ReplyReceived, (0.5, 6), declined=stage == "declined")
    if stage == "declined":
        return events, start, now
    if stage == "replied":
        moment = max(moment, now - 2 * DAY)
        events[-1].at = min(moment, now - 60)
        return events, start, now
    if stage == "scheduled":
        booked = min(moment + uniform(0, 1) * DAY, now - HOUR)
        starts = _office_hour(now + uniform(1, 30) * DAY, chooser)
        events.append(
            _Planned(booked, handle, m.MeetingScheduled, {"starts": starts, "minutes": 30})
        )
        return events, start, now
    starts = _office_hour(moment + uniform(3, 14) * DAY, chooser)
    mode = chooser.choice(("video", "phone", "in-person"))
    step(m.MeetingScheduled, (0, 1), starts=starts, minutes=30, mode=mode)
    if stage == "met":  # held a few hours ago: the thank-you owed, due or nearly
        starts = now - uniform(1, 20) * HOUR
        events[-1].fields["starts"] = starts
    moment = starts + 0.5 * HOUR
    step(m.MeetingHeld, notes="good advice", fit=chooser.randint(2, 5))
    if stage == "met":
        return events, start, now
    step(m.ThanksSent, (0.05, 1))
    if stage == "archived":
        step(m.ContactArchived, (60, 400))
        return events, start, moment
    if stage == "thanked":
        return events, start, now
    # in touch: most were touched within the keep-in-touch cadence (90 days), some not.
    last_touch = now - (uniform(1, 85) if chooser.random() < 0.7 else uniform(95, 300)) * DAY
    events.append(_Planned(max(last_touch, moment + DAY), handle, m.TouchLogged, {"note": "call"}))
    return events, start, now


def realistic_events(
    total: int, now: datetime, seed: int = 11, devices: Sequence[str] = DEVICES
) -> list[m.Event]:
    """Return ``total`` events of a home used for the three years up to ``now``, ordered as
    they were recorded (see the module's docstring); ``devices``: the second one (if any)
    records a fifth of them."""
    chooser = random.Random(seed)
    end = now.timestamp()
    contacts = max(1, total // EVENTS_PER_CONTACT)
    handles = [f"person-{number}" for number in range(contacts)]
    planned: list[_Planned] = []
    note_windows: list[tuple[str, float, float]] = []
    touch_windows: dict[int, tuple[float, float]] = {}  # in touch: when touches fall
    weights: list[int] = []
    for handle, stage in zip(handles, _stages(contacts, chooser), strict=True):
        journey, first, last = _journey(handle, stage, end, chooser)
        planned.extend(journey)
        note_windows.append((handle, first + HOUR, last))
        weights.append(10 if stage == "in-touch" else 3 if stage in ("thanked", "met") else 1)
        if stage == "in-touch":  # after the thank-you, before the last touch
            touch_windows[len(note_windows) - 1] = (journey[-2].at + HOUR, journey[-1].at - HOUR)
    planned.append(
        _Planned(end - 700 * DAY, None, m.RecurringAdded, {"cron": "0 9 * * MON", "text": "review"})
    )
    planned.append(
        _Planned(end - 200 * DAY, None, m.RecurringAdded, {"cron": "0 8 1 * *", "text": "budget"})
    )
    planned = planned[:total]
    fillers = total - len(planned)
    uniform = chooser.uniform
    picks = chooser.choices(range(len(note_windows)), weights=weights, k=fillers)
    note_fields = {"text": "talked about the new role"}
    for index in picks:
        handle, low, high = note_windows[index]
        if index in touch_windows and chooser.random() < 0.3:
            low, high = touch_windows[index]
            if high > low:
                planned.append(_Planned(uniform(low, high), handle, m.TouchLogged, {}))
                continue
            low, high = note_windows[index][1:]
        planned.append(
            _Planned(uniform(low, max(low, high - 60)), handle, m.NoteAdded, note_fields)
        )
    return _stamped(planned, end, chooser, devices)


def _stamped(
    planned: list[_Planned], end: float, chooser: random.Random, devices: Sequence[str]
) -> list[m.Event]:
    """Give each planned event its id, recording instant, clock and device, in the order
    they were recorded (each a few seconds after it happened, one millisecond apart)."""
    recorded_at = [min(item.at + chooser.uniform(1, 30), end) for item in planned]
    order = sorted(range(len(planned)), key=recorded_at.__getitem__)
    last_millisecond = 0
    events: list[m.Event] = []
    from_timestamp = datetime.fromtimestamp
    for index in order:
        item = planned[index]
        millisecond = max(int(recorded_at[index] * 1000), last_millisecond + 1)
        last_millisecond = millisecond
        recorded = from_timestamp(millisecond / 1000, UTC)
        device = devices[len(devices) > 1 and chooser.random() < SECOND_DEVICE_SHARE]
        fields: dict[str, Any] = {
            name: from_timestamp(value, UTC) if name == "starts" else value
            for name, value in item.fields.items()
        }
        if item.contact is not None:
            fields["contact"] = item.contact
        events.append(
            item.kind(
                id=ulid(millisecond, chooser.getrandbits(79)),
                v=item.kind.VERSION,
                recorded=recorded,
                hlc=millisecond * 1000,
                device=device,
                at=from_timestamp(min(item.at, millisecond / 1000), UTC),
                zone=ZONE,
                **fields,
            )
        )
    return events


def write_home(home: Path, events: Sequence[m.Event], config: str = "") -> Path:
    """Write a coffeechat home: its device file, ``config.toml`` and one log segment per
    device, in the real format (``coffeechat.events.model``'s encoder, one line each)."""
    log = home / "log"
    log.mkdir(parents=True, mode=0o700, exist_ok=True)
    home.chmod(0o700)
    (home / "device").write_text(DEVICES[0] + "\n")
    (home / "config.toml").write_text(f'timezone = "{ZONE}"\n{config}')
    (home / "config.toml").chmod(0o600)
    for device in dict.fromkeys(event.device for event in events):
        mine = [event for event in events if event.device == device]
        descriptor = os.open(log / f"{device}.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "wb") as segment:
            for start in range(0, len(mine), 50_000):
                segment.write(m.encode_lines(mine[start : start + 50_000]))
    return home


def bench_home(folder: Path, events: int, contacts: int | None = None) -> Path:
    """Make a realistic home of ``events`` events in ``folder / "home"`` ending now
    (``contacts`` is always ``events // 50``; the argument is kept for old callers)."""
    del contacts
    return write_home(folder / "home", realistic_events(events, datetime.now(UTC)))


def cached_home(events: int, root: Path = HOMES) -> Path:
    """Return a realistic home of ``events`` events, built for today (once a day)."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    key = f"v{GENERATOR_VERSION}-{today:%Y%m%d}"
    folder = root / size_label(events)
    home = folder / key
    if (home / "built.json").exists():
        return home
    if folder.exists():
        shutil.rmtree(folder)  # another day's or another generator's home
    building = folder / f"{key}.building"
    began = time.perf_counter()
    write_home(building, realistic_events(events, datetime.now(UTC)))
    (building / "built.json").write_text(
        json.dumps({"events": events, "generator": GENERATOR_VERSION, "built": time.time()})
    )
    building.rename(home)
    seconds = time.perf_counter() - began
    print(f"built a home of {events:,} events in {seconds:.1f} s: {home}", file=sys.stderr)
    return home


def working_copy(home: Path, destination: Path) -> Path:
    """Copy a cached home to ``destination`` (replacing it) and return the copy."""
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(home, destination, ignore=shutil.ignore_patterns("built.json", "cache"))
    return destination


# --- stopwatches ----------------------------------------------------------------------------


def interleaved_medians(
    commands: Mapping[str, Sequence[str]],
    runs: int,
    env: dict[str, str] | None = None,
    before: Mapping[str, Callable[[], object]] | None = None,
) -> dict[str, float]:
    """Time several commands (wall clock) taking turns, so a burst of load hits them all
    alike; the first round warms the caches and is not counted.

    ``before[name]``, when given, runs (untimed) before every run of that command.
    """
    environment = {**os.environ, **(env or {})}
    before = before or {}
    timings: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(runs + 1):
        for name, command in commands.items():
            if name in before:
                before[name]()
            began = time.perf_counter()
            subprocess.run(command, env=environment, check=True, capture_output=True)
            if run:
                timings[name].append(time.perf_counter() - began)
    return {name: statistics.median(values) for name, values in timings.items()}


@dataclass(frozen=True)
class Usage:
    """What one run of a command cost: CPU seconds (user + system) and peak RSS in kB."""

    cpu: float
    rss_kb: int


class CommandFailed(RuntimeError):
    """A benchmarked command exited with a status other than 0."""


def rusage_launcher(output: Path = OUT) -> Path | None:
    """Return ``bench/rusage.c`` compiled into ``output`` (built when missing or older than
    its source), or None when there is no C compiler (``cc``)."""
    launcher = output / "rusage"
    source = BENCH / "rusage.c"
    if launcher.exists() and launcher.stat().st_mtime >= source.stat().st_mtime:
        return launcher
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    output.mkdir(parents=True, exist_ok=True)
    subprocess.run([compiler, "-O2", "-o", str(launcher), str(source)], check=True)
    return launcher


class CpuMeter:
    """Runs commands and returns their CPU time and peak RSS (``wait4``'s resource usage of
    the child alone, not wall time), through :func:`rusage_launcher` when there is one.

    Without it the child is waited for from this process, and its peak RSS is at least this
    process's own (Linux carries the high-water mark over fork and exec): ``rss_exact`` says
    which; reports print a note when it is False.
    """

    def __init__(self, launcher: Path | None, scratch: Path) -> None:
        self.launcher = launcher
        self.rss_exact = launcher is not None
        self.result_file = scratch / "rusage.result"
        self.error_file = scratch / "rusage.stderr"
        scratch.mkdir(parents=True, exist_ok=True)

    def measure(self, command: Sequence[str], env: dict[str, str] | None = None) -> Usage:
        """Run ``command`` (stdin and stdout on /dev/null); raise CommandFailed on failure."""
        environment = {**os.environ, **(env or {})}
        with open(self.error_file, "wb") as errors:
            if self.launcher is not None:
                self.result_file.unlink(missing_ok=True)
                launched = subprocess.run(
                    [str(self.launcher), str(self.result_file), *command],
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                )
                if not self.result_file.exists():
                    raise CommandFailed(f"rusage failed ({launched.returncode}): {command}")
                code, user, system, rss = self.result_file.read_text().split()
                status = int(code)
                usage = Usage((int(user) + int(system)) / 1e6, int(rss))
            else:
                process = subprocess.Popen(
                    list(command),
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                )
                _, wait_status, resources = os.wait4(process.pid, 0)
                process.returncode = status = os.waitstatus_to_exitcode(wait_status)
                usage = Usage(resources.ru_utime + resources.ru_stime, resources.ru_maxrss)
        if status != 0:
            message = self.error_file.read_text(errors="replace").strip()[-2000:]
            raise CommandFailed(f"{' '.join(command)} exited with {status}: {message}")
        return usage


def milliseconds(seconds: float) -> str:
    """Return seconds as a short millisecond figure."""
    return f"{seconds * 1000:.1f} ms"


def iter_sizes(text: str) -> Iterator[int]:
    """Given ``1k,10k,100k``, yield the sizes in events."""
    for part in text.split(","):
        if part.strip():
            yield parse_size(part)


def main() -> None:
    """``python bench/common.py home SIZE [FOLDER]``: build (or find) the cached home (in
    ``FOLDER``, default ``bench/out/homes``), print its path.

    The benchmarks build homes in a process of their own, so that their own memory stays
    small (see :class:`CpuMeter`).
    """
    if len(sys.argv) not in (3, 4) or sys.argv[1] != "home":
        raise SystemExit("usage: python bench/common.py home SIZE [FOLDER]")
    root = Path(sys.argv[3]) if len(sys.argv) == 4 else HOMES
    print(cached_home(parse_size(sys.argv[2]), root))


if __name__ == "__main__":
    main()
