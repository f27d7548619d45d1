"""``coffeechat demo``: a sample journey recorded into a temporary home, then shown.

It drives the real command line (the same ``main`` a user runs) against a fresh home,
with ``--at`` placing each step in the past weeks, so what it prints is exactly what
those commands print.
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from datetime import timedelta

from coffeechat.daemon.cli.app import App


def _journey(day: dict[int, str]) -> list[list[str]]:
    return [
        [
            "add",
            "Ada Lovelace",
            "--company",
            "Analytical Engines",
            "--role",
            "Research engineer",
            "--industry",
            "Computing",
            "--tz",
            "Europe/London",
            "--how-met",
            "her talk at PyCon",
            "--learn",
            "how she moved from mathematics into engineering",
            "--at",
            day[30],
        ],
        ["plan", "ada", "--at", day[29]],
        ["reach", "ada", "--channel", "email", "--at", f"{day[28]} 09:30"],
        ["reply", "ada", "--at", day[26]],
        [
            "schedule",
            "ada",
            f"{day[20]} 15:00",
            "--mode",
            "video",
            "--minutes",
            "30",
            "--at",
            day[26],
        ],
        [
            "met",
            "ada",
            "--learned",
            "research engineering is half writing",
            "--fit",
            "4",
            "--asked",
            "an introduction to someone in policy",
            "--at",
            f"{day[20]} 15:30",
        ],
        ["thank", "ada", "--at", f"{day[20]} 17:00"],
        [
            "intro",
            "ada",
            "Grace Hopper",
            "--company",
            "US Navy",
            "--role",
            "Rear admiral",
            "--industry",
            "Public sector",
            "--at",
            day[15],
        ],
        [
            "add",
            "Alan Turing",
            "--company",
            "Bletchley Park",
            "--role",
            "Cryptanalyst",
            "--learn",
            "what a week of codebreaking looks like",
            "--at",
            day[10],
        ],
        ["reach", "alan", "--channel", "linkedin", "--at", f"{day[9]} 10:00"],
        ["note", "ada", "prefers mornings; ask about the Engine's notes", "--at", day[5]],
    ]


def run_demo(app: App, *, keep: bool = False) -> int:
    """Record the sample journey into a new temporary home, show it, and tidy up."""
    from coffeechat.daemon.cli import main

    home = tempfile.mkdtemp(prefix="coffeechat-demo-")
    now = app.now.astimezone(app.zone)
    day = {n: f"{(now - timedelta(days=n)):%Y-%m-%d}" for n in range(0, 31)}
    try:
        for arguments in _journey(day):
            app.out(f"$ coffeechat {shlex.join(arguments)}")
            app.stdout.flush()
            status = main(["--home", home, *arguments])
            if status != 0:
                return status
        for arguments in (["ls"], ["show", "ada"]):
            app.out(f"\n$ coffeechat {shlex.join(arguments)}")
            app.stdout.flush()
            main(["--home", home, *arguments])
    finally:
        if keep:
            app.out(f"\nthe demo home is kept: coffeechat --home {home} ls")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 0
