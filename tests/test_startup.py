"""The command line starts light: recording an event loads none of the heavy services."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("apprise", "watchdog", "croniter")


def modules_loaded_by(
    home: Path, *arguments: str, every: bool = False, env: dict[str, str] | None = None
) -> set[str]:
    """Run the command line in a fresh interpreter and return the modules it loaded.

    Top-level package names by default; every dotted module name with ``every=True``.
    ``env`` replaces the environment of the fresh interpreter when given.
    """
    names = "sys.modules" if every else "{name.split('.')[0] for name in sys.modules}"
    probe = (
        "import sys\n"
        "from coffeechat.daemon.cli import main\n"
        f"status = main(['--home', {str(home)!r}, *{list(arguments)!r}])\n"
        "assert status == 0, status\n"
        f"print(' '.join(sorted({names})))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    )
    return set(completed.stdout.split("\n")[-2].split())


def test_recording_commands_with_a_log_load_no_heavy_module(tmp_path: Path):
    home = tmp_path / "home"
    assert "msgspec" in modules_loaded_by(home, "add", "Ada Lovelace")
    for arguments in (
        ("note", "ada", "likes tea"),
        ("reach", "ada", "--learn", "how she got started"),
        ("schedule", "ada", "tomorrow 10:00"),
    ):
        loaded = modules_loaded_by(home, *arguments)
        assert not loaded & set(HEAVY), (arguments, loaded & set(HEAVY))
    for arguments in (("ls",), ("show", "ada"), ("agenda",)):
        # Reading commands evaluate the rules (croniter) but never deliver anything.
        loaded = modules_loaded_by(home, *arguments)
        assert not loaded & {"apprise", "watchdog"}, (arguments, loaded)


def test_every_with_a_cron_loads_croniter_only_then(tmp_path: Path):
    # The probe above would miss a broken detector; this shows it does see croniter.
    loaded = modules_loaded_by(tmp_path / "home", "every", "0 9 * * MON", "plan the week")
    assert "croniter" in loaded


def test_agenda_with_send_windows_already_listed_does_not_load_croniter(tmp_path: Path):
    home = tmp_path / "home"
    modules_loaded_by(home, "add", "Ada Lovelace", "--tz", "Asia/Tokyo")
    modules_loaded_by(home, "plan", "ada")  # a reach-out due at her next send window
    first = modules_loaded_by(home, "agenda", "--days", "30")
    assert "croniter" in first  # the windows were listed once, with croniter …
    assert (home / "cache" / "windows.msgpack").exists()
    for arguments in (("agenda", "--days", "30"), ("ls",), ("show", "ada")):
        # … and read from the home's cache from then on.
        assert "croniter" not in modules_loaded_by(home, *arguments), arguments
