"""The pages: Board, Today, Contact, Draft and Insights, as HTML from one look at a home.

A :class:`View` is one request's look: the command line's :class:`App` (home, clock,
zone, the state through the snapshot) and its :class:`Outlook` (each contact's stage
and the reminders the rules give), so a page says what ``ls``, ``agenda`` and ``show``
say. Every page is usable without JavaScript: actions are forms that POST and come back.
"""

from __future__ import annotations

import html
import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from coffeechat.daemon.cli.reading import Outlook
from coffeechat.daemon.cli.render import Related, describe_text, moment, name_of
from coffeechat.events.contacts import sort_key
from coffeechat.events.decisions import CHANNELS, MEETING_MODES
from coffeechat.events.projection import PROFILE_FIELDS, Contact
from coffeechat.events.stages import STAGES
from coffeechat.events.timeline import events_about
from coffeechat.web.html import Html, attributes, escape, join, render, tag

if TYPE_CHECKING:
    from coffeechat.daemon.cli.app import App
    from coffeechat.events.model import Event
    from coffeechat.plugins.reminders import Reminder

AGENDA_DAYS = 7

# stage: (column title, what it means for you)
STAGE_WORDS: dict[str, tuple[str, str]] = {
    "new": ("New", "added; nothing planned yet"),
    "planned": ("Planned", "reach out at the next send window"),
    "reached": ("Reached", "waiting for their reply"),
    "replied": ("Replied", "your move: book a time"),
    "no-reply": ("No reply", "the nudges are used up"),
    "declined": ("Declined", "they said no, for now"),
    "scheduled": ("Scheduled", "a meeting is booked"),
    "met": ("Met", "thank-you owed"),
    "thanked": ("Thanked", "keep in touch"),
    "in-touch": ("In touch", "the network you keep"),
    "archived": ("Archived", "no longer tracked"),
}
BOARD_STAGES = tuple(stage for stage in STAGES if stage != "archived")

# The step each stage calls for, shown first on the contact's page.
NEXT_STEP = {
    "new": "reach",
    "planned": "reach",
    "reached": "reply",
    "no-reply": "reply",
    "replied": "schedule",
    "scheduled": "met",
    "met": "thank",
}
STEP_TITLES = {
    "reach": "Outreach sent",
    "reply": "They replied",
    "schedule": "Meeting booked",
    "met": "We met",
    "thank": "Thank-you sent",
    "plan": "Plan the outreach",
}


class View:
    """One request's look at a home: the state, the stages, the reminders."""

    def __init__(self, app: App, csrf: str, version: int) -> None:
        self.app = app
        self.csrf = csrf
        self.version = version
        self.state = app.state
        self.now = app.now
        self.outlook = Outlook(app, self.state, self.now)
        self._moments: dict[datetime, str] = {}

    def stage(self, contact: Contact) -> str:
        """Return the contact's stage, as ``ls`` shows it."""
        return self.outlook.stage(contact)

    def when(self, instant: datetime) -> str:
        """Return an instant as the command line shows it (``Tue 1 Dec 15:00``)."""
        shown = self._moments.get(instant)
        if shown is None:  # many reminders share a moment (a send window, the digest)
            shown = self._moments[instant] = moment(instant, self.app.zone, self.now)
        return shown

    def hidden(self, back: str) -> Html:
        """Return the hidden fields every form carries: the CSRF token and where to return."""
        return Html(
            f'<input type="hidden" name="csrf" value="{escape(self.csrf)}">'
            f'<input type="hidden" name="back" value="{escape(back)}">'
        )

    def agenda(self) -> tuple[list[Reminder], list[Reminder]]:
        """Return the reminders due now and those of the next seven days (``agenda``)."""
        horizon = self.now + timedelta(days=AGENDA_DAYS)
        shown = [r for r in self.outlook.reminders if r.due <= horizon]
        return [r for r in shown if r.due <= self.now], [r for r in shown if r.due > self.now]

    def page(self, name: str, title: str, main: Html, flash: Html | None = None) -> Html:
        """Return a whole page around ``main``."""
        due = len(self.agenda()[0])
        return render(
            "layout.html",
            title=title,
            page=name,
            version=str(self.version),
            board_current=_current(name == "board"),
            today_current=_current(name == "today"),
            insights_current=_current(name == "insights"),
            due=str(due) if due else "",
            due_label=f"{due} due" if due else "nothing due",
            flash=flash or Html(""),
            main=main,
            home=_shorter(self.app.home.data_dir),
            now=self.when(self.now),
            now_iso=self.now.astimezone(self.app.zone).isoformat(),
        )


