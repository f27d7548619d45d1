"""Shared pieces of the benchmarks: a realistic log of any size, and a fair stopwatch.

Figures are reported as ratios against a reference measured in the same run
(``python -c pass`` from the same interpreter, Taskwarrior's ``task add``, msgspec's
own decode of the same file), because the machines are shared and noisy.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.log import EventLog

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)


def journey_events(
    contacts: int, total: int, device: str = "bench", seed: int = 7, *, varied: bool = False
) -> list[m.Event]:
    """Return ``total`` events over ``contacts`` people: a whole journey each, then notes.

    Every contact is added, planned, reached, answered, met, thanked; the rest of the
    events are notes and touchpoints spread over them, as years of use would leave.
    ``varied``: each journey stops after a chosen number of steps, so that every stage
    has people (the dashboard's board).
    """
    chooser = random.Random(seed)
    events: list[m.Event] = []
    moment = START
    handles = [f"person-{number}" for number in range(contacts)]

    def stamp() -> Stamp:
        nonlocal moment
        moment += timedelta(seconds=37)
        return Stamp(moment, device, PARIS)

    for number, handle in enumerate(handles):
        events.append(
            stamp()(
                m.ContactAdded,
                contact=handle,
                name=f"Person {number}",
                company=f"Company {number % 97}",
                role=chooser.choice(["Engineer", "Economist", "Designer", "Researcher"]),
                industry=chooser.choice(["Computing", "Public sector", "Finance"]),
            )
        )
        steps = (m.OutreachPlanned, m.OutreachSent, m.ReplyReceived, m.MeetingHeld, m.ThanksSent)
        for kind in steps[: chooser.randint(0, len(steps))] if varied else steps:
            events.append(stamp()(kind, contact=handle))
            if len(events) >= total:
                return events[:total]
    while len(events) < total:
        handle = chooser.choice(handles)
        if chooser.random() < 0.7:
            events.append(stamp()(m.NoteAdded, contact=handle, text="talked about the new role"))
        else:
            events.append(stamp()(m.TouchLogged, contact=handle, note="coffee"))
    return events


def bench_home(folder: Path, events: int, contacts: int, *, varied: bool = False) -> Path:
    """Make a coffeechat home in ``folder`` whose log holds a journey of ``events``
    (``varied``: journeys that stop at every stage, see :func:`journey_events`)."""
    home = folder / "home"
    (home / "log").mkdir(parents=True)
    (home / "device").write_text("bench\n")
    write_log(home / "log", journey_events(contacts, events, varied=varied))
    return home


def write_log(folder: Path, events: Sequence[m.Event], batch: int = 10_000) -> None:
    """Append events to a log folder in large batches (the format is the real one)."""
    log = EventLog(folder, "bench")
    for start in range(0, len(events), batch):
        log.append(events[start : start + batch])


def interleaved_medians(
    commands: dict[str, Sequence[str]],
    runs: int,
    env: dict[str, str] | None = None,
    before: dict[str, Callable[[], object]] | None = None,
) -> dict[str, float]:
    """Time several commands taking turns, so a burst of load hits them all alike.

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


def milliseconds(seconds: float) -> str:
    """Return seconds as a short millisecond figure."""
    return f"{seconds * 1000:.1f} ms"
