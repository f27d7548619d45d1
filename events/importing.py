"""Contacts in: given what an export file holds, decide which events an import appends.

The parsers (:mod:`~coffeechat.events.linkedin`, :mod:`~coffeechat.events.vcard`) turn a
file into :class:`Row` records: the name and profile fields read, as text, each with its
line. :func:`decide_import` matches every row with a contact and returns a
:class:`Plan`: the ``contact.added`` / ``contact.updated`` events to append in one batch
(nothing here writes), what each one does in words, the counts and the notices.

Matching, in turn (docs/import.md):

1. the profile URL, else an e-mail, else (LinkedIn) the name with the day you
   connected, as the contact has them or an earlier import read them;
2. without any of those, a contact whose last import from this source read exactly
   this row (a card with a name only, imported again);
3. the exact name, when one contact has it and one row of the file; two people of one
   name make a notice and neither is merged: the row becomes a contact of its own.

Several contacts for one row (two devices that imported before a sync and gave one
person two handles) are named, and the row is skipped until one is archived: an
archived contact gives way to one still tracked.

A row is compared with what the last import *from the same source* read for that
contact, never with the contact as it stands: a value you typed by hand is kept until
the source itself changes. A company or position that changes from one import to the
next is recorded (``contact.updated`` with the source) and makes the ``congratulate``
reminder. The first import onto a contact you added by hand fills in what it lacks and
keeps what you typed. Handles follow :func:`~coffeechat.events.contacts.new_handle` and
never change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import msgspec

from coffeechat.events import model as m
from coffeechat.events.contacts import find_by_name, slugify
from coffeechat.events.decisions import Decision, Stamp
from coffeechat.events.projection import Contact, State

SOURCES = ("linkedin", "vcard")
# The fields an import may read, beside the name (all of them profile fields).
FIELDS = ("email", "phone", "company", "role", "linkedin", "how_met", "connected_on")
Progress = Callable[[int], None]  # told how many rows are done, now and then
NOTICES = 10  # notes shown at most; the last one says how many more there were


class Row(msgspec.Struct):
    """One person read from an export: the line it starts on, the record (``name`` and
    the :data:`FIELDS` it gives, as text) and every e-mail it gives, for matching."""

    line: int
    record: dict[str, str]
    emails: list[str] = []


class Problem(msgspec.Struct):
    """A row (or card) that could not be read: its line and why. It is skipped."""

    line: int
    reason: str


class Parsed(msgspec.Struct):
    """What a parser read from a file: the rows, and the rows it had to skip."""

    rows: list[Row]
    problems: list[Problem] = []


class Summary(msgspec.Struct):
    """How many rows added a contact, updated one, changed nothing, were skipped."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0

    def describe(self) -> str:
        """Return the summary line: ``3 added, 1 updated, 40 unchanged, 1 skipped``."""
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.skipped} skipped"
        )


class Change(msgspec.Struct):
    """What one event of the plan does: ``verb`` is ``add``, ``update`` or ``note`` (only
    what the source says is remembered: nothing of the contact changes), ``text`` the
    rest of the line (``Grace Hopper (grace-hopper)``)."""

    event: str
    verb: str
    text: str


class Plan(msgspec.Struct):
    """What an import appends (``decision``, its notices at most :data:`NOTICES`), what
    each event does (``changes``, in order), the counts, and every row skipped (the
    parser's and those skipped while matching: repeats, several matches), by line."""

    decision: Decision
    changes: list[Change]
    summary: Summary
    skipped: list[Problem] = []


# --- keys --------------------------------------------------------------------------------


def folded(text: str) -> str:
    """Return a name or an address as matching compares it: spacing and case aside."""
    return " ".join(text.split()).casefold()


def profile_url(text: str) -> str | None:
    """Return a profile URL in one spelling (https, lower-case host, no query, fragment
    or trailing slash), or None when ``text`` is not a web address."""
    from urllib.parse import urlsplit

    value = text.strip()
    if not value:
        return None
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    path = parts.path.rstrip("/")
    return f"https://{parts.hostname.lower()}{path}"


