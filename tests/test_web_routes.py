"""``coffeechat serve`` route by route, over real HTTP on 127.0.0.1: the token and its
cookie, 401/403, the Host check, CSRF, each page's status, and what the buttons append.

Every test runs the real command (``coffeechat serve --no-open --port 0``) in a subprocess,
with the clock fixed as in every CLI test, on a home recorded by the command line.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from browser import Served, sample_home, serving
from conftest import Runner, log_bytes, run_coffeechat

PAGES = (
    "/",
    "/?q=nasa",
    "/today",
    "/insights",
    "/contacts/ada-lovelace",
    "/contacts/ada-lovelace/draft",
    "/static/app.css",
    "/static/app.js",
    "/static/icon.svg",
)


@pytest.fixture(scope="module")
def reading(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server on a sample home, for the tests that only read."""
    home = sample_home(tmp_path_factory.mktemp("reading") / "home")
    with serving(home) as served:
        yield served


@pytest.fixture
def served(home: Path) -> Iterator[Served]:
    """A server of its own on a sample home (for the tests that append)."""
    sample_home(home)
    with serving(home) as running:
        yield running


def cookie_of(served: Served) -> str:
    """Exchange the printed token for the session cookie; return the Cookie header."""
    status, headers, _ = served.request("GET", f"/?token={served.token}")
    assert status == 303, status
    return headers["set-cookie"].split(";")[0]


def csrf_of(served: Served, cookie: str, path: str = "/today") -> str:
    """Return the CSRF token the page's forms carry."""
    _, _, page = served.request("GET", path, headers={"Cookie": cookie})
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page[:500]
    return found.group(1)


def reminder_ids(page: str, kind: str) -> list[str]:
    """Return the ids of the reminders of ``kind`` a page lists."""
    return re.findall(rf'data-reminder="([0-9a-z]+)" data-kind="{kind}"', page)


def post(
    served: Served, path: str, fields: dict[str, str], **headers: str
) -> tuple[int, dict[str, str], str]:
    """POST a form the way a browser does (urlencoded)."""
    return served.request("POST", path, body=urlencode(fields), headers=headers)


# --- the URL, the token, the cookie ------------------------------------------------------------


def test_serve_prints_the_url_with_its_token_first_and_listens_on_127_0_0_1_only(
    reading: Served,
) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]{43}", reading.url)
    # Bound to 127.0.0.1 alone: another loopback address of this machine is refused
    # (a server on 0.0.0.0 would answer there, and on every network the machine is on).
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.2", reading.port), timeout=5).close()
    socket.create_connection(("127.0.0.1", reading.port), timeout=5).close()


def test_without_the_token_or_its_cookie_every_route_is_401(reading: Served) -> None:
    for path in (*PAGES, "/events", "/nowhere"):
        status, _, body = reading.request("GET", path)
        assert status == 401, (path, status)
        assert "open the URL that 'coffeechat serve' printed" in body
    status, _, _ = post(reading, "/reminders/abcdefg/done", {"csrf": "x"})
    assert status == 401


def test_a_wrong_token_or_cookie_is_403(reading: Served) -> None:
    status, headers, _ = reading.request("GET", "/?token=" + "A" * 43)
    assert status == 403 and "set-cookie" not in headers
    name = f"coffeechat-{reading.port}"
    status, _, _ = reading.request("GET", "/", headers={"Cookie": f"{name}=guessed"})
    assert status == 403


def test_the_token_is_exchanged_for_an_httponly_samesite_strict_cookie(reading: Served) -> None:
    status, headers, _ = reading.request("GET", f"/today?token={reading.token}&q=x")
    assert status == 303
    assert headers["location"] == "/today?q=x"  # the token leaves the address bar
    cookie = headers["set-cookie"]
    assert cookie.startswith(f"coffeechat-{reading.port}=")
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= {p.strip() for p in cookie.split(";")}
    assert reading.token not in cookie  # the cookie is not the printed token
    status, _, _ = reading.request("GET", "/today", headers={"Cookie": cookie.split(";")[0]})
    assert status == 200


