"""The stage of a relationship, derived from the moments the projection keeps.

Stages (the contract): ``new``, ``planned``, ``reached`` (waiting for their reply),
``replied`` (your move: book a time), ``no-reply`` (nudges used up), ``declined``,
``scheduled``, ``met`` (thank-you owed), ``thanked``, ``in-touch`` (a touchpoint after the
thank-you), ``archived``.

The stage is the step that happened last (by ``at``), with three refinements: a
thank-you counts only after a meeting, a touchpoint moves the stage to ``in-touch``
only after the thank-you, and an outreach still unanswered once every nudge has had its
time is ``no-reply``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from coffeechat.events.projection import Contact, Step

STAGES = (
    "new",
    "planned",
    "reached",
    "replied",
    "no-reply",
    "declined",
    "scheduled",
    "met",
    "thanked",
    "in-touch",
    "archived",
)

DEFAULT_NUDGE_AFTER = timedelta(days=7)
DEFAULT_MAX_NUDGES = 2


def stage_of(
    contact: Contact,
    now: datetime,
    *,
    nudge_after: timedelta = DEFAULT_NUDGE_AFTER,
    max_nudges: int = DEFAULT_MAX_NUDGES,
) -> str:
    """Given a contact and the current instant, return its stage.

    ``nudge_after`` and ``max_nudges`` are the playbook's nudge settings: outreach with
    no reply is ``no-reply`` once every nudge has had its time, ``nudge_after`` times
    ``max_nudges + 1`` after the first unanswered outreach (follow-ups recorded with
    ``reach`` count as nudges, so they do not push it back).
    """
    if contact.archived is not None:
        return "archived"
    candidates: list[tuple[Step, str]] = []
    if contact.planned:
        candidates.append((contact.planned, "planned"))
    if contact.reached:
        candidates.append((contact.reached, "reached"))
    if contact.replied:
        candidates.append((contact.replied, "declined" if contact.declined else "replied"))
    if contact.meeting:
        candidates.append((contact.meeting.moved or contact.meeting.booked, "scheduled"))
    if contact.met:
        candidates.append((contact.met, "met"))
        if contact.thanked and contact.thanked.at >= contact.met.at:
            candidates.append((contact.thanked, "thanked"))
            if contact.touched and contact.touched.at >= contact.thanked.at:
                candidates.append((contact.touched, "in-touch"))
    if not candidates:
        return "new"
    # max() keeps the first of equal keys; the list runs in journey order, so reverse it
    # to let the further step win a tie.
    _, stage = max(reversed(candidates), key=lambda candidate: candidate[0].at)
    if stage == "reached":
        replied = contact.replied.at if contact.replied is not None else None
        first = min(o.at for o in contact.outreaches if replied is None or o.at > replied)
        if now >= first + nudge_after * (max_nudges + 1):
            return "no-reply"
    return stage
