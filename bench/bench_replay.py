"""Full replay of a large log into the projections, against msgspec's own decode.

Each measurement runs in its own process (so peak memory is its own) on the same
file: msgspec decoding every line into the typed events (line by line, and with
``decode_lines`` on 1 MiB chunks), then coffeechat's full replay (read, find
retractions, decode, upcast check, fold). Goal: replay at most 2.5x msgspec's decode.

    python bench/bench_replay.py [--events 1000000] [--repeat 3]

The log is a realistic one (``common.py``): ``events // 50`` contacts, three years.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from common import realistic_events, write_home

MEASURE = r"""
import json, resource, sys, time
from pathlib import Path
import msgspec
from coffeechat.events.model import AnyEvent
folder, what = Path(sys.argv[1]), sys.argv[2]
segment = next(folder.glob("*.jsonl"))
began = time.perf_counter()
if what == "msgspec-lines":
    decoder = msgspec.json.Decoder(AnyEvent)
    with open(segment, "rb") as file:
        events = [decoder.decode(line) for line in file]
    count = len(events)
elif what == "msgspec-chunks":
    decoder = msgspec.json.Decoder(AnyEvent)
    data = segment.read_bytes()
    count, position = 0, 0
    while position < len(data):
        cut = data.rfind(b"\n", position, position + (1 << 20)) + 1
        count += len(decoder.decode_lines(data[position:cut]))
        position = cut
else:
    from coffeechat.events.log import read_segments
    from coffeechat.events.projection import replay
    problems = []
    state = replay(read_segments(folder), problems)
    count = state.events
    assert not problems
elapsed = time.perf_counter() - began
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "peak_bytes": peak, "events": count}))
"""


def measure(folder: Path, what: str) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-c", MEASURE, str(folder), what],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures: dict[str, float] = json.loads(output)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)  # the home to write
    options = parser.parse_args()
    if options.build is not None:
        events = realistic_events(options.events, datetime.now(UTC), devices=("bench",))
        write_home(options.build, events)
        return
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory) / "home" / "log"
        # Built in a process of its own: a child's peak RSS starts at its parent's (see
        # rusage.c). One segment (one device): msgspec's decode reads one file.
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--events",
                str(options.events),
                "--build",
                str(folder.parent),
            ],
            check=True,
        )
        size = sum(path.stat().st_size for path in folder.iterdir())
        best: dict[str, dict[str, float]] = {}
        for _ in range(options.repeat):  # take turns; keep each one's best run
            for what in ("msgspec-lines", "msgspec-chunks", "replay"):
                result = measure(folder, what)
                if what not in best or result["seconds"] < best[what]["seconds"]:
                    best[what] = result
    print(
        f"full replay of {options.events:,} events ({size / 1e6:.0f} MB), "
        f"{options.events // 50:,} contacts, best of {options.repeat}"
    )
    for what, result in best.items():
        print(
            f"  {what:<15} {result['seconds'] * 1000:8.0f} ms   peak RSS "
            f"{result['peak_bytes'] / 1e6:6.0f} MB   ({result['events']:,} events)"
        )
    replay_seconds = best["replay"]["seconds"]
    for baseline, label in (("msgspec-lines", "line by line"), ("msgspec-chunks", "decode_lines")):
        ratio = replay_seconds / best[baseline]["seconds"]
        print(f"  replay / msgspec {label}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
