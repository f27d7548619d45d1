"""The one time source of coffeechat.

Everything that needs "now" asks a :class:`Clock`. Tests, the demo and the
benchmarks replace the clock and nothing else: set ``COFFEECHAT_NOW`` to an ISO 8601
instant with an offset (``2026-12-01T09:00:00+01:00``) and every command behaves as if
that were the current time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime

NOW_VARIABLE = "COFFEECHAT_NOW"


class Clock:
    """The wall clock: the current instant, always timezone-aware, in UTC."""

    def now(self) -> datetime:
        """Return the current instant (aware, UTC)."""
        return datetime.now(UTC)


class FixedClock(Clock):
    """A clock that stands still at one instant, for tests and reproducible runs."""

    def __init__(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("a FixedClock needs an aware datetime")
        self.instant = instant.astimezone(UTC)

    def now(self) -> datetime:
        """Return the fixed instant."""
        return self.instant


def clock_from_environment(environ: Mapping[str, str] | None = None) -> Clock:
    """Given the process environment, return the clock it asks for.

    ``COFFEECHAT_NOW`` fixes the clock; otherwise it is the wall clock. Raise
    ``ValueError`` if the variable is set but is not an aware ISO 8601 instant.
    """
    value = (os.environ if environ is None else environ).get(NOW_VARIABLE, "").strip()
    if not value:
        return Clock()
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError(f"{NOW_VARIABLE} needs an offset, e.g. 2026-12-01T09:00:00+00:00")
    return FixedClock(instant)
