"""The dashboard (``coffeechat serve``) at 2,000 contacts: the board page, the start of
``serve``, and what the dashboard costs the other commands.

- The board: ``GET /`` from a running ``coffeechat serve`` over HTTP on 127.0.0.1, the
  snapshot current (as after the first look), median of ``--runs``; also ``/today`` and
  ``/insights``. Goal: the board under a second. Reference: ``python -c pass``.
- The start of ``serve``: from the process's start to its first line (the URL), and the
  import of what it loads (``coffeechat.web`` and the HTTP server; pygal for insights).
- What recording pays: the dashboard's modules loaded by ``coffeechat note`` (none).

    python bench/bench_board.py [--runs 15] [--events 100000]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from common import bench_home, interleaved_medians, milliseconds

WEB = ("coffeechat.web", "pygal", "http.server")


def start_serve(coffeechat: str, home: Path) -> tuple[subprocess.Popen[str], str, float]:
    """Start ``coffeechat serve``; return the process, its URL and the seconds it took
    to print it."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [coffeechat, "--home", str(home), "serve", "--no-open", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    return process, url, time.perf_counter() - began


def get(host: str, port: int, path: str, cookie: str = "") -> tuple[int, str, int]:
    """GET ``path``; return the status, the Set-Cookie header and the body's length."""
    connection = http.client.HTTPConnection(host, port, timeout=60)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        body = response.read()
        return response.status, response.getheader("Set-Cookie") or "", len(body)
    finally:
        connection.close()


def page_times(url: str, paths: list[str], runs: int) -> dict[str, tuple[float, int]]:
    """Return each page's median time over ``runs`` (taking turns) and its size."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    host, port = parts.hostname, parts.port
    status, cookie, _ = get(host, port, f"/?{parts.query}")
    assert status == 303, status
    cookie = cookie.split(";")[0]
    sizes = {}
    for path in paths:  # the first look builds the snapshot and warms the caches
        status, _, sizes[path] = get(host, port, path, cookie)
        assert status == 200, (path, status)
    timings: dict[str, list[float]] = {path: [] for path in paths}
    for _ in range(runs):
        for path in paths:
            began = time.perf_counter()
            get(host, port, path, cookie)
            timings[path].append(time.perf_counter() - began)
    return {path: (statistics.median(timings[path]), sizes[path]) for path in paths}


def web_modules_loaded_by(home: Path, *arguments: str) -> list[str]:
    """Return the dashboard's modules a command loads (run in a fresh interpreter)."""
    probe = (
        "import sys\n"
        "from coffeechat.daemon.cli import main\n"
        f"main(['--home', {str(home)!r}, *{list(arguments)!r}])\n"
        f"print('WEB:' + ','.join(n for n in sys.modules if n.startswith({WEB!r})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("WEB:"))
    return [name for name in line.removeprefix("WEB:").split(",") if name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--events", type=int, default=100_000)
    options = parser.parse_args()
    coffeechat = str(Path(sys.executable).with_name("coffeechat"))
    with tempfile.TemporaryDirectory() as directory:
        home = bench_home(Path(directory), options.events)
        (home / "config.toml").write_text('timezone = "Europe/Paris"\n')
        subprocess.run([coffeechat, "--home", str(home), "ls"], check=True, capture_output=True)

        starts = []
        for _ in range(max(3, options.runs // 3)):
            process, url, seconds = start_serve(coffeechat, home)
            starts.append(seconds)
            process.terminate()
            process.wait(timeout=30)
        process, url, _ = start_serve(coffeechat, home)
        try:
            pages = page_times(url, ["/", "/today", "/insights"], options.runs)
        finally:
            process.terminate()
            process.wait(timeout=30)

        imports = interleaved_medians(
            {
                "python -c pass": [sys.executable, "-c", "pass"],
                "import serve + web": [
                    sys.executable,
                    "-c",
                    "import coffeechat.daemon.cli.serve, coffeechat.web.server, "
                    "coffeechat.web.pages, coffeechat.web.live, watchdog.observers",
                ],
                "... + pygal (insights)": [
                    sys.executable,
                    "-c",
                    "import coffeechat.daemon.cli.serve, coffeechat.web.server, "
                    "coffeechat.web.pages, coffeechat.web.live, watchdog.observers, "
                    "coffeechat.web.charts",
                ],
            },
            options.runs,
        )
        loaded = web_modules_loaded_by(home, "note", "person-1", "bench note")

    reference = imports["python -c pass"]
    board = pages["/"][0]
    print(
        f"the dashboard at {options.events // 50:,} contacts ({options.events:,} events), "
        f"median of {options.runs}"
    )
    for path, (seconds, size) in pages.items():
        print(
            f"  GET {path:<10} {milliseconds(seconds):>10}   {seconds / reference:5.1f}x "
            f"python -c pass   {size / 1024:7.0f} KiB"
        )
    verdict = "under" if board < 1.0 else "OVER"
    print(f"  the board: {milliseconds(board)}, {verdict} the goal of one second")
    start = statistics.median(starts)
    print(
        f"  serve, start to URL: {milliseconds(start)}   {start / reference:5.1f}x "
        f"python -c pass (median of {len(starts)})"
    )
    for name, seconds in imports.items():
        print(
            f"  {name:<24} {milliseconds(seconds):>10}   {seconds / reference:5.1f}x python -c pass"
        )
    print(
        "  the dashboard's modules loaded to record (coffeechat note): "
        + (", ".join(loaded) or "none")
    )


if __name__ == "__main__":
    main()
