"""Quiet hours: non-urgent notifications wait until the quiet hours end.

The default is 21:00 to 08:00 in your zone (``[quiet_hours]``). High-priority reminders
(a thank-you owed, on time for a meeting) are urgent and never wait. The reminder keeps
its due time (the agenda shows it); only its delivery moves.
"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from coffeechat.plugins.reminders import Reminder
from coffeechat.plugins.settings import QuietHours


def _in_quiet(moment: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end  # the quiet hours span midnight


def deliver_at(
    reminder: Reminder, quiet: QuietHours, zone: ZoneInfo, now: datetime | None = None
) -> datetime:
    """Return when a reminder may be delivered: its due time, or the end of quiet hours.

    With ``now``, a reminder already due is held too when ``now`` is in quiet hours
    (due yesterday afternoon, noticed at 23:00: it waits for the morning).
    """
    start, end = quiet.start.time, quiet.end.time
    if not quiet.enabled or reminder.priority == "high" or start == end:
        return reminder.due
    moment = max(reminder.due, now) if now is not None else reminder.due
    local = moment.astimezone(zone)
    if not _in_quiet(local.time().replace(tzinfo=None), start, end):
        return reminder.due
    end_day = local.date()
    if start > end and local.time() >= start:
        end_day += timedelta(days=1)
    wall = datetime.combine(end_day, end, tzinfo=zone)
    return wall.astimezone(UTC).astimezone(zone)  # a wall time in a DST gap moves forward
