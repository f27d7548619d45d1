"""The one time source of coffeechat.

Everything that needs "now" asks a :class:`Clock`. Tests, the demo and the
benchmarks replace the clock and nothing else: set ``COFFEECHAT_NOW`` to an ISO 8601
instant with an offset (``2026-12-01T09:00:00+01:00``) and every command behaves as if
that were the current time.

The order in which the fold applies events is not this clock but a hybrid logical
clock (:func:`next_hlc`): the wall clock, pushed past everything the writer has seen, so
that devices whose clocks disagree still fold cause before effect.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

NOW_VARIABLE = "COFFEECHAT_NOW"
SPEED_VARIABLE = "COFFEECHAT_CLOCK_SPEED"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


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


def micros(instant: datetime) -> int:
    """Given an aware instant, return it as whole microseconds since 1970 (UTC), exactly."""
    return (instant - EPOCH) // MICROSECOND


def next_hlc(now: datetime, after: int) -> int:
    """Return the hybrid logical clock reading of an event recorded at ``now``.

    ``after`` is the greatest reading this writer has seen (folded, or given to its own
    previous event). The result is this device's clock in microseconds, unless that is
    not past ``after`` (the clock is behind another device's, or stands still): then it
    is ``after`` plus one. So an event always sorts after everything its writer had seen,
    whatever the clocks say, and stays close to real time while clocks agree.
    """
    return max(micros(now), after + 1)
