"""The plugin system: discovery, isolation of broken plugins, every hook, and two meta-tests.

Test plugins are real single-file plugins written into a home's ``plugins/`` folder and
loaded the way a user's are; installed (entry-point) plugins are covered by
``test_example_plugin.py``.
"""

from __future__ import annotations

import inspect
import os
import re
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import Runner

from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.projection import State, apply_all
from coffeechat.plugins import hookspecs
from coffeechat.plugins.manager import DEFAULT_PLUGINS, load_plugins, settings_sections
from coffeechat.plugins.observe import observe
from coffeechat.plugins.reminders import evaluate
from coffeechat.plugins.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 26, 13, 30, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("coffeechat_"))

RULE = """
from coffeechat.plugins import hookimpl
from coffeechat.plugins.reminders import make_reminder

@hookimpl
def coffeechat_reminders(state, now):
    return [make_reminder("test-rule", handle, now, f"hello {handle}", because=[])
            for handle in sorted(state.contacts)]
"""


def write_plugin(folder: Path, name: str, source: str, mode: int = 0o600) -> Path:
    """Write a single-file plugin the way a user would, with the given mode."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    path.chmod(mode)
    return path


def journey_state() -> State:
    stamp = Stamp(NOW - timedelta(days=1), "test", PARIS)
    return apply_all(
        State(),
        [
            stamp(m.ContactAdded, contact="ada", name="Ada Lovelace"),
            stamp(m.OutreachPlanned, contact="ada"),
        ],
    )


def evaluate_with(folder: Path, environ: dict[str, str] | None = None):
    plugins = load_plugins(str(folder), environ or {})
    settings = load_settings(str(folder / "missing.toml"), settings_sections(plugins))
    reminders, failures = evaluate(plugins, journey_state(), NOW, settings)
    return plugins, reminders, failures


# --- the meta-tests (datasette's) --------------------------------------------------------------


def test_plugin_hooks_are_documented_with_their_signature():
    docs = (ROOT / "docs" / "plugins.md").read_text()
    for name in HOOKS:
        parameters = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"### `{name}({parameters})`" in docs, f"{name} is not documented as such"


def test_plugin_hooks_have_tests():
    tests = "\n".join(path.read_text() for path in (ROOT / "tests").glob("test_*.py"))
    for name in HOOKS:
        assert re.search(rf"^def test_hook_{name}\w*\(", tests, re.MULTILINE), name


def test_hookspecs_have_full_docstrings():
    for name in HOOKS:
        doc = getattr(hookspecs, name).__doc__ or ""
        for parameter in inspect.signature(getattr(hookspecs, name)).parameters:
            assert f":param {parameter}:" in doc, (name, parameter)


# --- one test per hook -------------------------------------------------------------------------


def test_hook_coffeechat_reminders_from_a_plugin_file_joins_the_agenda(tmp_path: Path):
    plugins, reminders, failures = evaluate_with(write_plugin(tmp_path, "greeter", RULE).parent)
    assert not failures and not plugins.problems
    mine = [r for r in reminders if r.kind == "test-rule"]
    assert [(r.contact, r.message, r.rule) for r in mine] == [("ada", "hello ada", "greeter")]
    assert any(r.kind == "reach-out" for r in reminders)  # the built-ins are there too


def test_hook_coffeechat_channels_registers_a_scheme_and_factory(tmp_path: Path):
    write_plugin(
        tmp_path,
        "pager",
        """
        from coffeechat.plugins import hookimpl

        class Pager:
            def __init__(self, url):
                self.url = url
            def send(self, title, body, reminder):
                return True

        @hookimpl
        def coffeechat_channels(register):
            register("pager", Pager)
        """,
    )
    plugins = load_plugins(str(tmp_path), {})
    registered = plugins.collect("coffeechat_channels")
    ((plugin, args, _),) = [entry for entry in registered if entry[0] == "pager"]
    assert plugin == "pager" and args[0] == "pager"
    assert ("apprise_urls", "*") in [(entry[0], entry[1][0]) for entry in registered]
    channel = args[1]("pager://on-call")
    assert channel.url == "pager://on-call" and channel.send("t", "b", None) is True


def test_hook_coffeechat_event_recorded_sees_each_event_after_it_is_folded(tmp_path: Path):
    write_plugin(
        tmp_path,
        "watcher",
        """
        from coffeechat.plugins import hookimpl

        seen = []

        @hookimpl
        def coffeechat_event_recorded(event, state):
            seen.append((event.contact, sorted(state.contacts)))
        """,
    )
    write_plugin(
        tmp_path,
        "clumsy",
        """
        from coffeechat.plugins import hookimpl

        @hookimpl
        def coffeechat_event_recorded(event):
            raise RuntimeError("oops")
        """,
    )
    plugins = load_plugins(str(tmp_path), {})
    stamp = Stamp(NOW, "test", PARIS)
    events = [
        stamp(m.ContactAdded, contact="ada", name="Ada"),
        stamp(m.ContactAdded, contact="bob", name="Bob"),
    ]
    problems = observe(plugins, State(), events)
    watcher = next(p for p in plugins.manager.get_plugins() if getattr(p, "seen", None) is not None)
    assert watcher.seen == [("ada", ["ada"]), ("bob", ["ada", "bob"])]
    assert [(p.name, p.hook) for p in problems] == [("clumsy", "coffeechat_event_recorded")] * 2


def test_hook_coffeechat_commands_adds_a_command_to_the_cli(cli: Runner, home: Path):
    write_plugin(
        home / "plugins",
        "hello",
        """
        from coffeechat.plugins import hookimpl

        def configure(parser):
            parser.add_argument("who")

        def run(app, args):
            app.out(f"hello {args.who}, {len(app.state.contacts)} contact(s)")

        @hookimpl
        def coffeechat_commands(register):
            register("hello", "say hello", configure, run)
            register("ls", "a name that is taken", configure, run)
        """,
    )
    assert cli("add", "Ada Lovelace").status == 0
    result = cli("hello", "world")
    assert (result.status, result.stdout.strip()) == (0, "hello world, 1 contact(s)")
    assert "'ls'" in result.stderr and "taken" in result.stderr
    assert cli("ls", "--json").json()[0]["handle"] == "ada-lovelace"  # the built-in stays


def test_hook_coffeechat_settings_section_is_validated_and_reaches_the_rule(
    cli: Runner, home: Path
):
    write_plugin(
        home / "plugins",
        "greeting",
        """
        import msgspec
        from coffeechat.plugins import hookimpl
        from coffeechat.plugins.reminders import make_reminder

        class Greeting(msgspec.Struct, forbid_unknown_fields=True):
            word: str = "hello"
            times: int = 1

        @hookimpl
        def coffeechat_settings(register):
            register("greeting", Greeting)

        @hookimpl
        def coffeechat_reminders(state, now, settings):
            section = settings.section("greeting")
            return [make_reminder("greeting", None, now, section.word * section.times,
                                  because=[])]
        """,
    )
    (home / "config.toml").write_text('[greeting]\nword = "hi"\ntimes = 2\n')
    agenda = cli("agenda", "--json")
    assert agenda.status == 0, agenda.stderr
    assert [r["message"] for r in agenda.json()["reminders"] if r["kind"] == "greeting"] == ["hihi"]
    (home / "config.toml").write_text('[greeting]\ntimes = "two"\n')
    bad = cli("agenda")
    assert bad.status == 2
    assert bad.stderr.strip().splitlines()[-1] == (
        "coffeechat agenda: config.toml: at '$.greeting.times': Expected `int`, got `str`"
    )


# --- discovery and isolation -------------------------------------------------------------------


def test_built_ins_with_no_other_plugin_are_every_playbook_rule():
    plugins = load_plugins(None, {})
    assert [info.name for info in plugins.loaded] == [
        name.rsplit(".", 1)[1] for name in DEFAULT_PLUGINS
    ]
    assert {info.source for info in plugins.loaded} == {"built-in"}
    assert not plugins.problems


def test_plugin_that_raises_in_a_rule_loses_only_its_reminders(tmp_path: Path):
    write_plugin(tmp_path, "greeter", RULE)
    write_plugin(
        tmp_path,
        "broken",
        """
        from coffeechat.plugins import hookimpl

        @hookimpl
        def coffeechat_reminders(state, now, settings):
            raise ZeroDivisionError("division by zero")
        """,
    )
    _, reminders, failures = evaluate_with(tmp_path)
    assert {r.kind for r in reminders} >= {"test-rule", "reach-out"}
    assert [f.plugin for f in failures] == ["broken"]
    assert "broken" in failures[0].describe() and "ZeroDivisionError" in failures[0].describe()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import no_such_module\n", "ModuleNotFoundError"),
        (
            "from coffeechat.plugins import hookimpl\n"
            "@hookimpl\ndef coffeechat_remindrs(state):\n    return []\n",
            "coffeechat_remindrs",
        ),
        (
            "from coffeechat.plugins import hookimpl\n"
            "@hookimpl\ndef coffeechat_reminders(state, when):\n    return []\n",
            "when",
        ),
        ("raise SystemExit('bye')\n", "SystemExit"),
    ],
    ids=["import-error", "misspelled-hook", "unknown-argument", "exit-at-import"],
)
def test_broken_plugin_is_reported_by_name_and_the_rest_loads(
    tmp_path: Path, source: str, expected: str
):
    write_plugin(tmp_path, "greeter", RULE)
    write_plugin(tmp_path, "wrong", source)
    plugins, reminders, _ = evaluate_with(tmp_path)
    assert [problem.name for problem in plugins.problems] == ["wrong"]
    assert expected in plugins.problems[0].describe()
    assert "wrong" not in [info.name for info in plugins.loaded]
    assert any(r.kind == "test-rule" for r in reminders)


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666])
def test_plugin_file_writable_by_others_is_refused(tmp_path: Path, mode: int):
    write_plugin(tmp_path, "greeter", RULE, mode=mode)
    plugins, reminders, _ = evaluate_with(tmp_path)
    assert [p.name for p in plugins.problems] == ["greeter"]
    assert "writable by group or others" in plugins.problems[0].error
    assert f"chmod go-w {tmp_path / 'greeter.py'}" in plugins.problems[0].error
    assert not any(r.kind == "test-rule" for r in reminders)


def test_plugin_folder_writable_by_others_refuses_its_files(tmp_path: Path):
    folder = write_plugin(tmp_path / "plugins", "greeter", RULE).parent
    folder.chmod(0o777)
    plugins = load_plugins(str(folder), {})
    assert [p.name for p in plugins.problems] == ["greeter"]
    assert "its folder" in plugins.problems[0].error


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a file to another user")
def test_plugin_file_owned_by_someone_else_is_refused(tmp_path: Path):
    path = write_plugin(tmp_path, "greeter", RULE)
    os.chown(path, 65534, 65534)
    plugins = load_plugins(str(tmp_path), {})
    assert "not owned by you" in plugins.problems[0].error


@pytest.mark.parametrize(
    ("selection", "loaded"),
    [(None, {"greeter", "other"}), ("", set()), ("other", {"other"}), ("greeter, x", {"greeter"})],
)
def test_coffeechat_plugins_variable_selects_plugins(
    tmp_path: Path, selection: str | None, loaded: set[str]
):
    write_plugin(tmp_path, "greeter", RULE)
    write_plugin(tmp_path, "other", RULE.replace("test-rule", "other-rule"))
    environ = {} if selection is None else {"COFFEECHAT_PLUGINS": selection}
    plugins = load_plugins(str(tmp_path), environ)
    builtins = {name.rsplit(".", 1)[1] for name in DEFAULT_PLUGINS}
    assert {info.name for info in plugins.loaded} - builtins == loaded
    assert builtins <= {info.name for info in plugins.loaded}


def test_trace_variable_prints_every_hook_call(cli: Runner, home: Path):
    cli("add", "Ada Lovelace")
    traced = cli("agenda", env={"COFFEECHAT_TRACE_PLUGINS": "1"})
    assert traced.status == 0
    assert "trace: coffeechat_reminders(state, now, settings) -> [nudge]" in traced.stderr
    assert "trace: coffeechat_settings" in traced.stderr
    assert "trace:" not in cli("agenda").stderr


def test_plugins_command_lists_sources_hooks_and_problems(cli: Runner, home: Path):
    write_plugin(home / "plugins", "greeter", RULE)
    listed = cli("plugins", "--json")
    assert listed.status == 0
    by_name = {p["name"]: p for p in listed.json()["plugins"]}
    assert by_name["greeter"]["source"] == f"file {home / 'plugins' / 'greeter.py'}"
    assert by_name["greeter"]["hooks"] == ["coffeechat_reminders"]
    assert by_name["nudge"]["source"] == "built-in"
    write_plugin(home / "plugins", "wrong", "import no_such_module\n")
    failing = cli("plugins")
    assert failing.status == 1
    assert "wrong" in failing.stderr and "greeter" in failing.stdout


def test_plugins_command_shows_each_plugins_version(cli: Runner, home: Path):
    from importlib.metadata import version

    write_plugin(home / "plugins", "greeter", '__version__ = "2.5.1"\n' + RULE)
    write_plugin(home / "plugins", "plain", RULE.replace("greet", "plainly"))
    by_name = {p["name"]: p for p in cli("plugins", "--json").json()["plugins"]}
    assert by_name["greeter"]["version"] == "2.5.1"
    assert by_name["plain"]["version"] is None
    assert by_name["nudge"]["version"] == version("coffeechat")
    table = cli("plugins", env={"COLUMNS": "200"}).stdout
    assert "VERSION" in table.splitlines()[0]
    assert any(line.startswith("greeter") and "2.5.1" in line for line in table.splitlines())
