"""Packaging: one distribution whose folders land under ``coffeechat.*`` and nowhere else.

The wheel is built offline from this checkout (``--no-build-isolation``) and installed
into a fresh virtual environment that borrows the test environment's dependencies
through a ``.pth`` file, so no network is needed.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("coffeechat-*.whl")
    return built


def test_wheel_with_mapped_folders_has_only_the_coffeechat_namespace(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.endswith(".dist-info/")}
    top_level = {name for name in top_level if not name.endswith(".dist-info")}
    assert top_level == {"coffeechat"}
    for package in ("events", "plugins", "daemon", "daemon/cli", "systemd"):
        assert f"coffeechat/{package}/__init__.py" in names
    assert not any(name.startswith(("tests/", "bench/", "events/")) for name in names)


def test_wheel_installed_in_a_fresh_environment_runs_the_console_script(
    wheel: Path, tmp_path: Path
):
    environment = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(environment)], check=True)
    site = Path(
        sysconfig.get_path("purelib", vars={"base": str(environment), "platbase": str(environment)})
    )
    # Borrow the dependencies (msgspec …) from the test environment, but not coffeechat.
    (site / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(environment / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    home = tmp_path / "home"
    completed = subprocess.run(
        [
            str(environment / "bin" / "python"),
            "-c",
            "import coffeechat.daemon.cli as c, sys; sys.argv[0] = 'coffeechat';"
            f" sys.exit(c.main(['--home', {str(home)!r}, 'add', 'Ada Lovelace']))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "ada-lovelace" in completed.stdout
    where = subprocess.run(
        [
            str(environment / "bin" / "python"),
            "-c",
            "import coffeechat.events as e; print(e.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(site) in where  # the installed copy, not this checkout
