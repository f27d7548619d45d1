"""The one time source of coffeechat.

Everything that needs "now" asks a :class:`Clock`. Tests, the demo and the
benchmarks replace the clock and nothing else: set ``COFFEECHAT_NOW`` to an ISO 8601
instant with an offset (``2026-12-01T09:00:00+01:00``) and every command behaves as if
that were the current time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

NOW_VARIABLE = "COFFEECHAT_NOW"
SPEED_VARIABLE = "COFFEECHAT_CLOCK_SPEED"


class Clock:
    """The wall clock: the current instant, always timezone-aware, in UTC."""

    def now(self) -> datetime:
        """Return the current instant (aware, UTC)."""
        return datetime.now(UTC)

    def seconds_until(self, instant: datetime) -> float:
        """Return how many real seconds to wait until this clock shows ``instant``."""
        return (instant - self.now()).total_seconds()


class FixedClock(Clock):
    """A clock that stands still at one instant, for tests and reproducible runs."""

    def __init__(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("a FixedClock needs an aware datetime")
        self.instant = instant.astimezone(UTC)

    def now(self) -> datetime:
        """Return the fixed instant."""
        return self.instant


class ScaledClock(Clock):
    """A clock that starts at an instant and runs ``speed`` times faster than real time.

    The demo runs the daemon on it, so a week of reminders fires within a minute.
    """

    def __init__(self, start: datetime, speed: float) -> None:
        if start.tzinfo is None or speed <= 0:
            raise ValueError("a ScaledClock needs an aware start and a positive speed")
        self.start = start.astimezone(UTC)
        self.speed = speed
        self.began = time.monotonic()

    def now(self) -> datetime:
        """Return the start plus the real time elapsed, times the speed."""
        return self.start + timedelta(seconds=(time.monotonic() - self.began) * self.speed)

    def seconds_until(self, instant: datetime) -> float:
        """Return the real seconds until this clock shows ``instant``."""
        return (instant - self.now()).total_seconds() / self.speed


def clock_from_environment(environ: Mapping[str, str] | None = None) -> Clock:
    """Given the process environment, return the clock it asks for.

    ``COFFEECHAT_NOW`` fixes the clock; with ``COFFEECHAT_CLOCK_SPEED`` as well, the clock
    starts there and runs that many times faster than real time. Otherwise it is the wall
    clock. Raise ``ValueError`` if a variable is set but malformed.
    """
    variables = os.environ if environ is None else environ
    value = variables.get(NOW_VARIABLE, "").strip()
    if not value:
        return Clock()
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError(f"{NOW_VARIABLE} needs an offset, e.g. 2026-12-01T09:00:00+00:00")
    speed = variables.get(SPEED_VARIABLE, "").strip()
    if speed:
        return ScaledClock(instant, float(speed))
    return FixedClock(instant)
