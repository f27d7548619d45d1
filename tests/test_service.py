"""The systemd user unit and ``coffeechat service install|uninstall|status``.

The unit is checked by the real ``systemd-analyze --user verify`` (Debian package
``systemd``). verify exits 0 on an unknown key or a bad value and only warns on stderr, so
a unit passes only with exit 0 *and* an empty stderr; a meta-test proves the check catches
an unknown key. The commands run as real subprocesses with ``XDG_CONFIG_HOME`` in a
temporary folder; ``systemctl`` is either absent from ``PATH`` or a small script that
records how it was called.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from importlib import resources
from pathlib import Path

import pytest
from conftest import COMMAND, Result, Runner, run_coffeechat

from coffeechat.daemon.cli.service import PLACEHOLDER, exec_start, quote

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (Debian package 'systemd')"
)

# Sandboxing that needs a mount or user namespace: a user service manager can only set it
# up through unprivileged user namespaces, which some kernels and distributions turn off.
NEEDS_NAMESPACES = (
    "PrivateUsers",
    "PrivateTmp",
    "PrivateDevices",
    "PrivateNetwork",
    "PrivateIPC",
    "ProtectSystem",
    "ProtectHome",
    "ProtectHostname",
    "ProtectClock",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "ProtectProc",
    "ProcSubset",
    "ReadOnlyPaths",
    "ReadWritePaths",
    "InaccessiblePaths",
    "TemporaryFileSystem",
    "BindPaths",
    "BindReadOnlyPaths",
)


def shipped_text() -> str:
    return (resources.files("coffeechat.systemd") / "coffeechat.service").read_text()


def settings(text: str) -> list[tuple[str, str]]:
    """Return the unit's ``Key=value`` lines, in order."""
    found = []
    for line in text.splitlines():
        if line.strip() and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.append((key.strip(), value.strip()))
    return found


