"""The terminal: how wide text is on it, tables that fit it, and colour where it helps.

Widths are display widths, not lengths: a CJK character or an emoji takes two cells
(``unicodedata.east_asian_width`` ``W`` or ``F``), a combining accent or a zero-width
joiner none, so a row holding 李小龍 or ☕ lines up with the others. Nearly every cell is
ASCII, whose width is its length: ``unicodedata`` is imported only for the first cell
that is not.

A table fits the width it is given (the command line gives ``$COLUMNS``, else the
terminal's, else none when the output is piped) by shortening its free-text columns
with "…"; the other columns (dates, handles, ids) keep their full text.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import ModuleType
from typing import TextIO

from coffeechat.events.text import printable

__all__ = ["Style", "cut", "display_width", "output_width", "paint", "table", "wants_colour"]

ELLIPSIS = "…"
MIN_FREE_TEXT = 10  # a shortened column keeps at least this many cells (or its header's)

_unicodedata: ModuleType | None = None


def _characters() -> ModuleType:
    global _unicodedata
    if _unicodedata is None:
        import unicodedata

        _unicodedata = unicodedata
    return _unicodedata


def _cells(character: str) -> int:
    """Return how many terminal cells one character takes (0, 1 or 2)."""
    if character < "\u0300":  # ASCII and Latin-1: one cell each (controls are escaped)
        return 1
    data = _characters()
    if data.category(character) in ("Mn", "Me", "Cf"):  # accents, joiners, selectors
        return 0
    return 2 if data.east_asian_width(character) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Return how many terminal cells ``text`` takes (its length when it is ASCII)."""
    if text.isascii():
        return len(text)
    return sum(_cells(character) for character in text)


def cut(text: str, cells: int) -> str:
    """Return ``text`` shortened to at most ``cells`` terminal cells, ending in "…" when
    anything was left out (a wide character never straddles the edge)."""
    if display_width(text) <= cells:
        return text
    if cells <= 0:
        return ""
    room = cells - 1  # the ellipsis takes one cell
    if text.isascii():
        return text[:room].rstrip() + ELLIPSIS
    used, kept = 0, []
    for character in text:
        size = _cells(character)
        if used + size > room:
            break
        kept.append(character)
        used += size
    return "".join(kept).rstrip() + ELLIPSIS


# --- colour ----------------------------------------------------------------------------------

Style = str  # an SGR parameter string: "1" bold, "31" red, "1;31" both, "" none

BOLD = "1"
DIM = "2"
RED = "31"
GREEN = "32"
YELLOW = "33"
BLUE = "34"
MAGENTA = "35"
CYAN = "36"

# What each stage asks of you, at a glance: your move stands out, the finished fade.
STAGE_STYLES: dict[str, Style] = {
    "planned": CYAN,
    "reached": YELLOW,
    "replied": f"{BOLD};{GREEN}",  # your move: book a time
    "no-reply": DIM,
    "declined": DIM,
    "scheduled": BLUE,
    "met": f"{BOLD};{MAGENTA}",  # a thank-you is owed
    "thanked": GREEN,
    "in-touch": GREEN,
    "archived": DIM,
}
OVERDUE = RED
HIGH_PRIORITY = f"{BOLD};{RED}"


def paint(text: str, style: Style | None) -> str:
    """Return ``text`` wrapped in the SGR codes of ``style`` (unchanged without one)."""
    if not style or not text:
        return text
    return f"\x1b[{style}m{text}\x1b[0m"


# --- tables ----------------------------------------------------------------------------------


def table(
    rows: Sequence[Sequence[str]],
    headers: Sequence[str],
    *,
    width: int | None = None,
    shrink: Sequence[int] = (),
    indent: int = 0,
    styles: Sequence[Sequence[Style | None]] | None = None,
    colour: bool = False,
) -> list[str]:
    """Return rows as aligned text columns under their headers.

    Each cell is escaped first (:func:`~coffeechat.events.text.printable`, newlines and
    tabs too), so a name holding control characters neither acts on the terminal nor
    breaks the columns. When the lines would be wider than ``width`` cells (less the
    ``indent`` the caller puts before each), the columns named by index in ``shrink``
    give up cells, the widest first, down to :data:`MIN_FREE_TEXT`, their text cut with
    "…"; narrower than that, the lines stay too wide (the terminal wraps them).
    ``styles`` (one per cell, like ``rows``) colour the cells when ``colour``; the lines
    then hold SGR codes of ours and nothing else to escape.
    """
    cells = [[printable(cell, lines=False) for cell in row] for row in rows]
    # Each cell's width, measured once (an agenda can have a thousand rows).
    sizes = [[display_width(cell) for cell in row] for row in [list(headers), *cells]]
    widths = [max(column) for column in zip(*sizes, strict=True)]
    if width is not None:
        excess = indent + sum(widths) + 2 * (len(widths) - 1) - width
        floors = {c: max(display_width(headers[c]), MIN_FREE_TEXT) for c in shrink}
        while excess > 0:
            # The widest column that can still give a cell gives it (the first on a tie),
            # so two free-text columns end up sharing the room.
            giving = [c for c in shrink if widths[c] > floors[c]]
            if not giving:
                break
            column = max(giving, key=lambda c: widths[c])
            widths[column] -= 1
            excess -= 1
        for column in shrink:
            for row, row_sizes in zip(cells, sizes[1:], strict=True):
                if row_sizes[column] > widths[column]:
                    row[column] = cut(row[column], widths[column])
                    row_sizes[column] = display_width(row[column])
    lines = []
    for index, (row, row_sizes) in enumerate(zip([list(headers), *cells], sizes, strict=True)):
        parts = []
        for column, (cell, size, cells_wide) in enumerate(zip(row, row_sizes, widths, strict=True)):
            if colour:
                style = BOLD if index == 0 else (styles[index - 1][column] if styles else None)
                cell = paint(cell, style)
            parts.append(cell + " " * (cells_wide - size))
        lines.append("  ".join(parts).rstrip())
    return lines


# --- the terminal ----------------------------------------------------------------------------


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` writes to a terminal."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a file at all
        return False


def output_width(stream: TextIO) -> int | None:
    """Return ``$COLUMNS`` when it is a positive number, else the width of the terminal
    ``stream`` writes to, else None (piped: no limit)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    else:
        if columns > 0:
            return columns
    if not is_terminal(stream):
        return None
    try:
        return os.get_terminal_size(stream.fileno()).columns or None
    except (AttributeError, OSError, ValueError):
        return None


def wants_colour(stream: TextIO) -> bool:
    """Whether text for ``stream`` may be coloured: a terminal, not ``TERM=dumb``, and no
    ``$NO_COLOR`` (https://no-color.org: any value but empty turns colour off)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)
