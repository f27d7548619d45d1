"""Finding, loading and calling plugins.

Three roads, one manager: the built-in plugins (:data:`DEFAULT_PLUGINS`, every playbook
rule among them), installed packages that declare the entry-point group ``coffeechat``,
and single-file plugins in ``<config dir>/plugins/*.py``. ``COFFEECHAT_PLUGINS`` chooses
among the last two: unset loads them all, empty loads none, ``a,b`` loads those names
(an entry point's name, or a file's name without ``.py``). The built-ins always load.

Each plugin loads in its own ``try``: one that fails to import, misspells a hook or takes
arguments a hook does not have is reported by name and left out, and everything else
keeps working. A plugin file that is writable by group or others, or owned by someone
else, is refused the way ssh refuses such a config (so is every file of such a folder);
so is a symbolic link in the folder (never followed) and anything but a regular file.
A plugin file is compiled from its source each time: no bytecode is read from, or
written to, ``__pycache__``, where a stale or planted ``.pyc`` would otherwise run
instead of the source that was checked.
``COFFEECHAT_TRACE_PLUGINS=1`` prints every hook call to stderr.

What a reading command pays for (issue #11): the built-in channels are left out when
only the rules are needed (``channels=False``), and the entry-point scan, which imports
``importlib.metadata`` and reads every installed distribution's metadata, is cached in
the home's cache folder, keyed on everything that could change its answer (see
:mod:`coffeechat.plugins.entry_points`). Hooks are called straight, as pluggy itself
would call one implementation, unless tracing asks for pluggy's monitoring.
"""

import errno
import importlib
import importlib.machinery
import os
import stat
import sys
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import msgspec
import pluggy

from coffeechat.plugins import hookspecs

ENTRY_POINT_GROUP = "coffeechat"
SELECT_VARIABLE = "COFFEECHAT_PLUGINS"
TRACE_VARIABLE = "COFFEECHAT_TRACE_PLUGINS"

# The built-in channels: only the daemon and the channel commands need them.
CHANNEL_PLUGINS = (
    "coffeechat.plugins.channels.desktop",
    "coffeechat.plugins.channels.apprise_urls",
)
DEFAULT_PLUGINS = (
    "coffeechat.plugins.playbook.sections",
    "coffeechat.plugins.mail_settings",
    "coffeechat.plugins.playbook.reach_out",
    "coffeechat.plugins.playbook.nudge",
    "coffeechat.plugins.playbook.meetings",
    "coffeechat.plugins.playbook.book",
    "coffeechat.plugins.playbook.thank_you",
    "coffeechat.plugins.playbook.follow_up",
    "coffeechat.plugins.playbook.keep_in_touch",
    "coffeechat.plugins.playbook.congratulate",
    "coffeechat.plugins.playbook.digest",
    "coffeechat.plugins.playbook.recurring",
    *CHANNEL_PLUGINS,
)


class PluginInfo(msgspec.Struct):
    """A loaded plugin: its name, where it came from, the hooks it implements, and its
    version (its distribution's for an installed package, coffeechat's for a built-in,
    a plugin file's ``__version__`` if it has one)."""

    name: str
    source: str
    hooks: list[str]
    version: str | None = None


class PluginProblem(msgspec.Struct):
    """A plugin that could not be loaded, or that failed in a hook."""

    name: str
    source: str
    error: str
    hook: str | None = None

    def describe(self) -> str:
        """Return the one-line warning naming the plugin (and the hook)."""
        where = f" in {self.hook}" if self.hook else ""
        return f"plugin {self.name!r} ({self.source}) failed{where}: {self.error}"


