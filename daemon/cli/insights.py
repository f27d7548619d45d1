"""``coffeechat insights``: the funnel, reply rates by weekday, and what you learned."""

from __future__ import annotations

import argparse

from coffeechat.daemon.cli.app import App
from coffeechat.daemon.cli.screen import table
from coffeechat.daemon.cli.spec import Command
from coffeechat.events.insights import summarise


def _configure(parser: argparse.ArgumentParser) -> None:
    pass


def _run(app: App, args: argparse.Namespace) -> None:
    insights = summarise(app.state, app.zone)
    if app.json:
        app.print_json(insights)
        return
    f = insights.funnel
    app.out("funnel (people who got at least this far):")
    steps = [
        ("planned or further", f.planned),
        ("reached", f.reached),
        ("replied (yes)", f.replied),
        ("met", f.met),
        ("thanked", f.thanked),
        ("introductions received", f.introductions),
    ]
    largest = max(count for _, count in steps)
    for label, count in steps:
        app.out(f"  {label:<24} {count:>4}  {bar(count, largest)}")
    app.out("")
    app.out("reply rate by the weekday of the first outreach:")
    rows = [
        [r.weekday, str(r.sent), str(r.replied), "-" if r.rate is None else f"{r.rate:.0%}"]
        for r in insights.reply_rate_by_weekday
        if r.sent
    ]
    for line in table(rows, ["DAY", "SENT", "REPLIED", "RATE"]) if rows else ["  (no outreach)"]:
        app.out(f"  {line}")
    app.out("")
    app.out("what you learned, by industry and role (best fit first):")
    if not insights.roles:
        app.out("  (record meetings with --learned and --fit)")
    for role in insights.roles:
        fit = "-" if role.average_fit is None else f"{role.average_fit:.1f}/5"
        verdict = " — not a fit" if role.average_fit is not None and role.average_fit < 3 else ""
        app.out(f"  {heading(role.role, role.industry)}: fit {fit}{verdict}")
        for lesson in role.lessons:
            grade = f" ({lesson.fit}/5)" if lesson.fit is not None else ""
            app.out(f"    {lesson.name}{grade}: {lesson.learned or '-'}")


BAR_WIDTH = 40


def bar(count: int, largest: int) -> str:
    """Return a bar of ``#`` for ``count``, the largest count taking the full width."""
    if count <= 0 or largest <= 0:
        return ""
    return "#" * max(1, round(count * BAR_WIDTH / largest))


def heading(role: str | None, industry: str | None) -> str:
    """Return ``CTO in Fintech``, ``CTO`` (industry not recorded), ``people in Fintech``,
    or ``role and industry not recorded``."""
    if role and industry:
        return f"{role} in {industry}"
    if role:
        return f"{role} (industry not recorded)"
    if industry:
        return f"people in {industry} (role not recorded)"
    return "role and industry not recorded"


COMMANDS: dict[str, Command] = {
    "insights": Command("the funnel, reply rates by weekday, what you learned", _configure, _run),
}