class _Index:
    """Where each key leads: handles by profile URL, e-mail, name with connection day
    (from a previous import), exact name, and exact record (from a previous import)."""

    def __init__(self, state: State, source: str) -> None:
        self.urls: dict[str, list[str]] = {}
        self.emails: dict[str, list[str]] = {}
        self.dated: dict[tuple[str, str], list[str]] = {}
        self.names: dict[str, list[str]] = {}
        self.records: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for contact in state.contacts.values():
            self.add(contact, contact.imported.get(source))
            for record in contact.imported.values():
                self._keys(contact.handle, record)

    def add(self, contact: Contact, memory: dict[str, str] | None) -> None:
        """Index a contact as it stands and as the last import from this source read it."""
        handle = contact.handle
        _put(self.names, folded(contact.name), handle)
        self._keys(handle, {"linkedin": contact.linkedin or "", "email": contact.email or ""})
        if memory is not None:
            _put(self.records, _frozen(memory), handle)
            if "connected_on" in memory:
                _put(self.dated, (folded(memory["name"]), memory["connected_on"]), handle)

    def _keys(self, handle: str, record: dict[str, str]) -> None:
        url = profile_url(record.get("linkedin", ""))
        if url:
            _put(self.urls, url, handle)
        if record.get("email"):
            _put(self.emails, folded(record["email"]), handle)

    def strong(self, row: Row) -> list[str]:
        """Return the contacts the row's profile URL, else e-mail, else name and
        connection day lead to (none when no such key leads anywhere)."""
        url = row.record.get("linkedin")
        if url and url in self.urls:
            return self.urls[url]
        for email in row.emails:
            if email in self.emails:
                return self.emails[email]
        when = row.record.get("connected_on")
        if when is not None:
            return self.dated.get((folded(row.record["name"]), when), [])
        return []


def _put(index: dict[Any, list[str]], key: Any, handle: str) -> None:
    handles = index.setdefault(key, [])
    if handle not in handles:
        handles.append(handle)


def _frozen(record: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(record.items()))


# --- the decision ----------------------------------------------------------------------------


def decide_import(
    state: State,
    stamp: Stamp,
    source: str,
    parsed: Parsed,
    progress: Progress | None = None,
) -> Plan:
    """Given the state and the rows read from a ``source`` export, return the plan.

    Rows the parser skipped count as skipped; so do rows that repeat a person met
    earlier in the same file, and rows that several contacts match (named in a notice:
    a duplicate to archive). Nothing is written.
    """
    rows = [_normalised(row) for row in parsed.rows]
    index = _Index(state, source)
    matcher = _Matcher(state, index, rows, source)
    builder = _Builder(state, stamp, source)
    skipped = list(parsed.problems)
    for number, row in enumerate(rows, 1):
        outcome = matcher.match(row)
        if isinstance(outcome, Problem):
            skipped.append(outcome)
        elif outcome is None:
            builder.add(row)
        else:
            builder.update(row, state.contacts[outcome])
        if progress is not None and number % 200 == 0:
            progress(number)
    builder.notices[:0] = matcher.notices
    builder.summary.skipped = len(skipped)
    skipped.sort(key=lambda problem: problem.line)
    decision = Decision(builder.events, notices=notices_shown(builder.notices))
    return Plan(decision, builder.changes, builder.summary, skipped)


def _normalised(row: Row) -> Row:
    record = {key: " ".join(value.split()) for key, value in row.record.items()}
    record = {key: value for key, value in record.items() if value}
    emails = [folded(email) for email in row.emails if email.strip()]
    if "email" in record and folded(record["email"]) not in emails:
        emails.insert(0, folded(record["email"]))
    return Row(row.line, record, emails)


