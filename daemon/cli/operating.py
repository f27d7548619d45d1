"""Running the service: ``daemon [--once]``, ``channels list|add|remove|test`` and
``doctor``."""

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
        choices=["list", "test", "add", "remove"],
        help="list: the channels, numbered, secrets hidden; test: send a test through "
        "each channel; add URL: add a channel to config.toml (kept 0600); "
        "remove N|URL: remove channel N of the list, or the one with that exact URL",
    )
    parser.add_argument(
        "url", nargs="?", metavar="URL|N", help="add: the channel's URL; remove: N or URL"
    )
    parser.add_argument("--tag", action="append", help="test: only this tag; add: its tags")


def _run_channels(app: App, args: argparse.Namespace) -> int:
    if args.action == "add":
        return _add_channel(app, args.url, args.tag or [])
    if args.action == "remove":
        return _remove_channel(app, args.url)
    if args.action == "list":
        return _list_channels(app)
    return _test_channels(app, args)


def _same_url(first: str, second: str) -> bool:
    # json://host/ and json://host name the same service.
    return first.rstrip("/") == second.rstrip("/")


def _add_channel(app: App, url: str | None, tags: list[str]) -> int:
    """Add a ``[[channels]]`` table to config.toml once its URL proved usable: a scheme a
    plugin registered, or a URL Apprise accepts; never the same URL twice."""
    from coffeechat.daemon.channel_config import (
        channel_entries,
        entry_url,
        read_config,
        write_channels,
    )
    from coffeechat.daemon.channels import channel_factories, redact
    from coffeechat.events.errors import UserError
    from coffeechat.plugins.manager import load_plugins

    if not url or "://" not in url:
        raise UserError("channels add needs a URL such as ntfy://my-topic")
    if any(not tag.strip() for tag in tags):
        raise UserError("channels add --tag needs a word, such as --tag phone")
    path = app.home.config_file
    text, document = read_config(path)
    entries = channel_entries(document)
    for number, entry in enumerate(entries, 1):
        if _same_url(entry_url(entry), url):
            raise UserError(f"{redact(url)} is already channel {number} (coffeechat channels list)")
    factories = channel_factories(load_plugins(app.home.plugins_dir))
    scheme = url.partition("://")[0]
    if scheme not in factories or scheme == "*":
        try:
            factories["*"](url)  # Apprise: it says whether it can use the URL
        except Exception as error:
            reason = str(error).replace(url, redact(url)) or type(error).__name__
            raise UserError(f"cannot add {redact(url)}: {reason}") from None
    added: dict[str, object] = {"url": url}
    if tags:
        added["tags"] = tags
    write_channels(path, text, [*entries, added])
    app.out(f"added {redact(url)} (channel {len(entries) + 1}) to {path} (mode 600)")
    return 0


def _remove_channel(app: App, which: str | None) -> int:
    """Remove one ``[[channels]]`` table: by its number in ``channels list``, or by its
    exact URL; the rest of config.toml is kept as it was."""
    from coffeechat.daemon.channel_config import (
        channel_entries,
        entry_url,
        read_config,
        write_channels,
    )
    from coffeechat.daemon.channels import redact
    from coffeechat.events.errors import UserError

    if not which:
        raise UserError(
            "channels remove needs a channel's number in 'coffeechat channels list', "
            "or its exact URL"
        )
    path = app.home.config_file
    text, document = read_config(path)
    entries = channel_entries(document)
    if which.isdigit():
        number = int(which)
        if not 1 <= number <= len(entries):
            have = f"channels 1 to {len(entries)}" if entries else "no channel"
            raise UserError(f"there is no channel {number}: config.toml has {have}")
    else:
        numbers = [n for n, e in enumerate(entries, 1) if _same_url(entry_url(e), which)]
        if not numbers:
            raise UserError(
                f"no channel has the URL {redact(which)}: "
                "'coffeechat channels list' shows their numbers"
            )
        number = numbers[0]
    url = entry_url(entries[number - 1])
    write_channels(path, text, entries[: number - 1] + entries[number:])
    app.out(f"removed {redact(url)} (channel {number}) from {path}")
    if number <= len(entries) - 1:
        app.out("the channels after it moved up one number (coffeechat channels list)")
    return 0


