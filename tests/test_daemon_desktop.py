"""The daemon on a real desktop: a D-Bus session bus and dunst under Xvfb.

With no channel configured, reminders go to the desktop (and the daemon's log); the
"Done" button on the notification records ``reminder.done`` as the command line would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from conftest import COMMAND, run_coffeechat
from desktop_session import DesktopSession, desktop_session_fixture, wait_until  # noqa: F401


def test_daemon_with_a_desktop_and_no_channel_configured_notifies_and_takes_done(
    tmp_path: Path, desktop_session: DesktopSession
):
    home = tmp_path / "home"
    for arguments in (("add", "Ada Lovelace", "--at", "-2d"), ("met", "ada", "--at", "-3h")):
        result = run_coffeechat(home, *arguments, now=None)
        assert result.status == 0, result.stderr
    environment = {k: v for k, v in os.environ.items() if not k.startswith("COFFEECHAT_")}
    environment.update(desktop_session.environ(), TZ="Europe/Paris")
    daemon = subprocess.Popen(
        [COMMAND, "--home", str(home), "daemon"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: desktop_session.count() >= 1, timeout=15, what="the notification")
        desktop_session.invoke_action("done")

        def done_recorded() -> bool:
            # Done on a thank-you records the thank-you, as 'coffeechat done' does.
            log = run_coffeechat(home, "log", "--json", now=None).json()
            return any(event["type"] == "thanks.sent" for event in log)

        wait_until(done_recorded, timeout=10, what="thanks.sent in the log")
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=15)
    assert daemon.returncode == 0, stderr
    desktop_session.close_all()
    shown = json.dumps(desktop_session.history())
    assert "Thank-you owed" in shown and "Ada Lovelace" in shown
    agenda = run_coffeechat(home, "agenda", "--json", now=None).json()
    assert not [r for r in agenda["reminders"] if r["kind"] == "thank-you"]
    shown_contact = run_coffeechat(home, "show", "ada", "--json", now=None).json()
    assert shown_contact["stage"] == "thanked"
    assert "done from a notification" in stderr