class _Matcher:
    """Finds each row's contact (a handle), None for a new contact, or a Problem."""

    def __init__(self, state: State, index: _Index, rows: list[Row], source: str) -> None:
        self.state = state
        self.index = index
        self.source = source
        self.claimed: dict[str, int] = {}  # handle → the line that matched it
        self.new_keys: dict[str, int] = {}  # keys of the rows that add someone → line
        self.notices: list[str] = []
        self.rows_named: dict[str, int] = {}
        self.twins: dict[tuple[tuple[str, str], ...], int] = {}  # rows with one record
        for row in rows:
            name = folded(row.record["name"])
            self.rows_named[name] = self.rows_named.get(name, 0) + 1
            frozen = _frozen(row.record)
            self.twins[frozen] = self.twins.get(frozen, 0) + 1

    def match(self, row: Row) -> str | Problem | None:
        """Return the handle of the row's contact, None (a new one), or why it is skipped.

        Several contacts for one row are two people the file gives alike (as many rows
        read exactly so, each matched once), or a duplicate: a Problem naming them.
        """
        found = [h for h in self.index.strong(row) if self._same_profile(h, row)]
        if not found:  # no key: what an earlier import read exactly so
            found = list(self.index.records.get(_frozen(row.record), []))
        found = _tracked_first(self.state, found)
        if len(found) > 1:
            alike = all(self._memory(handle) == row.record for handle in found)
            if not alike or self.twins[_frozen(row.record)] < len(found):
                names = ", ".join(sorted(found))
                return Problem(
                    row.line,
                    f"{row.record['name']} matches several contacts ({names}): archive the "
                    "duplicate, then import again",
                )
            found = [handle for handle in found if handle not in self.claimed] or found
        if found:
            return self._claim(found[0], row)
        return self._by_name(row)

    def _memory(self, handle: str) -> dict[str, str] | None:
        return self.state.contacts[handle].imported.get(self.source)

    def _by_name(self, row: Row) -> str | Problem | None:
        name = folded(row.record["name"])
        candidates = [
            handle
            for handle in self.index.names.get(name, [])
            if handle not in self.claimed and self._same_profile(handle, row)
        ]
        candidates = _tracked_first(self.state, candidates)
        duplicate = self._repeated(row)
        if duplicate is not None:
            return Problem(row.line, f"{row.record['name']} again (as on line {duplicate})")
        if len(candidates) == 1 and self.rows_named[name] == 1:
            return self._claim(candidates[0], row)
        if candidates:
            shown = ", ".join(candidates)
            self.notices.append(
                f"line {row.line}: {self.rows_named[name]} row(s) and {len(candidates)} "
                f"contact(s) are named {row.record['name']} ({shown}): neither is merged, "
                "the row is added as a contact of its own"
            )
        return None

    def _repeated(self, row: Row) -> int | None:
        """Return the line of an earlier row adding the same person (same URL or e-mail)."""
        keys = [f"url {row.record['linkedin']}"] if "linkedin" in row.record else []
        keys += [f"email {email}" for email in row.emails]
        for key in keys:
            if key in self.new_keys:
                return self.new_keys[key]
        for key in keys:
            self.new_keys[key] = row.line
        return None

    def _claim(self, handle: str, row: Row) -> str | Problem:
        if handle in self.claimed:
            name = self.state.contacts[handle].name
            return Problem(row.line, f"{name} again (as on line {self.claimed[handle]})")
        self.claimed[handle] = row.line
        return handle

    def _same_profile(self, handle: str, row: Row) -> bool:
        """Whether the contact may be the row's person: not when both have a profile URL
        and the row's is none of the contact's (two people of one name, or one e-mail
        shared). The contact's are its own and those its imports read."""
        url = row.record.get("linkedin")
        if not url:
            return True
        contact = self.state.contacts[handle]
        given = [contact.linkedin, *(r.get("linkedin") for r in contact.imported.values())]
        theirs = {profile_url(text) for text in given if text}
        return not theirs or url in theirs


def _tracked_first(state: State, handles: list[str]) -> list[str]:
    """Return the handles of contacts not archived, or all of them when every one is:
    archiving a duplicate settles which contact an import updates."""
    tracked = [handle for handle in handles if state.contacts[handle].archived is None]
    return tracked or handles


