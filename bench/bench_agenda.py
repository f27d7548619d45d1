"""``agenda`` on a log of 100,000 events and 2,000 contacts, and the rules on their own.

Whole commands (median of ``--runs``): ``agenda`` and ``show`` on the same log with a
current snapshot, against ``python -c pass``. In-process: evaluating every rule for
2,000 contacts (state already loaded), best of ``--repeat``; goal under 50 ms.

    python bench/bench_agenda.py [--runs 15] [--events 100000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from common import bench_home, interleaved_medians, milliseconds

from coffeechat.events.log import read_segments
from coffeechat.events.projection import replay
from coffeechat.plugins.manager import load_plugins, settings_sections
from coffeechat.plugins.reminders import evaluate
from coffeechat.plugins.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--events", type=int, default=100_000)
    options = parser.parse_args()
    coffeechat = str(Path(sys.executable).with_name("coffeechat"))
    with tempfile.TemporaryDirectory() as directory:
        home = bench_home(Path(directory), options.events)
        (home / "config.toml").write_text('timezone = "Europe/Paris"\n')
        subprocess.run([coffeechat, "--home", str(home), "ls"], check=True, capture_output=True)
        results = interleaved_medians(
            {
                "python -c pass": [sys.executable, "-c", "pass"],
                "show person-7": [coffeechat, "--home", str(home), "show", "person-7"],
                "agenda": [coffeechat, "--home", str(home), "agenda"],
            },
            options.runs,
        )
        state = replay(read_segments(home / "log"), [])
        plugins = load_plugins(None, {})
        settings = load_settings(str(home / "config.toml"), settings_sections(plugins))
        now = datetime.now(UTC)
        timings, count = [], 0
        for _ in range(options.repeat):
            began = time.perf_counter()
            reminders, failures = evaluate(plugins, state, now, settings)
            timings.append(time.perf_counter() - began)
            count = len(reminders)
            assert not failures, failures
    reference = results["python -c pass"]
    print(
        f"agenda on {options.events:,} events, {options.events // 50:,} contacts "
        f"(median of {options.runs} runs)"
    )
    for name, seconds in results.items():
        print(
            f"  {name:<16} {milliseconds(seconds):>10}   {seconds / reference:5.1f}x python -c pass"
        )
    print(f"  agenda / show: {results['agenda'] / results['show person-7']:.2f}")
    print(
        f"  rules alone, {len(state.contacts):,} contacts -> {count:,} reminders: "
        f"{milliseconds(min(timings))} (best of {options.repeat}; goal < 50 ms)"
    )


if __name__ == "__main__":
    main()