class Plugins:
    """The plugin manager with what was loaded and what went wrong."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager
        self.loaded: list[PluginInfo] = []
        self.problems: list[PluginProblem] = []
        self._sources: dict[str, str] = {}
        self.traced = False  # COFFEECHAT_TRACE_PLUGINS: calls go through pluggy's monitoring

    def register(self, plugin: object, name: str, source: str, version: str | None = None) -> bool:
        """Register one plugin; on any failure, report it and leave it out."""
        try:
            self.manager.register(plugin, name=name)
        except Exception as error:
            self.problems.append(PluginProblem(name, source, _one_line(error)))
            return False
        try:
            self.manager.check_pending()
        except pluggy.PluginValidationError as error:
            self.manager.unregister(name=name)
            self.problems.append(PluginProblem(name, source, _one_line(error)))
            return False
        hooks = sorted(impl.name for impl in self.manager.get_hookcallers(plugin) or ())
        if version is None:
            declared = getattr(plugin, "__version__", None)
            version = declared if isinstance(declared, str) else None
        self.loaded.append(PluginInfo(name, source, hooks, version))
        self._sources[name] = source
        return True

    def call_each(self, hook: str, **arguments: Any) -> Iterator[tuple[str, Any]]:
        """Call a hook plugin by plugin; yield (plugin name, result or the exception).

        A plugin that raises costs only its own result: the caller decides what to do
        with the exception, and the other plugins are still called.
        """
        for implementation in self._implementations(hook):
            try:
                result = self._call(hook, implementation, arguments)
            except Exception as error:
                yield implementation.plugin_name, error
                continue
            yield implementation.plugin_name, result

    def collect(self, hook: str) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
        """Call a registration hook (``register`` callback) for every plugin.

        Return (plugin name, args, kwargs) for every ``register`` call. A plugin that
        raises is reported in :attr:`problems` and its registrations are dropped.
        """
        collected: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        for implementation in self._implementations(hook):
            name = implementation.plugin_name
            mine: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

            def register(*args: Any, _mine: list[Any] = mine, _name: str = name, **kw: Any) -> None:
                _mine.append((_name, args, kw))

            try:
                self._call(hook, implementation, {"register": register})
            except Exception as error:
                self.problems.append(
                    PluginProblem(name, self._sources.get(name, "?"), _one_line(error), hook)
                )
                continue
            collected.extend(mine)
        return collected

    def _implementations(self, hook: str) -> list[Any]:
        # pluggy calls the last registered first; we go in registration order.
        implementations: list[Any] = getattr(self.manager.hook, hook).get_hookimpls()
        return implementations

    def _call(self, hook: str, implementation: Any, arguments: Mapping[str, Any]) -> Any:
        """Call one plugin's implementation of a hook; return its result."""
        if not (self.traced or implementation.hookwrapper or implementation.wrapper):
            # What pluggy does for one implementation, without building a caller for it.
            return implementation.function(*[arguments[name] for name in implementation.argnames])
        others = [p for p in self.manager.get_plugins() if p is not implementation.plugin]
        results = self.manager.subset_hook_caller(hook, remove_plugins=others)(**arguments)
        return results[0] if results else None

    def source_of(self, name: str) -> str:
        """Return where a loaded plugin came from."""
        return self._sources.get(name, "?")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}" if type(error).__name__ not in text else text


def load_plugins(
    plugins_dir: str | None,
    environ: Mapping[str, str] | None = None,
    *,
    channels: bool = True,
    cache_dir: str | None = None,
) -> Plugins:
    """Build the plugin manager: built-ins, then entry points, then plugin files.

    ``channels=False`` leaves out the built-in channels (a command that only evaluates
    the rules); ``cache_dir`` (the home's cache folder) keeps the entry-point scan.
    """
    environ = os.environ if environ is None else environ
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    plugins = Plugins(manager)
    for module_name in DEFAULT_PLUGINS if channels else _WITHOUT_CHANNELS:
        try:
            module = importlib.import_module(module_name)
        except (Exception, SystemExit) as error:
            plugins.problems.append(PluginProblem(module_name, "built-in", _one_line(error)))
            continue
        plugins.register(module, module_name.rsplit(".", 1)[-1], "built-in")
    chosen = _selection(environ)
    _load_entry_points(plugins, chosen, cache_dir)
    if plugins_dir is not None:
        _load_files(plugins, plugins_dir, chosen)
    if environ.get(TRACE_VARIABLE, "") not in ("", "0"):
        _trace(manager)
        plugins.traced = True
    return plugins


_WITHOUT_CHANNELS = tuple(name for name in DEFAULT_PLUGINS if name not in CHANNEL_PLUGINS)


def _selection(environ: Mapping[str, str]) -> set[str] | None:
    value = environ.get(SELECT_VARIABLE)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _load_entry_points(plugins: Plugins, chosen: set[str] | None, cache_dir: str | None) -> None:
    from coffeechat.plugins.entry_points import find_entry_points, load_entry_point

    for found in find_entry_points(ENTRY_POINT_GROUP, cache_dir):
        if chosen is not None and found.name not in chosen:
            continue
        source = f"entry point {found.value} ({found.distribution or '?'})"
        try:
            plugin = load_entry_point(found.value)
        except (Exception, SystemExit) as error:
            plugins.problems.append(PluginProblem(found.name, source, _one_line(error)))
            continue
        plugins.register(plugin, found.name, source, found.version)


