"""The daemon, measured with real time, a real receiver on 127.0.0.1 and real processes.

1. Latency: from the append of an event that makes a reminder due now (fsynced) to the
   POST arriving at the receiver; median and p99 over ``--events`` (200).
   Goal: median under 50 ms, p99 under 250 ms.
2. Punctuality: reminders due at T (a few seconds ahead) arrive within 1 s of T (p99).
3. Idle: CPU time the daemon uses over ``--idle`` seconds (60) with nothing due, and its
   context switches (wake-ups). Goal: under 50 ms of CPU per minute.
4. Resident memory with a log of ``--log-events`` (100,000).

    python bench/bench_daemon.py [--events 200] [--idle 60] [--log-events 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

from common import journey_events, write_log

from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.log import EventLog

PARIS = ZoneInfo("Europe/Paris")


class Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver.arrived:
                    receiver.arrivals[body["title"]] = time.time()
                    receiver.arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *arguments: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, title: str, timeout: float = 10) -> float:
        with self.arrived:
            self.arrived.wait_for(lambda: title in self.arrivals, timeout)
        return self.arrivals[title]


def make_home(folder: Path, receiver: Receiver, log_events: int = 0) -> Path:
    home = folder / "home"
    (home / "log").mkdir(parents=True)
    (home / "device").write_text("bench\n")
    config = home / "config.toml"
    config.write_text(
        f'timezone = "Europe/Paris"\n[quiet_hours]\nenabled = false\n'
        f"[daemon]\nsummary_after = 100000\n"
        f'[[channels]]\nurl = "json://127.0.0.1:{receiver.port}/"\n'
    )
    config.chmod(0o600)
    if log_events:
        write_log(home / "log", journey_events(max(1, log_events // 50), log_events, "old"))
    return home


def start(home: Path) -> subprocess.Popen[bytes]:
    coffeechat = str(Path(sys.executable).with_name("coffeechat"))
    env = {**os.environ, "TZ": "Europe/Paris"}
    env.pop("COFFEECHAT_NOW", None)
    process = subprocess.Popen(
        [coffeechat, "--home", str(home), "daemon"], env=env, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    for line in process.stderr:
        if b"ready:" in line:
            threading.Thread(target=process.stderr.read, daemon=True).start()  # drain
            return process
    raise RuntimeError("the daemon did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def owe_thanks(log: EventLog, name: str, due: datetime) -> None:
    """Append a contact and a meeting held so that its thank-you is due at ``due``."""
    now = datetime.now(UTC)
    stamp = Stamp(now, "bench", PARIS)
    handle = name.lower().replace(" ", "-")
    log.append(
        [
            stamp(m.ContactAdded, now - timedelta(days=1), contact=handle, name=name),
            stamp(m.MeetingHeld, min(now, due - timedelta(hours=2)), contact=handle),
        ]
    )


def cpu_and_switches(pid: int) -> tuple[float, int]:
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    switches = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                switches += int(line.split()[1])
    return cpu, switches


def rss_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--punctual", type=int, default=30)
    parser.add_argument("--idle", type=float, default=60)
    parser.add_argument("--log-events", type=int, default=100_000)
    options = parser.parse_args()
    receiver = Receiver()
    with tempfile.TemporaryDirectory() as directory:
        home = make_home(Path(directory), receiver)
        daemon = start(home)
        log = EventLog(home / "log", "bench")
        latencies = []
        for number in range(options.events):
            name = f"Latency {number}"
            owe_thanks(log, name, datetime.now(UTC) - timedelta(minutes=1))
            appended = time.time()  # the append returned: on disk, fsynced
            latencies.append(receiver.wait(f"Thank-you owed · {name}") - appended)
        lateness = []
        first = datetime.now(UTC) + timedelta(seconds=3)
        dues = [first + timedelta(seconds=number) for number in range(options.punctual)]
        for number, due in enumerate(dues):
            owe_thanks(log, f"Punctual {number}", due)
        for number, due in enumerate(dues):
            arrived = receiver.wait(f"Thank-you owed · Punctual {number}", timeout=30)
            lateness.append(arrived - due.timestamp())
        time.sleep(1)
        cpu_before, switches_before = cpu_and_switches(daemon.pid)
        time.sleep(options.idle)
        cpu_after, switches_after = cpu_and_switches(daemon.pid)
        stop(daemon)
    with tempfile.TemporaryDirectory() as directory:
        big = make_home(Path(directory), receiver, options.log_events)
        daemon = start(big)
        time.sleep(1)
        rss = rss_megabytes(daemon.pid)
        stop(daemon)
    per_minute = (cpu_after - cpu_before) * 60 / options.idle * 1000
    print(f"daemon, real time ({options.events} appends, {options.punctual} timed reminders)")
    print(
        f"  append -> POST: median {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms (goal 50 / 250 ms)"
    )
    print(
        f"  due at T -> POST: median {statistics.median(lateness) * 1000:.0f} ms, "
        f"p99 {percentile(lateness, 0.99) * 1000:.0f} ms after T (goal p99 < 1000 ms)"
    )
    print(
        f"  idle {options.idle:g} s: {per_minute:.0f} ms CPU per minute (goal < 50), "
        f"{switches_after - switches_before} context switches"
    )
    print(f"  resident memory with {options.log_events:,} events: {rss:.0f} MB")


if __name__ == "__main__":
    main()
