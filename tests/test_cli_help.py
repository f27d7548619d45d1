"""The conventions people bring from git and Taskwarrior: --version, help [COMMAND],
"did you mean …?", a sentence and an example in every --help, a --home that does not
exist, and a misspelled key in config.toml.

Each runs the real ``coffeechat`` command (the example lines are parsed in-process by the
same parser the command line builds).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import COMMAND, Result, Runner, log_bytes

from coffeechat.daemon.cli import MODULE_OF, build_command_parser, command

ROOT = Path(__file__).resolve().parent.parent


def ok(result: Result) -> Result:
    assert result.status == 0, result.stderr
    return result


def refused(result: Result) -> str:
    """Return the one line of a refusal (exit 2, one line on stderr, no traceback)."""
    assert result.status == 2, (result.status, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    return result.stderr


# --- --version and help ------------------------------------------------------------------


def test_version_is_pyprojects(cli: Runner) -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version("coffeechat") == declared
    assert ok(cli("--version")).stdout == f"coffeechat {declared}\n"


def test_help_alone_is_the_top_level_help_and_help_command_the_commands(cli: Runner) -> None:
    top = ok(cli("help")).stdout
    assert top == ok(cli("--help")).stdout
    assert top.startswith("usage: coffeechat") and "--version" in top
    assert ok(cli("help", "schedule")).stdout == ok(cli("schedule", "--help")).stdout
    assert "did you mean 'schedule'?" in refused(cli("help", "shedule"))


def test_every_command_help_has_a_sentence_and_an_example_that_parses(cli: Runner) -> None:
    names = list(MODULE_OF)
    with ThreadPoolExecutor(max_workers=4) as pool:
        helps = list(pool.map(lambda name: cli(name, "--help"), names))
    for name, result in zip(names, helps, strict=True):
        text = ok(result).stdout
        sentence = text.split("\n\n")[1]  # after the usage
        assert sentence.rstrip().endswith((".", ")")), (name, sentence)
        assert sentence[0].isupper(), (name, sentence)
        example = re.search(r"^example:\n  (coffeechat .*)$", text, flags=re.MULTILINE)
        assert example is not None, (name, text)
        words = shlex.split(example.group(1))
        assert words[:2] == ["coffeechat", name], (name, words)
        try:
            build_command_parser(name, command(name)).parse_args(words[2:])
        except SystemExit:
            pytest.fail(f"the example of {name} does not parse: {example.group(1)}")


# --- did you mean --------------------------------------------------------------------------


def test_mistyped_command_gets_did_you_mean_not_the_list(cli: Runner, home: Path) -> None:
    line = refused(cli("agneda"))
    assert line == "coffeechat: unknown command 'agneda': did you mean 'agenda'?\n"
    assert "did you mean 'schedule'?" in refused(cli("sched"))
    assert "'coffeechat help' lists them" in refused(cli("frobnicate"))
    assert log_bytes(home) == {}


def test_mistyped_option_or_choice_gets_did_you_mean(cli: Runner) -> None:
    ok(cli("add", "Ada Lovelace"))
    assert "did you mean '--stage'?" in refused(cli("ls", "--stgae", "met"))
    choice = refused(cli("ls", "--stage", "mett"))
    assert "invalid choice: 'mett': did you mean 'met'?" in choice
    assert "no-reply" not in choice  # not the whole list of stages
    assert "did you mean '--learned'?" in refused(cli("met", "ada", "--lerned", "x"))
    assert "did you mean 'install'?" in refused(cli("service", "instal"))


# --- --home that does not exist --------------------------------------------------------------


def test_reading_commands_with_a_missing_home_exit_2_saying_so(tmp_path: Path) -> None:
    from conftest import run_coffeechat

    missing = tmp_path / "typo"
    for arguments in (["ls"], ["agenda"], ["show", "ada"], ["log"], ["why", "abc1234"]):
        line = refused(run_coffeechat(missing, *arguments))
        assert f"no coffeechat home at {missing} (--home)" in line, line
    line = refused(run_coffeechat(missing, env={}))  # the default command: agenda
    assert "no coffeechat home" in line
    assert not missing.exists()
    # $COFFEECHAT_HOME too
    completed = subprocess.run(
        [COMMAND, "ls"],
        env={"COFFEECHAT_HOME": str(missing), "TZ": "UTC", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2 and "($COFFEECHAT_HOME)" in completed.stderr
    # A recording command starts the home there.
    ok(run_coffeechat(missing, "add", "Ada Lovelace"))
    assert "Ada Lovelace" in ok(run_coffeechat(missing, "ls")).stdout


def test_an_empty_existing_home_reads_as_empty(cli: Runner, home: Path) -> None:
    home.mkdir(mode=0o700)
    assert ok(cli("ls")).stdout.startswith("no contacts yet")


# --- config.toml: unknown keys warn, bad values refuse --------------------------------------


def test_config_unknown_key_warns_and_reading_carries_on(cli: Runner, home: Path) -> None:
    ok(cli("add", "Ada Lovelace"))
    ok(cli("reach", "ada", "--at", "-8d"))
    config = home / "config.toml"
    config.write_text('[playbook]\nnudge_afer = "1d"\nmax_nudges = 1\n')
    config.chmod(0o600)
    for arguments in (["ls"], ["agenda", "--json"]):
        result = ok(cli(*arguments))
        assert result.stderr == (
            "warning: config.toml: unknown key 'nudge_afer' in [playbook] "
            "(ignored; did you mean 'nudge_after'?)\n"
        )
    # The known key counts, the misspelled one falls back to its default (7d, one nudge).
    nudges = [r for r in ok(cli("agenda", "--json")).json()["reminders"] if r["kind"] == "nudge"]
    assert [r["message"][-9:] for r in nudges] == ["(1 of 1)."]
    # Recording never read the config and still does not.
    assert ok(cli("note", "ada", "likes tea")).stderr == ""
    # The daemon carries on too, and says so in its log.
    once = cli("daemon", "--once")
    assert once.status in (0, 1), once.stderr
    assert "unknown key 'nudge_afer' in [playbook]" in once.stderr


def test_config_known_key_with_a_bad_value_still_refuses(cli: Runner, home: Path) -> None:
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text('[playbook]\nnudge_after = "soon"\n')
    line = refused(cli("ls"))
    assert "config.toml: at '$.playbook.nudge_after'" in line


# --- what a normal start pays for all this --------------------------------------------------


def imported_by(home: Path, *arguments: str) -> set[str]:
    """Return the modules the console script imports for one command (-X importtime)."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", COMMAND, "--home", str(home), *arguments],
        capture_output=True,
        text=True,
        check=False,
        env={"TZ": "Europe/Paris", "PATH": "/usr/bin:/bin", "COLUMNS": "80"},
    )
    return {
        line.rsplit("|", 1)[1].strip()
        for line in completed.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_a_normal_start_imports_none_of_the_help_machinery(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for arguments in (("add", "Ada Lovelace"), ("note", "ada", "x"), ("ls",), ("agenda",)):
        loaded = imported_by(home, *arguments)
        assert "coffeechat.daemon.cli.app" in loaded  # the probe sees our modules
        for module in ("argcomplete", "difflib", "coffeechat.daemon.cli.about"):
            assert module not in loaded, (arguments, module)
        if arguments[0] in ("add", "note"):  # recording: no home to check, no mistake
            assert "coffeechat.daemon.cli.mistakes" not in loaded
        if arguments[0] in ("add", "note"):
            assert "unicodedata" not in loaded  # ASCII names: their width is their length
    assert "difflib" in imported_by(home, "agneda") | imported_by(home, "ls", "--stgae")
