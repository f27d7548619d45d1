"""The stage of a relationship, derived from the moments the projection keeps.

Stages (the contract): ``new``, ``planned``, ``reached`` (waiting for their reply),
``replied`` (your move: book a time), ``no-reply`` (nudges used up), ``declined``,
``scheduled``, ``met`` (thank-you owed), ``thanked``, ``in-touch`` (a touchpoint after the
thank-you), ``archived``.

The journey goes in rounds (see :func:`stage_of`): within a round the stage is the
furthest step taken, whatever order or dates it was typed with; a round ends with a
thank-you, a decline or the nudges running out, and a step after that starts a new one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from coffeechat.events.projection import Contact, Outreach

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

    The journey goes in rounds. A round ends with a thank-you (after a meeting), a
    decline, or the nudges running out (``no-reply``: ``nudge_after`` times
    ``max_nudges + 1`` after the round's first unanswered outreach; follow-ups recorded
    with ``reach`` count as nudges, so they do not push it back). Within the current round
    the stage is the furthest step taken, whatever the order or the dates they were typed
    with: an outreach fulfils the plan it answers even with an ``at`` before the plan's.
    A plan, an outreach, a reply, a booking or a meeting after the round's end starts a
    new round. With no step after the end, the stage is how the round ended (``in-touch``
    once a touchpoint follows the thank-you).
    """
    if contact.archived is not None:
        return "archived"
    end, ended = round_end(contact, now, nudge_after=nudge_after, max_nudges=max_nudges)
    meeting = contact.meeting
    steps = (
        (contact.planned, "planned"),
        (contact.reached, "reached"),
        (None if contact.declined else contact.replied, "replied"),
        ((meeting.moved or meeting.booked) if meeting is not None else None, "scheduled"),
        (contact.met, "met"),
    )
    stage = None
    for step, name in steps:  # in journey order: the furthest step of the round wins
        if step is not None and (end is None or step.at > end):
            stage = name
    if stage is None:
        stage = ended or "new"
        touched = contact.touched
        if stage == "thanked" and touched is not None and end is not None and touched.at >= end:
            stage = "in-touch"
    if stage == "reached" and _ran_out(contact, end, now, nudge_after, max_nudges) is not None:
        return "no-reply"
    return stage


def round_end(
    contact: Contact,
    now: datetime,
    *,
    nudge_after: timedelta = DEFAULT_NUDGE_AFTER,
    max_nudges: int = DEFAULT_MAX_NUDGES,
) -> tuple[datetime | None, str | None]:
    """Return when the contact's last finished round ended and how (``thanked``,
    ``declined``, ``no-reply``), or ``(None, None)`` while the first round goes on."""
    ends: list[tuple[datetime, str]] = []
    thanked = contact.thanked
    if thanked is not None and any(held.at <= thanked.at for held in contact.held):
        ends.append((thanked.at, "thanked"))  # a thank-you counts only after a meeting
    if contact.replied is not None and contact.declined:
        ends.append((contact.replied.at, "declined"))
    end = max(ends)[0] if ends else None
    ran_out = _ran_out(contact, end, now, nudge_after, max_nudges)
    if ran_out is not None:
        ends.append((ran_out, "no-reply"))
    if not ends:
        return None, None
    at, how = max(ends)
    return at, how


def _ran_out(
    contact: Contact,
    since: datetime | None,
    now: datetime,
    nudge_after: timedelta,
    max_nudges: int,
) -> datetime | None:
    """Return when the nudges of the latest unanswered run of outreaches after ``since``
    ran out, if they have by ``now`` and nothing else happened after the run began."""
    run = current_run(contact, since, nudge_after, max_nudges)
    if not run:
        return None
    closing = run[0].at + nudge_after * (max_nudges + 1)
    if now < closing:
        return None
    # A meeting (booked or held) before the nudges ran out is an answer of sorts.
    booked = contact.meeting.booked if contact.meeting is not None else None
    if any(s is not None and run[0].at < s.at < closing for s in (contact.met, booked)):
        return None
    return closing


def current_run(
    contact: Contact,
    since: datetime | None = None,
    nudge_after: timedelta = DEFAULT_NUDGE_AFTER,
    max_nudges: int = DEFAULT_MAX_NUDGES,
) -> list[Outreach]:
    """Return the outreaches of the current unanswered run, oldest first: those after the
    last reply (and after ``since``), from the first one after the previous run's nudges
    ran out (an outreach after that starts a new round)."""
    replied = contact.replied.at if contact.replied is not None else None
    run: list[Outreach] = []
    for outreach in sorted(contact.outreaches, key=lambda o: o.at):
        if (replied is not None and outreach.at <= replied) or (
            since is not None and outreach.at <= since
        ):
            continue
        if run and outreach.at >= run[0].at + nudge_after * (max_nudges + 1):
            run = []  # the previous run's nudges had run out: this one starts anew
        run.append(outreach)
    return run
