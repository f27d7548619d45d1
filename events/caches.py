"""Writing a cache file: whole or not at all, readable by you alone.

The snapshot, its marks, the timeline index, the entry-point scan and the listed send
windows are caches: losing one costs only time, so they are not fsynced. Each is written
to a temporary file beside it and renamed over it, so a reader sees the old file or the
new one; a write that fails (a full disk, a read-only folder) leaves no temporary file.
"""

from __future__ import annotations

import contextlib
import os


def replace_cache_file(folder: str, name: str, data: bytes, *, make_folder: bool = False) -> bool:
    """Replace ``folder/name`` with ``data`` atomically, mode 0600; return whether it was
    written. ``make_folder``: create the folder (0700) when missing; otherwise a missing
    folder means nothing is written (a reading command creates nothing)."""
    temporary = os.path.join(folder, f".{name}.{os.getpid()}")
    try:
        if make_folder:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        with open(temporary, "wb", opener=_private) as file:
            file.write(data)
        os.replace(temporary, os.path.join(folder, name))
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    return True


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
