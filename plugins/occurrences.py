"""The fires of a schedule over a span of years, worked out once and kept.

Every rule asks :mod:`coffeechat.plugins.schedules` for the next send window of one contact
after another, and every command asks again. Rather than a croniter search per question,
the fires of one schedule in one zone are listed once, from the start of the year four
years ago to the start of the year after next; a question inside that span is a binary
search. A question outside it (or about a schedule too busy to list, more than
:data:`MOST_FIRES` fires) is answered by the exact search in ``schedules``.

The list is exactly the set the exact search defines (see ``schedules``): every naive wall
time the expression matches, read with ``fold=0`` and normalised through UTC (a wall time in
a spring-forward gap moves forward by the gap; a repeated one fires once, at its first
instant), each instant once. It is worked out from croniter's own reading of the fields
(``croniter.expand``) for plain expressions (numbers, names, ranges, steps, lists: what
send windows and digests are); an expression using ``L``, ``W``, ``#`` or ``?`` is always
searched exactly.

The lists are kept for the process, and on disk (:func:`use_cache_folder`, a home's
``cache/``) so that the next command answers without importing croniter at all. Without a
cache folder, a schedule is listed only once it has been asked about :data:`LIST_AFTER`
times in the process: for a few questions croniter's search costs less than a listing. An entry
on disk is used only for the same expression, zone, span, listing method, and the same
bytes of the zone's file in the tz database (a tzdata update changes them): it can be
stale, never wrong. The file is written atomically (a private temporary file renamed over
it), best effort: a missing or read-only folder, or a damaged file, only means computing.
"""

from __future__ import annotations

import io
import os
import re
import time
from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import msgspec

from coffeechat.events.caches import replace_cache_file

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

__all__ = [
    "CACHE_NAME",
    "MOST_FIRES",
    "CacheFile",
    "Entry",
    "last_at_or_before",
    "next_after",
    "use_cache_folder",
]

MOST_FIRES = 5000
"""A schedule that fires more often than this over the span is not listed (daily is)."""

CACHE_NAME = "windows.msgpack"
# Bump when the way the lists are made changes: entries made another way are not used.
METHOD = 1
_FORMAT = 1
_KEEP = 64  # entries kept on disk, the most recently made
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MARGIN = timedelta(days=3)  # beyond any UTC offset plus any gap
_LONGEST_MONTH = timedelta(days=31)
# A schedule asked about this often in a process is listed even when no cache folder keeps
# the list for the next command (fewer questions: croniter's search is cheaper).
LIST_AFTER = 8
# Numbers, ranges, steps and lists; names (three letters) in the month and weekday fields.
_PLAIN_NUMBERS = re.compile(r"[0-9*,/-]+")
_PLAIN_NAMES = re.compile(r"(?:[0-9*,/-]|\b[a-z]{3}\b)+")


class Entry(msgspec.Struct, array_like=True):
    """The fires of ``expression`` in ``zone`` in (``start``, ``end``], as microseconds
    since the epoch (UTC), listed by ``method`` from the zone file whose digest is
    ``zone_data``."""

    expression: str
    zone: str
    zone_data: str
    method: int
    start: int
    end: int
    fires: list[int]


class CacheFile(msgspec.Struct):
    """What ``cache/windows.msgpack`` holds."""

    format: int
    entries: list[Entry]


_folder: str | None = None
_on_disk: dict[tuple[str, str], Entry] | None = None  # read on first need
# (normalised expression, zone) -> its entry, or None when it is not listed
_known: dict[tuple[str, ZoneInfo], Entry | None] = {}
_asked: dict[tuple[str, ZoneInfo], int] = {}  # questions not answered from a list
_zone_data: dict[str, tuple[str, bytes] | None] = {}  # zone key -> digest and bytes of its file


def use_cache_folder(folder: str | None) -> None:
    """Keep the listed fires in ``folder`` (a home's ``cache/``) as well as in memory, and
    answer from what is there; None: in memory only. Nothing is read until a question."""
    global _folder, _on_disk
    if folder != _folder:
        _folder, _on_disk = folder, None


def next_after(expression: str, after: datetime, zone: ZoneInfo) -> datetime | None:
    """Return the first fire strictly after the aware instant ``after``, in ``zone``, when
    the listed fires answer it; None when they do not (ask the exact search)."""
    entry = _entry(expression, zone)
    if entry is None or after.tzinfo is None or after.utcoffset() is None:
        return None
    moment = _micros(after)
    if not entry.start <= moment < entry.end:
        return None
    index = bisect_right(entry.fires, moment)
    if index == len(entry.fires):
        return None
    return _instant(entry.fires[index]).astimezone(zone)


