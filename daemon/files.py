"""Writing a whole file so that readers see the old one or the new one, never half."""

from __future__ import annotations

import contextlib
import os


def write_private(path: str, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically, readable by you alone (0600).

    The bytes go to a temporary file beside it, fsynced, then renamed over ``path``
    (and the folder fsynced); a missing folder is created 0700. Return False, writing
    nothing, when the file already holds exactly these bytes (a calendar program that
    watches it is not woken for nothing). Raise OSError if it cannot be written.
    """
    path = os.path.abspath(os.path.expanduser(path))
    try:
        with open(path, "rb") as file:
            if file.read() == data:
                return False
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        pass
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)  # whatever the umask, or a leftover file, said
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    folder_descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder_descriptor)
    finally:
        os.close(folder_descriptor)
    return True
