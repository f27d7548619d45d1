"""vCard files (3.0 and 4.0, and the 2.1 some phones still write) read into rows, with
vobject.

An address book export holds several cards. Each card is cut out of the file on its
own (``BEGIN:VCARD`` … ``END:VCARD``) and given to vobject, so a card that cannot be
read is a :class:`~coffeechat.events.importing.Problem` naming the line it starts on
and the others are read. vobject unfolds long lines, decodes quoted-printable values
and unescapes text; only the properties read here are decoded at all, so a photo (or a
broken one) and unknown ``X-`` properties cost nothing and are ignored.

What a card gives: the name (``FN``; without one, the given and family names of ``N``),
the preferred e-mail (every e-mail for matching), the preferred phone, the company
(``ORG``'s first part), the position (``TITLE``, else ``ROLE``) and a LinkedIn profile
(a ``URL`` or ``X-SOCIALPROFILE`` on linkedin.com).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from coffeechat.events.errors import UserError
from coffeechat.events.importing import Parsed, Problem, Progress, Row, profile_url

# The properties read; every other one is dropped before vobject decodes anything.
READ = ("fn", "n", "email", "tel", "org", "title", "role", "url", "x-socialprofile")
_LINES = re.compile(r"\r\n|\r|\n")
# A line of a property read here: an optional group (``item1.``), the name, then ; or :.
_NAME = re.compile(r"(?:[\w-]+\.)?(?:" + "|".join(READ) + r")[;:]", re.IGNORECASE | re.ASCII)
_BEGIN = "BEGIN:VCARD"
_END = "END:VCARD"

# vobject reports through logging; a card it cannot read is reported here instead.
logging.getLogger("vobject").addHandler(logging.NullHandler())


def parse_vcards(data: bytes, name: str, progress: Progress | None = None) -> Parsed:
    """Given the bytes of a vCard file (``name`` for messages), return its cards as rows.

    Raise UserError if it is not UTF-8 text or holds no card.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UserError(f"{name}: line {line} is not UTF-8 text: not a vCard file") from None
    lines = _LINES.split(text)
    cards = list(_cards(lines))
    if not cards:
        raise UserError(f"{name}: not a vCard file: no BEGIN:VCARD line found")
    rows: list[Row] = []
    problems: list[Problem] = []
    for number, (start, card) in enumerate(cards, 1):
        if card is None:
            problems.append(Problem(start, "the card never ends (no END:VCARD)"))
            continue
        row = _row(start, card)
        if isinstance(row, Problem):
            problems.append(row)
        else:
            rows.append(row)
        if progress is not None and number % 100 == 0:
            progress(number)
    return Parsed(rows, problems)


def count_cards(data: bytes) -> int:
    """Return about how many cards the file holds (for a progress bar)."""
    return data.upper().count(_BEGIN.encode())


def _cards(lines: list[str]) -> Any:
    """Yield (line number of BEGIN, the card's text), or (line, None) for a card that
    never ends. A BEGIN inside a card starts the next one."""
    start: int | None = None
    body: list[str] = []
    for number, line in enumerate(lines, 1):
        word = line.strip().upper()
        if word == _BEGIN:
            if start is not None:
                yield start, None
            start, body = number, [line]
        elif start is not None:
            body.append(line)
            if word == _END:
                yield start, "\r\n".join(body) + "\r\n"
                start, body = None, []
    if start is not None:
        yield start, None


def _row(start: int, card: str) -> Row | Problem:
    """Read one card (its text, BEGIN to END, starting on line ``start``)."""
    import io

    import vobject
    from vobject.base import getLogicalLines, textLineToContentLine

    component = vobject.base.Component("VCARD")
    unreadable: Problem | None = None  # the first line vobject could not read
    for text, number in getLogicalLines(io.StringIO(card), allowQP=True):
        if _NAME.match(text) is None:
            continue  # a property not read here (a photo, an X- one): never decoded
        line = start + number - 1
        try:
            content = textLineToContentLine(text, number)
        except Exception as error:  # vobject raises many kinds: all mean "can't read it"
            unreadable = unreadable or Problem(line, f"can't read the card: {_reason(error)}")
            continue
        if content.name.lower() in READ:
            content.lineNumber = line
            component.add(content)
    try:
        component.setBehavior(vobject.vcard.VCard3_0)
        component.transformChildrenToNative()
    except Exception as error:
        return Problem(start, f"can't read the card: {_reason(error)}")
    name = _name(component)
    if not name:
        return unreadable or Problem(start, "a card with no name (no FN, and N is empty)")
    record = {"name": name}
    emails = [_plain(line.value) for line in _all(component, "email")]
    emails = [email for email in emails if email]
    email = _preferred(component, "email")
    if email:
        record["email"] = email
    phone = _preferred(component, "tel")
    if phone:
        record["phone"] = phone.removeprefix("tel:")
    company = _company(component)
    if company:
        record["company"] = company
    role = _first(component, "title") or _first(component, "role")
    if role:
        record["role"] = role
    linkedin = _linkedin(component)
    if linkedin:
        record["linkedin"] = linkedin
    return Row(start, record, emails)


def _reason(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _all(component: Any, key: str) -> list[Any]:
    lines: list[Any] = component.contents.get(key, [])
    return lines


def _plain(value: Any) -> str:
    if isinstance(value, list):
        value = " ".join(str(part) for part in value)
    return " ".join(str(value).split())


def _first(component: Any, key: str) -> str:
    for line in _all(component, key):
        text = _plain(line.value)
        if text:
            return text
    return ""


def _name(component: Any) -> str:
    """Return FN, else the given and family names of N."""
    name = _first(component, "fn")
    if name:
        return name
    for line in _all(component, "n"):
        value = line.value
        parts = [_plain(getattr(value, part, "")) for part in ("given", "family")]
        text = " ".join(part for part in parts if part)
        if text:
            return text
    return ""


def _preferred(component: Any, key: str) -> str:
    """Return the value marked preferred (4.0 ``PREF=1``, 3.0 ``TYPE=pref``), else the
    first one."""
    lines = [line for line in _all(component, key) if _plain(line.value)]
    for line in lines:
        types = [kind.casefold() for kind in line.params.get("TYPE", [])]
        if "PREF" in line.params or "pref" in types or "PREF" in line.singletonparams:
            return _plain(line.value)
    return _plain(lines[0].value) if lines else ""


def _company(component: Any) -> str:
    for line in _all(component, "org"):
        value = line.value
        first = value[0] if isinstance(value, list) and value else value
        text = _plain(first)
        if text:
            return text
    return ""


def _linkedin(component: Any) -> str | None:
    for key in ("x-socialprofile", "url"):
        for line in _all(component, key):
            text = _plain(line.value).replace("\\:", ":").replace("\\,", ",")
            url = profile_url(text)
            if url is not None and "linkedin.com/" in url:
                return url
    return None