def last_at_or_before(expression: str, before: datetime, zone: ZoneInfo) -> datetime | None:
    """Return the last fire at or before the aware instant ``before``, in ``zone``, when
    the listed fires answer it; None when they do not (ask the exact search)."""
    entry = _entry(expression, zone)
    if entry is None or before.tzinfo is None or before.utcoffset() is None:
        return None
    moment = _micros(before)
    if not entry.start < moment <= entry.end:
        return None
    index = bisect_right(entry.fires, moment) - 1
    if index < 0:
        return None  # the last fire came before the span (if ever)
    return _instant(entry.fires[index]).astimezone(zone)


def _entry(expression: str, zone: ZoneInfo) -> Entry | None:
    """Return the listed fires of ``expression`` in ``zone`` over the current span (from
    memory, from disk, or listed now), or None when it is not listed."""
    normalized = " ".join(expression.split())
    key = (normalized, zone)
    if key in _known:
        return _known[key]
    start, end = _span()
    source = _zone_source(zone.key) if zone.key else None
    entry = None
    if source is not None and _folder is not None:
        stored = _disk().get((normalized, zone.key))
        if (
            stored is not None
            and (stored.zone_data, stored.method) == (source[0], METHOD)
            and (stored.start, stored.end) == (start, end)
        ):
            entry = stored
    if entry is None and _plain(normalized):
        kept = source is not None and _folder is not None and os.path.isdir(_folder)
        if not kept:  # listed for this process only: only when it pays
            _asked[key] = _asked.get(key, 0) + 1
            if _asked[key] < LIST_AFTER:
                return None
        if source is None:  # a zone of no known file: listed for this process only
            entry = _list(normalized, zone, start, end, "")
        else:  # listed from the bytes its digest names, so the entry cannot lie
            from zoneinfo import ZoneInfo

            from_file = ZoneInfo.from_file(io.BytesIO(source[1]), key=zone.key)
            entry = _list(normalized, from_file, start, end, source[0])
            if entry is not None and kept:
                _store(entry)
    _known[key] = entry
    return entry


def _span() -> tuple[int, int]:
    """Return the span listed, by the real clock: from the start of the year four years
    ago to the start of the year after next (UTC), in microseconds since the epoch."""
    year = time.gmtime().tm_year
    return (
        _micros(datetime(year - 4, 1, 1, tzinfo=UTC)),
        _micros(datetime(year + 2, 1, 1, tzinfo=UTC)),
    )


def _plain(normalized: str) -> bool:
    """Whether a normalised expression uses only numbers, names, ranges, steps and lists
    (no ``L``, ``W``, ``#``, ``?``), in five fields."""
    fields = normalized.lower().split(" ")
    return (
        len(fields) == 5
        and all(_PLAIN_NUMBERS.fullmatch(field) for field in fields[:3])
        and all(_PLAIN_NAMES.fullmatch(field) for field in fields[3:])
    )


def _list(normalized: str, zone: ZoneInfo, start: int, end: int, zone_data: str) -> Entry | None:
    """List the fires of a plain expression in (start, end] in ``zone``; None if it is not
    valid or fires more than MOST_FIRES times."""
    from coffeechat.plugins.schedules import validate

    try:
        validate(normalized)
    except ValueError:
        return None  # the exact search says why
    from croniter import croniter

    expanded, nth_weekdays = croniter.expand(normalized)
    minutes, hours, days_of_month, months, weekdays = expanded
    if nth_weekdays or any(
        value != "*" and not isinstance(value, int) for field in expanded for value in field
    ):
        return None
    # Both day fields restricted: either matching is enough (croniter's, cron's rule).
    either = days_of_month[0] != "*" and weekdays[0] != "*"
    on_dates = None if days_of_month[0] == "*" else frozenset(days_of_month)
    on_weekdays = None if weekdays[0] == "*" else frozenset(int(day) % 7 for day in weekdays)
    in_months = None if months[0] == "*" else frozenset(months)
    first = (_instant(start) - _MARGIN).date()
    last = (_instant(end) + _MARGIN).date()
    days = []
    for year in range(first.year, last.year + 1):
        for month in range(1, 13):
            if in_months is not None and month not in in_months:
                continue
            opens = date(year, month, 1)
            length = ((opens + _LONGEST_MONTH).replace(day=1) - opens).days
            weekday = (opens.weekday() + 1) % 7  # cron's: Sunday is 0
            for number in range(1, length + 1):
                on_date = on_dates is None or number in on_dates
                on_weekday = on_weekdays is None or (weekday + number - 1) % 7 in on_weekdays
                if (on_date or on_weekday) if either else (on_date and on_weekday):
                    days.append(date(year, month, number))
    days = [day for day in days if first <= day <= last]
    hour_list = range(24) if hours[0] == "*" else sorted(hours)
    minute_list = range(60) if minutes[0] == "*" else sorted(minutes)
    if len(days) * len(hour_list) * len(minute_list) > 2 * MOST_FIRES:
        return None
    fires = set()
    for day in days:
        for hour in hour_list:
            for minute in minute_list:
                wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                moment = _micros(wall)  # fold=0: a repeated time's first instant, a gap's shifted
                if start < moment <= end:
                    fires.add(moment)
    if len(fires) > MOST_FIRES:
        return None
    return Entry(normalized, zone.key or "", zone_data, METHOD, start, end, sorted(fires))


