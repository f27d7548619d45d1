"""An example coffeechat plugin: birthday reminders and a ``logfile://`` channel."""

import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import msgspec

from coffeechat.events.zones import local_zone, zone_named
from coffeechat.plugins import hookimpl
from coffeechat.plugins.reminders import Reminder, make_reminder


class BirthdaySettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``[birthdays]``: contact handle → ``MM-DD``, and how many days ahead to remind."""

    dates: dict[str, str] = {}
    days_before: int = 1


@hookimpl
def coffeechat_settings(register: Callable[..., None]) -> None:
    register("birthdays", BirthdaySettings)


def _next_birthday(month_day: str, today: date) -> date:
    month, day = (int(part) for part in month_day.split("-"))
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:  # 29 February in a common year: the 28th
            candidate = date(year, month, 28)
        if candidate >= today:
            return candidate
    return candidate


@hookimpl
def coffeechat_reminders(state: Any, now: datetime, settings: Any) -> list[Reminder]:
    section: BirthdaySettings = settings.section("birthdays")
    tz = zone_named(settings.timezone) if settings.timezone else local_zone()
    reminders = []
    for handle, month_day in sorted(section.dates.items()):
        contact = state.contacts.get(handle)
        if contact is None:
            continue
        birthday = _next_birthday(month_day, now.astimezone(tz).date())
        remind_on = birthday - timedelta(days=section.days_before)
        due = datetime.combine(remind_on, time(9, 0), tzinfo=tz)
        reminders.append(
            make_reminder(
                "birthday",
                handle,
                due,
                f"{contact.name}'s birthday is on {birthday:%A %d %B}: send a note.",
                because=[contact.added.event],
                key=birthday.isoformat(),
                priority="low",
            )
        )
    return reminders


class LogFileChannel:
    """Appends every notification to a file, one JSON object per line."""

    def __init__(self, url: str) -> None:
        self.path = url.removeprefix("logfile://")

    def send(self, title: str, body: str, reminder: Any) -> bool:
        with open(self.path, "a", encoding="utf-8") as file:
            file.write(json.dumps({"title": title, "body": body, "id": reminder.id}) + "\n")
        return True


@hookimpl
def coffeechat_channels(register: Callable[..., None]) -> None:
    register("logfile", LogFileChannel)


def _configure(parser: Any) -> None:
    parser.add_argument("--days", type=int, default=365, help="how far ahead (365)")


def _run(app: Any, args: Any) -> int:
    from coffeechat.daemon.cli.reminding import Rules

    rules = Rules(app)
    for reminder in rules.reminders(app.state, app.now):
        if reminder.kind == "birthday" and reminder.due <= app.now + timedelta(days=args.days):
            app.out(f"{reminder.due:%a %d %b}  {reminder.message}")
    return 0


@hookimpl
def coffeechat_commands(register: Callable[..., None]) -> None:
    register("birthdays", "the birthdays to come", _configure, _run)


seen: list[str] = []


@hookimpl
def coffeechat_event_recorded(event: Any, state: Any) -> None:
    seen.append(event.id)
