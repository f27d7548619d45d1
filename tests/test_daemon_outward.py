"""The daemon's outward jobs end to end: a real ``coffeechat daemon --once`` process sends
queued e-mail through a real SMTP server (aiosmtpd) and puts meetings into a real CalDAV
server (Radicale), both on 127.0.0.1, and keeps a ``[calendar] file`` current (refs #12).

The units are tested on their own in test_mailer.py, test_caldav.py and test_ics.py;
these show the daemon calls them, once, as the delivery lease allows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest
from conftest import Runner, run_coffeechat
from smtp_server import SmtpServer
from test_caldav import PASSWORD, USER, Radicale, radicale  # noqa: F401 (a fixture)

NOW = "2026-11-26T14:30:00+01:00"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(tmp_path)
    yield server
    server.stop()


def ok(cli: Runner, *arguments: str, now: str = NOW) -> str:
    result = cli(*arguments, now=now)
    assert result.status == 0, (arguments, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


def configure(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)
    (home / "config.toml").chmod(0o600)


def types_in_log(cli: Runner) -> list[str]:
    return [event["type"] for event in json.loads(ok(cli, "--json", "log"))]


def test_daemon_once_sends_a_queued_thank_you_once_and_records_the_step(
    cli: Runner, home: Path, smtp: SmtpServer
):
    configure(home, f'[mail]\nfrom = "Me <me@example.org>"\nsmtp = "{smtp.url()}"\n')
    ok(cli, "add", "Ada Lovelace", "--email", "ada@example.org", "--at", "-2d")
    ok(cli, "met", "ada", "--at", "-3h", "--learned", "research engineering is half writing")
    ok(cli, "send", "ada", "--kind", "thank-you")
    ok(cli, "daemon", "--once")
    (message,) = smtp.received()
    assert message["To"] == "Ada Lovelace <ada@example.org>"
    assert "research engineering is half writing" in message.get_content()
    assert {"mail.sending", "mail.sent", "thanks.sent"} <= set(types_in_log(cli))
    shown = json.loads(ok(cli, "--json", "show", "ada"))
    assert shown["stage"] == "thanked"
    ok(cli, "daemon", "--once")
    assert len(smtp.received()) == 1  # at most once


def test_daemon_once_on_a_device_without_the_lease_sends_no_mail(tmp_path: Path, smtp: SmtpServer):
    server, laptop = tmp_path / "server", tmp_path / "laptop"
    mail = f'[mail]\nfrom = "Me <me@example.org>"\nsmtp = "{smtp.url()}"\n'
    configure(server, "")
    assert run_coffeechat(server, "add", "Ada Lovelace", "--email", "a@example.org").status == 0
    assert run_coffeechat(server, "daemon", "--once", now=NOW).status == 0  # takes the lease
    configure(laptop, mail)
    (laptop / "log").mkdir()
    for segment in (server / "log").glob("*.jsonl"):
        (laptop / "log" / segment.name).write_bytes(segment.read_bytes())
    assert run_coffeechat(laptop, "met", "ada", "--at", "-3h", now=NOW).status == 0
    assert run_coffeechat(laptop, "send", "ada", "--kind", "thank-you", now=NOW).status == 0
    assert run_coffeechat(laptop, "daemon", "--once", now=NOW).status == 0
    assert smtp.received() == []  # the server's daemon delivers, and it has no [mail]


def test_daemon_once_puts_a_meeting_into_caldav_and_moves_it_there(
    cli: Runner,
    home: Path,
    radicale: Radicale,  # noqa: F811 (the fixture)
):
    ics_file = home / "calendar.ics"
    configure(
        home,
        f'[calendar]\nfile = "{ics_file}"\ncaldav = "{radicale.url}"\n'
        f'user = "{USER}"\npassword = "{PASSWORD}"\n',
    )
    ok(cli, "add", "Ada Lovelace")
    ok(cli, "schedule", "ada", "tue 15:00", "--place", "Café de Flore")
    ok(cli, "daemon", "--once")
    (href,) = radicale.hrefs()
    event = radicale.event(href)
    assert "Ada Lovelace" in str(event["SUMMARY"])
    first_start = event.decoded("DTSTART")
    written = icalendar.Calendar.from_ical(ics_file.read_bytes())
    assert [str(e["UID"]) for e in written.walk("VEVENT")] == [str(event["UID"])]
    ok(cli, "reschedule", "ada", "wed 10:00")
    ok(cli, "daemon", "--once")
    assert radicale.hrefs() == [href]  # one event, moved
    moved = radicale.event(href)
    assert moved.decoded("DTSTART") != first_start
    assert int(moved["SEQUENCE"]) > int(event.get("SEQUENCE", 0))


def test_undo_after_the_daemon_sent_mail_takes_back_the_users_last_command(
    cli: Runner, home: Path, smtp: SmtpServer
):
    configure(home, f'[mail]\nfrom = "Me <me@example.org>"\nsmtp = "{smtp.url()}"\n')
    ok(cli, "add", "Ada Lovelace", "--email", "ada@example.org", "--at", "-2d")
    ok(cli, "met", "ada", "--at", "-3h")
    ok(cli, "send", "ada", "--kind", "thank-you")
    ok(cli, "daemon", "--once")
    ok(cli, "note", "ada", "sent a book")
    ok(cli, "undo")  # the note
    ok(cli, "undo")  # not the sent mail nor its thank-you: the daemon's record, skipped
    shown = json.loads(ok(cli, "--json", "show", "ada"))
    assert shown["stage"] == "thanked"
    assert len(smtp.received()) == 1


@pytest.mark.parametrize("section", ["mail", "calendar"])
def test_daemon_with_a_password_in_a_config_others_can_read_refuses_it(
    cli: Runner, home: Path, section: str
):
    configure(home, f'[{section}]\npassword = "hunter2"\n')
    (home / "config.toml").chmod(0o644)
    result = cli("daemon", "--once", now=NOW)
    assert result.status == 2
    assert f"the [{section}] password (secrets)" in result.stderr
    assert "hunter2" not in result.stderr
    assert f"chmod 600 {home / 'config.toml'}" in result.stderr


def test_agenda_shows_queued_mail_as_kind_mail_and_done_finds_it(cli: Runner, home: Path):
    configure(home, '[mail]\nfrom = "Me <me@example.org>"\nsmtp = "smtp://127.0.0.1:9"\n')
    ok(cli, "add", "Ada Lovelace", "--email", "ada@example.org", "--learn", "how she started")
    ok(cli, "send", "ada", "--kind", "outreach")  # waits for Tuesday 09:00
    agenda = json.loads(ok(cli, "--json", "agenda"))
    (row,) = [r for r in agenda["reminders"] if r["kind"] == "mail"]
    assert row["contact"] == "ada-lovelace"
    assert row["due"].startswith("2026-12-01T09:00")
    assert "outreach e-mail to Ada Lovelace goes out" in row["message"]
    assert "mail" in ok(cli, "agenda")
    why = cli("why", row["id"], now=NOW)
    assert why.status == 0, why.stderr
