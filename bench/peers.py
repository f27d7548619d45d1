"""The peers coffeechat is measured against, with data as their users have it.

- Taskwarrior 2.6 (Debian ``taskwarrior``): a data folder of ``tasks`` pending tasks (a third
  with a due date, some overdue; projects, tags, priorities) and half as many completed ones,
  written in its own file format (FF4), so building 10,000 takes no time.
- remind (Debian ``remind``): a file of ``reminders`` reminders: dated ones (past and
  coming), weekly and monthly ones, some with advance warning and a time.

Both are built at fixed sizes, whatever the size of the coffeechat home: a heavy
Taskwarrior user's 10,000 tasks, 2,000 reminders (as many as a 100,000-event home has
contacts). In the plot they are horizontal lines.

When a program is missing, :func:`ensure_installed` installs it with apt-get when it can
(root, apt-get present); otherwise the peer's column is left empty with a note.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEBIAN_PACKAGES = {"task": "taskwarrior", "remind": "remind"}


def ensure_installed(program: str) -> str | None:
    """Return the path of ``program``, installing its Debian package if possible; None when
    it is missing and cannot be installed (not root, no apt-get, no network)."""
    found = shutil.which(program)
    if found or shutil.which("apt-get") is None or os.geteuid() != 0:
        return found
    package = DEBIAN_PACKAGES[program]
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "install", "-y", "-qq", package],
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", package],
    ):
        done = subprocess.run(command, env=environment, capture_output=True).returncode == 0
        if done and command[1] == "install":
            break
    return shutil.which(program)


def _field(name: str, value: str) -> str:
    return f'{name}:"{value}"'


def taskwarrior_data(folder: Path, tasks: int, seed: int = 5) -> dict[str, str] | None:
    """Write a Taskwarrior data folder with ``tasks`` pending tasks (and ``tasks // 2``
    completed) under ``folder``; return the environment that points ``task`` at it, or None
    when Taskwarrior is not installed."""
    if ensure_installed("task") is None:
        return None
    chooser = random.Random(seed)
    data = folder / "taskdata"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    now = int(datetime.now(UTC).timestamp())
    projects = ["home", "work.reports", "work.hiring", "garden", "reading", "health"]
    tags = ["next", "phone", "errand", "waiting", "someday"]

    def line(number: int, status: str) -> str:
        entry = now - chooser.randint(1, 3 * 365) * 86_400
        fields = {
            "description": f"task {number}: follow up on the {chooser.choice(tags)} item",
            "entry": str(entry),
            "modified": str(entry),
            "status": status,
            "uuid": str(uuid.UUID(int=chooser.getrandbits(128), version=4)),
        }
        if chooser.random() < 0.6:
            fields["project"] = chooser.choice(projects)
        if chooser.random() < 0.33:  # due: a fifth of them already overdue
            fields["due"] = str(now + chooser.randint(-30, 120) * 86_400)
        if chooser.random() < 0.2:
            fields["priority"] = chooser.choice("HML")
        if chooser.random() < 0.4:
            tag = chooser.choice(tags)
            fields["tags"] = tag
            fields[f"tags_{tag}"] = "x"
        if status == "completed":
            fields["end"] = str(entry + 86_400)
        return "[" + " ".join(_field(name, fields[name]) for name in sorted(fields)) + "]\n"

    (data / "pending.data").write_text("".join(line(n, "pending") for n in range(tasks)))
    completed = "".join(line(n, "completed") for n in range(tasks, tasks + tasks // 2))
    (data / "completed.data").write_text(completed)
    rc = folder / "taskrc"
    rc.write_text(f"data.location={data}\nconfirmation=off\nverbose=nothing\nnews.version=2.6.0\n")
    environment = {"TASKRC": str(rc)}
    check = subprocess.run(
        ["task", "count", "status:pending"],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    if int(check.stdout.strip() or 0) != tasks:
        raise RuntimeError(f"Taskwarrior reads {check.stdout.strip()} tasks, not {tasks}")
    return environment


def remind_file(folder: Path, reminders: int, seed: int = 5) -> Path | None:
    """Write a remind(1) file of ``reminders`` reminders under ``folder``; return its path,
    or None when remind is not installed."""
    if ensure_installed("remind") is None:
        return None
    chooser = random.Random(seed)
    today = datetime.now(UTC).date()
    weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri"]
    lines = []
    for number in range(reminders):
        kind = chooser.random()
        if kind < 0.6:  # one date, from a year ago to a year ahead
            day = today + timedelta(days=chooser.randint(-365, 365))
            when = f"{day:%d %b %Y}"
        elif kind < 0.8:
            when = chooser.choice(weekdays)
        else:
            when = str(chooser.randint(1, 28))
        warning = f" +{chooser.randint(1, 7)}" if chooser.random() < 0.3 else ""
        at = f" AT {chooser.randint(8, 18)}:00" if chooser.random() < 0.5 else ""
        lines.append(f"REM {when}{warning}{at} MSG reminder {number}: call about the role\n")
    path = folder / "reminders.rem"
    path.write_text("".join(lines))
    return path
