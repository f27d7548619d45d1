"""What one contact's reminders read of the others, kept with the snapshot.

``show`` decodes only the contact it shows (and the few its reminders depend on) from
the snapshot; finding those few must not decode everyone. The rules read, besides a
contact's own state, the people it introduced (their own ``introduced`` list, and
every contact naming it as ``via``) and every booked meeting (a ``book`` reminder
offers times that avoid them). :class:`Links` keeps the last two for the whole state;
the snapshot stores it, and brings it up to date from the contacts the events folded
since are about (only an event's own contact changes its meeting, archive or ``via``),
never from all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set

import msgspec

from coffeechat.events.projection import Contact


class Links(msgspec.Struct, array_like=True):
    """Who has a meeting booked (and is not archived), and who names whom as ``via``."""

    booked: list[str] = []
    # handle → the contacts whose ``via`` is that handle
    introduced_by: dict[str, list[str]] = {}

    def introduced(self, handle: str) -> list[str]:
        """Return the contacts that name ``handle`` as the one who introduced them."""
        return self.introduced_by.get(handle, [])


def links_of(
    contacts: Mapping[str, Contact], previous: Links | None = None, touched: Set[str] = frozenset()
) -> Links:
    """Return the links of ``contacts``.

    With ``previous`` (their links as they were before the contacts in ``touched`` changed),
    only those contacts are looked at: the others' links are as they were.
    """
    if previous is None:
        changed: Iterable[tuple[str, Contact]] = contacts.items()
        booked: set[str] = set()
        introduced_by: dict[str, set[str]] = {}
    else:
        changed = [(handle, contacts[handle]) for handle in touched if handle in contacts]
        booked = set(previous.booked) - touched
        introduced_by = {
            via: set(listed) - touched for via, listed in previous.introduced_by.items()
        }
    for handle, contact in changed:
        if contact.meeting is not None and contact.archived is None:
            booked.add(handle)
        if contact.via is not None:
            introduced_by.setdefault(contact.via, set()).add(handle)
    return Links(
        sorted(booked),
        {handle: sorted(listed) for handle, listed in sorted(introduced_by.items()) if listed},
    )
