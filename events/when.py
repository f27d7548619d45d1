"""Read the WHEN and DURATION arguments of the command line.

WHEN (case-insensitive, surrounding whitespace ignored, runs of spaces count as one):

* ``now`` and ``today`` -- the current instant. ``today TIME`` is today at that time.
* ``tomorrow`` / ``yesterday`` [``at``] [TIME].
* A weekday [``at``] [TIME]: ``mon`` ``tue`` ``tues`` ``wed`` ``weds`` ``thu`` ``thur`` ``thurs``
  ``fri`` ``sat`` ``sun`` or the full name. By default (a plan) it is the next such day
  strictly after today, so ``thu`` on a Thursday is a week ahead. With ``past=True``
  (``--at``: when something happened) it is the most recent such day on or before today.
* ISO 8601 from ``YYYY-MM-DD``: ``2026-12-01``, ``2026-12-01T15:00``,
  ``2026-12-01T15:00:30``, ``2026-12-01 15:00``, with an offset (``+01:00``, ``Z``) or
  without. With an offset the result keeps that offset; without one it is local time in
  ``zone``. ``2026-12-01 3pm`` (a date, then any TIME below) works too.
* A TIME on its own is today at that time: ``10:00``, ``10``, ``9:30``, ``15:00``,
  ``15:00:30``, ``3pm``, ``3:30pm``, ``3 pm``, ``12am`` (00:00), ``12pm`` (12:00),
  ``noon``, ``midnight`` (00:00, the start of the day).
* Relative: ``+3d``, ``-1d``, ``+2h``, ``-90m``, ``+2w``, ``in 3 days``,
  ``in 30 minutes``, ``3 days ago``, ``2h ago``. The units are those of DURATION.
  Minutes and hours are elapsed time: ``+2h`` is exactly two hours after ``now``, even
  across a DST change. Days and weeks are calendar days in ``zone``: ``+1d`` is the same
  wall-clock time on the next day (23 or 25 hours later across a DST change), so a
  reminder at 09:00 stays at 09:00.

A day given without a time means 09:00 local time in ``zone`` (a working morning),
except ``now`` and ``today``, which mean the current instant. A WHEN before 1900 or
after 2999 is refused as out of range.

Results are aware datetimes in ``zone`` (ISO input with an offset keeps that offset).
Local wall times that do not exist or exist twice because of daylight saving time:

* A time in a spring-forward gap is moved forward by the length of the gap: 02:30 on
  the night Europe/Paris goes from 02:00 to 03:00 becomes 03:30+02:00.
* A time repeated at fall-back is the first (earlier) of the two instants (``fold=0``):
  02:30 on the night Europe/Paris goes from 03:00 back to 02:00 is 02:30+02:00.
  (Python never finds such an ambiguous time equal to a datetime in another zone:
  compare instants after ``.astimezone(UTC)``.)

DURATION: a positive whole number and a unit, with or without a space: ``m``,
``min``, ``mins``, ``minute(s)``; ``h``, ``hr``, ``hrs``, ``hour(s)``; ``d``,
``day(s)``; ``w``, ``wk``, ``wks``, ``week(s)``. So ``30m``, ``2h``, ``1d``, ``2w``,
``90 minutes``, ``3 days``. At most a hundred years.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from coffeechat.events.errors import UserError

__all__ = ["format_duration", "parse_duration", "parse_when"]

_WHEN_HINT = "try 2026-12-01, 2026-12-01T15:00, tomorrow 3pm, tue 10:00, +3d or 'in 3 days'"
_DURATION_HINT = "try 30m, 2h, 1d or 2w"
_DAY_STARTS = time(9, 0)
_ONE_DAY = timedelta(days=1)
_MAX_DIGITS = 9  # more would only ever overflow; also keeps int() far from its limits
_SHOWN_CHARS = 60
# Beyond these, a time is a typing mistake, and the rules' arithmetic (a week ahead, the
# next cron occurrence) would overflow what a datetime can hold near the year 9999.
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(3000, 1, 1, tzinfo=UTC)
_RANGE = "coffeechat takes times from 1900 to 2999"
_LONGEST = timedelta(days=36525)  # a hundred years

_UNITS: dict[str, timedelta] = {}
for _names, _unit in (
    (("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
    (("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
    (("d", "day", "days"), timedelta(days=1)),
    (("w", "wk", "wks", "week", "weeks"), timedelta(weeks=1)),
):
    for _name in _names:
        _UNITS[_name] = _unit

_WEEKDAYS: dict[str, int] = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}  # fmt: skip

_DAY_OFFSETS = {"today": 0, "tomorrow": 1, "yesterday": -1}

# All patterns run on text that is stripped, lower-cased and has single spaces.
# re.ASCII keeps \d and \s to ASCII digits and spaces (no Arabic-Indic numerals).
_AMOUNT = rf"(?P<n>\d{{1,{_MAX_DIGITS}}}) ?(?P<unit>[a-z]+)"
_DURATION_RE = re.compile(rf"{_AMOUNT}", re.ASCII)
_RELATIVE_RES = (
    re.compile(rf"(?P<sign>[+-]) ?{_AMOUNT}", re.ASCII),
    re.compile(rf"in {_AMOUNT}", re.ASCII),
    re.compile(rf"{_AMOUNT} ago", re.ASCII),
)
_TIME_RE = re.compile(
    r"(?P<word>noon|midnight)"
    r"|(?P<h>\d{1,2})(?::(?P<m>\d{2})(?::(?P<s>\d{2}))?)? ?(?P<ampm>[ap]\.?m\.?)?",
    re.ASCII,
)
_DAY_RE = re.compile(r"(?P<day>[a-z]+)(?: (?:at )?(?P<time>.+))?", re.ASCII)
_ISO_RE = re.compile(r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})(?:[t ](?P<rest>.+))?", re.ASCII)


class _BadInput(Exception):
    """Raised inside this module when input has a known shape but is out of range.

    Its message (possibly empty) is the reason shown to the user.
    """


def _shown(text: str) -> str:
    """Given user input, return it quoted for a one-line message (escaped, shortened)."""
    text = text.strip()
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 1] + "…"
    return f"'{text}'" if text.isprintable() and "'" not in text else repr(text)


def _when_error(text: str, reason: str = "") -> UserError:
    """Given the bad WHEN text (and why, if known), return the UserError to raise."""
    why = f" ({reason})" if reason else ""
    return UserError(f"can't read {_shown(text)} as a time{why}: {_WHEN_HINT}")


def _duration_error(text: str, reason: str = "") -> UserError:
    """Given the bad DURATION text (and why, if known), return the UserError to raise."""
    why = f" ({reason})" if reason else ""
    return UserError(f"can't read {_shown(text)} as a duration: {_DURATION_HINT}{why}")


def _normalise(text: str) -> str:
    """Given raw input, return it stripped, lower-cased and with single spaces."""
    return " ".join(text.split()).lower()


def _at_local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """Given a local date and time of day, return that instant in ``zone``.

    A time in a DST gap moves forward by the gap; an ambiguous time takes ``fold=0``.
    """
    wall = datetime.combine(day, clock, tzinfo=zone)  # fold=0: the earlier instant
    return wall.astimezone(UTC).astimezone(zone)


def _parse_time(text: str) -> time | None:
    """Given a time of day (``3pm``, ``15:00``, ``noon``), return it.

    Return None if the text is not shaped like a time. Raise _BadInput if it is, but is
    out of range (``25:00``, ``13pm``).
    """
    match = _TIME_RE.fullmatch(text)
    if match is None:
        return None
    word = match["word"]
    if word is not None:
        return time(12, 0) if word == "noon" else time(0, 0)
    hour = int(match["h"])
    minute = int(match["m"] or 0)
    second = int(match["s"] or 0)
    ampm = match["ampm"]
    if ampm is not None:
        if not 1 <= hour <= 12:
            raise _BadInput(f"hour {hour} with am/pm must be 1-12")
        hour = hour % 12 + (12 if ampm.startswith("p") else 0)
    elif hour > 23:
        raise _BadInput(f"hour {hour} is past 23")
    if minute > 59:
        raise _BadInput(f"minute {minute} is past 59")
    if second > 59:
        raise _BadInput(f"second {second} is past 59")
    return time(hour, minute, second)


def _required_time(text: str) -> time:
    """Given the time part after a day, return it. Raise _BadInput if it is not a time."""
    clock = _parse_time(text)
    if clock is None:
        raise _BadInput(f"{_shown(text)} is not a time of day")
    return clock


def _parse_iso(text: str, zone: ZoneInfo) -> datetime | None:
    """Given normalised text, return the ISO 8601 instant it names, or None if not ISO."""
    match = _ISO_RE.fullmatch(text)
    if match is None:
        return None
    try:
        day = date(int(match["y"]), int(match["mo"]), int(match["d"]))
    except ValueError as exc:
        raise _BadInput(str(exc)) from None
    rest = match["rest"]
    if rest is None:
        return _at_local(day, _DAY_STARTS, zone)
    if rest.isascii():
        try:
            parsed = datetime.fromisoformat(f"{day.isoformat()}T{rest.upper()}")
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                return _at_local(parsed.date(), parsed.time(), zone)
            return parsed
    return _at_local(day, _required_time(rest), zone)


def _parse_relative(text: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    """Given normalised text, return ``now`` moved by the relative amount, or None."""
    for index, pattern in enumerate(_RELATIVE_RES):
        match = pattern.fullmatch(text)
        if match is None:
            continue
        unit = _UNITS.get(match["unit"])
        if unit is None:
            raise _BadInput(f"unknown unit '{match['unit']}'")
        amount = int(match["n"])
        backwards = match["sign"] == "-" if index == 0 else index == 2
        if backwards:
            amount = -amount
        if unit < _ONE_DAY:  # minutes and hours: elapsed time
            return (now.astimezone(UTC) + unit * amount).astimezone(zone)
        local = now.astimezone(zone)  # days and weeks: same wall time, other day
        return _at_local(local.date() + unit * amount, local.time(), zone)
    return None


def _parse_day(text: str, now: datetime, zone: ZoneInfo, past: bool) -> datetime | None:
    """Given normalised text, return the day form (``tomorrow 3pm``, ``tue``), or None."""
    match = _DAY_RE.fullmatch(text)
    if match is None:
        return None
    word, time_text = match["day"], match["time"]
    today = now.astimezone(zone).date()
    if word in ("now", "today") and time_text is None:
        return now.astimezone(zone)
    if word in _DAY_OFFSETS:
        offset = _DAY_OFFSETS[word]
    elif word in _WEEKDAYS:
        weekday = _WEEKDAYS[word]
        if past:
            offset = -((today.weekday() - weekday) % 7)
        else:
            offset = (weekday - today.weekday() - 1) % 7 + 1
    else:
        return None
    clock = _DAY_STARTS if time_text is None else _required_time(time_text)
    return _at_local(today + timedelta(days=offset), clock, zone)


def parse_when(text: str, now: datetime, zone: ZoneInfo, *, past: bool = False) -> datetime:
    """Given a WHEN argument, the current instant and the user's zone, return the instant.

    ``now`` must be aware (any zone). The result is aware: in ``zone``, or in the offset
    the text gave. ``past`` picks the most recent weekday (on or before today) instead
    of the next one (strictly after today); see the module docstring for the grammar.
    Raise UserError if the text is not a WHEN or is out of range (``25:00``,
    ``2026-13-01``, before 1900 or after 2999). Raise ValueError if ``now`` is naive (a
    programming error).
    """
    if now.utcoffset() is None:
        raise ValueError("parse_when needs an aware 'now'")
    normal = _normalise(text)
    if not normal:
        raise _when_error(text, "it is empty")
    try:
        found = (
            _parse_iso(normal, zone)
            or _parse_relative(normal, now, zone)
            or _parse_day(normal, now, zone, past)
        )
        if found is None:
            clock = _parse_time(normal)
            if clock is not None:
                found = _at_local(now.astimezone(zone).date(), clock, zone)
        if found is not None:
            if not _EARLIEST <= found < _LATEST:
                raise _BadInput(_RANGE)
            return found
    except _BadInput as exc:
        raise _when_error(text, str(exc)) from None
    except OverflowError:
        raise _when_error(text, "out of range") from None
    raise _when_error(text)


def parse_duration(text: str) -> timedelta:
    """Given a DURATION argument (``30m``, ``2h``, ``1d``, ``2w``, ``90 minutes``), return it.

    Raise UserError if the text is not a positive whole number followed by a known unit
    (zero, negative, fractional, unknown unit), or if it is longer than a hundred years.
    """
    match = _DURATION_RE.fullmatch(_normalise(text))
    if match is None:
        raise _duration_error(text)
    unit = _UNITS.get(match["unit"])
    amount = int(match["n"])
    if unit is None or amount <= 0:
        raise _duration_error(text)
    try:
        delta: timedelta = unit * amount
    except OverflowError:
        delta = _LONGEST * 2
    if delta > _LONGEST:
        raise _duration_error(text, "it is longer than a hundred years")
    return delta


_FORMAT_UNITS = (
    ("w", timedelta(weeks=1)),
    ("d", timedelta(days=1)),
    ("h", timedelta(hours=1)),
    ("m", timedelta(minutes=1)),
    ("s", timedelta(seconds=1)),
)


def format_duration(delta: timedelta) -> str:
    """Given a duration, return it in the largest unit that divides it exactly.

    ``timedelta(weeks=2)`` → ``2w``, ``timedelta(hours=36)`` → ``36h``, 90 minutes →
    ``90m``; whole seconds fall back to ``Ns`` and smaller parts to fractional seconds
    (``1.5s``). Zero is ``0m``; a negative duration gets a leading ``-``. The result of
    a positive whole number of minutes reads back with :func:`parse_duration`. Never
    raises.
    """
    if not delta:
        return "0m"
    if delta < timedelta(0):
        return "-" + format_duration(-delta)
    for suffix, unit in _FORMAT_UNITS:
        if not delta % unit:
            return f"{delta // unit}{suffix}"
    micros = delta // timedelta(microseconds=1)
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{seconds}.{fraction:06d}".rstrip("0") + "s"
