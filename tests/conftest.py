"""Shared fixtures: a temporary home and the real ``coffeechat`` command in a subprocess.

The clock is the only thing faked, through ``COFFEECHAT_NOW``; the time zone is fixed
through ``TZ`` so that results do not depend on the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

COMMAND = str(Path(sys.executable).with_name("coffeechat"))
DEFAULT_NOW = "2026-11-26T14:30:00+01:00"  # a Thursday afternoon in Paris
DEFAULT_TZ = "Europe/Paris"


@dataclass
class Result:
    """What one run of the command line did."""

    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """Return standard output parsed as JSON."""
        return json.loads(self.stdout)


Runner = Callable[..., Result]


def run_coffeechat(
    home: Path,
    *arguments: str,
    now: str | None = DEFAULT_NOW,
    tz: str = DEFAULT_TZ,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Result:
    """Run ``coffeechat --home HOME ARGUMENTS…`` as a subprocess and return what it did."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("COFFEECHAT_")
    }
    environment["TZ"] = tz
    if now is not None:
        environment["COFFEECHAT_NOW"] = now
    environment.update(env or {})
    completed = subprocess.run(
        [COMMAND, "--home", str(home), *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty coffeechat home."""
    return tmp_path / "home"


@pytest.fixture
def cli(home: Path) -> Runner:
    """Run the command line against the test's home: ``cli("add", "Ada Lovelace")``."""

    def run(*arguments: str, **options: Any) -> Result:
        return run_coffeechat(home, *arguments, **options)

    return run


def log_bytes(home: Path) -> dict[str, bytes]:
    """Return every file under the home's ``log/`` with its bytes (to prove nothing changed)."""
    folder = home / "log"
    if not folder.exists():
        return {}
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}
