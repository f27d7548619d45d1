"""Handles and contact lookup: how a CONTACT argument finds its person.

A handle is a slug of the name (``Ada Lovelace`` → ``ada-lovelace``), made once when
the contact is added and never changed, even if the name is corrected later. A
CONTACT argument is a handle, or any unambiguous prefix of a handle or a name.
"""

from __future__ import annotations

import re

from coffeechat.events.errors import UserError
from coffeechat.events.names import ascii_key, transliterate
from coffeechat.events.projection import Contact, State

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_NOT_WORD = re.compile(r"[\W_]+")


def slugify(name: str) -> str:
    """Given a name, return its slug: lower-case ASCII words joined by hyphens.

    Letters are transliterated, never dropped (``Søren`` → ``soren``, ``Łukasz`` →
    ``lukasz``, ``Straße`` → ``strasse``, ``Ada 李`` → ``ada-li``); a name with nothing
    to transliterate keeps its own word characters; one with no letters at all becomes
    ``contact``.
    """
    slug = _NOT_SLUG.sub("-", transliterate(name).lower()).strip("-")
    if not slug:
        slug = _NOT_WORD.sub("-", name.casefold()).strip("-_")
    return slug or "contact"


def sort_key(contact: Contact) -> str:
    """Return how ``ls`` orders contacts: by name, transliterated and casefolded, so that
    ``Ñandú`` sorts beside ``Nadia`` (read from the projection: no transliteration here)."""
    return _key(contact)


def new_handle(state: State, name: str) -> str:
    """Return a handle for a new contact called ``name``, unique in ``state``."""
    base = slugify(name)
    handle, number = base, 2
    while handle in state.contacts:
        handle, number = f"{base}-{number}", number + 1
    return handle


def find_by_name(state: State, name: str) -> Contact | None:
    """Return the contact with exactly this name (ignoring case and spacing), if any."""
    wanted = " ".join(name.split()).casefold()
    for contact in state.contacts.values():
        if " ".join(contact.name.split()).casefold() == wanted:
            return contact
    return None


def _folded(contact: Contact) -> str:
    return " ".join(contact.name.casefold().split())


def _key(contact: Contact) -> str:
    return contact.ascii_name or _folded(contact)


def resolve(state: State, query: str) -> Contact:
    """Given a CONTACT argument, return the one contact it names.

    In turn: the exact handle; the exact full name (case, spacing and accents aside);
    the one contact whose handle or name (as written or transliterated) starts with it.
    Raise UserError if it names nobody, or several people (listing them).
    """
    text = query.strip()
    if not text:
        raise UserError("no contact given: name one by handle or the start of a name")
    exact = state.contacts.get(text.lower())
    if exact is not None:
        return exact
    folded = " ".join(text.casefold().split())
    as_ascii = ascii_key(text)
    as_handle = slugify(text)
    contacts = list(state.contacts.values())
    named = [
        c for c in contacts if _folded(c) == folded or (c.ascii_name or _folded(c)) == as_ascii
    ]
    if len(named) == 1:
        return named[0]
    matches = named or [
        contact
        for contact in contacts
        if contact.handle.startswith(as_handle)
        or _folded(contact).startswith(folded)
        or _key(contact).startswith(as_ascii)
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UserError(f"no contact matches {query!r}: see 'coffeechat ls', or add them first")
    shown = ", ".join(f"{contact.handle} ({contact.name})" for contact in matches[:8])
    more = f" and {len(matches) - 8} more" if len(matches) > 8 else ""
    hint = "use a handle" if named else "type more of it"
    raise UserError(f"{query!r} matches several contacts: {shown}{more}; {hint}")
