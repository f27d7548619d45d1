"""Running the service: ``daemon [--once]`` and ``channels test [--tag T]``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any, ClassVar

from coffeechat.daemon.cli.app import App
from coffeechat.daemon.cli.spec import Command


class JournalFormatter(logging.Formatter):
    """Under systemd (``JOURNAL_STREAM`` set): ``<N>message`` with the syslog level, no
    time of our own (the journal stamps each line); elsewhere a time and the level."""

    LEVELS: ClassVar[dict[int, int]] = {
        logging.DEBUG: 7,
        logging.INFO: 6,
        logging.WARNING: 4,
        logging.ERROR: 3,
    }

    def __init__(self, journal: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        if self.journal:
            return f"<{self.LEVELS.get(record.levelno, 6)}>{record.getMessage()}"
        return super().format(record)


def setup_logging(verbose: bool = False) -> None:
    """Send the daemon's log to stderr, journald style when systemd started it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JournalFormatter(bool(os.environ.get("JOURNAL_STREAM"))))
    logger = logging.getLogger("coffeechat")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


def _configure_daemon(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    parser.add_argument("--verbose", action="store_true", help="log more")


def _run_daemon(app: App, args: argparse.Namespace) -> int:
    from coffeechat.daemon.notify import Notifier
    from coffeechat.daemon.runner import Daemon

    setup_logging(args.verbose)
    daemon = Daemon(app.home, app.clock, Notifier.from_environment())
    return daemon.run(once=args.once)


def _configure_channels(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=["test", "add"],
        help="test: send a test through each channel; "
        "add URL: add a channel to config.toml (created 0600)",
    )
    parser.add_argument("url", nargs="?", metavar="URL", help="with add: the channel's URL")
    parser.add_argument("--tag", action="append", help="test: only this tag; add: its tags")


def _run_channels(app: App, args: argparse.Namespace) -> int:
    if args.action == "add":
        return _add_channel(app, args.url, args.tag or [])
    return _test_channels(app, args)


def _add_channel(app: App, url: str | None, tags: list[str]) -> int:
    """Append a ``[[channels]]`` entry to config.toml, creating it private (0600)."""
    import json

    from coffeechat.daemon.channels import redact
    from coffeechat.events.errors import UserError

    if not url or "://" not in url:
        raise UserError("channels add needs a URL such as ntfy://my-topic")
    path = app.home.config_file
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as file:
        # JSON strings are valid TOML basic strings.
        file.write(f"\n[[channels]]\nurl = {json.dumps(url)}\n")
        if tags:
            file.write(f"tags = {json.dumps(tags)}\n")
    os.chmod(path, 0o600)  # it holds a secret now, whatever it was before
    app.out(f"added {redact(url)} to {path} (mode 600)")
    return 0


def _test_channels(app: App, args: argparse.Namespace) -> int:
    from coffeechat.daemon.channels import build_channels
    from coffeechat.daemon.runner import check_config_permissions
    from coffeechat.plugins.manager import load_plugins, settings_sections
    from coffeechat.plugins.reminders import make_reminder
    from coffeechat.plugins.settings import load_settings

    setup_logging()
    check_config_permissions(app.home.config_file)
    plugins = load_plugins(app.home.plugins_dir)
    settings = load_settings(app.home.config_file, settings_sections(plugins))
    channels = build_channels(settings.channels, plugins, os.environ)
    if args.tag:
        channels = [c for c in channels if set(args.tag) & set(c.tags)]
    test = make_reminder("test", None, app.now, "A test from coffeechat.", because=[])
    results = []
    for channel in channels:
        try:
            ok = channel.send("coffeechat test", "If you read this, the channel works.", test)
        except Exception as error:
            ok, detail = False, type(error).__name__
        else:
            detail = "" if ok else channel.last_error or "refused"
        results.append({"channel": channel.name, "ok": ok, "detail": detail})
    if app.json:
        app.print_json(results)
    else:
        for result in results:
            mark = "ok  " if result["ok"] else "FAIL"
            app.out(
                f"{mark} {result['channel']}"
                + (f": {result['detail']}" if result["detail"] else "")
            )
        if not results:
            app.out("no channel matches")
    return 0 if results and all(r["ok"] for r in results) else 1


def _run_doctor(app: App, args: argparse.Namespace) -> int:
    """Check the home, the config, the plugins, the channels, the log and the service."""
    from coffeechat.daemon.channels import build_channels
    from coffeechat.daemon.runner import check_config_permissions
    from coffeechat.events.errors import UserError
    from coffeechat.events.log import check
    from coffeechat.plugins.channels.desktop import session_bus_available
    from coffeechat.plugins.manager import load_plugins, settings_sections
    from coffeechat.plugins.settings import load_settings

    checks: list[dict[str, object]] = []

    def note(name: str, ok: bool, detail: str) -> None:
        checks.append({"check": name, "ok": ok, "detail": detail})

    home = app.home
    note("home", True, f"config {home.config_file}, data {home.data_dir}")
    plugins = load_plugins(home.plugins_dir)
    problems = [p.describe() for p in plugins.problems]
    note("plugins", not problems, "; ".join(problems) or f"{len(plugins.loaded)} loaded")
    settings = None
    try:
        check_config_permissions(home.config_file)
        warnings: list[str] = []
        settings = load_settings(home.config_file, settings_sections(plugins), warnings)
        note("config", True, "; ".join(warnings) or "valid")
    except UserError as error:
        note("config", False, str(error))
    if settings is not None:
        setup_logging()
        channels = build_channels(settings.channels, plugins, os.environ)
        note("channels", bool(channels), ", ".join(c.name for c in channels) or "none")
        note("deliveries", *_unknown_deliveries(app, plugins, settings))
        note("delivering device", *_delivering_device(app, settings))
    note("desktop", True, "session bus found" if session_bus_available() else "no session bus")
    damage = [p.describe() for p in check(home.log_dir) if p.is_damage]
    note("log", not damage, "; ".join(damage) or "sound")
    unit = os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"),
        "systemd",
        "user",
        "coffeechat.service",
    )
    installed = os.path.exists(unit)
    note(
        "service",
        True,
        f"installed at {unit}" if installed else "not installed (coffeechat service install)",
    )
    if app.json:
        app.print_json(checks)
    else:
        for entry in checks:
            app.out(f"{'ok  ' if entry['ok'] else 'FAIL'} {entry['check']}: {entry['detail']}")
    return 0 if all(entry["ok"] for entry in checks) else 1


