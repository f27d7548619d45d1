"""``coffeechat serve``: the local web dashboard (docs/dashboard.md).

Only this command imports :mod:`coffeechat.web` (and through it ``http.server`` and, for
the insights page, pygal): recording commands never load any of it.
"""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
import threading
from types import FrameType

from coffeechat.daemon.cli.app import App
from coffeechat.daemon.cli.spec import Command
from coffeechat.events.errors import UserError

DEFAULT_PORT = 8765


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        type=int,
        metavar="N",
        help=f"the port to listen on (default {DEFAULT_PORT}, else any free one; 0: any free one)",
    )
    parser.add_argument(
        "--host",
        metavar="H",
        default="127.0.0.1",
        help="the address to listen on and the name the browser uses (default 127.0.0.1: "
        "this machine only)",
    )
    parser.add_argument(
        "--no-open", action="store_true", help="do not open the browser, only print the URL"
    )


def _run(app: App, args: argparse.Namespace) -> int:
    from coffeechat.daemon.cli.mistakes import check_home
    from coffeechat.web.live import Changes, watch
    from coffeechat.web.server import make_server

    if args.port is not None and not 0 <= args.port <= 65535:
        raise UserError(f"--port must be between 0 and 65535, not {args.port}")
    check_home(args.home)
    host = args.host.strip() or "127.0.0.1"
    changes = Changes()
    port = DEFAULT_PORT if args.port is None else args.port
    try:
        server, dashboard = make_server(args.home, host, port, changes)
    except OSError:
        if args.port is not None:
            raise
        server, dashboard = make_server(args.home, host, 0, changes)  # the default is taken
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    url = f"http://{shown}:{server.server_address[1]}/?token={dashboard.guard.token}"
    print(url, flush=True)  # the first line: scripts and tests read it
    if not _loopback(host):
        app.warn(f"listening on {host}: anyone who can reach it and has the URL can use it")
    app.warn(f"serving {app.home.data_dir}; Ctrl-C stops", label="coffeechat serve")
    stop_watching = watch(app.home.log_dir, app.home.config_file, app.home.plugins_dir, changes)
    if not args.no_open:
        import webbrowser

        webbrowser.open(url)

    def stop(signum: int, frame: FrameType | None) -> None:
        # Ctrl-C or SIGTERM: the loop ends after the request in hand (shutdown waits for
        # the loop, so it runs in a thread of its own, never in the loop's).
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        changes.close()
        stop_watching()
        server.server_close()
    sys.stdout.flush()
    return 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


COMMANDS: dict[str, Command] = {
    "serve": Command("the local web dashboard: board, today, contact, insights", _configure, _run),
}
