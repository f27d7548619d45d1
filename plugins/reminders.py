"""Reminders: what a rule proposes, how its id stays stable, and how the agenda is made.

A rule (a plugin implementing ``coffeechat_reminders``) returns every reminder it
stands behind. :func:`evaluate` calls each rule on its own, so a rule that raises costs
only its own reminders (the error names the plugin); then it applies what the user
did about reminders (``done``, ``snooze``, ``archive``) and sorts by due time.

A rule that cannot work out one contact's reminder (a schedule recorded on an old version
that never fires, say) returns a :class:`Skipped` for it among its reminders: only that
contact's reminder is missing, and the failure is reported naming the plugin and the
contact.

A reminder's id is derived from its kind, its contact, the events that caused it and
a rule-chosen key (the nudge number, say): the same situation gives the same id on
every run and every machine, which is what ``done``, ``snooze``, ``why`` and the
daemon's delivery ledger refer to.
"""

import hashlib
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from coffeechat.events.projection import State

if TYPE_CHECKING:
    from coffeechat.events.decisions import Decision, Stamp

Priority = Literal["low", "normal", "high"]
PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high")
_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


class Reminder(msgspec.Struct, kw_only=True):
    """One reminder: what to do about whom, when, and why.

    ``occurrence`` tells repeated reminders apart (a thank-you owed repeats every 12
    hours; a weekly digest fires every week): ``done`` on a recurring reminder finishes
    one occurrence, on any other it finishes the reminder. ``expires`` is when it
    becomes moot (the prep for a meeting that has started): it is not delivered late.
    """

    id: str
    kind: str
    contact: str | None
    due: datetime
    message: str
    priority: Priority = "normal"
    because: list[str] = []
    rule: str = ""
    occurrence: datetime | None = None
    recurring: bool = False
    expires: datetime | None = None
    snoozed: datetime | None = None

    @property
    def delivery(self) -> datetime:
        """The instant that names this delivery in the daemon's ledger: the occurrence, or
        the due time; a snoozed reminder is a new delivery at the time it was put off to."""
        return self.snoozed or self.occurrence or self.due

    def to_json(self) -> dict[str, Any]:
        """Return the contract's JSON fields (and the extra ones) as plain values."""
        fields: dict[str, Any] = msgspec.to_builtins(self)
        fields["due"] = self.due.isoformat()
        return fields


def reminder_id(kind: str, contact: str | None, because: Iterable[str], key: str = "") -> str:
    """Return the stable id of a reminder: 7 characters derived from what caused it."""
    material = "\x1f".join([kind, contact or "", *sorted(because), key]).encode()
    number = int.from_bytes(hashlib.sha256(material).digest()[:5], "big")
    letters = _ID_ALPHABET  # 5 bits a letter, the least significant first
    return (
        letters[number & 31]
        + letters[number >> 5 & 31]
        + letters[number >> 10 & 31]
        + letters[number >> 15 & 31]
        + letters[number >> 20 & 31]
        + letters[number >> 25 & 31]
        + letters[number >> 30 & 31]
    )


def make_reminder(
    kind: str,
    contact: str | None,
    due: datetime,
    message: str,
    *,
    because: Iterable[str],
    priority: Priority = "normal",
    key: str = "",
    occurrence: datetime | None = None,
    recurring: bool = False,
    expires: datetime | None = None,
) -> Reminder:
    """Return a reminder with its stable id (see :func:`reminder_id`).

    Instants are kept in UTC: Python never finds an ambiguous local time (the repeated
    hour of a DST fall-back) equal to the same instant in another zone, and ``done``
    compares occurrences with the UTC instants read from the log.
    """
    causes = list(because)
    return Reminder(
        id=reminder_id(kind, contact, causes, key),
        kind=kind,
        contact=contact,
        due=due.astimezone(UTC),
        message=message,
        priority=priority,
        because=causes,
        occurrence=occurrence.astimezone(UTC) if occurrence is not None else None,
        recurring=recurring,
        expires=expires.astimezone(UTC) if expires is not None else None,
    )


class Skipped(msgspec.Struct):
    """Returned by a rule, among its reminders, for one ``subject`` (a contact, a schedule)
    it could not work out, and why: that one's reminder is missing, the others are there."""

    subject: str
    error: str