def _shorter(path: str) -> str:
    """Return a path with the user's home folder as ``~``."""
    mine = os.path.expanduser("~")
    return "~" + path[len(mine) :] if mine != "/" and path.startswith(mine + os.sep) else path


def _current(yes: bool) -> Html:
    return Html(' aria-current="page"' if yes else "")


# --- board -----------------------------------------------------------------------------------


def board(view: View, query: str = "") -> Html:
    """The board: a column per stage (archived left out), a card per contact; ``query``
    keeps only the contacts whose name, company, role or handle contain it."""
    wanted = query.casefold().strip()
    columns: dict[str, list[Html]] = {stage: [] for stage in BOARD_STAGES}
    shown = 0
    for contact in sorted(view.state.contacts.values(), key=sort_key):
        stage = view.stage(contact)
        if stage not in columns:
            continue
        search = _search_text(contact)
        if wanted and wanted not in search:
            continue
        columns[stage].append(_card(view, contact, stage, search))
        shown += 1
    parts = []
    for stage, cards in columns.items():
        title, hint = STAGE_WORDS[stage]
        parts.append(
            render(
                "column.html",
                stage=stage,
                title=title,
                hint=hint,
                count=str(len(cards)),
                cards=Html("\n".join(cards)),
            )
        )
    count = f"{shown} contact{'s' if shown != 1 else ''}" + (" match" if wanted else "")
    return render("board.html", count=count, query=query, columns=Html("\n".join(parts)))


def _search_text(contact: Contact) -> str:
    parts = (contact.name, contact.company, contact.role, contact.industry, contact.handle)
    return " ".join(part for part in parts if part).casefold()


def _card(view: View, contact: Contact, stage: str, search: str) -> Html:
    """One contact's card. Built here rather than from a template: the board has one per
    contact (2,000 of them in bench/bench_board.py), and this is several times faster."""
    e = html.escape
    upcoming = view.outlook.next.get(contact.handle)
    if upcoming is not None:
        due = datetime.fromisoformat(upcoming["due"])
        late = " late" if due <= view.now else ""
        next_line = (
            f'<p class="next{late}"><time datetime="{e(upcoming["due"])}">'
            f"{e(view.when(due))}</time> {e(upcoming['message'])}</p>"
        )
    else:
        next_line = '<p class="next none">no reminder</p>'
    since = stage_since(contact, stage)
    how_long = f"{STAGE_WORDS[stage][0].lower()} for {age(view.now - since)}" if since else ""
    handle = e(contact.handle)
    return Html(
        f'<li class="card" data-search="{e(search)}" data-handle="{handle}">'
        f'<a class="name" href="/contacts/{handle}">{e(contact.name)}</a>'
        f'<p class="where">{e(_where(contact)) or "&nbsp;"}</p>'
        f'<p class="since">{e(how_long)}</p>{next_line}</li>'
    )


def _where(contact: Contact) -> str:
    return " at ".join(part for part in (contact.role, contact.company) if part)


def stage_since(contact: Contact, stage: str) -> datetime | None:
    """Return when the contact entered ``stage`` (the step that put them there)."""
    meeting = contact.meeting
    step = {
        "new": contact.added,
        "planned": contact.planned,
        "reached": contact.reached,
        "no-reply": contact.reached,
        "replied": contact.replied,
        "declined": contact.replied,
        "scheduled": (meeting.moved or meeting.booked) if meeting is not None else None,
        "met": contact.met,
        "thanked": contact.thanked,
        "in-touch": contact.touched,
        "archived": contact.archived,
    }.get(stage)
    return step.at if step is not None else None


def age(length: timedelta) -> str:
    """Return a length of time in words: ``today``, ``3 days``, ``2 weeks``, ``5 months``."""
    days = max(0, length.days)
    if days < 1:
        return "less than a day"
    for unit, size, below in (("day", 1, 14), ("week", 7, 63), ("month", 30, 730)):
        if days < below:
            count = days // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    years = days // 365
    return f"{years} year{'s' if years != 1 else ''}"


# --- today -----------------------------------------------------------------------------------


