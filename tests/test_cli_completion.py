"""Shell completion, run as a shell runs it: the real ``coffeechat`` console script with
``_ARGCOMPLETE`` set, the line being typed in ``COMP_LINE``/``COMP_POINT``, the answer
read from file descriptor 8 (what the bash code argcomplete writes does) or from
``$_ARGCOMPLETE_STDOUT_FILENAME``; and once through bash itself, with the code
``coffeechat completion bash`` prints.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib.metadata import requires
from pathlib import Path

import pytest
from conftest import COMMAND, DEFAULT_NOW, Result, Runner

IFS = "\013"


def ok(result: Result) -> Result:
    assert result.status == 0, result.stderr
    return result


def environment(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("COFFEECHAT_", "_ARG"))}
    base.update({"TZ": "Europe/Paris", "COFFEECHAT_NOW": DEFAULT_NOW})
    base.update(extra)
    return base


def complete(line: str, tmp_path: Path, shell: str = "bash", **extra: str) -> list[str]:
    """Return what coffeechat answers to a shell completing ``line`` (cursor at its end),
    read from ``$_ARGCOMPLETE_STDOUT_FILENAME``."""
    answer = tmp_path / "completions"
    env = environment(
        _ARGCOMPLETE="1",
        _ARGCOMPLETE_SHELL=shell,
        COMP_LINE=line,
        COMP_POINT=str(len(line)),
        _ARGCOMPLETE_STDOUT_FILENAME=str(answer),
        **extra,
    )
    completed = subprocess.run(
        [COMMAND], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    text = answer.read_text()
    return sorted(word.rstrip() for word in text.split(IFS)) if text else []


@pytest.fixture
def people(cli: Runner) -> Runner:
    for arguments in (
        ["add", "Ada Lovelace"],
        ["add", "Alan Turing"],
        ["add", "Grace Hopper"],
        ["plan", "ada"],
        ["met", "grace", "--at", "-1d"],
        ["add", "Archie Old"],
        ["archive", "archie"],
    ):
        ok(cli(*arguments))
    return cli


def test_completion_of_commands_and_options(tmp_path: Path) -> None:
    assert complete("coffeechat sh", tmp_path) == ["show"]
    assert complete("coffeechat re", tmp_path) == ["reach", "reply", "reschedule"]
    assert complete("coffeechat ls --st", tmp_path) == ["--stage"]
    assert complete("coffeechat ls --stage re", tmp_path) == ["reached", "replied"]
    assert complete("coffeechat completion ", tmp_path) == ["bash", "fish", "zsh"]


def test_completion_of_contact_handles(people: Runner, home: Path, tmp_path: Path) -> None:
    line = f"coffeechat --home {home} show a"
    assert complete(line, tmp_path) == ["ada-lovelace", "alan-turing"]  # not the archived
    assert complete(f"coffeechat note --home {home} ", tmp_path) == [
        "ada-lovelace",
        "alan-turing",
        "grace-hopper",
    ]
    assert complete(f"coffeechat --home {home} add Bob --via g", tmp_path) == ["grace-hopper"]
    # With $COFFEECHAT_HOME instead of --home.
    assert complete("coffeechat schedule gr", tmp_path, COFFEECHAT_HOME=str(home)) == [
        "grace-hopper"
    ]


def test_completion_of_reminder_ids(people: Runner, home: Path, tmp_path: Path) -> None:
    # Every reminder done and snooze accept: the agenda's, however far ahead.
    agenda = ok(people("agenda", "--json", "--days", "36525")).json()["reminders"]
    ids = sorted(reminder["id"] for reminder in agenda)
    assert len(ids) >= 3  # a reach-out for Ada, a thank-you for Grace, the digest…
    assert complete(f"coffeechat --home {home} done ", tmp_path) == ids
    assert complete(f"coffeechat --home {home} why {ids[0][:3]}", tmp_path) == [
        i for i in ids if i.startswith(ids[0][:3])
    ]
    # fish shows each id with its message (argcomplete's description separator).
    fish = complete(f"coffeechat --home {home} snooze ", tmp_path, "fish", _ARGCOMPLETE_DFS="\t")
    messages = {r["id"]: r["message"] for r in agenda}
    assert sorted(fish) == sorted(f"{i}\t{messages[i]}" for i in ids)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_completion_answers_on_file_descriptor_8(people: Runner, home: Path) -> None:
    # The redirections argcomplete's bash code runs the command with: the answer on fd 8.
    line = f"coffeechat --home {home} show gr"
    completed = subprocess.run(
        ["bash", "-c", f"'{COMMAND}' 8>&1 9>&2 1>/dev/null 2>&1 </dev/null"],
        env=environment(_ARGCOMPLETE="1", COMP_LINE=line, COMP_POINT=str(len(line))),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert [word.rstrip() for word in completed.stdout.split(IFS)] == ["grace-hopper"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_completion_through_bash_with_the_printed_code(
    people: Runner, home: Path, tmp_path: Path
) -> None:
    script = tmp_path / "coffeechat.bash"
    script.write_text(ok(people("completion", "bash")).stdout)
    line = f"coffeechat --home {home} thank gr"
    program = (
        f"source {script}\n"
        f'COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}\n'
        f"COMP_WORDS=(coffeechat --home {home} thank gr); COMP_CWORD=4\n"
        "_python_argcomplete coffeechat\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    path = f"{Path(COMMAND).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    completed = subprocess.run(
        ["bash", "-c", program],
        env=environment(PATH=path),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert completed.stdout.split() == ["grace-hopper"]


def test_completion_code_for_each_shell(cli: Runner) -> None:
    assert (
        "complete -o nospace -o default -o bashdefault -F" in ok(cli("completion", "bash")).stdout
    )
    assert "#compdef coffeechat" in ok(cli("completion", "zsh")).stdout
    assert "complete --command coffeechat" in ok(cli("completion", "fish")).stdout
    assert cli("completion", "tcsh").status == 2


def test_argcomplete_brings_no_dependency() -> None:
    # typing_extensions, if it came along, would slow every command (docs/FACTS.md).
    needed = [line for line in requires("argcomplete") or [] if "extra ==" not in line]
    assert needed == []
