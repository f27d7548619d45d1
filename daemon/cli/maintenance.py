"""Commands that look after things: ``fsck`` and ``demo``."""

from __future__ import annotations

import argparse

from coffeechat.daemon.cli.app import App
from coffeechat.daemon.cli.spec import Command
from coffeechat.events.errors import LogDamaged
from coffeechat.events.log import check, quarantine_path, repair, segment_paths


def _configure_fsck(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repair",
        action="store_true",
        help="move damaged lines to a quarantine file beside their segment",
    )


def _run_fsck(app: App, args: argparse.Namespace) -> int:
    log_dir = app.home.log_dir
    try:
        if args.repair:
            for problem in repair(log_dir):
                app.out(f"moved {problem.path}:{problem.line} to {quarantine_path(problem.path)}")
        problems = check(log_dir)
    except OSError as error:
        raise LogDamaged(f"cannot read the log in {log_dir}: {error.strerror}") from None
    damage = [problem for problem in problems if problem.is_damage]
    lines = [problem for problem in damage if problem.line]
    strays = [problem for problem in problems if problem.kind == "stray"]
    if app.json:
        app.print_json(
            {
                "segments": segment_paths(log_dir),
                "problems": [
                    {"file": p.path, "line": p.line or None, "kind": p.kind, "reason": p.reason}
                    for p in problems
                ],
                "damaged": len(damage),
                "not_read": [p.path for p in strays],
            }
        )
        return 3 if damage else 0
    for problem in problems:
        app.out(problem.describe())
    if lines:
        app.out(
            f"{len(lines)} damaged line(s). 'coffeechat fsck --repair' moves them to a "
            "quarantine file beside their segment; nothing is deleted."
        )
    if len(damage) > len(lines):
        app.out(
            f"{len(damage) - len(lines)} segment(s) cannot be read: their events are left out "
            "until they can be."
        )
    if not damage:
        app.out(f"the log is sound ({len(segment_paths(log_dir))} segment(s) in {log_dir})")
    if strays:
        app.out(f"{len(strays)} file(s) in {log_dir} are not segments and are not read (above).")
    return 3 if damage else 0


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary home and print where it is"
    )
    parser.add_argument(
        "--days", type=float, default=7, help="how many days the daemon lives through (7)"
    )
    parser.add_argument(
        "--seconds", type=float, default=40, help="in how many real seconds (40; 0: skip)"
    )


def _run_demo(app: App, args: argparse.Namespace) -> int:
    from coffeechat.daemon.cli.demo import run_demo

    return run_demo(app, keep=args.keep, days=args.days, seconds=args.seconds)


COMMANDS: dict[str, Command] = {
    "fsck": Command(
        "check the log; --repair quarantines damaged lines", _configure_fsck, _run_fsck
    ),
    "demo": Command(
        "record a sample journey in a temporary home and show it", _configure_demo, _run_demo
    ),
}
