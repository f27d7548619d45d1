"""``show`` and ``ls`` on a log of 100,000 events, with and without the snapshot.

Cold: the cache is deleted before every run (a full replay). Warm: the snapshot is
current (what every command but the first finds). Reference: ``python -c pass``.

    python bench/bench_read.py [--runs 15] [--events 100000] [--contacts 2000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import bench_home, milliseconds


def timed(command: list[str], runs: int, before: object = None) -> float:
    timings = []
    for run in range(runs + 1):
        if callable(before):
            before()
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        if run:
            timings.append(time.perf_counter() - began)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=2_000)
    options = parser.parse_args()
    coffeechat = str(Path(sys.executable).with_name("coffeechat"))
    with tempfile.TemporaryDirectory() as directory:
        home = bench_home(Path(directory), options.events, options.contacts)
        cache = home / "cache"

        def drop_cache() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        results = {"python -c pass": timed([sys.executable, "-c", "pass"], options.runs)}
        for name in ("ls", "show person-7"):
            command = [coffeechat, "--home", str(home), *name.split()]
            results[f"{name} (cold)"] = timed(command, options.runs, drop_cache)
            results[f"{name} (warm)"] = timed(command, options.runs)
    reference = results["python -c pass"]
    print(
        f"reading a log of {options.events:,} events, {options.contacts:,} contacts, "
        f"median of {options.runs}"
    )
    for name, seconds in results.items():
        print(
            f"  {name:<20} {milliseconds(seconds):>10}   {seconds / reference:5.1f}x python -c pass"
        )


if __name__ == "__main__":
    main()
