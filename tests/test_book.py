"""The ``book`` reminder (your move after a reply), through the real command line.

The clock is COFFEECHAT_NOW (a Thursday or Friday in Paris, TZ=Europe/Paris); the times
offered come from plugins/slots.py on the contact's calendar.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.conftest import Runner

PARIS = ZoneInfo("Europe/Paris")
FRIDAY_EVENING = "2026-11-27T16:45:00+01:00"


def book_reminders(cli: Runner, **options: Any) -> list[dict[str, Any]]:
    result = cli("--json", "agenda", "--days", "14", **options)
    assert result.status == 0, result.stderr
    return [r for r in result.json()["reminders"] if r["kind"] == "book"]


def replied(cli: Runner, name: str, *profile: str, **options: Any) -> str:
    added = cli("--json", "add", name, *profile, **options)
    assert added.status == 0, added.stderr
    handle: str = added.json()[0]["contact"]
    assert cli("reach", handle, **options).status == 0
    assert cli("reply", handle, **options).status == 0
    return handle


def test_replied_contacts_get_one_book_reminder_with_tuesday_wednesday_times(cli: Runner) -> None:
    kenji = replied(cli, "Kenji Sato", "--tz", "Asia/Tokyo")
    ada = replied(cli, "Ada Lovelace")
    reminders = {r["contact"]: r for r in book_reminders(cli)}
    assert set(reminders) == {kenji, ada}
    for reminder in reminders.values():
        due = datetime.fromisoformat(reminder["due"]).astimezone(PARIS)
        assert due == datetime(2026, 11, 26, 15, 30, tzinfo=PARIS)  # an hour after the reply
        assert "offer to come to them" in reminder["message"]
        assert "two or three concrete times on Tuesday or Wednesday" in reminder["message"]
    # Kenji's times are on his clock (Tokyo), yours beside them.
    tokyo = reminders[kenji]["message"]
    assert "in their zone (Asia/Tokyo): Tue 1 Dec 09:00 (Tue 1 Dec 01:00 yours)" in tokyo
    assert "Wed 2 Dec" in tokyo
    # Ada has no zone: yours, with nothing beside them.
    paris = reminders[ada]["message"]
    assert ": Tue 1 Dec 09:00; Tue 1 Dec 12:00; Wed 2 Dec 09:00, and offer" in paris
    assert "yours" not in paris


def test_book_due_moves_into_working_hours(cli: Runner) -> None:
    replied(cli, "Ada Lovelace", now=FRIDAY_EVENING)
    [reminder] = book_reminders(cli, now=FRIDAY_EVENING)
    due = datetime.fromisoformat(reminder["due"]).astimezone(PARIS)
    assert due == datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)  # Monday, 09:00


def test_schedule_clears_book_and_done_records_only_reminder_done(cli: Runner) -> None:
    ada = replied(cli, "Ada Lovelace")
    grace = replied(cli, "Grace Hopper")
    assert cli("schedule", ada, "tue 10:00").status == 0
    [left] = book_reminders(cli)
    assert left["contact"] == grace
    done = cli("--json", "done", left["id"])
    assert done.status == 0, done.stderr
    assert [event["type"] for event in done.json()] == ["reminder.done"]
    assert book_reminders(cli) == []


def test_only_the_replied_get_book_not_the_declined_or_archived(cli: Runner) -> None:
    added = cli("--json", "add", "Ada Lovelace")
    ada = added.json()[0]["contact"]
    assert cli("reach", ada).status == 0
    assert cli("reply", ada, "--declined").status == 0
    grace = replied(cli, "Grace Hopper")
    assert cli("archive", grace).status == 0
    alan = replied(cli, "Alan Turing")
    assert [r["contact"] for r in book_reminders(cli)] == [alan]


def test_an_overdue_book_reminder_offers_times_after_now_not_after_its_due(cli: Runner) -> None:
    ada = replied(cli, "Ada Lovelace")  # due Thursday 26 November, 15:30
    kenji = replied(cli, "Kenji Sato", "--tz", "Asia/Tokyo")
    two_weeks_on = "2026-12-10T10:00:00+01:00"  # a Thursday: the first times were long ago
    reminders = {r["contact"]: r for r in book_reminders(cli, now=two_weeks_on)}
    assert datetime.fromisoformat(reminders[ada]["due"]).astimezone(PARIS).day == 26
    assert (
        ": Tue 15 Dec 09:00; Tue 15 Dec 12:00; Wed 16 Dec 09:00, and offer"
        in (reminders[ada]["message"])
    )
    assert "Tue 1 Dec" not in reminders[kenji]["message"]
    assert "(Asia/Tokyo): Tue 15 Dec 09:00 (Tue 15 Dec 01:00 yours)" in reminders[kenji]["message"]
