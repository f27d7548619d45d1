"""daemon/mailer.py against a real SMTP server (aiosmtpd) on 127.0.0.1 (docs/mail.md).

Mail is queued by the real command line (``coffeechat send``); ``deliver_mail`` is then
called the way the daemon calls it, on the state folded from the real log, appending to
the real log. Plain SMTP, STARTTLS and SMTPS with a self-signed certificate made for the
test, AUTH that passes and fails, 4xx and 5xx refusals, and a server that hangs up while
it holds the message. The crash in the middle is tests/faults/test_mail.py.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import DEFAULT_NOW, Result, run_coffeechat
from smtp_server import SmtpServer

from coffeechat.daemon.mailer import deliver_mail, next_mail_at, queued_mail_rows
from coffeechat.events.log import EventLog, read_segments
from coffeechat.events.projection import State, replay
from coffeechat.events.stages import stage_of
from coffeechat.plugins.mail_settings import load_mail_config

NOW = datetime.fromisoformat(DEFAULT_NOW)  # Thursday 26 Nov 2026, 14:30 in Paris
SECRET = "pw-Tr0ub4dor"


def ok(result: Result) -> Result:
    assert result.status == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result


def configure(home: Path, smtp: str, extra: str = "") -> None:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    config.write_text(f'[mail]\nfrom = "Sam Writer <sam@example.org>"\nsmtp = "{smtp}"\n{extra}')
    config.chmod(0o600)


def cli(home: Path, *arguments: str, now: datetime = NOW) -> Result:
    return ok(run_coffeechat(home, *arguments, now=now.isoformat()))


def state_of(home: Path) -> State:
    return replay(read_segments(home / "log"), [])


def deliver(home: Path, now: datetime = NOW) -> list[str]:
    """Call deliver_mail as the daemon will: the folded state, the settings, the log."""
    device = (home / "device").read_text().strip()
    settings = load_mail_config(str(home / "config.toml"))
    log = EventLog(home / "log", device)
    return deliver_mail(state_of(home), settings, now, log.append, device=device)


def logged_types(home: Path) -> list[str]:
    lines = []
    for segment in sorted((home / "log").glob("*.jsonl")):
        lines.extend(segment.read_text().splitlines())
    return [json.loads(line)["type"] for line in lines]


def logged(home: Path, kind: str) -> list[dict[str, Any]]:
    lines = []
    for segment in sorted((home / "log").glob("*.jsonl")):
        lines.extend(segment.read_text().splitlines())
    return [event for event in map(json.loads, lines) if event["type"] == kind]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SmtpServer]:
    smtp = SmtpServer(tmp_path)
    yield smtp
    smtp.stop()


def ada(home: Path) -> None:
    cli(
        home,
        "add",
        "Ada Lovelace",
        "--email",
        "ada@example.org",
        "--tz",
        "America/New_York",
        "--learn",
        "how you moved from mathematics into engineering",
    )


# --- sending ---------------------------------------------------------------------------------


def test_deliver_mail_sends_a_due_outreach_once_and_records_the_step(
    tmp_path: Path, server: SmtpServer
):
    home = tmp_path / "home"
    configure(home, server.url())
    ada(home)
    queued = json.loads(cli(home, "send", "ada", "--now", "--json").stdout)[0]
    assert deliver(home) == []
    (message,) = server.received()
    assert message["To"] == "Ada Lovelace <ada@example.org>"
    assert message["From"] == "Sam Writer <sam@example.org>"
    assert message["Subject"] == queued["subject"]
    assert message["Message-ID"] == f"<coffeechat.{queued['id'].lower()}@example.org>"
    assert message["Date"]
    content = message.get_content()  # type: ignore[attr-defined]
    assert content.replace("\r\n", "\n") == queued["body"]
    # mail.sending on its own, then mail.sent with the journey step in one batch
    assert logged_types(home)[-3:] == ["mail.sending", "mail.sent", "outreach.sent"]
    sent, step = logged(home, "mail.sent")[0], logged(home, "outreach.sent")[0]
    assert step["batch"] == sent["id"] and step.get("channel", "email") == "email"
    state = state_of(home)
    (mail,) = state.mail.values()
    assert mail.status == "sent" and mail.body == ""
    assert stage_of(state.contacts["ada-lovelace"], NOW) == "reached"
    # A second call (the daemon's next cycle, or a restart) sends nothing again.
    assert deliver(home, NOW + timedelta(hours=1)) == []
    assert len(server.handler.offered) == 1


def test_deliver_mail_waits_for_the_send_window(tmp_path: Path, server: SmtpServer):
    home = tmp_path / "home"
    configure(home, server.url())
    ada(home)
    cli(home, "send", "ada")  # Thursday: waits for Tuesday 09:00 in New York
    window = datetime.fromisoformat("2026-12-01T09:00:00-05:00")
    assert next_mail_at(state_of(home), NOW) == window
    assert deliver(home, window - timedelta(minutes=1)) == []
    assert server.handler.offered == []
    assert deliver(home, window) == []
    assert len(server.received()) == 1
    assert next_mail_at(state_of(home), window) is None


@pytest.mark.parametrize(
    ("kind", "step"), [("thank-you", "thanks.sent"), ("follow-up", "touch.logged")]
)
def test_deliver_mail_records_the_step_each_kind_is(
    tmp_path: Path, server: SmtpServer, kind: str, step: str
):
    home = tmp_path / "home"
    configure(home, server.url())
    ada(home)
    cli(home, "met", "ada", "--at", "-3h", "--learned", "engines need poets")
    cli(home, "send", "ada", "--kind", kind, "--now")
    assert deliver(home) == []
    assert logged_types(home)[-2:] == ["mail.sent", step]
    assert "engines need poets" in server.received()[0].get_content()  # type: ignore[attr-defined]


def test_deliver_mail_through_starttls_with_auth_and_the_certificate_in_cafile(tmp_path: Path):
    server = SmtpServer(tmp_path, tls="starttls", password=SECRET)
    try:
        home = tmp_path / "home"
        extra = f'user = "sam"\npassword = "{SECRET}"\ncafile = "{server.cert}"\n'
        configure(home, server.url("smtp+starttls"), extra)
        ada(home)
        cli(home, "send", "ada", "--now")
        assert deliver(home) == []
        assert len(server.received()) == 1
        assert server.handler.logins == [("sam", SECRET)]
    finally:
        server.stop()


def test_deliver_mail_never_trusts_an_unknown_certificate_silently(tmp_path: Path):
    server = SmtpServer(tmp_path, tls="starttls", password=SECRET)
    try:
        home = tmp_path / "home"
        configure(home, server.url("smtp+starttls"), f'user = "sam"\npassword = "{SECRET}"\n')
        ada(home)
        cli(home, "send", "ada", "--now")
        (warning,) = deliver(home)
        assert "certificate is not trusted" in warning and "cafile" in warning
        assert server.handler.offered == [] and server.handler.logins == []
        (failed,) = logged(home, "mail.failed")
        assert not failed.get("permanent") and failed["retry_at"]
    finally:
        server.stop()


def test_deliver_mail_through_smtps_with_a_password_command(tmp_path: Path):
    server = SmtpServer(tmp_path, tls="implicit", password=SECRET)
    try:
        home = tmp_path / "home"
        script = tmp_path / "secret.py"
        script.write_text(f"print({SECRET!r})\nprint('second line is ignored')\n")
        command = f"{sys.executable} {script}"
        extra = f'user = "sam"\npassword_command = "{command}"\ncafile = "{server.cert}"\n'
        configure(home, server.url("smtps"), extra)
        ada(home)
        cli(home, "send", "ada", "--now")
        assert deliver(home) == []
        assert len(server.received()) == 1
        assert server.handler.logins == [("sam", SECRET)]
    finally:
        server.stop()


def test_deliver_mail_with_a_wrong_password_sends_nothing_and_retries_then_gives_up(
    tmp_path: Path,
):
    server = SmtpServer(tmp_path, password=SECRET)  # plain, on this machine
    try:
        home = tmp_path / "home"
        configure(home, server.url(), 'user = "sam"\npassword = "wrong-password"\n')
        ada(home)
        cli(home, "send", "ada", "--now")
        (warning,) = deliver(home)
        assert "refused the login (535" in warning and "check [mail] user and password" in warning
        assert "wrong-password" not in warning
        assert server.handler.offered == []
        (failed,) = logged(home, "mail.failed")
        assert datetime.fromisoformat(failed["retry_at"]) == NOW + timedelta(minutes=1)
        assert deliver(home, NOW + timedelta(seconds=30)) == []  # not before retry_at
        (again,) = deliver(home, NOW + timedelta(minutes=1))
        assert "next try" in again
        retry = datetime.fromisoformat(logged(home, "mail.failed")[-1]["retry_at"])
        assert retry == NOW + timedelta(minutes=3)  # backoff: 1 minute, then 2
        (given_up,) = deliver(home, NOW + timedelta(days=1, minutes=1))
        assert "was not sent: given up after trying for 1d" in given_up
        assert state_of(home).mail.popitem()[1].status == "failed"
        assert deliver(home, NOW + timedelta(days=2)) == []
        assert server.handler.offered == []
        assert all(SECRET not in "".join(map(str, logged(home, t))) for t in ("mail.failed",))
    finally:
        server.stop()


@pytest.mark.parametrize("where", ["rcpt", "data"])
def test_deliver_mail_with_a_5xx_refusal_records_it_failed_for_good(
    tmp_path: Path, server: SmtpServer, where: str
):
    home = tmp_path / "home"
    configure(home, server.url())
    ada(home)
    cli(home, "send", "ada", "--now")
    if where == "rcpt":
        server.handler.rcpt_answer = "550 5.1.1 <ada@example.org>: no such user"
    else:
        server.handler.data_answer = "554 5.7.1 message refused as spam"
    (warning,) = deliver(home)
    assert "was not sent" in warning and ("550 5.1.1" in warning or "554 5.7.1" in warning)
    (failed,) = logged(home, "mail.failed")
    assert failed["permanent"] is True and "retry_at" not in failed
    assert server.received() == []
    server.handler.rcpt_answer, server.handler.data_answer = None, "250 OK"
    assert deliver(home, NOW + timedelta(days=1)) == []  # never tried again
    assert server.received() == []
    (row,) = queued_mail_rows(state_of(home), NOW, NOW.tzinfo)  # type: ignore[arg-type]
    assert row.kind == "mail" and row.priority == "high" and "was not sent" in row.message


def test_deliver_mail_with_a_4xx_refusal_retries_and_sends_once(tmp_path: Path, server: SmtpServer):
    home = tmp_path / "home"
    configure(home, server.url())
    ada(home)
    cli(home, "send", "ada", "--now")
    server.handler.data_answer = "451 4.3.0 try again later"
    (warning,) = deliver(home)
    assert "not sent yet" in warning and "451 4.3.0" in warning
    assert server.received() == []
    server.handler.data_answer = "250 OK"
    assert deliver(home, NOW + timedelta(minutes=1)) == []
    assert len(server.received()) == 1
    assert deliver(home, NOW + timedelta(hours=1)) == []
    assert len(server.handler.offered) == 2 and len(server.received()) == 1
    assert logged_types(home).count("mail.sending") == 2


def test_deliver_mail_with_the_server_down_retries_later(tmp_path: Path):
    home = tmp_path / "home"
    from smtp_server import free_port

    configure(home, f"smtp://127.0.0.1:{free_port()}")
    ada(home)
    cli(home, "send", "ada", "--now")
    (warning,) = deliver(home)
    assert "ConnectionRefusedError" in warning and "next try" in warning
    assert state_of(home).mail.popitem()[1].status == "queued"


def test_deliver_mail_that_became_moot_is_not_sent(tmp_path: Path, server: SmtpServer):
    home = tmp_path / "home"
    configure(home, server.url())
    ada(home)
    cli(home, "send", "ada")  # waits for Tuesday
    cli(home, "reply", "ada", now=NOW + timedelta(days=1))  # Friday: they wrote first
    (warning,) = deliver(home, datetime.fromisoformat("2026-12-01T09:00:00-05:00"))
    assert "replied after it was queued" in warning
    assert server.handler.offered == []
    assert logged(home, "mail.failed")[0]["permanent"] is True


def test_deliver_mail_without_mail_settings_keeps_it_queued_with_backoff(
    tmp_path: Path, server: SmtpServer
):
    home = tmp_path / "home"
    configure(home, server.url())
    ada(home)
    cli(home, "send", "ada", "--now")
    (home / "config.toml").write_text("")  # [mail] removed after queuing
    (warning,) = deliver(home)
    assert "add [mail] to config.toml: see docs/mail.md" in warning
    assert logged_types(home)[-1] == "mail.failed"  # no mail.sending: nothing was tried
    assert "mail.sending" not in logged_types(home)


# --- a mail whose fate is unknown ------------------------------------------------------------


def test_a_server_hanging_up_while_it_holds_the_message_leaves_it_unknown_until_the_user_says(
    tmp_path: Path, server: SmtpServer
):
    home = tmp_path / "home"
    configure(home, server.url())
    ada(home)
    cli(home, "send", "ada", "--now")
    server.handler.hang_up = True
    (warning,) = deliver(home)
    assert "may or may not have been sent" in warning
    assert logged_types(home)[-1] == "mail.sending"
    server.handler.hang_up = False
    later = NOW + timedelta(hours=1)
    assert deliver(home, later) == []  # never sent again by itself
    assert len(server.handler.offered) == 1
    (row,) = queued_mail_rows(state_of(home), later, NOW.tzinfo)  # type: ignore[arg-type]
    assert row.kind == "mail" and row.priority == "high"
    assert "may or may not have gone out" in row.message
    assert "coffeechat send ada-lovelace --kind outreach --again" in row.message
    # Sending it again needs the user's word; refused a second queuing meanwhile.
    assert run_coffeechat(home, "send", "ada", now=later.isoformat()).status == 2
    cli(home, "send", "ada", "--again", now=later)
    assert deliver(home, later) == []
    assert len(server.received()) == 1  # the copy sent again
    statuses = sorted(mail.status for mail in state_of(home).mail.values())
    assert statuses == ["replaced", "sent"]


def test_send_was_sent_settles_an_unknown_mail_as_sent(tmp_path: Path, server: SmtpServer):
    home = tmp_path / "home"
    configure(home, server.url())
    ada(home)
    cli(home, "send", "ada", "--now")
    server.handler.hang_up = True
    deliver(home)
    later = NOW + timedelta(hours=1)
    result = cli(home, "send", "ada", "--was-sent", "--json", now=later)
    assert [event["type"] for event in json.loads(result.stdout)] == ["mail.sent", "outreach.sent"]
    (mail,) = state_of(home).mail.values()
    assert mail.status == "sent"
    assert queued_mail_rows(state_of(home), later, NOW.tzinfo) == []  # type: ignore[arg-type]
    assert deliver(home, later + timedelta(days=1)) == []
    assert len(server.handler.offered) == 1


def test_queued_mail_rows_show_what_waits_with_stable_ids(tmp_path: Path, server: SmtpServer):
    home = tmp_path / "home"
    configure(home, server.url())
    ada(home)
    cli(home, "send", "ada")
    rows = queued_mail_rows(state_of(home), NOW, NOW.tzinfo)  # type: ignore[arg-type]
    (row,) = rows
    assert row.kind == "mail" and row.contact == "ada-lovelace"
    assert row.due == datetime.fromisoformat("2026-12-01T09:00:00-05:00")
    assert "goes out Tue 1 Dec 15:00" in row.message
    assert queued_mail_rows(state_of(home), NOW, NOW.tzinfo)[0].id == row.id  # type: ignore[arg-type]
    cli(home, "undo")
    assert queued_mail_rows(state_of(home), NOW, NOW.tzinfo) == []  # type: ignore[arg-type]
