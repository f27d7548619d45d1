"""E-mail to a person goes out at most once, whatever happens to the sender (refs #12).

A real SMTP server (aiosmtpd) on 127.0.0.1 plays the user's mail server; the sender is a
real process that folds the real log and calls ``deliver_mail`` as the daemon will, and
the test kills it (SIGKILL) or starves it of disk at the worst moments. What counts is
what the server accepted, by Message-ID: each queued mail must arrive once (lost: never;
duplicated: more than once). A mail the sender died in the middle of is the one case
coffeechat cannot know about: it must then be left alone ("unknown"), never sent twice.
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import DEFAULT_NOW, run_coffeechat
from smtp_server import SmtpServer

from coffeechat.events.log import read_segments
from coffeechat.events.projection import replay

NOW = datetime.fromisoformat(DEFAULT_NOW)
PEOPLE = ("Ada Lovelace", "Grace Hopper", "Alan Turing")

SENDER = """
import sys
from datetime import datetime
from coffeechat.daemon.mailer import deliver_mail
from coffeechat.events.log import EventLog, read_segments
from coffeechat.events.projection import replay
from coffeechat.plugins.mail_settings import load_mail_config

home, now = sys.argv[1], datetime.fromisoformat(sys.argv[2])
device = open(home + "/device").read().strip()
state = replay(read_segments(home + "/log"), [])
settings = load_mail_config(home + "/config.toml")
log = EventLog(home + "/log", device)
for warning in deliver_mail(state, settings, now, log.append, device=device):
    print(warning, flush=True)
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SmtpServer]:
    smtp = SmtpServer(tmp_path)
    yield smtp
    smtp.stop()


def queue_three(home: Path, server: SmtpServer) -> list[str]:
    """Three contacts, a mail queued to each (to go now); return their Message-IDs."""
    home.mkdir(parents=True)
    config = home / "config.toml"
    config.write_text(f'[mail]\nfrom = "sam@example.org"\nsmtp = "{server.url()}"\n')
    config.chmod(0o600)
    ids = []
    for name in PEOPLE:
        address = name.split()[0].lower() + "@example.org"
        added = run_coffeechat(home, "add", name, "--email", address, "--learn", "how it works")
        assert added.status == 0, added.stderr
        sent = run_coffeechat(home, "send", name.split()[0], "--now", "--json")
        assert sent.status == 0, sent.stderr
        ids.append(f"<coffeechat.{json.loads(sent.stdout)[0]['id'].lower()}@example.org>")
    return ids


def sender(home: Path, now: datetime, **options: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SENDER, str(home), now.isoformat()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,  # type: ignore[call-overload]
    )


def accepted_ids(server: SmtpServer) -> list[str]:
    return [str(message["Message-ID"]) for message in server.received()]


def statuses(home: Path) -> list[str]:
    state = replay(read_segments(home / "log"), [])
    return [mail.status for mail in sorted(state.mail.values(), key=lambda mail: mail.id)]


@pytest.mark.parametrize(
    ("server_keeps_it", "users_word"), [(False, "--again"), (True, "--was-sent")]
)
def test_a_sender_killed_while_the_server_holds_a_mail_never_sends_it_twice(
    tmp_path: Path, server: SmtpServer, fault_report, server_keeps_it: bool, users_word: str
):
    home = tmp_path / "home"
    queue_three(home, server)
    expected = [name.split()[0].lower() + "@example.org" for name in PEOPLE]
    server.handler.keep_on_arrival = server_keeps_it
    server.handler.hold.set()  # the first message waits at the end of DATA
    first = sender(home, NOW)
    try:
        assert server.handler.arrived.wait(30), "the sender never reached DATA"
        first.kill()  # SIGKILL: between mail.sending and the server's answer
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    server.handler.hold.clear()
    assert statuses(home) == ["sending", "queued", "queued"]  # the first is unknown
    for minutes in (5, 60):  # the next cycle, and a restart later: never sent again
        run = sender(home, NOW + timedelta(minutes=minutes))
        assert run.communicate(timeout=60)[1] == "" and run.returncode == 0
    assert statuses(home) == ["sending", "sent", "sent"]
    assert len(server.handler.offered) == 3
    # The user checks (their Sent folder, the server's log, the person) and says.
    later = (NOW + timedelta(hours=2)).isoformat()
    state = replay(read_segments(home / "log"), [])
    (unknown,) = [mail.contact for mail in state.mail.values() if mail.status == "sending"]
    settled = run_coffeechat(home, "send", unknown, users_word, now=later)
    assert settled.status == 0, settled.stderr
    final = sender(home, NOW + timedelta(hours=2))
    assert final.communicate(timeout=60)[1] == "" and final.returncode == 0
    observed = [str(message["To"]).split("<")[-1].rstrip(">") for message in server.received()]
    kept = "keeps" if server_keeps_it else "drops"
    figures = fault_report.count(
        f"mail: sender SIGKILLed while the server holds it (server {kept} it), then {users_word}",
        expected,
        observed,
        "unknown (agenda) until the user's word; never sent twice by itself",
    )
    assert figures.lost == 0 and figures.duplicated == 0


def test_a_sender_that_cannot_record_mail_sending_sends_nothing(
    tmp_path: Path, server: SmtpServer, fault_report
):
    home = tmp_path / "home"
    expected = queue_three(home, server)
    (segment,) = (home / "log").glob("*.jsonl")
    limit = segment.stat().st_size  # not one more byte may be written

    def starved() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    blocked = sender(home, NOW, preexec_fn=starved)
    output, errors = blocked.communicate(timeout=60)
    assert blocked.returncode == 0, errors
    assert "could not write to the log" in output and "nothing sent" in output
    assert server.handler.offered == []  # never talked to the server
    assert segment.stat().st_size == limit
    freed = sender(home, NOW + timedelta(minutes=1))
    assert freed.communicate(timeout=60)[1] == "" and freed.returncode == 0
    again = sender(home, NOW + timedelta(hours=1))
    assert again.communicate(timeout=60)[1] == "" and again.returncode == 0
    figures = fault_report.count(
        "mail: the log refuses mail.sending (RLIMIT_FSIZE), then has room",
        expected,
        accepted_ids(server),
        "nothing sent while the log was full; each mail once afterwards",
    )
    assert figures.lost == 0 and figures.duplicated == 0
    assert statuses(home) == ["sent", "sent", "sent"]
