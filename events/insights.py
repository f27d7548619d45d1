"""Insights: the journey the article describes, summed up from the projection.

- The funnel: how many people got at least as far as a plan (or further), an outreach,
  a yes, a meeting, a thank-you, and how many introductions that brought.
- Reply rate by the weekday of the first outreach (in the zone it was sent from): the
  article says Tuesday and Wednesday work best; here is what worked for you.
- What you learned per industry and role, with your ``--fit`` ratings side by side, so
  the roles that "sounded cool" but were not a fit stand out.
"""

from collections import defaultdict
from zoneinfo import ZoneInfo

import msgspec

from coffeechat.events.projection import State

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class Funnel(msgspec.Struct):
    """How far people got, counted once each."""

    planned: int
    reached: int
    replied: int
    met: int
    thanked: int
    introductions: int


class WeekdayRate(msgspec.Struct):
    """First outreaches sent on one weekday and how many were answered."""

    weekday: str
    sent: int
    replied: int
    rate: float | None


class Lesson(msgspec.Struct):
    """One meeting's lesson: who, what you learned, how well it fit (1–5)."""

    contact: str
    name: str
    learned: str | None
    fit: int | None


class RoleInsight(msgspec.Struct):
    """Everything learned about one industry and role, with its average fit."""

    industry: str | None
    role: str | None
    average_fit: float | None
    lessons: list[Lesson]


class Insights(msgspec.Struct):
    """The whole summary."""

    funnel: Funnel
    reply_rate_by_weekday: list[WeekdayRate]
    roles: list[RoleInsight]


def _zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except Exception:
        return default


def summarise(state: State, zone: ZoneInfo) -> Insights:
    """Given the state and the user's zone, return the insights."""
    contacts = list(state.contacts.values())
    # Each stage counts the people who got at least that far (a meeting counts as an
    # answer and an outreach even when neither was recorded), so it never grows downwards.
    thanked = [c for c in contacts if c.thanked and c.held]
    met = [c for c in contacts if c.held]
    replied = [c for c in contacts if (c.replied and not c.declined) or c.meeting or c.held]
    reached = [c for c in contacts if c.outreaches or c.replied or c.meeting or c.held]
    planned = [c for c in contacts if c.planned or c in reached]
    funnel = Funnel(
        planned=len(planned),
        reached=len(reached),
        replied=len(replied),
        met=len(met),
        thanked=len(thanked),
        introductions=sum(len(c.introduced) for c in contacts),
    )
    sent: dict[int, int] = defaultdict(int)
    answered: dict[int, int] = defaultdict(int)
    for contact in contacts:
        if not contact.outreaches:
            continue
        first = min(contact.outreaches, key=lambda outreach: outreach.at)
        weekday = first.at.astimezone(_zone(first.zone, zone)).weekday()
        sent[weekday] += 1
        if contact.replied is not None and contact.replied.at >= first.at:
            answered[weekday] += 1
    rates = [
        WeekdayRate(
            WEEKDAYS[day],
            sent[day],
            answered[day],
            answered[day] / sent[day] if sent[day] else None,
        )
        for day in range(7)
    ]
    groups: dict[tuple[str | None, str | None], list[Lesson]] = defaultdict(list)
    for contact in contacts:
        for held in contact.held:
            if held.learned or held.fit is not None:
                lesson = Lesson(contact.handle, contact.name, held.learned, held.fit)
                groups[(contact.industry, contact.role)].append(lesson)
    roles = []
    for (industry, role), lessons in groups.items():
        fits = [lesson.fit for lesson in lessons if lesson.fit is not None]
        average = sum(fits) / len(fits) if fits else None
        roles.append(RoleInsight(industry, role, average, lessons))
    roles.sort(key=lambda r: (-(r.average_fit or 0), r.industry or "", r.role or ""))
    return Insights(funnel, rates, roles)
