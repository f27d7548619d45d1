"""The example plugin package, installed into a fresh environment, is found and used.

``plugins/examples/coffeechat-birthdays`` declares the entry-point group ``coffeechat``;
installed beside coffeechat, its rule, settings section, command and channel all work.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from venvs import build_wheel, fresh_environment

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "plugins" / "examples" / "coffeechat-birthdays"
NOW = "2026-12-07T10:00:00+01:00"


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = [
        build_wheel(ROOT, tmp_path_factory.mktemp("coffeechat")),
        build_wheel(EXAMPLE, tmp_path_factory.mktemp("birthdays")),
    ]
    interpreter, _ = fresh_environment(tmp_path_factory.mktemp("venv") / "env", wheels)
    return interpreter


def coffeechat(python: Path, home: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(python),
            "-c",
            "import sys; from coffeechat.daemon.cli import main; sys.exit(main(sys.argv[1:]))",
            "--home",
            str(home),
            *arguments,
        ],
        capture_output=True,
        text=True,
        env={"COFFEECHAT_NOW": NOW, "TZ": "Europe/Paris", "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_example_plugin_installed_is_found_through_its_entry_point(python: Path, tmp_path: Path):
    (tmp_path / "home").mkdir(mode=0o700)  # an empty home (a missing one is exit 2)
    listed = coffeechat(python, tmp_path / "home", "plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    birthdays = next(p for p in json.loads(listed.stdout)["plugins"] if p["name"] == "birthdays")
    assert birthdays["source"].startswith("entry point coffeechat_birthdays (coffeechat")
    assert birthdays["version"] == "0.1.0"  # its distribution's
    assert birthdays["hooks"] == [
        "coffeechat_channels",
        "coffeechat_commands",
        "coffeechat_event_recorded",
        "coffeechat_reminders",
        "coffeechat_settings",
    ]


def test_example_plugin_rule_reads_its_section_and_joins_the_agenda(python: Path, tmp_path: Path):
    home = tmp_path / "home"
    assert coffeechat(python, home, "add", "Ada Lovelace").returncode == 0
    (home / "config.toml").write_text(
        'timezone = "Europe/Paris"\n[birthdays]\ndays_before = 2\n'
        'dates = { ada-lovelace = "12-10" }\n'
    )
    agenda = coffeechat(python, home, "agenda", "--json")
    assert agenda.returncode == 0, agenda.stderr
    (birthday,) = [r for r in json.loads(agenda.stdout)["reminders"] if r["kind"] == "birthday"]
    assert birthday["due"] == "2026-12-08T09:00:00+01:00"
    assert birthday["contact"] == "ada-lovelace" and "Thursday 10 December" in birthday["message"]
    listed = coffeechat(python, home, "birthdays", "--days", "30")
    assert listed.returncode == 0, listed.stderr
    assert "Ada Lovelace's birthday" in listed.stdout


def test_example_plugin_without_it_selected_adds_nothing(python: Path, tmp_path: Path):
    home = tmp_path / "home"
    coffeechat(python, home, "add", "Ada Lovelace")
    (home / "config.toml").write_text('[birthdays]\ndates = { ada-lovelace = "12-10" }\n')
    result = subprocess.run(
        [
            str(python),
            "-c",
            "import sys; from coffeechat.daemon.cli import main; sys.exit(main(sys.argv[1:]))",
            "--home",
            str(home),
            "agenda",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"COFFEECHAT_NOW": NOW, "TZ": "Europe/Paris", "COFFEECHAT_PLUGINS": ""},
    )
    assert result.returncode == 0, result.stderr
    assert not [r for r in json.loads(result.stdout)["reminders"] if r["kind"] == "birthday"]
    assert "[birthdays] is not used by any installed plugin" in result.stderr