def test_a_refused_post_ends_its_connection_so_its_body_is_never_a_request(
    reading: Served,
) -> None:
    hidden = f"GET /static/app.css HTTP/1.1\r\nHost: 127.0.0.1:{reading.port}\r\n\r\n"
    with socket.create_connection((reading.host, reading.port), timeout=5) as connection:
        connection.sendall(
            (
                f"POST /reminders/abcdefg/done HTTP/1.1\r\nHost: 127.0.0.1:{reading.port}\r\n"
                f"Content-Length: {len(hidden)}\r\n\r\n{hidden}"
            ).encode()
        )
        answer = b""
        while chunk := connection.recv(65536):  # the server closes: no timeout here
            answer += chunk
    assert answer.count(b"HTTP/1.1 ") == 1 and answer.startswith(b"HTTP/1.1 401")


def test_the_host_header_must_name_this_server_as_its_url_does(reading: Served) -> None:
    cookie = cookie_of(reading)
    for host in (f"127.0.0.1:{reading.port}", f"localhost:{reading.port}"):
        status, _, _ = reading.request("GET", "/", headers={"Host": host, "Cookie": cookie})
        assert status == 200, host
    # A name of an attacker's that resolves here (DNS rebinding): refused, even holding
    # the token or the cookie.
    for headers in (
        {"Host": f"rebind.example:{reading.port}", "Cookie": cookie},
        {"Host": f"127.0.0.1.rebind.example:{reading.port}", "Cookie": cookie},
    ):
        status, _, body = reading.request("GET", "/", headers=headers)
        assert status == 403 and "answers only to its own URL" in body, headers
    status, _, _ = reading.request(
        "GET", f"/?token={reading.token}", headers={"Host": "rebind.example"}
    )
    assert status == 403


# --- the pages ----------------------------------------------------------------------------------


def test_every_page_answers_200_with_the_cookie_and_fetches_nothing_from_elsewhere(
    reading: Served,
) -> None:
    cookie = cookie_of(reading)
    for path in PAGES:
        status, headers, body = reading.request("GET", path, headers={"Cookie": cookie})
        assert status == 200, (path, status, body[:300])
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"
        if headers["content-type"].startswith("text/html"):
            assert '<script src="/static/app.js" defer></script>' in body
            # every script and style sheet comes from this server; pygal's own script is gone
            assert re.findall(r"<script[^>]*>", body) == ['<script src="/static/app.js" defer>']
            assert not re.search(r'(src|href)="(https?:)?//', body.replace('href="mailto:', ""))
    _, _, board = reading.request("GET", "/", headers={"Cookie": cookie})
    for name in ("Ada Lovelace", "Grace Hopper", "Frances Allen", "Hedy Lamarr"):
        assert name in board
    assert "Charles Babbage" not in board  # archived: hidden
    _, _, filtered = reading.request("GET", "/?q=nasa", headers={"Cookie": cookie})
    assert "Katherine Johnson" in filtered and "Margaret Hamilton" in filtered
    assert "Ada Lovelace" not in filtered
    _, _, insights = reading.request("GET", "/insights", headers={"Cookie": cookie})
    assert insights.count("<svg") == 4 and "Reply rate by weekday" in insights


def test_the_contact_page_shows_the_reminders_with_why_and_the_next_step(reading: Served) -> None:
    cookie = cookie_of(reading)
    status, _, page = reading.request("GET", "/contacts/ada-lovelace", headers={"Cookie": cookie})
    assert status == 200
    assert "Send your thank-you to Ada Lovelace" in page
    assert "from the rule &#x27;thank_you&#x27;" in page  # why
    assert "met Ada Lovelace (fit 4/5)" in page  # the timeline, and the cause of the reminder
    assert 'action="/contacts/ada-lovelace/thank"' in page.split("Other steps")[0]
    assert 'href="/contacts/ada-lovelace/draft"' in page
    _, _, draft = reading.request("GET", "/contacts/ada-lovelace/draft", headers={"Cookie": cookie})
    assert "Thank you, Ada" in draft and "mailto:ada@example.org?subject=" in draft


