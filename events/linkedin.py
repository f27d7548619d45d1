"""LinkedIn's ``Connections.csv``, as its data export writes it, read into rows.

The file is UTF-8 with a byte-order mark and CRLF line ends; a "Notes:" preamble (a
quoted paragraph about missing e-mail addresses) and a blank line come before the
header ``First Name,Last Name,URL,Email Address,Company,Position,Connected On``.
Older exports lack ``URL``. Fields are quoted when they hold commas; e-mail addresses
are mostly empty (people choose whether to share them); dates look like ``15 Jan 2024``.

The header row is looked for, not skipped to by count, and columns are found by name.
A row that cannot be read (a broken quote, too few or too many fields, no name, a date
that is not one) is a :class:`~coffeechat.events.importing.Problem` naming its line,
and the rest are read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from coffeechat.events.errors import UserError
from coffeechat.events.importing import Parsed, Problem, Progress, Row, profile_url

# Header name (casefolded) → the field it fills.
COLUMNS = {
    "first name": "first",
    "last name": "last",
    "url": "linkedin",
    "email address": "email",
    "company": "company",
    "position": "role",
    "connected on": "connected_on",
}
REQUIRED = ("first name", "last name", "company", "position", "connected on")
HEADER_WITHIN = 50  # rows looked at for the header before giving up
HOW_MET = "LinkedIn"
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def parse_connections(data: bytes, name: str, progress: Progress | None = None) -> Parsed:
    """Given the bytes of a ``Connections.csv`` (``name`` for messages), return its rows.

    Raise UserError if it is not UTF-8 text or holds no LinkedIn header row.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UserError(f"{name}: line {line} is not UTF-8 text: not a LinkedIn export") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    columns = _header(reader, name)
    rows: list[Row] = []
    problems: list[Problem] = []
    ended = reader.line_num
    while True:
        start = ended + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.append(Problem(start, f"can't read the row: {error}"))
            ended = reader.line_num
            continue
        ended = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        row = _row(cells, columns, start)
        if isinstance(row, Problem):
            problems.append(row)
        else:
            rows.append(row)
        if progress is not None and len(rows) % 200 == 0:
            progress(len(rows))
    return Parsed(rows, problems)


def _header(reader: Iterator[list[str]], name: str) -> dict[str, int]:
    """Read up to and including the header row; return each known column's position."""
    for _ in range(HEADER_WITHIN):
        try:
            cells = next(reader)
        except (StopIteration, csv.Error):
            break
        names = [cell.strip().casefold() for cell in cells]
        if all(required in names for required in REQUIRED):
            return {COLUMNS[column]: names.index(column) for column in COLUMNS if column in names}
    raise UserError(
        f"{name}: not a LinkedIn Connections.csv: no header row "
        "'First Name,Last Name,URL,Email Address,Company,Position,Connected On' found"
    )


def _row(cells: list[str], columns: dict[str, int], line: int) -> Row | Problem:
    """Return one connection as a row, or why it cannot be read."""
    width = max(columns.values()) + 1
    if len(cells) != width:
        return Problem(line, f"{len(cells)} fields where the header has {width}")
    value = {field: cells[position].strip() for field, position in columns.items()}
    name = " ".join(f"{value['first']} {value['last']}".split())
    if not name:
        return Problem(line, "no first or last name")
    record = {"name": name, "how_met": HOW_MET}
    for field in ("email", "company", "role"):
        if value.get(field):
            record[field] = value[field]
    if value.get("linkedin"):
        url = profile_url(value["linkedin"])
        if url is None:
            return Problem(line, f"the URL {value['linkedin']!r} is not a web address")
        record["linkedin"] = url
    if value["connected_on"]:
        day = connected_on(value["connected_on"])
        if day is None:
            return Problem(
                line, f"can't read {value['connected_on']!r} as a date (like 15 Jan 2024)"
            )
        record["connected_on"] = day
    emails = [record["email"]] if "email" in record else []
    return Row(line, record, emails)


def connected_on(text: str) -> str | None:
    """Return LinkedIn's ``15 Jan 2024`` (or ISO ``2024-01-15``) as ISO, else None.

    Month names are English whatever the locale, as LinkedIn writes them.
    """
    from datetime import date

    words = text.replace("-", " ").split()
    try:
        if len(words) == 3 and words[0].isdigit() and not words[1].isdigit():
            month = _MONTHS.get(words[1][:3].casefold())
            if month is None:
                return None
            return date(int(words[2]), month, int(words[0])).isoformat()
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        return None
