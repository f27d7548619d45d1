"""``coffeechat service install|uninstall|status``: the daemon as a systemd user service.

``install`` writes the unit shipped in :mod:`coffeechat.systemd` to
``$XDG_CONFIG_HOME/systemd/user/coffeechat.service`` (``~/.config/systemd/user``), with
``ExecStart`` naming the absolute path of the coffeechat command that is running and, when
a home was chosen (``--home`` or ``COFFEECHAT_HOME``), that home, since the service does not
see the shell's variables. ``--now`` also runs ``systemctl --user``; without it the commands
are printed for the user to run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from importlib import resources

from coffeechat.daemon.cli.app import App
from coffeechat.daemon.cli.spec import Command
from coffeechat.events.errors import UserError
from coffeechat.events.home import HOME_VARIABLE

UNIT_NAME = "coffeechat.service"
PLACEHOLDER = "@COFFEECHAT@"
COMMAND_NAME = "coffeechat"
UNIT_MODE = 0o644
SYSTEMCTL_TIMEOUT = 60.0

RELOAD = ("daemon-reload",)
ENABLE = ("enable", "--now", UNIT_NAME)
DISABLE = ("disable", "--now", UNIT_NAME)
FOLLOW_LOG = f"journalctl --user -u {UNIT_NAME.removesuffix('.service')} -f"

# A word systemd reads as it is in ExecStart= (after %% and $$ escaping); others are quoted.
_PLAIN_WORD = re.compile(r"[\w@%$+=:,./-]+")


class ServiceFailure(Exception):
    """``systemctl`` is missing or failed (exit 1); the message is one line for the user."""


# --- the unit ------------------------------------------------------------------------------


def unit_folder(environ: Mapping[str, str] | None = None) -> str:
    """Return the folder of the user's own systemd units (``$XDG_CONFIG_HOME/systemd/user``)."""
    environ = os.environ if environ is None else environ
    config = environ.get("XDG_CONFIG_HOME") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".config"
    )
    return os.path.join(config, "systemd", "user")


def unit_path(environ: Mapping[str, str] | None = None) -> str:
    """Return where ``install`` writes the unit."""
    return os.path.join(unit_folder(environ), UNIT_NAME)


def shipped_unit() -> str:
    """Return the unit as shipped, with ``@COFFEECHAT@`` where the command's path goes."""
    return (resources.files("coffeechat.systemd") / UNIT_NAME).read_text(encoding="utf-8")


def running_command() -> str:
    """Return the absolute path of the coffeechat command to put in ``ExecStart``.

    The script that is running (``sys.argv[0]``) comes first: it is the installation the
    user just ran, even when another ``coffeechat`` comes earlier on ``PATH``. Then the
    script beside the interpreter (a venv or pipx environment, when coffeechat was started
    some other way), then ``PATH``. Symlinks are kept, not resolved: a link such as
    ``~/.local/bin/coffeechat`` (pipx) or ``/opt/homebrew/bin/coffeechat`` still points to
    the right place after an upgrade, while its target's versioned folder may not.

    Raise ServiceFailure if no executable coffeechat command is found.
    """
    candidates = []
    if sys.argv and os.path.basename(sys.argv[0]) == COMMAND_NAME:
        candidates.append(sys.argv[0])
    candidates.append(os.path.join(os.path.dirname(sys.executable), COMMAND_NAME))
    on_path = shutil.which(COMMAND_NAME)
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    raise ServiceFailure(
        f"cannot find the {COMMAND_NAME} command (not beside {sys.executable}, not on PATH)"
    )


def quote(word: str) -> str:
    """Return one ``ExecStart`` word as systemd will read it back unchanged.

    ``%`` (specifiers) and ``$`` (variables) are doubled; a word with spaces, quotes or
    backslashes is put in double quotes. Raise UserError for a line break, which a unit
    file cannot hold.
    """
    if any(character in word for character in "\n\r\0"):
        raise UserError(f"a path in the unit cannot contain a line break: {word!r}")
    escaped = word.replace("%", "%%").replace("$", "$$")
    if _PLAIN_WORD.fullmatch(escaped):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def exec_start(command: str, home: str | None) -> str:
    """Return the ``ExecStart`` value: the command, ``--home HOME`` if given, ``daemon``."""
    words = [command, *(["--home", home] if home else []), "daemon"]
    return " ".join(quote(word) for word in words)