def _list_channels(app: App) -> int:
    """Show the configured channels, numbered as ``remove`` and the logs name them, with
    their tags; never a URL's secret part."""
    from coffeechat.daemon.channel_config import channel_entries, entry_url, read_config
    from coffeechat.daemon.channels import redact
    from coffeechat.events.text import printable

    _, document = read_config(app.home.config_file)
    rows: list[dict[str, Any]] = [
        {
            "channel": number,
            "url": redact(entry_url(entry)),
            "name": entry.get("name"),
            "tags": [str(tag) for tag in entry.get("tags", [])],
        }
        for number, entry in enumerate(channel_entries(document), 1)
    ]
    if app.json:
        app.print_json(rows)
        return 0
    for row in rows:
        line = f"{row['url']} (channel {row['channel']})"
        if row["name"]:
            line += f" named {printable(str(row['name']), lines=False)}"
        if row["tags"]:
            line += f"  tags: {printable(', '.join(row['tags']), lines=False)}"
        app.out(line)
    if not rows:
        app.out(
            "no channel: reminders go to the daemon's log (and the desktop when a session "
            "bus exists); add one: coffeechat channels add ntfy://my-topic"
        )
    return 0


def _test_channels(app: App, args: argparse.Namespace) -> int:
    from coffeechat.daemon.channels import build_channels, channel_url, redact
    from coffeechat.daemon.runner import check_config_permissions
    from coffeechat.plugins.manager import load_plugins, settings_sections
    from coffeechat.plugins.reminders import make_reminder
    from coffeechat.plugins.settings import load_settings

    setup_logging()
    check_config_permissions(app.home.config_file)
    plugins = load_plugins(app.home.plugins_dir)
    settings = load_settings(app.home.config_file, settings_sections(plugins))
    problems: list[tuple[str, str]] = []
    channels = build_channels(settings.channels, plugins, os.environ, problems)
    if args.tag:
        channels = [c for c in channels if set(args.tag) & set(c.tags)]
        tagged = {
            name
            for index, entry in enumerate(settings.channels, 1)
            if set(args.tag) & set(entry.tags)
            for name in (entry.name, f"{redact(channel_url(entry))} (channel {index})")
        }
        problems = [(name, why) for name, why in problems if name in tagged]
    test = make_reminder("test", None, app.now, "A test from coffeechat.", because=[])
    # A channel that cannot be set up fails its test (the daemon leaves it out).
    results = [{"channel": name, "ok": False, "detail": why} for name, why in problems]
    for channel in channels:
        try:
            ok = channel.send("coffeechat test", "If you read this, the channel works.", test)
        except TimeoutError as error:
            ok, detail = False, f"{error or 'no answer in time'} (it may have arrived)"
        except Exception as error:
            ok, detail = False, f"{type(error).__name__}: {error}"
        else:
            detail = "" if ok else channel.last_error or "refused, no reason given"
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
        unbuilt: list[tuple[str, str]] = []
        channels = build_channels(settings.channels, plugins, os.environ, unbuilt)
        note("channels", *_channels_check(channels, unbuilt))
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
            mark = "ok  " if entry["ok"] else "FAIL"
            if entry["ok"] and str(entry["detail"]).startswith(NOTHING_REACHES_YOU):
                mark = "WARN"
            app.out(f"{mark} {entry['check']}: {entry['detail']}")
    return 0 if all(entry["ok"] for entry in checks) else 1


NOTHING_REACHES_YOU = "nothing reaches you"


def _channels_check(channels: list[Any], problems: list[tuple[str, str]]) -> tuple[bool, str]:
    """Return whether every configured channel could be set up, and what reaches you: a
    warning when only the daemon's log does (no channel, no desktop session bus)."""
    if problems:
        failing = "; ".join(f"{name}: {why}" for name, why in problems)
        working = ", ".join(c.name for c in channels) or "none"
        return False, f"{failing} (working: {working})"
    if all(channel.name == "log" for channel in channels):
        return True, (
            f"{NOTHING_REACHES_YOU}: only the daemon's log (no channel configured, no "
            "desktop session bus); add one: coffeechat channels add ntfy://my-topic"
        )
    return True, ", ".join(c.name for c in channels)


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
    "channels": Command(
        "list, add, remove or test notification channels", _configure_channels, _run_channels
    ),
    "doctor": Command(
        "check the home, config, plugins, channels, log and service",
        lambda parser: None,
        _run_doctor,
    ),
}
