"""``coffeechat draft`` and ``coffeechat send``, run as real subprocesses (docs/mail.md).

The draft is RFC 5322 text read back by the standard library's parser; ``send`` only
queues (``mail.queued``): what the queue holds is read back by folding the real log.
The SMTP side is tests/test_mailer.py.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from datetime import datetime
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import DEFAULT_NOW, Result, Runner, log_bytes

from coffeechat.events.log import read_segments
from coffeechat.events.projection import State, replay

NOW = datetime.fromisoformat(DEFAULT_NOW)  # Thursday 26 Nov 2026, 14:30 in Paris
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
MAIL = '[mail]\nfrom = "Sam Writer <sam@example.org>"\nsmtp = "smtp://127.0.0.1:2525"\n'
LEARN = "how you moved from mathematics into engineering"


def ok(result: Result) -> Result:
    assert result.status == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result


def refused(result: Result) -> str:
    """Assert bad input: exit 2, one line on stderr, no traceback; return the line."""
    assert result.status == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def configure(home: Path, text: str = MAIL) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)
    (home / "config.toml").chmod(0o600)


def parsed(text: str) -> EmailMessage:
    message = message_from_string(text, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def body_of(message: EmailMessage) -> str:
    return message.get_content()


def state_of(home: Path) -> State:
    return replay(read_segments(home / "log"), [])


@pytest.fixture
def journey(cli: Runner, home: Path) -> Runner:
    """Grace (Paris, no e-mail) introduced Ada (New York), who has an address."""
    ok(cli("add", "Grace Hopper", "--company", "Navy"))
    ok(
        cli(
            "add",
            "Ada Lovelace",
            "--email",
            "ada@example.org",
            "--tz",
            "America/New_York",
            "--company",
            "Analytical Engines",
            "--role",
            "Research engineer",
            "--learn",
            LEARN,
            "--via",
            "grace",
        )
    )
    return cli


# --- draft -----------------------------------------------------------------------------------


def test_draft_outreach_is_short_specific_with_times_in_their_zone_and_yours_beside(
    journey: Runner, home: Path
):
    configure(home)
    result = ok(journey("draft", "ada"))
    message = parsed(result.stdout)
    assert message["To"] == "Ada Lovelace <ada@example.org>"
    assert message["From"] == "Sam Writer <sam@example.org>"
    assert message["Subject"]
    body = body_of(message)
    assert len(body.split()) < 200
    assert LEARN in body
    assert "Grace Hopper" in body  # who introduced you
    assert "Sam Writer" in body  # signed with the name in [mail] from
    times = [line for line in body.splitlines() if line.startswith("- ")]
    assert 2 <= len(times) <= 3
    for line in times:
        assert line.startswith(("- Tuesday", "- Wednesday"))
        assert "your time (" in line and "for me in Paris)" in line
    # New York 09:00 is Paris 15:00: their time first, yours beside it.
    assert times[0] == "- Tuesday 1 December, 09:00 your time (15:00 for me in Paris)"


def test_draft_to_someone_in_your_zone_shows_one_time(cli: Runner, home: Path):
    ok(cli("add", "Alan Turing", "--email", "alan@example.org", "--learn", "about codes"))
    result = ok(cli("draft", "alan"))
    times = [line for line in body_of(parsed(result.stdout)).splitlines() if line.startswith("- ")]
    assert times[0] == "- Tuesday 1 December, 09:00"
    assert "note: Alan Turing's time zone is unknown" in result.stderr


def test_draft_default_kind_follows_the_stage(journey: Runner, home: Path):
    assert "learn from you" in parsed(ok(journey("draft", "ada")).stdout)["Subject"]
    ok(journey("reach", "ada", "--at", "-8d"))
    nudge = parsed(ok(journey("draft", "ada")).stdout)
    assert nudge["Subject"].startswith("Following up:")
    assert "on 18 November" in body_of(nudge)
    ok(journey("reply", "ada", "--at", "-1d"))
    line = refused(journey("draft", "ada"))
    assert "stage replied" in line and "--kind" in line
    ok(
        journey(
            "met",
            "ada",
            "--at",
            "-2h",
            "--learned",
            "research is half writing",
            "--asked",
            "an intro to Babbage",
        )
    )
    thanks = parsed(ok(journey("draft", "ada")).stdout)
    assert thanks["Subject"] == "Thank you, Ada"
    body = body_of(thanks)
    assert "research is half writing" in body  # what you learned
    assert "an intro to Babbage" in body  # your ask
    ok(journey("thank", "ada"))
    follow_up = body_of(parsed(ok(journey("draft", "ada")).stdout))
    assert "an intro to Babbage" in follow_up
    ok(journey("archive", "ada"))
    assert "archived" in refused(journey("draft", "ada"))


def test_draft_of_every_kind_stays_under_200_words(journey: Runner, home: Path):
    configure(home)
    ok(journey("met", "ada", "--learned", "x " * 20, "--asked", "an introduction to someone"))
    for kind in ("outreach", "nudge", "thank-you", "follow-up", "congratulate"):
        result = ok(journey("draft", "ada", "--kind", kind))
        body = body_of(parsed(result.stdout))
        assert len(body.split()) < 200, (kind, len(body.split()))
        assert "$" not in body and "  " not in body and "\n\n\n" not in body, (kind, body)


def test_draft_without_what_to_learn_leaves_a_gap_and_a_tip(cli: Runner):
    ok(cli("add", "Alan Turing", "--email", "alan@example.org"))
    result = ok(cli("draft", "alan"))
    assert "[what you want to learn from them]" in result.stdout
    assert (
        "tip: say what you want to learn: coffeechat edit alan-turing --learn TEXT" in result.stderr
    )


def test_draft_with_a_template_of_your_own(journey: Runner, home: Path):
    (home / "templates").mkdir(parents=True)
    (home / "templates" / "outreach.txt").write_text(
        "Subject: Hello ${first_name} at $company\n\nHi $first_name, I'd like to learn $learn.\n"
        "$$20 coffee on me.\n$times\n"
    )
    message = parsed(ok(journey("draft", "ada")).stdout)
    assert message["Subject"] == "Hello Ada at Analytical Engines"
    body = body_of(message)
    assert body.startswith(f"Hi Ada, I'd like to learn {LEARN}.\n$20 coffee on me.\n- Tuesday")


@pytest.mark.parametrize(
    ("template", "complaint"),
    [
        ("Subject: Hi\n\nDear $frist_name,\n", "unknown placeholder $frist_name"),
        ("Subject: Hi\n\nIt costs $5.\n", "write $$ for a dollar sign"),
        ("Dear $first_name,\n", "starts with 'Subject: …' and a blank line"),
    ],
)
def test_draft_with_a_broken_template_names_the_file(
    journey: Runner, home: Path, template: str, complaint: str
):
    (home / "templates").mkdir(parents=True)
    (home / "templates" / "outreach.txt").write_text(template)
    line = refused(journey("draft", "ada"))
    assert str(home / "templates" / "outreach.txt") in line and complaint in line


def test_draft_eml_is_a_private_unsent_message(journey: Runner, home: Path, tmp_path: Path):
    configure(home)
    target = tmp_path / "out" / "ada.eml"
    result = ok(journey("draft", "ada", "--eml", str(target)))
    assert str(target) in result.stdout
    raw = target.read_bytes()
    assert b"\r\n" in raw
    message = message_from_bytes(raw, policy=policy.default)
    assert message["X-Unsent"] == "1"
    assert message["To"] == "Ada Lovelace <ada@example.org>"
    assert LEARN in message.get_content()  # type: ignore[attr-defined]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def recording_opener(tmp_path: Path, status: int = 0) -> tuple[Path, Path]:
    """A tiny opener script that records the file it was given; return (script, record)."""
    record = tmp_path / "opened.txt"
    script = tmp_path / "opener.py"
    script.write_text(
        f"import sys\nopen({str(record)!r}, 'w').write(sys.argv[1])\nsys.exit({status})\n"
    )
    return script, record


def test_draft_open_hands_the_eml_to_the_opener(journey: Runner, home: Path, tmp_path: Path):
    script, record = recording_opener(tmp_path)
    opener = f"{sys.executable} {script}"
    ok(journey("draft", "ada", "--open", env={"COFFEECHAT_OPENER": opener}))
    opened = Path(record.read_text())
    assert opened.suffix == ".eml" and opened.is_relative_to(home)
    message = message_from_bytes(opened.read_bytes(), policy=policy.default)
    assert message["X-Unsent"] == "1" and message["To"] == "Ada Lovelace <ada@example.org>"


def test_draft_open_with_an_opener_that_fails_exits_1(journey: Runner, tmp_path: Path):
    script, _ = recording_opener(tmp_path, status=4)
    result = journey(
        "draft", "ada", "--open", env={"COFFEECHAT_OPENER": f"{sys.executable} {script}"}
    )
    assert result.status == 1
    assert "exit status 4" in result.stderr and "Traceback" not in result.stderr
    missing = journey("draft", "ada", "--open", env={"COFFEECHAT_OPENER": str(tmp_path / "nope")})
    assert missing.status == 1 and "COFFEECHAT_OPENER" in missing.stderr


# --- send ------------------------------------------------------------------------------------


def queued_events(result: Result) -> list[dict]:
    events = result.json()
    assert [event["type"] for event in events] == ["mail.queued"]
    return events


def test_send_outreach_waits_for_the_next_window_in_their_zone(journey: Runner, home: Path):
    configure(home)
    (event,) = queued_events(ok(journey("send", "ada", "--json")))
    send_at = datetime.fromisoformat(event["send_at"])
    # Thursday afternoon in Paris: the next window is Tuesday 09:00 in New York.
    assert send_at == datetime(2026, 12, 1, 9, tzinfo=NEW_YORK)
    assert event["kind"] == "outreach" and event["to"] == "ada@example.org"
    assert LEARN in event["body"]
    # The times it offers start a day after it goes out: Wednesday, not Tuesday.
    times = [line for line in event["body"].splitlines() if line.startswith("- ")]
    assert times[0].startswith("- Wednesday 2 December")
    (mail,) = state_of(home).mail.values()
    assert mail.status == "queued" and mail.send_at == send_at


def test_send_thank_you_goes_at_once_and_now_and_when_override(journey: Runner, home: Path):
    configure(home)
    ok(journey("met", "ada", "--at", "-2h", "--learned", "a lot"))
    (thanks,) = queued_events(ok(journey("send", "ada", "--json")))
    assert thanks["kind"] == "thank-you"
    assert datetime.fromisoformat(thanks["send_at"]) == NOW
    (now,) = queued_events(ok(journey("send", "ada", "--kind", "follow-up", "--now", "--json")))
    assert datetime.fromisoformat(now["send_at"]) == NOW
    (later,) = queued_events(
        ok(journey("send", "ada", "--kind", "congratulate", "--when", "tomorrow 10:00", "--json"))
    )
    assert datetime.fromisoformat(later["send_at"]) == datetime(2026, 11, 27, 10, tzinfo=PARIS)
    assert "is in the past" in refused(journey("send", "ada", "--kind", "nudge", "--when", "-1d"))


def test_send_prints_what_it_queued_and_undo_cancels_it(journey: Runner, home: Path):
    configure(home)
    result = ok(journey("send", "ada"))
    assert result.stdout.startswith(
        "queued the outreach e-mail to Ada Lovelace <ada@example.org> for Tue 1 Dec 15:00"
    )
    assert "already queued" in refused(journey("send", "ada"))
    ok(journey("undo"))
    assert state_of(home).mail == {}
    ok(journey("send", "ada"))  # once taken back, it can be queued again
    assert len(state_of(home).mail) == 1


@pytest.mark.parametrize(
    ("config", "complaint"),
    [
        (None, "add [mail] to config.toml: see docs/mail.md"),
        ('[mail]\nfrom = "sam@example.org"\n', "add [mail] to config.toml: see docs/mail.md"),
        ('[mail]\nsmtp = "http://example.org"\n', "at '$.mail': smtp: use one of"),
        (
            '[mail]\nfrom = "sam@example.org"\nsmtp = "smtp://mail.example.org"\nuser = "sam"\n',
            "sends the password in clear",
        ),
    ],
)
def test_send_without_a_usable_mail_section_is_refused(
    journey: Runner, home: Path, config: str | None, complaint: str
):
    if config is not None:
        configure(home, config)
    before = log_bytes(home)
    assert complaint in refused(journey("send", "ada"))
    assert log_bytes(home) == before


def test_send_to_a_contact_without_an_address_is_refused(journey: Runner, home: Path):
    configure(home)
    before = log_bytes(home)
    line = refused(journey("send", "grace", "--kind", "congratulate"))
    assert line.endswith(
        "Grace Hopper has no e-mail address: coffeechat edit grace-hopper --email ADDRESS"
    )
    assert log_bytes(home) == before


def test_send_of_an_outreach_with_nothing_to_learn_is_refused(cli: Runner, home: Path):
    configure(home)
    ok(cli("add", "Alan Turing", "--email", "alan@example.org"))
    before = log_bytes(home)
    assert "coffeechat edit alan-turing --learn TEXT" in refused(cli("send", "alan"))
    assert log_bytes(home) == before


def test_send_with_a_password_others_can_read_is_refused_with_the_chmod(
    journey: Runner, home: Path
):
    configure(home, MAIL.replace("2525", "2525") + 'user = "sam"\npassword = "s3cret-pw"\n')
    (home / "config.toml").chmod(0o644)
    line = refused(journey("send", "ada"))
    assert f"chmod 600 {home / 'config.toml'}" in line
    assert "s3cret-pw" not in line
    (home / "config.toml").chmod(0o600)
    ok(journey("send", "ada"))


def test_send_json_event_carries_no_secret(journey: Runner, home: Path):
    configure(home, MAIL + 'user = "sam"\npassword = "s3cret-pw"\n')
    result = ok(journey("send", "ada", "--json"))
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert all(b"s3cret-pw" not in data for data in log_bytes(home).values())


def test_send_again_and_was_sent_need_a_mail_of_unknown_fate(journey: Runner, home: Path):
    configure(home)
    for flag in ("--again", "--was-sent"):
        assert "of unknown fate" in refused(journey("send", "ada", flag))


def test_send_and_draft_with_a_bad_kind_or_contact_are_refused(journey: Runner, home: Path):
    configure(home)
    assert "invalid choice" in refused(journey("draft", "ada", "--kind", "love-letter"))
    assert "nobody" in refused(journey("send", "nobody"))
    assert refused(journey("send", "ada", "--now", "--when", "tomorrow"))


def test_draft_json_has_the_message_and_its_parts(journey: Runner, home: Path):
    configure(home)
    data = json.loads(ok(journey("draft", "ada", "--json")).stdout)
    assert data["contact"] == "ada-lovelace" and data["kind"] == "outreach"
    assert parsed(data["message"])["Subject"] == data["subject"]
    assert data["template"].endswith(os.path.join("templates", "outreach.txt"))


def test_draft_at_a_dst_change_offers_times_on_the_new_wall_clock(journey: Runner, home: Path):
    # Saturday 28 March 2026 in Paris (the clocks go forward that night; New York's
    # went forward on 8 March): New York 09:00 is then 14:00 in Paris, not 15:00.
    body = body_of(parsed(ok(journey("draft", "ada", now="2026-03-28T10:00:00+01:00")).stdout))
    assert "- Tuesday 31 March, 09:00 your time (15:00 for me in Paris)" in body
    body = body_of(parsed(ok(journey("draft", "ada", now="2026-03-21T10:00:00+01:00")).stdout))
    assert "- Tuesday 24 March, 09:00 your time (14:00 for me in Paris)" in body
