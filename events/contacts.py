"""Handles and contact lookup: how a CONTACT argument finds its person.

A handle is a slug of the name (``Ada Lovelace`` → ``ada-lovelace``), made once when
the contact is added and never changed, even if the name is corrected later. A
CONTACT argument is a handle, or any unambiguous prefix of a handle or a name.
"""

from __future__ import annotations

import re

from coffeechat.events.errors import UserError
from coffeechat.events.projection import Contact, State

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_NOT_WORD = re.compile(r"[\W_]+")


def slugify(name: str) -> str:
    """Given a name, return its slug: lower-case words joined by hyphens.

    Accents are dropped (``José`` → ``jose``); a name with no Latin letters keeps its
    own (``李雷`` → ``李雷``); a name with no letters at all becomes ``contact``.
    """
    import unicodedata  # only adding a contact needs it

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _NOT_SLUG.sub("-", ascii_name.lower()).strip("-")
    if not slug:
        slug = _NOT_WORD.sub("-", name.casefold()).strip("-_")
    return slug or "contact"


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


def resolve(state: State, query: str) -> Contact:
    """Given a CONTACT argument, return the one contact it names.

    Raise UserError if it names nobody, or several people (listing them).
    """
    text = query.strip()
    if not text:
        raise UserError("no contact given: name one by handle or the start of a name")
    exact = state.contacts.get(text.lower())
    if exact is not None:
        return exact
    folded = text.casefold()
    as_handle = slugify(text)
    matches = [
        contact
        for contact in state.contacts.values()
        if contact.handle.startswith(as_handle) or contact.name.casefold().startswith(folded)
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UserError(f"no contact matches {query!r}: see 'coffeechat ls', or add them first")
    shown = ", ".join(f"{contact.handle} ({contact.name})" for contact in matches[:8])
    more = f" and {len(matches) - 8} more" if len(matches) > 8 else ""
    raise UserError(f"{query!r} matches several contacts: {shown}{more}; type more of it")