def unsafe_reason(path: str) -> str | None:
    """Return why a plugin file or folder must not be trusted, or None if it may be.

    Like ssh: it must belong to you (or root) and not be writable by group or others.
    """
    try:
        status = os.stat(path)
    except OSError as error:
        return f"cannot read it ({error.strerror})"
    return _unsafe_status(status, path)


def _unsafe_status(status: os.stat_result, path: str) -> str | None:
    if status.st_uid not in (os.getuid(), 0):
        return "it is not owned by you"
    if status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"it is writable by group or others (chmod go-w {path})"
    return None


class _Refused(Exception):
    """A plugin file that must not be run; the message says why."""


def _load_files(plugins: Plugins, folder: str, chosen: set[str] | None) -> None:
    try:
        names = sorted(name for name in os.listdir(folder) if name.endswith(".py"))
    except FileNotFoundError:
        return
    except OSError as error:
        plugins.problems.append(
            PluginProblem("plugins", f"folder {folder}", f"cannot read it ({error.strerror})")
        )
        return
    folder_problem = unsafe_reason(folder)
    for file_name in names:
        name = file_name[: -len(".py")]
        if chosen is not None and name not in chosen:
            continue
        path = os.path.join(folder, file_name)
        source = f"file {path}"
        if folder_problem is not None:
            plugins.problems.append(
                PluginProblem(name, source, f"refused: its folder: {folder_problem}")
            )
            continue
        try:
            module = _import_file(name, path)
        except _Refused as refused:
            plugins.problems.append(PluginProblem(name, source, f"refused: {refused}"))
            continue
        except (Exception, SystemExit) as error:
            plugins.problems.append(PluginProblem(name, source, _one_line(error)))
            continue
        plugins.register(module, name, source)


def _read_trusted(path: str) -> bytes:
    """Return the source of a plugin file, read from the very file that was checked.

    Raise _Refused if it is a symbolic link, not a regular file, not yours or writable by
    others. The checks are made on the open descriptor, so the file cannot be swapped
    between the check and the read.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _Refused(
                "it is a symbolic link, and links in the plugin folder are never followed "
                "(copy the file in instead)"
            ) from None
        raise _Refused(f"cannot read it ({error.strerror})") from None
    with open(descriptor, "rb") as file:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise _Refused("it is not a regular file")
        reason = _unsafe_status(status, path)
        if reason is not None:
            raise _Refused(reason)
        return file.read()


def _import_file(name: str, path: str) -> object:
    """Run a plugin file as the module ``coffeechat_plugin_<name>`` and return it.

    Compiled here from the source just checked; the import system is not asked, since
    it would run a ``.pyc`` from ``__pycache__`` whose header matches the source.
    """
    code = compile(_read_trusted(path), path, "exec", dont_inherit=True)
    module_name = f"coffeechat_plugin_{name}"
    module = types.ModuleType(module_name)
    module.__file__ = path
    module.__spec__ = importlib.machinery.ModuleSpec(module_name, None, origin=path)
    sys.modules[module_name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _trace(manager: pluggy.PluginManager) -> None:
    def before(
        hook_name: str, implementations: Sequence[Any], arguments: Mapping[str, Any]
    ) -> None:
        names = ", ".join(impl.plugin_name for impl in implementations)
        print(f"trace: {hook_name}({', '.join(arguments)}) -> [{names}]", file=sys.stderr)

    def after(
        outcome: Any, hook_name: str, implementations: Sequence[Any], arguments: Mapping[str, Any]
    ) -> None:
        error = outcome.exception
        result = (
            f"raised {error!r}" if error is not None else f"{len(outcome.get_result())} result(s)"
        )
        print(f"trace: {hook_name} {result}", file=sys.stderr)

    manager.add_hookcall_monitoring(before, after)


def settings_sections(plugins: Plugins) -> dict[str, type]:
    """Return the configuration sections the plugins declare (section name → struct type)."""
    sections: dict[str, type] = {}
    for name, args, kwargs in plugins.collect("coffeechat_settings"):
        section, kind = (*args, *kwargs.values())[:2]
        if section in sections:
            plugins.problems.append(
                PluginProblem(name, plugins.source_of(name), f"section [{section}] is taken")
            )
            continue
        sections[section] = kind
    return sections


Register = Callable[..., None]
