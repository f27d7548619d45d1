"""The entry-point scan, cached: which installed packages declare plugins.

Finding entry points imports :mod:`importlib.metadata` (with ``email``, ``zipfile``,
``csv``) and reads every installed distribution's metadata: about 15 ms on every
command that loads plugins, for an answer that changes only when packages are
installed, removed or upgraded. So the answer is kept in the home's cache folder
(``entry-points.msgpack``) with a key made of what could change it:

- the import path (``sys.path``), each of its entries' inode and modification time: a
  package installed or removed adds or removes a ``*.dist-info`` folder, which changes
  its folder's modification time;
- the inode, size and modification time of every ``entry_points.txt`` in a
  ``*.dist-info`` or ``*.egg-info`` folder on that path: an in-place edit (an egg-info
  in a source tree) changes its file.

Computing the key lists those folders and stats a few dozen files (well under a
millisecond); a key that differs, a missing or unreadable cache, or one written by
another version is a scan, then a new cache. The cache is written only into a cache
folder that exists (a reading command creates nothing), atomically and private.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Sequence
from typing import Any

import msgspec

CACHE_NAME = "entry-points.msgpack"
_CACHE_VERSION = 1
# The syntax of an entry point's value: ``module.path:attribute.path [extras]``.
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attribute>[\w.]+)\s*)?(\[.*\]\s*)?$")


class FoundEntryPoint(msgspec.Struct, array_like=True):
    """One entry point of the group: its name, value, distribution and version."""

    name: str
    value: str
    distribution: str | None
    version: str | None


class _Cache(msgspec.Struct):
    version: int
    group: str
    key: list[Any]
    found: list[FoundEntryPoint]


def find_entry_points(group: str, cache_dir: str | None) -> list[FoundEntryPoint]:
    """Return the entry points of ``group``, from the cache in ``cache_dir`` when it is
    still true (see the module docstring), else from a scan (then cached)."""
    if cache_dir is None:
        return scan(group)
    path = os.path.join(cache_dir, CACHE_NAME)
    key = path_key(sys.path)
    cached = _read(path)
    if cached is not None and cached.group == group and cached.key == key:
        return cached.found
    found = scan(group)
    _write(path, _Cache(_CACHE_VERSION, group, key, found))
    return found


def scan(group: str) -> list[FoundEntryPoint]:
    """Return the entry points of ``group`` as :mod:`importlib.metadata` finds them."""
    from importlib.metadata import entry_points

    return [
        FoundEntryPoint(
            point.name,
            point.value,
            point.dist.name if point.dist is not None else None,
            point.dist.version if point.dist is not None else None,
        )
        for point in entry_points(group=group)
    ]


def load_entry_point(value: str) -> Any:
    """Import what an entry point's value names (``module:attribute``), as
    :meth:`importlib.metadata.EntryPoint.load` does."""
    import importlib

    match = _VALUE.match(value.strip())
    if match is None:
        raise ValueError(f"not an entry point: {value!r}")
    target: Any = importlib.import_module(match.group("module"))
    for attribute in filter(None, (match.group("attribute") or "").split(".")):
        target = getattr(target, attribute)
    return target


def path_key(entries: Sequence[str]) -> list[Any]:
    """Return what, on the import path ``entries``, an installation would change."""
    key: list[Any] = []
    for entry in entries:
        folder = entry or os.curdir
        try:
            status = os.stat(folder)
        except OSError:
            key.append([entry])
            continue
        mark: list[Any] = [entry, status.st_ino, status.st_mtime_ns]
        if stat.S_ISDIR(status.st_mode):
            mark.extend(_metadata_marks(folder))
        key.append(mark)
    return key


def _metadata_marks(folder: str) -> list[list[Any]]:
    marks: list[list[Any]] = []
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if e.name.endswith((".dist-info", ".egg-info")))
    except OSError:
        return marks
    for name in names:
        try:
            status = os.stat(os.path.join(folder, name, "entry_points.txt"))
        except OSError:
            continue
        marks.append([name, status.st_ino, status.st_size, status.st_mtime_ns])
    return marks


def _read(path: str) -> _Cache | None:
    try:
        with open(path, "rb") as file:
            cached = msgspec.msgpack.decode(file.read(), type=_Cache)
    except (OSError, msgspec.DecodeError):
        return None
    return cached if cached.version == _CACHE_VERSION else None


def _write(path: str, cache: _Cache) -> None:
    """Replace the cache file (only in a cache folder that exists: the next command scans
    again when it cannot be written)."""
    from coffeechat.events.caches import replace_cache_file

    replace_cache_file(os.path.dirname(path), os.path.basename(path), msgspec.msgpack.encode(cache))
