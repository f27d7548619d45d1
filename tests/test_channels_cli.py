"""``channels list|add|remove|test``, ``daemon --once``'s exit status and ``doctor``'s
warning, through the real command line, against real ``json://`` endpoints on 127.0.0.1:
a server answering 200 or 500, a port nobody listens on, a socket that never answers.
"""

from __future__ import annotations

import socket
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import run_coffeechat


class Endpoint:
    """An HTTP server on 127.0.0.1 answering every POST with ``status``."""

    def __init__(self, status: int) -> None:
        self.posts = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                endpoint.posts += 1
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"answer")

            def log_message(self, *arguments: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, secret: str = "") -> str:
        return f"json://{secret + '@' if secret else ''}127.0.0.1:{self.port}/"


@pytest.fixture
def ok_endpoint() -> Iterator[Endpoint]:
    endpoint = Endpoint(200)
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


@pytest.fixture
def failing_endpoint() -> Iterator[Endpoint]:
    endpoint = Endpoint(500)
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


def unused_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return int(port)


def channels(home: Path, *arguments: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run_coffeechat(home, "channels", *arguments, now=None, env=env)


def owe_thanks(home: Path) -> None:
    """Record a meeting three hours ago, so a thank-you is due now."""
    for arguments in (
        ("add", "Ada Lovelace", "--at", "-2d"),
        ("met", "ada-lovelace", "--at", "-3h"),
    ):
        result = run_coffeechat(home, *arguments, now=None)
        assert result.status == 0, result.stderr


# --- add ------------------------------------------------------------------------------------


def test_channels_add_with_an_unknown_scheme_is_refused(home: Path):
    result = channels(home, "add", "notascheme://x")
    assert result.status == 2
    assert "no Apprise service or plugin has the scheme notascheme://" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (home / "config.toml").exists()


def test_channels_add_with_a_plugin_scheme_is_accepted(home: Path):
    result = channels(home, "add", "desktop://")
    assert result.status == 0, result.stderr
    assert tomllib.loads((home / "config.toml").read_text())["channels"] == [{"url": "desktop://"}]


def test_channels_add_the_same_url_twice_is_refused(home: Path, ok_endpoint: Endpoint):
    assert channels(home, "add", ok_endpoint.url("user:s3cr3t")).status == 0
    again = channels(home, "add", ok_endpoint.url("user:s3cr3t").rstrip("/"))
    assert again.status == 2
    assert "json://… is already channel 1" in again.stderr
    assert "s3cr3t" not in again.stderr
    assert len(tomllib.loads((home / "config.toml").read_text())["channels"]) == 1


def test_channels_add_with_an_emoji_and_quotes_in_tags_writes_valid_toml(
    home: Path, ok_endpoint: Endpoint
):
    added = channels(home, "add", ok_endpoint.url(), "--tag", "📱", "--tag", 'say "hi"')
    assert added.status == 0, added.stderr
    config = home / "config.toml"
    assert tomllib.loads(config.read_text())["channels"][0]["tags"] == ["📱", 'say "hi"']
    assert config.stat().st_mode & 0o777 == 0o600
    tested = channels(home, "test", "--tag", "📱")
    assert tested.status == 0, tested.stdout + tested.stderr
    assert tested.stdout.startswith("ok   json://… (channel 1)")
    assert ok_endpoint.posts == 1


# --- list and remove ------------------------------------------------------------------------

CONFIG = """\
# My coffeechat settings — keep this comment.
timezone = "Europe/Paris"

[[channels]]
url = "ntfy://my-s3cret-topic"  # the phone
tags = ["phone"]

# Routing: urgent things to the phone.
[routing]
high = ["phone"]  # a trailing comment

[[channels]]
url = "json://user:t0ken@127.0.0.1:9/"
"""


def test_channels_list_shows_each_channel_numbered_with_its_tags_and_no_secret(home: Path):
    home.mkdir()
    (home / "config.toml").write_text(CONFIG)
    (home / "config.toml").chmod(0o600)
    listed = channels(home, "list")
    assert listed.status == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "ntfy://… (channel 1)  tags: phone",
        "json://… (channel 2)",
    ]
    assert "s3cret" not in listed.stdout and "t0ken" not in listed.stdout


def test_channels_list_without_a_channel_says_where_reminders_go(home: Path):
    listed = channels(home, "list")
    assert listed.status == 0
    assert listed.stdout.startswith("no channel: reminders go to the daemon's log")


def test_channels_add_and_remove_keep_the_rest_of_config_toml_byte_for_byte(
    home: Path, ok_endpoint: Endpoint
):
    home.mkdir()
    config = home / "config.toml"
    config.write_text(CONFIG)
    config.chmod(0o644)  # no secret check on add/remove: the result is 0600 anyway
    assert channels(home, "add", ok_endpoint.url(), "--tag", "desk").status == 0
    text = config.read_text()
    # Everything that is not a channels table is kept as it was, in its order.
    kept = (
        "# My coffeechat settings — keep this comment.\n"
        'timezone = "Europe/Paris"\n\n'
        "\n"  # the blank line that followed the first channels table
        "# Routing: urgent things to the phone.\n"
        "[routing]\n"
        'high = ["phone"]  # a trailing comment\n\n'
    )
    assert text.startswith(kept)
    parsed = tomllib.loads(text)
    assert [c["url"] for c in parsed["channels"]] == [
        "ntfy://my-s3cret-topic",
        "json://user:t0ken@127.0.0.1:9/",
        ok_endpoint.url(),
    ]
    assert parsed["routing"] == {"high": ["phone"]} and parsed["timezone"] == "Europe/Paris"
    assert config.stat().st_mode & 0o777 == 0o600

    by_number = channels(home, "remove", "1")
    assert by_number.status == 0, by_number.stderr
    assert by_number.stdout.startswith("removed ntfy://… (channel 1)")
    assert "s3cret" not in by_number.stdout
    by_url = channels(home, "remove", "json://user:t0ken@127.0.0.1:9/")
    assert by_url.status == 0, by_url.stderr
    text = config.read_text()
    assert text.startswith(kept)
    assert tomllib.loads(text)["channels"] == [{"url": ok_endpoint.url(), "tags": ["desk"]}]
    assert channels(home, "list").stdout.splitlines() == ["json://… (channel 1)  tags: desk"]


