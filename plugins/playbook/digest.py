"""The weekly rhythm: a digest on ``digest`` (``0 8 * * TUE``) of who to reach out to
this week and what is waiting on you."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from coffeechat.events.projection import State
from coffeechat.plugins import hookimpl
from coffeechat.plugins.playbook.common import stages, tracked, user_zone
from coffeechat.plugins.reminders import Reminder, make_reminder
from coffeechat.plugins.schedules import next_fire, previous_fire
from coffeechat.plugins.settings import Settings

STALE_AFTER = timedelta(days=1)


@hookimpl
def coffeechat_reminders(state: State, now: datetime, settings: Settings) -> list[Reminder]:
    """Propose this week's digest while it is not done (for a day), and the next one."""
    contacts = list(tracked(state))
    if not contacts:
        return []
    zone = user_zone(settings)
    cron = settings.playbook.digest.text
    since = min(contact.added.at for contact in contacts)
    done = set(state.done.get(_digest_id(), ()))
    occurrences = []
    last = previous_fire(cron, now, zone)
    if (
        last is not None
        and last >= since
        and last.astimezone(UTC) not in done
        and now < last + STALE_AFTER
    ):
        occurrences.append(last)  # this week's, not yet done
    occurrences.append(next_fire(cron, max(now, since), zone))  # so the daemon wakes for it
    stage_now = stages(state, now, settings)
    counts = Counter(stage_now[contact.handle] for contact in contacts)
    planned = [contact.name for contact in contacts if stage_now[contact.handle] == "planned"]
    parts = []
    if planned:
        parts.append(f"reach out this week to {', '.join(planned)}")
    for name, words in (
        ("reached", "waiting for a reply"),
        ("replied", "replied: book a time"),
        ("met", "thank-you owed"),
        ("scheduled", "meetings booked"),
    ):
        if counts[name]:
            parts.append(f"{words}: {counts[name]}")
    summary = "; ".join(parts) or "nothing waiting: who else do you find interesting?"
    return [
        make_reminder(
            "digest",
            None,
            occurrence,
            sentence(summary),
            because=[],
            priority="low",
            occurrence=occurrence,
            recurring=True,
            expires=occurrence + STALE_AFTER,  # last week's digest is no news
        )
        for occurrence in occurrences
    ]


def sentence(text: str) -> str:
    """Return ``text`` as one sentence: capitalised, ending with one mark (a question
    keeps its ``?``; no ``interesting?.``)."""
    text = text.strip()
    body = text.rstrip(".?!;:, ")
    end = text[len(body) :].strip()
    mark = "?" if "?" in end else "!" if "!" in end else "."
    return f"{body[:1].upper()}{body[1:]}{mark}"


def _digest_id() -> str:
    from coffeechat.plugins.reminders import reminder_id

    return reminder_id("digest", None, [])
