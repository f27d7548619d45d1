"""Packaging: one distribution whose folders land under ``coffeechat.*`` and nowhere else."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from venvs import build_wheel, fresh_environment

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(ROOT, tmp_path_factory.mktemp("wheel"))


def test_wheel_with_mapped_folders_has_only_the_coffeechat_namespace(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"coffeechat"}
    for package in ("events", "plugins", "plugins/playbook", "daemon", "daemon/cli", "systemd"):
        assert f"coffeechat/{package}/__init__.py" in names
    assert not any("examples" in name or name.startswith(("tests/", "bench/")) for name in names)


def test_wheel_installed_in_a_fresh_environment_runs_the_command_line(wheel: Path, tmp_path: Path):
    python, site = fresh_environment(tmp_path / "venv", [wheel])
    home = tmp_path / "home"
    completed = subprocess.run(
        [
            str(python),
            "-c",
            "import sys; from coffeechat.daemon.cli import main;"
            f" sys.exit(main(['--home', {str(home)!r}, 'add', 'Ada Lovelace']))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "ada-lovelace" in completed.stdout
    where = subprocess.run(
        [str(python), "-c", "import coffeechat.events as e; print(e.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(site) in where  # the installed copy, not this checkout


def test_wheel_carries_its_licence_metadata_and_the_plugin_authors_tools(wheel: Path):
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "coffeechat/plugins/py.typed" in names  # plugin authors import coffeechat.plugins
    assert "coffeechat/events/py.typed" in names
    for kind in ("outreach", "nudge", "thank-you", "follow-up", "congratulate"):
        assert f"coffeechat/plugins/templates/{kind}.txt" in names  # the e-mail templates
    metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    for line in (
        "License-Expression: MIT",
        "Classifier: Typing :: Typed",
        "Classifier: Operating System :: POSIX :: Linux",
        "Classifier: Programming Language :: Python :: 3.11",
        "Project-URL: Changelog,",
    ):
        assert line in metadata, line
    points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "[pytest11]\ncoffeechat = coffeechat.plugins.testing" in points
