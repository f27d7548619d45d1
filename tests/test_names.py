"""People from everywhere: handles transliterate, lookups accept accents or none, an exact
name wins, and ``ls`` sorts as a person reads (refs #10, section 2).

Run through the real command line on real homes; an old log is written by hand as an
older coffeechat wrote it (a handle that dropped its letters), to show existing handles
never change and are still found.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Runner
from test_startup import modules_loaded_by

from coffeechat.events.contacts import slugify
from coffeechat.events.names import ascii_key


@pytest.mark.parametrize(
    ("name", "handle"),
    [
        ("Søren Kierkegaard", "soren-kierkegaard"),
        ("Łukasz Nowak", "lukasz-nowak"),
        ("Straße", "strasse"),
        ("Ada 李", "ada-li"),
        ("Zoë Saldaña", "zoe-saldana"),
        ("Ada Lovelace", "ada-lovelace"),
        ("!!!", "contact"),
    ],
)
def test_slugify_with_letters_outside_ascii_transliterates_them(name: str, handle: str):
    assert slugify(name) == handle


def test_add_with_a_nordic_name_gives_a_handle_that_show_finds_without_accents(cli: Runner):
    added = cli("--json", "add", "Søren Kierkegaard")
    assert added.status == 0, added.stderr
    assert added.json()[0]["contact"] == "soren-kierkegaard"
    for query in ("soren", "Søren", "SOREN K", "soren-kierkegaard"):
        shown = cli("--json", "show", query)
        assert shown.status == 0, (query, shown.stderr)
        assert shown.json()["handle"] == "soren-kierkegaard"


def _old_log(home: Path) -> None:
    """A log as the previous version wrote it: Søren's handle lost its ø."""
    (home / "log").mkdir(parents=True)
    (home / "device").write_text("laptop-0a1b2c\n")
    line = {
        "type": "contact.added",
        "id": "01KB0Y3ZQ6M5V8D0J9W1C4T7XE",
        "v": 1,
        "recorded": "2026-11-20T10:00:00Z",
        "device": "laptop-0a1b2c",
        "at": "2026-11-20T10:00:00Z",
        "contact": "sren-kierkegaard",
        "name": "Søren Kierkegaard",
    }
    (home / "log" / "laptop-0a1b2c.jsonl").write_text(json.dumps(line) + "\n")


def test_an_existing_handle_never_changes_and_is_found_by_its_transliteration(
    cli: Runner, home: Path
):
    _old_log(home)
    for query in ("soren", "Søren Kierkegaard", "sren"):
        shown = cli("--json", "show", query)
        assert shown.status == 0, (query, shown.stderr)
        assert shown.json()["handle"] == "sren-kierkegaard"
    noted = cli("--json", "note", "soren", "reads Hegel")
    assert noted.status == 0, noted.stderr
    assert noted.json()[0]["contact"] == "sren-kierkegaard"


def test_resolve_with_an_exact_name_that_starts_a_longer_one_takes_the_exact(cli: Runner):
    assert cli("add", "Lars Ölund").status == 0
    assert cli("add", "Lars Ölundberg").status == 0
    for query, handle in (
        ("Lars Ölund", "lars-olund"),
        ("lars olund", "lars-olund"),
        ("Lars Ölundberg", "lars-olundberg"),
    ):
        shown = cli("--json", "show", query)
        assert shown.status == 0, (query, shown.stderr)
        assert shown.json()["handle"] == handle
    ambiguous = cli("show", "lars")
    assert ambiguous.status == 2
    assert "lars-olund (Lars Ölund)" in ambiguous.stderr
    assert "lars-olundberg (Lars Ölundberg)" in ambiguous.stderr


def test_ls_sorts_by_the_transliterated_casefolded_name(cli: Runner):
    for name in ("Zoe Ball", "Ñandú Pérez", "Nadia Boulanger", "Über Alles", "Oscar Wilde"):
        assert cli("add", name).status == 0
    listed = cli("--json", "ls")
    assert listed.status == 0, listed.stderr
    names = [row["name"] for row in listed.json()]
    assert names == ["Nadia Boulanger", "Ñandú Pérez", "Oscar Wilde", "Über Alles", "Zoe Ball"]


def test_ascii_key_folds_case_spacing_and_accents():
    assert ascii_key("  Søren   KIERKEGAARD ") == "soren kierkegaard"
    assert ascii_key("Ada Lovelace") == "ada lovelace"


def test_recording_an_ascii_name_and_reading_never_import_the_transliteration(tmp_path: Path):
    home = tmp_path / "home"
    assert "anyascii" not in modules_loaded_by(home, "add", "Ada Lovelace")
    # A non-ASCII name needs it once, to make the handle and the key ...
    assert "anyascii" in modules_loaded_by(home, "add", "Søren Kierkegaard")
    # ... then reads sort and match from the projection's key.
    for arguments in (("ls",), ("show", "soren"), ("note", "ada", "more tea")):
        assert "anyascii" not in modules_loaded_by(home, *arguments), arguments
