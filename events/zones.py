"""Time zones: the user's own zone, and zones named on the command line.

Every zone handed out here is a :class:`zoneinfo.ZoneInfo` with a real IANA key
(``Europe/Paris``, not ``CET`` guessed from an offset), so it can be written to the log
and read back later.

The user's zone is, in order: the ``TZ`` environment variable (a leading ``:`` is
dropped; a path such as ``/usr/share/zoneinfo/Europe/Paris`` is read as the key after
``zoneinfo/``; a value that is not a zone name, e.g. a POSIX rule like ``CET-1CEST``, is
ignored), the target of the ``/etc/localtime`` symlink after ``.../zoneinfo/``, the
contents of ``/etc/timezone``, and finally ``UTC``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from coffeechat.events.errors import UserError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

_LOCALTIME = "/etc/localtime"
_TIMEZONE_FILE = "/etc/timezone"
_ZONEINFO_MARK = "zoneinfo/"
# Debian and others also ship copies of the database under these sub-folders.
_VARIANT_PREFIXES = ("posix/", "right/")
_LONGEST_KEY = 255
# Where CPython looks first on Linux (its default TZPATH): enough to tell that a key is
# a zone without importing zoneinfo, which costs a recording command ~4 ms.
_SYSTEM_DATABASES = ("/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo")


def _plausible(name: str) -> bool:
    return bool(name) and len(name) <= _LONGEST_KEY and ".." not in name and name[0] != "/"


def _try_zone(name: str) -> ZoneInfo | None:
    """Given a would-be IANA key, return its zone, or None if it does not name one."""
    if not _plausible(name):
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _in_system_database(name: str) -> bool:
    """Whether ``name`` is a zone file of the system's database (a cheap, partial check)."""
    if not _plausible(name):
        return False
    for folder in _SYSTEM_DATABASES:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with open(path, "rb") as file:
                return file.read(4) == b"TZif"
    return False


def _key_from_path(path: str) -> str | None:
    """Given a path into a zoneinfo database, return the key after ``zoneinfo/``."""
    _, mark, key = path.rpartition(_ZONEINFO_MARK)
    if not mark:
        return None
    for prefix in _VARIANT_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix) :]
    return key


def _system_candidates(localtime: str, timezone_file: str) -> Iterator[str]:
    """Yield the zone names the system's settings suggest, the most telling first."""
    try:
        target = os.readlink(localtime)
    except OSError:
        target = ""
    if target:
        key = _key_from_path(target) or _key_from_path(os.path.realpath(localtime))
        if key:
            yield key
    try:
        with open(timezone_file, encoding="utf-8") as handle:
            content = handle.read(_LONGEST_KEY + 1)
    except (OSError, UnicodeDecodeError):
        content = ""
    words = content.split(maxsplit=1)
    if words:
        yield words[0]


def _candidates(tz: str | None) -> Iterator[str]:
    if tz:
        name = tz.strip().removeprefix(":")
        key = _key_from_path(name) if name.startswith("/") else name
        if key:
            yield key
    yield from _system_candidates(_LOCALTIME, _TIMEZONE_FILE)


def _system_zone(localtime: str = _LOCALTIME, timezone_file: str = _TIMEZONE_FILE) -> ZoneInfo:
    """Given the paths of the system's zone settings, return the zone they name (else UTC)."""
    for key in _system_candidates(localtime, timezone_file):
        zone = _try_zone(key)
        if zone is not None:
            return zone
    from zoneinfo import ZoneInfo

    return ZoneInfo("UTC")


@lru_cache(maxsize=16)
def _zone_for_tz(tz: str | None) -> ZoneInfo:
    """Given the value of ``TZ`` (or None), return the user's zone."""
    if tz:
        name = tz.strip().removeprefix(":")
        key = _key_from_path(name) if name.startswith("/") else name
        zone = _try_zone(key) if key else None
        if zone is not None:
            return zone
    return _system_zone()


def local_zone(environ: Mapping[str, str] | None = None) -> ZoneInfo:
    """Given the process environment (default ``os.environ``), return the user's zone.

    The zone comes from ``TZ`` if it names an IANA zone, else from ``/etc/localtime``,
    else from ``/etc/timezone``, else it is UTC; the result always has an IANA ``key``.
    Results are cached per ``TZ`` value. Never raises.
    """
    source = os.environ if environ is None else environ
    return _zone_for_tz(source.get("TZ"))


def local_zone_key(environ: Mapping[str, str] | None = None) -> str:
    """Return the IANA name of the user's zone, as :func:`local_zone` would find it.

    Answers from the system's zone files when it can, without importing ``zoneinfo``
    (a command that only stamps an event needs the name, not the zone).
    """
    source = os.environ if environ is None else environ
    for key in _candidates(source.get("TZ")):
        if _in_system_database(key):
            return key
        if _try_zone(key) is not None:
            return key
    return local_zone(source).key


def zone_named(name: str) -> ZoneInfo:
    """Given an IANA zone name such as ``Europe/Paris``, return that zone.

    Surrounding whitespace is ignored. Raise UserError if the name is empty, contains
    ``..``, or is not a zone in the time zone database.
    """
    zone = _try_zone(name.strip())
    if zone is None:
        shown = name.strip()
        shown = f"'{shown}'" if shown.isprintable() and len(shown) <= 60 else repr(shown[:60])
        raise UserError(
            f"unknown time zone {shown}: use an IANA name such as Europe/Paris or America/New_York"
        )
    return zone
