"""Security: text that could act on a terminal, secrets others can read, code we did not write.

* Control characters in a name or a note (typed here, or arriving in another device's
  segment) are shown escaped by every renderer and in every notification; the log keeps
  what was given, and ``--json`` stays exact.
* The config permission check reads the parsed config: an escaped key counts, a comment
  does not, and an Apprise file named by ``config = "…"`` is checked too.
* A plugin file runs from its source: a ``.pyc`` planted in ``__pycache__`` never runs,
  and a symbolic link in the plugin folder is never followed.

Everything runs for real: the ``coffeechat`` command in subprocesses, an HTTP endpoint on
127.0.0.1 for Apprise's ``json://``, dunst on a headless display for the desktop.
"""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import Runner, run_coffeechat
from desktop_session import (
    DesktopSession,
    desktop_session_fixture,  # noqa: F401  (the desktop_session fixture)
)
from hypothesis import given
from hypothesis import strategies as st

from coffeechat.daemon.delivery import title_of
from coffeechat.events.text import one_line, printable
from coffeechat.plugins.channels.apprise_urls import AppriseChannel
from coffeechat.plugins.channels.desktop import DesktopChannel
from coffeechat.plugins.reminders import Reminder, make_reminder

# What must never reach a terminal raw: C0 but tab and newline, DEL, C1, bidi controls.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
HOSTILE = "Eve\x1b]0;pwned\x07\u202eevil\x9b2J"
SHOWN = "Eve\\x1b]0;pwned\\x07\\u202eevil\\x9b2J"


# --- escaping, the function every renderer uses ------------------------------------------------


@pytest.mark.parametrize(
    ("character", "shown"),
    [
        ("\x00", "\\x00"),
        ("\x07", "\\x07"),
        ("\x1b", "\\x1b"),
        ("\r", "\\x0d"),
        ("\x7f", "\\x7f"),
        ("\x85", "\\x85"),
        ("\x9b", "\\x9b"),
        *[(chr(code), f"\\u{code:04x}") for code in range(0x202A, 0x202F)],
        *[(chr(code), f"\\u{code:04x}") for code in range(0x2066, 0x206A)],
        ("\udcff", "\\udcff"),  # an argument that was not UTF-8
    ],
)
def test_printable_with_a_control_character_shows_its_escape(character: str, shown: str) -> None:
    assert printable(f"a{character}b") == f"a{shown}b"
    assert printable(f"a{character}b", lines=False) == f"a{shown}b"


def test_printable_keeps_tab_and_newline_in_text_and_escapes_them_in_a_line() -> None:
    assert printable("one\ttwo\nthree") == "one\ttwo\nthree"
    assert printable("one\ttwo\nthree", lines=False) == "one\\x09two\\x0athree"


def test_printable_with_ordinary_text_returns_it_unchanged() -> None:
    text = "Søren Kierkegaard — 東京, \\x1b as typed, emoji ☕"
    assert printable(text) is text


_ESCAPED_IN_TEXT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_ESCAPED_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escaped(pattern: re.Pattern[str], text: str) -> str:
    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return pattern.sub(escape, text)


@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=40))
def test_printable_escapes_exactly_what_the_patterns_name(text: str) -> None:
    # The fast path (str.isprintable) must never skip a character the patterns escape:
    # every category is drawn here (controls, formats, separators, surrogates, emoji …).
    assert printable(text) == _escaped(_ESCAPED_IN_TEXT, text)
    assert printable(text, lines=False) == _escaped(_ESCAPED_IN_LINE, text)


def test_one_line_with_a_long_text_keeps_its_start_and_end_and_says_what_it_cut() -> None:
    text = "start " + "x\n" * 1_000_000 + " end"
    line = one_line(text, 300)
    assert line.startswith("start x\\x0ax") and line.endswith("\\x0a end")
    assert f"…[{len(text) - 300} characters]…" in line
    assert "\n" not in line and len(line) < 1000


# --- every renderer of the command line -------------------------------------------------------