def today(view: View) -> Html:
    """The agenda: what is due, then the next seven days, each with Done and Snooze."""
    due, coming = view.agenda()
    return render(
        "today.html",
        due_count=str(len(due)),
        coming_count=str(len(coming)),
        due=_reminder_list(view, due, "/today", "nothing is due: well done"),
        coming=_reminder_list(view, coming, "/today", "nothing in the next 7 days"),
    )


def _reminder_list(
    view: View,
    reminders: list[Reminder],
    back: str,
    empty: str,
    why: dict[str, Html] | None = None,
    *,
    who: bool = True,
) -> Html:
    if not reminders:
        return tag("p", empty, class_="empty")
    items = [_reminder(view, r, back, (why or {}).get(r.id, Html("")), who) for r in reminders]
    return Html('<ol class="reminders">\n' + "\n".join(items) + "\n</ol>")


def _reminder(view: View, reminder: Reminder, back: str, why: Html, with_who: bool) -> Html:
    who = ""
    if reminder.contact is not None and with_who:
        name = name_of(view.state, reminder.contact)
        who = Html(f' · <a href="/contacts/{quote(reminder.contact)}">{escape(name)}</a>')
    return render(
        "reminder.html",
        id=reminder.id,
        priority=reminder.priority,
        overdue=" overdue" if reminder.due < view.now else "",
        due_iso=reminder.due.astimezone(view.app.zone).isoformat(),
        due=view.when(reminder.due),
        kind=reminder.kind,
        who=Html(who),
        message=reminder.message,
        why=why,
        hidden=view.hidden(back),
    )


# --- contact ---------------------------------------------------------------------------------


def contact_page(view: View, contact: Contact) -> Html:
    """One contact: profile, the next reminders with why, the next step, the timeline."""
    stage = view.stage(contact)
    back = f"/contacts/{quote(contact.handle)}"
    home = view.app.home
    timeline = events_about(home.log_dir, contact.handle, view.state.retracted, home.cache_dir)
    related = Related(timeline)
    by_id = {event.id: event for event in timeline}
    reminders = [r for r in view.outlook.reminders if r.contact == contact.handle]
    why = {r.id: _why(view, r, by_id, related) for r in reminders}
    events = [
        Html(
            f'<li><time datetime="{escape(event.at.isoformat())}">'
            f"{escape(view.when(event.at))}</time> "
            f"{escape(describe_text(event, view.state, view.app.zone, related))}</li>"
        )
        for event in reversed(timeline)  # the latest first
    ]
    return render(
        "contact.html",
        name=contact.name,
        stage=stage,
        stage_title=STAGE_WORDS[stage][0],
        profile=_profile(view, contact),
        reminders=_reminder_list(view, reminders, back, "no reminder for now", why, who=False),
        steps=_steps(view, contact, stage, back),
        timeline=Html("\n".join(events)),
    )


def _profile(view: View, contact: Contact) -> Html:
    rows: list[tuple[str, Any]] = [("handle", tag("code", contact.handle))]
    for field in PROFILE_FIELDS:
        value = getattr(contact, field)
        if not value:
            continue
        if field == "via":
            value = _contact_link(view, value)
        elif field == "email":
            value = tag("a", value, href=f"mailto:{value}")
        elif field == "linkedin" and str(value).startswith("https://"):
            value = tag("a", value, href=value, rel="noreferrer")
        rows.append((field.replace("_", " "), value))
    if contact.introduced:
        links = join((_contact_link(view, h) for h in contact.introduced), ", ")
        rows.append(("introduced you to", links))
    if contact.meeting is not None:
        rows.append(("meeting", view.when(contact.meeting.starts)))
    for held in contact.held[-3:]:
        fit = f" (fit {held.fit}/5)" if held.fit else ""
        rows.append(("met " + view.when(held.at), f"{held.learned or '-'}{fit}"))
    return join(
        (Html(f"      <dt>{escape(label)}</dt><dd>{escape(value)}</dd>") for label, value in rows),
        "\n",
    )


def _contact_link(view: View, handle: str) -> Html:
    return tag("a", name_of(view.state, handle), href=f"/contacts/{quote(handle)}")


def _why(view: View, reminder: Reminder, by_id: dict[str, Event], related: Related) -> Html:
    causes = [by_id[cause] for cause in reminder.because if cause in by_id]
    lines = [
        f"{reminder.kind}, {reminder.priority} priority, from the rule '{reminder.rule}'",
        *(
            f"because {view.when(event.at)}  "
            f"{describe_text(event, view.state, view.app.zone, related)}"
            for event in causes
        ),
    ]
    if not reminder.because:
        lines.append("caused by a schedule, not by an event")
    items = join((tag("li", line) for line in lines), "")
    return Html(f'<details class="why"><summary>Why</summary><ul>{items}</ul></details>')


