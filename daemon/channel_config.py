"""Editing the ``[[channels]]`` of config.toml (``channels add`` and ``channels remove``).

Only the channels tables are rewritten: everything else in the file (other tables, their
comments, blank lines) is kept byte for byte, in its order, and the channels follow it,
written by tomli-w (a TOML writer: any text, emoji or quotes, comes out valid TOML).
Comments *inside* a ``[[channels]]`` table are not kept; comments and blank lines after
its last key stay with what follows. The new file is checked by parsing it again before
it replaces the old one (a temporary file, fsynced, renamed over it, mode 0600: it holds
secrets). A file this cannot edit safely (channels written as an inline array, a
multi-line string that looks like a table header) is refused with what to do instead.
"""

import os
import re
import tomllib
from typing import Any

from coffeechat.daemon.files import write_private
from coffeechat.events.errors import UserError

# A table header line: ``[name]`` or ``[[name]]``, with an optional comment.
_HEADER = re.compile(r"^\s*\[")
_CHANNELS_HEADER = re.compile(r"^\s*\[\[\s*channels\s*\]\]\s*(#.*)?$")
_KEEP_WITH_NEXT = re.compile(r"^\s*(#.*)?$")  # blank lines and comments


def read_config(path: str) -> tuple[str, dict[str, Any]]:
    """Return config.toml's text and its parsed content ('' and {} when it is missing).

    Raise UserError when it is not valid TOML.
    """
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except FileNotFoundError:
        return "", {}
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: not valid TOML: {error}") from None


def channel_entries(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the ``[[channels]]`` tables of a parsed config, in order."""
    entries = document.get("channels", [])
    return [entry for entry in entries if isinstance(entry, dict)]


def entry_url(entry: dict[str, Any]) -> str:
    """Return a channel table's URL (``config://PATH`` for an Apprise file)."""
    if entry.get("url") is not None:
        return str(entry["url"])
    return f"config://{entry.get('config')}"


def without_channels(text: str) -> str:
    """Return config.toml's text with its ``[[channels]]`` tables taken out (each from
    its header to its last key; the comments and blank lines after it are kept)."""
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    index = 0
    while index < len(lines):
        if not _CHANNELS_HEADER.match(lines[index]):
            kept.append(lines[index])
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not _HEADER.match(lines[end]):
            end += 1
        # What ends the table's span and is not a key (comments, blank lines) belongs to
        # what follows it.
        last = end
        while last > index + 1 and _KEEP_WITH_NEXT.match(lines[last - 1]):
            last -= 1
        kept.extend(lines[last:end])
        index = end
    return "".join(kept)


def write_channels(path: str, text: str, channels: list[dict[str, Any]]) -> None:
    """Replace config.toml's channels with ``channels``, keeping the rest of ``text``
    (its current content) byte for byte; atomic, fsynced, mode 0600.

    Raise UserError when the file cannot be edited safely (the reason and the fix).
    """
    import tomli_w

    rest = without_channels(text)
    try:
        original = tomllib.loads(text) if text else {}
        remaining = tomllib.loads(rest)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: not valid TOML: {error}") from None
    if "channels" in remaining:
        raise UserError(
            f"{path}: its channels are not written as [[channels]] tables; edit them there by hand"
        )
    # One ``[[channels]]`` table each (tomli-w alone would write short ones inline).
    written = "\n".join(f"[[channels]]\n{tomli_w.dumps(entry)}" for entry in channels)
    if rest and written and not rest.endswith("\n"):
        rest += "\n"
    new_text = rest + ("\n" if rest.strip() and written else "") + written
    expected = {key: value for key, value in original.items() if key != "channels"}
    if channels:
        expected["channels"] = channels
    if tomllib.loads(new_text) != expected:
        raise UserError(
            f"{path}: cannot edit its channels without changing something else; "
            "edit the [[channels]] tables there by hand"
        )
    _replace(path, new_text)


def _replace(path: str, text: str) -> None:
    if not write_private(path, text.encode("utf-8")):
        os.chmod(path, 0o600)  # it holds secrets, whatever it was before
