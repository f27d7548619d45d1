"""Insights as charts: SVG drawn on the server by pygal, nothing fetched by the page.

pygal (Kozea, LGPL-3.0-or-later) is imported by ``serve`` only. Its charts would load
a tooltip script from the web: ``js=[]`` turns that off, so a chart is plain SVG inside
the page and every figure is also in a table beside it (readable without the picture).

The charts: the funnel, the reply rate by the weekday of the first outreach (the
article says Tuesday or Wednesday; here is what your own data says), meetings per week,
and the average fit by role and industry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pygal
from pygal.style import Style

from coffeechat.events.insights import Insights, summarise
from coffeechat.web.html import Html, join, render, tag

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from coffeechat.events.projection import State

WEEKS = 12  # meetings per week: this many weeks, the current one last
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif'
STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#2b2b2b",
    foreground_strong="#111111",
    foreground_subtle="#6b6b6b",
    font_family=FONT,
    label_font_size=13,
    major_label_font_size=13,
    value_font_size=13,
    value_label_font_size=13,
    title_font_size=15,
    legend_font_size=13,
    colors=("#8a4b2a", "#2f6f6a", "#c08a3e", "#5b5f97"),
    opacity=".9",
    opacity_hover="1",
    guide_stroke_color="#d6d0c8",
    major_guide_stroke_color="#d6d0c8",
    value_colors=("#ffffff",),
)
COMMON: dict[str, Any] = {
    "style": STYLE,
    "js": [],  # no tooltip script from a CDN: the SVG stands alone
    "disable_xml_declaration": True,
    "show_legend": False,
    "width": 640,
    "height": 320,
    "margin": 12,
    "print_values": True,
    "print_zeroes": False,
    "explicit_size": False,
    "no_data_text": "no data yet",
}


class Chart:
    """One chart: a title, a sentence of what it shows, the SVG and the figures."""

    def __init__(
        self, key: str, title: str, caption: str, svg: str, rows: Sequence[Sequence[str]]
    ) -> None:
        self.key = key
        self.title = title
        self.caption = caption
        self.svg = svg
        self.rows = rows

    def html(self) -> Html:
        """Return the chart as a figure, its figures in a table under it."""
        head, *body = self.rows
        table = Html(
            "<table><thead><tr>"
            + join(tag("th", cell, scope="col") for cell in head)
            + "</tr></thead><tbody>"
            + join(Html("<tr>" + join(tag("td", cell) for cell in row) + "</tr>") for row in body)
            + "</tbody></table>"
        )
        return render(
            "chart.html",
            id=f"chart-{self.key}",
            title=self.title,
            caption=self.caption,
            svg=Html(self.svg),
            table=table,
        )


def charts(state: State, zone: ZoneInfo, now: datetime) -> list[Chart]:
    """Return the four charts of the insights page for ``state``."""
    insights = summarise(state, zone)
    return [
        funnel(insights),
        reply_rate(insights),
        meetings_per_week(state, zone, now),
        fit_by_role(insights),
    ]


def _render(chart: Any) -> str:
    """Return the chart's SVG without pygal's script (its config for the tooltips, which
    the page's Content-Security-Policy would refuse anyway) and comments."""
    svg: str = chart.render(is_unicode=True)
    return _COMMENTS.sub("", _SCRIPTS.sub("", svg))


_SCRIPTS = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
_COMMENTS = re.compile(r"<!--.*?-->", re.DOTALL)


def funnel(insights: Insights) -> Chart:
    """How far people got: planned, reached, replied, met, thanked; introductions."""
    f = insights.funnel
    steps = [
        ("planned", f.planned),
        ("reached", f.reached),
        ("replied", f.replied),
        ("met", f.met),
        ("thanked", f.thanked),
        ("introductions", f.introductions),
    ]
    chart = pygal.HorizontalBar(**COMMON)
    top_down = steps[::-1]  # pygal draws the first bar at the bottom
    chart.x_labels = [label for label, _ in top_down]
    chart.add("people", [count for _, count in top_down])
    return Chart(
        "funnel",
        "Funnel",
        "How far people got, each counted once; the introductions they gave you.",
        _render(chart),
        [("step", "people"), *((label, str(count)) for label, count in steps)],
    )


def reply_rate(insights: Insights) -> Chart:
    """The reply rate by the weekday of the first outreach, in the zone it was sent from."""
    rates = insights.reply_rate_by_weekday
    chart = pygal.Bar(
        **COMMON,
        range=(0, 100),
        value_formatter=lambda value: f"{value:.0f}%",
    )
    chart.x_labels = [rate.weekday[:3] for rate in rates]
    chart.add(
        "reply rate",
        [
            {
                "value": round(rate.rate * 100) if rate.rate is not None else None,
                "label": f"{rate.replied} of {rate.sent}",
                "color": STYLE.colors[1 if rate.weekday in ("Tuesday", "Wednesday") else 0],
            }
            for rate in rates
        ],
    )
    return Chart(
        "reply-rate",
        "Reply rate by weekday",
        "The article advises Tuesday or Wednesday for outreach (in green): "
        "here is what your own outreach says.",
        _render(chart),
        [
            ("weekday", "sent", "replied", "rate"),
            *(
                (
                    rate.weekday,
                    str(rate.sent),
                    str(rate.replied),
                    "-" if rate.rate is None else f"{rate.rate:.0%}",
                )
                for rate in rates
            ),
        ],
    )


def meetings_per_week(state: State, zone: ZoneInfo, now: datetime) -> Chart:
    """Meetings held in each of the last twelve weeks (Monday to Sunday, your time)."""
    today = now.astimezone(zone).date()
    this_monday = today - timedelta(days=today.weekday())
    mondays = [this_monday - timedelta(weeks=WEEKS - 1 - n) for n in range(WEEKS)]
    counts = dict.fromkeys(mondays, 0)
    for contact in state.contacts.values():
        for held in contact.held:
            day = held.at.astimezone(zone).date()
            monday = day - timedelta(days=day.weekday())
            if monday in counts:
                counts[monday] += 1
    labels = [f"{monday.day} {monday:%b}" for monday in mondays]
    top = max(3, *counts.values())
    chart = pygal.Bar(**COMMON, range=(0, top), y_labels=list(range(top + 1)))
    chart.x_labels = labels
    chart.x_label_rotation = -45
    chart.add("meetings", list(counts.values()))
    return Chart(
        "meetings",
        "Meetings per week",
        f"Meetings held in each of the last {WEEKS} weeks (weeks start on Monday).",
        _render(chart),
        [
            ("week of", "meetings"),
            *((label, str(n)) for label, n in zip(labels, counts.values(), strict=True)),
        ],
    )


def fit_by_role(insights: Insights) -> Chart:
    """The average fit (1 to 5) you gave each role and industry you met."""
    roles = [role for role in insights.roles if role.average_fit is not None]
    labels = [f"{role.role or '(role?)'} · {role.industry or '(industry?)'}" for role in roles]
    chart = pygal.HorizontalBar(
        **{**COMMON, "height": max(160, 48 * len(roles) + 80)},
        range=(0, 5),
        value_formatter=lambda value: f"{value:.1f}",
    )
    chart.x_labels = labels[::-1]  # the best fit on top
    chart.add(
        "fit",
        [
            {
                "value": role.average_fit,
                "color": STYLE.colors[2] if (role.average_fit or 0) < 3 else STYLE.colors[1],
            }
            for role in roles[::-1]
        ],
    )
    return Chart(
        "fit",
        "Fit by role and industry",
        "How well each role fits you, on average (meetings recorded with --fit); "
        "under 3 is not a fit.",
        _render(chart),
        [
            ("role · industry", "meetings", "average fit"),
            *(
                (label, str(len(role.lessons)), f"{role.average_fit:.1f}/5")
                for label, role in zip(labels, roles, strict=True)
            ),
        ],
    )


def insights_page(state: State, zone: ZoneInfo, now: datetime) -> Html:
    """The insights page's main part: every chart."""
    figures = join(chart.html() for chart in charts(state, zone, now))
    return render("insights.html", charts=figures)
