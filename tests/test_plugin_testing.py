"""The pytest plugin shipped for plugin authors (``coffeechat.plugins.testing``).

A plugin author's test suite is a separate pytest run in a folder of its own: that is
what these tests start, as a subprocess, on a test file written here, so the fixtures
are found through the installed ``pytest11`` entry point exactly as an author gets them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

AUTHOR_TESTS = """
import pytest


def test_fixed_clock_and_home(coffeechat, coffeechat_home):
    added = coffeechat("--json", "add", "Ada Lovelace")
    assert added.status == 0, added.stderr
    assert added.json()[0]["recorded"] == "2026-11-26T13:30:00Z"
    assert (coffeechat_home / "log").is_dir()


class TestAnotherDay:
    @pytest.fixture
    def coffeechat_now(self):
        return "2027-01-05T09:00:00+00:00"

    def test_the_clock_can_be_chosen(self, coffeechat):
        added = coffeechat("--json", "add", "Grace Hopper")
        assert added.json()[0]["recorded"] == "2027-01-05T09:00:00Z"


def test_a_mistake_is_an_exit_status(coffeechat):
    shown = coffeechat("show", "nobody")
    assert shown.status == 2
    assert "no contact matches" in shown.stderr
"""


def run_author_suite(folder: Path, source: str) -> subprocess.CompletedProcess[str]:
    (folder / "test_my_plugin.py").write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )


def test_pytest_plugin_gives_plugin_authors_a_home_a_clock_and_a_runner(tmp_path: Path):
    completed = run_author_suite(tmp_path, AUTHOR_TESTS)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "3 passed" in completed.stdout


def test_pytest_plugin_with_a_wrong_expectation_fails_the_authors_test(tmp_path: Path):
    wrong = AUTHOR_TESTS.replace('== "2026-11-26T13:30:00Z"', '== "1999-01-01T00:00:00Z"')
    completed = run_author_suite(tmp_path, wrong)
    assert completed.returncode == 1
    assert "1 failed, 2 passed" in completed.stdout
