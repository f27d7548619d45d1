"""Text shown to a person: control characters escaped, so what was typed is never obeyed.

A name, a note or a file name may hold characters a terminal (or a notification
server) acts on instead of showing: ``ESC ] 0 ; … BEL`` retitles the terminal window,
``ESC [ 2 J`` clears it, U+202E turns the rest of the line around. The log stores what
was given; every renderer passes its text through :func:`printable` on the way out, which
shows each such character as a Python-style escape (``\\x1b``, ``\\x9b``, ``\\u202e``):

* C0 controls (U+0000–U+001F) and DEL (U+007F); tab and newline only with ``lines=False``
  (a note may hold several lines; a table cell, a title or an error message may not);
* C1 controls (U+0080–U+009F);
* the bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069);
* lone surrogates (an argument that was not UTF-8, ``\\udcff``), which no terminal could
  be sent anyway.

JSON output needs none of this: JSON escapes control characters itself.
"""

from __future__ import annotations

import functools
import re

__all__ = ["one_line", "printable"]

_BIDI = "\u202a-\u202e\u2066-\u2069"
_SURROGATES = "\ud800-\udfff"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, lines: bool = True) -> str:
    """Given text bound for a terminal or a notification, return it with every control
    character escaped (see the module docstring). ``lines``: keep tabs and newlines.

    Text with nothing to escape (nearly all of it) comes back as the same object, after
    one scan in C (:meth:`str.isprintable`) or, for text with a newline, a tab or another
    unprintable character, by a pattern.
    """
    if text.isprintable():  # nothing to escape, nor a tab or newline: most text, in C
        return text
    pattern = _patterns()[0 if lines else 1]
    if pattern.search(text) is None:
        return text
    return pattern.sub(_escape, text)


@functools.cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Return the patterns of what to escape in text (tabs and newlines kept) and in a
    line, compiled on first need: text that :meth:`str.isprintable` passes needs neither
    (it holds no control, format or surrogate character at all)."""
    return (
        re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}{_SURROGATES}]"),
        re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}{_SURROGATES}]"),
    )


def one_line(text: str, limit: int = 300) -> str:
    """Given text for a one-line message, return it escaped (newlines too) and, when it is
    longer than ``limit`` characters, cut in the middle: the start (what went wrong) and
    the end (often the hint) stay, and the cut says how much it left out.
    """
    if len(text) > limit:
        head, tail = limit * 2 // 3, limit // 3
        left_out = len(text) - head - tail
        text = f"{text[:head]}…[{left_out} characters]…{text[len(text) - tail :]}"
    return printable(text, lines=False)
