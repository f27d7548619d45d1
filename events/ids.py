"""Time-ordered unique identifiers for events (ULIDs) and devices.

An event id is a ULID: 48 bits of milliseconds since the epoch and 80 random bits,
written in Crockford's base 32 (26 characters). Ids made by one process are strictly
increasing even within a millisecond, so a device's own events sort in the order it
wrote them.
"""

from __future__ import annotations

import os
import re
from datetime import datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# What a device id is made of: lower-case letters, digits and hyphens (a host name as a
# slug, a hyphen, six hex digits), not starting with a hyphen, at most 64 characters. A
# segment in log/ is exactly "<device id>.jsonl". (Checked without a regular expression:
# every command checks a few names, and compiling one costs more than that.)
_DEVICE_ID_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
DEVICE_ID_MAX = 64
_RANDOM_BITS = 80
_last: tuple[int, int] = (-1, 0)


def _base32(number: int, length: int) -> str:
    digits = []
    for _ in range(length):
        number, remainder = divmod(number, 32)
        digits.append(_CROCKFORD[remainder])
    return "".join(reversed(digits))


def new_event_id(instant: datetime) -> str:
    """Given the instant an event is recorded, return a new ULID for it."""
    global _last
    milliseconds = int(instant.timestamp() * 1000)
    last_milliseconds, last_random = _last
    if milliseconds <= last_milliseconds:
        # Same (or an earlier) millisecond in this process: keep the order by counting on.
        milliseconds, random_part = last_milliseconds, last_random + 1
    else:
        random_part = int.from_bytes(os.urandom(10), "big") >> 1  # room to count on
    _last = (milliseconds, random_part)
    return _base32(milliseconds, 10) + _base32(random_part, 16)


def is_device_id(text: str) -> bool:
    """Whether ``text`` is in the alphabet of device ids (so it can name a segment)."""
    return (
        0 < len(text) <= DEVICE_ID_MAX and text[0] != "-" and _DEVICE_ID_CHARACTERS.issuperset(text)
    )


def new_device_id() -> str:
    """Return a new device id: this host's name as a slug and six random hex digits.

    The host name is there so that a person looking at a synced ``log/`` folder can tell
    which segment came from which machine.
    """
    import socket  # only the first write of a home needs it

    host = re.sub(r"[^a-z0-9]+", "-", socket.gethostname().lower()).strip("-")[:24] or "device"
    return f"{host}-{os.urandom(3).hex()}"
