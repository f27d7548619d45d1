"""Only ``serve`` pays for the dashboard: no other command loads coffeechat.web, the HTTP
server or pygal (recording commands must stay fast: FACTS.md, bench/bench_record.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import DEFAULT_NOW

WEB = ("coffeechat.web", "pygal", "http.server", "selenium")


def web_modules_loaded_by(home: Path, *arguments: str, also: str = "") -> set[str]:
    """Run the command line in a fresh interpreter; return the modules of :data:`WEB` (and
    their submodules) it loaded. ``also`` is a statement run after the command."""
    probe = (
        "import sys\n"
        "from coffeechat.daemon.cli import main\n"
        f"status = main(['--home', {str(home)!r}, *{list(arguments)!r}])\n"
        "assert status == 0, status\n"
        f"{also}\n"
        f"web = {WEB!r}\n"
        "print(' '.join(sorted(n for n in sys.modules if n.startswith(web))))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"COFFEECHAT_NOW": DEFAULT_NOW, "TZ": "Europe/Paris", "PATH": "/usr/bin:/bin"},
    )
    return set(completed.stdout.split("\n")[-2].split())


def test_recording_and_reading_commands_load_nothing_of_the_dashboard(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for arguments in (
        ("add", "Ada Lovelace", "--learn", "how she got started"),
        ("plan", "ada"),
        ("reach", "ada"),
        ("note", "ada", "likes tea"),
        ("schedule", "ada", "tomorrow 10:00"),
        ("ls",),
        ("show", "ada"),
        ("agenda",),
        ("insights",),
    ):
        assert web_modules_loaded_by(home, *arguments) == set(), arguments


def test_the_probe_sees_the_dashboard_when_it_is_loaded(tmp_path: Path) -> None:
    # The check above would pass with a broken probe; this shows the probe does see it.
    loaded = web_modules_loaded_by(
        tmp_path / "home", "add", "Ada", also="import coffeechat.web.server, coffeechat.web.charts"
    )
    assert {"coffeechat.web.server", "coffeechat.web.charts", "pygal", "http.server"} <= loaded
