"""``coffeechat import vcard FILE``: a phone's or an address book's vCards in, with vobject.

The files in ``tests/fixtures/vcard/`` are shaped as real exports: an iPhone's 3.0
(grouped ``item1.`` properties, ``X-AB…`` and ``X-SOCIALPROFILE``, a folded photo that
is not even valid base64, a value folded mid-word, quoted-printable with a soft line
break as Android writes it, a card with ``N`` and no ``FN``), a Nextcloud 4.0 export
(``PREF=1``, ``tel:`` URIs, a ``data:`` photo, no ``FN`` on one card) and a damaged
file. Every test runs the real ``coffeechat`` command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import Runner, log_bytes

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PHONE = str(FIXTURES / "vcard" / "iphone-3.0.vcf")
NEXTCLOUD = str(FIXTURES / "vcard" / "nextcloud-4.0.vcf")
DAMAGED = str(FIXTURES / "vcard" / "damaged.vcf")
LINKEDIN = str(FIXTURES / "linkedin" / "Connections.csv")


def ok(result: Any) -> Any:
    assert result.status == 0, (result.stdout, result.stderr)
    return result


def shown(cli: Runner, handle: str) -> dict[str, Any]:
    contact: dict[str, Any] = ok(cli("--json", "show", handle)).json()
    return contact


def test_import_vcard_with_a_phone_export_reads_every_card(cli: Runner) -> None:
    result = ok(cli("--json", "import", "vcard", PHONE))

    events = result.json()
    assert [(e["type"], e["contact"], e["source"]) for e in events] == [
        ("contact.added", "grace-hopper", "vcard"),
        ("contact.added", "ada-lovelace", "vcard"),
        ("contact.added", "jurgen-muller", "vcard"),
        ("contact.added", "frances-allen", "vcard"),
    ]
    assert "summary: vcard: 4 added, 0 updated, 0 unchanged, 0 skipped" in result.stderr
    grace = shown(cli, "grace-hopper")
    assert grace["email"] == "grace@example.org"  # the preferred one of two
    assert grace["phone"] == "+1 617 555 0100"
    assert grace["company"] == "Harvard Computation Lab"
    assert grace["role"] == "Senior Programmer"
    assert grace["linkedin"] == "https://www.linkedin.com/in/grace-hopper"  # X-SOCIALPROFILE
    assert grace["how_met"] is None and grace["connected_on"] is None
    assert shown(cli, "ada-lovelace")["company"] == "Analytical Engines"  # folded mid-word
    jurgen = shown(cli, "jurgen-muller")
    assert jurgen["name"] == "Jürgen Müller"  # quoted-printable, UTF-8
    assert jurgen["company"] == "Technische Universität Berlin Fakultät für Informatik"
    frances = shown(cli, "frances-allen")  # no FN: the given and family names of N
    assert (frances["name"], frances["email"], frances["role"]) == (
        "Frances Allen",
        "fran@example.com",
        "Fellow",
    )


def test_import_vcard_with_a_4_0_export_reads_every_card(cli: Runner) -> None:
    ok(cli("import", "vcard", NEXTCLOUD))

    katherine = shown(cli, "katherine-johnson")
    assert katherine["email"] == "kjohnson@nasa.example.gov"  # PREF=1, though listed second
    assert katherine["phone"] == "+1-757-555-0199"  # a tel: URI
    assert katherine["company"] == "NASA Langley"  # ORG's first part
    assert katherine["linkedin"] == "https://www.linkedin.com/in/katherine-johnson-nasa"
    margaret = shown(cli, "margaret-hamilton")  # no FN at all
    assert margaret["name"] == "Margaret Hamilton"
    assert margaret["role"] == "Director of Software Engineering"
    assert shown(cli, "tim-berners-lee")["role"] == "Fellow, Information Systems"  # unescaped


def test_import_vcard_again_appends_nothing(cli: Runner, home: Path) -> None:
    ok(cli("import", "vcard", PHONE))
    ok(cli("import", "vcard", NEXTCLOUD))
    before = log_bytes(home)

    for path in (PHONE, NEXTCLOUD):
        again = ok(cli("--json", "import", "vcard", path))
        assert again.json() == []

    assert log_bytes(home) == before


def test_import_vcard_matches_contacts_by_email_then_name(cli: Runner) -> None:
    ok(cli("add", "Amazing Grace", "--email", "GRACE@example.org", "--role", "Rear admiral"))
    ok(cli("add", "Ada Lovelace", "--learn", "notation"))

    events = ok(cli("--json", "import", "vcard", PHONE)).json()

    updated = {e["contact"] for e in events if e["type"] == "contact.updated"}
    added = {e["contact"] for e in events if e["type"] == "contact.added"}
    assert updated == {"amazing-grace", "ada-lovelace"}
    assert added == {"jurgen-muller", "frances-allen"}
    grace = shown(cli, "amazing-grace")
    assert grace["name"] == "Amazing Grace"  # yours: kept
    assert grace["role"] == "Rear admiral"
    assert grace["company"] == "Harvard Computation Lab"  # missing: filled in
    assert shown(cli, "ada-lovelace")["learn"] == "notation"


def test_import_vcard_and_linkedin_meet_on_the_profile_url(cli: Runner) -> None:
    ok(cli("import", "vcard", PHONE))

    events = ok(cli("--json", "import", "linkedin", LINKEDIN)).json()

    grace = [e for e in events if e["contact"] == "grace-hopper"]
    assert [e["type"] for e in grace] == ["contact.updated"]
    # The first LinkedIn import onto a contact keeps what the phone said: not a move.
    assert shown(cli, "grace-hopper")["company"] == "Harvard Computation Lab"
    agenda = ok(cli("--json", "agenda", "--days", "30")).json()
    assert not [r for r in agenda["reminders"] if r["kind"] == "congratulate"]


def test_import_vcard_with_damaged_cards_names_each_and_imports_the_rest(cli: Runner) -> None:
    result = ok(cli("import", "vcard", DAMAGED))

    assert result.stderr.splitlines() == [
        "warning: damaged.vcf:1: the card never ends (no END:VCARD); skipped",
        "warning: damaged.vcf:10: a card with no name (no FN, and N is empty); skipped",
        "warning: damaged.vcf:17: can't read the card: 'utf-8' codec can't decode byte 0xff "
        "in position 16: invalid start byte; skipped",
    ]
    assert result.stdout.splitlines()[-1] == (
        "vcard: 2 added, 0 updated, 0 unchanged, 3 skipped (damaged.vcf)"
    )
    assert [row["handle"] for row in ok(cli("--json", "ls")).json()] == [
        "ada-lovelace",
        "grace-hopper",
    ]


def test_import_vcard_dry_run_records_nothing(cli: Runner, home: Path) -> None:
    ok(cli("import", "vcard", PHONE))
    before = log_bytes(home)

    result = ok(cli("import", "vcard", NEXTCLOUD, "--dry-run"))

    assert result.stdout.splitlines() == [
        "would add Katherine Johnson (katherine-johnson)",
        "would add Margaret Hamilton (margaret-hamilton)",
        "would add Tim Berners-Lee (tim-berners-lee)",
        "dry run: would add 3, update 0; 0 unchanged, 0 skipped; nothing recorded",
    ]
    assert log_bytes(home) == before


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (Path(LINKEDIN).read_bytes(), "not a vCard file: no BEGIN:VCARD line found"),
        (b"", "not a vCard file"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "not a vCard file"),
        (b"BEGIN:VCARD\r\nFN:\xff\xfe\r\nEND:VCARD\r\n", "line 2 is not UTF-8 text"),
    ],
    ids=["linkedin-csv", "empty", "icalendar", "not-utf8"],
)
def test_import_vcard_with_a_file_that_is_no_vcard_exits_2_and_appends_nothing(
    cli: Runner, home: Path, tmp_path: Path, content: bytes, says: str
) -> None:
    ok(cli("add", "Ada Lovelace"))
    before = log_bytes(home)
    path = tmp_path / "contacts.vcf"
    path.write_bytes(content)

    result = cli("import", "vcard", str(path))

    assert result.status == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("coffeechat import: contacts.vcf: ")
    assert result.stderr.splitlines() == [f"coffeechat import: contacts.vcf: {says}"] or (
        len(result.stderr.splitlines()) == 1 and says in result.stderr
    )
    assert log_bytes(home) == before


def test_import_vcard_help_names_the_formats(cli: Runner) -> None:
    result = ok(cli("import", "--help"))
    assert "linkedin" in result.stdout and "vcard" in result.stdout
    assert "--dry-run" in ok(cli("import", "vcard", "--help")).stdout