class _Builder:
    """Makes the events, their lines and the counts."""

    def __init__(self, state: State, stamp: Stamp, source: str) -> None:
        self.state = state
        self.stamp = stamp
        self.source = source
        self.events: list[m.Event] = []
        self.changes: list[Change] = []
        self.notices: list[str] = []
        self.summary = Summary()
        self.taken: set[str] = set()

    def add(self, row: Row) -> None:
        record = row.record
        fields = _typed({key: value for key, value in record.items() if key != "name"})
        event = self.stamp(
            m.ContactAdded,
            contact=self._handle(record["name"]),
            name=record["name"],
            source=self.source,
            **fields,
        )
        self.events.append(event)
        self.changes.append(Change(event.id, "add", f"{record['name']} ({event.contact})"))
        self.summary.added += 1

    def _handle(self, name: str) -> str:
        """Return a handle for a new contact: the rule of ``contacts.new_handle``, unique
        among the contacts and the handles this import has given already."""
        base = slugify(name)
        handle, number = base, 2
        while handle in self.state.contacts or handle in self.taken:
            handle, number = f"{base}-{number}", number + 1
        self.taken.add(handle)
        return handle

    def update(self, row: Row, contact: Contact) -> None:
        record = row.record
        memory = contact.imported.get(self.source)
        if memory == record:
            self.summary.unchanged += 1
            return
        changes: dict[str, str] = {}
        kept: list[str] = []
        for field, value in record.items():
            if memory is not None and memory.get(field) == value:
                continue  # the source did not change it: what the contact has stands
            current = _text(getattr(contact, field))
            if current == value or (field == "name" and folded(value) == folded(contact.name)):
                continue
            if memory is None and current is not None:
                kept.append(field)  # first import onto a contact you made: yours stays
            elif field == "name" and _taken(self.state, value, contact):
                kept.append(field)  # another contact has that name
            else:
                changes[field] = value
        event = self.stamp(
            m.ContactUpdated,
            contact=contact.handle,
            source=self.source,
            imported=record,
            **_typed(changes),
        )
        self.events.append(event)
        self.changes.append(_change(event.id, contact, changes, kept, self.source))
        if changes:
            self.summary.updated += 1
        else:
            self.summary.unchanged += 1
        if kept:
            shown = "; ".join(
                f"your {field.replace('_', ' ')} {_text(getattr(contact, field))!r} "
                f"({self.source} says {record[field]!r})"
                for field in kept
            )
            self.notices.append(f"{contact.name}: kept {shown}")
        moved = _move(contact, changes)
        if moved:
            self.notices.append(f"{moved}: a congratulate reminder is in your agenda")


def _typed(fields: dict[str, str]) -> dict[str, Any]:
    """Return fields as the events store them (``connected_on`` is a date)."""
    typed: dict[str, Any] = dict(fields)
    if "connected_on" in typed:
        typed["connected_on"] = date.fromisoformat(typed["connected_on"])
    return typed


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _taken(state: State, name: str, contact: Contact) -> bool:
    other = find_by_name(state, name)
    return other is not None and other.handle != contact.handle


def _move(contact: Contact, changes: dict[str, str]) -> str | None:
    """Return "Grace Hopper moved to …" when the changes are a new company or position
    (from one the contact had), else None: what the fold records as a move."""
    company = changes.get("company", contact.company)
    role = changes.get("role", contact.role)
    if not (
        ("company" in changes and contact.company is not None)
        or ("role" in changes and contact.role is not None)
    ):
        return None
    name = changes.get("name", contact.name)
    if "company" in changes and contact.company is not None:
        return f"{name} moved to {company}" + (f" as {role}" if role else "")
    return f"{name} is now {role}" + (f" at {company}" if company else "")


def _change(
    event: str, contact: Contact, changes: dict[str, str], kept: list[str], source: str
) -> Change:
    if not changes:
        what = f" (yours kept: {', '.join(kept)})" if kept else ""
        return Change(event, "note", f"what {source} says of {contact.name}{what}")
    parts = []
    for field, value in changes.items():
        before = _text(getattr(contact, field))
        was = f" (was {before})" if before is not None else ""
        parts.append(f"{field.replace('_', ' ')} = {value}{was}")
    return Change(event, "update", f"{contact.name} from {source}: {', '.join(parts)}")


def notices_shown(notices: Iterable[str], most: int = NOTICES) -> list[str]:
    """Return at most ``most`` notices, the last saying how many more there were."""
    notices = list(notices)
    if len(notices) <= most:
        return notices
    return [*notices[: most - 1], f"… and {len(notices) - most + 1} more notes like these"]