def render_unit(command: str, home: str | None) -> str:
    """Return the unit to install for this command and home."""
    shipped = shipped_unit()
    placeholder_line = f"ExecStart={PLACEHOLDER} daemon"
    if placeholder_line not in shipped.splitlines():
        raise AssertionError(f"the shipped {UNIT_NAME} has no '{placeholder_line}' line")
    return shipped.replace(placeholder_line, f"ExecStart={exec_start(command, home)}", 1)


def read_exec_start(text: str) -> str | None:
    """Given a unit's text, return its (last) ``ExecStart`` value, or None."""
    found = None
    for line in text.splitlines():
        key, separator, value = line.strip().partition("=")
        if separator and key.strip() == "ExecStart" and value.strip():
            found = value.strip()
    return found


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except FileNotFoundError:
        return None


def write_unit(path: str, text: str) -> None:
    """Write the unit atomically, mode 0644, creating its folder."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    # A dot name ending in .tmp: systemd never loads it as a unit.
    temporary = os.path.join(folder, f".{UNIT_NAME}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, UNIT_MODE)
    try:
        os.fchmod(descriptor, UNIT_MODE)  # whatever the umask
        os.write(descriptor, text.encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def chosen_home(app: App, args: argparse.Namespace) -> str | None:
    """Return the home to pass to the daemon: the one chosen by ``--home`` or the variable."""
    if args.home or os.environ.get(HOME_VARIABLE):
        return app.home.config_dir
    return None


# --- systemctl -----------------------------------------------------------------------------


def shown(arguments: Sequence[str]) -> str:
    """Return a ``systemctl --user`` command line as the user would type it."""
    return " ".join(["systemctl", "--user", *arguments])


def systemctl(arguments: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run ``systemctl --user ARGUMENTS`` and return what it did, whatever its status.

    Raise ServiceFailure if systemctl is not on PATH, cannot be run, or hangs.
    """
    program = shutil.which("systemctl")
    if program is None:
        raise ServiceFailure(f"cannot run '{shown(arguments)}': systemctl is not on PATH")
    try:
        return subprocess.run(
            [program, "--user", *arguments],
            capture_output=True,
            text=True,
            timeout=SYSTEMCTL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ServiceFailure(
            f"'{shown(arguments)}' did not finish in {SYSTEMCTL_TIMEOUT:.0f} s"
        ) from None
    except OSError as error:
        raise ServiceFailure(f"cannot run '{shown(arguments)}': {error.strerror}") from None


def one_line(text: str) -> str:
    """Return a program's output folded onto one line."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def run_systemctl(arguments: Sequence[str]) -> None:
    """Run ``systemctl --user ARGUMENTS``; raise ServiceFailure unless it succeeds."""
    completed = systemctl(arguments)
    if completed.returncode != 0:
        said = one_line(completed.stderr) or one_line(completed.stdout) or "no message"
        raise ServiceFailure(f"'{shown(arguments)}' failed (exit {completed.returncode}): {said}")


def active_state() -> tuple[str | None, str | None]:
    """Return ``systemctl --user is-active`` output, or None and the reason it has none."""
    try:
        completed = systemctl(("is-active", UNIT_NAME))
    except ServiceFailure as error:
        return None, str(error)
    state = completed.stdout.strip()
    if state:
        return state, None
    return None, one_line(completed.stderr) or f"systemctl exited {completed.returncode}"


def _fail(app: App, error: ServiceFailure, hint: str = "") -> int:
    print(f"coffeechat service: {error}{hint}", file=app.stderr)
    return 1


# --- the commands --------------------------------------------------------------------------


def _install(app: App, args: argparse.Namespace) -> int:
    path = unit_path()
    try:
        command = running_command()
    except ServiceFailure as error:
        return _fail(app, error)
    text = render_unit(command, chosen_home(app, args))
    existing = _read(path)
    if existing is not None and existing != text and not args.force:
        raise UserError(
            f"{path} exists and differs from the unit to install"
            " (edit it by hand, or use --force to replace it)"
        )
    changed = existing != text
    if changed:
        write_unit(path, text)
    if app.json:
        app.print_json(
            {
                "installed": True,
                "path": path,
                "exec_start": read_exec_start(text),
                "changed": changed,
            }
        )
    else:
        app.out(f"{'wrote' if changed else 'unchanged'} {path}")
        app.out(f"  ExecStart={read_exec_start(text)}")
    if not args.now:
        if not app.json:
            app.out("to start it now and at every login:")
            for arguments in (RELOAD, ENABLE):
                app.out(f"  {shown(arguments)}")
            app.out(f"to follow its log:\n  {FOLLOW_LOG}")
        return 0
    for arguments in (RELOAD, ENABLE):
        try:
            run_systemctl(arguments)
        except ServiceFailure as error:
            return _fail(app, error, f"; the unit is installed at {path}")
        if not app.json:
            app.out(f"ran: {shown(arguments)}")
    if not app.json:
        app.out(f"to follow its log:\n  {FOLLOW_LOG}")
    return 0


def _uninstall(app: App, args: argparse.Namespace) -> int:
    path = unit_path()
    installed = os.path.exists(path)
    if installed and args.now:
        try:
            run_systemctl(DISABLE)
        except ServiceFailure as error:
            return _fail(app, error, f"; {path} is left in place")
    if installed:
        os.unlink(path)
        _remove_dangling_links(path)
    if args.now and installed:
        try:
            run_systemctl(RELOAD)
        except ServiceFailure as error:
            return _fail(app, error, f"; {path} is removed")
    if app.json:
        app.print_json({"installed": False, "path": path, "removed": installed})
    elif not installed:
        app.out(f"not installed: {path} does not exist")
    else:
        app.out(f"removed {path}")
        if not args.now:
            app.out("to stop a running daemon and forget the unit:")
            app.out(f"  {shown(('stop', UNIT_NAME))}")
            app.out(f"  {shown(RELOAD)}")
    return 0


def _remove_dangling_links(path: str) -> None:
    """Remove the ``*.wants/coffeechat.service`` links ``enable`` made to the removed unit."""
    folder = os.path.dirname(path)
    try:
        entries = os.listdir(folder)
    except FileNotFoundError:
        return
    for entry in entries:
        link = os.path.join(folder, entry, UNIT_NAME)
        if entry.endswith((".wants", ".requires")) and os.path.islink(link):
            target = os.path.join(os.path.dirname(link), os.readlink(link))
            if os.path.abspath(target) == os.path.abspath(path):
                os.unlink(link)


def _status(app: App, args: argparse.Namespace) -> int:
    path = unit_path()
    text = _read(path)
    command = read_exec_start(text) if text is not None else None
    active, why_unknown = active_state()
    if app.json:
        app.print_json(
            {"installed": text is not None, "path": path, "exec_start": command, "active": active}
        )
        return 0
    if text is None:
        app.out(f"not installed ({path} does not exist; 'coffeechat service install' writes it)")
    else:
        app.out(f"installed: {path}")
        app.out(f"ExecStart={command or '(none)'}")
    app.out(f"active: {active}" if active else f"active: unknown ({why_unknown})")
    return 0


# --- the parser ----------------------------------------------------------------------------


def _action_options(parser: argparse.ArgumentParser) -> None:
    # The global options are accepted after the action too ("service status --json").
    parser.add_argument("--home", metavar="DIR", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")


def _configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    install = actions.add_parser(
        "install",
        help=f"write the user unit to {unit_path()}",
        description="Write the systemd user unit that runs 'coffeechat daemon' (with this"
        " command's path and --home), then print the systemctl commands to start it.",
    )
    install.add_argument(
        "--now", action="store_true", help="also run systemctl: daemon-reload, enable --now"
    )
    install.add_argument(
        "--force", action="store_true", help="replace an existing unit that differs"
    )
    uninstall = actions.add_parser("uninstall", help="remove the user unit")
    uninstall.add_argument(
        "--now", action="store_true", help="first stop and disable the service (systemctl)"
    )
    actions.add_parser("status", help="is the unit installed, what it runs, is it active")
    for action in actions.choices.values():
        _action_options(action)


_ACTIONS = {"install": _install, "uninstall": _uninstall, "status": _status}


def _run(app: App, args: argparse.Namespace) -> int:
    return _ACTIONS[args.action](app, args)


COMMANDS: dict[str, Command] = {
    "service": Command(
        "install, remove or inspect the systemd user service (install|uninstall|status)",
        _configure,
        _run,
        description="Run 'coffeechat daemon' as a systemd user service.",
    ),
}
