"""The README's tour is what the program prints.

Every ``$ coffeechat …`` line of the console blocks in README.md's "A five-minute tour"
runs, in order, in one temporary home, with the clock fixed (``COFFEECHAT_NOW``), the
zone fixed (``TZ``) and the terminal 80 columns wide (``COLUMNS``), through the real
``coffeechat`` command. What it prints (standard output, then standard error) must be
the lines under it in the README, byte for byte, up to the next ``$`` line.

One thing differs from run to run: the ids, made anew each time. The pattern :data:`ID`
says where one stands (8 characters in brackets, an event: ``[4DZ2QK1M]``; 7 in brackets,
ending an agenda row or starting ``why``'s first line, a reminder: ``x17bhgs``); any id of
that shape matches there,
and the same README id must stand for the same real id everywhere (so ``done x17bhgs``
runs with the id the agenda above it printed).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from conftest import DEFAULT_NOW, run_coffeechat

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## A five-minute tour"
NOW = DEFAULT_NOW  # 2026-11-26T14:30:00+01:00: the Thursday afternoon of the tour
ENVIRONMENT = {"COLUMNS": "80"}

# Where an id stands: an event's short id in brackets; a reminder's id in brackets, at
# the end of a line (the agenda's ID column) or starting one before a colon (``why``).
ID = re.compile(
    r"(?<=\[)[0-9A-Z]{8}(?=\])|(?<=\[)[0-9a-z]{7}(?=\])|(?<=  )[0-9a-z]{7}$|^[0-9a-z]{7}(?=:)",
    re.MULTILINE,
)


def tour(text: str) -> list[tuple[str, list[str]]]:
    """Return the tour's commands (continuation lines joined), each with the lines the
    README shows under it."""
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```console\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)
    steps: list[tuple[str, list[str]]] = []
    for block in blocks:
        lines = block.splitlines()
        index = 0
        while index < len(lines):
            line = lines[index]
            index += 1
            if not line.startswith("$ "):
                assert steps, f"a console block starts with output: {line!r}"
                steps[-1][1].append(line)
                continue
            command = line[2:]
            while command.endswith("\\"):
                command = command[:-1] + lines[index].strip()
                index += 1
            steps.append((command, []))
    return [(command, _trimmed(shown)) for command, shown in steps]


def _trimmed(lines: list[str]) -> list[str]:
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def matches(shown: str, printed: str, ids: dict[str, str]) -> bool:
    """Whether ``printed`` is ``shown`` but for the ids; record each id's real value."""
    parts, found = [], []
    last = 0
    for match in ID.finditer(shown):
        parts.append(re.escape(shown[last : match.start()]))
        parts.append(f"([0-9A-Za-z]{{{len(match.group())}}})")
        found.append(match.group())
        last = match.end()
    parts.append(re.escape(shown[last:]))
    real = re.fullmatch("".join(parts), printed, flags=re.MULTILINE)
    if real is None:
        return False
    for readme_id, real_id in zip(found, real.groups(), strict=True):
        assert ids.setdefault(readme_id, real_id) == real_id, (readme_id, real_id)
    return True


def test_readme_tour_prints_what_the_readme_shows(tmp_path: Path) -> None:
    steps = tour(README.read_text(encoding="utf-8"))
    assert len(steps) >= 15, "the tour lost its commands"
    home = tmp_path / "home"
    ids: dict[str, str] = {}
    for command, shown in steps:
        words = shlex.split(command, comments=True)
        assert words[0] == "coffeechat", command
        arguments = [ids.get(word, word) for word in words[1:]]
        result = run_coffeechat(home, *arguments, now=NOW, env=ENVIRONMENT)
        assert result.status == 0, (command, result.stderr)
        printed = (result.stdout + result.stderr).rstrip("\n")
        expected = "\n".join(shown)
        assert matches(expected, printed, ids), (
            f"\n$ {command}\n--- README.md shows:\n{expected}\n--- coffeechat printed:\n{printed}"
        )
    # The ids stand for distinct real ids: one README id is never two real ones (above),
    # nor two README ids one real id.
    assert len(set(ids.values())) == len(ids)


def test_readme_tour_check_fails_on_a_changed_line(tmp_path: Path) -> None:
    # The comparison is byte for byte outside the ids: a changed word is caught.
    ids: dict[str, str] = {}
    assert matches("added Ada (ada)  [4DZ2QK1M]", "added Ada (ada)  [7TW0A9RC]", ids)
    assert ids == {"4DZ2QK1M": "7TW0A9RC"}
    assert not matches("added Ada (ada)  [4DZ2QK1M]", "added Ada  (ada)  [7TW0A9RC]", {})
    assert not matches("next 7 days:\n  x  gesqha9", "next 7 days:\n  y  gesqha9", {})