class RuleFailure(msgspec.Struct):
    """A rule that raised (its reminders are missing, the others are there), or that
    skipped one ``subject`` (only that one's reminder is missing)."""

    plugin: str
    error: str
    subject: str | None = None

    def describe(self) -> str:
        """Return the one-line warning naming the plugin (and the subject it skipped)."""
        where = f" for {self.subject}" if self.subject else ""
        return f"plugin {self.plugin!r} failed in coffeechat_reminders{where}: {self.error}"


def apply_user_actions(reminders: Iterable[Reminder], state: State) -> list[Reminder]:
    """Given proposed reminders, drop the done and archived ones and move the snoozed.

    Return them sorted by due time (overdue first), then by priority, then id.
    """
    kept = []
    for reminder in reminders:
        contact = state.contacts.get(reminder.contact) if reminder.contact else None
        if contact is not None and contact.archived is not None:
            continue
        done = state.done.get(reminder.id)
        if done:
            if not reminder.recurring:
                continue
            if reminder.occurrence is not None and reminder.occurrence in done:
                continue
        until = state.snoozed.get(reminder.id)
        if until is not None and until > reminder.due:
            reminder = msgspec.structs.replace(reminder, due=until, snoozed=until)
        kept.append(reminder)
    kept.sort(key=lambda r: (r.due, -PRIORITIES.index(r.priority), r.id))
    return kept


def evaluate(
    plugins: Any,
    state: State,
    now: datetime,
    settings: Any,
    only: Collection[str] | None = None,
) -> tuple[list[Reminder], list[RuleFailure]]:
    """Ask every rule for its reminders; return them (after done/snooze) and the failures.

    ``plugins`` is a :class:`coffeechat.plugins.manager.Plugins`. With ``only`` (handles),
    the rules see a state holding only those contacts, and only those contacts' reminders
    are returned (not the ones about no contact, such as a digest, which a partial state
    would get wrong): what ``show`` needs for one contact, and what the daemon re-evaluates
    when an event touches a few.
    """
    if only is not None:
        state = subset(state, only)
    proposed: list[Reminder] = []
    failures: list[RuleFailure] = []
    for name, results in plugins.call_each(
        "coffeechat_reminders", state=state, now=now, settings=settings
    ):
        if isinstance(results, BaseException):
            failures.append(RuleFailure(name, f"{type(results).__name__}: {results}"))
            continue
        for reminder in results or ():
            if isinstance(reminder, Skipped):
                failures.append(RuleFailure(name, reminder.error, reminder.subject))
                continue
            if not isinstance(reminder, Reminder):
                failures.append(RuleFailure(name, f"returned {type(reminder).__name__}"))
                break
            if only is not None and reminder.contact not in state.contacts:
                continue
            proposed.append(msgspec.structs.replace(reminder, rule=name))
    return apply_user_actions(proposed, state), failures


def subset(state: State, handles: Collection[str]) -> State:
    """Return a view of ``state`` holding only the contacts named in ``handles`` (the
    unknown ones are left out); everything else is shared with ``state``, not copied."""
    contacts = {h: state.contacts[h] for h in handles if h in state.contacts}
    return msgspec.structs.replace(state, contacts=contacts)


def find(reminders: Iterable[Reminder], query: str) -> Reminder:
    """Return the reminder whose id starts with ``query``; raise UserError otherwise."""
    from coffeechat.events.errors import UserError

    wanted = query.strip().lower()
    matches = [r for r in reminders if wanted and r.id.startswith(wanted)]
    unique = {r.id: r for r in matches}
    if len(unique) == 1:
        return matches[0]
    if not unique:
        raise UserError(f"no reminder has the id {query!r}: see 'coffeechat agenda'")
    raise UserError(f"{query!r} matches several reminders: {', '.join(sorted(unique))}")


def decide_done(state: State, stamp: "Stamp", reminder: Reminder) -> "Decision":
    """Return what ``done`` on ``reminder`` records: the journey step it asks for (the
    thank-you, the outreach …), else ``reminder.done``. The one decision behind
    ``coffeechat done``, the dashboard's button and a notification's "Done"."""
    from coffeechat.events.decisions import done

    contact = state.contacts.get(reminder.contact) if reminder.contact else None
    # The nudges' closing word asks for no follow-up: done on it only marks it done.
    closing = reminder_id(reminder.kind, reminder.contact, reminder.because, "closing")
    return done(
        state,
        stamp,
        reminder.id,
        reminder.kind,
        contact,
        reminder.occurrence,
        step=reminder.id != closing,
    )