def _steps(view: View, contact: Contact, stage: str, back: str) -> Html:
    first = NEXT_STEP.get(stage)
    order = [step for step in ("reach", "reply", "schedule", "met", "thank") if step != first]
    forms = [_step_form(view, contact, step, back) for step in order]
    main = _step_form(view, contact, first, back) if first else tag("p", "No step is owed now.")
    draft = Html(
        f'<p><a class="button" href="/contacts/{quote(contact.handle)}/draft">'
        "Write the e-mail</a> the stage calls for</p>"
    )
    others = Html(
        '<details class="other-steps"><summary>Other steps</summary>'
        + "".join(forms)
        + "</details>"
    )
    return Html(main + draft + others)


def _field(label: str, control: Html) -> Html:
    return Html(f"<label>{escape(label)} {control}</label>")


def _text(name: str, placeholder: str = "", **more: Any) -> Html:
    return Html(
        f"<input {attributes(type='text', name=name, placeholder=placeholder or None, **more)}>"
    )


def _select(name: str, options: list[tuple[str, str]], chosen: str = "") -> Html:
    items = "".join(
        f'<option value="{escape(value)}"{" selected" if value == chosen else ""}>'
        f"{escape(label)}</option>"
        for value, label in options
    )
    return Html(f'<select name="{escape(name)}">{items}</select>')


def _step_form(view: View, contact: Contact, step: str, back: str) -> Html:
    fields: list[Html] = []
    if step == "reach":
        fields = [
            _field("by", _select("channel", [(c, c) for c in CHANNELS], "email")),
            _field("to learn", _text("learn", contact.learn or "what you asked to learn")),
        ]
    elif step == "reply":
        fields = [Html('<label><input type="checkbox" name="declined" value="1"> declined</label>')]
    elif step == "schedule":
        fields = [
            _field("when", _text("when", "tue 15:00", required=True)),
            _field(
                "minutes",
                Html('<input type="number" name="minutes" value="30" min="1" max="1440">'),
            ),
            _field("mode", _select("mode", [("", "-"), *((m, m) for m in MEETING_MODES)])),
            _field("place", _text("place")),
        ]
    elif step == "met":
        fits = [("", "-"), *((str(n), f"{n}/5") for n in range(1, 6))]
        fields = [
            _field("learned", _text("learned", "what you learned")),
            _field("fit", _select("fit", fits)),
            _field("asked", _text("asked", "an introduction to…")),
            _field("notes", _text("notes")),
        ]
    action = f"/contacts/{quote(contact.handle)}/{step}"
    return Html(
        f'<form class="step step-{step}" method="post" action="{escape(action)}">'
        f"{view.hidden(back)}{''.join(fields)}"
        f'<button type="submit" class="primary">{escape(STEP_TITLES[step])}</button></form>'
    )


# --- draft -----------------------------------------------------------------------------------


def draft_page(contact: Contact, fields: dict[str, Any]) -> Html:
    """The e-mail ``coffeechat draft`` writes (its ``--json`` fields), with a mailto link."""
    notes = [*fields.get("notes", []), *fields.get("missing", [])]
    to = fields.get("to") or ""
    mailto = tag(
        "a",
        "Open in your mail program",
        class_="button primary",
        href=f"mailto:{quote(to, safe='@')}?subject={quote(fields['subject'])}"
        f"&body={quote(fields['body'])}",
    )
    return render(
        "draft.html",
        handle=contact.handle,
        name=contact.name,
        kind=fields["kind"],
        notes=join((tag("p", note, class_="note") for note in notes), ""),
        to=to or "(no e-mail address: coffeechat edit HANDLE --email …)",
        subject=fields["subject"],
        body=fields["body"],
        mailto=mailto,
    )


def message(title: str, text: str) -> Html:
    """A page that only says something (not found, refused)."""
    return render("message.html", title=title, text=text)


def flash(lines: list[str], error: bool) -> Html:
    """Return what an action said, to show at the top of the page it comes back to."""
    if not lines:
        return Html("")
    role = "alert" if error else "status"
    kind = "error" if error else "said"
    items = join((tag("li", line) for line in lines), "")
    return Html(f'<div class="flash {kind}" role="{role}"><ul>{items}</ul></div>')
