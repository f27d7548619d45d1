"""``show`` and ``ls`` on a log of 100,000 events, with and without the snapshot.

Cold: the cache is deleted before every run (a full replay). Warm: the snapshot is
current (what every command but the first finds). Reference: ``python -c pass``.
The runs take turns, so a burst of load on a shared machine hits them all alike.

    python bench/bench_read.py [--runs 15] [--events 100000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from common import bench_home, interleaved_medians, milliseconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--events", type=int, default=100_000)
    options = parser.parse_args()
    coffeechat = str(Path(sys.executable).with_name("coffeechat"))
    with tempfile.TemporaryDirectory() as directory:
        home = bench_home(Path(directory), options.events)
        cache = home / "cache"

        def drop_cache() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        commands: dict[str, list[str]] = {"python -c pass": [sys.executable, "-c", "pass"]}
        for name in ("ls", "show person-7"):
            command = [coffeechat, "--home", str(home), *name.split()]
            # Each cold run replays and writes the snapshot, so the warm one that
            # follows finds it current.
            commands[f"{name} (cold)"] = command
            commands[f"{name} (warm)"] = command
        cold = {name: drop_cache for name in commands if name.endswith("(cold)")}
        results = interleaved_medians(commands, options.runs, before=cold)
    reference = results["python -c pass"]
    print(
        f"reading a log of {options.events:,} events, {options.events // 50:,} contacts, "
        f"median of {options.runs}"
    )
    for name, seconds in results.items():
        print(
            f"  {name:<20} {milliseconds(seconds):>10}   {seconds / reference:5.1f}x python -c pass"
        )


if __name__ == "__main__":
    main()
