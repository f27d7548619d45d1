"""Recording one event (``coffeechat note``) into a realistic home of 10,000 events.

CPU time of the command's process (user + system, median of ``--runs``), compared in the
same run with ``python -c pass`` from the same interpreter, with the floor no recording
command can go under (``import msgspec, argparse``, measured under the console script's GC
setting: collector off from the start, ``gc.freeze()`` at the end, as
``coffeechat.daemon.console`` does) and, when Taskwarrior is installed (Debian:
``apt-get install taskwarrior``), with ``task add`` on 10,000 pending tasks.
Goals: at most 4x ``python -c pass``; at most 0.8x ``task add`` (issue #11).

    python bench/bench_record.py [--runs 30] [--events 10000]

Run it from an environment where coffeechat is installed normally (``pip install .``),
as ``bench/run`` does: an editable install adds an import hook to every start.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_table import FLOOR_CODE
from common import CpuMeter, bench_home, rusage_launcher
from peers import taskwarrior_data

FORBIDDEN = ("apprise", "watchdog", "croniter")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--events", type=int, default=10_000)
    options = parser.parse_args()

    coffeechat = str(Path(sys.executable).with_name("coffeechat"))
    with tempfile.TemporaryDirectory() as directory:
        home = bench_home(Path(directory), options.events)
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
            # The floor: the two libraries a recording command cannot do without, under
            # the GC setting of the console script (or the floor pays for collections).
            "import msgspec, argparse": [sys.executable, "-c", FLOOR_CODE],
            "coffeechat note": [coffeechat, "--home", str(home), "note", "person-1", "bench note"],
        }
        task_env = taskwarrior_data(Path(directory), options.events)
        if task_env is not None:
            commands["task add"] = ["task", "add", "benchmark task"]
        meter = CpuMeter(rusage_launcher(), Path(directory) / "scratch")
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for run in range(options.runs + 1):  # taking turns; the first round is a warm-up
            for name, command in commands.items():
                usage = meter.measure(command, task_env if name == "task add" else None)
                if run:
                    cpu[name].append(usage.cpu)
        results = {name: statistics.median(values) for name, values in cpu.items()}

    reference = results["python -c pass"]
    print(
        f"recording one event into a home of {options.events:,} events, CPU time, "
        f"median of {options.runs}"
    )
    for name, seconds in results.items():
        print(f"  {name:<26} {seconds * 1000:7.1f} ms   {seconds / reference:4.1f}x python -c pass")
    if task_env is None:
        print("  (task add: Taskwarrior is not installed; apt-get install taskwarrior)")
    else:
        ratio = results["coffeechat note"] / results["task add"]
        print(f"  coffeechat note / task add: {ratio:.2f} (goal <= 0.8)")
    heavy = (loaded[0].removeprefix("HEAVY:") or "none") if loaded else "?"
    print(f"  modules of {FORBIDDEN} loaded to record: {heavy}")


if __name__ == "__main__":
    main()