def test_cli_with_a_hostile_name_shows_it_escaped_in_every_renderer_and_stores_it_as_given(
    cli: Runner,
) -> None:
    added = cli("add", HOSTILE, "--learn", "one line\nand \x1b[2J another")
    assert added.status == 0, added.stderr
    assert cli("plan", "eve").status == 0
    outputs = {
        "add": added,
        "ls": cli("ls"),
        "show": cli("show", "eve"),
        "log": cli("log"),
        "agenda": cli("agenda"),
        "unknown contact": cli("note", HOSTILE + "x", "hi"),
    }
    for command, result in outputs.items():
        assert RAW.search(result.stdout + result.stderr) is None, (command, result)
        assert SHOWN in result.stdout + result.stderr, (command, result)
    # a note may hold several lines: they stay lines, escaped within
    assert "learn: one line\nand \\x1b[2J another" in outputs["show"].stdout
    # stored as given, and exact in JSON
    assert cli("ls", "--json").json()[0]["name"] == HOSTILE
    assert cli("log", "--json").json()[0]["name"] == HOSTILE


def test_cli_with_bad_argument_echoes_it_escaped_on_one_line(cli: Runner) -> None:
    result = cli("ls", "x\ny\x1b[31m\u202e")
    assert result.status == 2
    assert result.stderr.count("\n") == 1 and RAW.search(result.stderr) is None
    assert "x\\x0ay\\x1b[31m\\u202e" in result.stderr


# --- desktop and push notifications ------------------------------------------------------------


