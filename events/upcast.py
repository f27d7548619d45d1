"""Reading old events: decode a line, upcasting an older version of its type on the way.

Each upcaster turns the raw mapping of version N of one event type into version N+1;
they chain, so a line of any age reaches the current version. The log is never
rewritten: the upcast happens every time an old line is read, which costs nothing
for lines already at the current version.

History of the stored format:

- ``outreach.sent`` v1 (the prototype) said ``medium`` with the values ``mail``,
  ``li``, ``call``, ``event`` and ``other``. v2 says ``channel`` with the words the
  command line uses (``email``, ``linkedin``, ``phone``, ``event``, ``other``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from coffeechat.events.model import AnyEvent, Event, event_decoder

RawEvent = dict[str, Any]

_V1_MEDIUM_TO_CHANNEL = {
    "mail": "email",
    "li": "linkedin",
    "call": "phone",
    "event": "event",
    "other": "other",
}


def upcast_outreach_sent_v1_v2(raw: RawEvent) -> RawEvent:
    """Given an ``outreach.sent`` v1 mapping, return it as v2 (``medium`` → ``channel``)."""
    upgraded = {key: value for key, value in raw.items() if key != "medium"}
    medium = raw.get("medium", "mail")
    upgraded["channel"] = _V1_MEDIUM_TO_CHANNEL.get(medium, "other")
    upgraded["v"] = 2
    return upgraded


UPCASTERS: dict[tuple[str, int], Callable[[RawEvent], RawEvent]] = {
    ("outreach.sent", 1): upcast_outreach_sent_v1_v2,
}


def upcast(raw: RawEvent) -> RawEvent:
    """Given a raw event mapping, apply every upcaster that applies, oldest first."""
    while (step := UPCASTERS.get((raw.get("type"), raw.get("v")))) is not None:  # type: ignore[arg-type]
        raw = step(raw)
    return raw


def decode_event(line: bytes) -> Event:
    """Given one line of the log, return its event at the current version.

    Raise ``msgspec.DecodeError`` if the line is not JSON, and ``msgspec.ValidationError``
    if it is not an event of a known type, even after upcasting.
    """
    try:
        event: Event = event_decoder().decode(line)
    except msgspec.ValidationError:
        return _decode_upcast(line)
    if event.v < event.VERSION:
        return _decode_upcast(line)
    return event


def finish_decoded(event: Event, line: bytes) -> Event:
    """Given an event decoded in a batch and its line, return it upcast where needed."""
    if event.v < event.VERSION:
        return _decode_upcast(line)
    return event


def _decode_upcast(line: bytes) -> Event:
    raw = msgspec.json.decode(line)
    if not isinstance(raw, dict):
        raise msgspec.ValidationError("Expected `object`")
    result: Event = msgspec.convert(upcast(raw), AnyEvent)
    return result
