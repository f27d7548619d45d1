"""Recording one event (``coffeechat note``) into a log of 10,000 events.

Compared in the same run with ``python -c pass`` from the same interpreter and, when
Taskwarrior is installed (Debian: ``apt-get install taskwarrior``), with ``task add``
on a task list of 10,000 pending tasks. Goal: at most 4x ``python -c pass``.

    python bench/bench_record.py [--runs 30] [--events 10000]

Run it from an environment where coffeechat is installed normally (``pip install .``),
as ``bench/run`` does: an editable install adds an import hook to every start.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from common import bench_home, interleaved_medians, milliseconds

FORBIDDEN = ("apprise", "watchdog", "croniter")


def taskwarrior_home(folder: Path, tasks: int) -> dict[str, str] | None:
    """Make a Taskwarrior data folder with ``tasks`` pending tasks; None without ``task``."""
    if shutil.which("task") is None:
        return None
    data = folder / "taskdata"
    data.mkdir()  # Taskwarrior 2.6 crashes when data.location does not exist
    rc = folder / "taskrc"
    rc.write_text(f"data.location={data}\nconfirmation=off\nverbose=nothing\n")
    env = {"TASKRC": str(rc)}
    tasks_file = folder / "tasks.json"
    tasks_file.write_text(
        json.dumps(
            [
                {
                    "uuid": str(uuid.uuid4()),
                    "description": f"task {n}",
                    "status": "pending",
                    "entry": "20240101T000000Z",
                }
                for n in range(tasks)
            ]
        )
    )
    subprocess.run(
        ["task", "import", str(tasks_file)],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--events", type=int, default=10_000)
    options = parser.parse_args()

    coffeechat = str(Path(sys.executable).with_name("coffeechat"))
    with tempfile.TemporaryDirectory() as directory:
        home = bench_home(Path(directory), options.events, max(1, options.events // 20))
        subprocess.run([coffeechat, "--home", str(home), "ls"], check=True, capture_output=True)

        probe = (
            "import sys; from coffeechat.daemon.cli import main; "
            f"main(['--home', {str(home)!r}, 'note', 'person-1', 'probe']); "
            f"print('HEAVY:' + ','.join(m for m in {FORBIDDEN!r} if m in sys.modules))"
        )
        loaded = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        loaded = [line for line in loaded if line.startswith("HEAVY:")]

        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            # The floor: the two libraries a recording command cannot do without.
            "import msgspec, argparse": [sys.executable, "-c", "import msgspec, argparse"],
            "coffeechat note": [coffeechat, "--home", str(home), "note", "person-1", "bench note"],
        }
        task_env = taskwarrior_home(Path(directory), options.events)
        if task_env is not None:
            commands["task add"] = ["task", "add", "benchmark task"]
        results = interleaved_medians(commands, options.runs, env=task_env)

    reference = results["python -c pass"]
    print(f"recording one event into a log of {options.events:,} events, median of {options.runs}")
    for name, seconds in results.items():
        print(
            f"  {name:<24} {milliseconds(seconds):>9}   {seconds / reference:4.1f}x python -c pass"
        )
    if task_env is None:
        print("  (task add: Taskwarrior is not installed; apt-get install taskwarrior)")
    else:
        print(
            f"  coffeechat note / task add: {results['coffeechat note'] / results['task add']:.2f}"
        )
    heavy = (loaded[0].removeprefix("HEAVY:") or "none") if loaded else "?"
    print(f"  modules of {FORBIDDEN} loaded to record: {heavy}")


if __name__ == "__main__":
    main()