def test_unknown_pages_contacts_and_files_are_404_and_a_wrong_method_405(reading: Served) -> None:
    cookie = cookie_of(reading)
    for path in ("/nowhere", "/contacts/nobody", "/static/secret.py", "/static/../events.py"):
        status, _, _ = reading.request("GET", path, headers={"Cookie": cookie})
        assert status == 404, path
    status, headers, _ = reading.request(
        "GET", "/reminders/abcdefg/done", headers={"Cookie": cookie}
    )
    assert status == 405 and headers["allow"] == "POST"


def test_text_typed_elsewhere_is_shown_never_run(home: Path, cli: Runner) -> None:
    name = '<script>alert("x")</script> Eve'
    assert cli("add", name, "--company", '"><img src=x onerror=alert(1)>').status == 0
    with serving(home) as served:
        cookie = cookie_of(served)
        _, _, board = served.request("GET", "/", headers={"Cookie": cookie})
        _, _, page = served.request(
            "GET", "/contacts/script-alert-x-script-eve", headers={"Cookie": cookie}
        )
    for body in (board, page):
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Eve" in body
        assert "<script>alert" not in body and "<img src=x" not in body


# --- the buttons -------------------------------------------------------------------------------


def test_a_post_without_the_pages_csrf_token_is_403_and_appends_nothing(
    served: Served, home: Path
) -> None:
    cookie = cookie_of(served)
    _, _, today = served.request("GET", "/today", headers={"Cookie": cookie})
    (thank_you,) = reminder_ids(today, "thank-you")
    csrf = csrf_of(served, cookie)
    before = log_bytes(home)
    for fields, headers in (
        ({}, {}),
        ({"csrf": "0" * 64}, {}),
        # the right token from a page on another site (a form it posts here)
        ({"csrf": csrf}, {"Origin": "http://rebind.example"}),
        ({"csrf": csrf}, {"Origin": "null"}),  # a sandboxed frame, a file
    ):
        status, _, _ = post(
            served, f"/reminders/{thank_you}/done", fields, Cookie=cookie, **headers
        )
        assert status == 403, (fields, headers)
    assert log_bytes(home) == before
    status, headers, _ = post(
        served,
        f"/reminders/{thank_you}/done",
        {"csrf": csrf, "back": "/today"},
        Cookie=cookie,
        Origin=served.base,
    )
    assert status == 303 and headers["location"].startswith("/today?said=")
    assert log_bytes(home) != before


def test_done_and_snooze_say_what_the_command_line_says_and_come_back(served: Served) -> None:
    cookie = cookie_of(served)
    _, _, today = served.request("GET", "/today", headers={"Cookie": cookie})
    csrf = csrf_of(served, cookie)
    (thank_you,) = reminder_ids(today, "thank-you")
    (reach_out,) = reminder_ids(today, "reach-out")
    status, headers, _ = post(
        served, f"/reminders/{thank_you}/done", {"csrf": csrf, "back": "/today"}, Cookie=cookie
    )
    assert status == 303
    _, _, page = served.request("GET", headers["location"], headers={"Cookie": cookie})
    assert "done: thank-you to Ada Lovelace sent" in page  # done records the step
    assert thank_you not in reminder_ids(page, "thank-you")
    status, headers, _ = post(
        served,
        f"/reminders/{reach_out}/snooze",
        {"csrf": csrf, "until": "1w", "back": "/today"},
        Cookie=cookie,
    )
    _, _, page = served.request("GET", headers["location"], headers={"Cookie": cookie})
    assert "snoozed until Thu 3 Dec 14:30: Reach out to Alan Turing" in page
    status, _, _ = post(
        served, f"/reminders/{reach_out}/snooze", {"csrf": csrf, "until": "1y"}, Cookie=cookie
    )
    assert status == 400
    # An id no reminder has: the command line's refusal, as an error on the page.
    status, headers, _ = post(
        served, "/reminders/zzzzzzz/done", {"csrf": csrf, "back": "/today"}, Cookie=cookie
    )
    _, _, page = served.request("GET", headers["location"], headers={"Cookie": cookie})
    assert 'class="flash error" role="alert"' in page and "no reminder has the id" in page
    # where to come back to is a path on this server, never another site
    status, headers, _ = post(
        served, "/reminders/zzzzzzz/done", {"csrf": csrf, "back": "//evil.example/"}, Cookie=cookie
    )
    assert headers["location"].startswith("/?said=")


