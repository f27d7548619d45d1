"""Fixtures for people who write coffeechat plugins: a pytest plugin.

Installed with coffeechat and registered under pytest's ``pytest11`` entry point, so a
plugin's own test suite can use them without any set-up::

    def test_my_rule(coffeechat):
        coffeechat("add", "Ada Lovelace", "--at", "-2d")
        coffeechat("met", "ada", "--at", "-3h")
        agenda = coffeechat("agenda", "--json").json()
        assert any(r["kind"] == "thank-you" for r in agenda["reminders"])

- ``coffeechat_home``: an empty home in a temporary folder (its ``plugins/`` folder is
  where a single-file plugin under test goes).
- ``coffeechat_now``: the fixed instant every command sees (a Thursday afternoon in
  Paris by default); override the fixture to choose another. It is given to the
  commands through ``COFFEECHAT_NOW``, coffeechat's one time source.
- ``coffeechat``: runs one command line against that home, in-process, and returns a
  :class:`Run` with the exit status, stdout and stderr (``.json()`` parses stdout).

Installed entry-point plugins (the one under test among them) are loaded as usual;
``COFFEECHAT_PLUGINS`` selects which (docs/plugins.md).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

DEFAULT_NOW = "2026-11-26T14:30:00+01:00"


@dataclass
class Run:
    """What one command line did: exit status, standard output and standard error."""

    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """Return standard output parsed as JSON."""
        return json.loads(self.stdout)


@pytest.fixture
def coffeechat_home(tmp_path: Path) -> Path:
    """An empty coffeechat home in a temporary folder (made, 0700, with nothing in it)."""
    folder = tmp_path / "coffeechat-home"
    folder.mkdir(mode=0o700)
    return folder


@pytest.fixture
def coffeechat_now() -> str:
    """The instant every command sees (ISO 8601 with an offset); override to choose."""
    return DEFAULT_NOW


@pytest.fixture
def coffeechat(
    coffeechat_home: Path, coffeechat_now: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Run]]:
    """Run ``coffeechat --home HOME ARGUMENTS…`` in-process on the fixed clock."""
    from coffeechat.daemon.cli import main

    monkeypatch.setenv("COFFEECHAT_NOW", coffeechat_now)
    monkeypatch.delenv("COFFEECHAT_HOME", raising=False)

    def run(*arguments: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            status = main(["--home", str(coffeechat_home), *arguments])
        return Run(status, out.getvalue(), err.getvalue())

    yield run