def test_channels_remove_of_a_channel_that_does_not_exist_exits_2(home: Path):
    home.mkdir()
    (home / "config.toml").write_text(CONFIG)
    before = (home / "config.toml").read_bytes()
    for which, says in (
        ("3", "there is no channel 3: config.toml has channels 1 to 2"),
        ("ntfy://other-s3cret", "no channel has the URL ntfy://…"),
    ):
        result = channels(home, "remove", which)
        assert result.status == 2
        assert says in result.stderr and "s3cret" not in result.stderr
    assert (home / "config.toml").read_bytes() == before


# --- test: the cause of a failure -----------------------------------------------------------


def test_channels_test_says_why_each_channel_failed(home: Path, failing_endpoint: Endpoint):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts, never answers
    try:
        for url in (
            failing_endpoint.url(),
            f"json://127.0.0.1:{unused_port()}/",
            f"json://127.0.0.1:{silent.getsockname()[1]}/?rto=1",
        ):
            assert channels(home, "add", url).status == 0
        tested = channels(home, "test")
    finally:
        silent.close()
    assert tested.status == 1
    assert tested.stdout.splitlines() == [
        "FAIL json://… (channel 1): HTTP 500 (Internal server error)",
        "FAIL json://… (channel 2): connection refused",
        "FAIL json://… (channel 3): timeout: no answer within 1.0 s (it may have arrived)",
    ]


def test_channels_test_fails_a_channel_that_cannot_be_set_up(home: Path):
    home.mkdir()
    (home / "config.toml").write_text('[[channels]]\nurl = "notascheme://x"\n')
    (home / "config.toml").chmod(0o600)
    tested = channels(home, "test")
    assert tested.status == 1
    assert tested.stdout.startswith(
        "FAIL notascheme://… (channel 1): cannot be set up: "
        "no Apprise service or plugin has the scheme notascheme://"
    )


# --- daemon --once and doctor ---------------------------------------------------------------


def without_the_weekly_digest(home: Path) -> None:
    """Move the digest (Tuesday 08:00) to 29 February: on a Tuesday morning it would be one
    more due reminder for the tests below, which run on the real clock."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    config.write_text('[playbook]\ndigest = "0 8 29 2 *"\n')
    config.chmod(0o600)


def test_daemon_once_with_a_due_reminder_that_reached_no_channel_exits_1(home: Path):
    without_the_weekly_digest(home)
    assert channels(home, "add", f"json://127.0.0.1:{unused_port()}/").status == 0
    owe_thanks(home)
    result = run_coffeechat(home, "daemon", "--once", now=None)
    assert result.status == 1
    assert "connection refused" in result.stderr
    assert "1 due reminders reached no channel" in result.stderr


def test_daemon_once_with_a_due_reminder_that_reached_one_channel_exits_0(
    home: Path, ok_endpoint: Endpoint
):
    without_the_weekly_digest(home)
    assert channels(home, "add", f"json://127.0.0.1:{unused_port()}/").status == 0
    assert channels(home, "add", ok_endpoint.url()).status == 0
    owe_thanks(home)
    result = run_coffeechat(home, "daemon", "--once", now=None)
    assert result.status == 0, result.stderr
    assert ok_endpoint.posts == 1


def test_daemon_once_without_a_channel_counts_the_log_and_exits_0(home: Path):
    owe_thanks(home)
    result = run_coffeechat(
        home, "daemon", "--once", now=None, env={"DBUS_SESSION_BUS_ADDRESS": ""}
    )
    assert result.status == 0, result.stderr
    assert "reminder " in result.stderr  # the log line that delivered it


def test_doctor_without_a_channel_or_a_session_bus_warns_nothing_reaches_you(home: Path):
    env = {"DBUS_SESSION_BUS_ADDRESS": "", "XDG_RUNTIME_DIR": str(home / "no-runtime")}
    doctor = run_coffeechat(home, "doctor", now=None, env=env)
    assert "WARN channels: nothing reaches you: only the daemon's log" in doctor.stdout


def test_doctor_with_a_channel_does_not_warn(home: Path, ok_endpoint: Endpoint):
    assert channels(home, "add", ok_endpoint.url()).status == 0
    env = {"DBUS_SESSION_BUS_ADDRESS": "", "XDG_RUNTIME_DIR": str(home / "no-runtime")}
    doctor = run_coffeechat(home, "doctor", now=None, env=env)
    assert "ok   channels: json://… (channel 1)" in doctor.stdout