def test_bad_input_in_a_form_is_the_command_lines_refusal_and_appends_nothing(
    served: Served, home: Path
) -> None:
    cookie = cookie_of(served)
    csrf = csrf_of(served, cookie)
    before = log_bytes(home)
    for step, fields in (
        ("schedule", {"when": "someday"}),
        ("schedule", {"when": ""}),
        ("met", {"fit": "9"}),
        ("reach", {"channel": "pigeon"}),
    ):
        status, headers, _ = post(
            served,
            f"/contacts/katherine-johnson/{step}",
            {"csrf": csrf, "back": "/", **fields},
            Cookie=cookie,
        )
        assert status == 303
        _, _, page = served.request("GET", headers["location"], headers={"Cookie": cookie})
        assert 'class="flash error"' in page, (step, fields)
    assert log_bytes(home) == before
    status, _, _ = post(
        served, "/contacts/katherine-johnson/archive", {"csrf": csrf}, Cookie=cookie
    )
    assert status == 404  # only the next steps, never another command


def _new_events(home: Path, before: dict[str, bytes]) -> list[dict[str, object]]:
    """Return the events appended to the home's log since ``before``, fields that name
    one home's copy (ids, device, batch) left out."""
    events = []
    for name, data in log_bytes(home).items():
        for line in data[len(before.get(name, b"")) :].splitlines():
            event = json.loads(line)
            for key in ("id", "device", "batch"):
                event.pop(key, None)
            events.append(event)
    return events


def test_each_next_step_form_appends_what_the_command_line_appends(tmp_path: Path) -> None:
    web_home = sample_home(tmp_path / "web")
    cli_home = sample_home(tmp_path / "cli")
    steps = [
        (
            "alan-turing",
            "reach",
            {"channel": "linkedin", "learn": "a week of codebreaking"},
            ["reach", "alan-turing", "--channel", "linkedin", "--learn", "a week of codebreaking"],
        ),
        ("tim-berners-lee", "reply", {"declined": "1"}, ["reply", "tim-berners-lee", "--declined"]),
        (
            "katherine-johnson",
            "schedule",
            {"when": "tue 15:00", "minutes": "45", "mode": "video", "place": ""},
            ["schedule", "katherine-johnson", "tue 15:00", "--minutes", "45", "--mode", "video"],
        ),
        (
            "grace-hopper",
            "met",
            {"learned": "ship it, then ask", "fit": "5", "asked": "an introduction", "notes": ""},
            [
                "met",
                "grace-hopper",
                "--learned",
                "ship it, then ask",
                "--fit",
                "5",
                "--asked",
                "an introduction",
            ],
        ),
        ("ada-lovelace", "thank", {}, ["thank", "ada-lovelace"]),
        (
            "frances-allen",
            "plan",
            {"learn": "-how compilers got fast"},
            ["plan", "frances-allen", "--learn=-how compilers got fast"],
        ),
    ]
    with serving(web_home) as served:
        cookie = cookie_of(served)
        csrf = csrf_of(served, cookie)
        for handle, step, fields, arguments in steps:
            before_web, before_cli = log_bytes(web_home), log_bytes(cli_home)
            status, _, _ = post(
                served,
                f"/contacts/{handle}/{step}",
                {"csrf": csrf, "back": "/", **fields},
                Cookie=cookie,
            )
            assert status == 303
            assert run_coffeechat(cli_home, *arguments).status == 0
            web, cli = _new_events(web_home, before_web), _new_events(cli_home, before_cli)
            assert web == cli and len(web) == 1, (step, web, cli)