def _delivering_device(app: App, settings: Any) -> tuple[bool, str]:
    """Return whether the device whose daemon delivers (docs/daemon.md, "Several
    devices") can do what waits for it, and which device that is."""
    device = app.home.device_id(create=False) or "this device"
    mode = settings.daemon.deliver
    if mode != "lease":
        return True, f'{device} (this device): [daemon] deliver = "{mode}"'
    lease = app.state.lease
    if lease is None or lease.until <= app.now:
        return True, "no daemon holds the delivery lease: the next one to run takes it"
    who = f"{lease.device} (this device)" if lease.device == device else lease.device
    offers = [offer for offer in lease.offers if offer != "log"]
    through = ", ".join(offers) or "its log only"
    detail = f"{who} until {lease.until:%Y-%m-%d %H:%M} UTC, through {through}"
    lacks = []
    if not offers:
        lacks.append("no channel reaches you from it (add one there: coffeechat channels add)")
    queued = sum(1 for mail in app.state.mail.values() if mail.status == "queued")
    if queued and "mail" not in lease.offers:
        lacks.append(f"{queued} queued e-mail wait: it has no [mail]")
    calendar = settings.sections.get("calendar")
    if calendar is not None and calendar.caldav and "calendar" not in lease.offers:
        lacks.append("it has no [calendar] caldav: meetings do not reach your calendar")
    if lacks:
        return False, f"{detail}; {'; '.join(lacks)}"
    return True, detail


def _unknown_deliveries(app: App, plugins: Any, settings: Any) -> tuple[bool, str]:
    """Return whether no standing reminder's delivery was left unknown (a channel gave no
    answer in three tries), and which were."""
    from coffeechat.daemon.delivery import unknown_channels
    from coffeechat.plugins.reminders import evaluate

    reminders, _ = evaluate(plugins, app.state, app.now, settings)
    unknown = [
        f"{reminder.id} via {', '.join(channels)}"
        for reminder in reminders
        if reminder.due <= app.now and (channels := unknown_channels(reminder, app.state))
    ]
    if not unknown:
        return True, "none left unknown"
    return False, (
        f"{len(unknown)} left unknown, no answer in 3 tries ({'; '.join(unknown)}): "
        "'coffeechat agenda' says what to do"
    )


COMMANDS: dict[str, Command] = {
    "daemon": Command(
        "the service: deliver each reminder at its moment", _configure_daemon, _run_daemon
    ),
    "channels": Command("add or test notification channels", _configure_channels, _run_channels),
    "doctor": Command(
        "check the home, config, plugins, channels, log and service",
        lambda parser: None,
        _run_doctor,
    ),
}