def _micros(moment: datetime) -> int:
    """Return an aware instant as microseconds since the epoch."""
    return (moment - _EPOCH) // _MICROSECOND


def _instant(micros: int) -> datetime:
    """Return microseconds since the epoch as an instant in UTC."""
    return _EPOCH + timedelta(microseconds=micros)


# --- the zone's data -------------------------------------------------------------------------


def _zone_source(key: str) -> tuple[str, bytes] | None:
    """Return the digest and the bytes of the zone file ``key`` names (the one zoneinfo
    reads: the first in TZPATH, else the tzdata package's), read once per process; None
    when no such file is found."""
    if key not in _zone_data:
        path = _zone_file(key)
        data = _read_bytes(path) if path else None
        _zone_data[key] = (_digest(data), data) if data is not None else None
    return _zone_data[key]


def _zone_file(key: str) -> str | None:
    """Return the path of the zone file ``zoneinfo`` reads for ``key``, or None."""
    import zoneinfo

    if ".." in key or key.startswith("/"):
        return None
    for folder in zoneinfo.TZPATH:
        path = os.path.join(folder, key)
        if os.path.isfile(path):
            return path
    from importlib.util import find_spec

    try:
        spec = find_spec("tzdata")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, "zoneinfo", *key.split("/"))
        if os.path.isfile(path):
            return path
    return None


def _read_bytes(path: str) -> bytes | None:
    """Return the bytes of the file at ``path`` (None if it cannot be read)."""
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:
        return None


def _digest(data: bytes) -> str:
    """Return a digest of a zone file's bytes."""
    import hashlib

    return hashlib.blake2b(data, digest_size=16).hexdigest()


# --- the file --------------------------------------------------------------------------------

_decoder = msgspec.msgpack.Decoder(CacheFile)


def _disk() -> dict[tuple[str, str], Entry]:
    """Return the entries of the cache file (read once; none if missing or damaged)."""
    global _on_disk
    if _on_disk is None:
        _on_disk = _read(_folder) if _folder is not None else {}
    return _on_disk


def _read(folder: str) -> dict[tuple[str, str], Entry]:
    """Return the entries of the cache file in ``folder`` (none if missing, damaged, or of
    another format)."""
    try:
        with open(os.path.join(folder, CACHE_NAME), "rb") as file:
            stored = _decoder.decode(file.read())
    except (OSError, msgspec.DecodeError):
        return {}
    if stored.format != _FORMAT:
        return {}
    return {(entry.expression, entry.zone): entry for entry in stored.entries}


def _store(entry: Entry) -> None:
    """Add ``entry`` to the cache file, if there is a cache folder and the zone's file
    still has the bytes the entry was listed from (a tzdata update since this process
    read it: not stored)."""
    if _folder is None or not os.path.isdir(_folder):
        return
    path = _zone_file(entry.zone)
    data = _read_bytes(path) if path else None
    if data is None or _digest(data) != entry.zone_data:
        return
    entries = _read(_folder)  # another command may have added some since
    entries.pop((entry.expression, entry.zone), None)
    entries[(entry.expression, entry.zone)] = entry
    kept = list(entries.values())[-_KEEP:]
    global _on_disk
    _on_disk = {(kept_entry.expression, kept_entry.zone): kept_entry for kept_entry in kept}
    replace_cache_file(_folder, CACHE_NAME, msgspec.msgpack.encode(CacheFile(_FORMAT, kept)))


def _forget() -> None:
    """Forget what this process listed and read (for tests)."""
    global _on_disk
    _known.clear()
    _asked.clear()
    _zone_data.clear()
    _on_disk = None