# --- live updates ------------------------------------------------------------------------------


def test_the_event_stream_tells_the_page_when_another_process_appends(
    served: Served, home: Path
) -> None:
    cookie = cookie_of(served)
    with socket.create_connection((served.host, served.port), timeout=15) as connection:
        request = f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nCookie: {cookie}\r\n"
        connection.sendall(f"{request}\r\n".encode())
        stream = connection.makefile("rb")
        assert stream.readline().startswith(b"HTTP/1.1 200")
        headers = {}
        while (line := stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.lower()] = value.strip()
        assert headers["content-type"] == "text/event-stream"
        hello = [stream.readline() for _ in range(4)]
        assert hello[:3] == [b"retry: 2000\n", b"event: hello\n", b"data: 0\n"]
        assert run_coffeechat(home, "note", "ada", "prefers mornings").status == 0
        line = stream.readline()
        assert re.fullmatch(rb"data: [1-9]\d*\n", line), line


# --- the command ------------------------------------------------------------------------------


def test_serve_refuses_a_bad_port_or_a_missing_home_in_one_line(tmp_path: Path) -> None:
    for arguments, home in (
        (("serve", "--no-open", "--port", "70000"), tmp_path),
        (("serve", "--no-open", "--port", "0"), tmp_path / "missing"),
    ):
        result = run_coffeechat(home, *arguments, timeout=30)
        assert result.status == 2, result
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_serve_on_a_port_in_use_is_a_runtime_failure_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_coffeechat(tmp_path, "serve", "--no-open", "--port", str(port), timeout=30)
    assert result.status == 1 and "Address already in use" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_serve_stops_cleanly_on_sigterm_even_with_a_page_listening(home: Path, cli: Runner) -> None:
    assert cli("add", "Ada Lovelace").status == 0
    with serving(home) as served:
        cookie = cookie_of(served)
        listening = socket.create_connection((served.host, served.port), timeout=15)
        request = f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nCookie: {cookie}\r\n"
        listening.sendall(f"{request}\r\n".encode())
        assert listening.recv(15).startswith(b"HTTP/1.1 200")
    listening.close()
    assert served.process.returncode == 0


def test_serve_with_host_localhost_answers_to_that_name(home: Path, cli: Runner) -> None:
    assert cli("add", "Ada Lovelace").status == 0
    with serving(home, "--host", "localhost") as served:
        assert served.url.startswith("http://localhost:")
        status, _, _ = served.request(
            "GET", f"/?token={served.token}", headers={"Host": f"localhost:{served.port}"}
        )
        assert status == 303


def test_the_help_says_what_serve_does(cli: Runner) -> None:
    result = cli("serve", "--help")
    assert result.status == 0 and "--no-open" in result.stdout and "127.0.0.1" in result.stdout
    assert "serve" in cli("help").stdout


def test_an_empty_home_shows_every_page(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with serving(home) as served:
        cookie = cookie_of(served)
        for path in ("/", "/today", "/insights"):
            status, _, body = served.request("GET", path, headers={"Cookie": cookie})
            assert status == 200, (path, body[:300])
        _, _, today = served.request("GET", "/today", headers={"Cookie": cookie})
        assert "nothing is due: well done" in today


def test_the_contact_page_reads_the_timeline_through_the_offsets_index(
    served: Served, home: Path
) -> None:
    index = home / "cache" / "timeline.msgpack"
    assert not index.exists()
    cookie = cookie_of(served)
    status, _, page = served.request("GET", "/contacts/ada-lovelace", headers={"Cookie": cookie})
    assert status == 200 and "met Ada Lovelace (fit 4/5)" in page
    assert index.exists()  # built on the way, as `coffeechat show` does, then kept up to date