def verify_problems(unit: Path, scratch: Path) -> list[str]:
    """Return what ``systemd-analyze --user verify`` says about a unit: every stderr line,
    and its exit status unless 0. An empty list is a clean unit.

    ``--user verify`` needs ``XDG_RUNTIME_DIR``; the config folder is a fresh one, so
    that no unit of the machine's user takes part.
    """
    assert SYSTEMD_ANALYZE is not None
    runtime = scratch / "verify-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    config = scratch / "verify-config"
    config.mkdir(exist_ok=True)
    environment = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "XDG_CONFIG_HOME": str(config)}
    completed = subprocess.run(
        [SYSTEMD_ANALYZE, "--user", "verify", str(unit)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    problems = completed.stderr.splitlines()
    if completed.returncode != 0:
        problems.append(f"exit status {completed.returncode}")
    return problems


def shipped_unit_at(folder: Path, extra: str = "") -> Path:
    """Write the shipped unit, placeholder filled with a real program, plus ``extra`` lines
    at the end of [Service]; return its path."""
    text = shipped_text().replace(PLACEHOLDER, COMMAND)
    if extra:
        text = text.replace("\n[Install]\n", f"\n{extra}\n\n[Install]\n")
    unit = folder / "coffeechat.service"
    unit.write_text(text)
    return unit


# --- the shipped unit ----------------------------------------------------------------------


@needs_systemd_analyze
def test_shipped_unit_with_a_real_program_passes_verify_without_a_word(tmp_path: Path):
    assert verify_problems(shipped_unit_at(tmp_path), tmp_path) == []


@needs_systemd_analyze
@pytest.mark.parametrize(
    "extra",
    [
        pytest.param("NoSuchKey=yes", id="unknown-key"),
        pytest.param("Type=notifyy", id="bad-type"),
        pytest.param("ProtectSystem=sometimes", id="bad-value"),
    ],
)
def test_verify_check_with_a_mistake_in_the_unit_reports_it(tmp_path: Path, extra: str):
    # verify exits 0 on each of these: only the stderr warning tells.
    problems = verify_problems(shipped_unit_at(tmp_path, extra), tmp_path)
    assert problems, f"'{extra}' went unnoticed"


@needs_systemd_analyze
def test_verify_check_with_a_missing_program_reports_it(tmp_path: Path):
    unit = tmp_path / "coffeechat.service"
    unit.write_text(shipped_text().replace(PLACEHOLDER, str(tmp_path / "no-such-program")))
    assert verify_problems(unit, tmp_path)


def test_shipped_unit_with_the_contract_settings_has_them():
    found = dict(settings(shipped_text()))
    assert found["ExecStart"] == f"{PLACEHOLDER} daemon"
    assert shipped_text().count(PLACEHOLDER) == 1
    expected = {
        "Type": "notify",
        "NotifyAccess": "main",
        "WatchdogSec": "60",
        "Restart": "on-failure",
        "RestartSec": "5",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "Environment": "PYTHONUNBUFFERED=1",
        "WantedBy": "default.target",
        "NoNewPrivileges": "yes",
        "UMask": "0077",
    }
    assert {key: found.get(key) for key in expected} == expected
    for key in ("Description", "Documentation", "TimeoutStopSec"):
        assert found.get(key)
    for key in ("StartLimitIntervalSec", "StartLimitBurst"):  # in [Unit], before [Service]
        assert shipped_text().index(key) < shipped_text().index("[Service]")


def test_shipped_unit_with_user_manager_hardening_needs_no_namespaces():
    used = {key for key, _ in settings(shipped_text())}
    assert not used & set(NEEDS_NAMESPACES)


def test_shipped_unit_with_hardening_says_when_to_relax_each_directive():
    lines = shipped_text().split("[Install]")[0].splitlines()
    start = next(index for index, line in enumerate(lines) if "Hardening" in line)
    comment: list[str] = []  # the comment block above the current directive(s)
    after_directive = False
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            comment = [] if after_directive else comment
            comment.append(line)
            after_directive = False
        elif line.strip():  # a directive, or its companion (SystemCallErrorNumber=)
            assert any("Relax" in text for text in comment), f"no 'Relax' comment for {line}"
            after_directive = True
        else:
            comment, after_directive = [], False


# --- ExecStart quoting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "written"),
    [
        ("/usr/bin/coffeechat", "/usr/bin/coffeechat"),
        ("/home/ada/my home", '"/home/ada/my home"'),
        ("/home/ada/100%", "/home/ada/100%%"),
        ("/home/ada/$HOME", "/home/ada/$$HOME"),
        ('/home/ada/"q"\\b', '"/home/ada/\\"q\\"\\\\b"'),
    ],
)
def test_quote_with_special_characters_escapes_them_for_systemd(word: str, written: str):
    assert quote(word) == written


@needs_systemd_analyze
def test_service_install_with_an_awkward_home_writes_a_unit_that_passes_verify(
    tmp_path: Path,
):
    home = tmp_path / "my home 100% $USER's"
    result = run_coffeechat(home, "service", "install", env=service_env(tmp_path))
    assert result.status == 0, result.stderr
    text = installed_unit(tmp_path).read_text()
    assert f"ExecStart={exec_start(COMMAND, str(home))}" in text.splitlines()
    assert verify_problems(installed_unit(tmp_path), tmp_path) == []


# --- service install / uninstall / status --------------------------------------------------


def service_env(tmp_path: Path, path: Path | None = None) -> dict[str, str]:
    """The environment for a service command: its own config folder, and a PATH with no
    systemctl (an empty folder) unless ``path`` is given."""
    bin_folder = path or tmp_path / "empty-bin"
    bin_folder.mkdir(exist_ok=True)
    return {"XDG_CONFIG_HOME": str(tmp_path / "config"), "PATH": str(bin_folder)}


def installed_unit(tmp_path: Path) -> Path:
    return tmp_path / "config" / "systemd" / "user" / "coffeechat.service"


def fake_systemctl(tmp_path: Path, status: int = 0, message: str = "") -> Path:
    """A ``systemctl`` that records its arguments in ``calls`` and exits with ``status``."""
    folder = tmp_path / "fake-bin"
    folder.mkdir(exist_ok=True)
    script = folder / "systemctl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{tmp_path / "calls"}"\n'
        f'[ "$2" = is-active ] && echo active\n'
        + (f'echo "{message}" >&2\necho "second line" >&2\n' if message else "")
        + f"exit {status}\n"
    )
    script.chmod(0o755)
    return folder


def calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "calls"
    return path.read_text().splitlines() if path.exists() else []


def assert_one_line_failure(result: Result, status: int) -> str:
    assert "Traceback" not in result.stdout + result.stderr
    assert result.status == status, (result.status, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("coffeechat service: "), result.stderr
    return lines[0]


def test_service_install_with_home_writes_the_unit_running_this_command(
    cli: Runner, home: Path, tmp_path: Path
):
    result = cli("service", "install", env=service_env(tmp_path))
    assert result.status == 0, result.stderr
    unit = installed_unit(tmp_path)
    assert stat.S_IMODE(unit.stat().st_mode) == 0o644
    assert f"ExecStart={COMMAND} --home {home} daemon" in unit.read_text().splitlines()
    assert os.path.isabs(COMMAND)
    for line in (
        "systemctl --user daemon-reload",
        "systemctl --user enable --now coffeechat.service",
        "journalctl --user -u coffeechat -f",
    ):
        assert line in result.stdout
    assert not calls(tmp_path)


@needs_systemd_analyze
def test_service_install_writes_a_unit_that_passes_verify(cli: Runner, tmp_path: Path):
    assert cli("service", "install", env=service_env(tmp_path)).status == 0
    assert verify_problems(installed_unit(tmp_path), tmp_path) == []


def test_service_install_without_home_runs_the_daemon_on_the_default_home(tmp_path: Path):
    environment = {key: value for key, value in os.environ.items() if key != "COFFEECHAT_HOME"}
    environment.update(service_env(tmp_path))
    completed = subprocess.run(
        [COMMAND, "service", "install"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert f"ExecStart={COMMAND} daemon" in installed_unit(tmp_path).read_text().splitlines()


def test_service_install_again_with_the_same_unit_succeeds(cli: Runner, tmp_path: Path):
    assert cli("service", "install", env=service_env(tmp_path)).status == 0
    before = installed_unit(tmp_path).read_text()
    again = cli("service", "install", env=service_env(tmp_path))
    assert again.status == 0, again.stderr
    assert "unchanged" in again.stdout
    assert installed_unit(tmp_path).read_text() == before


def test_service_install_over_a_different_unit_without_force_refuses(cli: Runner, tmp_path: Path):
    unit = installed_unit(tmp_path)
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\nExecStart=/bin/true\n")
    result = cli("service", "install", env=service_env(tmp_path))
    line = assert_one_line_failure(result, 2)
    assert str(unit) in line and "--force" in line
    assert result.stdout == ""
    assert unit.read_text() == "[Service]\nExecStart=/bin/true\n"
    forced = cli("service", "install", "--force", env=service_env(tmp_path))
    assert forced.status == 0, forced.stderr
    assert "ExecStart=/bin/true" not in unit.read_text()


def test_service_uninstall_with_an_installed_unit_removes_it(cli: Runner, tmp_path: Path):
    env = service_env(tmp_path)
    assert cli("service", "install", env=env).status == 0
    wants = installed_unit(tmp_path).parent / "default.target.wants"
    wants.mkdir()
    (wants / "coffeechat.service").symlink_to(installed_unit(tmp_path))  # as `enable` does
    result = cli("service", "uninstall", env=env)
    assert result.status == 0, result.stderr
    assert not installed_unit(tmp_path).exists()
    assert not (wants / "coffeechat.service").is_symlink()
    again = cli("service", "uninstall", env=env)
    assert again.status == 0, again.stderr
    assert "not installed" in again.stdout


def test_service_status_json_with_and_without_the_unit_reports_installed(
    cli: Runner, home: Path, tmp_path: Path
):
    env = service_env(tmp_path)
    before = cli("service", "status", "--json", env=env)
    assert before.status == 0, before.stderr
    assert before.json() == {
        "installed": False,
        "path": str(installed_unit(tmp_path)),
        "exec_start": None,
        "active": None,
    }
    assert cli("service", "install", env=env).status == 0
    after = cli("service", "status", "--json", env=env).json()
    assert after["installed"] is True
    assert after["exec_start"] == f"{COMMAND} --home {home} daemon"
    assert after["active"] is None  # no systemctl on PATH
    text = cli("service", "status", env=env)
    assert text.status == 0, text.stderr
    assert str(installed_unit(tmp_path)) in text.stdout
    assert "systemctl is not on PATH" in text.stdout


def test_service_status_with_systemctl_reports_is_active(cli: Runner, tmp_path: Path):
    env = service_env(tmp_path, fake_systemctl(tmp_path))
    result = cli("service", "status", "--json", env=env)
    assert result.status == 0, result.stderr
    assert result.json()["active"] == "active"
    assert calls(tmp_path) == ["--user is-active coffeechat.service"]


# --- --now: systemctl ----------------------------------------------------------------------


def test_service_install_now_without_systemctl_fails_on_one_line_and_keeps_the_unit(
    cli: Runner, tmp_path: Path
):
    result = cli("service", "install", "--now", env=service_env(tmp_path))
    line = assert_one_line_failure(result, 1)
    assert "systemctl is not on PATH" in line
    assert installed_unit(tmp_path).exists()


def test_service_install_now_with_systemctl_reloads_and_enables(cli: Runner, tmp_path: Path):
    env = service_env(tmp_path, fake_systemctl(tmp_path))
    result = cli("service", "install", "--now", env=env)
    assert result.status == 0, result.stderr
    assert calls(tmp_path) == ["--user daemon-reload", "--user enable --now coffeechat.service"]
    assert "journalctl --user -u coffeechat -f" in result.stdout


def test_service_install_now_with_failing_systemctl_fails_on_one_line(cli: Runner, tmp_path: Path):
    folder = fake_systemctl(tmp_path, status=1, message="Failed to connect to bus")
    result = cli("service", "install", "--now", env=service_env(tmp_path, folder))
    line = assert_one_line_failure(result, 1)
    assert "'systemctl --user daemon-reload' failed (exit 1)" in line
    assert "Failed to connect to bus" in line
    assert installed_unit(tmp_path).exists()
    assert calls(tmp_path) == ["--user daemon-reload"]


def test_service_uninstall_now_with_systemctl_disables_then_removes(cli: Runner, tmp_path: Path):
    env = service_env(tmp_path, fake_systemctl(tmp_path))
    assert cli("service", "install", env=env).status == 0
    result = cli("service", "uninstall", "--now", env=env)
    assert result.status == 0, result.stderr
    assert calls(tmp_path) == ["--user disable --now coffeechat.service", "--user daemon-reload"]
    assert not installed_unit(tmp_path).exists()


def test_service_uninstall_now_without_systemctl_keeps_the_unit(cli: Runner, tmp_path: Path):
    env = service_env(tmp_path)
    assert cli("service", "install", env=env).status == 0
    result = cli("service", "uninstall", "--now", env=env)
    line = assert_one_line_failure(result, 1)
    assert "left in place" in line
    assert installed_unit(tmp_path).exists()


def test_service_install_json_with_a_new_unit_reports_it(cli: Runner, home: Path, tmp_path: Path):
    result = cli("service", "install", "--json", env=service_env(tmp_path))
    assert result.status == 0, result.stderr
    assert json.loads(result.stdout) == {
        "installed": True,
        "path": str(installed_unit(tmp_path)),
        "exec_start": f"{COMMAND} --home {home} daemon",
        "changed": True,
    }
