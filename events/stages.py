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

from coffeechat.events.projection import Contact

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
    meeting = contact.meeting
    met, thanked = contact.met, contact.thanked
    if thanked is not None and (met is None or thanked.at < met.at):
        thanked = None  # a thank-you counts only after a meeting
    touched = contact.touched
    if touched is not None and (thanked is None or touched.at < thanked.at):
        touched = None  # in touch only after the thank-you
    steps = (
        (contact.planned, "planned"),
        (contact.reached, "reached"),
        (contact.replied, "declined" if contact.declined else "replied"),
        ((meeting.moved or meeting.booked) if meeting is not None else None, "scheduled"),
        (met, "met"),
        (thanked, "thanked"),
        (touched, "in-touch"),
    )
    stage, latest = "new", None
    for step, name in steps:  # in journey order: on a tie, the further step wins
        if step is not None and (latest is None or step.at >= latest):
            stage, latest = name, step.at
    if stage == "reached":
        replied = contact.replied.at if contact.replied is not None else None
        first = min(o.at for o in contact.outreaches if replied is None or o.at > replied)
        if now >= first + nudge_after * (max_nudges + 1):
            return "no-reply"
    return stage