class Endpoint:
    """An HTTP server on 127.0.0.1 keeping what Apprise's ``json://`` posts to it."""

    def __init__(self) -> None:
        self.posts: list[dict[str, str]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                endpoint.posts.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *arguments: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.close()


def a_reminder(message: str) -> Reminder:
    return make_reminder(
        "thank-you", "eve", datetime(2026, 11, 26, 16, tzinfo=UTC), message, because=[]
    )


def test_title_of_with_a_hostile_name_escapes_it() -> None:
    title = title_of(a_reminder("hi"), HOSTILE + "\nsecond line")
    assert title == f"Thank-you owed · {SHOWN}\\x0asecond line"


def test_apprise_channel_with_hostile_texts_posts_them_escaped(endpoint: Endpoint) -> None:
    channel = AppriseChannel(f"json://127.0.0.1:{endpoint.port}/")
    body = f"Send your thank-you to {HOSTILE}\nsecond line"
    assert channel.send(f"Thank-you owed · {HOSTILE}", body, a_reminder(body))
    [post] = endpoint.posts
    assert post["title"] == f"Thank-you owed · {SHOWN}"
    assert post["message"] == f"Send your thank-you to {SHOWN}\nsecond line"


def test_daemon_once_with_a_hostile_contact_sends_escaped_texts(
    tmp_path: Path, endpoint: Endpoint
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config = home / "config.toml"
    # The digest moved to 29 February: on a Tuesday morning it would be posted too.
    config.write_text(
        '[playbook]\ndigest = "0 8 29 2 *"\n\n'
        f'[[channels]]\nurl = "json://127.0.0.1:{endpoint.port}/"\n'
    )
    config.chmod(0o600)
    for arguments in (("add", HOSTILE, "--at", "-2d"), ("met", "eve", "--at", "-3h")):
        assert run_coffeechat(home, *arguments, now=None).status == 0
    result = run_coffeechat(home, "daemon", "--once", now=None)
    assert result.status == 0, result.stderr
    assert [post["title"] for post in endpoint.posts] == [f"Thank-you owed · {SHOWN}"]
    assert SHOWN in endpoint.posts[0]["message"]
    assert RAW.search(endpoint.posts[0]["message"]) is None


def test_desktop_channel_with_hostile_texts_shows_them_escaped(
    desktop_session: DesktopSession,
) -> None:
    desktop_session.close_all()
    channel = DesktopChannel("desktop://", environ=dict(desktop_session))
    try:
        assert channel.send(f"Thank-you owed · {HOSTILE}", f"to {HOSTILE}", a_reminder("x"))
        [notification_id] = channel.sent
    finally:
        channel.close()
    desktop_session.close_all()
    shown = desktop_session.in_history(notification_id)
    assert shown is not None, desktop_session.history()
    assert (shown["summary"], shown["body"]) == (f"Thank-you owed · {SHOWN}", f"to {SHOWN}")


# --- the config permission check ---------------------------------------------------------------


def write_config(home: Path, text: str, mode: int) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_config_others_can_read_with_an_escaped_channels_key_is_refused(
    cli: Runner, home: Path
) -> None:
    path = write_config(home, '[["chan\\u006eels"]]\nurl = "json://127.0.0.1:9/"\n', 0o644)
    assert b"channels" not in path.read_bytes()  # only the parsed config says so
    for command in (("channels", "test"), ("daemon", "--once")):
        result = cli(*command)
        assert result.status == 2, (command, result)
        assert f"chmod 600 {path}" in result.stderr


def test_config_others_can_read_with_channels_only_in_a_comment_is_accepted(
    cli: Runner, home: Path
) -> None:
    write_config(home, "# channels: none yet\n[quiet_hours]\nenabled = false\n", 0o644)
    result = cli("channels", "test")
    assert result.status == 0, result.stderr
    assert "ok   log" in result.stdout


def test_config_naming_an_apprise_file_others_can_read_is_refused_until_it_is_private(
    cli: Runner, home: Path, tmp_path: Path, endpoint: Endpoint
) -> None:
    apprise_file = tmp_path / "apprise.yml"
    apprise_file.write_text(f"urls:\n  - json://127.0.0.1:{endpoint.port}/\n")
    apprise_file.chmod(0o644)
    write_config(home, f'[[channels]]\nconfig = "{apprise_file}"\n', 0o600)
    refused = cli("channels", "test")
    assert refused.status == 2
    assert f"chmod 600 {apprise_file}" in refused.stderr
    assert endpoint.posts == []
    doctor = cli("doctor")
    assert f"FAIL config: {apprise_file}" in doctor.stdout
    apprise_file.chmod(0o600)
    accepted = cli("channels", "test")
    assert accepted.status == 0, accepted.stderr
    assert len(endpoint.posts) == 1


# --- plugin files: source only, no links ------------------------------------------------------


def plugin_writing(marker: Path, word: str) -> str:
    """Return a plugin's source that appends ``word`` to ``marker`` when it runs."""
    return f"with open({str(marker)!r}, 'a') as f:\n    f.write({word!r} + '\\n')\n"


def test_plugin_with_a_planted_pyc_in_pycache_runs_its_source_only(
    cli: Runner, home: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    folder = home / "plugins"
    folder.mkdir(parents=True, mode=0o700)
    plugin = folder / "greeter.py"
    plugin.write_text(plugin_writing(marker, "source"))
    plugin.chmod(0o600)
    # Bytecode of other code, with a header that matches the plugin's size and mtime:
    # exactly what the import system accepts in place of the source.
    other = tmp_path / "other" / "greeter.py"
    other.parent.mkdir()
    other.write_text(plugin_writing(marker, "PYC!!!"))
    assert other.stat().st_size == plugin.stat().st_size
    mtime = plugin.stat().st_mtime
    os.utime(other, (mtime, mtime))
    planted = Path(importlib.util.cache_from_source(str(plugin)))
    py_compile.compile(
        str(other),
        cfile=str(planted),
        doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP,
    )
    assert planted.exists()

    result = cli("plugins")

    assert result.status == 0, result.stderr
    assert marker.read_text() == "source\n"
    assert {p.name for p in planted.parent.iterdir()} == {planted.name}  # nothing written


def test_plugin_folder_with_a_symlink_names_it_and_never_follows_it(
    cli: Runner, home: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    elsewhere = tmp_path / "elsewhere.py"
    elsewhere.write_text(plugin_writing(marker, "followed"))
    elsewhere.chmod(0o600)
    folder = home / "plugins"
    folder.mkdir(parents=True, mode=0o700)
    (folder / "linked.py").symlink_to(elsewhere)

    result = cli("plugins")

    assert result.status == 1
    assert f"{folder / 'linked.py'}" in result.stderr and "symbolic link" in result.stderr
    assert not marker.exists()


def test_plugin_folder_with_a_fifo_named_like_a_plugin_refuses_it_without_blocking(
    cli: Runner, home: Path
) -> None:
    folder = home / "plugins"
    folder.mkdir(parents=True, mode=0o700)
    os.mkfifo(folder / "pipe.py", 0o600)
    result = cli("plugins", timeout=30)
    assert result.status == 1
    assert "not a regular file" in result.stderr
